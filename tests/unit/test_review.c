/* Unit tests of scope, objectives, management reviews and the report. */
#include "regutil.h"

static void
test_scope_versions(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "alice", "scope show", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "No scope statement yet"));
	refused_as(t, "bob", "scope set Everything", "needs the isms_manager");
	refused_as(t, "carol", "scope set", "the scope statement is required");
	ok_as(t, "carol", "scope set The SaaS platform and the Berlin office");
	test_clock = T0 + 86400;
	r = as(t, "carol",
	       "scope set The SaaS platform and the Berlin and "
	       "London offices",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Scope version 2 recorded"));
	r = as(t, "alice", "scope show", &ok);
	assert_non_null(strstr(r, "ISMS scope (version 2, 2026-11-19 by "
				  "carol):\nThe SaaS platform and the Berlin "
				  "and London offices"));
	assert_non_null(strstr(r, "Earlier versions:\n  version 1, 2026-11-18 "
				  "by carol: The SaaS platform and the Berlin "
				  "office"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'scope.set'"),
			 2);
	tenv_free(t);
}

static void
test_objectives(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	refused_as(t, "carol", "objective add Fewer clicks due=2027-06-30",
		   "missing target=");
	refused_as(t, "carol",
		   "objective add Fewer clicks target=5% "
		   "due=2027-13-01",
		   "due= must be a date");
	ok_as(t, "carol",
	      "objective add Phishing click rate below 5% "
	      "target=\"<5% clicks\" due=2027-06-30");
	ok_as(t, "carol",
	      "objective add All laptops encrypted target=100% "
	      "due=2026-10-31");
	ok_as(t, "carol", "objective status OBJ-2 achieved");
	refused_as(t, "carol", "objective status OBJ-2 achieved",
		   "already achieved");
	refused_as(t, "carol", "objective status OBJ-2 maybe",
		   "usage: objective status");
	r = as(t, "frank", "objective list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "OBJ-2 [achieved, due 2026-10-31] All "
				  "laptops encrypted (target: 100%)\nOBJ-1 "
				  "[open, due 2027-06-30] Phishing click rate "
				  "below 5% (target: <5% clicks)"));
	tenv_free(t);
}

/* A register with something in every input of a management review. */
static void
populate(struct tenv *t)
{
	ok_as(t, "carol", "scope set The SaaS platform");
	ok_as(t, "carol",
	      "objective add Encrypt every laptop target=100% "
	      "due=2026-11-01");
	ok_as(t, "bob", "risk add Stolen laptop likelihood=3 impact=4");
	ok_as(t, "bob", "risk add Phishing likelihood=4 impact=4");
	ok_as(t, "bob", "risk treat RSK-2 accept Too costly");
	ok_as(t, "bob", "risk add Typo likelihood=1 impact=1");
	ok_as(t, "bob", "risk treat RSK-3 accept Negligible");
	ok_as(t, "alice", "/incident Phishing mail severity=high");
	ok_as(t, "alice", "/incident Lost badge severity=low");
	ok_as(t, "carol", "audit plan Access date=2026-12-01 auditor=@erik");
	ok_as(t, "erik", "audit finding AUD-1 minor Stale accounts");
	ok_as(t, "erik", "audit finding AUD-1 opportunity Automate reviews");
	ok_as(t, "carol",
	      "action add Remove stale accounts owner=@bob "
	      "due=2026-11-10 source=FND-1");
	ok_as(t, "carol", "doc add Policy review_every=12m ack=required");
	ok_as(t, "carol", "review plan date=2026-12-10");
}

static void
test_review_inputs(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	populate(t);
	r = as(t, "grace", "review show MR-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Management review MR-1, planned for "
				  "2026-12-10 (not held yet)."));
	assert_non_null(strstr(r, "since the start:"));
	assert_non_null(strstr(r, "a) Actions from previous management "
				  "reviews: none"));
	assert_non_null(strstr(r, "b) Changes in the ISMS (scope versions):\n"
				  "  version 1 of 2026-11-18 by carol: The "
				  "SaaS platform"));
	assert_non_null(strstr(r, "FND-1 [minor, open] AUD-1: Stale accounts "
				  "-- corrective action: ACT-1 open"));
	assert_non_null(strstr(r, "Open incidents: critical 0, high 1, medium "
				  "0, low 1 (2 open"));
	assert_non_null(strstr(r, "Actions: 1 open, 1 overdue, 0 done."));
	assert_non_null(strstr(r, "AUD-1 2026-12-01 [planned] Access: 0 major, "
				  "1 minor, 1 other findings"));
	assert_non_null(strstr(r, "OBJ-1 [open, due 2026-11-01, PAST DUE] "
				  "Encrypt every laptop (target: 100%)"));
	assert_non_null(strstr(r, "Risks: 3 (critical 0, high 2, medium 0, "
				  "low 1); 2 above the appetite of 6; 2 "
				  "untreated; 1 acceptance pending"));
	assert_non_null(strstr(r, "no quiz campaigns yet"));
	assert_non_null(strstr(r, "g) Opportunities for improvement:\n  FND-2 "
				  "(AUD-1): Automate reviews"));
	refused_as(t, "alice", "review show MR-1", "not allowed");
	refused_as(t, "carol", "review show MR-2", "no management review MR-2");
	tenv_free(t);
}

