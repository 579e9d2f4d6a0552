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
		   "BY theme) x",
		   "organizational:37 people:8 physical:14 technological:34");
	assert_sql(t, "SELECT title FROM controls WHERE id = '5.15'",
		   "Access control");
	/* reopening loads nothing twice and logs nothing */
	again = test_store_open(t->path, t->keyspec, err, sizeof(err));
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
	again = test_store_open(t->path, t->keyspec, err, sizeof(err));
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

/* An export as of version (0: the current state); caller frees. */
static char *
export_version(struct tenv *t, const char *name, int64_t version, int *rc)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	*rc = export_write_version(t->st, name, "csv", version, fp, err,
				   sizeof(err));
	fclose(fp);
	return text;
}

/* SoA tables and the controls' rows: unchanged means untouched. */
static int64_t
soa_fingerprint(struct tenv *t)
{
	return everything(t) * 31 +
	       count(t, "SELECT (SELECT COUNT(*) FROM controls) + (SELECT "
			"COUNT(*) FROM soa_versions) * 1000 + (SELECT COUNT(*) "
			"FROM soa_version_controls) + (SELECT COUNT(*) FROM "
			"controls WHERE reason IS NOT NULL OR implementation "
			"IS NOT NULL)");
}

static void
test_custom_controls(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	r = as(t, "carol",
	       "control add x.1 Supplier security reviews theme=people", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Custom control X.1 added: Supplier "
				  "security reviews (people)"));
	assert_sql(t,
		   "SELECT id || '|' || custom || '|' || theme || '|' || "
		   "CASE WHEN seq > 1000 THEN 1 ELSE 0 END FROM controls WHERE "
		   "custom <> 0",
		   "X.1|1|people|1");
	assert_sql(t,
		   "SELECT object FROM audit_log WHERE action = "
		   "'control.add'",
		   "X.1");
	before = soa_fingerprint(t);
	refused_as(t, "carol", "control add X.1 Again",
		   "control X.1 already exists");
	refused_as(t, "carol", "control add 5.15 Clash",
		   "a custom control's id is a letter followed by");
	refused_as(t, "carol", "control add A.9 Clash", "not starting with A.");
	refused_as(t, "carol", "control add ORG-1", "usage: control add");
	refused_as(t, "carol", "control add ORG-1 T theme=legal",
		   "theme= must be organizational, people, physical or "
		   "technological");
	refused_as(t, "bob", "control add ORG-1 Mine", "not allowed");
	assert_int_equal(soa_fingerprint(t), before);
	/* marked in list and show; any case finds it */
	r = as(t, "alice", "control list theme=people", &ok);
	assert_non_null(strstr(r, "X.1   [not_started] Supplier security "
				  "reviews (owner -; custom)"));
	assert_non_null(strstr(r, "9 controls"));
	r = as(t, "alice", "control show x.1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "X.1 Supplier security reviews (people, "
				  "custom)"));
	ok_as(t, "carol", "control set x.1 status=partial");
	assert_sql(t,
		   "SELECT object FROM audit_log WHERE action = 'control.set'",
		   "X.1");
	tenv_free(t);
}

static void
test_reason_implementation(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol",
	      "control set 5.15 reason=legal,risk owner=@bob "
	      "implementation=\"SSO with MFA\"");
	assert_sql(t,
		   "SELECT reason || '|' || implementation FROM controls "
		   "WHERE id = '5.15'",
		   "risk,legal|SSO with MFA");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'bob' AND o.subject LIKE 'You own control "
				  "A.5.15%'"),
			 1);
	/* the owner describes the implementation, not why it is in */
	ok_as(t, "bob", "control set 5.15 implementation=\"SSO, MFA, JML\"");
	before = soa_fingerprint(t);
	refused_as(t, "bob", "control set 5.15 reason=business",
		   "only an isms_manager decides whether 5.15 applies and "
		   "why");
	refused_as(t, "carol", "control set 5.15 reason=fun",
		   "reason= must be risk, legal, contract or business");
	refused_as(t, "carol",
		   "control set 7.4 applicable=no justification=Remote "
		   "reason=legal",
		   "reason= says why an applicable control is included");
	assert_int_equal(soa_fingerprint(t), before);
	ok_as(t, "bob", "risk add Stolen laptop likelihood=3 impact=4");
	ok_as(t, "bob", "risk treat RSK-1 mitigate Encrypt controls=8.1");
	r = as(t, "grace", "control show 5.15", &ok);
	assert_non_null(strstr(r, "Reason for inclusion: risk, legal\n"
				  "Implementation: SSO, MFA, JML"));
	/* risks linked by treatment are a reason of their own */
	r = as(t, "grace", "control show 8.1", &ok);
	assert_non_null(strstr(r, "Reason for inclusion: - risk treatment "
				  "(1 linked risk)"));
	/* excluding a control drops its reasons */
	ok_as(t, "carol", "control set 7.4 reason=contract");
	ok_as(t, "carol",
	      "control set 7.4 applicable=no justification=\"Fully remote\"");
	assert_sql(t,
		   "SELECT COALESCE(reason, 'none') FROM controls WHERE id = "
		   "'7.4'",
		   "none");
	tenv_free(t);
}

