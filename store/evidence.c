/*
 * Evidence that proves itself: the audit key and the record hashes.
 *
 * The audit key (32 random bytes, kept outside the database) keys the
 * audit chain with HMAC-SHA256, so the chain cannot be recomputed without
 * it. Its file holds the key in hex and "since SEQ", the first audit row
 * written with it: rows before may carry the plain SHA-256 hash of older
 * versions, every row from there on must be keyed.
 *
 * Every record row (all tables but the log and operational state) has
 * the keyed hash of its content in record_hashes, as last written by this
 * program: the update hook collects the rows this connection changes and
 * the outermost commit hashes them, so edits made by anything else (the
 * sqlite3 shell, another program) no longer match.
 */
#include "evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/log.h"

/*
 * A record table. Rows are hashed one by one by rowid; a table without a
 * rowid (a link table such as risk_controls) is hashed in groups by its
 * first key column (all links of RSK-1 together), its changes seen by
 * temporary triggers instead of the update hook. On PostgreSQL, whose
 * tables have no rowid, a table's integer primary key stands for it
 * (every record table with a rowid declares one, so the key is the
 * same number), and triggers note the changes of every record table.
 */
struct store_rtable {
	char *name;
	char *sel_one;	    /* the row's (group's) columns by its key */
	char *sel_range;    /* rowid and columns of rows ?1 to ?2, or NULL */
	char *sel_all;	    /* key and columns of every row, by key */
	char *sel_gone;	    /* hashed keys that no longer exist */
	char *col;	    /* grouped: the key column, else NULL */
	char *rowcol;	    /* not grouped: what stands for the rowid */
	const char *prefix; /* "RSK" for RSK-n, or NULL */
	const char *label;  /* column naming a row ("handle"), or NULL */
	const char *noun;   /* what label names ("person", "controls") */
};

/*
 * Tables that are not records: the log, delivery and transport state,
 * the applied migrations (and every e2ee_ table, the Matrix device).
 */
static const char *const operational[] = {
    "audit_log",       "record_hashes",	    "outbox",	    "outbox_delivery",
    "inbox",	       "settings",	    "nudges",	    "matrix_rooms",
    "matrix_dm",       "slack_dm",	    "slack_lookup", "portal_tokens",
    "portal_sessions", "schema_migrations",
};

static const struct {
	const char *tbl, *prefix, *label, *noun;
} record_names[] = {
    {"incidents", "INC", NULL, NULL},
    {"risks", "RSK", NULL, NULL},
    {"assets", "AST", NULL, NULL},
    {"actions", "ACT", NULL, NULL},
    {"docs", "DOC", NULL, NULL},
    {"audits", "AUD", NULL, NULL},
    {"findings", "FND", NULL, NULL},
    {"reviews", "MR", NULL, NULL},
    {"approvals", "APR", NULL, NULL},
    {"quiz_campaigns", "QZ", NULL, NULL},
    {"objectives", "OBJ", NULL, NULL},
    {"suppliers", "SUP", NULL, NULL},
    {"people", NULL, "handle", "person"},
    {"controls", NULL, "id", "control"},
    {"risk_controls", "RSK", NULL, "controls"},
    {"doc_acks", "DOC", NULL, "acknowledgements"},
};

/*
 * HMAC-SHA256 with the audit key into hex. The MAC context is made once
 * (the key's pads computed once) and re-initialised for each message.
 */
static void
mac_hex(struct store *st, const void *data, size_t len, char out[65])
{
	EVP_MAC_CTX *ctx = st->mac_ctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;

	if (ctx == NULL) {
		char digest[] = "SHA256";
		OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
					   OSSL_MAC_PARAM_DIGEST, digest, 0),
				       OSSL_PARAM_construct_end()};
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

		ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac); /* the context keeps its reference */
		if (ctx == NULL ||
		    EVP_MAC_init(ctx, st->key, sizeof(st->key), params) != 1)
			fatalx("HMAC-SHA256 is not available");
		st->mac_ctx = ctx;
	} else if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1) {
		fatalx("HMAC-SHA256: cannot re-initialise");
	}
	if (EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1)
		fatalx("HMAC-SHA256 failed");
	hex_encode(md, mdlen, out);
}

int
evidence_has_keyed(struct store *st)
{
	int64_t n = 0;

	if (st->has_keyed >= 0)
		return st->has_keyed;
	if (db_int(st, &n,
		   store_is_pg(st)
		       ? "SELECT COUNT(*) FROM information_schema.columns "
			 "WHERE table_schema = current_schema() AND "
			 "table_name = 'audit_log' AND column_name = 'keyed'"
		       : "SELECT COUNT(*) FROM pragma_table_info('audit_log') "
			 "WHERE name = 'keyed'",
		   NULL) < 0)
		return -1;
	st->has_keyed = n > 0;
	return st->has_keyed;
}

/* 1 when the log has a keyed row, 0 when not, -1 on error. */
static int
log_has_keyed_rows(struct store *st)
{
	int64_t n = 0;
	int rc = evidence_has_keyed(st);

	if (rc <= 0)
		return rc;
	if (db_int(st, &n,
		   "SELECT EXISTS (SELECT 1 FROM audit_log WHERE keyed <> 0)",
		   NULL) < 0)
		return -1;
	return n != 0;
}

