/*
 * SQLite store: open and migrate, parameter binding helpers, people,
 * settings, the audit chain, the outbox and the inbound de-duplication.
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/embedded.h"
#include "../base/log.h"
#include "evidence.h"
#include "pg_schema.h"

static int64_t
store_wall_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

int64_t
store_now(const struct store *st)
{
	return st->held_now != 0 ? st->held_now : st->now(st->now_arg);
}

void
store_set_clock(struct store *st, int64_t (*now)(void *arg), void *arg)
{
	st->now = now;
	st->now_arg = arg;
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

int
store_tx_depth(const struct store *st)
{
	return st->depth;
}

int64_t
store_hold_time(struct store *st, int64_t t)
{
	int64_t prev = st->held_now;

	st->held_now = t;
	return prev;
}

int
store_schema_version(void)
{
	return embedded_migrations_count;
}

static int
bind_va(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int i, rc = SQLITE_OK;

	for (i = 0; fmt && fmt[i] && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 'i':
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);

			rc = t ? sqlite3_bind_text(s, i + 1, t, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, i + 1);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(s, i + 1);
			break;
		default:
			return -1;
		}
	}
	return rc == SQLITE_OK ? 0 : -1;
}

static struct store_stmt *
cache_slot(struct store *st, const char *sql, int *found)
{
	size_t h = ((uintptr_t)sql >> 3) % STORE_STMT_CACHE, i;

	*found = 0;
	for (i = 0; i < 8; i++) {
		struct store_stmt *e = &st->cache[(h + i) % STORE_STMT_CACHE];

		if (e->key == NULL)
			return e;
		if (e->key == sql && strcmp(e->sql, sql) == 0) {
			*found = 1;
			return e;
		}
	}
	return NULL;
}

/* Where a statement's handle starts its search in by_stmt. */
static size_t
stmt_slot(const sqlite3_stmt *s)
{
	return (size_t)((((uintptr_t)s >> 4) * 0x9e3779b97f4a7c15ULL) >> 32) %
	       ARRAY_LEN(((struct store *)NULL)->by_stmt);
}

/* The cache entry of statement s, or NULL when it is not cached. */
static struct store_stmt *
cache_of(struct store *st, const sqlite3_stmt *s)
{
	size_t n = ARRAY_LEN(st->by_stmt), i;

	for (i = stmt_slot(s); st->by_stmt[i] != 0; i = (i + 1) % n)
		if (st->cache[st->by_stmt[i] - 1].s == s)
			return &st->cache[st->by_stmt[i] - 1];
	return NULL;
}

static void
cache_index(struct store *st, const struct store_stmt *e)
{
	size_t n = ARRAY_LEN(st->by_stmt), i;

	for (i = stmt_slot(e->s); st->by_stmt[i] != 0; i = (i + 1) % n)
		;
	st->by_stmt[i] = (short)(e - st->cache + 1);
}

static sqlite3_stmt *
prepare_va(struct store *st, const char *sql, const char *fmt, va_list ap)
{
	struct store_stmt *e;
	sqlite3_stmt *s = NULL;
	int found;

	e = cache_slot(st, sql, &found);
	if (e != NULL && found && !e->busy) {
		s = e->s;
		e->busy = 1;
	} else {
		int cache = e != NULL && !found;

		if (sqlite3_prepare_v3(st->db, sql, -1,
				       cache ? SQLITE_PREPARE_PERSISTENT : 0,
				       &s, NULL) != SQLITE_OK) {
			log_error("sql prepare: %s", db_errmsg(st));
			return NULL;
		}
		if (cache) {
			e->key = sql;
			e->sql = xstrdup(sql);
			e->s = s;
			e->busy = 1;
			cache_index(st, e);
		}
	}
	if (bind_va(s, fmt, ap) < 0) {
		log_error("sql bind: %s", db_errmsg(st));
		db_finish(st, db_wrap(s));
		return NULL;
	}
	return s;
}

void
db_finish(struct store *st, struct db_stmt *ds)
{
	sqlite3_stmt *s = db_raw(ds);
	struct store_stmt *e;

	if (s == NULL)
		return;
	if (db_is_pg(ds)) {
		pg_finish(st->pg, db_raw_pg(ds));
		return;
	}
	e = cache_of(st, s);
	if (e != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		e->busy = 0;
		return;
	}
	sqlite3_finalize(s);
}

/* A statement of either engine; once: not cached (db_finish frees it). */
static struct db_stmt *
stmt_va(struct store *st, int once, const char *sql, const char *fmt,
	va_list ap)
{
	sqlite3_stmt *s = NULL;

	if (st->pg != NULL)
		return db_wrap_pg(pg_prepare_va(st->pg, once, sql, fmt, ap));
	if (!once)
		return db_wrap(prepare_va(st, sql, fmt, ap));
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_error("sql prepare: %s", db_errmsg(st));
		return NULL;
	}
	if (bind_va(s, fmt, ap) < 0) {
		log_error("sql bind: %s", db_errmsg(st));
		sqlite3_finalize(s);
		return NULL;
	}
	return db_wrap(s);
}

struct db_stmt *
db_prepare(struct store *st, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = stmt_va(st, 0, sql, fmt, ap);
	va_end(ap);
	return s;
}

struct db_stmt *
db_prepare_once(struct store *st, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = stmt_va(st, 1, sql, fmt, ap);
	va_end(ap);
	return s;
}

