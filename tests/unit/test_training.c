/*
 * Unit tests of training and competence: the [training] required syntax,
 * who may record and see training, the date rules, what counts (expiry,
 * awareness quizzes), the training-due nudges and the report's line.
 */
#include "regutil.h"

#include "../../commands/sched.h"

static void
set(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
}

/* T0 with the courses of a small organisation required. */
static struct tenv *
env(void)
{
	struct tenv *t = setup();

	set(&t->cfg.quiz_every, "off");
	t->cfg.store_publish_head = 0;
	set(&t->cfg.training_required,
	    "staff: Security basics; isms_manager: Lead implementer; "
	    "isms_manager: security basics");
	return t;
}

static int64_t
training_state(struct tenv *t)
{
	return everything(t) * 3 +
	       count(t, "SELECT (SELECT COUNT(*) FROM training) + (SELECT "
			"COUNT(*) FROM nudges)");
}

static void
test_required_syntax(void **state)
{
	const char *p = " staff:Security basics ;; isms_manager : Lead ";
	char role[32], course[CONFIG_COURSE_MAX + 1];
	struct config cfg;
	struct config_errors e = {0};

	(void)state;
	assert_int_equal(config_training_next(&p, role, sizeof(role), course,
					      sizeof(course)),
			 1);
	assert_string_equal(role, "staff");
	assert_string_equal(course, "Security basics");
	assert_int_equal(config_training_next(&p, role, sizeof(role), course,
					      sizeof(course)),
			 1);
	assert_string_equal(role, "isms_manager");
	assert_string_equal(course, "Lead");
	assert_int_equal(config_training_next(&p, role, sizeof(role), course,
					      sizeof(course)),
			 0);
	/* a misspelt role, a missing colon or course: the file is refused */
	config_defaults(&cfg);
	assert_int_equal(config_load_string(&cfg, "t.conf",
					    "[training]\nrequired = "
					    "isms_manger: Lead\n",
					    &e),
			 -1);
	assert_non_null(strstr(buf_str(&e.text),
			       "t.conf:2: training.required: expected \"role: "
			       "course\""));
	assert_non_null(strstr(buf_str(&e.text), "isms_manager"));
	buf_free(&e.text);
	config_free(&cfg);
	memset(&e, 0, sizeof(e));
	config_defaults(&cfg);
	assert_int_equal(config_load_string(&cfg, "t.conf",
					    "[training]\nrequired = staff "
					    "Security basics\n",
					    &e),
			 -1);
	buf_free(&e.text);
	config_free(&cfg);
	memset(&e, 0, sizeof(e));
	config_defaults(&cfg);
	assert_int_equal(config_load_string(&cfg, "t.conf",
					    "[training]\nrequired = staff:; "
					    "auditor: Audit\n",
					    &e),
			 -1);
	buf_free(&e.text);
	config_free(&cfg);
	memset(&e, 0, sizeof(e));
	config_defaults(&cfg);
	assert_int_equal(config_load_string(&cfg, "t.conf",
					    "[training]\nrequired = staff: A; "
					    "management: B\n",
					    &e),
			 0);
	assert_string_equal(cfg.training_required, "staff: A; management: B");
	buf_free(&e.text);
	config_free(&cfg);
}

