/* Unit tests of the store: migrations, the audit chain, dedupe, outbox. */
#include "testutil.h"

#include "../../base/embedded.h"

#include <grp.h>
#include <sys/stat.h>

#include "../../base/embedded.h"

static void
test_migrated(void **state)
{
	struct tenv *t = tenv_new();
	char *secret;

	(void)state;
	assert_int_equal(count(t, "SELECT COUNT(*) FROM schema_migrations"),
			 store_schema_version());
	if (!test_on_pg())
		assert_int_equal(count(t, "PRAGMA foreign_keys"), 1);
	secret = store_setting(t->st, "token_secret");
	assert_non_null(secret);
	assert_int_equal(strlen(secret), 64);
	free(secret);
	tenv_free(t);
}

static void
test_newer_database_refused(void **state)
{
	struct tenv *t = tenv_new();
	char err[512], path[1024];
	struct store *st;

	(void)state;
	SQLITE_ONLY(t);
	snprintf(path, sizeof(path), "%s", t->path);
	assert_true(db_exec(t->st, "PRAGMA user_version = 999", NULL) >= 0);
	store_close(t->st);
	st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "newer than this program supports"));
	t->st = test_open(t, path, STORE_CREATE, NULL, err,
			  sizeof(err)); /* still refused */
	assert_null(t->st);
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 store_schema_version());
		assert_int_equal(
		    store_exec_foreign(path, sql, err, sizeof(err)), 0);
	}
	t->st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_non_null(t->st);
	tenv_free(t);
}

static void
test_audit_chain(void **state)
{
	struct tenv *t = tenv_new();
	int64_t rows, n;
	int ok;

	(void)state;
	as(t, "alice", "/incident one", &ok);
	as(t, "alice", "/incident two", &ok);
	as(t, "carol", "/isms incident assign INC-2 @bob", &ok);
	assert_true(ok);
	assert_int_equal(store_audit_verify(t->st, &rows), 0);
	n = count(t, "SELECT COUNT(*) FROM audit_log");
	assert_int_equal(rows, n);
	assert_true(n >= 5);
	/* each row links to the one before */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log a JOIN "
				  "audit_log b ON b.seq = a.seq - 1 WHERE "
				  "a.prev_hash != b.hash"),
			 0);

	/* an edited detail (of the first command, whatever the migrations
	 * wrote before it) */
	n = count(t, "SELECT MIN(seq) FROM audit_log WHERE action = "
		     "'incident.report'");
	assert_int_equal(db_exec(t->st,
				 "UPDATE audit_log SET details = '{}' WHERE "
				 "seq = ?",
				 "i", n),
			 1);
	assert_int_equal(store_audit_verify(t->st, &rows), n);
	tenv_free(t);
}

static void
test_audit_chain_deleted_and_inserted(void **state)
{
	struct tenv *t = tenv_new();
	int64_t rows, last;
	int ok;

	(void)state;
	as(t, "alice", "/incident one", &ok);
	as(t, "alice", "/incident two", &ok);
	last = count(t, "SELECT MAX(seq) FROM audit_log");
	/* a row removed from the middle */
	db_exec(t->st, "DELETE FROM audit_log WHERE seq = 2", NULL);
	assert_int_equal(store_audit_verify(t->st, &rows), 2);
	tenv_free(t);

	t = tenv_new();
	as(t, "alice", "/incident one", &ok);
	/* a forged row appended with a made-up hash */
	last = count(t, "SELECT MAX(seq) FROM audit_log");
	db_exec(t->st,
		"INSERT INTO audit_log SELECT seq + 1, at, 'mallory', action, "
		"object, details, hash, 'ffff', keyed FROM audit_log WHERE "
		"seq = "
		"(SELECT MAX(seq) FROM audit_log)",
		NULL);
	assert_int_equal(store_audit_verify(t->st, &rows), last + 1);
	tenv_free(t);
}

/*
 * Read-only commands run with the store refusing writes: a write in one
 * fails and changes nothing, and writing works again afterwards.
 */