int
db_rebind(struct db_stmt *ds, const char *fmt, ...)
{
	sqlite3_stmt *s = db_raw(ds);
	va_list ap;
	int rc;

	if (db_is_pg(ds)) {
		va_start(ap, fmt);
		rc = pg_rebind_va(db_raw_pg(ds), fmt, ap);
		va_end(ap);
		return rc;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	va_start(ap, fmt);
	rc = bind_va(s, fmt, ap);
	va_end(ap);
	return rc;
}

int
db_exec(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	if (st->pg != NULL) {
		struct pg_stmt *p;

		va_start(ap, fmt);
		p = pg_prepare_va(st->pg, 0, sql, fmt, ap);
		va_end(ap);
		if (p == NULL)
			return -1;
		rc = pg_step(p) == DB_ERROR ? -1 : pg_changes(p);
		if (rc < 0)
			log_error("sql: %s", pg_errmsg(st->pg));
		pg_finish(st->pg, p);
		return rc;
	}
	va_start(ap, fmt);
	s = prepare_va(st, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	db_finish(st, db_wrap(s));
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("sql: %s", db_errmsg(st));
		return -1;
	}
	return sqlite3_changes(st->db);
}

int
db_int(struct store *st, int64_t *out, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	s = stmt_va(st, 0, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		*out = db_col_int(s, 0);
		rc = 1;
	} else if (rc == DB_DONE) {
		rc = 0;
	} else {
		log_error("sql: %s", db_errmsg(st));
		rc = -1;
	}
	db_finish(st, s);
	return rc;
}

char *
db_text(struct store *st, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;
	char *r = NULL;

	va_start(ap, fmt);
	s = stmt_va(st, 0, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return NULL;
	if (db_step(s) == DB_ROW && !db_col_null(s, 0))
		r = xstrdup(db_col(s, 0));
	db_finish(st, s);
	return r;
}

const char *
db_errmsg(struct store *st)
{
	return st->pg != NULL ? pg_errmsg(st->pg) : sqlite3_errmsg(st->db);
}

int
db_script(struct store *st, const char *sql)
{
	if (st->pg != NULL)
		return pg_script(st->pg, sql);
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
									: -1;
}

int
db_step(struct db_stmt *s)
{
	if (db_is_pg(s))
		return pg_step(db_raw_pg(s));
	switch (sqlite3_step(db_raw(s))) {
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_DONE:
		return DB_DONE;
	default:
		return DB_ERROR;
	}
}

int64_t
db_col_int(struct db_stmt *s, int col)
{
	if (db_is_pg(s))
		return pg_col_int(db_raw_pg(s), col);
	return sqlite3_column_int64(db_raw(s), col);
}

const char *
db_col(struct db_stmt *s, int col)
{
	const char *t = db_col_text(s, col);

	return t ? t : "";
}

const char *
db_col_text(struct db_stmt *s, int col)
{
	if (db_is_pg(s))
		return pg_col_text(db_raw_pg(s), col);
	return (const char *)sqlite3_column_text(db_raw(s), col);
}

int
db_col_null(struct db_stmt *s, int col)
{
	if (db_is_pg(s))
		return pg_col_null(db_raw_pg(s), col);
	return sqlite3_column_type(db_raw(s), col) == SQLITE_NULL;
}

void
db_reset(struct db_stmt *s)
{
	if (db_is_pg(s))
		pg_reset(db_raw_pg(s));
	else
		sqlite3_reset(db_raw(s));
}

int
db_col_count(struct db_stmt *s)
{
	if (db_is_pg(s))
		return pg_col_count(db_raw_pg(s));
	return sqlite3_column_count(db_raw(s));
}

const char *
db_col_name(struct db_stmt *s, int col)
{
	const char *n;

	if (db_is_pg(s))
		return pg_col_name(db_raw_pg(s), col);
	n = sqlite3_column_name(db_raw(s), col);
	return n ? n : "";
}

enum db_type
db_col_type(struct db_stmt *s, int col)
{
	if (db_is_pg(s)) {
		switch (pg_col_type(db_raw_pg(s), col)) {
		case PG_COL_NULL:
			return DB_NULL;
		case PG_COL_INTEGER:
			return DB_INTEGER;
		case PG_COL_FLOAT:
			return DB_FLOAT;
		default:
			return DB_TEXT;
		}
	}
	switch (sqlite3_column_type(db_raw(s), col)) {
	case SQLITE_INTEGER:
		return DB_INTEGER;
	case SQLITE_FLOAT:
		return DB_FLOAT;
	case SQLITE_TEXT:
		return DB_TEXT;
	case SQLITE_BLOB:
		return DB_BLOB;
	default:
		return DB_NULL;
	}
}

double
db_col_double(struct db_stmt *s, int col)
{
	if (db_is_pg(s))
		return pg_col_double(db_raw_pg(s), col);
	return sqlite3_column_double(db_raw(s), col);
}

const void *
db_col_bytes(struct db_stmt *s, int col, int *len)
{
	const void *p;

	if (db_is_pg(s)) {
		*len = pg_col_len(db_raw_pg(s), col);
		return pg_col(db_raw_pg(s), col);
	}
	p = sqlite3_column_type(db_raw(s), col) == SQLITE_BLOB
		? sqlite3_column_blob(db_raw(s), col)
		: (const void *)sqlite3_column_text(db_raw(s), col);
	*len = sqlite3_column_bytes(db_raw(s), col);
	return p;
}

int64_t
db_last_id(struct store *st)
{
	if (st->pg != NULL)
		return pg_last_id(st->pg);
	return sqlite3_last_insert_rowid(st->db);
}

/* The name of embedded migration i without ".sql" into out. */
static void
migration_name(int i, char *out, size_t len)
{
	const char *n = embedded_migrations[i].name;
	size_t k = strlen(n);

	if (k > 4 && strcmp(n + k - 4, ".sql") == 0)
		k -= 4;
	snprintf(out, len, "%.*s", (int)k, n);
}

/* The embedded migration called name (with or without ".sql"), or -1. */
static int
migration_find(const char *name)
{
	char m[128];
	int i;

	for (i = 0; i < embedded_migrations_count; i++) {
		migration_name(i, m, sizeof(m));
		if (strcmp(m, name) == 0 ||
		    strcmp(embedded_migrations[i].name, name) == 0)
			return i;
	}
	return -1;
}

/*
 * Whether the database has a table called name: 1, 0, or -1 when it
 * cannot be read. On PostgreSQL, in the schema the session works in.
 */
int
store_has_table(struct store *st, const char *name)
{
	int64_t n = 0;

	if (db_int(st, &n,
		   st->pg != NULL
		       ? "SELECT COUNT(*) FROM information_schema.tables "
			 "WHERE table_schema = current_schema() AND "
			 "table_name = ?"
		       : "SELECT COUNT(*) FROM sqlite_master WHERE type = "
			 "'table' AND name = ?",
		   "t", name) < 0)
		return -1;
	return n > 0;
}

/*
 * Runs one migration's text in the open transaction. On PostgreSQL the
 * text goes through the dialect rewrite (store/pg_schema.c), and the
 * first one is preceded by the SQLite functions the SQL uses
 * (store/pg_compat.sql). 0, or -1 with the engine's message in *msg.
 */
static int
migration_run(struct store *st, int first, const char *text, char **msg)
{
	char *sql;
	int rc;

	*msg = NULL;
	if (st->pg == NULL) {
		char *m = NULL;

		if (sqlite3_exec(st->db, text, NULL, NULL, &m) == SQLITE_OK)
			return 0;
		*msg = xstrdup(m ? m : "?");
		sqlite3_free(m);
		return -1;
	}
	if (first) {
		const char *compat = embedded_get("pg_compat.sql");

		if (compat == NULL || pg_script(st->pg, compat) < 0) {
			*msg = xasprintf("the compatibility functions: %s",
					 compat ? pg_errmsg(st->pg)
						: "not built in");
			return -1;
		}
	}
	sql = pg_schema_sql(text);
	rc = pg_script(st->pg, sql);
	free(sql);
	if (rc < 0)
		*msg = xstrdup(pg_errmsg(st->pg));
	return rc;
}

/*
 * Which embedded migrations the database has applied, into applied[]
 * (embedded_migrations_count entries): by name from schema_migrations,
 * or for a database from before names were kept the first user_version
 * ones. Checked against what this program knows and what the mode
 * allows: the number applied, or -1 with err.
 */
static int
store_read_schema(struct store *st, enum store_mode mode, char *applied,
		  char *err, size_t errlen)
{
	struct db_stmt *s;
	int64_t v = 0, named = 0;
	int i, n = 0, rc;

	memset(applied, 0, (size_t)embedded_migrations_count + 1);
	if ((st->pg == NULL &&
	     db_int(st, &v, "PRAGMA user_version", NULL) < 0) ||
	    (named = store_has_table(st, "schema_migrations")) < 0) {
		snprintf(err, errlen, "%s: not a readable database: %s",
			 st->path, db_errmsg(st));
		return -1;
	}
	if (v > embedded_migrations_count) {
		snprintf(err, errlen,
			 "%s: database schema version %lld is newer than this "
			 "program supports (%d); upgrade isms-gateway or use a "
			 "backup made by this version",
			 st->path, (long long)v, embedded_migrations_count);
		return -1;
	}
	if (!named) {
		for (i = 0; i < (int)v; i++)
			applied[i] = 1;
		n = (int)v;
	} else {
		s = db_prepare(st, "SELECT name FROM schema_migrations", NULL);
		if (s == NULL) {
			snprintf(err, errlen, "%s: not a readable database: %s",
				 st->path, db_errmsg(st));
			return -1;
		}
		while ((rc = db_step(s)) == DB_ROW) {
			i = migration_find(db_col(s, 0));
			if (i < 0) {
				snprintf(err, errlen,
					 "%s: the database has migration "
					 "\"%.80s\", which this program does "
					 "not know: its schema is newer than "
					 "this program supports; upgrade "
					 "isms-gateway or use a backup made by "
					 "this version",
					 st->path, db_col(s, 0));
				db_finish(st, s);
				return -1;
			}
			if (!applied[i])
				n++;
			applied[i] = 1;
		}
		db_finish(st, s);
		if (rc != DB_DONE) {
			snprintf(err, errlen, "%s: not a readable database: %s",
				 st->path, db_errmsg(st));
			return -1;
		}
	}
	if (n == 0 && mode != STORE_CREATE) {
		snprintf(err, errlen,
			 "%s: not an isms-gateway database (no schema; create "
			 "one with \"ismsctl --db %s init\")",
			 st->path, st->path);
		return -1;
	}
	return n;
}

/*
 * The table of applied migrations; a database from before it existed
 * gets its first user_version migrations recorded. Without a rowid and
 * an integer key it is no record table to an earlier version either,
 * whose "audit verify" a downgrade still passes. 0 or -1 with err.
 */
static int
store_track_names(struct store *st, const char *applied, char *err,
		  size_t errlen)
{
	char when[32], name[128];
	int i, named = store_has_table(st, "schema_migrations");

	if (named < 0)
		goto fail;
	if (named)
		return 0;
	time_iso((int64_t)time(NULL), when);
	if (store_begin(st) < 0 ||
	    db_exec(st,
		    st->pg != NULL
			? "CREATE TABLE schema_migrations(name TEXT PRIMARY "
			  "KEY, applied_at TEXT NOT NULL)"
			: "CREATE TABLE schema_migrations(name TEXT PRIMARY "
			  "KEY, applied_at TEXT NOT NULL) WITHOUT ROWID",
		    NULL) < 0)
		goto fail_tx;
	for (i = 0; i < embedded_migrations_count; i++) {
		if (!applied[i])
			continue;
		migration_name(i, name, sizeof(name));
		if (db_exec(st,
			    "INSERT INTO schema_migrations(name, applied_at) "
			    "VALUES (?, ?)",
			    "tt", name, when) < 0)
			goto fail_tx;
	}
	if (store_commit(st) < 0)
		goto fail_tx;
	return 0;
fail_tx:
	store_rollback(st);
fail:
	snprintf(err, errlen, "%s: cannot record the applied migrations: %s",
		 st->path, db_errmsg(st));
	return -1;
}

/*
 * The copy taken before migrating: PATH.pre-NAME.bak (NAME the first
 * migration to apply), or PATH.pre-NAME.2.bak and so on when an earlier
 * one is kept there. 0 with the file in out, or -1 with err.
 */
static int
store_pre_migration_backup(struct store *st, const char *name, char *out,
			   size_t outlen, char *err, size_t errlen)
{
	struct stat sb;
	int k;

	for (k = 1; k < 100; k++) {
		if (k == 1)
			snprintf(out, outlen, "%s.pre-%s.bak", st->path, name);
		else
			snprintf(out, outlen, "%s.pre-%s.%d.bak", st->path,
				 name, k);
		if (stat(out, &sb) < 0 && errno == ENOENT)
			return store_backup(st, out, err, errlen);
	}
	snprintf(err, errlen, "%.300s: too many earlier backups", out);
	return -1;
}

static void
migrate_unlock(struct store *st)
{
	if (st->pg != NULL)
		db_exec(st,
			"SELECT pg_advisory_unlock(" STORE_PG_LOCK_MIGRATE ")",
			NULL);
}

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Applies the migrations the database has not (by name, in the order of
 * their names), each in its own transaction with its name recorded and
 * an audit row. A database that already has a schema is first copied
 * beside itself. How many were applied, or -1 with err.
 */
static int
store_migrate(struct store *st, char *err, size_t errlen)
{
	char *applied = xcalloc((size_t)embedded_migrations_count + 1, 1);
	char name[128], when[32], bak[4200] = "";
	int64_t t0 = monotonic_ms();
	int i, n = 0, had;

	/* gateways starting together on one PostgreSQL migrate in turn */
	if (st->pg != NULL &&
	    db_exec(st, "SELECT pg_advisory_lock(" STORE_PG_LOCK_MIGRATE ")",
		    NULL) < 0) {
		snprintf(err, errlen, "%s: %s", st->path, db_errmsg(st));
		goto out_err;
	}
	had = store_read_schema(st, STORE_CREATE, applied, err, errlen);
	if (had < 0 || store_track_names(st, applied, err, errlen) < 0)
		goto out_err;
	if (had > 0 && had < embedded_migrations_count && st->pg == NULL &&
	    strcmp(st->path, ":memory:") != 0) {
		char why[512];

		for (i = 0; applied[i]; i++)
			;
		migration_name(i, name, sizeof(name));
		if (store_pre_migration_backup(st, name, bak, sizeof(bak), why,
					       sizeof(why)) < 0) {
			snprintf(err, errlen,
				 "%s: not migrated: the backup before "
				 "migrating failed: %s",
				 st->path, why);
			goto out_err;
		}
		log_info("store: %s backed up to %s before migrating", st->path,
			 bak);
	}
	for (i = 0; i < embedded_migrations_count; i++) {
		char *msg = NULL, pragma[64];

		if (applied[i])
			continue;
		migration_name(i, name, sizeof(name));
		if (had > 0)
			log_info("store: applying migration %s", name);
		else
			log_debug("store: applying migration %s", name);
		if (store_begin(st) < 0)
			goto fail;
		if (migration_run(st, had + n == 0, embedded_migrations[i].text,
				  &msg) < 0) {
			snprintf(err, errlen, "%s: migration %s failed: %s%s%s",
				 st->path, name, msg ? msg : "?",
				 bak[0] ? "; the database before it is in "
					: "",
				 bak);
			free(msg);
			store_rollback(st);
			goto out_err;
		}
		st->has_keyed = -1; /* the schema changed */
		time_iso((int64_t)time(NULL), when);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
			 had + n + 1);
		if (db_exec(st,
			    "INSERT INTO schema_migrations(name, applied_at) "
			    "VALUES (?, ?)",
			    "tt", name, when) < 0 ||
		    (st->pg == NULL && db_script(st, pragma) < 0) ||
		    store_audit(st, "system", "schema.migrate",
				embedded_migrations[i].name, NULL) < 0 ||
		    store_commit(st) < 0)
			goto fail;
		n++;
	}
	if (had > 0 && n > 0)
		log_info("store: applied %d migration%s in %lld ms; backup at "
			 "%s",
			 n, n == 1 ? "" : "s", (long long)(monotonic_ms() - t0),
			 bak[0] ? bak : "(none)");
	free(applied);
	migrate_unlock(st);
	return n;
fail:
	snprintf(err, errlen, "%s: migration %s failed: %s", st->path, name,
		 db_errmsg(st));
	store_rollback(st);
out_err:
	free(applied);
	migrate_unlock(st);
	return -1;
}

/*
 * Checks that path names an existing SQLite file before SQLite is asked to
 * open it (SQLite would create a missing one, and read a half-written one
 * as far as it goes). 0, or -1 with err.
 */
static int
store_check_file(const char *path, enum store_mode mode, char *err,
		 size_t errlen)
{
	static const char magic[16] = "SQLite format 3";
	char head[16], journal[4096];
	struct stat sb;
	ssize_t n;
	int fd;

	if (stat(path, &sb) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen,
				 "%s: no such database (create it with "
				 "\"ismsctl --db %s init\")",
				 path, path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a database",
			 path);
		return -1;
	}
	if (sb.st_size == 0) {
		snprintf(err, errlen,
			 "%s: empty file, not an isms-gateway database", path);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n != (ssize_t)sizeof(head) || memcmp(head, magic, 16) != 0) {
		snprintf(err, errlen, "%s: not an SQLite database", path);
		return -1;
	}
	/* a rollback journal left behind: a copy that was cut short */
	snprintf(journal, sizeof(journal), "%s-journal", path);
	if (mode == STORE_READONLY && stat(journal, &sb) == 0 &&
	    sb.st_size > 0) {
		snprintf(err, errlen,
			 "%s: an unfinished write left %s beside it (a "
			 "partial copy, or a program killed while writing); "
			 "not read",
			 path, journal);
		return -1;
	}
	return 0;
}