static void
test_review_record(void **state)
{
	struct tenv *t = setup();
	const char *r;
	char *inputs;
	int64_t before;
	int ok;

	(void)state;
	populate(t);
	refused_as(t, "bob", "review record MR-1 ok attendees=@carol",
		   "not allowed: top management records the management "
		   "review and its decisions (clause 9.3; now: dana)");
	refused_as(t, "carol", "review record MR-1 ok attendees=@dana",
		   "not allowed: top management");
	refused_as(t, "dana", "review record MR-1 attendees=@carol",
		   "decisions is required");
	/* not before its date, and plans are not made for the past */
	before = everything(t);
	refused_as(t, "dana", "review record MR-1 Fund MFA attendees=@carol",
		   "MR-1 is planned for 2026-12-10: it is recorded on or after "
		   "that date");
	refused_as(t, "carol", "review plan date=2026-01-01",
		   "date=2026-01-01 is in the past: a plan needs today or a "
		   "later date");
	refused_as(t, "carol", "audit plan ISMS date=2026-11-17 auditor=@grace",
		   "date=2026-11-17 is in the past");
	assert_int_equal(everything(t), before);
	test_clock = T0 + 22 * 86400; /* 2026-12-10 */
	ok_as(t, "dana",
	      "review record MR-1 Fund MFA; re-assess phishing "
	      "attendees=@carol,@bob");
	refused_as(t, "dana", "review record MR-1 again attendees=@carol",
		   "MR-1 was already recorded on 2026-12-10");
	ok_as(t, "carol",
	      "action add Buy MFA tokens owner=@bob due=2027-01-31 "
	      "source=MR-1");
	/* the recorded inputs stay as they were */
	ok_as(t, "carol", "scope set The SaaS platform and the office");
	inputs = text_of(t, "SELECT inputs FROM reviews WHERE id = 1");
	assert_non_null(strstr(inputs, "Stale accounts"));
	assert_null(strstr(inputs, "and the office"));
	r = as(t, "grace", "review show MR-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "held 2026-12-10."));
	assert_non_null(strstr(r, inputs));
	assert_non_null(strstr(r, "Decisions: Fund MFA; re-assess phishing"));
	free(inputs);
	/* the next review compiles since the last one */
	ok_as(t, "carol", "review plan date=2027-06-10");
	r = as(t, "grace", "review show MR-2", &ok);
	assert_non_null(strstr(r, "since 2026-12-10 (MR-1):"));
	assert_non_null(strstr(r, "ACT-2 [open, due 2027-01-31] from MR-1: "
				  "Buy MFA tokens"));
	assert_non_null(strstr(r, "The SaaS platform and the office"));
	assert_null(strstr(r, "version 1 of"));
	r = as(t, "grace", "review list", &ok);
	assert_non_null(strstr(r, "MR-1 2026-12-10 [held 2026-12-10]: Fund "
				  "MFA; re-assess phishing\n  MR-2 2027-06-10 "
				  "[planned]"));
	tenv_free(t);
}

static void
test_report(void **state)
{
	struct tenv *t = setup();
	struct person tool = {.handle = "ismsctl", .roles = ROLE_AUDITOR};
	struct isms_reply rp = {0};
	const char *r;
	int ok;

	(void)state;
	populate(t);
	r = as(t, "dana", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "ISMS management summary"));
	assert_non_null(strstr(r, "Risks: 3 (critical 0, high 2, medium 0, "
				  "low 1)"));
	assert_non_null(strstr(r, "     4     | L  0  M  0  H  0  H  1  C  0"));
	assert_non_null(strstr(r, "Open incidents: critical 0, high 1"));
	assert_non_null(strstr(r, "Actions: 1 open, 1 overdue"));
	assert_non_null(strstr(r, "ACT-1 [open, due 2026-11-10, OVERDUE] "
				  "Remove stale accounts"));
	assert_non_null(strstr(r, "Quiz completion: no campaigns yet."));
	assert_non_null(strstr(r, "Reviews due in the next 30 days:\n"
				  "  2026-12-01 internal audit AUD-1 Access\n"
				  "  2026-12-10 management review MR-1"));
	/* high risks come up for review after six months */
	assert_null(strstr(r, "risk review"));
	test_clock = T0 + 160 * 86400; /* 2027-04-27 */
	r = as(t, "carol", "report", &ok);
	assert_non_null(strstr(r, "2026-12-01 OVERDUE internal audit AUD-1"));
	assert_non_null(strstr(r, "2027-05-18 risk review RSK-1 [high] Stolen "
				  "laptop\n  2027-05-18 risk review RSK-2 "
				  "[high] Phishing"));
	assert_null(strstr(r, "RSK-3"));
	refused_as(t, "alice", "report", "not allowed");
	/* ismsctl report is the same command */
	assert_int_equal(cmd_run_as(t->st, &t->cfg, &tool, "report", &rp), 0);
	assert_non_null(strstr(buf_str(&rp.text), "Reviews due in the next "
						  "30 days:"));
	reply_free(&rp);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scope_versions),
	    cmocka_unit_test(test_objectives),
	    cmocka_unit_test(test_review_inputs),
	    cmocka_unit_test(test_review_record),
	    cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
