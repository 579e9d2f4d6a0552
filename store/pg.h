/*
 * PostgreSQL statements with the store's calling conventions: the same
 * typed binds, row cursor and column readers as db_prepare, db_step and
 * db_col_* in store.h, on a libpq connection. Only store/ uses it.
 *
 * SQL is written as for SQLite: '?' and '?NNN' parameters become $n
 * (quoted text and identifiers are left alone). Each SQL text is
 * prepared once per connection (PQprepare) and cached by its pointer
 * and text, as store.c caches SQLite statements. Results come in text
 * format; a whole result is fetched at the first pg_step.
 *
 * Parameter types: the server takes each one's type from its context,
 * as SQLite takes a value's from the column it meets; where it cannot
 * (?1 IS NULL), 'i' is sent as int8 and 't' as text. The types are
 * fixed when the statement is first prepared.
 */
#ifndef ISMS_STORE_PG_H
#define ISMS_STORE_PG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct pg;
struct pg_stmt;

/* Connects to url (a libpq URL or key=value string). NULL with err. */
struct pg *pg_open(const char *url, char *err, size_t errlen);
void pg_close(struct pg *pg);
/*
 * pg_open with flags: PG_SESSION_WATCHED adds TCP keepalives (3 s idle,
 * 2 probes 2 s apart), an 8 s bound on unacknowledged sends and a 5 s
 * connect timeout, so a dead peer is seen within seconds.
 */
#define PG_SESSION_WATCHED 1
struct pg *pg_open_opts(const char *url, int flags, char *err, size_t errlen);

/*
 * Translates SQLite-style parameters into PostgreSQL's: a new string
 * (caller frees); *nparams is the highest parameter number used.
 */
char *pg_translate(const char *sql, int *nparams);

/* As db_prepare: a statement borrowed until pg_finish, or NULL (logged). */
struct pg_stmt *pg_prepare(struct pg *pg, const char *sql, const char *fmt,
			   ...);
/* pg_prepare with a va_list; once: not cached, pg_finish frees it */
struct pg_stmt *pg_prepare_va(struct pg *pg, int once, const char *sql,
			      const char *fmt, va_list ap);
/* As db_rebind: forgets the result and binds anew. 0 or -1. */
int pg_rebind(struct pg_stmt *s, const char *fmt, ...);
/* DB_ROW, DB_DONE or DB_ERROR (enum db_step_result in store.h). */
int pg_step(struct pg_stmt *s);
/* NULL reads as 0, a boolean as 1 or 0. */
int64_t pg_col_int(struct pg_stmt *s, int col);
const char *pg_col(struct pg_stmt *s, int col);	     /* never NULL: "" */
const char *pg_col_text(struct pg_stmt *s, int col); /* NULL for NULL */
int pg_col_null(struct pg_stmt *s, int col);
/* Returns s to the cache (or frees it); NULL is ignored. */
void pg_finish(struct pg *pg, struct pg_stmt *s);

/* Runs a statement; the rows it changed, or -1 (logged). */
int pg_exec(struct pg *pg, const char *sql, const char *fmt, ...);
/* The value of the session's last identity/sequence draw (lastval()). */
int64_t pg_last_id(struct pg *pg);

/* The last failure: the server's text and SQLSTATE ("" when none). */
const char *pg_errmsg(const struct pg *pg);
const char *pg_sqlstate(const struct pg *pg);
/* 1 when the last failure was a lock or a conflict worth a retry. */
int pg_busy(const struct pg *pg);
/* Statements prepared on the server so far (each SQL text once). */
unsigned pg_prepared_count(const struct pg *pg);

/* The shape of a result (after the first pg_step) and typed values. */
enum pg_coltype {
	PG_COL_NULL,
	PG_COL_INTEGER,
	PG_COL_FLOAT,
	PG_COL_TEXT,
};
/* the shape is known before the first pg_step: asking runs the statement */
int pg_col_count(struct pg_stmt *s);
/* back to before the first row of the result */
void pg_reset(struct pg_stmt *s);
const char *pg_col_name(struct pg_stmt *s, int col);
enum pg_coltype pg_col_type(struct pg_stmt *s, int col);
double pg_col_double(struct pg_stmt *s, int col);
int pg_col_len(struct pg_stmt *s, int col);

int pg_rebind_va(struct pg_stmt *s, const char *fmt, va_list ap);
/* Rows the statement changed (after pg_step). */
int pg_changes(struct pg_stmt *s);
/*
 * The URL for messages: postgresql://user@host:port/dbname, without the
 * password or any other parameter (a new string, caller frees).
 */
char *pg_url_label(const char *url);

/* Rolls the open transaction back, keeping the last failure. */
void pg_abort(struct pg *pg);
/* Statements without parameters, several at once: 0 or -1. */
int pg_script(struct pg *pg, const char *sql);
/* A transaction is open / open and failed / the connection is up. */
int pg_in_tx(const struct pg *pg);
int pg_in_failed_tx(const struct pg *pg);
int pg_connected(const struct pg *pg);

#endif
