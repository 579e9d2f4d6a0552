/*
 * Copying an SQLite database into a PostgreSQL store (ismsctl migrate).
 *
 * The target is made by the store like any new one (the prelude, every
 * migration, the record triggers), then in one transaction emptied and
 * filled with the source's rows: each row becomes a JSON object (integers
 * as integers, reals as reals, texts as strings) and a batch of them one
 * INSERT through json_populate_recordset, which gives each value its
 * column's type. Tables go in the order their foreign keys need (read
 * from pg_constraint); a column referring to its own table (a manager)
 * is filled by a second pass. SQLite's hidden rowid goes into the
 * column that keeps it on PostgreSQL. The audit log and record_hashes
 * are rows like any other, so the chain and the hashes arrive as they
 * were; the rows the triggers noted are forgotten before COMMIT, so the
 * copied hashes stay the source's and "records verify" proves the copy.
 */
#include "copy.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"
#include "store_impl.h"

/* rows per INSERT, and the JSON text at which a batch goes early */
#define COPY_BATCH_ROWS	 500
#define COPY_BATCH_BYTES (4u * 1024 * 1024)

/* A table of the target. */
struct ctable {
	char *name;
	char *q;	/* quoted */
	int kept_rowid; /* has the column keeping SQLite's rowid */
	char *cols;	/* the columns written: quoted, not generated ones */
	char **self;	/* columns referring to the table itself */
	size_t nself;
	char *pk_match; /* "t.a = r.a AND ...", for the second pass */
	char **parents; /* tables its foreign keys refer to (others) */
	size_t nparents;
	int done;
	int64_t rows;
};

struct copy {
	struct store *src, *dst;
	struct ctable *t;
	size_t n;
	char *err;
	size_t errlen;
};

static void
strv_add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static int
strv_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
tables_free(struct copy *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->t[i].name);
		free(c->t[i].q);
		free(c->t[i].cols);
		strv_free(c->t[i].self, c->t[i].nself);
		free(c->t[i].pk_match);
		strv_free(c->t[i].parents, c->t[i].nparents);
	}
	free(c->t);
	c->t = NULL;
	c->n = 0;
}

static struct ctable *
table_find(struct copy *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->t[i].name, name) == 0)
			return &c->t[i];
	return NULL;
}

static int
fail_db(struct copy *c, struct store *st, const char *what)
{
	snprintf(c->err, c->errlen, "%s: %s: %s", store_path(st), what,
		 db_errmsg(st));
	return -1;
}

/* The target's tables in name order. */
static int
target_tables(struct copy *c)
{
	struct db_stmt *s;
	int rc;

	s = db_prepare(c->dst,
		       "SELECT table_name FROM information_schema.tables "
		       "WHERE table_schema = current_schema() AND table_type "
		       "= 'BASE TABLE' ORDER BY table_name COLLATE \"C\"",
		       NULL);
	if (s == NULL)
		return fail_db(c, c->dst, "cannot list the tables");
	while ((rc = db_step(s)) == DB_ROW) {
		c->t = xrealloc(c->t, (c->n + 1) * sizeof(*c->t));
		memset(&c->t[c->n], 0, sizeof(*c->t));
		c->t[c->n].name = xstrdup(db_col(s, 0));
		c->t[c->n].q = sql_quoted(db_col(s, 0));
		c->n++;
	}
	db_finish(c->dst, s);
	if (rc != DB_DONE)
		return fail_db(c, c->dst, "cannot list the tables");
	return 0;
}

/*
 * One table's columns: the target's (but its rowid column) are the
 * source's; which to write (t->cols) and whether the rowid is kept.
 */
