/*
 * Unit tests of the management review in full (clause 9.3): objective
 * measurements and their trend, the inputs of 9.3.2 b, c, d and e, the
 * record by top management with its attendees, and the report's lines.
 */
#include "regutil.h"

/* The register and the tables of the review, for "nothing changed". */
static int64_t
review_everything(struct tenv *t)
{
	return everything(t) * 11 +
	       count(t, "SELECT (SELECT COUNT(*) FROM objective_measurements) "
			"+ (SELECT COUNT(*) FROM review_attendees) * 100 + "
			"(SELECT COUNT(*) FROM party_feedback) * 10000");
}

static void
test_objective_measure(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol",
	      "objective add Phishing reports per campaign target=85% "
	      "due=2027-06-30");
	ok_as(t, "carol",
	      "objective add All laptops encrypted target=100% "
	      "due=2027-03-31");
	ok_as(t, "carol", "objective status OBJ-2 achieved");
	before = review_everything(t);
	refused_as(t, "bob", "objective measure OBJ-1 value=70",
		   "needs the isms_manager");
	refused_as(t, "carol", "objective measure OBJ-1 value=lots",
		   "value= must be a number like 85 or 4.5, got \"lots\"");
	refused_as(t, "carol", "objective measure OBJ-1 value=1e9",
		   "value= must be a number");
	refused_as(t, "carol", "objective measure OBJ-1", "missing value=");
	refused_as(t, "carol",
		   "objective measure OBJ-1 value=70 date=2026-11-19",
		   "date=2026-11-19 is in the future");
	refused_as(t, "carol", "objective measure OBJ-1 value=70 date=someday",
		   "date= must be a date");
	refused_as(t, "carol", "objective measure OBJ-2 value=100",
		   "OBJ-2 is achieved: measurements are recorded for open "
		   "objectives");
	refused_as(t, "carol", "objective measure OBJ-9 value=1", "OBJ-9");
	assert_int_equal(review_everything(t), before);
	r = as(t, "carol", "objective measure obj-1 value=72% date=2026-09-30",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "OBJ-1 measured 72 on 2026-09-30: measured "
				  "72 on 2026-09-30."));
	ok_as(t, "carol", "objective measure 1 value=80.5 date=2026-10-31");
	r = as(t, "carol",
	       "objective measure OBJ-1 value=85 note=\"after training\"", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "from 72 to 85 (3 measurements, rising; last "
				  "2026-11-18)"));
	r = as(t, "frank", "objective list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "OBJ-2 [achieved, due 2027-03-31] All "
				  "laptops encrypted (target: 100%)\nOBJ-1 "
				  "[open, due 2027-06-30] Phishing reports per "
				  "campaign (target: 85%); from 72 to 85 (3 "
				  "measurements, rising; last 2026-11-18)"));
	r = as(t, "frank", "objective show OBJ-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Measurements:\n  2026-09-30 72 (by carol)\n"
				  "  2026-10-31 80.5 (by carol)\n  2026-11-18 "
				  "85 (by carol): after training"));
	r = as(t, "frank", "objective show OBJ-2", &ok);
	assert_non_null(strstr(r, "Trend: not measured yet"));
	ok_as(t, "carol", "objective measure OBJ-1 value=60");
	r = as(t, "frank", "objective list", &ok);
	assert_non_null(strstr(r, "from 72 to 60 (4 measurements, falling"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'objective.measure' AND object = "
				  "'OBJ-1'"),
			 4);
	tenv_free(t);
}