/* "HEX64 [since N]": 0, or -1 with err. */
static int
key_parse(struct store *st, const char *text, char *err, size_t errlen)
{
	const char *p = text;
	long since = 1;
	size_t i;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	for (i = 0; i < sizeof(st->key); i++) {
		int hi = hex_digit((unsigned char)p[2 * i]),
		    lo = hi < 0 ? -1 : hex_digit((unsigned char)p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		st->key[i] = (unsigned char)(hi << 4 | lo);
	}
	p += 2 * sizeof(st->key);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (strncmp(p, "since", 5) == 0) {
		char num[32];
		size_t n;

		p += 5;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strspn(p, "0123456789");
		if (n == 0 || n >= sizeof(num))
			goto bad;
		memcpy(num, p, n);
		num[n] = '\0';
		if (parse_int(num, 1, 1L << 62, &since) < 0)
			goto bad;
		p += n;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
	}
	if (*p != '\0')
		goto bad;
	st->key_since = since;
	st->key_loaded = 1;
	return 0;
bad:
	OPENSSL_cleanse(st->key, sizeof(st->key));
	snprintf(err, errlen,
		 "audit key %s: expected 64 hex characters and a line "
		 "\"since SEQ\"",
		 st->key_label);
	return -1;
}

/* Reads the key file into text: 0, 1 when missing, -1 with err. */
static int
key_read_file(const char *path, char *text, size_t len, char *err,
	      size_t errlen)
{
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "audit key %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "audit key %s: is a directory", path);
		close(fd);
		return -1;
	}
	n = read(fd, text, len - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "audit key %s: %s", path,
			 strerror(errno));
		return -1;
	}
	text[n] = '\0';
	return 0;
}

int
evidence_key_prepare(struct store *st, const char *spec, enum store_mode mode,
		     char *err, size_t errlen)
{
	char text[512] = "", why[512] = "";
	const char *env = NULL;
	int rc = 0, keyed;

	if (spec == NULL || *spec == '\0') {
		if (strcmp(st->path, ":memory:") == 0) {
			st->key_label = xstrdup("the ephemeral key");
			st->key_create = mode != STORE_READONLY;
			return 0;
		}
		st->key_path = xasprintf("%s.audit-key", st->path);
	} else if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
		st->key_path = xstrdup(spec + 5);
	} else if (strncmp(spec, "env:", 4) == 0 && spec[4] != '\0') {
		env = spec + 4;
	} else {
		snprintf(err, errlen,
			 "store.audit_key: expected file:PATH or env:NAME");
		return -1;
	}
	st->key_label =
	    st->key_path ? xstrdup(st->key_path) : xasprintf("env:%s", env);
	if (env != NULL) {
		const char *v = getenv(env);

		if (v == NULL || *v == '\0')
			rc = 1;
		else
			snprintf(text, sizeof(text), "%s", v);
	} else {
		rc = key_read_file(st->key_path, text, sizeof(text), why,
				   sizeof(why));
	}
	if (rc == 0 && key_parse(st, text, why, sizeof(why)) == 0) {
		OPENSSL_cleanse(text, sizeof(text));
		return 0;
	}
	OPENSSL_cleanse(text, sizeof(text));
	keyed = log_has_keyed_rows(st);
	if (keyed < 0) {
		snprintf(err, errlen, "%s: cannot read the audit log: %s",
			 st->path, db_errmsg(st));
		return -1;
	}
	if (rc == 1)
		snprintf(why, sizeof(why),
			 keyed ? "audit key %s missing: restore it (the audit "
				 "log's rows are keyed with it)"
			 : env ? "audit key %s: the variable is not set"
			       : "audit key %s missing",
			 st->key_label);
	if (mode == STORE_READONLY) {
		if (keyed)
			st->key_problem = xstrdup(why);
		return 0;
	}
	if (rc == 1 && !keyed && env == NULL) {
		st->key_create = 1; /* made once the schema is current */
		return 0;
	}
	snprintf(err, errlen, "%s", why);
	return -1;
}

/*
 * Writes a new key file (the store's mode and group, never over an
 * existing one). 0, 1 when it appeared meanwhile, -1 with err.
 */
static int
key_write_file(struct store *st, char *err, size_t errlen)
{
	char hex[65], text[128];
	size_t len;
	int fd;

	hex_encode(st->key, sizeof(st->key), hex);
	len = (size_t)snprintf(text, sizeof(text), "%s\nsince %lld\n", hex,
			       (long long)st->key_since);
	OPENSSL_cleanse(hex, sizeof(hex));
	fd = open(st->key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		OPENSSL_cleanse(text, sizeof(text));
		if (errno == EEXIST)
			return 1;
		snprintf(err, errlen, "audit key %s: cannot create: %s",
			 st->key_path, strerror(errno));
		return -1;
	}
	if (store_file_mode(st, st->key_path, fd, err, errlen) < 0) {
		close(fd);
		unlink(st->key_path);
		OPENSSL_cleanse(text, sizeof(text));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		snprintf(err, errlen, "audit key %s: %s", st->key_path,
			 strerror(errno));
		close(fd);
		unlink(st->key_path);
		OPENSSL_cleanse(text, sizeof(text));
		return -1;
	}
	close(fd);
	OPENSSL_cleanse(text, sizeof(text));
	return 0;
}

static int
key_create(struct store *st, char *err, size_t errlen)
{
	int64_t last = 0;

	if (db_int(st, &last, "SELECT COALESCE(MAX(seq), 0) FROM audit_log",
		   NULL) < 0) {
		snprintf(err, errlen, "%s: %s", st->path, db_errmsg(st));
		return -1;
	}
	if (RAND_bytes(st->key, sizeof(st->key)) != 1) {
		snprintf(err, errlen, "no random bytes available");
		return -1;
	}
	st->key_since = last + 1;
	if (st->key_path != NULL) {
		int rc = key_write_file(st, err, errlen);

		if (rc < 0)
			return -1;
		if (rc == 1) { /* made by another process meanwhile */
			char text[512];

			if (key_read_file(st->key_path, text, sizeof(text), err,
					  errlen) != 0 ||
			    key_parse(st, text, err, errlen) < 0)
				return -1;
			st->key_create = 0;
			return 0;
		}
		log_info("made the audit key %s; keep it (and a copy apart "
			 "from the database's backups)",
			 st->key_path);
	}
	st->key_loaded = 1;
	st->key_create = 0;
	return 0;
}