static void
test_query_only(void **state)
{
	struct tenv *t = tenv_new();

	(void)state;
	assert_int_equal(store_begin(t->st), 0);
	assert_int_equal(store_query_only(t->st, 1), 0);
	assert_int_equal(db_exec(t->st,
				 "UPDATE settings SET value = 'x' "
				 "WHERE key = 'token_secret'",
				 ""),
			 -1);
	assert_int_equal(store_query_only(t->st, 0), 0);
	assert_int_equal(store_commit(t->st), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM settings WHERE "
				  "value = 'x'"),
			 0);
	assert_int_equal(db_exec(t->st,
				 "INSERT INTO settings(key, value) "
				 "VALUES ('probe', 'x')",
				 ""),
			 1);
	tenv_free(t);
}

static void
test_inbox_dedupe(void **state)
{
	struct tenv *t = tenv_new();
	struct isms_request rq = {.via = "slack",
				  .id_kind = "slack",
				  .id = "U0ALICE",
				  .text = "/incident dup",
				  .event_id = "Ev123"};
	struct isms_reply rp = {0};

	(void)state;
	assert_int_equal(cmd_run(t->st, &t->cfg, &rq, &rp), 0);
	assert_false(rp.duplicate);
	reply_free(&rp);
	memset(&rp, 0, sizeof(rp));
	assert_int_equal(cmd_run(t->st, &t->cfg, &rq, &rp), 0);
	assert_true(rp.duplicate);
	reply_free(&rp);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incidents"), 1);
	/* the same id on another transport is another event */
	rq.via = "matrix";
	rq.id_kind = "matrix";
	rq.id = "@alice:example.org";
	memset(&rp, 0, sizeof(rp));
	assert_int_equal(cmd_run(t->st, &t->cfg, &rq, &rp), 0);
	reply_free(&rp);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incidents"), 2);
	tenv_free(t);
}

static void
test_unknown_sender(void **state)
{
	struct tenv *t = tenv_new();
	struct isms_request rq = {.via = "slack",
				  .id_kind = "slack",
				  .id = "U0MALLORY",
				  .text = "/incident hi",
				  .event_id = "Ev9"};
	struct isms_reply rp = {0};
	int64_t before = changes_fingerprint(t);

	(void)state;
	assert_int_equal(cmd_run(t->st, &t->cfg, &rq, &rp), -1);
	assert_true(rp.unknown);
	assert_non_null(strstr(buf_str(&rp.text), "not in the ISMS directory"));
	reply_free(&rp);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incidents"), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log"),
			 before / 1000000);
	tenv_free(t);
}

static void
test_backup(void **state)
{
	struct tenv *t = tenv_new();
	char path[1024], err[256];
	struct store *copy;
	int64_t n = 0, rows;
	int ok;

	(void)state;
	as(t, "alice", "/incident backed up", &ok);
	snprintf(path, sizeof(path), "%s/copy.db", t->dir);
	if (test_on_pg()) {
		/* the server's backups, not the store's */
		assert_int_equal(store_backup(t->st, path, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "pg_dump"));
		assert_int_not_equal(access(path, F_OK), 0);
		tenv_free(t);
		return;
	}
	assert_int_equal(store_backup(t->st, path, err, sizeof(err)), 0);
	copy = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_non_null(copy);
	assert_int_equal(
	    db_int(copy, &n, "SELECT COUNT(*) FROM incidents", NULL), 1);
	assert_int_equal(n, 1);
	assert_int_equal(store_audit_verify(copy, &rows), 0);
	store_close(copy);
	unlink(path);
	/* the key kept beside the database went beside the copy */
	snprintf(path, sizeof(path), "%s/copy.db.audit-key", t->dir);
	assert_int_equal(unlink(path), 0);
	tenv_free(t);
}

/* Runs sql on a second connection, as the SQLite shell would. */
static void
raw_exec(const char *path, const char *sql)
{
	char err[512];

	if (store_exec_foreign(path, sql, err, sizeof(err)) < 0)
		fail_msg("%s: %s", sql, err);
}

/*
 * Rewrites every audit row with plain SHA-256 (keyed = 0 when the column
 * exists): what someone without the key can do. The rows are read on a
 * read-only handle and rewritten in one script on a second connection.
 */