static int
compare_columns(struct copy *c, struct ctable *t)
{
	struct db_stmt *s;
	struct buf cols = {0};
	char **src_cols = NULL, *sql;
	size_t nsrc = 0, ndst = 0;
	int rc = DB_ERROR, k;

	sql = xasprintf("SELECT * FROM %s LIMIT 0", t->q);
	s = db_prepare_once(c->src, sql, NULL);
	free(sql);
	if (s == NULL)
		return fail_db(c, c->src, t->name);
	for (k = 0; k < db_col_count(s); k++)
		strv_add(&src_cols, &nsrc, db_col_name(s, k));
	db_finish(c->src, s);
	s = db_prepare(c->dst,
		       "SELECT column_name, column_name = 'rowid' AND "
		       "is_identity = 'YES', is_generated <> 'NEVER' FROM "
		       "information_schema.columns WHERE table_schema = "
		       "current_schema() AND table_name = ? ORDER BY "
		       "ordinal_position",
		       "t", t->name);
	while (s != NULL && (rc = db_step(s)) == DB_ROW) {
		char *q = sql_quoted(db_col(s, 0));

		/* a generated column is computed again */
		if (!db_col_int(s, 2))
			buf_printf(&cols, "%s%s", cols.len ? ", " : "", q);
		free(q);
		if (db_col_int(s, 1)) {
			t->kept_rowid = 1;
			continue;
		}
		ndst++;
		if (!strv_has(src_cols, nsrc, db_col(s, 0))) {
			snprintf(c->err, c->errlen,
				 "%s: table %s has no column %.64s, which %s "
				 "has: the schemas differ",
				 store_path(c->src), t->name, db_col(s, 0),
				 store_path(c->dst));
			break;
		}
	}
	db_finish(c->dst, s);
	strv_free(src_cols, nsrc);
	if (rc == DB_DONE && ndst != nsrc) {
		snprintf(c->err, c->errlen,
			 "%s: table %s has %zu columns, %zu in %s: the schemas "
			 "differ",
			 store_path(c->src), t->name, nsrc, ndst,
			 store_path(c->dst));
		rc = DB_ROW;
	}
	if (rc == DB_DONE)
		t->cols = xstrdup(buf_str(&cols));
	buf_free(&cols);
	if (rc == DB_ERROR)
		return fail_db(c, c->dst, t->name);
	return rc == DB_DONE ? 0 : -1;
}

/* Source and target have the same tables with the same columns. */
static int
compare_schemas(struct copy *c)
{
	struct db_stmt *s;
	size_t i;
	int rc;

	s = db_prepare(c->src,
		       "SELECT name FROM sqlite_master WHERE type = 'table' "
		       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY "
		       "name",
		       NULL);
	if (s == NULL)
		return fail_db(c, c->src, "cannot list the tables");
	while ((rc = db_step(s)) == DB_ROW)
		if (table_find(c, db_col(s, 0)) == NULL) {
			snprintf(c->err, c->errlen,
				 "%s: table %.64s has no counterpart in %s",
				 store_path(c->src), db_col(s, 0),
				 store_path(c->dst));
			db_finish(c->src, s);
			return -1;
		}
	db_finish(c->src, s);
	if (rc != DB_DONE)
		return fail_db(c, c->src, "cannot list the tables");
	for (i = 0; i < c->n; i++) {
		if (store_has_table(c->src, c->t[i].name) != 1) {
			snprintf(c->err, c->errlen,
				 "%s: table %s of %s is missing there",
				 store_path(c->src), c->t[i].name,
				 store_path(c->dst));
			return -1;
		}
		if (compare_columns(c, &c->t[i]) < 0)
			return -1;
	}
	return 0;
}

/* "t.a = r.a AND t.b = r.b" over the primary key, or NULL when none. */
static char *
pk_match(struct copy *c, const struct ctable *t)
{
	struct db_stmt *s;
	struct buf b = {0};

	s = db_prepare(c->dst,
		       "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
		       "ON a.attrelid = i.indrelid AND a.attnum = "
		       "ANY(i.indkey) WHERE i.indrelid = "
		       "to_regclass(quote_ident(?)) AND i.indisprimary ORDER "
		       "BY a.attnum",
		       "t", t->name);
	if (s == NULL)
		return NULL;
	while (db_step(s) == DB_ROW) {
		char *q = sql_quoted(db_col(s, 0));

		buf_printf(&b, "%st.%s = r.%s", b.len ? " AND " : "", q, q);
		free(q);
	}
	db_finish(c->dst, s);
	return b.len ? buf_steal(&b) : NULL;
}

