/*
 * Unit tests of incident reporting beyond GDPR art. 33: the NIS2 art. 23
 * significant-incident clock (marking, staged reports in order, nudges
 * before and after each deadline with the scheduler's clock) and the GDPR
 * art. 34 decision on informing data subjects.
 */
#include "regutil.h"

#include "../../base/tz.h"
#include "../../commands/sched.h"

#define HOUR 3600

static int64_t
at(struct tenv *t, const char *when)
{
	int64_t v;

	assert_int_equal(tz_parse(t->cfg.org_timezone, when, &v), 0);
	return v;
}

/* A test database with the org in Berlin and no periodic work. */
static struct tenv *
env(void)
{
	struct tenv *t = setup();

	free(t->cfg.org_timezone);
	t->cfg.org_timezone = strdup("Europe/Berlin");
	free(t->cfg.quiz_every);
	t->cfg.quiz_every = strdup("off");
	t->cfg.store_publish_head = 0;
	return t;
}

static void
pass(struct tenv *t, const char *when)
{
	test_clock = at(t, when);
	assert_true(sched_run(t->st, &t->cfg, test_clock) >= 0);
}

/* NIS2 nudges to handle whose subject contains like. */
static int64_t
nis2_to(struct tenv *t, const char *handle, const char *like)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v,
				"SELECT COUNT(*) FROM outbox o JOIN people p "
				"ON p.id = o.person_id WHERE o.kind = "
				"'breach' AND p.handle = ? AND o.subject "
				"LIKE 'NIS2 %' || ? || '%'",
				"tt", handle, like),
			 1);
	return v;
}

static int64_t
nis2_all(struct tenv *t)
{
	return count(t, "SELECT COUNT(*) FROM outbox WHERE subject LIKE "
			"'NIS2 %'");
}

/* Marking: who may, bad values, nothing changed on a refusal. */
static void
test_significant_rules(void **state)
{
	struct tenv *t = env();
	int64_t before;

	(void)state;
	ok_as(t, "alice", "/incident Payment service down severity=high");
	ok_as(t, "carol", "incident assign INC-1 @bob");
	before = everything(t);
	refused_as(t, "alice", "incident significant INC-1 yes",
		   "not allowed: only the handler");
	refused_as(t, "frank", "incident significant INC-1 yes",
		   "no such incident");
	refused_as(t, "grace", "incident significant INC-1 yes", NULL);
	refused_as(t, "bob", "incident significant INC-1 maybe", "yes or no");
	refused_as(t, "bob", "incident significant INC-1", "yes or no");
	refused_as(t, "bob", "incident significant INC-9 yes",
		   "no such incident");
	refused_as(t, "bob", "incident significant INC-1 no",
		   "is not marked significant");
	refused_as(t, "bob", "incident reported INC-1 early",
		   "not marked significant");
	assert_int_equal(everything(t), before);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incident_reports"), 0);

	/* the handler marks it, any case of the id; the clock starts now */
	test_clock = T0 + HOUR;
	ok_as(t, "bob",
	      "incident significant inc-1 YES Payments of all "
	      "customers stopped");
	assert_int_equal(count(t, "SELECT significant_at FROM incidents"),
			 T0 + HOUR);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'incident.significant' AND "
				  "object = 'INC-1'"),
			 1);
	/* both isms_managers hear at once, not the sender */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE kind = "
				  "'breach' AND subject LIKE '%significant "
				  "incident (NIS2)%'"),
			 2);
	refused_as(t, "carol", "incident significant 1 yes", "already");
	/* an isms_manager as the handler hears it once */
	ok_as(t, "alice", "/incident DNS hijacked");
	ok_as(t, "carol", "incident assign INC-2 @erik");
	ok_as(t, "carol", "incident significant INC-2 yes");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'erik' AND o.subject LIKE 'INC-2 is a "
				  "significant%'"),
			 1);
	/* not significant stops it; the reason is kept */
	ok_as(t, "carol", "incident significant INC-2 no Internal only");
	assert_sql(t,
		   "SELECT significant || ' ' || CASE WHEN "
		   "significant_cleared_at IS NOT NULL THEN 1 ELSE 0 END "
		   "FROM incidents WHERE id = 2",
		   "0 1");
	assert_sql(t,
		   "SELECT text FROM incident_timeline WHERE kind = "
		   "'significant' ORDER BY id DESC LIMIT 1",
		   "not significant after all, since 2026-11-18T12:06:40Z: "
		   "Internal only");
	tenv_free(t);
}

