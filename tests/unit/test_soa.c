/* Unit tests of the Statement of Applicability (controls) and of the
 * register's exports. */
#include "regutil.h"

#include "../../store/export.h"

static void
test_93_controls(void **state)
{
	struct tenv *t = setup();
	struct store *again;
	char err[256];

	(void)state;
	assert_int_equal(count(t, "SELECT COUNT(*) FROM controls"), 93);
	assert_sql(t,
		   "SELECT group_concat(theme || ':' || n, ' ') FROM (SELECT "
		   "theme, COUNT(*) AS n FROM controls GROUP BY theme ORDER "
		   "BY theme)",
		   "organizational:37 people:8 physical:14 technological:34");
	assert_sql(t, "SELECT title FROM controls WHERE id = '5.15'",
		   "Access control");
	/* reopening loads nothing twice and logs nothing */
	again = store_open(t->path, err, sizeof(err));
	assert_non_null(again);
	store_close(again);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM controls"), 93);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'soa.load'"),
			 1);
	/* a lost control comes back on the next open */
	assert_int_equal(db_exec(t->st,
				 "DELETE FROM controls WHERE id = "
				 "'8.34'",
				 NULL),
			 1);
	again = store_open(t->path, err, sizeof(err));
	assert_non_null(again);
	store_close(again);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM controls"), 93);
	tenv_free(t);
}

static void
test_control_list(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "alice", "control list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "5.1   [not_started] Policies for "
				  "information security"));
	assert_non_null(strstr(r, "93 controls: 0 implemented, 0 partial, 93 "
				  "not started, 0 not applicable."));
	r = as(t, "alice", "control list theme=people", &ok);
	assert_non_null(strstr(r, "8 controls"));
	assert_non_null(strstr(r, "6.8   [not_started]"));
	assert_null(strstr(r, "5.1 "));
	ok_as(t, "carol", "control set 8.7 status=implemented");
	ok_as(t, "carol", "control set 5.15 status=partial owner=@bob");
	r = as(t, "grace", "control list status=implemented", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "8.7   [implemented] Protection against "
				  "malware (owner -)"));
	assert_non_null(strstr(r, "1 control: 1 implemented"));
	refused_as(t, "alice", "control list theme=legal",
		   "theme= must be organizational, people, physical or "
		   "technological");
	refused_as(t, "alice", "control list status=done",
		   "status= must be not_started, partial or implemented");
	tenv_free(t);
}

static void
test_control_set(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	/* applicability no needs a justification */
	before = everything(t);
	refused_as(t, "carol", "control set 7.4 applicable=no",
		   "applicable=no needs a justification");
	refused_as(t, "carol", "control set 9.9 status=partial",
		   "no Annex A control \"9.9\"");
	refused_as(t, "carol", "control set 5.15", "usage: control set");
	refused_as(t, "carol", "control set 5.15 status=done",
		   "status= must be");
	refused_as(t, "bob", "control set 5.15 status=partial",
		   "only the owner of A.5.15 or an isms_manager");
	refused_as(t, "grace", "control set 5.15 status=partial",
		   "not allowed");
	assert_int_equal(everything(t), before);
	ok_as(t, "carol",
	      "control set A.7.4 applicable=no "
	      "justification=\"Fully remote company\"");
	assert_sql(t,
		   "SELECT applicable || '|' || justification FROM controls "
		   "WHERE id = '7.4'",
		   "0|Fully remote company");
	assert_sql(t,
		   "SELECT object || ' ' || details FROM audit_log WHERE "
		   "action = 'control.set'",
		   "A.7.4 {\"changes\":{\"applicable\":[\"yes\",\"no\"],"
		   "\"justification\":[\"\",\"Fully remote company\"]},"
		   "\"via\":\"console\"}");
	refused_as(t, "carol", "control set 7.4 applicable=no",
		   "already has these values");
	/* the owner may then keep it up to date, not give it away */
	ok_as(t, "carol", "control set 5.15 owner=@bob");
	ok_as(t, "bob",
	      "control set 5.15 status=implemented "
	      "notes=\"Access policy in force\"");
	r = as(t, "bob", "control show 5.15", &ok);
	assert_non_null(strstr(r, "Notes: Access policy in force"));
	/* ... but not decide whether it applies, nor why */
	before = everything(t);
	refused_as(t, "bob",
		   "control set 5.15 applicable=no justification=\"Not "
		   "needed\"",
		   "not allowed: only an isms_manager decides whether 5.15 "
		   "applies and why");
	refused_as(t, "bob", "control set 5.15 justification=\"Because\"",
		   "only an isms_manager decides");
	/* and an isms_manager gives a justification for either change */
	refused_as(t, "carol", "control set 7.4 applicable=yes",
		   "applicable=yes needs a justification in the same command");
	assert_int_equal(everything(t), before);
	refused_as(t, "bob", "control set 5.15 owner=@alice",
		   "only an isms_manager may give a control an owner");
	/* show with linked risks */
	ok_as(t, "bob", "risk add Stolen laptop likelihood=3 impact=4");
	ok_as(t, "bob", "risk treat RSK-1 mitigate Encrypt controls=5.15,8.1");
	r = as(t, "grace", "control show 5.15", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "5.15 Access control (organizational)"));
	assert_non_null(strstr(r, "Status: implemented. Owner: bob."));
	assert_non_null(strstr(r, "RSK-1 [high 12] Stolen laptop (mitigate)"));
	/* staff see that risks are linked, not which */
	r = as(t, "alice", "control show 5.15", &ok);
	assert_true(ok);
	assert_null(strstr(r, "Stolen laptop"));
	assert_non_null(strstr(r, "Linked risks: 1"));
	tenv_free(t);
}