/*
 * SQL function role_names(roles): the role bits as names separated by
 * ';', as the staff CSV writes them (exports show roles by name).
 */
static void
sql_role_names(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char text[256];

	(void)argc;
	roles_format((unsigned)sqlite3_value_int64(argv[0]), text,
		     sizeof(text));
	for (char *p = text; *p; p++)
		if (*p == ',')
			*p = ';';
	sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/*
 * SQL function store_now(): the store's time (held or clock), so that
 * queries such as exports judge "expired" as of the same instant as the
 * commands and the scheduler.
 */
static void
sql_store_now(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int64(
	    ctx, store_now((const struct store *)sqlite3_user_data(ctx)));
}

/* Resolves the configured group into st: 0, or -1 with err. */
static int
store_set_group(struct store *st, const char *group, char *err, size_t errlen)
{
	struct group gr, *found = NULL;
	char text[8192];
	int rc;

	st->fmode = 0600;
	if (group == NULL || *group == '\0')
		return 0;
	rc = getgrnam_r(group, &gr, text, sizeof(text), &found);
	if (rc != 0 || found == NULL) {
		snprintf(err, errlen, "store.group: %s \"%.64s\"",
			 rc != 0 ? strerror(rc) : "no such group", group);
		return -1;
	}
	st->gid = (unsigned)gr.gr_gid;
	st->has_group = 1;
	st->fmode = 0640;
	st->group = xstrdup(group);
	return 0;
}

int
store_file_mode(const struct store *st, const char *path, int fd, char *err,
		size_t errlen)
{
	struct stat sb;
	int rc = fd >= 0 ? fstat(fd, &sb) : stat(path, &sb);

	if (rc < 0) {
		if (fd < 0 && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st->has_group && sb.st_gid != (gid_t)st->gid) {
		rc = fd >= 0 ? fchown(fd, (uid_t)-1, (gid_t)st->gid)
			     : chown(path, (uid_t)-1, (gid_t)st->gid);
		if (rc < 0) {
			snprintf(err, errlen,
				 "%s: cannot give it to group %s (store.group):"
				 " %s; the process must own the file and be a "
				 "member of the group",
				 path, st->group, strerror(errno));
			return -1;
		}
	}
	if ((sb.st_mode & 07777) == st->fmode)
		return 0;
	rc = fd >= 0 ? fchmod(fd, (mode_t)st->fmode)
		     : chmod(path, (mode_t)st->fmode);
	if (rc < 0 && st->has_group) {
		snprintf(err, errlen, "%s: cannot make it mode %04o: %s", path,
			 st->fmode, strerror(errno));
		return -1;
	}
	if (rc < 0)
		log_warnx("%s: mode %04o, and it cannot be made %04o: %s", path,
			  (unsigned)(sb.st_mode & 07777), st->fmode,
			  strerror(errno));
	else if ((sb.st_mode & 0777 & ~(mode_t)st->fmode) != 0)
		log_info("store: %s was mode %04o; now %04o", path,
			 (unsigned)(sb.st_mode & 07777), st->fmode);
	return 0;
}

/*
 * The database file, the -wal and -shm beside it (SQLite makes them with
 * the database's mode but the process's group) and the audit key kept
 * beside it get the store's mode and group. 0, or -1 with err.
 */
static int
store_files_mode(struct store *st, char *err, size_t errlen)
{
	static const char *const side[] = {"", "-wal", "-shm", ".audit-key"};
	char file[4200];
	size_t i;

	if (strcmp(st->path, ":memory:") == 0)
		return 0;
	for (i = 0; i < ARRAY_LEN(side); i++) {
		snprintf(file, sizeof(file), "%s%s", st->path, side[i]);
		if (store_file_mode(st, file, -1, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/*
 * A missing database file is made empty with the store's mode before
 * SQLite opens it (SQLite would make it with the umask's). 0, or -1.
 */
static int
store_create_file(struct store *st, char *err, size_t errlen)
{
	int fd, rc;

	if (strcmp(st->path, ":memory:") == 0)
		return 0;
	fd = open(st->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		  (mode_t)st->fmode);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "%s: cannot create: %s", st->path,
			 strerror(errno));
		return -1;
	}
	rc = store_file_mode(st, st->path, fd, err, errlen);
	close(fd);
	if (rc < 0)
		unlink(st->path);
	return rc;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	return store_open_mode(path, STORE_CREATE, NULL, err, errlen);
}

void
store_set_busy_timeout(struct store *st, int ms)
{
	char sql[64];

	if (st->pg == NULL) {
		sqlite3_busy_timeout(st->db, ms);
		return;
	}
	/* 0 would wait for ever on PostgreSQL */
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", ms > 0 ? ms : 1);
	if (pg_script(st->pg, sql) < 0)
		log_warnx("store: lock_timeout: %s", pg_errmsg(st->pg));
}

/*
 * The SQLite result code that stands for PostgreSQL's last failure, so
 * that both engines' failures are told apart, and answered, alike.
 */
static int
store_errcode(const struct store *st)
{
	const char *state;

	if (st->pg == NULL)
		return sqlite3_errcode(st->db);
	state = pg_sqlstate(st->pg);
	if (*state == '\0')
		return SQLITE_OK;
	if (pg_busy(st->pg))
		return SQLITE_BUSY;
	if (strcmp(state, "53100") == 0) /* disk_full */
		return SQLITE_FULL;
	if (strcmp(state, "25006") == 0 || /* read_only_sql_transaction */
	    strcmp(state, "42501") == 0)   /* insufficient_privilege */
		return SQLITE_READONLY;
	if (strncmp(state, "08", 2) == 0 || /* connection exception */
	    strncmp(state, "57", 2) == 0 || /* operator intervention */
	    strncmp(state, "53", 2) == 0)   /* insufficient resources */
		return SQLITE_IOERR;
	if (strcmp(state, "XX001") == 0 || strcmp(state, "XX002") == 0)
		return SQLITE_CORRUPT;
	return SQLITE_ERROR;
}

int
store_busy(const struct store *st)
{
	int rc = store_errcode(st);

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

int
store_failed(const struct store *st)
{
	switch (store_errcode(st) & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_IOERR:
		return 1;
	default:
		return 0;
	}
}

const char *
store_error_reply(const struct store *st)
{
	switch (store_errcode(st) & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "the database is busy; nothing was stored, please try "
		       "again";
	case SQLITE_FULL:
		return "the ISMS database's disk is full; nothing was stored. "
		       "Please tell your ISMS administrator";
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return "the ISMS database cannot be written; nothing was "
		       "stored. Please tell your ISMS administrator";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "the ISMS database is damaged; nothing was stored. "
		       "Please tell your ISMS administrator";
	default:
		return "a database error stopped this; nothing was stored, "
		       "please try again";
	}
}

int
store_readonly(const struct store *st)
{
	return st->readonly;
}

int
store_check_current(const struct store *st, char *err, size_t errlen)
{
	char name[128];

	if (!st->readonly || st->schema_missing < 0)
		return 0;
	migration_name(st->schema_missing, name, sizeof(name));
	snprintf(err, errlen,
		 "%s: database schema is older than this program's (%d of "
		 "%d migrations applied; %s is not) and is not changed when "
		 "only read; run \"ismsctl --db %s init\" on a copy to "
		 "upgrade it",
		 st->path, (int)st->schema, embedded_migrations_count, name,
		 st->path);
	return -1;
}

/*
 * Reads which migrations the database has (st->schema, and the first
 * missing one in st->schema_missing). 0, or -1 with err.
 */
static int
store_check_schema(struct store *st, enum store_mode mode, char *err,
		   size_t errlen)
{
	char *applied = xcalloc((size_t)embedded_migrations_count + 1, 1);
	int n = store_read_schema(st, mode, applied, err, errlen), i;

	st->schema = n;
	st->schema_missing = -1;
	for (i = 0; n >= 0 && i < embedded_migrations_count; i++)
		if (!applied[i]) {
			st->schema_missing = i;
			break;
		}
	free(applied);
	return n < 0 ? -1 : 0;
}

struct store *
store_open_mode(const char *path, enum store_mode mode, int *missing, char *err,
		size_t errlen)
{
	return store_open_opts(path, mode, NULL, missing, err, errlen);
}

/*
 * The engine serves one thread: connections without a mutex, and no
 * count of its memory (a global lock taken at every allocation). Set
 * before its first use; later calls change nothing.
 */
static void
engine_config(void)
{
	static int done;

	if (!done) {
		done = 1;
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	}
}

static int store_open_finish(struct store *st, enum store_mode mode,
			     const char *key, int *missing, char *err,
			     size_t errlen);
static struct store *store_open_pg(const char *url, enum store_mode mode,
				   const struct store_options *opts,
				   int *missing, char *err, size_t errlen);

struct store *
store_open_opts(const char *path, enum store_mode mode,
		const struct store_options *opts, int *missing, char *err,
		size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	const char *key = opts ? opts->audit_key : NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (missing != NULL)
		*missing = 0;
	if (store_is_url(path)) {
		free(st);
		return store_open_pg(path, mode, opts, missing, err, errlen);
	}
	engine_config();
	st->path = xstrdup(path);
	st->now = store_wall_clock;
	st->lock_fd = -1;
	st->has_keyed = -1;
	if (store_set_group(st, opts ? opts->group : NULL, err, errlen) < 0) {
		if (missing != NULL)
			*missing = 1; /* a setting to fix */
		goto fail;
	}
	if (mode == STORE_CREATE) {
		flags |= SQLITE_OPEN_CREATE;
		if (store_create_file(st, err, errlen) < 0)
			goto fail;
	} else if (strcmp(path, ":memory:") != 0 &&
		   store_check_file(path, mode, err, errlen) < 0) {
		if (missing != NULL)
			*missing = 1;
		goto fail;
	}
	if (mode == STORE_READONLY) {
		flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
		st->readonly = 1;
	}
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	sqlite3_create_function(st->db, "role_names", 1,
				SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				sql_role_names, NULL, NULL);
	sqlite3_create_function(st->db, "store_now", 0, SQLITE_UTF8, st,
				sql_store_now, NULL, NULL);
	if (mode == STORE_READONLY) {
		if (sqlite3_exec(st->db, "PRAGMA query_only=1", NULL, NULL,
				 NULL) != SQLITE_OK ||
		    store_check_schema(st, mode, err, errlen) < 0) {
			if (missing != NULL)
				*missing = 1;
			goto fail;
		}
		if (evidence_key_prepare(st, key, mode, err, errlen) < 0 ||
		    evidence_tables_load(st, err, errlen) < 0)
			goto fail;
		return st;
	}
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		snprintf(err, errlen,
			 "%s: the database is read-only for this user; it "
			 "must be writable (the file and its directory, for "
			 "the -wal and -shm files)",
			 path);
		goto fail;
	}
	if (mode == STORE_EXISTING &&
	    store_check_schema(st, mode, err, errlen) < 0) {
		if (missing != NULL)
			*missing = 1;
		goto fail;
	}
	if (sqlite3_exec(st->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a usable database: %s", path,
			 db_errmsg(st));
		goto fail;
	}
	if (store_files_mode(st, err, errlen) < 0)
		goto fail;
	if (store_open_finish(st, mode, key, missing, err, errlen) < 0)
		goto fail;
	return st;
fail:
	store_close(st);
	return NULL;
}

/*
 * The part of opening a writable store both engines share: the audit
 * key, the migrations, the record hashes, the Annex A list and the
 * reply-token secret. 0, or -1 with err.
 */
static int
store_open_finish(struct store *st, enum store_mode mode, const char *key,
		  int *missing, char *err, size_t errlen)
{
	char *secret = NULL;
	int migrated;

	/* the audit key first: the migrations write audit rows */
	if (evidence_key_prepare(st, key, mode, err, errlen) < 0) {
		if (missing != NULL)
			*missing = 1; /* restore the key or fix the setting */
		goto fail;
	}
	if ((migrated = store_migrate(st, err, errlen)) < 0 ||
	    evidence_finish(st, migrated, err, errlen) < 0 ||
	    store_annex_load(st, err, errlen) < 0)
		goto fail;
	/* the key behind approval reply tokens, made once per database */
	secret = store_setting(st, "token_secret");
	if (secret == NULL) {
		unsigned char raw[32];
		char hex[65];

		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			snprintf(err, errlen, "no random bytes available");
			goto fail;
		}
		hex_encode(raw, sizeof(raw), hex);
		if (store_begin(st) < 0 ||
		    store_set_setting(st, "token_secret", hex) < 0 ||
		    store_commit(st) < 0) {
			store_rollback(st);
			snprintf(err, errlen, "%s: cannot write: %s", st->path,
				 db_errmsg(st));
			goto fail;
		}
	}
	free(secret);
	return 0;
fail:
	free(secret);
	return -1;
}

int
store_is_url(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 ||
	       strncmp(path, "postgres://", 11) == 0;
}

/*
 * Opens a PostgreSQL store. The server keeps the files, so there is no
 * file to check, no mode or group to give and no copy before migrating
 * (the server's backups are the operator's); the audit key must be
 * named, since nothing lies beside the database to keep it.
 */
static struct store *
store_open_pg(const char *url, enum store_mode mode,
	      const struct store_options *opts, int *missing, char *err,
	      size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	const char *key = opts ? opts->audit_key : NULL;

	st->path = pg_url_label(url);
	st->url = xstrdup(url);
	st->now = store_wall_clock;
	st->lock_fd = -1;
	st->has_keyed = -1;
	if (opts != NULL && opts->group != NULL && *opts->group != '\0') {
		snprintf(err, errlen,
			 "store.group applies to an SQLite file; a PostgreSQL "
			 "store's access is the server's GRANTs");
		if (missing != NULL)
			*missing = 1;
		goto fail;
	}
	if (key == NULL || *key == '\0') {
		snprintf(err, errlen,
			 "%s: a PostgreSQL store needs store.audit_key "
			 "(file:PATH or env:NAME): the key is kept apart from "
			 "the database",
			 st->path);
		if (missing != NULL)
			*missing = 1;
		goto fail;
	}
	st->fmode = 0600; /* the audit key's file */
	st->pg = pg_open(url, err, errlen);
	if (st->pg == NULL)
		goto fail;
	store_set_busy_timeout(st, 10000);
	/* where the record triggers note this session's writes */
	if (pg_script(st->pg, "CREATE TEMP TABLE IF NOT EXISTS "
			      "evidence_pending(tbl text, row bigint)") < 0) {
		snprintf(err, errlen, "%s: %s", st->path, pg_errmsg(st->pg));
		goto fail;
	}
	if (mode == STORE_READONLY) {
		st->readonly = 1;
		if (pg_script(st->pg,
			      "SET default_transaction_read_only = on") < 0 ||
		    store_check_schema(st, mode, err, errlen) < 0) {
			if (missing != NULL && err[0] == '\0')
				*missing = 1;
			goto fail;
		}
		if (evidence_key_prepare(st, key, mode, err, errlen) < 0 ||
		    evidence_tables_load(st, err, errlen) < 0)
			goto fail;
		return st;
	}
	if (mode == STORE_EXISTING &&
	    store_check_schema(st, mode, err, errlen) < 0) {
		if (missing != NULL)
			*missing = 1;
		goto fail;
	}
	if (store_open_finish(st, mode, key, missing, err, errlen) < 0)
		goto fail;
	return st;
fail:
	store_close(st);
	return NULL;
}

int
store_lock_exclusive(struct store *st, char *err, size_t errlen)
{
	char lock[4096], pid[32];
	ssize_t n;

	/* several gateways share a PostgreSQL store: one leads (leader.c) */
	if (st->pg != NULL || strcmp(st->path, ":memory:") == 0 ||
	    st->lock_fd >= 0)
		return 0;
	snprintf(lock, sizeof(lock), "%s.lock", st->path);
	st->lock_fd =
	    open(lock, O_RDWR | O_CREAT | O_CLOEXEC, (mode_t)st->fmode);
	if (st->lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		return -1;
	}
	if (store_file_mode(st, lock, st->lock_fd, err, errlen) < 0) {
		close(st->lock_fd);
		st->lock_fd = -1;
		return -1;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		n = read(st->lock_fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen,
			 "%s is in use by another ismsd%s%s%s (lock %s); one "
			 "daemon per database",
			 st->path, pid[0] ? " (pid " : "", pid,
			 pid[0] ? ")" : "", lock);
		close(st->lock_fd);
		st->lock_fd = -1;
		return -1;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(st->lock_fd, 0) == 0 &&
	    write(st->lock_fd, pid, strlen(pid)) < 0)
		log_debug("%s: cannot record the pid", lock);
	return 0;
}

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	/* rows written outside a transaction are hashed before leaving */
	if ((st->db != NULL || st->pg != NULL) && !st->readonly &&
	    st->npending > 0 && st->depth == 0 && store_begin(st) == 0 &&
	    store_commit(st) < 0)
		store_rollback(st);
	for (i = 0; i < STORE_STMT_CACHE; i++) {
		sqlite3_finalize(st->cache[i].s);
		free(st->cache[i].sql);
	}
	sqlite3_close(st->db);
	pg_close(st->pg);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the lock */
	evidence_free(st);
	free(st->group);
	free(st->path);
	if (st->url != NULL) {
		OPENSSL_cleanse(st->url, strlen(st->url));
		free(st->url);
	}
	free(st);
}

/*
 * PostgreSQL lets a transaction become read-only at any point but never
 * writable again, so inside one the read-only stretch is a savepoint of
 * its own, rolled back at the end (it wrote nothing), which also undoes
 * the setting; outside one, the session's default changes.
 */
static int
pg_query_only(struct store *st, int on)
{
	if (st->pg_ro_savepoint && !on) {
		st->pg_ro_savepoint = 0;
		return pg_script(st->pg,
				 "ROLLBACK TO isms_ro; RELEASE isms_ro");
	}
	if (on && pg_in_tx(st->pg)) {
		if (pg_script(st->pg, "SAVEPOINT isms_ro; SET LOCAL "
				      "transaction_read_only = on") < 0)
			return -1;
		st->pg_ro_savepoint = 1;
		return 0;
	}
	return pg_script(st->pg,
			 on ? "SET default_transaction_read_only = on"
			    : "SET default_transaction_read_only = off");
}

int
store_query_only(struct store *st, int on)
{
	if (st->readonly)
		return 0; /* already so for the whole connection */
	if (st->pg != NULL)
		return pg_query_only(st, on);
	return sqlite3_exec(st->db,
			    on ? "PRAGMA query_only=1" : "PRAGMA query_only=0",
			    NULL, NULL, NULL) == SQLITE_OK
		   ? 0
		   : -1;
}

/*
 * What BEGIN IMMEDIATE is on SQLite: a writing transaction on PostgreSQL
 * first takes the store's writer lock (the one the audit chain's head is
 * read under), waiting at most the busy timeout, so that a busy store
 * refuses at the start, where the caller retries the whole batch, and
 * never half-way through a command. 0, or -1 (busy: the transaction is
 * rolled back, the failure kept for store_busy).
 */
static int
pg_writer_lock(struct store *st)
{
	if (pg_script(st->pg,
		      "SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_AUDIT
		      ")") < 0) {
		pg_abort(st->pg);
		return -1;
	}
	return 0;
}

int
store_begin(struct store *st)
{
	char sql[32];

	if (st->depth == 0)
		snprintf(sql, sizeof(sql),
			 st->readonly || st->pg != NULL ? "BEGIN"
							: "BEGIN IMMEDIATE");
	else
		snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", st->depth);
	if (db_script(st, sql) < 0 ||
	    (st->depth == 0 && st->pg != NULL && !st->readonly &&
	     pg_writer_lock(st) < 0)) {
		/* a lock held elsewhere is the caller's to retry and report */
		if (store_busy(st))
			log_debug("begin: %s", db_errmsg(st));
		else
			log_error("begin: %s", db_errmsg(st));
		return -1;
	}
	if (st->depth == 0)
		evidence_begin(st);
	st->depth++;
	return 0;
}

#define STORE_CACHE_KIB	      2000  /* SQLite's default page cache */
#define STORE_LARGE_CACHE_KIB 32768 /* for a transaction of many rows */

static void
cache_kib(struct store *st, int kib)
{
	char sql[48];

	if (st->pg != NULL)
		return; /* the server's buffers */
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib);
	sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

void
store_large_tx(struct store *st)
{
	if (st->depth == 0 || st->large_tx)
		return;
	cache_kib(st, STORE_LARGE_CACHE_KIB);
	st->large_tx = 1;
}

/* The transaction ended: the cache shrinks back to the default. */
static void
large_tx_end(struct store *st)
{
	if (st->large_tx && st->depth == 0) {
		cache_kib(st, STORE_CACHE_KIB);
		st->large_tx = 0;
	}
}

int
store_commit(struct store *st)
{
	char sql[32];

	if (st->depth == 0)
		return -1;
	/* the record rows written in the transaction get their hashes */
	if (st->depth == 1 && evidence_flush(st) < 0) {
		log_error("commit: cannot hash the records written: %s",
			  db_errmsg(st));
		return -1;
	}
	st->depth--;
	if (st->depth == 0)
		snprintf(sql, sizeof(sql), "COMMIT");
	else
		snprintf(sql, sizeof(sql), "RELEASE sp%d", st->depth);
	if (db_script(st, sql) < 0) {
		log_error("commit: %s", db_errmsg(st));
		return -1;
	}
	large_tx_end(st);
	return 0;
}

void
store_rollback(struct store *st)
{
	char sql[64];

	if (st->depth <= 1) {
		st->depth = 0;
		st->pg_ro_savepoint = 0;
		evidence_rollback(st);
		if (st->pg != NULL ? pg_in_tx(st->pg)
				   : sqlite3_get_autocommit(st->db) == 0)
			db_script(st, "ROLLBACK");
		large_tx_end(st);
		return;
	}
	st->depth--;
	snprintf(sql, sizeof(sql), "ROLLBACK TO sp%d; RELEASE sp%d", st->depth,
		 st->depth);
	db_script(st, sql);
}

char *
store_setting(struct store *st, const char *key)
{
	return db_text(st, "SELECT value FROM settings WHERE key = ?", "t",
		       key);
}

int
store_set_setting(struct store *st, const char *key, const char *value)
{
	return db_exec(st,
		       "INSERT INTO settings(key, value) VALUES (?, ?) "
		       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		       "tt", key, value) < 0
		   ? -1
		   : 0;
}

static const char *role_names[] = {"staff",	   "manager", "risk_owner",
				   "isms_manager", "auditor", "admin",
				   "management"};

const char *
role_name(enum role r)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(role_names); i++)
		if ((unsigned)r == 1u << i)
			return role_names[i];
	return "?";
}