/*
 * The foreign keys: each table's parents, and the columns that refer to
 * their own table.
 */
static int
foreign_keys(struct copy *c)
{
	struct db_stmt *s;
	size_t i;
	int rc;

	s = db_prepare(
	    c->dst,
	    "SELECT a.relname, b.relname, k.attname FROM pg_constraint con "
	    "JOIN pg_class a ON a.oid = con.conrelid JOIN pg_class b ON b.oid "
	    "= con.confrelid JOIN pg_attribute k ON k.attrelid = con.conrelid "
	    "AND k.attnum = ANY(con.conkey) WHERE con.contype = 'f' AND "
	    "a.relnamespace = current_schema()::regnamespace ORDER BY 1, 2, 3",
	    NULL);
	if (s == NULL)
		return fail_db(c, c->dst, "cannot read the foreign keys");
	while ((rc = db_step(s)) == DB_ROW) {
		struct ctable *t = table_find(c, db_col(s, 0));
		const char *parent = db_col(s, 1);

		if (t == NULL)
			continue;
		if (strcmp(parent, t->name) == 0) {
			if (!strv_has(t->self, t->nself, db_col(s, 2)))
				strv_add(&t->self, &t->nself, db_col(s, 2));
		} else if (!strv_has(t->parents, t->nparents, parent)) {
			strv_add(&t->parents, &t->nparents, parent);
		}
	}
	db_finish(c->dst, s);
	if (rc != DB_DONE)
		return fail_db(c, c->dst, "cannot read the foreign keys");
	for (i = 0; i < c->n; i++) {
		struct ctable *t = &c->t[i];

		if (t->nself == 0)
			continue;
		t->pk_match = pk_match(c, t);
		if (t->pk_match == NULL) {
			snprintf(c->err, c->errlen,
				 "%s: table %s refers to itself but has no "
				 "primary key",
				 store_path(c->dst), t->name);
			return -1;
		}
	}
	return 0;
}

/* The next table whose parents are all copied, or NULL. */
static struct ctable *
next_table(struct copy *c)
{
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		struct ctable *t = &c->t[i];
		int ready = !t->done;

		for (k = 0; ready && k < t->nparents; k++) {
			struct ctable *p = table_find(c, t->parents[k]);

			ready = p == NULL || p->done;
		}
		if (ready)
			return t;
	}
	return NULL;
}

/* A source column's value as JSON (a new reference), or NULL. */
static json_t *
value_json(struct db_stmt *s, int col)
{
	switch (db_col_type(s, col)) {
	case DB_INTEGER:
		return json_integer((json_int_t)db_col_int(s, col));
	case DB_FLOAT:
		return json_real(db_col_double(s, col));
	case DB_TEXT: {
		int len;
		const char *p = db_col_bytes(s, col, &len);

		return json_stringn(p ? p : "", (size_t)(len > 0 ? len : 0));
	}
	case DB_BLOB: {
		/* bytea's hex input form */
		static const char hex[] = "0123456789abcdef";
		int len, i;
		const unsigned char *p = db_col_bytes(s, col, &len);
		struct buf b = {0};
		json_t *j;

		buf_puts(&b, "\\x");
		for (i = 0; i < len; i++) {
			buf_putc(&b, hex[p[i] >> 4]);
			buf_putc(&b, hex[p[i] & 15]);
		}
		j = json_string(buf_str(&b));
		buf_free(&b);
		return j;
	}
	default:
		return json_null();
	}
}