/* Reports in order, each once, with who, when and whether late. */
static void
test_reported_order(void **state)
{
	struct tenv *t = env();
	const char *r;
	int64_t before, notified;
	int ok;

	(void)state;
	ok_as(t, "alice", "/incident Ransomware on the file server");
	ok_as(t, "carol", "incident assign INC-1 @bob");
	ok_as(t, "carol", "incident significant INC-1 yes");
	before = everything(t);
	refused_as(t, "bob", "incident reported INC-1 soon",
		   "stage must be early, notification or final");
	refused_as(t, "bob", "incident reported INC-1",
		   "usage: incident reported");
	refused_as(t, "bob", "incident reported INC-1 notification",
		   "the early warning of INC-1 is not recorded yet");
	refused_as(t, "bob", "incident reported INC-1 final",
		   "the incident notification of INC-1 is not recorded yet");
	refused_as(t, "alice", "incident reported INC-1 early", "not allowed");
	refused_as(t, "grace", "incident reported INC-1 early", NULL);
	assert_int_equal(everything(t), before);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incident_reports"), 0);

	test_clock = T0 + 10 * HOUR;
	ok_as(t, "bob", "incident reported INC-1 early CSIRT case 4711");
	refused_as(t, "carol", "incident reported INC-1 early",
		   "already recorded");
	assert_sql(t,
		   "SELECT stage || ' ' || (due_at - reported_at) || ' ' || "
		   "p.handle || ' ' || note FROM incident_reports x JOIN "
		   "people p ON p.id = x.reported_by",
		   "early 50400 bob CSIRT case 4711");
	/* the notification after its 72 hours: recorded, and late */
	test_clock = T0 + 80 * HOUR;
	r = as(t, "carol", "incident reported INC-1 notification", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "8 h 00 min late"));
	assert_non_null(strstr(r, "final report, due by 2026-12-21T"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'incident.reported' AND "
				  "CAST(json_extract(details, '$.late') AS "
				  "INTEGER) = 1"),
			 1);
	notified = T0 + 80 * HOUR;
	assert_int_equal(nis2_due(NIS2_FINAL, T0, notified),
			 time_add_months(notified, 1));
	assert_int_equal(nis2_due(NIS2_FINAL, T0, 0), 0);
	/* one month is a calendar month, clamped at its end */
	assert_int_equal(nis2_due(NIS2_FINAL, 0, at(t, "2027-01-31 12:00")),
			 at(t, "2027-02-28 12:00"));

	/* closed, the final report is still owed and may be recorded */
	ok_as(t, "carol", "incident close INC-1 Backups restored");
	ok_as(t, "erik", "approve APR-1");
	assert_sql(t, "SELECT status FROM incidents", "closed");
	r = as(t, "bob", "incident show INC-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "early warning: sent 2026-11-18T21:06:40Z, "
				  "recorded by bob: CSIRT case 4711"));
	assert_non_null(strstr(r, "incident notification: sent "
				  "2026-11-21T19:06:40Z, recorded by carol "
				  "(late)"));
	assert_non_null(strstr(r, "final report: due by 2026-12-21T19:06:40Z"));
	ok_as(t, "bob", "incident reported INC-1 final");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incident_reports"), 3);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'incident.reported'"),
			 3);
	/* the other lifecycle changes stay refused on a closed incident */
	refused_as(t, "bob", "incident status INC-1 resolved", "is closed");
	tenv_free(t);
}