int
role_parse(const char *s, enum role *out)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(role_names); i++)
		if (strcasecmp(s, role_names[i]) == 0) {
			*out = (enum role)(1u << i);
			return 0;
		}
	return -1;
}

void
roles_format(unsigned roles, char *out, size_t len)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < ARRAY_LEN(role_names); i++)
		if (roles & (1u << i))
			n += (size_t)snprintf(out + (n < len ? n : len),
					      n < len ? len - n : 0, "%s%s",
					      n ? "," : "", role_names[i]);
}

static void
copy_col(char *dst, size_t len, struct db_stmt *s, int col)
{
	snprintf(dst, len, "%s", db_col(s, col));
}

#define PERSON_COLS                                                            \
	"SELECT id, handle, name, COALESCE(email,''), COALESCE(slack_id,''), " \
	"COALESCE(matrix_id,''), COALESCE(team,''), COALESCE(timezone,''), "   \
	"COALESCE(manager_id,0), roles, active FROM people "

static int
person_row(struct db_stmt *s, struct person *p)
{
	int rc = db_step(s);

	if (rc == DB_DONE)
		return 0;
	if (rc != DB_ROW)
		return -1;
	memset(p, 0, sizeof(*p));
	p->id = db_col_int(s, 0);
	copy_col(p->handle, sizeof(p->handle), s, 1);
	copy_col(p->name, sizeof(p->name), s, 2);
	copy_col(p->email, sizeof(p->email), s, 3);
	copy_col(p->slack_id, sizeof(p->slack_id), s, 4);
	copy_col(p->matrix_id, sizeof(p->matrix_id), s, 5);
	copy_col(p->team, sizeof(p->team), s, 6);
	copy_col(p->timezone, sizeof(p->timezone), s, 7);
	p->manager_id = db_col_int(s, 8);
	p->roles = (unsigned)db_col_int(s, 9);
	p->active = (int)db_col_int(s, 10);
	return 1;
}