static void
raw_rechain_unkeyed(const struct tenv *t, const char *path, int has_keyed)
{
	struct store *ro;
	struct db_stmt *s;
	struct buf script = {0};
	char prev[65] = "0000000000000000000000000000000000000000000000000000"
			"000000000000",
	     hash[65], err[512];

	ro = test_open(t, path, STORE_READONLY, NULL, err, sizeof(err));
	assert_non_null(ro);
	s = db_prepare(ro,
		       "SELECT seq, at, actor, action, object, details FROM "
		       "audit_log ORDER BY seq",
		       NULL);
	assert_non_null(s);
	buf_puts(&script, "BEGIN;");
	while (db_step(s) == DB_ROW) {
		int64_t seq = db_col_int(s, 0);

		store_audit_hash(prev, seq, db_col(s, 1), db_col(s, 2),
				 db_col(s, 3), db_col(s, 4), db_col(s, 5),
				 hash);
		buf_printf(&script,
			   "UPDATE audit_log SET prev_hash = '%s', hash = "
			   "'%s'%s WHERE seq = %lld;",
			   prev, hash, has_keyed ? ", keyed = 0" : "",
			   (long long)seq);
		memcpy(prev, hash, sizeof(prev));
	}
	db_finish(ro, s);
	store_close(ro);
	buf_puts(&script, "COMMIT;");
	raw_exec(path, script.data);
	buf_free(&script);
}

static void
key_file(const struct tenv *t, char *out, size_t len)
{
	if (t->keyspec[0])
		snprintf(out, len, "%s", t->keyspec + 5); /* file:PATH */
	else
		snprintf(out, len, "%s.audit-key", t->path);
}

