/*
 * Moving a database from SQLite to PostgreSQL: every table copied with
 * its ids, the audit chain and the record hashes as they are, so that
 * the copy verifies with the same audit key (ismsctl migrate).
 */
#ifndef ISMS_STORE_COPY_H
#define ISMS_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* What a copy moved. */
struct store_copy_stats {
	int tables;
	int64_t rows;
};

/*
 * Whether the PostgreSQL database (its schema) at url may receive a
 * copy: 0 when it holds no isms-gateway tables or only what creating a
 * store writes, 1 when it holds more (err says what), -1 when it cannot
 * be read (err). Writes nothing.
 */
int store_url_check_empty(const char *url, char *err, size_t errlen);

/*
 * Checks a source opened read-only, in its open transaction: SQLite,
 * this program's schema, its audit key read, its audit chain and record
 * hashes verified. 0, or -1 with err.
 */
int store_copy_check_source(struct store *src, char *err, size_t errlen);

/*
 * Replaces everything in dst (a PostgreSQL store just created) by src's
 * rows in one transaction: ids, audit rows and record hashes verbatim,
 * the identity sequences past the highest id src gave out. src is read
 * in its open transaction. 0, or -1 with err (dst unchanged).
 */
int store_copy_into(struct store *src, struct store *dst,
		    struct store_copy_stats *stats, char *err, size_t errlen);

/*
 * Replaces in msg (size len) every appearance of url's password, and of
 * url itself, so that a message about url can be shown.
 */
void store_url_redact(const char *url, char *msg, size_t len);

#endif