int
store_person_find(struct store *st, const char *kind, const char *value,
		  struct person *out)
{
	static const struct {
		const char *kind, *sql;
	} q[] = {
	    {"handle", PERSON_COLS "WHERE handle = ? AND active <> 0"},
	    {"email", PERSON_COLS "WHERE email = ? AND active <> 0"},
	    {"slack", PERSON_COLS "WHERE slack_id = ? AND active <> 0"},
	    {"matrix", PERSON_COLS "WHERE matrix_id = ? AND active <> 0"},
	};
	struct db_stmt *s;
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_LEN(q); i++)
		if (strcmp(q[i].kind, kind) == 0)
			break;
	if (i == ARRAY_LEN(q) || value == NULL || *value == '\0')
		return 0;
	s = db_prepare(st, q[i].sql, "t", value);
	if (s == NULL)
		return -1;
	rc = person_row(s, out);
	db_finish(st, s);
	return rc;
}

int
store_person_by_id(struct store *st, int64_t id, struct person *out)
{
	struct db_stmt *s = db_prepare(st, PERSON_COLS "WHERE id = ?", "i", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = person_row(s, out);
	db_finish(st, s);
	return rc;
}

#define GENESIS                                                                \
	"0000000000000000000000000000000000000000000000000000000000000000"

/*
 * details with "as_of" added (a new string, caller frees): what a
 * simulated scheduler pass believed the time to be.
 */
static char *
audit_details_as_of(const char *details, int64_t as_of)
{
	char when[32];
	struct buf b = {0};

	time_iso(as_of, when);
	buf_printf(&b, "{\"as_of\":\"%s\"", when);
	if (strcmp(details, "{}") != 0 && details[0] == '{')
		buf_printf(&b, ",%s", details + 1);
	else
		buf_putc(&b, '}');
	return buf_steal(&b);
}

int
store_audit(struct store *st, const char *actor, const char *action,
	    const char *object, const char *details)
{
	struct db_stmt *s = NULL;
	int64_t seq = 1;
	char prev[65] = GENESIS, hash[65], at[32], last_at[32] = "";
	char *with_as_of = NULL;
	int rc = -1, has_keyed, keyed;

	if (details == NULL)
		details = "{}";
	/* the head is read under the writer lock store_begin took */
	s = db_prepare(st,
		       "SELECT seq, hash, at FROM audit_log ORDER BY seq DESC "
		       "LIMIT 1",
		       NULL);
	if (s == NULL)
		goto out;
	switch (db_step(s)) {
	case DB_ROW:
		seq = db_col_int(s, 0) + 1;
		copy_col(prev, sizeof(prev), s, 1);
		copy_col(last_at, sizeof(last_at), s, 2);
		break;
	case DB_DONE:
		break;
	default:
		goto out;
	}
	/*
	 * Rows carry the real time, never earlier than the row before
	 * (ISO 8601 UTC strings order as the times do): a clock set back
	 * is logged once and the log keeps its order.
	 */
	time_iso((int64_t)time(NULL), at);
	if (strcmp(at, last_at) < 0) {
		if (!st->clock_warned)
			log_warnx("the system clock (%s) is behind the audit "
				  "log's last entry (%s); entries keep that "
				  "time until the clock catches up",
				  at, last_at);
		st->clock_warned = 1;
		snprintf(at, sizeof(at), "%s", last_at);
	}
	if (st->as_of != 0) {
		with_as_of = audit_details_as_of(details, st->as_of);
		details = with_as_of;
	}
	/* keyed with the audit key once the schema has the column */
	has_keyed = evidence_has_keyed(st);
	if (has_keyed < 0)
		goto out;
	keyed = has_keyed && st->key_loaded;
	evidence_audit_hash(st, keyed, prev, seq, at, actor, action, object,
			    details, hash);
	if (has_keyed
		? db_exec(st,
			  "INSERT INTO audit_log(seq, at, actor, action, "
			  "object, details, prev_hash, hash, keyed) VALUES "
			  "(?,?,?,?,?,?,?,?,?)",
			  "ittttttti", seq, at, actor, action, object, details,
			  prev, hash, (int64_t)keyed) < 0
		: db_exec(st,
			  "INSERT INTO audit_log(seq, at, actor, action, "
			  "object, details, prev_hash, hash) VALUES "
			  "(?,?,?,?,?,?,?,?)",
			  "ittttttt", seq, at, actor, action, object, details,
			  prev, hash) < 0)
		goto out;
	rc = 0;
out:
	free(with_as_of);
	db_finish(st, s);
	return rc;
}

void
store_set_as_of(struct store *st, int64_t as_of)
{
	st->as_of = as_of;
}

int64_t
store_audit_verify(struct store *st, int64_t *rows)
{
	struct db_stmt *s;
	char prev[65] = GENESIS, hash[65];
	int64_t expect = 1, broken = 0;
	int rc, has_keyed = evidence_has_keyed(st), seen_keyed = 0;

	*rows = 0;
	if (has_keyed < 0)
		return -1;
	s = db_prepare(st,
		       has_keyed ? "SELECT seq, at, actor, action, object, "
				   "details, prev_hash, hash, keyed FROM "
				   "audit_log ORDER BY seq"
				 : "SELECT seq, at, actor, action, object, "
				   "details, prev_hash, hash, 0 FROM audit_log "
				   "ORDER BY seq",
		       NULL);
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		int64_t seq = db_col_int(s, 0);
		int keyed = db_col_int(s, 8) != 0;

		(*rows)++;
		if (seq != expect || strcmp(db_col(s, 6), prev) != 0) {
			broken = seq != expect ? expect : seq;
			break;
		}
		/*
		 * From the key's first row on every row is keyed, and no
		 * plain row follows a keyed one: a chain recomputed
		 * without the key does not pass.
		 */
		if ((keyed && !st->key_loaded) ||
		    (!keyed && (seen_keyed ||
				(st->key_loaded && seq >= st->key_since)))) {
			broken = seq;
			break;
		}
		seen_keyed |= keyed;
		evidence_audit_hash(st, keyed, prev, seq, db_col(s, 1),
				    db_col(s, 2), db_col(s, 3), db_col(s, 4),
				    db_col(s, 5), hash);
		if (strcmp(hash, db_col(s, 7)) != 0) {
			broken = seq;
			break;
		}
		memcpy(prev, hash, sizeof(prev));
		expect++;
	}
	if (broken == 0 && rc != DB_DONE)
		broken = -1;
	db_finish(st, s);
	/* the key was made at a row the log no longer reaches: its end
	 * was cut off */
	if (broken == 0 && has_keyed && st->key_loaded &&
	    st->key_since >= expect)
		broken = expect;
	return broken;
}