/* An export as text; caller frees. */
static char *
export_text(struct tenv *t, const char *name, const char *format)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	if (export_write(t->st, name, format, fp, err, sizeof(err)) < 0)
		fail_msg("export %s: %s", name, err);
	fclose(fp);
	return text;
}

static int
lines_of(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_exports(void **state)
{
	struct tenv *t = setup();
	char *e;

	(void)state;
	ok_as(t, "carol",
	      "control set 7.4 applicable=no "
	      "justification=\"Fully remote, no premises\"");
	ok_as(t, "bob",
	      "asset add Laptops type=hardware "
	      "classification=confidential c=3 i=2 a=2");
	ok_as(t, "bob",
	      "risk add Stolen laptop likelihood=3 impact=4 "
	      "asset=AST-1");
	ok_as(t, "bob",
	      "risk treat RSK-1 mitigate Encrypt controls=8.1,5.15 "
	      "residual_likelihood=1");
	ok_as(t, "bob", "risk add Phishing likelihood=4 impact=4");
	ok_as(t, "bob", "risk treat RSK-2 accept Too costly");
	ok_as(t, "bob",
	      "action add Encrypt the fleet due=2027-01-31 "
	      "source=RSK-1");
	e = export_text(t, "soa", "csv");
	assert_int_equal(lines_of(e), 94);
	assert_true(strncmp(e,
			    "control,theme,title,applicable,status,"
			    "justification,owner,risks,updated,custom,reason,"
			    "implementation,evidence,soa\r\n",
			    115) == 0);
	assert_non_null(strstr(e, "\r\n7.4,physical,Physical security "
				  "monitoring,no,not_started,\"Fully remote, "
				  "no premises\",,,"));
	assert_non_null(strstr(e, "\r\n8.1,technological,User end point "
				  "devices,yes,not_started,,,RSK-1,,no,,,0,"
				  "draft\r\n"));
	free(e);
	e = export_text(t, "risks", "csv");
	assert_int_equal(lines_of(e), 3);
	assert_non_null(strstr(e, "RSK-1,Stolen laptop,AST-1,bob,,,3,4,12,"
				  "high,mitigate,Encrypt,1,4,4,low,5.15 8.1,"));
	assert_non_null(strstr(e, "RSK-2,Phishing,,bob,,,4,4,16,high,accept "
				  "pending APR-1,"));
	free(e);
	e = export_text(t, "actions", "json");
	assert_non_null(strstr(e, "\"id\": \"ACT-1\""));
	assert_non_null(strstr(e, "\"source\": \"RSK-1\""));
	free(e);
	e = export_text(t, "soa", "md");
	assert_int_equal(lines_of(e), 95);
	free(e);
	e = export_text(t, "assets", "csv");
	assert_non_null(strstr(e, "AST-1,Laptops,hardware,bob,confidential,3,"
				  "2,2,1,"));
	free(e);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_93_controls),
	    cmocka_unit_test(test_control_list),
	    cmocka_unit_test(test_control_set),
	    cmocka_unit_test(test_exports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