static void
tables_free(struct store *st)
{
	size_t i;

	for (i = 0; i < st->nrtables; i++) {
		free(st->rtables[i].name);
		free(st->rtables[i].sel_one);
		free(st->rtables[i].sel_range);
		free(st->rtables[i].sel_all);
		free(st->rtables[i].sel_gone);
		free(st->rtables[i].col);
		free(st->rtables[i].rowcol);
	}
	free(st->rtables);
	st->rtables = NULL;
	st->nrtables = 0;
}

/*
 * The key columns of a table without a rowid, quoted and in key order
 * ("a", "b"; a new string), and the first alone in *first; NULL when
 * the first is not an integer column (such a table is not grouped).
 */
#define KEY_COLUMNS_SQL                                                        \
	"SELECT name, type FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk"
/* a table's primary key columns in key order, their types, and whether
 * each is an identity (the rowid's stand-in) */
#define PG_KEY_COLUMNS_SQL                                                     \
	"SELECT a.attname, format_type(a.atttypid, a.atttypmod), "             \
	"a.attidentity <> '' FROM pg_index i JOIN pg_attribute a ON "          \
	"a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) CROSS JOIN "     \
	"LATERAL generate_subscripts(i.indkey, 1) k WHERE i.indrelid = "       \
	"to_regclass(quote_ident(?)) AND i.indisprimary AND i.indkey[k] = "    \
	"a.attnum ORDER BY k"

static char *
key_columns(struct store *st, const char *table, char **first)
{
	struct db_stmt *s;
	struct buf b = {0};
	int ok = 1;

	*first = NULL;
	s = db_prepare(st,
		       store_is_pg(st) ? PG_KEY_COLUMNS_SQL : KEY_COLUMNS_SQL,
		       "t", table);
	if (s == NULL)
		return NULL;
	while (db_step(s) == DB_ROW) {
		char *q = sql_quoted(db_col(s, 0));

		if (*first == NULL) {
			ok = strcasecmp(db_col(s, 1), "INTEGER") == 0 ||
			     strcasecmp(db_col(s, 1), "bigint") == 0;
			*first = xstrdup(q);
		}
		buf_printf(&b, "%s%s", b.len ? ", " : "", q);
		free(q);
	}
	db_finish(st, s);
	if (*first == NULL || !ok) {
		free(*first);
		*first = NULL;
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * What stands for a table's rowid, quoted, into *col (a new string): on
 * SQLite "rowid" when the table has one; on PostgreSQL its primary key
 * when that is one integer identity column. NULL when the table has
 * none (it may be a grouped one). 0, or -1 when it cannot be read.
 */
static int
table_rowid(struct store *st, const char *table, char **col)
{
	struct db_stmt *s;
	char *sql;
	int64_t hidden = 0;
	int rc, n = 0, ident = 0;

	*col = NULL;
	if (!store_is_pg(st)) {
		/* preparing fails on a table without a rowid */
		sqlite3_stmt *probe = NULL;
		char *q = sql_quoted(table);

		sql = xasprintf("SELECT rowid FROM %s LIMIT 0", q);
		if (sqlite3_prepare_v2(st->db, sql, -1, &probe, NULL) ==
		    SQLITE_OK)
			*col = xstrdup("rowid");
		sqlite3_finalize(probe);
		free(sql);
		free(q);
		return 0;
	}
	/* SQLite's hidden rowid, kept as a column (store/pg_schema.c) */
	if (db_int(st, &hidden,
		   "SELECT COUNT(*) FROM pg_attribute WHERE attrelid = "
		   "to_regclass(quote_ident(?)) AND attname = 'rowid' AND "
		   "attidentity <> ''",
		   "t", table) < 0)
		return -1;
	if (hidden) {
		*col = sql_quoted("rowid");
		return 0;
	}
	s = db_prepare(st, PG_KEY_COLUMNS_SQL, "t", table);
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		if (n++ == 0 && db_col_int(s, 2) != 0) {
			ident = 1;
			*col = sql_quoted(db_col(s, 0));
		}
	}
	db_finish(st, s);
	if (rc != DB_DONE)
		return -1;
	if (n != 1 || !ident) {
		free(*col);
		*col = NULL;
	}
	return 0;
}

/*
 * The columns a row is hashed by: "*" on SQLite (the rowid stays out),
 * and on PostgreSQL every column but the kept rowid, in order (a new
 * string), or NULL when they cannot be read.
 */
static char *
table_columns(struct store *st, const char *table)
{
	if (!store_is_pg(st))
		return xstrdup("*");
	return db_text(st,
		       "SELECT string_agg(quote_ident(column_name), ', ' ORDER "
		       "BY ordinal_position) FROM information_schema.columns "
		       "WHERE table_schema = current_schema() AND table_name = "
		       "? AND column_name <> 'rowid'",
		       "t", table);
}

int
evidence_tables_load(struct store *st, char *err, size_t errlen)
{
	struct db_stmt *s;
	size_t cap = 0;
	int rc, have;

	tables_free(st);
	have = store_has_table(st, "record_hashes");
	if (have < 0)
		goto fail;
	if (have == 0)
		return 0; /* an older schema: no record hashes yet */
	/* the same order on both engines: names are ASCII */
	s = db_prepare(st,
		       store_is_pg(st)
			   ? "SELECT table_name FROM information_schema.tables "
			     "WHERE table_schema = current_schema() AND "
			     "table_type = 'BASE TABLE' ORDER BY table_name "
			     "COLLATE \"C\""
			   : "SELECT name FROM sqlite_master WHERE type = "
			     "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
			     "'\\' ORDER BY name",
		       NULL);
	if (s == NULL)
		goto fail;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *name = db_col(s, 0);
		struct store_rtable *t;
		char *q, *rowcol = NULL;
		size_t i;
		int skip = 0;

		for (i = 0; i < ARRAY_LEN(operational); i++)
			if (strcmp(name, operational[i]) == 0)
				skip = 1;
		/* the Matrix device's keys and sessions (e2ee_*) */
		if (strncmp(name, "e2ee_", 5) == 0)
			skip = 1;
		if (skip)
			continue;
		/* the pg_temp table of the triggers is the session's */
		if (strcmp(name, "evidence_pending") == 0)
			continue;
		q = sql_quoted(name);
		/* a table without a rowid is hashed by its first key column */
		if (table_rowid(st, name, &rowcol) < 0) {
			free(q);
			goto fail_list;
		}
		skip = rowcol == NULL;
		if (st->nrtables == cap) {
			cap = cap ? cap * 2 : 32;
			st->rtables =
			    xrealloc(st->rtables, cap * sizeof(*st->rtables));
		}
		t = &st->rtables[st->nrtables];
		memset(t, 0, sizeof(*t));
		if (skip) {
			char *pks = key_columns(st, name, &t->col);

			if (pks == NULL) {
				free(q);
				continue; /* no integer key: not a record */
			}
			t->sel_one = xasprintf(
			    "SELECT * FROM %s WHERE %s = ? ORDER BY %s", q,
			    t->col, pks);
			t->sel_all = xasprintf(
			    "SELECT %s, * FROM %s ORDER BY %s", t->col, q, pks);
			t->sel_gone = xasprintf(
			    "SELECT row, seq FROM record_hashes h WHERE tbl = "
			    "? AND NOT EXISTS (SELECT 1 FROM %s WHERE %s = "
			    "h.row) ORDER BY row",
			    q, t->col);
			free(pks);
		} else {
			char *cols = table_columns(st, name);

			if (cols == NULL) {
				free(q);
				free(rowcol);
				goto fail_list;
			}
			t->sel_one = xasprintf("SELECT %s FROM %s WHERE %s = ?",
					       cols, q, rowcol);
			t->sel_range = xasprintf(
			    "SELECT %s, %s FROM %s WHERE %s BETWEEN ? AND "
			    "? ORDER BY %s",
			    rowcol, cols, q, rowcol, rowcol);
			t->sel_all =
			    xasprintf("SELECT %s, %s FROM %s ORDER BY %s",
				      rowcol, cols, q, rowcol);
			free(cols);
			t->sel_gone = xasprintf(
			    "SELECT row, seq FROM record_hashes h WHERE tbl = "
			    "? AND NOT EXISTS (SELECT 1 FROM %s WHERE %s = "
			    "h.row) ORDER BY row",
			    q, rowcol);
			t->rowcol = rowcol;
		}
		st->nrtables++;
		t->name = xstrdup(name);
		for (i = 0; i < ARRAY_LEN(record_names); i++)
			if (strcmp(name, record_names[i].tbl) == 0) {
				t->prefix = record_names[i].prefix;
				t->label = record_names[i].label;
				t->noun = record_names[i].noun;
			}
		free(q);
	}
	db_finish(st, s);
	if (rc != DB_DONE)
		goto fail;
	return 0;
fail_list:
	db_finish(st, s);
fail:
	snprintf(err, errlen, "%s: cannot list the record tables: %s", st->path,
		 db_errmsg(st));
	return -1;
}