int64_t
store_outbox_add(struct store *st, int64_t person_id, const char *address,
		 const char *kind, const char *subject, const char *body,
		 const char *html, const char *payload)
{
	if (db_exec(
		st,
		"INSERT INTO outbox(created_at, person_id, address, kind, "
		"subject, body, html, payload) VALUES (?,NULLIF(?, 0),?,?,?,"
		"?,?,?)",
		"iitttttt", store_now(st), person_id, address, kind, subject,
		body, html, payload ? payload : "{}") < 0)
		return -1;
	return db_last_id(st);
}

int
store_outbox_delivered(struct store *st, const char *transport,
		       const char *external_id, char **kind, char **payload)
{
	struct db_stmt *s = db_prepare(
	    st,
	    "SELECT o.kind, o.payload FROM outbox_delivery d JOIN outbox o "
	    "ON o.id = d.outbox_id WHERE d.transport = ? AND "
	    "d.external_id = ? ORDER BY d.id DESC LIMIT 1",
	    "tt", transport, external_id);
	int rc;

	*kind = *payload = NULL;
	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		*kind = xstrdup(db_col(s, 0));
		*payload = xstrdup(db_col(s, 1));
		rc = 1;
	} else {
		rc = rc == DB_DONE ? 0 : -1;
	}
	db_finish(st, s);
	return rc;
}

