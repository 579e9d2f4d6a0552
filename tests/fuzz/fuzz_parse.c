/*
 * libFuzzer harness for the command grammar: any input either parses into
 * a consistent command line or is refused with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../commands/parse.h"
#include "../../base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct cmdline cl;
	char err[256];
	size_t i;

	if (cmdline_parse(text, &cl, err, sizeof(err)) == 0) {
		char *joined = cmdline_join(&cl, 0);

		if (strlen(joined) > strlen(text) + cl.npos)
			abort();
		free(joined);
		for (i = 0; i < cl.nkv; i++)
			if (cmdline_get(&cl, cl.kv[i].key) == NULL)
				abort();
	} else if (err[0] == '\0') {
		abort();
	}
	cmdline_free(&cl);
	free(text);
	return 0;
}