/* Runs sql on the target with one JSON array; 0 or -1 with err. */
static int
send_batch(struct copy *c, const struct ctable *t, const char *sql,
	   json_t *rows)
{
	char *text;
	struct db_stmt *s;
	int rc;

	if (json_array_size(rows) == 0)
		return 0;
	text = json_dumps(rows, JSON_COMPACT);
	json_array_clear(rows);
	if (text == NULL) {
		snprintf(c->err, c->errlen, "%s: cannot encode its rows",
			 t->name);
		return -1;
	}
	s = db_prepare_once(c->dst, sql, "t", text);
	free(text);
	rc = s == NULL ? DB_ERROR : db_step(s);
	db_finish(c->dst, s);
	if (rc == DB_ERROR) {
		snprintf(c->err, c->errlen, "%s: table %s: %s",
			 store_path(c->dst), t->name, db_errmsg(c->dst));
		return -1;
	}
	return 0;
}

/* One table's rows: its columns referring to itself in a second pass. */
static int
copy_table(struct copy *c, struct ctable *t)
{
	struct db_stmt *s;
	json_t *rows = json_array(), *later = json_array();
	char *sel, *ins, *upd = NULL;
	size_t bytes = 0;
	int64_t n = 0;
	int rc = DB_DONE, bad = 0, k, cols;

	sel = xasprintf("SELECT *%s FROM %s", t->kept_rowid ? ", rowid" : "",
			t->q);
	ins = xasprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s "
			"FROM json_populate_recordset(NULL::%s, CAST(? AS "
			"json))",
			t->q, t->cols, t->cols, t->q);
	if (t->nself > 0) {
		struct buf set = {0};
		size_t i;

		for (i = 0; i < t->nself; i++) {
			char *q = sql_quoted(t->self[i]);

			buf_printf(&set, "%s%s = r.%s", i ? ", " : "", q, q);
			free(q);
		}
		upd = xasprintf("UPDATE %s AS t SET %s FROM "
				"json_populate_recordset(NULL::%s, CAST(? AS "
				"json)) r WHERE %s",
				t->q, buf_str(&set), t->q, t->pk_match);
		buf_free(&set);
	}
	s = db_prepare_once(c->src, sel, NULL);
	if (s == NULL) {
		bad = fail_db(c, c->src, t->name);
		goto out;
	}
	cols = db_col_count(s);
	while (!bad && (rc = db_step(s)) == DB_ROW) {
		json_t *row = json_object(), *self = NULL;

		for (k = 0; k < cols; k++) {
			const char *name = db_col_name(s, k);
			json_t *v = value_json(s, k);

			if (v == NULL) {
				snprintf(c->err, c->errlen,
					 "%s: table %s, column %s: a value "
					 "that cannot be copied (a text that "
					 "is not UTF-8, or an infinite number)",
					 store_path(c->src), t->name, name);
				bad = -1;
				break;
			}
			if (t->nself > 0 && strv_has(t->self, t->nself, name) &&
			    !json_is_null(v)) {
				if (self == NULL)
					self = json_object();
				json_object_set(self, name, v);
				json_decref(v);
				v = json_null();
			}
			if (db_col_type(s, k) == DB_TEXT) {
				int len;

				db_col_bytes(s, k, &len);
				bytes += (size_t)len;
			}
			json_object_set_new(row, name, v);
		}
		if (bad) {
			json_decref(row);
			json_decref(self);
			break;
		}
		if (self != NULL) {
			/* the key to find the row again */
			for (k = 0; k < cols; k++)
				if (!strv_has(t->self, t->nself,
					      db_col_name(s, k)))
					json_object_set(
					    self, db_col_name(s, k),
					    json_object_get(row,
							    db_col_name(s, k)));
			json_array_append_new(later, self);
		}
		json_array_append_new(rows, row);
		n++;
		if (json_array_size(rows) >= COPY_BATCH_ROWS ||
		    bytes >= COPY_BATCH_BYTES) {
			bad = send_batch(c, t, ins, rows);
			bytes = 0;
		}
	}
	db_finish(c->src, s);
	if (!bad && rc != DB_DONE)
		bad = fail_db(c, c->src, t->name);
	if (!bad)
		bad = send_batch(c, t, ins, rows);
	if (!bad && upd != NULL)
		bad = send_batch(c, t, upd, later);
	t->rows = n;