int64_t
store_outbox_approval_at(struct store *st, const char *transport,
			 const char *channel, const char *external_id)
{
	int64_t apr = 0;

	db_int(st, &apr,
	       "SELECT COALESCE(CAST(json_extract(o.payload, '$.approval') AS "
	       "BIGINT), 0) "
	       "FROM outbox_delivery d JOIN outbox o ON o.id = d.outbox_id "
	       "WHERE d.transport = ? AND d.external_id = ? AND "
	       "d.channel = ? AND o.kind = 'approval'",
	       "ttt", transport, external_id, channel);
	return apr;
}

char *
store_outbox_approval_sent(struct store *st, const char *transport,
			   int64_t person_id, int64_t apr)
{
	return db_text(
	    st,
	    "SELECT d.external_id FROM outbox_delivery d "
	    "JOIN outbox o ON o.id = d.outbox_id WHERE "
	    "d.transport = ? AND d.status = 'sent' AND "
	    "o.kind = 'approval' AND o.person_id = ? AND "
	    "CAST(json_extract(o.payload, '$.approval') AS BIGINT) = ? "
	    "ORDER BY d.id DESC LIMIT 1",
	    "tii", transport, person_id, apr);
}

char *
store_outbox_last_sent(struct store *st, const char *transport,
		       int64_t person_id, const char *kind)
{
	return db_text(st,
		       "SELECT o.payload FROM outbox o JOIN outbox_delivery d "
		       "ON d.outbox_id = o.id WHERE o.person_id = ? AND "
		       "o.kind = ? AND d.transport = ? AND "
		       "d.status = 'sent' ORDER BY o.id DESC LIMIT 1",
		       "itt", person_id, kind, transport);
}

int
store_inbox_seen(struct store *st, const char *source, const char *id)
{
	int rc = db_exec(st,
			 "INSERT INTO inbox(source, event_id, seen_at) "
			 "VALUES (?,?,?) ON CONFLICT DO NOTHING",
			 "tti", source, id, store_now(st));

	if (rc < 0)
		return -1;
	return rc == 0 ? 1 : 0;
}

int
store_exec_foreign(const char *path, const char *sql, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc = -1;

	if (store_is_url(path)) {
		struct pg *pg = pg_open(path, err, errlen);

		if (pg == NULL)
			return -1;
		rc = pg_script(pg, sql);
		if (rc < 0)
			snprintf(err, errlen, "%s", pg_errmsg(pg));
		pg_close(pg);
		return rc;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "?");
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(msg);
	sqlite3_close(db);
	return rc;
}

/* fsync of a file or directory by name: 0 or -1 */
static int
fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Marks the copy as restored-from-backup (its outbox waits for "ismsctl
 * outbox release"), makes it a single file (rollback journal mode; WAL
 * comes back when a daemon opens it) and checks it: the copy opens
 * read-only, passes SQLite's quick_check and its audit chain verifies.
 */