static void
pending_add(struct store *st, int t, int64_t row)
{
	struct store_rowref *last =
	    st->npending ? &st->pending[st->npending - 1] : NULL;

	if (last != NULL && last->t == t && last->row == row)
		return;
	if (st->npending == st->cappending) {
		st->cappending = st->cappending ? st->cappending * 2 : 64;
		st->pending = xrealloc(st->pending,
				       st->cappending * sizeof(*st->pending));
	}
	st->pending[st->npending].t = t;
	st->pending[st->npending].row = row;
	st->npending++;
}

/* Rows of rowid tables written by this connection (not by others). */
static void
rec_hook(void *arg, int op, const char *db, const char *tbl, sqlite3_int64 row)
{
	struct store *st = arg;
	size_t i;

	(void)op;
	if (strcmp(db, "main") != 0)
		return;
	for (i = 0; i < st->nrtables; i++)
		if (st->rtables[i].col == NULL &&
		    strcmp(st->rtables[i].name, tbl) == 0) {
			pending_add(st, (int)i, row);
			return;
		}
}

/* evidence_touch(table index, key): the temporary triggers of grouped
 * tables, which exist on this connection only */
static void
sql_touch(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	struct store *st = sqlite3_user_data(c);
	int64_t t = sqlite3_value_int64(argv[0]);

	(void)argc;
	if (t >= 0 && (size_t)t < st->nrtables &&
	    sqlite3_value_type(argv[1]) == SQLITE_INTEGER)
		pending_add(st, (int)t, sqlite3_value_int64(argv[1]));
	sqlite3_result_null(c);
}