static void
test_audit_keyed(void **state)
{
	struct tenv *t = tenv_new();
	char kf[1100], text[256];
	struct stat sb;
	int64_t rows, since, first_keyed;
	FILE *fp;
	size_t n;
	int ok;

	(void)state;
	as(t, "alice", "/incident keyed", &ok);
	assert_true(ok);
	key_file(t, kf, sizeof(kf));
	assert_int_equal(stat(kf, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	fp = fopen(kf, "r");
	assert_non_null(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	assert_int_equal(strspn(text, "0123456789abcdef"), 64);
	assert_int_equal(sscanf(text + 64, "\nsince %lld", (long long *)&since),
			 1);
	/* the migrations' rows come before the key; every row from its
	 * first on is keyed, starting with the audit.keyed row */
	first_keyed =
	    count(t, "SELECT MIN(seq) FROM audit_log WHERE keyed <> 0");
	assert_int_equal(first_keyed, since);
	assert_int_equal(count(t,
			       "SELECT COUNT(*) FROM audit_log WHERE action = "
			       "'audit.keyed'"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE seq "
				  ">= (SELECT MIN(seq) FROM audit_log WHERE "
				  "keyed <> 0) AND keyed = 0"),
			 0);
	assert_int_equal(store_audit_verify(t->st, &rows), 0);

	/* the whole chain recomputed without the key does not pass */
	raw_rechain_unkeyed(t, t->path, 1);
	assert_int_equal(store_audit_verify(t->st, &rows), since);
	tenv_free(t);
}

static void
test_audit_head(void **state)
{
	struct tenv *t = tenv_new();
	char hash[65], head[128], err[256];
	int64_t seq, rows, since;
	int ok;

	(void)state;
	as(t, "alice", "/incident one", &ok);
	assert_int_equal(store_audit_head(t->st, &seq, hash), 1);
	assert_int_equal(seq, count(t, "SELECT MAX(seq) FROM audit_log"));
	snprintf(head, sizeof(head), "%lld:%s", (long long)seq, hash);
	assert_int_equal(store_audit_check_head(t->st, head, err, sizeof(err)),
			 0);
	/* a row taken off the end: the chain alone still verifies, the
	 * published head does not */
	raw_exec(t->path, "DELETE FROM audit_log WHERE seq = (SELECT "
			  "MAX(seq) FROM audit_log)");
	assert_int_equal(store_audit_verify(t->st, &rows), 0);
	assert_int_equal(store_audit_check_head(t->st, head, err, sizeof(err)),
			 1);
	snprintf(head, sizeof(head),
		 "row %lld is missing: the log ends at %lld", (long long)seq,
		 (long long)seq - 1);
	assert_non_null(strstr(err, head));
	/* a different hash at that row */
	snprintf(head, sizeof(head), "%lld:%064d", (long long)seq - 1, 0);
	assert_int_equal(store_audit_check_head(t->st, head, err, sizeof(err)),
			 1);
	assert_non_null(strstr(err, "not the published"));
	assert_int_equal(
	    store_audit_check_head(t->st, "12:xyz", err, sizeof(err)), -1);
	/* cut back to before the key was made: the key's "since" says
	 * rows are missing */
	since = count(t, "SELECT MIN(seq) FROM audit_log WHERE keyed <> 0");
	db_exec(t->st, "DELETE FROM audit_log WHERE seq >= ?", "i", since);
	assert_int_equal(store_audit_verify(t->st, &rows), since);
	tenv_free(t);
}

static void
test_records_outside(void **state)
{
	struct tenv *t = tenv_new();
	struct buf out = {0};
	int64_t seq;
	int ok;

	(void)state;
	as(t, "alice", "/incident Lost badge", &ok);
	as(t, "alice", "/incident Second", &ok);
	as(t, "bob", "risk add Laptop theft likelihood=4 impact=4", &ok);
	assert_true(ok);
	assert_int_equal(store_records_verify(t->st, &out), 0);
	assert_int_equal(out.len, 0);
	seq = count(t, "SELECT MAX(seq) FROM audit_log");

	/* edits on another connection, as with the SQLite shell */
	raw_exec(t->path,
		 "UPDATE risks SET likelihood = 1 WHERE id = 1;"
		 "DELETE FROM incident_timeline WHERE incident_id = 2;"
		 "DELETE FROM incidents WHERE id = 2;"
		 "INSERT INTO assets(name, type, owner_id, classification, "
		 "conf, integ, avail, created_by, created_at, updated_at) "
		 "VALUES ('Shadow server', 'server', 1, 'public', 1, 1, 1, 1, "
		 "0, 0);"
		 "UPDATE people SET roles = 63 WHERE handle = 'alice';"
		 "UPDATE controls SET status = 'implemented' WHERE id = "
		 "'5.15'");
	/* the program's own writes meanwhile do not cover them */
	as(t, "alice", "/incident Third", &ok);
	assert_true(ok);
	assert_int_equal(store_records_verify(t->st, &out), 6);
	{
		char line[128];

		snprintf(line, sizeof(line),
			 "RSK-1: changed outside ismsd since seq %lld\n",
			 (long long)seq);
		assert_non_null(strstr(buf_str(&out), line));
	}
	assert_non_null(strstr(buf_str(&out), "INC-2: removed outside ismsd"));
	assert_non_null(strstr(buf_str(&out), "AST-1: added outside ismsd\n"));
	assert_non_null(
	    strstr(buf_str(&out), "person alice: changed outside ismsd"));
	assert_non_null(
	    strstr(buf_str(&out), "control 5.15: changed outside ismsd"));
	assert_non_null(
	    strstr(buf_str(&out), "incident_timeline row 2: removed outside"));
	assert_null(strstr(buf_str(&out), "INC-1"));
	assert_null(strstr(buf_str(&out), "INC-3"));

	/* a change made through the program is its own again */
	buf_reset(&out);
	as(t, "bob", "risk update RSK-1 likelihood=2", &ok);
	assert_true(ok);
	assert_int_equal(store_records_verify(t->st, &out), 5);
	assert_null(strstr(buf_str(&out), "RSK-1"));
	buf_free(&out);
	tenv_free(t);
}

/* Link tables without a rowid are hashed per owning record. */
static void
test_records_link_tables(void **state)
{
	struct tenv *t = tenv_new();
	struct buf out = {0};
	int ok;

	(void)state;
	as(t, "bob", "risk add Laptop theft likelihood=4 impact=4", &ok);
	assert_true(ok);
	as(t, "bob", "risk treat RSK-1 mitigate Encrypt disks controls=8.24",
	   &ok);
	assert_true(ok);
	as(t, "carol", "doc add Security policy review_every=12m ack=required",
	   &ok);
	assert_true(ok);
	as(t, "alice", "doc ack DOC-1", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM record_hashes WHERE "
				  "tbl IN ('risk_controls', 'doc_acks')"),
			 2);
	assert_int_equal(store_records_verify(t->st, &out), 0);
	raw_exec(t->path, "INSERT INTO risk_controls VALUES (1, '5.15');"
			  "DELETE FROM doc_acks");
	assert_int_equal(store_records_verify(t->st, &out), 2);
	assert_non_null(
	    strstr(buf_str(&out), "RSK-1 controls: changed outside ismsd"));
	assert_non_null(strstr(
	    buf_str(&out), "DOC-1 acknowledgements: removed outside ismsd"));
	/* through the program again: its own */
	buf_reset(&out);
	as(t, "bob", "risk treat RSK-1 mitigate Encrypt disks controls=8.24",
	   &ok);
	assert_true(ok);
	as(t, "alice", "doc ack DOC-1", &ok);
	assert_true(ok);
	assert_int_equal(store_records_verify(t->st, &out), 0);
	buf_free(&out);
	tenv_free(t);
}

static void
test_records_rollback_and_nesting(void **state)
{
	struct tenv *t = tenv_new();
	struct buf out = {0};

	(void)state;
	/* a rolled back write leaves no hash behind */
	assert_int_equal(store_begin(t->st), 0);
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET name = 'Temp' WHERE handle "
				 "= 'alice'",
				 NULL),
			 1);
	store_rollback(t->st);
	/* nested: only the outermost commit hashes, savepoints keep rows */
	assert_int_equal(store_begin(t->st), 0);
	assert_int_equal(store_begin(t->st), 0);
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET name = 'Bob B' WHERE "
				 "handle = 'bob'",
				 NULL),
			 1);
	assert_int_equal(store_commit(t->st), 0);
	assert_int_equal(store_begin(t->st), 0);
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET name = 'Nobody' WHERE "
				 "handle = 'carol'",
				 NULL),
			 1);
	store_rollback(t->st);
	assert_int_equal(store_commit(t->st), 0);
	assert_int_equal(store_records_verify(t->st, &out), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM people WHERE name = "
				  "'Bob B'"),
			 1);
	buf_free(&out);
	tenv_free(t);
}