/* The clock with the scheduler: nudged before and after each deadline. */
static void
test_nis2_clock(void **state)
{
	struct tenv *t = env();

	(void)state;
	test_clock = at(t, "2026-11-23 10:00");
	ok_as(t, "alice", "/incident Production database unreachable");
	ok_as(t, "carol", "incident assign INC-1 @bob");
	ok_as(t, "carol", "incident significant INC-1 yes");
	pass(t, "2026-11-23 21:59");
	assert_int_equal(nis2_all(t), 0);
	/* 12 h before the early warning: isms_managers and the handler */
	pass(t, "2026-11-23 22:00");
	assert_int_equal(nis2_to(t, "carol",
				 "early warning for INC-1: 12 h "
				 "00 min left"),
			 1);
	assert_int_equal(nis2_to(t, "erik", "early warning"), 1);
	assert_int_equal(nis2_to(t, "bob", "early warning"), 1);
	assert_int_equal(nis2_all(t), 3);
	pass(t, "2026-11-23 23:00");
	assert_int_equal(nis2_all(t), 3);
	/* 4 h before, at night: urgent, so at any hour */
	pass(t, "2026-11-24 06:00");
	assert_int_equal(nis2_to(t, "bob", "4 h 00 min left"), 1);
	assert_int_equal(nis2_all(t), 6);
	/* passed: once a day until recorded */
	pass(t, "2026-11-24 10:00");
	assert_int_equal(nis2_to(t, "erik",
				 "early warning for INC-1: "
				 "deadline passed"),
			 1);
	pass(t, "2026-11-24 18:00");
	assert_int_equal(nis2_all(t), 9);
	pass(t, "2026-11-25 09:00");
	assert_int_equal(nis2_all(t), 12);
	test_clock = at(t, "2026-11-25 09:30");
	ok_as(t, "bob", "incident reported INC-1 early");
	/* the notification: 24 h before its deadline; early no more */
	pass(t, "2026-11-25 10:00");
	assert_int_equal(nis2_to(t, "carol",
				 "incident notification for "
				 "INC-1: 24 h 00 min left"),
			 1);
	assert_int_equal(nis2_to(t, "carol", "early warning"), 4);
	assert_int_equal(nis2_all(t), 15);
	/* a leaver hears nothing */
	assert_int_equal(
	    db_exec(t->st, "UPDATE people SET active = 0 WHERE handle = 'bob'",
		    NULL),
	    1);
	pass(t, "2026-11-26 04:00");
	assert_int_equal(nis2_all(t), 17);
	assert_int_equal(nis2_to(t, "bob", "6 h 00 min left"), 0);
	assert_int_equal(
	    db_exec(t->st, "UPDATE people SET active = 1 WHERE handle = 'bob'",
		    NULL),
	    1);
	/* notified: the final report is due one month later */
	test_clock = at(t, "2026-11-26 08:00");
	ok_as(t, "carol", "incident reported INC-1 notification");
	pass(t, "2026-12-19 07:59");
	assert_int_equal(nis2_all(t), 17);
	pass(t, "2026-12-19 08:00");
	assert_int_equal(nis2_to(t, "bob",
				 "final report for INC-1: 7 days 0 "
				 "h left"),
			 1);
	assert_int_equal(nis2_all(t), 20);
	/* a pass that runs late sends only the latest nudge due */
	pass(t, "2026-12-27 12:00");
	assert_int_equal(nis2_to(t, "carol",
				 "final report for INC-1: "
				 "deadline passed on "
				 "2026-12-26T07:00:00Z"),
			 1);
	assert_int_equal(nis2_all(t), 23);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'nis2' AND period = 'final:48h-left'"),
			 0);
	/* the report shows what is overdue */
	assert_non_null(strstr(as(t, "carol", "report", NULL),
			       "INC-1 final report OVERDUE (due "
			       "2026-12-26T07:00:00Z)"));
	test_clock = at(t, "2026-12-27 13:00");
	ok_as(t, "bob", "incident reported INC-1 final");
	pass(t, "2026-12-28 12:00");
	assert_int_equal(nis2_all(t), 23);
	assert_non_null(strstr(as(t, "carol", "report", NULL),
			       "NIS2 significant incidents: 0 with reports "
			       "outstanding, 0 reports overdue."));

	/* not significant after all: the clock stops */
	test_clock = at(t, "2027-01-04 10:00");
	ok_as(t, "alice", "/incident Odd login attempts");
	ok_as(t, "carol", "incident significant INC-2 yes");
	pass(t, "2027-01-04 23:00");
	assert_int_equal(nis2_all(t), 25); /* carol and erik, no handler */
	test_clock = at(t, "2027-01-05 01:00");
	ok_as(t, "erik", "incident significant INC-2 no Blocked at the edge");
	pass(t, "2027-01-05 12:00");
	pass(t, "2027-01-08 12:00");
	assert_int_equal(nis2_all(t), 25);
	tenv_free(t);
}

