/*
 * PostgreSQL statements on libpq with the store's conventions (pg.h).
 */
#include "pg.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"
#include "../base/util.h"
#include "store.h"

#define PG_STMT_CACHE 512
#define PG_MAX_PARAMS 100
/* pg_type.oid values (catalog/pg_type_d.h) */
#define PG_BOOLOID    16
#define PG_BYTEAOID   17
#define PG_INT8OID    20
#define PG_INT2OID    21
#define PG_INT4OID    23
#define PG_TEXTOID    25
#define PG_FLOAT4OID  700
#define PG_FLOAT8OID  701
#define PG_NUMERICOID 1700

struct pg_stmt {
	struct pg *pg;
	const char *key; /* the caller's SQL text pointer (static strings) */
	char *sql;	 /* a copy of it, compared too */
	char *text;	 /* the SQL with $n parameters */
	char name[24];	 /* the server-side name, "" when not prepared */
	int cached, busy;
	int nparams;
	Oid types[PG_MAX_PARAMS];
	const char *vals[PG_MAX_PARAMS]; /* NULL binds NULL */
	char *owned[PG_MAX_PARAMS];	 /* copies of bound texts */
	char ints[PG_MAX_PARAMS][24];	 /* bound integers as text */
	PGresult *res;			 /* NULL until the first pg_step */
	int nrows, next, cur;
};

struct pg {
	PGconn *conn;
	struct pg_stmt *cache[PG_STMT_CACHE];
	unsigned prepared; /* statements prepared on the server */
	char err[512];
	char sqlstate[6];
};

static void
pg_fail(struct pg *pg, const PGresult *res)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";
	const char *state =
	    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(pg->conn);
	snprintf(pg->err, sizeof(pg->err), "%s", msg);
	n = strlen(pg->err);
	while (n > 0 && (pg->err[n - 1] == '\n' || pg->err[n - 1] == ' '))
		pg->err[--n] = '\0';
	/* no SQLSTATE: the connection itself failed (class 08) */
	snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s",
		 state ? state : "08006");
}

static void
pg_ok(struct pg *pg)
{
	pg->err[0] = '\0';
	pg->sqlstate[0] = '\0';
}

struct pg *
pg_open(const char *url, char *err, size_t errlen)
{
	return pg_open_opts(url, 0, err, errlen);
}

struct pg *
pg_open_opts(const char *url, int flags, char *err, size_t errlen)
{
	/* the URL's own parameters, then these (they win) */
	static const char *const kw[] = {
	    "dbname",		"keepalives",
	    "keepalives_idle",	"keepalives_interval",
	    "keepalives_count", "tcp_user_timeout",
	    "connect_timeout",	NULL};
	const char *val[] = {url, "1", "3", "2", "2", "8000", "5", NULL};
	struct pg *pg = xcalloc(1, sizeof(*pg));
	PGresult *res;

	if (flags & PG_SESSION_WATCHED)
		pg->conn = PQconnectdbParams(kw, val, 1);
	else
		pg->conn = PQconnectdb(url);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect to the database: %s",
			 PQerrorMessage(pg->conn));
		pg_close(pg);
		return NULL;
	}
	/* the texts the store compares are UTF-8 and its times UTC */
	res = PQexec(pg->conn, "SET client_encoding = 'UTF8'; "
			       "SET TIME ZONE 'UTC'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "database session: %s",
			 PQresultErrorMessage(res));
		PQclear(res);
		pg_close(pg);
		return NULL;
	}
	PQclear(res);
	return pg;
}

static void
stmt_unbind(struct pg_stmt *s)
{
	int i;

	for (i = 0; i < PG_MAX_PARAMS; i++) {
		free(s->owned[i]);
		s->owned[i] = NULL;
		s->vals[i] = NULL;
	}
	PQclear(s->res);
	s->res = NULL;
	s->nrows = s->next = s->cur = 0;
}

static void
stmt_free(struct pg_stmt *s)
{
	if (s == NULL)
		return;
	stmt_unbind(s);
	free(s->sql);
	free(s->text);
	free(s);
}

void
pg_close(struct pg *pg)
{
	size_t i;

	if (pg == NULL)
		return;
	for (i = 0; i < PG_STMT_CACHE; i++)
		stmt_free(pg->cache[i]);
	PQfinish(pg->conn);
	free(pg);
}

