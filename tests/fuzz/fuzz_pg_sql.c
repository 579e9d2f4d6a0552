/*
 * libFuzzer harness for the SQL rewrites of the PostgreSQL engine: any
 * text goes through the migrations' dialect rewrite and the parameter
 * translation without reading or writing out of bounds, and the
 * translation numbers no parameter past what it reports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/util.h"
#include "../../store/pg.h"
#include "../../store/pg_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	char *ddl = pg_schema_sql(text), *sql, *p;
	int n = 0;

	sql = pg_translate(text, &n);
	if (n < 0)
		abort();
	/* outside quotes, every $NNN it wrote is at most n */
	for (p = strchr(sql, '$'); p != NULL; p = strchr(p + 1, '$'))
		if (p[1] >= '0' && p[1] <= '9' && strtol(p + 1, NULL, 10) > n &&
		    strchr(text, '$') == NULL)
			abort();
	free(sql);
	free(ddl);
	free(text);
	return 0;
}
