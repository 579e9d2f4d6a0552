/*
 * The staff directory import: the CSV, all-or-nothing, upsert by handle;
 * a handle named twice in one file is refused.
 */
#ifndef ISMS_STAFF_H
#define ISMS_STAFF_H

#include <stddef.h>

#include "store.h"

#define STAFF_HEADER                                                           \
	"handle,name,email,slack_id,matrix_id,manager,team,"                   \
	"timezone,roles"

/*
 * Imports text (the whole file) in one transaction. Returns 0 and the
 * counts, or -1 with "line N: problem" in err and nothing changed.
 */
int staff_import(struct store *st, const char *text, size_t len,
		 const char *actor, int *created, int *updated, char *err,
		 size_t errlen);

/*
 * Same; when missing is not NULL it also returns the handles of active
 * people the file does not name (a new array of new strings, the caller
 * frees each and the array), for deactivating leavers.
 */
int staff_import_missing(struct store *st, const char *text, size_t len,
			 const char *actor, int *created, int *updated,
			 char ***missing, size_t *nmissing, char *err,
			 size_t errlen);

/* 1 when h is a valid handle: 1-32 letters, digits, . _ - (no '@'). */
int staff_valid_handle(const char *h);

/*
 * Splits one CSV record starting at *p (RFC 4180 quoting) into at most
 * max fields, each a new string the caller frees. Advances *p past the
 * record. Returns the field count, or -1 for malformed quoting.
 */
int csv_record(const char **p, const char *end, char **fields, int max);

#endif
