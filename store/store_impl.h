/*
 * The store's insides, shared by the files of store/ only: the SQLite
 * connection, the statement cache, the clock and the evidence state.
 * Nothing outside store/ includes this header; the rest of the program
 * sees struct store and struct db_stmt as opaque types (store.h).
 */
#ifndef ISMS_STORE_IMPL_H
#define ISMS_STORE_IMPL_H

#include <sqlite3.h>

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
	sqlite3 *db;
	struct store_stmt cache[STORE_STMT_CACHE]; /* prepared statements */
	/*
	 * The cached statements by their handle (open addressing, 1 + an
	 * index into cache, 0 empty), for db_finish.
	 */
	short by_stmt[2 * STORE_STMT_CACHE];
	char *path;
	int depth; /* open transactions: 1 = BEGIN, more = savepoints */
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
 * A struct db_stmt is an sqlite3_stmt under another name: the casts cost
 * nothing, and callers outside store/ cannot reach the engine through it.
 */
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

#endif