static int
backup_finish_copy(const char *tmp, struct store *src, int64_t at, char *err,
		   size_t errlen)
{
	const char *source = src->path;
	struct store *copy = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *mark = NULL;
	char hold[512], when[32], *ck = NULL;
	int64_t rows, broken;
	int rc = -1;

	time_iso(at, when);
	snprintf(hold, sizeof(hold), "this database is a backup of %s made %s",
		 source, when);
	/* the mark is the only write, made before the copy is verified */
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) !=
		SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO settings(key, value) VALUES "
			       "('outbox_hold', ?) ON CONFLICT(key) DO UPDATE "
			       "SET value = excluded.value",
			       -1, &mark, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(mark, 1, hold, -1, SQLITE_TRANSIENT) !=
		SQLITE_OK ||
	    sqlite3_step(mark) != SQLITE_DONE) {
		snprintf(err, errlen, "%s: cannot mark the copy: %s", tmp,
			 db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_finalize(mark);
	mark = NULL;
	sqlite3_close(db);
	db = NULL;
	copy = store_open_mode(tmp, STORE_READONLY, NULL, err, errlen);
	if (copy == NULL)
		goto out;
	/* the copy's chain is checked with the source's key */
	memcpy(copy->key, src->key, sizeof(copy->key));
	copy->key_loaded = src->key_loaded;
	copy->key_since = src->key_since;
	free(copy->key_problem);
	copy->key_problem = NULL;
	ck = db_text(copy, "PRAGMA quick_check", NULL);
	if (ck == NULL || strcmp(ck, "ok") != 0) {
		snprintf(err, errlen,
			 "%s: the copy fails its integrity check: %s", tmp,
			 ck ? ck : db_errmsg(copy));
		goto out;
	}
	broken = store_audit_verify(copy, &rows);
	if (broken != 0) {
		snprintf(err, errlen,
			 "%s: the copy's audit chain does not verify (%lld)",
			 tmp, (long long)broken);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(mark);
	sqlite3_close(db);
	free(ck);
	store_close(copy);
	return rc;
}

/*
 * The key kept beside the database goes beside the copy, so that the copy
 * verifies and opens where it is restored; a key configured elsewhere
 * ([store] audit_key) is not copied. 0, or -1 with err.
 */
static int
backup_key(struct store *st, const char *path, char *err, size_t errlen)
{
	char *beside = xasprintf("%s.audit-key", st->path), *dst = NULL;
	char text[512];
	ssize_t n;
	int in = -1, out = -1, rc = -1;

	if (st->key_path == NULL || strcmp(st->key_path, beside) != 0 ||
	    !st->key_loaded) {
		free(beside);
		return 0;
	}
	dst = xasprintf("%s.audit-key", path);
	in = open(beside, O_RDONLY | O_CLOEXEC);
	n = in < 0 ? -1 : read(in, text, sizeof(text));
	if (n <= 0) {
		snprintf(err, errlen, "%s: %s", beside,
			 n == 0 ? "empty" : strerror(errno));
		goto out;
	}
	unlink(dst); /* a stale key of an earlier copy */
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0 || write(out, text, (size_t)n) != n || fsync(out) < 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		goto out;
	}
	if (store_file_mode(st, dst, out, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(text, sizeof(text));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc < 0 && out >= 0)
		unlink(dst);
	free(beside);
	free(dst);
	return rc;
}

int
store_backup(struct store *st, const char *path, char *err, size_t errlen)
{
	char tmp[4096], dir[4096], *slash;
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	struct stat sb;
	mode_t old;
	int rc = -1, made = 0, step;

	if (st->pg != NULL) {
		snprintf(err, errlen,
			 "%s: a PostgreSQL store is backed up by the server "
			 "(pg_dump, or base backups with WAL archiving); the "
			 "audit key is backed up apart",
			 st->path);
		return -1;
	}
	if (stat(path, &sb) == 0) {
		snprintf(err, errlen, "%s: already exists; not overwritten",
			 path);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.partial-%ld", path, (long)getpid());
	unlink(tmp);
	/*
	 * The backup API in one step copies every page under one read
	 * transaction: writers go on (WAL), and unlike a step-wise copy a
	 * write never restarts it. Files are created 0600: the copy holds
	 * what the database holds.
	 */
	old = umask(077);
	made = 1;
	if (sqlite3_open_v2(tmp, &dst,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		umask(old);
		snprintf(err, errlen, "%s: %s", tmp,
			 dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	umask(old);
	b = sqlite3_backup_init(dst, "main", st->db, "main");
	if (b == NULL) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	step = sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK || step != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", path,
			 step == SQLITE_BUSY || step == SQLITE_LOCKED
			     ? "the database is locked; try again"
			     : sqlite3_errmsg(dst));
		goto out;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	dst = NULL;
	rc = -1;
	if (store_file_mode(st, tmp, -1, err, errlen) < 0 ||
	    backup_finish_copy(tmp, st, store_now(st), err, errlen) < 0)
		goto out;
	if (fsync_path(tmp, O_RDONLY) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	made = 0;
	if (backup_key(st, path, err, errlen) < 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fsync_path(dir, O_RDONLY | O_DIRECTORY);
	rc = 0;
out:
	sqlite3_close(dst);
	if (made) {
		char side[4160];

		unlink(tmp);
		snprintf(side, sizeof(side), "%s-journal", tmp);
		unlink(side);
		snprintf(side, sizeof(side), "%s-wal", tmp);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", tmp);
		unlink(side);
	}
	return rc;
}

/* ---- leader and standbys on PostgreSQL ---- */

struct store_leader {
	struct pg *pg; /* the lock's own session, or NULL until (re)opened */
	char *url;
	int leading;
};

/*
 * The lock session: its own connection, with keepalives on both ends so
 * that the server ends the session of a gateway whose machine died
 * within seconds (releasing the lock), and a call on it never blocks the
 * loop for long when the server is gone.
 */
static struct pg *
leader_session(const char *url, char *err, size_t errlen)
{
	struct pg *pg = pg_open_opts(url, PG_SESSION_WATCHED, err, errlen);

	if (pg != NULL &&
	    pg_script(pg, "SET tcp_keepalives_idle = 3; SET "
			  "tcp_keepalives_interval = 2; SET "
			  "tcp_keepalives_count = 2; SET statement_timeout = "
			  "5000") < 0) {
		snprintf(err, errlen, "lock session: %s", pg_errmsg(pg));
		pg_close(pg);
		return NULL;
	}
	return pg;
}

struct store_leader *
store_leader_open(struct store *st, char *err, size_t errlen)
{
	struct store_leader *l;

	if (st->pg == NULL)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->url = xstrdup(st->url);
	l->pg = leader_session(l->url, err, errlen);
	if (l->pg == NULL) {
		store_leader_close(l);
		return NULL;
	}
	return l;
}

int
store_leader_poll(struct store_leader *l)
{
	struct pg_stmt *s;
	char err[256];
	int rc = -1;

	if (l->pg == NULL) {
		if (l->leading)
			return -1; /* the lock went with its session */
		l->pg = leader_session(l->url, err, sizeof(err));
		if (l->pg == NULL) {
			log_warnx("standby: %s", err);
			return 0;
		}
	}
	/* the leader only checks that its session, and so the lock, lives */
	s = pg_prepare(l->pg,
		       l->leading
			   ? "SELECT 1"
			   : "SELECT pg_try_advisory_lock(" STORE_PG_LOCK_LEADER
			     ")",
		       NULL);
	if (s != NULL && pg_step(s) == DB_ROW)
		rc = l->leading ? 1 : pg_col_int(s, 0) != 0;
	pg_finish(l->pg, s);
	if (rc < 0) {
		log_warnx("%s: the lock session failed: %s",
			  l->leading ? "leader" : "standby", pg_errmsg(l->pg));
		pg_close(l->pg);
		l->pg = NULL;
		if (!l->leading)
			rc = 0;
	}
	if (rc == 1)
		l->leading = 1;
	return rc;
}

void
store_leader_close(struct store_leader *l)
{
	if (l == NULL)
		return;
	pg_close(l->pg); /* ends the session: the lock is free at once */
	if (l->url != NULL) {
		OPENSSL_cleanse(l->url, strlen(l->url));
		free(l->url);
	}
	free(l);
}

int64_t
store_leader_epoch(struct store *st)
{
	int64_t epoch = 0;

	if (st->pg == NULL)
		return 0;
	if (store_begin(st) < 0)
		return -1;
	if (db_int(st, &epoch,
		   "INSERT INTO settings(key, value) VALUES ('leader_epoch', "
		   "'1') ON CONFLICT(key) DO UPDATE SET value = CAST(CAST("
		   "settings.value AS BIGINT) + 1 AS TEXT) RETURNING CAST("
		   "value AS BIGINT)",
		   NULL) != 1 ||
	    store_audit(st, "system", "leader.takeover", "store", NULL) < 0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		return -1;
	}
	return epoch;
}

int
store_outbox_claim(struct store *st, int64_t epoch, int64_t now, int limit)
{
	if (st->pg == NULL || epoch <= 0)
		return 0;
	/*
	 * Committed before anything is sent; rows another transaction holds
	 * are skipped, not waited for.
	 */
	return db_exec(st,
		       "UPDATE outbox_delivery SET claimed = ? WHERE id IN ("
		       "SELECT id FROM outbox_delivery WHERE status = "
		       "'pending' AND next_at <= ? AND claimed < ? ORDER BY "
		       "next_at, id LIMIT ? FOR UPDATE SKIP LOCKED)",
		       "iiii", epoch, now, epoch, (int64_t)limit) < 0
		   ? -1
		   : 0;
}

int
store_connected(const struct store *st)
{
	return st->pg == NULL || pg_connected(st->pg);
}

char *
sql_quoted(const char *name)
{
	struct buf b = {0};

	buf_putc(&b, '"');
	for (; *name; name++) {
		if (*name == '"')
			buf_putc(&b, '"');
		buf_putc(&b, *name);
	}
	buf_putc(&b, '"');
	return buf_steal(&b);
}