out:
	json_decref(rows);
	json_decref(later);
	free(sel);
	free(ins);
	free(upd);
	return bad ? -1 : 0;
}

/* Each table holds as many rows as the source's. */
static int
check_counts(struct copy *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		char *sql = xasprintf("SELECT COUNT(*) FROM %s", c->t[i].q);
		struct db_stmt *s = db_prepare_once(c->dst, sql, NULL);
		int64_t have = -1;

		free(sql);
		if (s != NULL && db_step(s) == DB_ROW)
			have = db_col_int(s, 0);
		db_finish(c->dst, s);
		if (have < 0)
			return fail_db(c, c->dst, c->t[i].name);
		if (have != c->t[i].rows) {
			snprintf(c->err, c->errlen,
				 "%s: table %s has %lld rows after the copy, "
				 "%lld in %s",
				 store_path(c->dst), c->t[i].name,
				 (long long)have, (long long)c->t[i].rows,
				 store_path(c->src));
			return -1;
		}
	}
	return 0;
}

/*
 * Every identity column's sequence goes past the highest id: the
 * column's, or the one SQLite's AUTOINCREMENT remembers for a table
 * whose newest rows were removed, so no id is given twice.
 */
static int
set_sequences(struct copy *c)
{
	struct db_stmt *s;
	int rc, has_seq = store_has_table(c->src, "sqlite_sequence");

	if (has_seq < 0)
		return fail_db(c, c->src, "sqlite_sequence");
	s = db_prepare(c->dst,
		       "SELECT c.relname, a.attname FROM pg_attribute a JOIN "
		       "pg_class c ON c.oid = a.attrelid WHERE c.relnamespace "
		       "= current_schema()::regnamespace AND c.relkind = 'r' "
		       "AND a.attidentity <> '' AND NOT a.attisdropped ORDER "
		       "BY 1, 2",
		       NULL);
	if (s == NULL)
		return fail_db(c, c->dst, "cannot list the identity columns");
	while ((rc = db_step(s)) == DB_ROW) {
		const char *tbl = db_col(s, 0), *col = db_col(s, 1);
		char *qt = sql_quoted(tbl), *qc = sql_quoted(col), *sql;
		struct db_stmt *m;
		int64_t top = 0, auto_top = 0;

		sql = xasprintf("SELECT COALESCE(MAX(%s), 0) FROM %s", qc, qt);
		m = db_prepare_once(c->dst, sql, NULL);
		free(sql);
		if (m != NULL && db_step(m) == DB_ROW)
			top = db_col_int(m, 0);
		else
			top = -1;
		db_finish(c->dst, m);
		free(qt);
		free(qc);
		if (top < 0 ||
		    (has_seq && db_int(c->src, &auto_top,
				       "SELECT seq FROM sqlite_sequence WHERE "
				       "name = ?",
				       "t", tbl) < 0)) {
			db_finish(c->dst, s);
			return fail_db(c, top < 0 ? c->dst : c->src, tbl);
		}
		if (auto_top > top)
			top = auto_top;
		if (top > 0 && db_exec(c->dst,
				       "SELECT setval(pg_get_serial_sequence("
				       "quote_ident(?), ?), ?)",
				       "tti", tbl, col, top) < 0) {
			db_finish(c->dst, s);
			return fail_db(c, c->dst, tbl);
		}
	}
	db_finish(c->dst, s);
	if (rc != DB_DONE)
		return fail_db(c, c->dst, "cannot list the identity columns");
	return 0;
}