static void
test_soa_versions(void **state)
{
	struct tenv *t = setup();
	char *v1, *again, *cur;
	int64_t before;
	const char *r;
	int ok, rc;

	(void)state;
	r = as(t, "alice", "soa show", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "no approved version yet"));
	r = as(t, "dana", "report", &ok);
	assert_non_null(strstr(r, "SoA: no approved version yet; 93 controls "
				  "in draft"));
	/* top management approves: dana heads the reporting lines here */
	before = soa_fingerprint(t);
	refused_as(t, "carol", "soa approve",
		   "not allowed: top management approves the Statement of "
		   "Applicability (now: dana)");
	refused_as(t, "grace", "soa approve", "not allowed");
	assert_int_equal(soa_fingerprint(t), before);
	r = as(t, "dana", "soa approve First SoA", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "SoA v1 approved: 93 controls"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE subject "
				  "LIKE 'SoA v1 approved by dana%'"),
			 2); /* carol and erik */
	assert_sql(t,
		   "SELECT object || ' ' || json_extract(details, "
		   "'$.version') || ' ' || json_extract(details, '$.note') "
		   "FROM audit_log WHERE action = 'soa.approve'",
		   "SOA-1 1 First SoA");
	before = soa_fingerprint(t);
	refused_as(t, "dana", "soa approve",
		   "SoA v1 (approved 2026-11-18 by dana) is current: nothing "
		   "changed since");
	assert_int_equal(soa_fingerprint(t), before);
	r = as(t, "alice", "control show 7.4", &ok);
	assert_non_null(strstr(r, "SoA: as approved in SoA v1."));
	v1 = export_version(t, "soa", 1, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(v1, "\r\n7.4,physical,Physical security "
				   "monitoring,yes,not_started,,,,,no,,,0,"
				   "approved v1\r\n"));

	/* a change after the approval is a draft until approved again */
	ok_as(t, "carol",
	      "control set 7.4 applicable=no justification=\"Fully remote\"");
	ok_as(t, "carol", "control add X.1 Supplier reviews");
	ok_as(t, "carol", "control set 5.15 owner=@bob"); /* not a change */
	r = as(t, "alice", "control show 7.4", &ok);
	assert_non_null(strstr(r, "SoA: draft (changed since SoA v1)."));
	r = as(t, "alice", "control show X.1", &ok);
	assert_non_null(strstr(r, "SoA: draft (new since SoA v1)."));
	r = as(t, "alice", "control show 5.15", &ok);
	assert_non_null(strstr(r, "SoA: as approved in SoA v1."));
	r = as(t, "alice", "soa show", &ok);
	assert_non_null(strstr(r, "Statement of Applicability v1, approved "
				  "2026-11-18 by dana (First SoA)."));
	assert_non_null(strstr(r, "2 draft changes since v1 (soa approve, "
				  "top management): 7.4 (changed), X.1 "
				  "(new)"));
	r = as(t, "dana", "report", &ok);
	assert_non_null(strstr(r, "SoA v1 approved 2026-11-18 by dana; 2 "
				  "draft changes."));
	cur = export_version(t, "soa", 0, &rc);
	assert_non_null(strstr(cur, "\r\n7.4,physical,Physical security "
				    "monitoring,no,not_started,Fully remote,"));
	assert_non_null(strstr(cur, ",draft\r\n"));
	assert_non_null(strstr(cur, ",approved v1\r\n"));
	assert_non_null(strstr(cur, "\r\nX.1,organizational,Supplier "
				    "reviews,yes,not_started,,,,"));
	free(cur);
	/* version 1 stays exactly what was approved */
	again = export_version(t, "soa", 1, &rc);
	assert_string_equal(again, v1);
	free(again);

	test_clock += 86400;
	ok_as(t, "dana", "soa approve");
	r = as(t, "alice", "soa history", &ok);
	assert_non_null(strstr(r, "v2 approved 2026-11-19 by dana: 94 "
				  "controls, 2 new or changed\nv1 approved "
				  "2026-11-18 by dana: 93 controls, 93 new or "
				  "changed; First SoA"));
	r = as(t, "alice", "control show 7.4", &ok);
	assert_non_null(strstr(r, "SoA: as approved in SoA v2."));
	again = export_version(t, "soa", 1, &rc);
	assert_string_equal(again, v1);
	free(again);
	cur = export_version(t, "soa", 2, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(cur, "X.1,organizational,Supplier reviews,yes,"
				    "not_started,,,,"));
	assert_non_null(strstr(cur, ",yes,,,0,approved v2\r\n"));
	free(cur);
	cur = export_version(t, "soa", 3, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(cur, "");
	free(cur);
	cur = export_version(t, "risks", 1, &rc);
	assert_int_equal(rc, -1);
	free(cur);
	free(v1);
	/* a control lost from the reference data comes back beside custom */
	assert_int_equal(
	    db_exec(t->st, "DELETE FROM controls WHERE id = '8.34'", NULL), 1);
	{
		char err[256];
		struct store *st2 =
		    test_store_open(t->path, t->keyspec, err, sizeof(err));

		assert_non_null(st2);
		store_close(st2);
	}
	assert_int_equal(count(t, "SELECT COUNT(*) FROM controls"), 94);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_93_controls),
	    cmocka_unit_test(test_custom_controls),
	    cmocka_unit_test(test_reason_implementation),
	    cmocka_unit_test(test_soa_versions),
	    cmocka_unit_test(test_control_list),
	    cmocka_unit_test(test_control_set),
	    cmocka_unit_test(test_exports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