static void
test_key_missing(void **state)
{
	struct tenv *t = tenv_new();
	char kf[1100], moved[1200], err[512], path[1024];
	struct store *st;
	int64_t rows;
	int missing = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s", t->path);
	key_file(t, kf, sizeof(kf));
	snprintf(moved, sizeof(moved), "%s.away", kf);
	store_close(t->st);
	assert_int_equal(rename(kf, moved), 0);
	/* a writing open neither makes a new key nor writes */
	t->st = test_open(t, path, STORE_EXISTING, &missing, err, sizeof(err));
	assert_null(t->st);
	assert_true(missing);
	assert_non_null(strstr(err, "missing: restore it"));
	assert_int_not_equal(access(kf, F_OK), 0);
	/* read-only: opens, and says why it cannot verify */
	st = test_open(t, path, STORE_READONLY, NULL, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_audit_key_problem(st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing: restore it"));
	store_close(st);
	/* the key from the environment (the file's text) */
	{
		struct store_options so = {.audit_key = "env:ISMS_TEST_KEY"};
		char text[256];
		FILE *fp = fopen(moved, "r");
		size_t n;

		assert_non_null(fp);
		n = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
		text[n] = '\0';
		unsetenv("ISMS_TEST_KEY");
		assert_null(store_open_opts(path, STORE_EXISTING, &so, NULL,
					    err, sizeof(err)));
		assert_non_null(strstr(err, "env:ISMS_TEST_KEY"));
		setenv("ISMS_TEST_KEY", text, 1);
		st = store_open_opts(path, STORE_EXISTING, &so, NULL, err,
				     sizeof(err));
		assert_non_null(st);
		assert_int_equal(store_audit_verify(st, &rows), 0);
		store_close(st);
		unsetenv("ISMS_TEST_KEY");
	}
	assert_int_equal(rename(moved, kf), 0);
	t->st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_non_null(t->st);
	assert_int_equal(store_audit_verify(t->st, &rows), 0);
	tenv_free(t);
}

/*
 * SQL that takes a database back to the schema as migration `name` left
 * it: the tables created by later migrations dropped, the columns they
 * added to older tables removed. Returns the schema version of `name`.
 */
static int
schema_back_to(const char *name, struct buf *sql)
{
	/* what a later migration makes, undone in an order SQLite accepts */
	static const struct {
		const char *made, *undo;
	} undo[] = {
	    {"CREATE VIEW IF NOT EXISTS ", "DROP VIEW IF EXISTS"},
	    {"CREATE VIEW ", "DROP VIEW IF EXISTS"},
	    {"CREATE TRIGGER IF NOT EXISTS ", "DROP TRIGGER IF EXISTS"},
	    {"CREATE TRIGGER ", "DROP TRIGGER IF EXISTS"},
	    {"CREATE UNIQUE INDEX IF NOT EXISTS ", "DROP INDEX IF EXISTS"},
	    {"CREATE UNIQUE INDEX ", "DROP INDEX IF EXISTS"},
	    {"CREATE INDEX IF NOT EXISTS ", "DROP INDEX IF EXISTS"},
	    {"CREATE INDEX ", "DROP INDEX IF EXISTS"},
	    {"CREATE TABLE IF NOT EXISTS ", "DROP TABLE IF EXISTS"},
	    {"CREATE TABLE ", "DROP TABLE IF EXISTS"},
	};
	int i, v = -1;
	size_t k;

	for (i = 0; i < embedded_migrations_count; i++)
		if (strcmp(embedded_migrations[i].name, name) == 0)
			v = i + 1;
	assert_true(v > 0);
	for (k = 0; k < sizeof(undo) / sizeof(undo[0]); k++)
		for (i = v; i < embedded_migrations_count; i++) {
			const char *q = embedded_migrations[i].text;
			size_t n = strlen(undo[k].made);
			char obj[64];

			for (; (q = strstr(q, undo[k].made)) != NULL; q++)
				if (sscanf(q + n, "%63[a-z_0-9]", obj) == 1 &&
				    strcmp(obj, "IF") != 0)
					buf_printf(sql, "%s %s; ", undo[k].undo,
						   obj);
		}
	for (i = v; i < embedded_migrations_count; i++) {
		const char *q = embedded_migrations[i].text;
		char tbl[64], col[64];

		for (; (q = strstr(q, "ALTER TABLE ")) != NULL; q++)
			if (sscanf(q,
				   "ALTER TABLE %63[a-z_0-9] ADD COLUMN "
				   "%63[a-z_0-9]",
				   tbl, col) == 2)
				buf_printf(sql,
					   "ALTER TABLE %s DROP COLUMN %s; ",
					   tbl, col);
	}
	/* and the later migrations are no longer recorded as applied */
	for (i = v; i < embedded_migrations_count; i++) {
		const char *m = embedded_migrations[i].name;

		buf_printf(sql,
			   "DELETE FROM schema_migrations WHERE name = "
			   "'%.*s'; ",
			   (int)(strlen(m) - 4), m);
	}
	return v;
}

static void
test_upgrade_unkeyed(void **state)
{
	struct tenv *t = tenv_new();
	char kf[1100], err[512], path[1024], sql[256];
	struct buf later = {0};
	struct buf out = {0};
	int64_t rows, old_last, since;
	int ok;

	(void)state;
	SQLITE_ONLY(t);
	as(t, "alice", "/incident Before the upgrade", &ok);
	snprintf(path, sizeof(path), "%s", t->path);
	key_file(t, kf, sizeof(kf));
	store_close(t->st);
	t->st = NULL;
	/* the database as the version before 008 left it: plain hashes, no
	 * keyed column, no record hashes, no key; the migrations after 008
	 * run again, so what they made goes too */
	snprintf(sql, sizeof(sql),
		 "DROP TABLE record_hashes; ALTER TABLE audit_log DROP "
		 "COLUMN keyed; DROP TABLE schema_migrations; PRAGMA "
		 "user_version = %d",
		 schema_back_to("008_evidence.sql", &later) - 1);
	if (later.len > 0)
		raw_exec(path, buf_str(&later));
	buf_free(&later);
	raw_exec(path, sql);
	raw_rechain_unkeyed(t, path, 0);
	assert_int_equal(unlink(kf), 0);

	t->st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_non_null(t->st);
	store_set_clock(t->st, test_now, NULL);
	assert_int_equal(access(kf, F_OK), 0);
	/* the migration's row is the last unkeyed one; the tail is keyed */
	old_last = count(t, "SELECT MAX(seq) FROM audit_log WHERE action = "
			    "'incident.report'");
	since = count(t, "SELECT MIN(seq) FROM audit_log WHERE keyed <> 0");
	assert_true(since > old_last);
	assert_int_equal(count(t, "SELECT action = 'audit.keyed' FROM "
				  "audit_log ORDER BY seq DESC LIMIT 1"),
			 1);
	assert_int_equal(store_audit_verify(t->st, &rows), 0);
	/* existing records were hashed on upgrade */
	assert_true(count(t, "SELECT COUNT(*) FROM record_hashes WHERE tbl = "
			     "'incidents'") == 1);
	assert_int_equal(store_records_verify(t->st, &out), 0);
	as(t, "alice", "/incident After the upgrade", &ok);
	assert_true(ok);
	assert_int_equal(store_audit_verify(t->st, &rows), 0);
	/* and a rewrite without the key is caught from the key's row on */
	raw_rechain_unkeyed(t, path, 1);
	assert_int_equal(store_audit_verify(t->st, &rows), since);
	buf_free(&out);
	tenv_free(t);
}

/* The mode bits of path (-1 when missing). */
static int
file_mode(const char *path)
{
	struct stat sb;

	return stat(path, &sb) < 0 ? -1 : (int)(sb.st_mode & 07777);
}

static void
test_migrations_by_name(void **state)
{
	struct tenv *t = tenv_new();

	(void)state;
	assert_int_equal(count(t, "SELECT COUNT(*) FROM schema_migrations"),
			 store_schema_version());
	assert_int_equal(count(t, "SELECT COUNT(*) FROM schema_migrations "
				  "WHERE name = '001_core'"),
			 1);
	/* a fresh database needs no backup before its first migrations */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM schema_migrations "
				  "WHERE applied_at IS NULL"),
			 0);
	tenv_free(t);
}