static int
copy_all(struct copy *c, struct store_copy_stats *stats)
{
	struct buf trunc = {0};
	struct ctable *t;
	size_t i;
	int rc;

	if (target_tables(c) < 0 || compare_schemas(c) < 0 ||
	    foreign_keys(c) < 0)
		return -1;
	/* nobody appends to the log meanwhile */
	if (db_exec(c->dst,
		    "SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_AUDIT ")",
		    NULL) < 0)
		return fail_db(c, c->dst, "cannot lock the audit log");
	/* what creating the store wrote: the source's rows replace it */
	buf_puts(&trunc, "TRUNCATE ");
	for (i = 0; i < c->n; i++)
		buf_printf(&trunc, "%s%s", i ? ", " : "", c->t[i].q);
	buf_puts(&trunc, " RESTART IDENTITY CASCADE");
	rc = db_script(c->dst, buf_str(&trunc));
	buf_free(&trunc);
	if (rc < 0)
		return fail_db(c, c->dst, "cannot empty the new tables");
	while ((t = next_table(c)) != NULL) {
		if (copy_table(c, t) < 0)
			return -1;
		t->done = 1;
		stats->tables++;
		stats->rows += t->rows;
	}
	for (i = 0; i < c->n; i++)
		if (!c->t[i].done) {
			snprintf(c->err, c->errlen,
				 "%s: the foreign keys of table %s form a "
				 "cycle the copy cannot order",
				 store_path(c->dst), c->t[i].name);
			return -1;
		}
	if (check_counts(c) < 0 || set_sequences(c) < 0)
		return -1;
	/* the copied record hashes stay as they are */
	if (db_script(c->dst, "DELETE FROM pg_temp.evidence_pending") < 0)
		return fail_db(c, c->dst, "evidence_pending");
	return 0;
}

int
store_copy_into(struct store *src, struct store *dst,
		struct store_copy_stats *stats, char *err, size_t errlen)
{
	struct copy c = {.src = src, .dst = dst, .err = err, .errlen = errlen};
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (store_is_pg(src) || !store_is_pg(dst)) {
		snprintf(err, errlen,
			 "a copy goes from an SQLite database into a "
			 "PostgreSQL one");
		return -1;
	}
	if (store_begin(dst) < 0)
		return fail_db(&c, dst, "cannot begin");
	rc = copy_all(&c, stats);
	if (rc == 0 && store_commit(dst) < 0)
		rc = fail_db(&c, dst, "cannot commit");
	if (rc < 0) {
		store_rollback(dst);
		memset(stats, 0, sizeof(*stats));
	}
	tables_free(&c);
	return rc;
}