/* GDPR art. 34: only for personal data; "no" needs the reason. */
static void
test_subjects_informed(void **state)
{
	struct tenv *t = env();
	const char *r;
	int64_t before;
	int ok;

	(void)state;
	ok_as(t, "alice", "/incident Printer jammed");
	ok_as(t, "alice",
	      "/incident Customer list mailed to a stranger "
	      "personal_data=yes");
	before = everything(t);
	refused_as(t, "carol", "incident subjects-informed INC-1 yes",
		   "does not involve personal data");
	refused_as(t, "carol", "incident subjects-informed INC-2 no",
		   "say why the data subjects are not informed");
	refused_as(t, "carol", "incident subjects-informed INC-2 no   ",
		   "say why");
	refused_as(t, "carol", "incident subjects-informed INC-2 perhaps",
		   "yes or no");
	refused_as(t, "alice", "incident subjects-informed INC-2 yes",
		   "not allowed");
	refused_as(t, "grace", "incident subjects-informed INC-2 yes", NULL);
	assert_int_equal(everything(t), before);
	r = as(t, "carol", "incident show INC-2", &ok);
	assert_non_null(strstr(r, "GDPR art. 34): not decided yet"));
	assert_non_null(strstr(as(t, "carol", "report", NULL),
			       "without a GDPR art. 34 decision: 1 open"));

	test_clock = T0 + HOUR;
	ok_as(t, "carol",
	      "incident subjects-informed inc-2 no The list was "
	      "encrypted and the key not disclosed");
	assert_sql(t,
		   "SELECT subjects_informed || ' ' || subjects_reason || ' ' "
		   "|| p.handle FROM incidents i JOIN people p ON p.id = "
		   "i.subjects_decided_by WHERE i.id = 2",
		   "no The list was encrypted and the key not disclosed carol");
	/* a later decision replaces it; both stay in the timeline */
	ok_as(t, "erik", "incident subjects-informed INC-2 yes");
	assert_sql(t,
		   "SELECT subjects_informed || '/' || COALESCE("
		   "subjects_reason, '') FROM incidents WHERE id = 2",
		   "yes/");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incident_timeline "
				  "WHERE kind = 'art34'"),
			 2);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'incident.subjects_informed'"),
			 2);
	r = as(t, "alice", "incident show INC-2", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Data subjects (GDPR art. 34): informed, "
				  "decided by erik"));
	assert_int_equal(store_audit_verify(t->st, &before), 0);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_significant_rules),
	    cmocka_unit_test(test_reported_order),
	    cmocka_unit_test(test_nis2_clock),
	    cmocka_unit_test(test_subjects_informed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
