/*
 * libFuzzer harness for the INI reader: any file loads or yields errors
 * that name a line; the configuration stays usable either way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../config/config.h"
#include "../../base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct config cfg;
	struct config_errors e = {0};

	config_defaults(&cfg);
	if (config_load_string(&cfg, "fuzz.conf", text, &e) < 0 &&
	    (e.count == 0 || e.text.len == 0))
		abort();
	if (cfg.risk_levels[0] >= cfg.risk_levels[1] ||
	    cfg.work_start_min >= cfg.work_end_min)
		abort();
	buf_free(&e.text);
	config_free(&cfg);
	free(text);
	return 0;
}
