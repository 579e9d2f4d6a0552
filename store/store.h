/*
 * The store: one SQLite database in WAL mode. Opening applies the numbered
 * migrations; every change runs in one transaction that also appends to the
 * hash-chained audit log and, when people must be told, to the outbox.
 * Used on one thread only.
 */
#ifndef ISMS_STORE_H
#define ISMS_STORE_H

#include <stdint.h>

#include "../base/util.h"

/*
 * The store and its statements are opaque: only store/ knows the engine
 * (store/store_impl.h). Everything else goes through the functions below.
 */
struct store;
struct db_stmt;

/* How a store is opened beyond its mode. */
struct store_options {
	/*
	 * The audit key: "file:PATH", "env:NAME" (the key file's text), or
	 * NULL/"" for PATH.audit-key beside the database. A writing open
	 * makes a missing file while the log has no keyed row yet.
	 */
	const char *audit_key;
	/*
	 * The group given read access to the database, its -wal and -shm
	 * files, the lock file, the audit key and backups (all 0640), or
	 * NULL/"" for none (0600). The process must be able to chgrp to it.
	 */
	const char *group;
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
	int active; /* 0 once deactivated (a leaver) */
};

/*
 * How a database is opened:
 * STORE_CREATE   creates the file when missing, then migrates (init, tests)
 * STORE_EXISTING the file must exist and be an isms database; migrates
 *                (the daemon, the console, commands that write)
 * STORE_READONLY the file must exist and be an isms database no newer than
 *                this program; opened read-only: never created, migrated
 *                or repaired (audit verify, backup, exports, report).
 *                An older schema is opened as it is: audit verify and
 *                backup read any version; store_check_current says
 *                whether the rest may read it.
 */
enum store_mode {
	STORE_CREATE,
	STORE_EXISTING,
	STORE_READONLY,
};

/*
 * Opens path in the given mode. On error returns NULL and writes a message
 * for a person into err (size errlen); *missing (when not NULL) is set to
 * 1 when the reason is that the file does not exist or is not a database
 * (a usage error rather than a runtime failure).
 */
struct store *store_open_mode(const char *path, enum store_mode mode,
			      int *missing, char *err, size_t errlen);
/* Same with options (NULL: the defaults). */
struct store *store_open_opts(const char *path, enum store_mode mode,
			      const struct store_options *opts, int *missing,
			      char *err, size_t errlen);
/*
 * Leader and standbys: several gateways may share a PostgreSQL store;
 * the one holding the store's leader lock (a session advisory lock on a
 * connection of its own) is the leader and the others stand by. NULL
 * on SQLite, where one gateway owns the file (store_lock_exclusive).
 * store_leader_poll, about once a second: 1 this gateway leads, 0
 * another does; -1 the leader's lock session ended (another gateway may
 * lead now: the caller stops leading at once). A standby whose session
 * failed opens a new one at the next poll.
 */
struct store_leader;
struct store_leader *store_leader_open(struct store *st, char *err,
				       size_t errlen);
/*
 * A new leader's epoch, one more than its predecessor's (with an audit
 * row): 0 on SQLite, -1 on error.
 */
int64_t store_leader_epoch(struct store *st);
/*
 * 0 once a PostgreSQL store's connection is lost (its statements and
 * transaction with it: the gateway starts again); always 1 on SQLite.
 */
int store_connected(const struct store *st);
/*
 * The leader of epoch claims up to limit pending deliveries due at now
 * that no leader of its epoch holds (rows held by a predecessor are
 * taken over: sent again, at least once), skipping rows another
 * transaction has locked. Nothing to do on SQLite or with epoch 0.
 * 0, or -1 on a database error.
 */
int store_outbox_claim(struct store *st, int64_t epoch, int64_t now, int limit);
int store_leader_poll(struct store_leader *l);
void store_leader_close(struct store_leader *l);

/*
 * 1 when path is a PostgreSQL URL (postgresql://... or postgres://...):
 * every store_open call takes one in place of a file's path.
 */
int store_is_url(const char *path);
/* 1 when the database has the table, 0 when not, -1 on error */
int store_has_table(struct store *st, const char *name);
/* store_open_mode(path, STORE_CREATE, NULL, err, errlen) */
struct store *store_open(const char *path, char *err, size_t errlen);
/*
 * How long a statement waits for a lock held by another process (the
 * daemon's loop waits only briefly and retries from the loop instead).
 */