char *
pg_translate(const char *sql, int *nparams)
{
	struct buf b = {0};
	const char *p = sql;
	int max = 0;

	while (*p) {
		if (*p == '\'' || *p == '"') {
			/* a literal or quoted name: doubled quotes stay in */
			char q = *p;

			buf_putc(&b, *p++);
			while (*p && *p != q)
				buf_putc(&b, *p++);
			if (*p)
				buf_putc(&b, *p++);
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				buf_putc(&b, *p++);
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			size_t n = end ? (size_t)(end + 2 - p) : strlen(p);

			buf_add(&b, p, n);
			p += n;
		} else if (*p == '?') {
			/* ?NNN is parameter NNN; ? is one past the largest */
			int n = 0;

			p++;
			if (*p >= '0' && *p <= '9') {
				/* all digits go; a number past any limit stays
				 * past it (prepare refuses it) */
				for (; *p >= '0' && *p <= '9'; p++)
					if (n < 1000000)
						n = n * 10 + (*p - '0');
			} else {
				n = max + 1;
			}
			if (n > max)
				max = n;
			buf_printf(&b, "$%d", n);
		} else {
			buf_putc(&b, *p++);
		}
	}
	*nparams = max;
	return buf_steal(&b);
}

static int
bind_va(struct pg_stmt *s, const char *fmt, va_list ap)
{
	int i;

	stmt_unbind(s);
	for (i = 0; fmt && fmt[i]; i++) {
		if (i >= s->nparams)
			return -1; /* more values than parameters */
		switch (fmt[i]) {
		case 'i':
			snprintf(s->ints[i], sizeof(s->ints[i]), "%lld",
				 (long long)va_arg(ap, int64_t));
			s->vals[i] = s->ints[i];
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);

			s->owned[i] = t ? xstrdup(t) : NULL;
			s->vals[i] = s->owned[i];
			break;
		}
		case 'n':
			s->vals[i] = NULL;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

static struct pg_stmt **
cache_slot(struct pg *pg, const char *sql, int *found)
{
	size_t h = ((uintptr_t)sql >> 3) % PG_STMT_CACHE, i;

	*found = 0;
	for (i = 0; i < 8; i++) {
		struct pg_stmt **e = &pg->cache[(h + i) % PG_STMT_CACHE];

		if (*e == NULL)
			return e;
		if ((*e)->key == sql && strcmp((*e)->sql, sql) == 0) {
			*found = 1;
			return e;
		}
	}
	return NULL;
}

/*
 * A failure that typed parameters may avoid: a parameter whose type the
 * server cannot infer (?1 IS NULL), or an operator or function that has
 * none for the inferred type.
 */
static int
types_may_help(const char *state)
{
	return strcmp(state, "42P18") == 0 || strcmp(state, "42P08") == 0 ||
	       strcmp(state, "42725") == 0 || strcmp(state, "42883") == 0 ||
	       strcmp(state, "42804") == 0;
}

/* PQprepare of s with types (NULL: all inferred). 0 or -1 (pg->err). */
static int
prepare_as(struct pg_stmt *s, const Oid *types)
{
	struct pg *pg = s->pg;
	PGresult *res;
	int ok;

	res = PQprepare(pg->conn, s->name, s->text, s->nparams, types);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		pg_fail(pg, res);
	PQclear(res);
	return ok ? 0 : -1;
}

/* A statement with no result: 0 or -1 (pg->err). */
static int
run_plain(struct pg *pg, const char *sql)
{
	PGresult *res = PQexec(pg->conn, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		pg_fail(pg, res);
	PQclear(res);
	return ok ? 0 : -1;
}

/*
 * Prepares s on the server. Its parameters are first left for the
 * server to type from their context, as SQLite takes a value's type
 * from the column it meets ('7' for an integer column is 7); where the
 * server cannot tell, they take the binds' types ('i' int8, 't' text).
 * Inside a transaction a failed attempt would abort it, so the first
 * attempt runs under a savepoint of its own.
 */
static int
stmt_prepare(struct pg_stmt *s)
{
	struct pg *pg = s->pg;
	int in_tx = PQtransactionStatus(pg->conn) == PQTRANS_INTRANS, rc;
	char state[6];

	if (in_tx && run_plain(pg, "SAVEPOINT isms_prepare") < 0)
		return -1;
	rc = prepare_as(s, NULL);
	if (rc == 0) {
		if (in_tx && run_plain(pg, "RELEASE isms_prepare") < 0)
			return -1;
		return 0;
	}
	snprintf(state, sizeof(state), "%s", pg->sqlstate);
	if (in_tx && run_plain(pg, "ROLLBACK TO isms_prepare; "
				   "RELEASE isms_prepare") < 0)
		return -1;
	if (!types_may_help(state)) {
		/* the first failure is the one to report */
		return -1;
	}
	return prepare_as(s, s->types);
}

static struct pg_stmt *
stmt_new(struct pg *pg, const char *sql, const char *fmt, int cache)
{
	struct pg_stmt *s = xcalloc(1, sizeof(*s));
	int i;

	s->pg = pg;
	s->key = sql;
	s->sql = xstrdup(sql);
	s->text = pg_translate(sql, &s->nparams);
	if (s->nparams > PG_MAX_PARAMS) {
		log_error("sql prepare: more than %d parameters",
			  PG_MAX_PARAMS);
		stmt_free(s);
		return NULL;
	}
	for (i = 0; i < s->nparams; i++) {
		char c = fmt && i < (int)strlen(fmt) ? fmt[i] : 'n';

		s->types[i] = c == 'i' ? PG_INT8OID : PG_TEXTOID;
	}
	if (cache) {
		snprintf(s->name, sizeof(s->name), "isms%u", pg->prepared);
		if (stmt_prepare(s) < 0) {
			log_error("sql prepare: %s", pg->err);
			stmt_free(s);
			return NULL;
		}
		pg->prepared++;
		s->cached = 1;
	}
	return s;
}

static struct pg_stmt *
prepare_va(struct pg *pg, int once, const char *sql, const char *fmt,
	   va_list ap)
{
	struct pg_stmt **e = NULL, *s;
	int found = 0;

	if (!once)
		e = cache_slot(pg, sql, &found);
	if (e != NULL && found && !(*e)->busy) {
		s = *e;
	} else {
		/* a statement in use, or a full cache: one not kept */
		s = stmt_new(pg, sql, fmt, e != NULL && !found);
		if (s == NULL)
			return NULL;
		if (s->cached)
			*e = s;
	}
	s->busy = 1;
	if (bind_va(s, fmt, ap) < 0) {
		log_error("sql bind: %zu values for %d parameters",
			  fmt ? strlen(fmt) : 0, s->nparams);
		pg_finish(pg, s);
		return NULL;
	}
	return s;
}

struct pg_stmt *
pg_prepare(struct pg *pg, const char *sql, const char *fmt, ...)
{
	struct pg_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = prepare_va(pg, 0, sql, fmt, ap);
	va_end(ap);
	return s;
}

struct pg_stmt *
pg_prepare_va(struct pg *pg, int once, const char *sql, const char *fmt,
	      va_list ap)
{
	return prepare_va(pg, once, sql, fmt, ap);
}

int
pg_rebind(struct pg_stmt *s, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bind_va(s, fmt, ap);
	va_end(ap);
	return rc;
}

void
pg_finish(struct pg *pg, struct pg_stmt *s)
{
	(void)pg;
	if (s == NULL)
		return;
	if (s->cached) {
		stmt_unbind(s);
		s->busy = 0;
		return;
	}
	stmt_free(s);
}

/* Runs the statement: 0, or -1 with the failure on the connection. */
static int
stmt_run(struct pg_stmt *s)
{
	struct pg *pg = s->pg;
	ExecStatusType st;

	s->res = s->cached ? PQexecPrepared(pg->conn, s->name, s->nparams,
					    s->vals, NULL, NULL, 0)
			   : PQexecParams(pg->conn, s->text, s->nparams,
					  s->types, s->vals, NULL, NULL, 0);
	st = PQresultStatus(s->res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		pg_fail(pg, s->res);
		PQclear(s->res);
		s->res = NULL;
		return -1;
	}
	pg_ok(pg);
	s->nrows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
	s->next = 0;
	return 0;
}

int
pg_step(struct pg_stmt *s)
{
	if (s->res == NULL && stmt_run(s) < 0)
		return DB_ERROR;
	if (s->next >= s->nrows)
		return DB_DONE;
	s->cur = s->next++;
	return DB_ROW;
}

static int
col_ok(const struct pg_stmt *s, int col)
{
	return s->res != NULL && s->cur < s->nrows && col >= 0 &&
	       col < PQnfields(s->res);
}

int
pg_col_null(struct pg_stmt *s, int col)
{
	return !col_ok(s, col) || PQgetisnull(s->res, s->cur, col);
}

const char *
pg_col_text(struct pg_stmt *s, int col)
{
	if (pg_col_null(s, col))
		return NULL;
	return PQgetvalue(s->res, s->cur, col);
}

const char *
pg_col(struct pg_stmt *s, int col)
{
	const char *t = pg_col_text(s, col);

	return t ? t : "";
}

int64_t
pg_col_int(struct pg_stmt *s, int col)
{
	const char *t = pg_col_text(s, col);

	if (t == NULL)
		return 0;
	/* booleans (a comparison in the select list) read as SQLite's */
	if (strcmp(t, "t") == 0)
		return 1;
	if (strcmp(t, "f") == 0)
		return 0;
	/* like sqlite3_column_int64: the leading integer, 2.5 reads 2 */
	return (int64_t)strtoll(t, NULL, 10);
}

int
pg_exec(struct pg *pg, const char *sql, const char *fmt, ...)
{
	struct pg_stmt *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	s = prepare_va(pg, 0, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	if (stmt_run(s) < 0) {
		log_error("sql: %s", pg->err);
		pg_finish(pg, s);
		return -1;
	}
	n = atoi(PQcmdTuples(s->res));
	pg_finish(pg, s);
	return n;
}

int64_t
pg_last_id(struct pg *pg)
{
	struct pg_stmt *s = pg_prepare(pg, "SELECT isms_lastval()", NULL);
	int64_t id = 0;

	if (s != NULL && pg_step(s) == DB_ROW)
		id = pg_col_int(s, 0);
	pg_finish(pg, s);
	return id;
}

const char *
pg_errmsg(const struct pg *pg)
{
	return pg->err;
}

const char *
pg_sqlstate(const struct pg *pg)
{
	return pg->sqlstate;
}

int
pg_busy(const struct pg *pg)
{
	/* lock_not_available, serialization_failure, deadlock_detected */
	return strcmp(pg->sqlstate, "55P03") == 0 ||
	       strcmp(pg->sqlstate, "40001") == 0 ||
	       strcmp(pg->sqlstate, "40P01") == 0;
}

unsigned
pg_prepared_count(const struct pg *pg)
{
	return pg->prepared;
}

/* A result's shape is known once the statement has run: it runs now. */
static int
stmt_described(struct pg_stmt *s)
{
	return s->res != NULL || stmt_run(s) == 0;
}

int
pg_col_count(struct pg_stmt *s)
{
	return stmt_described(s) ? PQnfields(s->res) : 0;
}

const char *
pg_col_name(struct pg_stmt *s, int col)
{
	const char *n = stmt_described(s) ? PQfname(s->res, col) : NULL;

	return n ? n : "";
}

void
pg_reset(struct pg_stmt *s)
{
	s->next = s->cur = 0;
}

enum pg_coltype
pg_col_type(struct pg_stmt *s, int col)
{
	if (pg_col_null(s, col))
		return PG_COL_NULL;
	switch (PQftype(s->res, col)) {
	case PG_BOOLOID:
	case PG_INT2OID:
	case PG_INT4OID:
	case PG_INT8OID:
		return PG_COL_INTEGER;
	case PG_FLOAT4OID:
	case PG_FLOAT8OID:
	case PG_NUMERICOID:
		return PG_COL_FLOAT;
	default:
		return PG_COL_TEXT;
	}
}

double
pg_col_double(struct pg_stmt *s, int col)
{
	const char *t = pg_col_text(s, col);

	return t ? strtod(t, NULL) : 0.0;
}

int
pg_col_len(struct pg_stmt *s, int col)
{
	return pg_col_null(s, col) ? 0 : PQgetlength(s->res, s->cur, col);
}

int
pg_script(struct pg *pg, const char *sql)
{
	PGresult *res = PQexec(pg->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (ok)
		pg_ok(pg);
	else
		pg_fail(pg, res);
	PQclear(res);
	return ok ? 0 : -1;
}

int
pg_in_failed_tx(const struct pg *pg)
{
	return PQtransactionStatus(pg->conn) == PQTRANS_INERROR;
}

int
pg_in_tx(const struct pg *pg)
{
	PGTransactionStatusType t = PQtransactionStatus(pg->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

int
pg_connected(const struct pg *pg)
{
	return PQstatus(pg->conn) == CONNECTION_OK;
}

int
pg_rebind_va(struct pg_stmt *s, const char *fmt, va_list ap)
{
	return bind_va(s, fmt, ap);
}

int
pg_changes(struct pg_stmt *s)
{
	return s->res ? atoi(PQcmdTuples(s->res)) : 0;
}

char *
pg_url_label(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	const char *user = NULL, *host = NULL, *port = NULL, *db = NULL;
	char *label;

	if (opts == NULL)
		return xstrdup("postgresql://(unreadable URL)");
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	/* never the password, nor options that may carry secrets */
	label = xasprintf("postgresql://%s%s%s%s%s/%s", user ? user : "",
			  user ? "@" : "", host && *host != '/' ? host : "",
			  port ? ":" : "", port ? port : "", db ? db : "");
	PQconninfoFree(opts);
	return label;
}

void
pg_abort(struct pg *pg)
{
	PQclear(PQexec(pg->conn, "ROLLBACK"));
}
