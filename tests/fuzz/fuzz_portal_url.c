/*
 * libFuzzer harness for the portal's URL and query parsing: any request
 * target is routed to a page or refused with a reason, and what it
 * yields stays within its bounds and its allowed values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../adapters/portal.h"
#include "../../base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t cap)
{
	size_t i;

	if (strnlen(s, cap) >= cap)
		abort();
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct portal_route r;
	const char *why = NULL;
	struct buf b = {0};

	if (portal_route_parse(text, &r, &why) < 0) {
		if (why == NULL || why[0] == '\0')
			abort();
	} else {
		check_str(r.theme, sizeof(r.theme));
		check_str(r.status, sizeof(r.status));
		check_str(r.applicable, sizeof(r.applicable));
		check_str(r.token, sizeof(r.token));
		check_str(r.export_name, sizeof(r.export_name));
		if (r.applicable[0] && strcmp(r.applicable, "yes") != 0 &&
		    strcmp(r.applicable, "no") != 0)
			abort();
		if ((r.page == PAGE_RISK || r.page == PAGE_INCIDENT) &&
		    (r.id <= 0 || r.id > 999999999))
			abort();
		if (r.version < 0 || r.version > 1000000)
			abort();
		if (r.page == PAGE_EXPORT &&
		    strcmp(r.export_format, "csv") != 0 &&
		    strcmp(r.export_format, "json") != 0)
			abort();
	}
	/* whatever came in is escaped: no markup survives */
	portal_html(&b, text);
	if (strpbrk(buf_str(&b), "<>\"'") != NULL)
		abort();
	buf_free(&b);
	free(text);
	return 0;
}
