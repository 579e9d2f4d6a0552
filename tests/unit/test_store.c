/* Unit tests of the store: migrations, the audit chain, dedupe, outbox. */
#include "testutil.h"

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
		sqlite3 *db;
		char sql[64];

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 store_schema_version());
		sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_close(db);
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
		"object, details, hash, 'ffff' FROM audit_log WHERE seq = "
		"(SELECT MAX(seq) FROM audit_log)",
		NULL);
	assert_int_equal(store_audit_verify(t->st, &rows), last + 1);
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
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrated),
	    cmocka_unit_test(test_newer_database_refused),
	    cmocka_unit_test(test_audit_chain),
	    cmocka_unit_test(test_audit_chain_deleted_and_inserted),
	    cmocka_unit_test(test_inbox_dedupe),
	    cmocka_unit_test(test_unknown_sender),
	    cmocka_unit_test(test_backup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
