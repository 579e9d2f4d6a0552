/* Unit tests of the staff CSV import. */
#include "testutil.h"

#define HDR STAFF_HEADER "\n"

static int
import(struct tenv *t, const char *csv, char *err, size_t errlen)
{
	int c, u;

	return staff_import(t->st, csv, strlen(csv), "test", &c, &u, err,
			    errlen);
}

static void
test_upsert_and_managers(void **state)
{
	struct tenv *t = tenv_new();
	struct person p;
	char err[256];
	int c, u;
	const char *csv =
	    HDR "zed,Zed Z,zed@example.org,,,yan,ops,UTC,risk_owner\n"
		"yan,\"Yan, Y\",yan@example.org,U0YAN,@yan:example.org,,ops,,"
		"manager\n";

	(void)state;
	assert_int_equal(staff_import(t->st, csv, strlen(csv), "test", &c, &u,
				      err, sizeof(err)),
			 0);
	assert_int_equal(c, 2);
	assert_int_equal(store_person_find(t->st, "handle", "zed", &p), 1);
	assert_true(p.roles & ROLE_RISK_OWNER);
	assert_true(p.roles & ROLE_STAFF);
	assert_true(p.manager_id > 0); /* manager listed later in the file */
	assert_int_equal(store_person_find(t->st, "handle", "yan", &p), 1);
	assert_string_equal(p.name, "Yan, Y");
	/* re-import updates by handle */
	csv =
	    HDR "yan,Yan Young,yan@example.org,U0YAN,,,ops,,manager;auditor\n";
	assert_int_equal(staff_import(t->st, csv, strlen(csv), "test", &c, &u,
				      err, sizeof(err)),
			 0);
	assert_int_equal(u, 1);
	assert_int_equal(c, 0);
	assert_int_equal(store_person_find(t->st, "handle", "yan", &p), 1);
	assert_string_equal(p.name, "Yan Young");
	assert_true(p.roles & ROLE_AUDITOR);
	assert_string_equal(p.matrix_id, "");
	tenv_free(t);
}

static void
test_bad_rows_import_nothing(void **state)
{
	static const struct {
		const char *row, *msg;
	} bad[] = {
	    {"ok1,Ok,ok1@example.org,,,,,,\nbad handle,X,,,,,,,\n",
	     "line 3 (bad handle): handle must be"},
	    {"x,,,,,,,,\n", "line 2 (x): name is required"},
	    {"x,X,not-an-email,,,,,,\n", "invalid e-mail"},
	    {"x,X,,u123,,,,,\n", "invalid Slack user id"},
	    {"x,X,,,alice:example.org,,,,\n", "invalid Matrix id"},
	    {"x,X,,,,,,Mars/Olympus,\n", "unknown time zone"},
	    {"x,X,,,,,,,superuser\n", "unknown role"},
	    {"x,X,,,,ghost,,,\n", "manager \"ghost\" is not in the file"},
	    {"x,X,,,,x,,,\n", "own manager"},
	    {"x,X,,,\n", "expected 9 fields, found 5"},
	    {"x,\"X,,,,,,,\n", "malformed quoting"},
	    {"x,X,alice@example.org,,,,,,\n", "conflicts with another person"},
	};
	struct tenv *t = tenv_new();
	int64_t before = count(t, "SELECT COUNT(*) FROM people");
	int64_t audit = count(t, "SELECT COUNT(*) FROM audit_log");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char csv[512], err[256] = "";

		snprintf(csv, sizeof(csv), HDR "%s", bad[i].row);
		assert_int_equal(import(t, csv, err, sizeof(err)), -1);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err,
				 bad[i].msg);
	}
	assert_int_equal(count(t, "SELECT COUNT(*) FROM people"), before);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log"), audit);
	tenv_free(t);
}

static void
test_header_and_encoding(void **state)
{
	struct tenv *t = tenv_new();
	char err[256];

	(void)state;
	assert_int_equal(import(t, "handle,name\nx,X\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "header must be exactly"));
	assert_int_equal(import(t, HDR "x,\xff\xfe,,,,,,,\n", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "UTF-8"));
	/* a spreadsheet's BOM and CRLF line ends are fine */
	assert_int_equal(import(t,
				"\xef\xbb\xbf" STAFF_HEADER
				"\r\nq,Q\xc3\xa9,,,,,,,\r\n\r\n",
				err, sizeof(err)),
			 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM people WHERE "
				  "handle = 'q'"),
			 1);
	tenv_free(t);
}

static int
run(struct tenv *t, const char *who, const char *text, const char **reply)
{
	int ok;

	*reply = as(t, who, text, &ok);
	return ok;
}

/* A leaver: deactivated by an admin, their open work listed. */
static void
test_deactivate(void **state)
{
	struct tenv *t = tenv_new();
	const char *r;
	int64_t before;
	char **missing = NULL;
	size_t nmissing = 0, i;
	char err[256];
	int c, u;

	(void)state;
	assert_true(run(t, "frank", "/incident Door left open", &r));
	assert_true(run(t, "carol", "incident assign INC-1 @frank", &r));
	assert_true(run(t, "carol",
			"action add Fix the door owner=@frank due=2027-01-31",
			&r));
	before = changes_fingerprint(t);
	assert_false(run(t, "carol", "staff deactivate @frank", &r));
	assert_non_null(strstr(r, "needs the admin role"));
	assert_false(run(t, "grace", "staff deactivate @frank", &r));
	assert_false(run(t, "dana", "staff deactivate @dana", &r));
	assert_int_equal(changes_fingerprint(t), before);
	assert_true(run(t, "dana", "staff deactivate @frank", &r));
	assert_non_null(strstr(r, "frank deactivated"));
	assert_non_null(strstr(r, "INC-1 incident they handle"));
	assert_non_null(strstr(r, "ACT-1 action due 2027-01-31"));
	/* the isms_managers get the list */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people p "
				  "ON p.id = o.person_id WHERE p.handle IN "
				  "('carol', 'erik') AND o.subject = 'Leaver "
				  "frank deactivated: 2 open items to "
				  "reassign'"),
			 2);
	/* a leaver runs nothing and is given nothing new */
	assert_false(run(t, "frank", "incident list", &r));
	assert_non_null(strstr(r, "not in the ISMS directory"));
	assert_false(run(t, "carol", "incident assign INC-1 @frank", &r));
	assert_non_null(strstr(r, "no person @frank"));
	assert_true(run(t, "carol", "incident assign INC-1 @bob", &r));
	/* a re-import that leaves someone out names them */
	{
		const char *csv = STAFF_HEADER "\n"
					       "dana,Dana O,dana@example.org,"
					       "U0DANA,@dana:example.org,,mgmt,"
					       ",manager;admin\n";

		assert_int_equal(staff_import_missing(
				     t->st, csv, strlen(csv), "test", &c, &u,
				     &missing, &nmissing, err, sizeof(err)),
				 0);
	}
	assert_int_equal(nmissing, 5); /* alice bob carol erik grace */
	assert_string_equal(missing[0], "alice");
	for (i = 0; i < nmissing; i++)
		free(missing[i]);
	free(missing);
	tenv_free(t);
}