/*
 * A database from before names were kept (user_version only) two
 * versions back: the applied ones are recorded by name, a backup is
 * written beside it first (0600, openable, the data before migrating),
 * and the rest applied with their names.
 */
static void
test_upgrade_from_user_version(void **state)
{
	struct tenv *t = tenv_new();
	char path[1024], bak[1100], err[512], sql[128];
	struct buf later = {0};
	struct store *copy;
	int64_t n = 0;
	int v, ok;

	(void)state;
	SQLITE_ONLY(t);
	as(t, "alice", "/incident Before the upgrade", &ok);
	assert_true(ok);
	snprintf(path, sizeof(path), "%s", t->path);
	store_close(t->st);
	t->st = NULL;
	v = schema_back_to("012_training.sql", &later);
	raw_exec(path, buf_str(&later));
	buf_free(&later);
	snprintf(sql, sizeof(sql),
		 "DROP TABLE schema_migrations; PRAGMA user_version = %d", v);
	raw_exec(path, sql);

	t->st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_non_null(t->st);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM schema_migrations"),
			 store_schema_version());
	assert_int_equal(count(t, "PRAGMA user_version"),
			 store_schema_version());
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'schema.migrate' AND object = "
				  "'013_findings.sql'"),
			 2); /* once at init, once now */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'schema.migrate' AND object = "
				  "'012_training.sql'"),
			 1);
	/* the backup before the first migration applied */
	snprintf(bak, sizeof(bak), "%s.pre-013_findings.bak", path);
	assert_int_equal(file_mode(bak), 0600);
	copy = store_open_mode(bak, STORE_READONLY, NULL, err, sizeof(err));
	assert_non_null(copy);
	assert_int_equal(
	    db_int(copy, &n, "SELECT COUNT(*) FROM incidents", NULL), 1);
	assert_int_equal(n, 1);
	assert_int_equal(store_check_current(copy, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "013_findings is not"));
	store_close(copy);
	as(t, "alice", "/incident After the upgrade", &ok);
	assert_true(ok);
	/* opening again migrates nothing and backs up nothing more */
	store_close(t->st);
	t->st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_non_null(t->st);
	snprintf(bak, sizeof(bak), "%s.pre-013_findings.2.bak", path);
	assert_int_equal(file_mode(bak), -1);
	tenv_free(t);
}