static int
triggers_make(struct store *st)
{
	size_t i;

	if (sqlite3_create_function(st->db, "evidence_touch", 2, SQLITE_UTF8,
				    st, sql_touch, NULL, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < st->nrtables; i++) {
		const struct store_rtable *t = &st->rtables[i];
		char *q, *sql;
		int rc;

		if (t->col == NULL)
			continue;
		q = sql_quoted(t->name);
		sql = xasprintf(
		    "CREATE TEMP TRIGGER IF NOT EXISTS \"evidence_%zu_i\" "
		    "AFTER INSERT ON main.%s BEGIN SELECT evidence_touch(%zu, "
		    "NEW.%s); END;"
		    "CREATE TEMP TRIGGER IF NOT EXISTS \"evidence_%zu_u\" "
		    "AFTER UPDATE ON main.%s BEGIN SELECT evidence_touch(%zu, "
		    "OLD.%s), evidence_touch(%zu, NEW.%s); END;"
		    "CREATE TEMP TRIGGER IF NOT EXISTS \"evidence_%zu_d\" "
		    "AFTER DELETE ON main.%s BEGIN SELECT evidence_touch(%zu, "
		    "OLD.%s); END;",
		    i, q, i, t->col, i, q, i, t->col, i, t->col, i, q, i,
		    t->col);
		rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		free(sql);
		free(q);
		if (rc != SQLITE_OK)
			return -1;
	}
	return 0;
}

/*
 * PostgreSQL cannot call into the process, so its triggers note each
 * written record's table and key in the session's temporary table
 * evidence_pending (made by the trigger in a session without it, such
 * as an operator's psql), and evidence_flush reads them back before
 * COMMIT. The trigger function and the triggers are part of the
 * database; a table gains its triggers when a store first opens after
 * the migration that made it.
 */
#define PG_TOUCH_FUNCTION                                                      \
	"CREATE OR REPLACE FUNCTION evidence_touch() RETURNS trigger "         \
	"LANGUAGE plpgsql AS $f$ BEGIN "                                       \
	"IF to_regclass('pg_temp.evidence_pending') IS NULL THEN "             \
	"CREATE TEMP TABLE evidence_pending(tbl text, row bigint); END IF; "   \
	"IF TG_OP <> 'INSERT' THEN INSERT INTO pg_temp.evidence_pending "      \
	"VALUES (TG_TABLE_NAME, (to_jsonb(OLD) ->> TG_ARGV[0])::bigint); "     \
	"END IF; "                                                             \
	"IF TG_OP <> 'DELETE' THEN INSERT INTO pg_temp.evidence_pending "      \
	"VALUES (TG_TABLE_NAME, (to_jsonb(NEW) ->> TG_ARGV[0])::bigint); "     \
	"END IF; RETURN NULL; END $f$"

static int
pg_triggers_make(struct store *st)
{
	struct db_stmt *s;
	struct buf sql = {0};
	char *have;
	size_t i;
	int rc = 0;

	if (st->readonly || st->nrtables == 0)
		return 0;
	s = db_prepare(st,
		       "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON "
		       "c.oid = g.tgrelid WHERE g.tgname = 'evidence' AND "
		       "c.relnamespace = current_schema()::regnamespace",
		       NULL);
	if (s == NULL)
		return -1;
	have = xcalloc(st->nrtables, 1);
	while ((rc = db_step(s)) == DB_ROW)
		for (i = 0; i < st->nrtables; i++)
			if (strcmp(st->rtables[i].name, db_col(s, 0)) == 0)
				have[i] = 1;
	db_finish(st, s);
	if (rc != DB_DONE) {
		free(have);
		return -1;
	}
	for (i = 0; i < st->nrtables; i++) {
		const struct store_rtable *t = &st->rtables[i];
		const char *key = t->col ? t->col : t->rowcol;
		char *q;

		if (have[i])
			continue;
		if (sql.len == 0)
			buf_printf(&sql, "%s;", PG_TOUCH_FUNCTION);
		q = sql_quoted(t->name);
		/* the argument is the key column's name, unquoted */
		buf_printf(&sql,
			   "CREATE OR REPLACE TRIGGER evidence AFTER INSERT OR "
			   "UPDATE OR "
			   "DELETE ON %s FOR EACH ROW EXECUTE FUNCTION "
			   "evidence_touch('%.*s');",
			   q, (int)strlen(key) - 2, key + 1);
		free(q);
	}
	free(have);
	rc = 0;
	if (sql.len > 0) {
		/* gateways starting together make them once */
		rc = store_begin(st);
		if (rc == 0 &&
		    (db_exec(
			 st,
			 "SELECT pg_advisory_xact_lock(" STORE_PG_LOCK_MIGRATE
			 ")",
			 NULL) < 0 ||
		     db_script(st, sql.data) < 0 || store_commit(st) < 0)) {
			store_rollback(st);
			rc = -1;
		}
	}
	buf_free(&sql);
	return rc;
}

/* The records the triggers noted on PostgreSQL, now pending here. */
static int
pg_pending_take(struct store *st)
{
	struct db_stmt *s;
	size_t i;
	int rc;

	if (st->nrtables == 0)
		return 0;
	s = db_prepare(st,
		       "DELETE FROM pg_temp.evidence_pending RETURNING tbl, "
		       "row",
		       NULL);
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *tbl = db_col(s, 0);

		if (db_col_null(s, 1))
			continue;
		for (i = 0; i < st->nrtables; i++)
			if (strcmp(st->rtables[i].name, tbl) == 0) {
				pending_add(st, (int)i, db_col_int(s, 1));
				break;
			}
	}
	db_finish(st, s);
	return rc == DB_DONE ? 0 : -1;
}

static void
put_u64(struct buf *b, uint64_t v)
{
	unsigned char x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (56 - 8 * i));
	buf_add(b, x, sizeof(x));
}

/*
 * A record's hash: its table and key, then each row (one, or a group's
 * in key order) as its column count and each column from first on with
 * its type and, for text and blobs, its length.
 */
static void
ser_begin(struct store *st, const char *tbl, int64_t key)
{
	buf_reset(&st->scratch);
	buf_add(&st->scratch, tbl, strlen(tbl) + 1);
	put_u64(&st->scratch, (uint64_t)key);
}

static void
ser_row(struct store *st, struct db_stmt *s, int first)
{
	struct buf *b = &st->scratch;
	int n = db_col_count(s), c;

	put_u64(b, (uint64_t)(n - first));
	for (c = first; c < n; c++) {
		enum db_type type = db_col_type(s, c);

		switch (type) {
		case DB_INTEGER:
			buf_putc(b, 'i');
			put_u64(b, (uint64_t)db_col_int(s, c));
			break;
		case DB_FLOAT: {
			double d = db_col_double(s, c);
			uint64_t u;

			memcpy(&u, &d, sizeof(u));
			buf_putc(b, 'f');
			put_u64(b, u);
			break;
		}
		case DB_TEXT:
		case DB_BLOB: {
			int len;
			const void *p = db_col_bytes(s, c, &len);

			buf_putc(b, type == DB_TEXT ? 't' : 'b');
			put_u64(b, (uint64_t)len);
			if (len > 0)
				buf_add(b, p, (size_t)len);
			break;
		}
		default:
			buf_putc(b, 'n');
			break;
		}
	}
}