/* One audit row per person added or changed, with the changed fields. */
static void
test_audit_per_person(void **state)
{
	struct tenv *t = tenv_new();
	char err[256];
	int64_t base = count(t, "SELECT MAX(seq) FROM audit_log");
	const char *same = HDR
	    "frank,Frank W,frank@example.org,U0FRANK,,bob,eng,,\n"
	    "grace,Grace H,grace@example.org,U0GRACE,,dana,audit,,auditor\n";
	const char *changed =
	    HDR "frank,Frank West,frank@example.org,U0FRANK,,carol,eng,,"
		"risk_owner\n"
		"grace,Grace H,grace@example.org,U0GRACE,,dana,audit,,auditor\n"
		"hana,Hana K,hana@example.org,,,frank,eng,UTC,\n";
	char *d;

	(void)state;
	/* the setup's import added 7 people, one row each */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'staff.add'"),
			 7);
	assert_int_equal(import(t, same, err, sizeof(err)), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action IN ('staff.add', 'staff.update')"),
			 7);
	assert_int_equal(import(t, changed, err, sizeof(err)), 0);
	d = db_text(t->st,
		    "SELECT actor || ' ' || object || ' ' || details FROM "
		    "audit_log WHERE action = 'staff.update' AND seq > ?",
		    "i", base);
	assert_non_null(d);
	assert_string_equal(
	    d,
	    "test frank {\"after\":{\"manager\":\"carol\",\"name\":\"Frank "
	    "West\",\"roles\":\"staff,risk_owner\"},\"before\":{"
	    "\"manager\":\"bob\",\"name\":\"Frank W\",\"roles\":\"staff\"}}");
	free(d);
	d = db_text(t->st,
		    "SELECT details FROM audit_log WHERE action = 'staff.add' "
		    "AND object = 'hana'",
		    NULL);
	assert_non_null(d);
	assert_string_equal(
	    d, "{\"after\":{\"email\":\"hana@example.org\",\"manager\":"
	       "\"frank\",\"name\":\"Hana K\",\"roles\":\"staff\",\"team\":"
	       "\"eng\",\"timezone\":\"UTC\"}}");
	free(d);
	/* grace was unchanged: no row for her */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "object = 'grace' AND action != 'staff.add'"),
			 0);
	tenv_free(t);
}

/*
 * Details are JSON as a JSON library writes them (quotes, backslashes and
 * control characters escaped, UTF-8 as it is); a manager named further
 * down in another case is that person; a handle named twice in two cases
 * is refused.
 */
static void
test_audit_details_text(void **state)
{
	struct tenv *t = tenv_new();
	char err[256];
	const char *csv =
	    HDR "ivy,\"Ivy \"\"Q\"\" \\ \x01\tZo\xc3\xab\nL\",,,,Jon,eng,,\n"
		"jon,Jon,,,,,eng,,\n";
	json_t *want;
	char *d, *w;
	struct person ivy, jon;

	(void)state;
	assert_int_equal(import(t, csv, err, sizeof(err)), 0);
	assert_int_equal(store_person_find(t->st, "handle", "ivy", &ivy), 1);
	assert_int_equal(store_person_find(t->st, "handle", "jon", &jon), 1);
	assert_int_equal(ivy.manager_id, jon.id);
	d = db_text(t->st,
		    "SELECT details FROM audit_log WHERE action = 'staff.add' "
		    "AND object = 'ivy'",
		    NULL);
	want = json_pack("{s:{s:s,s:s,s:s,s:s}}", "after", "manager", "jon",
			 "name", "Ivy \"Q\" \\ \x01\tZo\xc3\xab\nL", "roles",
			 "staff", "team", "eng");
	w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(d);
	assert_string_equal(d, w);
	free(d);
	free(w);
	json_decref(want);
	csv = HDR "kim,Kim,,,,,,,\nKIM,Kim,,,,,,,\n";
	assert_int_equal(import(t, csv, err, sizeof(err)), -1);
	assert_string_equal(err, "line 3: handle @KIM already on line 2");
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upsert_and_managers),
	    cmocka_unit_test(test_bad_rows_import_nothing),
	    cmocka_unit_test(test_header_and_encoding),
	    cmocka_unit_test(test_deactivate),
	    cmocka_unit_test(test_audit_per_person),
	    cmocka_unit_test(test_audit_details_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