int
store_copy_check_source(struct store *src, char *err, size_t errlen)
{
	struct buf changed = {0};
	int64_t rows = 0, broken, n;
	const char *p = store_path(src);

	if (store_is_pg(src)) {
		snprintf(err, errlen,
			 "%s is a PostgreSQL store: migrate copies an SQLite "
			 "database (pg_dump moves a PostgreSQL one)",
			 p);
		return -1;
	}
	if (store_check_current(src, err, errlen) < 0) {
		snprintf(err, errlen,
			 "%s: its schema is older than this program's: run "
			 "\"ismsctl --db %s init\" on it first, then migrate",
			 p, p);
		return -1;
	}
	if (store_audit_key_problem(src, err, errlen) < 0)
		return -1;
	if (!src->key_loaded) {
		snprintf(err, errlen,
			 "%s: its audit key %s could not be read: the copy's "
			 "audit chain is keyed with it",
			 p, src->key_label ? src->key_label : "");
		return -1;
	}
	broken = store_audit_verify(src, &rows);
	if (broken < 0) {
		snprintf(err, errlen, "%s: cannot read the audit log: %s", p,
			 db_errmsg(src));
		return -1;
	}
	if (broken > 0) {
		snprintf(err, errlen,
			 "%s: the audit log does not verify (broken at "
			 "sequence %lld; see ismsctl audit verify)",
			 p, (long long)broken);
		return -1;
	}
	n = store_records_verify(src, &changed);
	buf_free(&changed);
	if (n < 0) {
		snprintf(err, errlen, "%s: cannot read the records: %s", p,
			 db_errmsg(src));
		return -1;
	}
	if (n > 0) {
		snprintf(err, errlen,
			 "%s: %lld record%s changed outside ismsd (see "
			 "ismsctl audit verify)",
			 p, (long long)n, n == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

int
store_url_check_empty(const char *url, char *err, size_t errlen)
{
	struct pg *pg = pg_open(url, err, errlen);
	struct pg_stmt *s;
	int64_t tables = -1, rows = -1;
	int rc = -1;

	if (pg == NULL)
		return -1;
	s = pg_prepare(pg,
		       "SELECT COUNT(*) FROM information_schema.tables WHERE "
		       "table_schema = current_schema() AND table_name IN "
		       "('schema_migrations', 'audit_log', 'people')",
		       NULL);
	if (s != NULL && pg_step(s) == DB_ROW)
		tables = pg_col_int(s, 0);
	pg_finish(pg, s);
	if (tables == 3) {
		/* creating a store writes the system's rows only */
		s = pg_prepare(pg,
			       "SELECT (SELECT COUNT(*) FROM audit_log WHERE "
			       "actor <> 'system') + (SELECT COUNT(*) FROM "
			       "people)",
			       NULL);
		if (s != NULL && pg_step(s) == DB_ROW)
			rows = pg_col_int(s, 0);
		pg_finish(pg, s);
	}
	if (tables < 0 || (tables == 3 && rows < 0)) {
		snprintf(err, errlen, "cannot read it: %s", pg_errmsg(pg));
	} else if (tables == 0 || rows == 0) {
		rc = 0;
	} else {
		snprintf(err, errlen,
			 "not empty: it already holds an isms-gateway "
			 "database%s; migrate into an empty database or schema",
			 tables < 3 ? " (in part)" : "");
		rc = 1;
	}
	pg_close(pg);
	return rc;
}

/* Replaces each appearance of secret in msg by by (or "***"). */
static void
redact_one(char *msg, size_t len, const char *secret, size_t slen,
	   const char *by)
{
	struct buf b = {0};
	const char *p = msg, *hit;

	if (slen == 0)
		return;
	while ((hit = memmem(p, strlen(p), secret, slen)) != NULL) {
		buf_add(&b, p, (size_t)(hit - p));
		buf_puts(&b, by ? by : "***");
		p = hit + slen;
	}
	if (b.len == 0) {
		buf_free(&b);
		return;
	}
	buf_puts(&b, p);
	snprintf(msg, len, "%s", buf_str(&b));
	buf_free(&b);
}

void
store_url_redact(const char *url, char *msg, size_t len)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	const char *p, *at, *slash, *colon, *q;
	char *label = pg_url_label(url);

	redact_one(msg, len, url, strlen(url), label);
	free(label);
	/* as libpq read it (percent-decoded) */
	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			redact_one(msg, len, o->val, strlen(o->val), NULL);
	PQconninfoFree(opts);
	/* the user's password: postgresql://user:PASSWORD@host */
	p = strstr(url, "://");
	if (p != NULL) {
		p += 3;
		slash = p + strcspn(p, "/?");
		at = memchr(p, '@', (size_t)(slash - p));
		colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
		/* the last '@' of the authority ends the user's part */
		while (at != NULL) {
			const char *next =
			    memchr(at + 1, '@', (size_t)(slash - at - 1));

			if (next == NULL)
				break;
			at = next;
		}
		if (colon != NULL && at != NULL && at > colon + 1)
			redact_one(msg, len, colon + 1,
				   (size_t)(at - colon - 1), NULL);
	}
	/* ...?password=PASSWORD&... */
	for (q = url; (q = strstr(q, "password=")) != NULL; q += 9)
		redact_one(msg, len, q + 9, strcspn(q + 9, "&"), NULL);
}
