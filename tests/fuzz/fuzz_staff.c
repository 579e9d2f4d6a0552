/*
 * libFuzzer harness for the staff CSV importer on an in-memory database:
 * an import either succeeds or names a problem and changes nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../store/staff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	int created, updated;
	int64_t before = 0, after = 0;

	if (st == NULL) {
		st = store_open(":memory:", err, sizeof(err));
		if (st == NULL)
			abort();
	}
	db_int(st, &before, "SELECT COUNT(*) + SUM(updated_at) FROM people",
	       NULL);
	if (staff_import(st, (const char *)data, size, "fuzz", &created,
			 &updated, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
		db_int(st, &after,
		       "SELECT COUNT(*) + SUM(updated_at) FROM people", NULL);
		if (after != before)
			abort();
	}
	return 0;
}