static void
ser_end(struct store *st, char out[65])
{
	mac_hex(st, st->scratch.data, st->scratch.len, out);
}

static int
rowref_cmp(const void *a, const void *b)
{
	const struct store_rowref *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

#define HASH_PUT_SQL                                                           \
	"INSERT INTO record_hashes(tbl, row, hash, seq) VALUES (?,?,?,?) ON "  \
	"CONFLICT(tbl, row) DO UPDATE SET hash = excluded.hash, seq = "        \
	"excluded.seq"

static int
hash_store(struct store *st, const char *tbl, int64_t row, const char *hash,
	   int64_t seq)
{
	return db_exec(st, HASH_PUT_SQL, "titi", tbl, row, hash, seq) < 0 ? -1
									  : 0;
}

/* The row serialised in scratch gets its hash (put: HASH_PUT_SQL). */
static int
hash_row(struct store *st, struct db_stmt *put, const char *tbl, int64_t row,
	 int64_t seq)
{
	char hash[65];

	ser_end(st, hash);
	return db_rebind(put, "titi", tbl, row, hash, seq) < 0 ||
		       db_step(put) != DB_DONE
		   ? -1
		   : 0;
}

/* A record row or group that no longer exists loses its hash. */
static int
hash_drop(struct store *st, const char *tbl, int64_t row)
{
	return db_exec(st,
		       "DELETE FROM record_hashes WHERE tbl = ? AND row = ?",
		       "ti", tbl, row) < 0
		   ? -1
		   : 0;
}

/* One row (a group's rows) by its key: hashed, or its hash dropped. */
static int
flush_one(struct store *st, struct db_stmt *put, const struct store_rtable *t,
	  int64_t row, int64_t seq)
{
	struct db_stmt *s = db_prepare(st, t->sel_one, "i", row);
	int rc, rows = 0;

	if (s == NULL)
		return -1;
	ser_begin(st, t->name, row);
	while ((rc = db_step(s)) == DB_ROW) {
		ser_row(st, s, 0);
		rows++;
	}
	db_finish(st, s);
	if (rc != DB_DONE)
		return -1;
	return rows > 0 ? hash_row(st, put, t->name, row, seq)
			: hash_drop(st, t->name, row);
}

/*
 * Rows p[0..n) of one rowid table, in order and close together, read by
 * one scan of their range: each hashed, or its hash dropped when gone.
 */
static int
flush_range(struct store *st, struct db_stmt *put, const struct store_rtable *t,
	    const struct store_rowref *p, size_t n, int64_t seq)
{
	struct db_stmt *s =
	    db_prepare(st, t->sel_range, "ii", p[0].row, p[n - 1].row);
	size_t k = 0;
	int rc = DB_DONE, bad = 0;

	if (s == NULL)
		return -1;
	while (!bad && (rc = db_step(s)) == DB_ROW) {
		int64_t row = db_col_int(s, 0);

		for (; !bad && k < n && p[k].row < row; k++)
			bad = hash_drop(st, t->name, p[k].row) < 0;
		if (bad || k == n || p[k].row != row)
			continue;
		ser_begin(st, t->name, row);
		ser_row(st, s, 1);
		bad = hash_row(st, put, t->name, row, seq) < 0;
		k++;
	}
	db_finish(st, s);
	if (bad || rc != DB_DONE)
		return -1;
	for (; k < n; k++)
		if (hash_drop(st, t->name, p[k].row) < 0)
			return -1;
	return 0;
}

/* Rows of a rowid table at most this far apart are read by one scan. */
#define FLUSH_GAP 8

int
evidence_flush(struct store *st)
{
	struct db_stmt *put;
	int64_t seq = 0;
	size_t i, j, n = 0;
	int rc = 0;

	if (store_is_pg(st) && pg_pending_take(st) < 0)
		return -1;
	if (st->npending == 0)
		return 0;
	if (!st->key_loaded) {
		st->npending = st->pending_base = 0;
		return 0;
	}
	qsort(st->pending, st->npending, sizeof(*st->pending), rowref_cmp);
	for (i = 0; i < st->npending; i++)
		if (n == 0 ||
		    rowref_cmp(&st->pending[i], &st->pending[n - 1]) != 0)
			st->pending[n++] = st->pending[i];
	st->npending = st->pending_base = 0;
	if (db_int(st, &seq, "SELECT COALESCE(MAX(seq), 0) FROM audit_log",
		   NULL) < 0)
		return -1;
	put = db_prepare(st, HASH_PUT_SQL, NULL);
	if (put == NULL)
		return -1;
	for (i = 0; rc == 0 && i < n; i = j) {
		const struct store_rowref *p = &st->pending[i];
		const struct store_rtable *t = &st->rtables[p->t];

		for (j = i + 1;
		     t->sel_range != NULL && j < n &&
		     st->pending[j].t == p->t &&
		     st->pending[j].row - st->pending[j - 1].row <= FLUSH_GAP;
		     j++)
			;
		rc = j - i > 1 ? flush_range(st, put, t, p, j - i, seq)
			       : flush_one(st, put, t, p->row, seq);
	}
	db_finish(st, put);
	return rc;
}

void
evidence_begin(struct store *st)
{
	st->pending_base = st->npending;
}

void
evidence_rollback(struct store *st)
{
	st->npending = st->pending_base;
}

/* Called with each record of a table, its hash and its label. */
typedef int (*record_fn)(struct store *st, const struct store_rtable *t,
			 int64_t key, const char *hash, const char *label,
			 void *arg);

/* Hashes every record of t in key order: 0, or -1. */
static int
table_scan(struct store *st, const struct store_rtable *t, record_fn fn,
	   void *arg)
{
	struct db_stmt *s = db_prepare_once(st, t->sel_all, NULL);
	char hash[65], label[128] = "";
	int64_t key = 0;
	int rc, open = 0, lc = -2, c;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		int64_t k = db_col_int(s, 0);

		/* the label's column, known once there is a row */
		if (lc == -2) {
			lc = -1;
			for (c = 1; t->label != NULL && c < db_col_count(s);
			     c++)
				if (strcmp(db_col_name(s, c), t->label) == 0)
					lc = c;
		}

		if (open && k != key) {
			ser_end(st, hash);
			if (fn(st, t, key, hash, label, arg) < 0)
				break;
			open = 0;
		}
		if (!open) {
			ser_begin(st, t->name, k);
			snprintf(label, sizeof(label), "%s",
				 lc > 0 ? db_col(s, lc) : "");
			key = k;
			open = 1;
		}
		ser_row(st, s, 1);
	}
	db_finish(st, s);
	if (rc != DB_DONE)
		return -1;
	if (open) {
		ser_end(st, hash);
		if (fn(st, t, key, hash, label, arg) < 0)
			return -1;
	}
	return 0;
}

