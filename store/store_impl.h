/*
 * The store's insides, shared by the files of store/ only: the SQLite
 * connection, the statement cache, the clock and the evidence state.
 * Nothing outside store/ includes this header; the rest of the program
 * sees struct store and struct db_stmt as opaque types (store.h).
 */
#ifndef ISMS_STORE_IMPL_H
#define ISMS_STORE_IMPL_H

#include <sqlite3.h>

#include "pg.h"
#include "store.h"

#define STORE_STMT_CACHE 512

struct store_stmt {
	const char *key; /* the caller's SQL text pointer (static strings) */
	char *sql;	 /* a copy, compared too */
	sqlite3_stmt *s;
	int busy;
};

/* A record table whose rows carry a keyed hash (store/evidence.c). */
struct store_rtable;
struct store_rowref {
	int t; /* index into rtables */
	int64_t row;
};

struct store {
	sqlite3 *db;   /* SQLite, or NULL on PostgreSQL */
	struct pg *pg; /* PostgreSQL ([store] url), or NULL on SQLite */
	struct store_stmt cache[STORE_STMT_CACHE]; /* prepared statements */
	/*
	 * The cached statements by their handle (open addressing, 1 + an
	 * index into cache, 0 empty), for db_finish.
	 */
	short by_stmt[2 * STORE_STMT_CACHE];
	char *path; /* the file, or the URL without its secrets */
	char *url;  /* PostgreSQL: the URL as given (a secret: never shown) */
	int depth;  /* open transactions: 1 = BEGIN, more = savepoints */
	int64_t (*now)(void *arg); /* clock; tests replace it */
	void *now_arg;
	int64_t held_now;   /* store_hold_time's instant, or 0 */
	int readonly;	    /* opened with STORE_READONLY */
	int lock_fd;	    /* store_lock_exclusive's lock file, or -1 */
	int64_t schema;	    /* migrations the file has applied */
	int schema_missing; /* the first embedded one it lacks, or -1 */
	int64_t as_of;	    /* a simulated instant noted in audit rows, or 0 */
	int clock_warned;   /* a clock behind the audit log was logged */
	unsigned fmode;	    /* mode of the files it makes: 0600 or 0640 */
	int has_group;	    /* its files go to group gid */
	unsigned gid;
	char *group;  /* the group's name, for messages */
	int large_tx; /* store_large_tx: the cache is large until the end */
	int pg_ro_savepoint; /* store_query_only's savepoint is open */

	/* the audit key (store/evidence.c) */
	int key_loaded;
	unsigned char key[32];
	int64_t key_since; /* first sequence number written with it */
	char *key_path;	   /* its file, or NULL (env:, :memory:) */
	char *key_label;   /* where it is, for messages */
	char *key_problem; /* why a read-only store has no key, or NULL */
	int key_create;	   /* missing: made once the schema is current */
	int has_keyed;	   /* audit_log has its keyed column: 1, 0, -1 */
	struct store_rtable *rtables; /* record tables */
	size_t nrtables;
	struct store_rowref *pending; /* rows written in this transaction */
	size_t npending, cappending, pending_base;
	struct buf scratch; /* serialised row being hashed */
	void *mac_ctx;	    /* EVP_MAC_CTX of the key, made on first use */
};

/*
 * Gives one of the store's files (the open fd, or path when fd is -1;
 * a missing path is fine) the store's mode and group. 0, or -1 with err
 * when the group cannot be given or the mode not set under a group.
 */
int store_file_mode(const struct store *st, const char *path, int fd, char *err,
		    size_t errlen);

/*
 * A struct db_stmt is an sqlite3_stmt or a struct pg_stmt under another
 * name: callers outside store/ cannot reach the engine through it. Both
 * come from malloc, so the lowest bit of the address is free: it is set
 * on PostgreSQL statements, and each db_* call picks its engine by it.
 * A tagged pointer is never dereferenced.
 */
static inline int
db_is_pg(const struct db_stmt *s)
{
	return ((uintptr_t)s & 1u) != 0;
}

static inline sqlite3_stmt *
db_raw(struct db_stmt *s)
{
	return (sqlite3_stmt *)s;
}

static inline struct db_stmt *
db_wrap(sqlite3_stmt *s)
{
	return (struct db_stmt *)s;
}

static inline struct pg_stmt *
db_raw_pg(struct db_stmt *s)
{
	return (struct pg_stmt *)((uintptr_t)s & ~(uintptr_t)1);
}

static inline struct db_stmt *
db_wrap_pg(struct pg_stmt *s)
{
	return s ? (struct db_stmt *)((uintptr_t)s | 1u) : NULL;
}

/* 1 on PostgreSQL */
static inline int
store_is_pg(const struct store *st)
{
	return st->pg != NULL;
}

/* A column's type in a row, as the record hashes tag it. */
enum db_type {
	DB_NULL,
	DB_INTEGER,
	DB_FLOAT,
	DB_TEXT,
	DB_BLOB,
};

/*
 * What store/ needs beyond store.h: statements not kept in the cache
 * (SQL built at run time; db_finish frees them), the shape of a result
 * and typed column values, several statements without parameters in
 * one call, and the engine's last error.
 */
struct db_stmt *db_prepare_once(struct store *st, const char *sql,
				const char *fmt, ...);
/* back to before the first row, the binds kept */
void db_reset(struct db_stmt *s);
/* known before the first db_step (on PostgreSQL that runs it) */
int db_col_count(struct db_stmt *s);
const char *db_col_name(struct db_stmt *s, int col);
enum db_type db_col_type(struct db_stmt *s, int col);
double db_col_double(struct db_stmt *s, int col);
/* the bytes of a text or blob column and their number */
const void *db_col_bytes(struct db_stmt *s, int col, int *len);
/* 0, or -1 with the engine's message in db_errmsg */
int db_script(struct store *st, const char *sql);
/* name as an SQL identifier in double quotes (a new string) */
char *sql_quoted(const char *name);

/*
 * Advisory locks on PostgreSQL, as the arguments of pg_advisory_lock(int,
 * int): what is locked, and the schema the store works in (locks are the
 * database's, and one database may hold several stores, one a schema).
 */
#define STORE_PG_LOCK(what)   what ", hashtext(current_schema())"
#define STORE_PG_LOCK_MIGRATE STORE_PG_LOCK("7310")
#define STORE_PG_LOCK_AUDIT   STORE_PG_LOCK("7311")
#define STORE_PG_LOCK_LEADER  STORE_PG_LOCK("7312")

#endif