void store_set_busy_timeout(struct store *st, int ms);
/* 1 when the last failure was a lock held elsewhere (worth a retry) */
int store_busy(const struct store *st);
/* 1 when the last statement failed for the database's sake (lock, disk) */
int store_failed(const struct store *st);
/*
 * What to tell a person when the last statement failed: busy, disk full,
 * read-only, damaged or other; every text says nothing was stored.
 */
const char *store_error_reply(const struct store *st);

/* 1 when the store was opened read-only */
int store_readonly(const struct store *st);
/*
 * 0 when the schema is this program's; -1 with err when a read-only store
 * has an older schema (its tables may lack what a query asks for).
 */
int store_check_current(const struct store *st, char *err, size_t errlen);
/*
 * Takes the lock that allows one daemon per database (PATH.lock beside
 * the file, held until store_close). 0, or -1 with err naming the holder.
 */
int store_lock_exclusive(struct store *st, char *err, size_t errlen);
void store_close(struct store *st);
int store_schema_version(void);

/*
 * Loads the embedded Annex A controls into the controls table when any is
 * missing (store_open does it after the migrations). 0, or -1 with err.
 */
int store_annex_load(struct store *st, char *err, size_t errlen);

/* The store's time: a held instant (store_hold_time), else its clock. */
int64_t store_now(const struct store *st);
/*
 * Replaces the clock store_now reads (the wall clock by default; tests
 * set a fixed one). now(arg) returns seconds since the epoch.
 */
void store_set_clock(struct store *st, int64_t (*now)(void *arg), void *arg);
/* The database file's path as opened; borrowed until store_close. */
const char *store_path(const struct store *st);
/* Open transactions: 0 none, 1 a BEGIN, more for nested savepoints. */
int store_tx_depth(const struct store *st);

/*
 * Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK, 0 or -1. They nest:
 * inside an open transaction they become savepoints, so a batch of
 * commands can share one durable commit while each keeps its own
 * all-or-nothing change.
 */
int store_begin(struct store *st);
/*
 * While on, every statement that would change the database fails (the
 * engine runs read-only commands so). 0 or -1.
 */
int store_query_only(struct store *st, int on);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * The open transaction is about to change many rows (a directory import,
 * a campaign to everyone): the engine may keep up to 32 MiB of pages
 * instead of 2 MiB until it ends, rather than writing pages to the log
 * and reading them back within it.
 */
void store_large_tx(struct store *st);

/*
 * Prepared statements with bound parameters. fmt has one letter per
 * parameter: 'i' int64_t, 't' const char * (NULL binds NULL; the text is
 * copied), 'n' NULL. db_prepare returns a statement, or NULL (logged);
 * the caller hands it back with db_finish: statements are cached by
 * their SQL text (a static string) and reused, so SQL is parsed once per
 * process. A statement is borrowed from the store until db_finish.
 */
struct db_stmt *db_prepare(struct store *st, const char *sql, const char *fmt,
			   ...);
/* Resets s and returns it to the cache (or frees it); NULL is ignored. */
void db_finish(struct store *st, struct db_stmt *s);
/* Resets a prepared statement and binds new parameters: 0 or -1. */
int db_rebind(struct db_stmt *s, const char *fmt, ...);

/* What db_step found. */
enum db_step_result {
	DB_ERROR = -1, /* the statement failed; see store_busy and friends */
	DB_DONE = 0,   /* no (more) rows: the statement ran to its end */
	DB_ROW = 1,    /* a row is ready for the column readers */
};
/*
 * Runs s to its next row. On DB_ERROR the failure stays recorded on the
 * store, so store_busy, store_failed, store_error_reply and db_errmsg
 * describe it until the next statement runs. Nothing is logged.
 */
int db_step(struct db_stmt *s);
/*
 * Column readers for the row db_step just returned (col from 0). Texts
 * are borrowed until the next db_step, db_rebind or db_finish of s.
 */
int64_t db_col_int(struct db_stmt *s, int col);	     /* NULL reads as 0 */
const char *db_col(struct db_stmt *s, int col);	     /* never NULL: "" */
const char *db_col_text(struct db_stmt *s, int col); /* NULL for NULL */
int db_col_null(struct db_stmt *s, int col);	     /* 1 when SQL NULL */

/* Runs a statement; returns the rows it changed, or -1 (logged). */
int db_exec(struct store *st, const char *sql, const char *fmt, ...);
/* First column of the first row as int64; returns 1 found, 0 none, -1. */
int db_int(struct store *st, int64_t *out, const char *sql, const char *fmt,
	   ...);