static void
test_inputs_since_last_review(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", "context add external Cloud provider lock-in");
	ok_as(t, "carol", "context add internal Small security team");
	ok_as(t, "carol", "party add Customers needs=\"Data kept in the EU\"");
	ok_as(t, "carol",
	      "objective add Fewer phishing clicks target=5 "
	      "due=2027-12-31");
	ok_as(t, "carol", "objective measure OBJ-1 value=12");
	ok_as(t, "carol", "review plan date=2026-11-18");
	r = as(t, "carol", "review show MR-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r,
			       "b) Changes in external and internal "
			       "issues:\n  2026-11-18 CTX-1 [external] Cloud "
			       "provider lock-in added\n  2026-11-18 CTX-2 "
			       "[internal] Small security team added"));
	assert_non_null(strstr(r, "c) Changes in the needs and expectations "
				  "of interested parties:\n  2026-11-18 PTY-1 "
				  "Customers added, needs: Data kept in the "
				  "EU"));
	assert_non_null(strstr(r, "e) Feedback from interested parties:\n  "
				  "none recorded"));
	assert_non_null(strstr(r, "Objective measurements in the period:\n  "
				  "OBJ-1 12 on 2026-11-18"));
	test_clock = T0 + 3600; /* the review is held after the changes */
	ok_as(t, "dana", "review record MR-1 Keep the plan attendees=@carol");
	/* what happens after the first review is what the second sees */
	test_clock = T0 + 30 * 86400; /* 2026-12-18 */
	ok_as(t, "carol", "context retire CTX-2 Two more engineers hired");
	ok_as(t, "carol", "party update PTY-1 needs=\"EU and Swiss hosting\"");
	ok_as(t, "carol",
	      "party feedback pty-1 Asked for our ISO certificate in the RFP");
	ok_as(t, "carol", "objective measure OBJ-1 value=7");
	ok_as(t, "carol",
	      "action add Compare EU hosting owner=@bob due=2027-01-31 "
	      "source=mr-1");
	ok_as(t, "carol", "review plan date=2027-05-18");
	r = as(t, "grace", "review show MR-2", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "since 2026-11-18 (MR-1):"));
	assert_non_null(strstr(r, "a) Actions from previous management "
				  "reviews:\n  ACT-1 [open, due 2027-01-31] "
				  "from MR-1: Compare EU hosting"));
	assert_non_null(strstr(r, "2026-12-18 CTX-2 [internal] Small security "
				  "team retired: Two more engineers hired"));
	assert_null(strstr(r, "Cloud provider lock-in added"));
	assert_non_null(strstr(r, "2026-12-18 PTY-1 Customers needs changed by "
				  "carol: EU and Swiss hosting (before: Data "
				  "kept in the EU)"));
	assert_non_null(strstr(r, "e) Feedback from interested parties:\n  "
				  "2026-12-18 PTY-1 Customers: Asked for our "
				  "ISO certificate in the RFP"));
	assert_non_null(strstr(r, "d4) Fulfilment of objectives (with their "
				  "trend):\n  OBJ-1 [open, due 2027-12-31] "
				  "Fewer phishing clicks (target: 5); from 12 "
				  "to 7 (2 measurements, falling; last "
				  "2026-12-18)"));
	assert_non_null(strstr(r, "Objective measurements in the period:\n  "
				  "OBJ-1 7 on 2026-12-18"));
	assert_non_null(strstr(r, "g) Opportunities for improvement: none "
				  "recorded"));
	r = as(t, "grace", "party show PTY-1", &ok);
	assert_non_null(strstr(r, "Feedback:\n  2026-12-18 (recorded by "
				  "carol): Asked for our ISO certificate"));
	refused_as(t, "bob", "party feedback PTY-1 Nice", "needs the");
	tenv_free(t);
}

static void
test_record_attendees(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", "review plan date=2026-11-18");
	ok_as(t, "dana", "staff deactivate @frank");
	before = review_everything(t);
	refused_as(t, "dana", "review record MR-1 Go on", "missing attendees=");
	refused_as(t, "dana", "review record MR-1 Go on attendees=@nobody",
		   "no person");
	refused_as(t, "dana",
		   "review record MR-1 Go on attendees=@carol,@frank",
		   "@frank");
	refused_as(t, "carol", "review record MR-1 Go on attendees=@dana",
		   "not allowed: top management");
	refused_as(t, "grace", "review record MR-1 Go on attendees=@dana",
		   "not allowed");
	assert_int_equal(review_everything(t), before);
	r = as(t, "dana",
	       "review record mr-1 Go on; hire a second isms_manager "
	       "attendees=@carol,@erik,@carol",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "attendees (dana, carol, erik)"));
	assert_sql(t,
		   "SELECT group_concat(p.handle, ',') FROM review_attendees a "
		   "JOIN people p ON p.id = a.person_id WHERE a.review_id = 1",
		   "dana,carol,erik");
	assert_sql(t,
		   "SELECT json_extract(details, '$.attendees') FROM audit_log "
		   "WHERE action = 'review.record'",
		   "dana, carol, erik");
	ok_as(t, "carol",
	      "action add Hire a second isms_manager owner=@dana "
	      "due=2027-02-28 source=MR-1");
	r = as(t, "grace", "review show MR-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Attendees: dana, carol, erik\nFollow-up "
				  "actions:\n  ACT-1 [open, owner dana, due "
				  "2027-02-28] Hire a second isms_manager"));
	tenv_free(t);
}

static void
test_report_lines(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "dana", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Objectives: none set."));
	assert_non_null(strstr(r, "Management review: none held yet; next: "
				  "none planned."));
	ok_as(t, "carol", "objective add Fewer clicks target=5 due=2026-12-01");
	ok_as(t, "carol", "objective measure OBJ-1 value=9 date=2026-10-01");
	ok_as(t, "carol", "objective measure OBJ-1 value=6");
	ok_as(t, "carol", "review plan date=2026-11-18");
	ok_as(t, "dana", "review record MR-1 Train again attendees=@carol");
	ok_as(t, "carol", "review plan date=2027-05-18");
	ok_as(t, "carol",
	      "action add Second campaign owner=@carol due=2026-11-20 "
	      "source=MR-1");
	test_clock = T0 + 20 * 86400;
	r = as(t, "dana", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Objectives: 1 open (1 past due), 0 "
				  "achieved, 0 missed.\n  OBJ-1 [open, due "
				  "2026-12-01, PAST DUE] Fewer clicks (target: "
				  "5); from 9 to 6 (2 measurements, falling; "
				  "last 2026-11-18)"));
	assert_non_null(strstr(r, "Management review: last MR-1 held "
				  "2026-11-18; 1 follow-up action open (1 "
				  "overdue); next: MR-2 planned for "
				  "2027-05-18."));
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_objective_measure),
	    cmocka_unit_test(test_inputs_since_last_review),
	    cmocka_unit_test(test_record_attendees),
	    cmocka_unit_test(test_report_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
