/* Unit tests of the store: migrations, the audit chain, dedupe, outbox. */
#include "testutil.h"

#include <sys/stat.h>

#include "../../base/embedded.h"

static void
test_migrated(void **state)
{
	struct tenv *t = tenv_new();
	char *secret;

	(void)state;
	assert_int_equal(count(t, "PRAGMA user_version"),
			 store_schema_version());
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
	char err[512], path[160];
	struct store *st;

	(void)state;
	snprintf(path, sizeof(path), "%s", t->path);
	assert_true(db_exec(t->st, "PRAGMA user_version = 999", NULL) >= 0);
	store_close(t->st);
	st = store_open(path, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "newer than this program supports"));
	t->st = store_open(path, err, sizeof(err)); /* still refused */
	assert_null(t->st);
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 store_schema_version());
		assert_int_equal(
		    store_exec_foreign(path, sql, err, sizeof(err)), 0);
	}
	t->st = store_open(path, err, sizeof(err));
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
	char path[160], err[256];
	struct store *copy;
	int64_t n = 0, rows;
	int ok;

	(void)state;
	as(t, "alice", "/incident backed up", &ok);
	snprintf(path, sizeof(path), "%s/copy.db", t->dir);
	assert_int_equal(store_backup(t->st, path, err, sizeof(err)), 0);
	copy = store_open(path, err, sizeof(err));
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
raw_rechain_unkeyed(const char *path, int has_keyed)
{
	struct store *ro;
	struct db_stmt *s;
	struct buf script = {0};
	char prev[65] = "0000000000000000000000000000000000000000000000000000"
			"000000000000",
	     hash[65], err[512];

	ro = store_open_mode(path, STORE_READONLY, NULL, err, sizeof(err));
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
	snprintf(out, len, "%s.audit-key", t->path);
}

static void
test_audit_keyed(void **state)
{
	struct tenv *t = tenv_new();
	char kf[192], text[256];
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
	first_keyed = count(t, "SELECT MIN(seq) FROM audit_log WHERE keyed");
	assert_int_equal(first_keyed, since);
	assert_int_equal(count(t,
			       "SELECT COUNT(*) FROM audit_log WHERE action = "
			       "'audit.keyed'"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE seq "
				  ">= (SELECT MIN(seq) FROM audit_log WHERE "
				  "keyed) AND NOT keyed"),
			 0);
	assert_int_equal(store_audit_verify(t->st, &rows), 0);

	/* the whole chain recomputed without the key does not pass */
	raw_rechain_unkeyed(t->path, 1);
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
	since = count(t, "SELECT MIN(seq) FROM audit_log WHERE keyed");
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
	char kf[192], moved[200], err[512], path[160];
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
	t->st =
	    store_open_mode(path, STORE_EXISTING, &missing, err, sizeof(err));
	assert_null(t->st);
	assert_true(missing);
	assert_non_null(strstr(err, "missing: restore it"));
	assert_int_not_equal(access(kf, F_OK), 0);
	/* read-only: opens, and says why it cannot verify */
	st = store_open_mode(path, STORE_READONLY, NULL, err, sizeof(err));
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
	t->st = store_open(path, err, sizeof(err));
	assert_non_null(t->st);
	assert_int_equal(store_audit_verify(t->st, &rows), 0);
	tenv_free(t);
}

/* The index of the migration named name, which must exist. */
static int
migration_index(const char *name)
{
	int i;

	for (i = 0; i < embedded_migrations_count; i++)
		if (strcmp(embedded_migrations[i].name, name) == 0)
			return i;
	fail_msg("no migration %s", name);
	return -1;
}

/*
 * Appends to script what undoes the migrations after index k (newest
 * first: indexes, added columns, then tables), so that an upgrade from
 * the version k + 1 left can replay them. Migrations create with CREATE
 * TABLE / INDEX and ALTER TABLE ... ADD COLUMN, name and object on one
 * line.
 */
/* What undoes one line of a migration in pass p (see below), if any. */
static void
undo_line(int p, const char *line, struct buf *script)
{
	char a[64], b[64];

	if (p == 0 && (sscanf(line, "CREATE INDEX %63s", a) == 1 ||
		       sscanf(line, "CREATE UNIQUE INDEX %63s", a) == 1))
		buf_printf(script, "DROP INDEX %s;", a);
	else if (p == 1 &&
		 sscanf(line, "ALTER TABLE %63s ADD COLUMN %63s", a, b) == 2)
		buf_printf(script, "ALTER TABLE %s DROP COLUMN %s;", a, b);
	else if (p == 2 && sscanf(line, "CREATE TABLE %63s", a) == 1)
		buf_printf(script, "DROP TABLE %s;", a);
}

/*
 * Appends to script what undoes the migrations after index k (newest
 * first; in each, indexes, then added columns, then tables), so that an
 * upgrade from the version k + 1 left can replay them. Migrations create
 * with CREATE TABLE / INDEX and ALTER TABLE ... ADD COLUMN, the name on
 * the same line.
 */
static void
undo_migrations_after(int k, struct buf *script)
{
	int i, p;

	for (i = embedded_migrations_count - 1; i > k; i--)
		for (p = 0; p < 3; p++) {
			const char *line = embedded_migrations[i].text;

			while (line != NULL && *line) {
				undo_line(p, line, script);
				line = strchr(line, '\n');
				if (line != NULL)
					line++;
			}
		}
}

static void
test_upgrade_unkeyed(void **state)
{
	struct tenv *t = tenv_new();
	char kf[192], err[512], path[160];
	struct buf out = {0}, script = {0};
	int64_t rows, old_last, since;
	int ok, k;

	(void)state;
	as(t, "alice", "/incident Before the upgrade", &ok);
	snprintf(path, sizeof(path), "%s", t->path);
	key_file(t, kf, sizeof(kf));
	store_close(t->st);
	t->st = NULL;
	/* the database as the version before 008_evidence left it: plain
	 * hashes, no keyed column, no record hashes, no key (and nothing of
	 * the migrations after it, which the upgrade applies again) */
	k = migration_index("008_evidence.sql");
	undo_migrations_after(k, &script);
	buf_printf(&script,
		   "DROP TABLE record_hashes; ALTER TABLE audit_log DROP "
		   "COLUMN keyed; PRAGMA user_version = %d",
		   k);
	raw_exec(path, buf_str(&script));
	buf_free(&script);
	raw_rechain_unkeyed(path, 0);
	assert_int_equal(unlink(kf), 0);

	t->st = store_open(path, err, sizeof(err));
	assert_non_null(t->st);
	store_set_clock(t->st, test_now, NULL);
	assert_int_equal(access(kf, F_OK), 0);
	/* the migration's row is the last unkeyed one; the tail is keyed */
	old_last = count(t, "SELECT MAX(seq) FROM audit_log WHERE action = "
			    "'incident.report'");
	since = count(t, "SELECT MIN(seq) FROM audit_log WHERE keyed");
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
	raw_rechain_unkeyed(path, 1);
	assert_int_equal(store_audit_verify(t->st, &rows), since);
	buf_free(&out);
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
	    db_int(st, &n, "SELECT COUNT(*) FROM audit_log WHERE keyed", NULL),
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