/* First column of the first row as a new string (caller frees) or NULL. */
char *db_text(struct store *st, const char *sql, const char *fmt, ...);
/* The rowid of the connection's last INSERT (an id just made). */
int64_t db_last_id(struct store *st);
/* The engine's text for the last failure; borrowed until the next call. */
const char *db_errmsg(struct store *st);

/* Settings (key/value); store_setting returns a new string or NULL. */
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
 * Audit rows written from now on note this simulated instant in their
 * details ("as_of"); their time stays the real one. 0 ends it.
 */
void store_set_as_of(struct store *st, int64_t as_of);
/*
 * Holds the time store_now returns at t (a scheduler pass, a seed run
 * as of an instant); 0 lets the clock run again. Returns the time held
 * before, so holds nest.
 */
int64_t store_hold_time(struct store *st, int64_t t);

/*
 * Appends to the audit log in the current transaction. details is a JSON
 * object text (NULL means "{}"). The row is stamped with the real time
 * (not the store's clock), never earlier than the row before. 0 or -1.
 */
int store_audit(struct store *st, const char *actor, const char *action,
		const char *object, const char *details);

/*
 * Verifies the chain. Returns 0 when intact, else the first broken
 * sequence number (>0), or -1 on a database error. Rows from the audit
 * key's "since" on must be keyed (HMAC-SHA256 with the key), and no
 * unkeyed row may follow a keyed one; a key made at a row the log no
 * longer reaches means rows were removed from its end.
 */
int64_t store_audit_verify(struct store *st, int64_t *rows);

/*
 * -1 with err when the log has keyed rows but the audit key could not be
 * read (missing, unreadable or malformed), else 0.
 */
int store_audit_key_problem(const struct store *st, char *err, size_t errlen);

/*
 * The newest audit row: 1 with *seq and hash (hex) set, 0 when the log
 * is empty, -1 on error.
 */
int store_audit_head(struct store *st, int64_t *seq, char hash[65]);

/*
 * Checks a published head "SEQ:HASH": 0 when that row is there with that
 * hash, 1 when it is missing or differs (why in err), -1 when head is
 * malformed or on a database error (err).
 */
int store_audit_check_head(struct store *st, const char *head, char *err,
			   size_t errlen);

/*
 * Recomputes every record row's keyed hash and appends one line per row
 * edited, removed or added other than by this program to out ("RSK-1:
 * changed outside ismsd since seq 42"). Returns the number of such rows,
 * or -1 on error.
 */
int64_t store_records_verify(struct store *st, struct buf *out);

/* The unkeyed audit hash of one row, as rows before the key have it. */
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
 * Which message a reply answers. The newest message a transport
 * delivered as external_id (a Matrix event id): 1 with its outbox kind
 * and payload as new strings (caller frees), 0 none (both NULL), -1.
 */
int store_outbox_delivered(struct store *st, const char *transport,
			   const char *external_id, char **kind,
			   char **payload);
/*
 * The approval (APR id) whose request a transport delivered as
 * external_id in channel (a Slack thread), or 0.
 */
int64_t store_outbox_approval_at(struct store *st, const char *transport,
				 const char *channel, const char *external_id);
/*
 * The external id of the newest request for approval apr sent to
 * person_id by transport (the mail Message-ID to thread under), a new
 * string (caller frees), or NULL.
 */
char *store_outbox_approval_sent(struct store *st, const char *transport,
				 int64_t person_id, int64_t apr);
/*
 * The payload of the newest message of kind sent to person_id by
 * transport (a new string, caller frees), or NULL.
 */
char *store_outbox_last_sent(struct store *st, const char *transport,
			     int64_t person_id, const char *kind);

/*
 * Inbound de-duplication: records (source, id). Returns 1 when it was
 * already there (a redelivery), 0 when new, -1 on error.
 */
int store_inbox_seen(struct store *st, const char *source, const char *id);

/*
 * Runs an SQL script on a connection of its own to the database file at
 * path, as another program (the sqlite3 shell) would: none of the
 * store's machinery runs (no audit row, no record hash, no migration).
 * For tests that change a database behind the store's back to show the
 * change is caught; the daemon and ismsctl never call it. 0, or -1 with
 * the engine's message in err.
 */
int store_exec_foreign(const char *path, const char *sql, char *err,
		       size_t errlen);

/* Online copy of the database into path. */
int store_backup(struct store *st, const char *path, char *err, size_t errlen);

#endif
