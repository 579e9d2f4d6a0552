/*
 * The store: one SQLite database in WAL mode. Opening applies the numbered
 * migrations; every change runs in one transaction that also appends to the
 * hash-chained audit log and, when people must be told, to the outbox.
 * Used on one thread only.
 */
#ifndef ISMS_STORE_H
#define ISMS_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "../gateway/util.h"

#define STORE_STMT_CACHE 512

struct store_stmt {
	const char *key; /* the caller's SQL text pointer (static strings) */
	char *sql;	 /* a copy, compared too */
	sqlite3_stmt *s;
	int busy;
};

struct store {
	sqlite3 *db;
	struct store_stmt cache[STORE_STMT_CACHE]; /* prepared statements */
	char *path;
	int depth; /* open transactions: 1 = BEGIN, more = savepoints */
	int64_t (*now)(void *arg); /* clock; tests and --now replace it */
	void *now_arg;
};

enum role {
	ROLE_STAFF = 1 << 0,
	ROLE_MANAGER = 1 << 1,
	ROLE_RISK_OWNER = 1 << 2,
	ROLE_ISMS_MANAGER = 1 << 3,
	ROLE_AUDITOR = 1 << 4,
	ROLE_ADMIN = 1 << 5,
	ROLE_MANAGEMENT = 1 << 6, /* top management (ISO/IEC 27001 clause 5) */
};

/* Roles that give more than reading: anyone holding none is read-only. */
#define ROLES_ELEVATED                                                         \
	(ROLE_MANAGER | ROLE_RISK_OWNER | ROLE_ISMS_MANAGER | ROLE_ADMIN |     \
	 ROLE_MANAGEMENT)

struct person {
	int64_t id;
	char handle[64];
	char name[128];
	char email[256];
	char slack_id[64];
	char matrix_id[256];
	char team[64];
	char timezone[64];
	int64_t manager_id; /* 0 when none */
	unsigned roles;
};

/*
 * Opens (creating if needed) and migrates. On error returns NULL and
 * writes a message for a person into err (size errlen).
 */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *st);
int store_schema_version(void);

/*
 * Loads the embedded Annex A controls into the controls table when any is
 * missing (store_open does it after the migrations). 0, or -1 with err.
 */
int store_annex_load(struct store *st, char *err, size_t errlen);

int64_t store_now(const struct store *st);

/*
 * Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK, 0 or -1. They nest:
 * inside an open transaction they become savepoints, so a batch of
 * commands can share one durable commit while each keeps its own
 * all-or-nothing change.
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * Prepared statements with bound parameters. fmt has one letter per
 * parameter: 'i' int64_t, 't' const char * (NULL binds NULL), 'n' NULL.
 * db_prepare returns a statement, or NULL (logged); the caller hands it
 * back with db_finish (never sqlite3_finalize): statements are cached by
 * their SQL text and reused, so SQL is parsed once per process.
 */
sqlite3_stmt *db_prepare(struct store *st, const char *sql, const char *fmt,
			 ...);
void db_finish(struct store *st, sqlite3_stmt *s);
/* Resets a prepared statement and binds new parameters: 0 or -1. */
int db_rebind(sqlite3_stmt *s, const char *fmt, ...);
/* Runs a statement; returns changes() or -1. */
int db_exec(struct store *st, const char *sql, const char *fmt, ...);
/* First column of the first row as int64; returns 1 found, 0 none, -1. */
int db_int(struct store *st, int64_t *out, const char *sql, const char *fmt,
	   ...);
/* First column of the first row as a new string (caller frees) or NULL. */
char *db_text(struct store *st, const char *sql, const char *fmt, ...);
const char *db_errmsg(struct store *st);
/* Column text that is never NULL; borrowed until the next step. */
const char *db_col(sqlite3_stmt *s, int col);

/* Settings (key/value); db_setting returns a new string or NULL. */
char *store_setting(struct store *st, const char *key);
int store_set_setting(struct store *st, const char *key, const char *value);

/* People. kind: "handle", "email", "slack", "matrix", "id". 1 / 0 / -1. */
int store_person_find(struct store *st, const char *kind, const char *value,
		      struct person *out);
int store_person_by_id(struct store *st, int64_t id, struct person *out);
const char *role_name(enum role r);
int role_parse(const char *s, enum role *out);
void roles_format(unsigned roles, char *out, size_t len);

/*
 * Appends to the audit log in the current transaction. details is a JSON
 * object text (NULL means "{}"). 0 or -1.
 */
int store_audit(struct store *st, const char *actor, const char *action,
		const char *object, const char *details);

/*
 * Verifies the chain. Returns 0 when intact, else the first broken
 * sequence number (>0), or -1 on a database error.
 */
int64_t store_audit_verify(struct store *st, int64_t *rows);

/* Audit hash of one row (hex, 65 bytes). */
void store_audit_hash(const char *prev, int64_t seq, const char *at,
		      const char *actor, const char *action, const char *object,
		      const char *details, char out[65]);

/*
 * Queues a message for a person (person_id > 0) or a bare address
 * (e-mail; person_id 0, stored as NULL). payload is JSON text or NULL.
 * Returns the outbox id or -1.
 */
int64_t store_outbox_add(struct store *st, int64_t person_id,
			 const char *address, const char *kind,
			 const char *subject, const char *body,
			 const char *html, const char *payload);

/*
 * Inbound de-duplication: records (source, id). Returns 1 when it was
 * already there (a redelivery), 0 when new, -1 on error.
 */
int store_inbox_seen(struct store *st, const char *source, const char *id);

/* Online copy of the database into path. */
int store_backup(struct store *st, const char *path, char *err, size_t errlen);

#endif