struct scan_seq {
	int64_t seq;
};

static int
rehash_one(struct store *st, const struct store_rtable *t, int64_t key,
	   const char *hash, const char *label, void *arg)
{
	(void)label;
	return hash_store(st, t->name, key, hash,
			  ((struct scan_seq *)arg)->seq);
}

/* Hashes every record anew (after a schema change). 0 or -1. */
static int
rehash_all(struct store *st)
{
	struct scan_seq a = {0};
	size_t i;

	if (db_exec(st, "DELETE FROM record_hashes", NULL) < 0 ||
	    db_int(st, &a.seq, "SELECT COALESCE(MAX(seq), 0) FROM audit_log",
		   NULL) < 0)
		return -1;
	for (i = 0; i < st->nrtables; i++)
		if (table_scan(st, &st->rtables[i], rehash_one, &a) < 0)
			return -1;
	return 0;
}

int
evidence_finish(struct store *st, int migrated, char *err, size_t errlen)
{
	int64_t newest = 0;
	int rc, need_row;

	if (st->key_create && key_create(st, err, errlen) < 0)
		return -1;
	if (evidence_tables_load(st, err, errlen) < 0)
		return -1;
	if (store_is_pg(st) ? pg_triggers_make(st) < 0
			    : (sqlite3_update_hook(st->db, rec_hook, st),
			       triggers_make(st) < 0))
		goto fail;
	rc = db_int(st, &newest,
		    "SELECT keyed FROM audit_log ORDER BY seq DESC LIMIT 1",
		    NULL);
	if (rc < 0)
		goto fail;
	need_row = rc == 0 || newest == 0;
	if (!need_row && !migrated)
		return 0;
	if (store_begin(st) < 0)
		goto fail;
	if (need_row) {
		char details[64];

		snprintf(details, sizeof(details), "{\"since\":%lld}",
			 (long long)st->key_since);
		if (store_audit(st, "system", "audit.keyed", st->key_label,
				details) < 0)
			goto fail_tx;
	}
	if (migrated && rehash_all(st) < 0)
		goto fail_tx;
	if (store_commit(st) < 0)
		goto fail_tx;
	return 0;
fail_tx:
	store_rollback(st);
fail:
	snprintf(err, errlen, "%s: cannot key the audit log: %s", st->path,
		 db_errmsg(st));
	return -1;
}

void
evidence_free(struct store *st)
{
	tables_free(st);
	free(st->pending);
	st->pending = NULL;
	st->npending = st->cappending = st->pending_base = 0;
	buf_free(&st->scratch);
	free(st->key_path);
	free(st->key_label);
	free(st->key_problem);
	st->key_path = st->key_label = st->key_problem = NULL;
	EVP_MAC_CTX_free(st->mac_ctx);
	st->mac_ctx = NULL;
	OPENSSL_cleanse(st->key, sizeof(st->key));
	st->key_loaded = 0;
}

/* An audit row's fields, each length-prefixed: no two rows serialise the
 * same by shifting text from one field to the next. */
static void
audit_fields(struct buf *b, const char *prev, int64_t seq, const char *at,
	     const char *actor, const char *action, const char *object,
	     const char *details)
{
	const char *parts[7];
	char seqs[32], num[24];
	size_t i;

	snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
	parts[0] = prev;
	parts[1] = seqs;
	parts[2] = at;
	parts[3] = actor;
	parts[4] = action;
	parts[5] = object;
	parts[6] = details;
	buf_reset(b);
	for (i = 0; i < ARRAY_LEN(parts); i++) {
		size_t len = strlen(parts[i]), n = len, k = sizeof(num) - 1;

		num[k] = ':';
		do
			num[--k] = (char)('0' + n % 10);
		while ((n /= 10) > 0);
		buf_add(b, num + k, sizeof(num) - k);
		buf_add(b, parts[i], len);
	}
}

static void
sha256_hex(const struct buf *b, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(b->data, b->len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, mdlen, out);
}

void
evidence_audit_hash(struct store *st, int keyed, const char *prev, int64_t seq,
		    const char *at, const char *actor, const char *action,
		    const char *object, const char *details, char out[65])
{
	struct buf *b = &st->scratch;

	audit_fields(b, prev, seq, at, actor, action, object, details);
	if (keyed)
		mac_hex(st, b->data, b->len, out);
	else
		sha256_hex(b, out);
}

void
store_audit_hash(const char *prev, int64_t seq, const char *at,
		 const char *actor, const char *action, const char *object,
		 const char *details, char out[65])
{
	struct buf b = {0};

	audit_fields(&b, prev, seq, at, actor, action, object, details);
	sha256_hex(&b, out);
	buf_free(&b);
}

int
store_audit_key_problem(const struct store *st, char *err, size_t errlen)
{
	if (st->key_problem == NULL)
		return 0;
	snprintf(err, errlen, "%s", st->key_problem);
	return -1;
}

int
store_audit_head(struct store *st, int64_t *seq, char hash[65])
{
	struct db_stmt *s = db_prepare(
	    st, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
	    NULL);
	int rc;

	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		*seq = db_col_int(s, 0);
		snprintf(hash, 65, "%s", db_col(s, 1));
		rc = 1;
	} else {
		rc = rc == DB_DONE ? 0 : -1;
	}
	db_finish(st, s);
	return rc;
}