/* A migration this program does not know (a newer one's) is refused. */
static void
test_unknown_migration_refused(void **state)
{
	struct tenv *t = tenv_new();
	char path[1024], err[512];
	struct store *st;

	(void)state;
	snprintf(path, sizeof(path), "%s", t->path);
	store_close(t->st);
	t->st = NULL;
	raw_exec(path, "INSERT INTO schema_migrations(name, applied_at) "
		       "VALUES ('099_future', '2030-01-01T00:00:00Z')");
	st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "\"099_future\""));
	assert_non_null(strstr(err, "newer than this program supports"));
	st = test_open(t, path, STORE_READONLY, NULL, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "099_future"));
	raw_exec(path, "DELETE FROM schema_migrations WHERE name = "
		       "'099_future'");
	t->st = test_open(t, path, STORE_CREATE, NULL, err, sizeof(err));
	assert_non_null(t->st);
	tenv_free(t);
}

/*
 * Every file of the store is 0600, or 0640 and in the configured group
 * (the process's own group here).
 */
static void
check_modes(const char *dir, int mode, gid_t gid)
{
	static const char *const files[] = {
	    "m.db",	      "m.db-wal", "m.db-shm",	   "m.db.lock",
	    "m.db.audit-key", "b.db",	  "b.db.audit-key"};
	char p[256];
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		if (stat(p, &sb) < 0)
			fail_msg("%s: missing", p);
		if ((int)(sb.st_mode & 07777) != mode)
			fail_msg("%s: mode %o, expected %o", p,
				 (unsigned)(sb.st_mode & 07777),
				 (unsigned)mode);
		assert_int_equal(sb.st_gid, gid);
	}
}