static void
test_record_rules(void **state)
{
	struct tenv *t = env();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	r = as(t, "bob",
	       "training record @alice Security basics date=2026-11-01 "
	       "expires=2027-11-01",
	       &ok);
	assert_true(ok);
	assert_string_equal(r, "Training TRN-1 recorded: alice completed "
			       "Security basics on 2026-11-01, valid until "
			       "2027-11-01.");
	assert_sql(t,
		   "SELECT p.handle || '|' || t.course || '|' || "
		   "date(t.completed_at, 'unixepoch') || '|' || "
		   "date(t.expires_at, 'unixepoch') || '|' || b.handle FROM "
		   "training t JOIN people p ON p.id = t.person_id JOIN people "
		   "b ON b.id = t.recorded_by",
		   "alice|Security basics|2026-11-01|2027-11-01|bob");
	/* the audit row and the notice to the person, in the same change */
	assert_sql(t,
		   "SELECT object || ' ' || json_extract(details, '$.person') "
		   "|| ' ' || json_extract(details, '$.expires') FROM "
		   "audit_log WHERE action = 'training.record'",
		   "TRN-1 alice 2027-11-01");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'alice' AND o.subject LIKE 'Your training "
				  "is on record: TRN-1%'"),
			 1);
	ok_as(t, "carol",
	      "training record frank Phishing drill date=2026-10-01");
	ok_as(t, "erik",
	      "training record @bob Security basics date=2026-11-18");

	before = training_state(t);
	refused_as(t, "alice",
		   "training record @alice Security basics "
		   "date=2026-11-01",
		   "not allowed: only alice's manager or an isms_manager");
	refused_as(t, "frank",
		   "training record @alice Security basics "
		   "date=2026-11-01",
		   "not allowed");
	refused_as(t, "grace", "training record @alice X date=2026-11-01",
		   "not allowed");
	refused_as(t, "carol", "training record @alice Security basics",
		   "missing date=");
	refused_as(t, "carol", "training record @alice date=2026-11-01",
		   "usage: training record @handle <course>");
	refused_as(t, "carol", "training record @nobody X date=2026-11-01",
		   "no person @nobody");
	refused_as(t, "carol", "training record @alice X date=2026-11-19",
		   "date=2026-11-19 is in the future");
	refused_as(t, "carol", "training record @alice X date=2026-13-01",
		   "date= must be a date YYYY-MM-DD");
	refused_as(t, "carol",
		   "training record @alice X date=2025-11-01 "
		   "expires=2026-11-17",
		   "expires=2026-11-17 is in the past");
	refused_as(t, "carol",
		   "training record @alice X date=2026-11-01 "
		   "expires=2026-10-01",
		   "expires=2026-10-01 must be after date=2026-11-01");
	refused_as(t, "carol",
		   "training record @alice X date=2026-11-01 "
		   "until=2027-01-01",
		   "until");
	assert_int_equal(training_state(t), before);
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET active = 0 WHERE handle = "
				 "'frank'",
				 NULL),
			 1);
	before = training_state(t);
	refused_as(t, "bob", "training record @frank X date=2026-11-01",
		   "no person @frank");
	assert_int_equal(training_state(t), before);
	/* ids are never reused, in any case */
	ok_as(t, "carol", "training record @alice Y date=2026-11-01");
	assert_sql(t, "SELECT MAX(id) FROM training", "4");
	tenv_free(t);
}

static void
test_list_visibility(void **state)
{
	struct tenv *t = env();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob",
	      "training record @alice Security basics date=2026-11-01");
	ok_as(t, "bob",
	      "training record @frank Security basics date=2026-11-02");
	ok_as(t, "dana",
	      "training record @bob Security basics date=2026-11-03");
	ok_as(t, "carol",
	      "training record @erik Lead implementer date=2026-01-03");
	/* a person their own */
	r = as(t, "alice", "training list", &ok);
	assert_true(ok);
	assert_string_equal(r, "TRN-1 alice: Security basics, completed "
			       "2026-11-01");
	refused_as(t, "alice", "training list @frank", "not allowed: frank");
	/* a manager their team and themselves */
	r = as(t, "bob", "training list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "TRN-1 alice"));
	assert_non_null(strstr(r, "TRN-2 frank"));
	assert_non_null(strstr(r, "TRN-3 bob"));
	assert_null(strstr(r, "erik"));
	refused_as(t, "bob", "training list @erik", "not allowed");
	/* isms_managers and auditors all */
	r = as(t, "grace", "training list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "TRN-4 erik: Lead implementer"));
	r = as(t, "erik", "training list @FRANK", &ok);
	assert_true(ok);
	assert_string_equal(r, "TRN-2 frank: Security basics, completed "
			       "2026-11-02");
	refused_as(t, "erik", "training list a b", "usage: training list");
	tenv_free(t);
}

static void
test_overdue_expiry_and_quiz(void **state)
{
	struct tenv *t = env();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob",
	      "training record @alice Security basics date=2026-01-01 "
	      "expires=2026-11-20");
	ok_as(t, "carol",
	      "training record @erik SECURITY BASICS date=2026-11-01");
	r = as(t, "erik", "training list overdue", &ok);
	assert_true(ok);
	/* everyone but alice and erik lacks the staff course; the
	 * isms_managers the lead implementer course, once each */
	assert_null(strstr(r, "alice"));
	assert_non_null(strstr(r, "bob (staff): Security basics (none on "
				  "record)"));
	assert_non_null(strstr(r, "carol (isms_manager): Lead implementer"));
	assert_non_null(strstr(r, "erik (isms_manager): Lead implementer"));
	assert_null(strstr(r, "erik (staff)"));
	assert_null(strstr(r, "carol (isms_manager): security basics"));
	r = as(t, "grace", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Training overdue: 6 of 7 people missing a "
				  "required course"));
	/* the expiry day counts; the day after, it is overdue */
	test_clock = T0 + 2 * 86400 + 3600; /* 2026-11-20 */
	r = as(t, "alice", "training list overdue", &ok);
	assert_string_equal(r, "Nobody you may see is missing a required "
			       "course.");
	test_clock = T0 + 3 * 86400; /* 2026-11-21 */
	r = as(t, "alice", "training list overdue", &ok);
	assert_string_equal(r, "alice (staff): Security basics (expired "
			       "2026-11-20)");
	r = as(t, "alice", "training list", &ok);
	assert_non_null(strstr(r, "EXPIRED 2026-11-20"));
	/* a completed awareness quiz is an "Awareness quiz" record */
	set(&t->cfg.training_required, "staff: Awareness quiz");
	assert_int_equal(
	    db_exec(t->st,
		    "INSERT INTO quiz_campaigns(audience, questions, seed, "
		    "created_at, deadline_at) VALUES ('all', 5, 1, ?, ?)",
		    "ii", (int64_t)T0, (int64_t)T0 + 14 * 86400),
	    1);
	assert_int_equal(
	    db_exec(t->st,
		    "INSERT INTO quiz_participants(campaign_id, person_id, "
		    "completed_at) SELECT 1, id, ? FROM people WHERE handle "
		    "IN ('alice', 'bob')",
		    "i", (int64_t)T0 + 86400),
	    2);
	r = as(t, "alice", "training list", &ok);
	assert_non_null(strstr(r, "QZ-1 alice: Awareness quiz, completed "
				  "2026-11-19, valid until 2027-11-19"));
	r = as(t, "bob", "training list overdue", &ok);
	assert_string_equal(r, "frank (staff): Awareness quiz (none on "
			       "record)");
	/* nothing required: nothing overdue */
	set(&t->cfg.training_required, "");
	r = as(t, "carol", "training list overdue", &ok);
	assert_non_null(strstr(r, "No courses are required"));
	tenv_free(t);
}