int
store_audit_check_head(struct store *st, const char *head, char *err,
		       size_t errlen)
{
	const char *colon = strchr(head, ':');
	char num[32], *hash = NULL;
	int64_t last = 0;
	long seq;
	size_t n;
	int rc;

	n = colon ? (size_t)(colon - head) : 0;
	if (n == 0 || n >= sizeof(num) || strlen(colon + 1) != 64 ||
	    strspn(colon + 1, "0123456789abcdef") != 64) {
		snprintf(err, errlen,
			 "--head: expected SEQ:HASH as \"ismsctl audit head\" "
			 "prints it (64 lower-case hex digits)");
		return -1;
	}
	memcpy(num, head, n);
	num[n] = '\0';
	if (parse_int(num, 1, 1L << 62, &seq) < 0) {
		snprintf(err, errlen, "--head: bad sequence number \"%s\"",
			 num);
		return -1;
	}
	hash = db_text(st, "SELECT hash FROM audit_log WHERE seq = ?", "i",
		       (int64_t)seq);
	if (hash == NULL) {
		if (db_int(st, &last,
			   "SELECT COALESCE(MAX(seq), 0) FROM audit_log",
			   NULL) < 0) {
			snprintf(err, errlen, "cannot read the audit log: %s",
				 db_errmsg(st));
			return -1;
		}
		snprintf(err, errlen,
			 "row %ld is missing: the log ends at %lld (rows were "
			 "removed from its end)",
			 seq, (long long)last);
		return 1;
	}
	rc = strcmp(hash, colon + 1) != 0;
	if (rc)
		snprintf(err, errlen,
			 "row %ld has hash %s, not the published %s: the log "
			 "was rewritten",
			 seq, hash, colon + 1);
	free(hash);
	return rc;
}

static void
rec_name(char *out, size_t len, const struct store_rtable *t, int64_t row,
	 const char *label)
{
	if (t->prefix != NULL && t->col != NULL)
		snprintf(out, len, "%s-%lld %s", t->prefix, (long long)row,
			 t->noun);
	else if (t->prefix != NULL)
		snprintf(out, len, "%s-%lld", t->prefix, (long long)row);
	else if (label != NULL && *label != '\0')
		snprintf(out, len, "%s %s", t->noun, label);
	else if (t->col != NULL)
		snprintf(out, len, "%s rows with %s %lld", t->name, t->col,
			 (long long)row);
	else
		snprintf(out, len, "%s row %lld", t->name, (long long)row);
}

struct verify_out {
	struct buf *out;
	int64_t bad;
};

static int
verify_one(struct store *st, const struct store_rtable *t, int64_t key,
	   const char *hash, const char *label, void *arg)
{
	struct verify_out *v = arg;
	struct buf *out = v->out;
	struct db_stmt *h;
	char name[192];
	int rc;

	rec_name(name, sizeof(name), t, key, label);
	h = db_prepare(st,
		       "SELECT hash, seq FROM record_hashes WHERE tbl = ? AND "
		       "row = ?",
		       "ti", t->name, key);
	if (h == NULL)
		return -1;
	rc = db_step(h);
	if (rc == DB_DONE) {
		buf_printf(out, "%s: added outside ismsd\n", name);
		rc = 1;
	} else if (rc == DB_ROW) {
		rc = strcmp(db_col(h, 0), hash) != 0;
		if (rc)
			buf_printf(out,
				   "%s: changed outside ismsd since seq %lld\n",
				   name, (long long)db_col_int(h, 1));
	} else {
		rc = -1;
	}
	db_finish(st, h);
	if (rc > 0)
		v->bad++;
	return rc < 0 ? -1 : 0;
}

static int64_t
table_verify(struct store *st, const struct store_rtable *t, struct buf *out)
{
	struct verify_out v = {out, 0};
	struct db_stmt *gone;
	int rc;

	if (table_scan(st, t, verify_one, &v) < 0)
		return -1;
	gone = db_prepare_once(st, t->sel_gone, "t", t->name);
	if (gone == NULL)
		return -1;
	while ((rc = db_step(gone)) == DB_ROW) {
		char name[192];

		rec_name(name, sizeof(name), t, db_col_int(gone, 0), NULL);
		buf_printf(out,
			   "%s: removed outside ismsd (last written at "
			   "seq %lld)\n",
			   name, (long long)db_col_int(gone, 1));
		v.bad++;
	}
	db_finish(st, gone);
	return rc == DB_DONE ? v.bad : -1;
}

int64_t
store_records_verify(struct store *st, struct buf *out)
{
	struct db_stmt *s;
	int64_t bad = 0, n;
	size_t i;
	int rc;

	if (st->nrtables == 0 || !st->key_loaded)
		return 0; /* an older schema, or no key (said elsewhere) */
	for (i = 0; i < st->nrtables; i++) {
		n = table_verify(st, &st->rtables[i], out);
		if (n < 0)
			return -1;
		bad += n;
	}
	s = db_prepare(st,
		       store_is_pg(st)
			   ? "SELECT tbl, COUNT(*) FROM record_hashes WHERE "
			     "tbl NOT IN (SELECT table_name FROM "
			     "information_schema.tables WHERE table_schema = "
			     "current_schema()) GROUP BY tbl ORDER BY tbl "
			     "COLLATE \"C\""
			   : "SELECT tbl, COUNT(*) FROM record_hashes WHERE "
			     "tbl NOT IN (SELECT name FROM sqlite_master "
			     "WHERE type = 'table') GROUP BY tbl ORDER BY "
			     "tbl",
		       NULL);
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		buf_printf(out,
			   "table %s (%lld records): removed outside ismsd\n",
			   db_col(s, 0), (long long)db_col_int(s, 1));
		bad++;
	}
	db_finish(st, s);
	return rc == DB_DONE ? bad : -1;
}
