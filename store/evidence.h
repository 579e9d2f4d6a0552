/*
 * The store's evidence machinery, used by store.c only: the audit key
 * (HMAC-SHA256 for audit rows), and the keyed hash of every record row
 * kept in record_hashes, updated at each outermost commit from the rows
 * this connection changed (sqlite3_update_hook).
 */
#ifndef ISMS_EVIDENCE_H
#define ISMS_EVIDENCE_H

#include "store_impl.h"

/*
 * Before the migrations: resolves spec and loads the key. A writing open
 * fails when the key is missing but the log has keyed rows (or when an
 * env: key is unset); a missing file is noted and made by
 * evidence_finish. A read-only open never fails for the key: the
 * reason is kept for store_audit_key_problem. 0, or -1 with err.
 */
int evidence_key_prepare(struct store *st, const char *spec,
			 enum store_mode mode, char *err, size_t errlen);

/*
 * After the migrations of a writing open: makes a missing key, starts
 * tracking record rows, appends an audit.keyed row when the newest row is
 * unkeyed, and rehashes every record when migrations ran. 0, or -1.
 */
int evidence_finish(struct store *st, int migrated, char *err, size_t errlen);

/* Finds the record tables of a read-only store (no tracking). 0 or -1. */
int evidence_tables_load(struct store *st, char *err, size_t errlen);

/* Hooks of store_begin, store_commit (outermost, before COMMIT) and
 * store_rollback (outermost). */
void evidence_begin(struct store *st);
int evidence_flush(struct store *st);
void evidence_rollback(struct store *st);

void evidence_free(struct store *st);

/* 1 when audit_log has its keyed column, 0 when not, -1 on error. */
int evidence_has_keyed(struct store *st);

/* Hash of one audit row: HMAC-SHA256 with the key when keyed, else
 * SHA-256 (the key must be loaded for a keyed hash). */
void evidence_audit_hash(struct store *st, int keyed, const char *prev,
			 int64_t seq, const char *at, const char *actor,
			 const char *action, const char *object,
			 const char *details, char out[65]);

#endif