static void
test_due_nudges(void **state)
{
	struct tenv *t = env();
	int n;

	(void)state;
	ok_as(t, "bob",
	      "training record @alice Security basics date=2026-11-01");
	ok_as(t, "carol",
	      "training record @erik Lead implementer date=2026-11-01");
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET active = 0 WHERE handle = "
				 "'frank'",
				 NULL),
			 1);
	n = sched_run(t->st, &t->cfg, test_clock);
	assert_true(n >= 0);
	/* one per person and missing course; none for a leaver */
	assert_sql(
	    t,
	    "SELECT group_concat(x, ' ') FROM (SELECT p.handle || ':' || "
	    "n.object AS x FROM nudges n JOIN people p ON p.id = "
	    "n.person_id WHERE n.kind = 'training.due' ORDER BY "
	    "p.handle, n.object) x",
	    "bob:Security basics carol:Lead implementer carol:Security "
	    "basics dana:Security basics erik:Security basics "
	    "grace:Security basics");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE subject "
				  "= 'Training due: Security basics'"),
			 5);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE body "
				  "LIKE '%/isms training record @bob Security "
				  "basics date=YYYY-MM-DD%' AND body LIKE "
				  "'%ask dana to record%'"),
			 1);
	/* again the same day and the next: nothing new */
	n = sched_run(t->st, &t->cfg, test_clock + 600);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'training.due'"),
			 6);
	test_clock += 86400;
	assert_true(sched_run(t->st, &t->cfg, test_clock) >= 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'training.due'"),
			 6);
	/* recorded meanwhile: no more nudges; the others every 7 days */
	ok_as(t, "dana",
	      "training record @bob Security basics date=2026-11-19");
	test_clock = T0 + 7 * 86400;
	assert_true(sched_run(t->st, &t->cfg, test_clock) >= 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'training.due'"),
			 11);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges n JOIN people "
				  "p ON p.id = n.person_id WHERE p.handle = "
				  "'bob' AND n.kind = 'training.due'"),
			 1);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_required_syntax),
	    cmocka_unit_test(test_record_rules),
	    cmocka_unit_test(test_list_visibility),
	    cmocka_unit_test(test_overdue_expiry_and_quiz),
	    cmocka_unit_test(test_due_nudges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