static void
test_file_modes(void **state)
{
	struct tenv *t = tenv_new();
	char path[1024], bak[1100], err[512];
	struct store_options so = {0};
	struct group *gr = getgrgid(getegid());
	struct store *st;
	int pass, ok;

	(void)state;
	SQLITE_ONLY(t);
	assert_non_null(gr);
	snprintf(path, sizeof(path), "%s/m.db", t->dir);
	snprintf(bak, sizeof(bak), "%s/b.db", t->dir);
	for (pass = 0; pass < 2; pass++) {
		so.group = pass ? gr->gr_name : NULL;
		st = store_open_opts(path, STORE_CREATE, &so, NULL, err,
				     sizeof(err));
		assert_non_null(st);
		assert_int_equal(store_lock_exclusive(st, err, sizeof(err)), 0);
		unlink(bak);
		assert_int_equal(store_backup(st, bak, err, sizeof(err)), 0);
		check_modes(t->dir, pass ? 0640 : 0600, getegid());
		store_close(st);
	}
	/* and a database made with a group from the start */
	snprintf(bak, sizeof(bak), "%s/g.db", t->dir);
	st = store_open_opts(bak, STORE_CREATE, &so, NULL, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(file_mode(bak), 0640);
	store_close(st);
	/* a group that does not exist is refused, nothing is made */
	so.group = "no-such-group-isms";
	snprintf(bak, sizeof(bak), "%s/n.db", t->dir);
	st = store_open_opts(bak, STORE_CREATE, &so, NULL, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "store.group: no such group"));
	assert_int_equal(file_mode(bak), -1);
	(void)ok;
	tenv_free(t);
}

static void
test_memory_store_keyed(void **state)
{
	char err[256];
	struct store *st = store_open(":memory:", err, sizeof(err));
	int64_t rows, n = 0;

	(void)state;
	assert_non_null(st);
	assert_int_equal(
	    db_int(st, &n, "SELECT COUNT(*) FROM audit_log WHERE keyed <> 0",
		   NULL),
	    1);
	assert_true(n >= 1);
	assert_int_equal(store_audit_verify(st, &rows), 0);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrated),
	    cmocka_unit_test(test_newer_database_refused),
	    cmocka_unit_test(test_audit_chain),
	    cmocka_unit_test(test_audit_chain_deleted_and_inserted),
	    cmocka_unit_test(test_query_only),
	    cmocka_unit_test(test_inbox_dedupe),
	    cmocka_unit_test(test_unknown_sender),
	    cmocka_unit_test(test_backup),
	    cmocka_unit_test(test_audit_keyed),
	    cmocka_unit_test(test_audit_head),
	    cmocka_unit_test(test_records_outside),
	    cmocka_unit_test(test_records_rollback_and_nesting),
	    cmocka_unit_test(test_records_link_tables),
	    cmocka_unit_test(test_key_missing),
	    cmocka_unit_test(test_upgrade_unkeyed),
	    cmocka_unit_test(test_memory_store_keyed),
	    cmocka_unit_test(test_migrations_by_name),
	    cmocka_unit_test(test_upgrade_from_user_version),
	    cmocka_unit_test(test_unknown_migration_refused),
	    cmocka_unit_test(test_file_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
