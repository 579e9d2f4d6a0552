/*
 * Unit tests of the scheduler with a moving clock: nudges sent once across
 * passes and restarts, catch-up once, quiet hours, the 72-hour clock,
 * approval reminders and escalation, a quiz campaign from start to close.
 */
#include "testutil.h"

#include "../../base/tz.h"
#include "../../commands/quiz.h"
#include "../../commands/sched.h"

static void
set(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
}

/*
 * A test database with the org in Berlin and no periodic campaign; the
 * directory was imported on 2026-09-01 (the start of this ISMS).
 */
static struct tenv *
env(void)
{
	struct tenv *t;

	test_clock = 1788220800;
	t = tenv_new();

	set(&t->cfg.org_timezone, "Europe/Berlin");
	set(&t->cfg.quiz_every, "off");
	t->cfg.store_publish_head = 0; /* test_audit_head_daily has it */
	return t;
}

static int64_t
at(struct tenv *t, const char *when)
{
	int64_t v;

	assert_int_equal(tz_parse(t->cfg.org_timezone, when, &v), 0);
	return v;
}

/* Sets the clock to when (Berlin time) and runs one pass. */
static int
pass(struct tenv *t, const char *when)
{
	int n;

	test_clock = at(t, when);
	n = sched_run(t->st, &t->cfg, test_clock);
	assert_true(n >= 0);
	return n;
}

/* A new store handle on the same file, as after a restart. */
static void
restart(struct tenv *t)
{
	char err[256];

	store_close(t->st);
	t->st = test_store_open(t->path, t->keyspec, err, sizeof(err));
	assert_non_null(t->st);
	store_set_clock(t->st, test_now, NULL);
}

static int64_t
rows(struct tenv *t, const char *sql, const char *arg)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v, sql, "t", arg), 1);
	return v;
}

/* Outbox rows of a kind (with subject containing like) since id. */
static int64_t
sent(struct tenv *t, enum msg_kind kind, const char *like)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v,
				"SELECT COUNT(*) FROM outbox WHERE kind = ? "
				"AND subject LIKE '%' || ? || '%'",
				"tt", msg_kind_name(kind), like),
			 1);
	return v;
}

/* Outbox rows to handle whose subject contains like. */
static int64_t
sent_to(struct tenv *t, const char *handle, const char *like)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v,
				"SELECT COUNT(*) FROM outbox o JOIN people p "
				"ON p.id = o.person_id WHERE p.handle = ? AND "
				"o.subject LIKE '%' || ? || '%'",
				"tt", handle, like),
			 1);
	return v;
}

/* Runs text as handle at when (Berlin time); it must succeed. */
static void
at_do(struct tenv *t, const char *when, const char *handle, const char *text)
{
	const char *r;
	int ok;

	test_clock = at(t, when);
	r = as(t, handle, text, &ok);
	if (!ok)
		fail_msg("%s: %s: %s", handle, text, r);
}

static void
test_breach_clock(void **state)
{
	struct tenv *t = env();
	const char *r;
	int ok;

	(void)state;
	test_clock = at(t, "2026-11-23 10:00");
	as(t, "alice",
	   "/incident Lost a laptop with HR files personal_data=yes", &ok);
	assert_true(ok);
	assert_int_equal(pass(t, "2026-11-24 09:59"), 0);
	/* 24 h: both isms_managers, at once */
	assert_int_equal(pass(t, "2026-11-24 10:00"), 2);
	assert_int_equal(sent(t, MSG_BREACH, "48 h 00 min left"), 2);
	assert_int_equal(pass(t, "2026-11-24 10:00"), 0);
	restart(t);
	assert_int_equal(pass(t, "2026-11-24 10:01"), 0);
	assert_int_equal(pass(t, "2026-11-25 09:59"), 0);
	assert_int_equal(pass(t, "2026-11-25 10:00"), 2); /* 48 h */
	/* 66 h falls on a Thursday at 04:00: alerts ignore working hours */
	assert_int_equal(pass(t, "2026-11-26 04:00"), 2);
	assert_int_equal(sent(t, MSG_BREACH, "6 h 00 min left"), 2);
	/* 72 h: the isms_managers and top management (no one holds the
	 * management role here: dana heads the reporting lines) */
	assert_int_equal(pass(t, "2026-11-26 10:00"), 3);
	assert_int_equal(sent_to(t, "dana", "INC-1: deadline passed"), 1);
	assert_int_equal(pass(t, "2026-11-26 11:00"), 0);
	/* and again each day until the outcome is recorded */
	assert_int_equal(pass(t, "2026-11-27 08:00"), 3);
	assert_int_equal(sent(t, MSG_BREACH, "INC-1: deadline passed"), 6);
	test_clock = at(t, "2026-11-27 09:00");
	r = as(t, "carol", "incident notified INC-1", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "give the reasons for the delay"));
	as(t, "carol", "incident notified INC-1 Forensics took three days",
	   &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT breach_delay_reason = 'Forensics "
				  "took three days' FROM incidents WHERE id = "
				  "1"),
			 1);
	assert_int_equal(pass(t, "2026-11-28 10:00"), 0);
	assert_int_equal(rows(t,
			      "SELECT COUNT(*) FROM nudges WHERE kind = "
			      "'breach' AND object = ?",
			      "INC-1"),
			 5);

	/* a pass that runs late sends only the latest stage, once */
	test_clock = at(t, "2026-11-27 10:00");
	as(t, "frank",
	   "/incident Mail with customer data sent to the wrong "
	   "person personal_data=yes",
	   &ok);
	assert_int_equal(pass(t, "2026-11-30 09:00"), 2); /* 71 h */
	{
		char *p = db_text(t->st,
				  "SELECT group_concat(period) FROM nudges "
				  "WHERE object = 'INC-2'",
				  NULL);

		assert_string_equal(p, "66h");
		free(p);
	}
	assert_int_equal(sent(t, MSG_BREACH, "INC-2: 1 h 00 min left"), 2);
	assert_int_equal(pass(t, "2026-11-30 12:00"), 3); /* 74 h */
	test_clock = at(t, "2026-11-30 13:00");
	as(t, "carol", "incident notifiable INC-2 no Encrypted attachment",
	   &ok);
	assert_true(ok);

	/* a stopped clock stays silent; so does an incident without one */
	test_clock = at(t, "2026-12-01 10:00");
	as(t, "alice", "/incident Breach personal_data=yes", &ok);
	as(t, "alice", "/incident No personal data here", &ok);
	test_clock = at(t, "2026-12-02 09:00");
	as(t, "carol", "incident notified INC-3", &ok);
	assert_true(ok);
	assert_int_equal(pass(t, "2026-12-05 10:00"), 0);
	/* the isms_managers; top management only once the deadline passed */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people p "
				  "ON p.id = o.person_id WHERE o.kind = "
				  "'breach' AND p.handle NOT IN ('carol', "
				  "'erik') AND o.subject NOT LIKE '%deadline "
				  "passed%'"),
			 0);
	tenv_free(t);
}

/*
 * Personal data found out after the report: the clock runs from the
 * marking, for any incident (also one reported by mail), and the handler
 * and a management role holder hear when the deadline passes.
 */
static void
test_breach_clock_from_awareness(void **state)
{
	struct tenv *t = env();
	struct isms_request rq = {.via = "mail", .id_kind = "email"};
	struct incident_new in = {.title = "Strange mail",
				  .description = "A mail with a CSV"};
	struct isms_reply rp = {0};
	struct person alice;
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	test_clock = at(t, "2026-11-23 10:00");
	assert_int_equal(store_person_find(t->st, "handle", "alice", &alice),
			 1);
	assert_int_equal(store_begin(t->st), 0);
	assert_int_equal(
	    incident_report_new(t->st, &t->cfg, &rq, &alice, &in, &rp), 1);
	assert_int_equal(store_commit(t->st), 0);
	reply_free(&rp);
	at_do(t, "2026-11-23 11:00", "carol", "incident assign INC-1 @bob");
	/* only the handler or an isms_manager; an auditor never */
	before = changes_fingerprint(t);
	r = as(t, "frank", "incident personal_data INC-1 yes", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "no such incident"));
	r = as(t, "grace", "incident personal_data INC-1 yes", &ok);
	assert_false(ok);
	as(t, "bob", "incident personal_data INC-1 maybe", &ok);
	assert_false(ok);
	assert_int_equal(changes_fingerprint(t), before);
	/* the handler finds out two days later: the clock starts then */
	at_do(t, "2026-11-25 10:00", "bob",
	      "incident personal_data INC-1 yes The CSV holds payroll data");
	assert_int_equal(count(t, "SELECT personal_data_at - created_at FROM "
				  "incidents"),
			 2 * 86400);
	r = as(t, "bob", "incident personal_data INC-1 yes", &ok);
	assert_false(ok);
	assert_int_equal(pass(t, "2026-11-26 09:59"), 0);
	assert_int_equal(pass(t, "2026-11-26 10:00"), 2); /* 24 h */
	/* management is a role now */
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET roles = roles | ? WHERE "
				 "handle = 'erik'",
				 "i", (int64_t)ROLE_MANAGEMENT),
			 1);
	pass(t, "2026-11-28 10:00");
	assert_int_equal(sent_to(t, "bob", "INC-1: deadline passed"), 1);
	assert_int_equal(sent_to(t, "erik", "INC-1: deadline passed"), 1);
	assert_int_equal(sent_to(t, "carol", "INC-1: deadline passed"), 1);
	assert_int_equal(sent_to(t, "dana", "INC-1: deadline passed"), 0);
	/* not personal data after all: the clock stops */
	at_do(t, "2026-11-28 11:00", "carol",
	      "incident personal_data INC-1 no Test data, no real people");
	assert_int_equal(pass(t, "2026-11-29 10:00"), 0);
	r = as(t, "carol", "incident show INC-1", &ok);
	assert_non_null(strstr(r, "no personal data involved after all"));
	tenv_free(t);
}

/* bob asks to close an incident: APR-1, routed to carol (manager dana). */
static void
open_approval(struct tenv *t, const char *when)
{
	int ok;

	test_clock = at(t, when);
	as(t, "alice", "/incident Phishing mail", &ok);
	as(t, "carol", "incident assign INC-1 @bob", &ok);
	as(t, "bob", "incident close INC-1 Blocked the sender", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT approver_id = (SELECT id FROM people "
				  "WHERE handle = 'carol') FROM approvals"),
			 1);
}

/* A leaver gets no nudges, not even reminders of an approval. */
static void
test_no_nudges_for_leavers(void **state)
{
	struct tenv *t = env();
	int64_t last;
	int ok;

	(void)state;
	open_approval(t, "2026-11-23 10:00");
	as(t, "dana", "staff deactivate @carol", &ok);
	assert_true(ok);
	last = count(t, "SELECT MAX(id) FROM outbox");
	pass(t, "2026-11-24 10:30");
	pass(t, "2026-11-25 10:30");
	pass(t, "2026-11-30 10:30");
	/* the reminders and the escalation went to others */
	assert_true(count(t, "SELECT MAX(id) FROM outbox") > last);
	assert_int_equal(
	    db_int(t->st, &last,
		   "SELECT COUNT(*) FROM outbox o JOIN people p ON "
		   "p.id = o.person_id WHERE p.handle = 'carol' "
		   "AND o.id > ?",
		   "i", last),
	    1);
	assert_int_equal(last, 0);
	tenv_free(t);
}

static void
test_approval_remind_and_escalate(void **state)
{
	struct tenv *t = env();
	const char *r;
	int ok;

	(void)state;
	open_approval(t, "2026-11-23 10:00"); /* Monday; due Thursday */
	assert_int_equal(pass(t, "2026-11-24 09:59"), 0);
	assert_int_equal(pass(t, "2026-11-24 10:00"), 1);
	assert_int_equal(sent(t, MSG_APPROVAL, "Reminder: APR-1"), 1);
	assert_int_equal(pass(t, "2026-11-24 10:30"), 0);
	assert_int_equal(pass(t, "2026-11-25 10:00"), 0); /* repeat_days */
	/* past the deadline: to carol's manager, at once (an approval
	 * request, not a nudge), even at night */
	assert_int_equal(pass(t, "2026-11-26 09:59"), 0);
	assert_int_equal(pass(t, "2026-11-26 22:00"), 2);
	assert_int_equal(count(t,
			       "SELECT escalated_to = (SELECT id FROM people "
			       "WHERE handle = 'dana') FROM approvals"),
			 1);
	assert_int_equal(sent(t, MSG_APPROVAL, "APR-1 (escalated from carol)"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people p "
				  "ON p.id = o.person_id WHERE p.handle = "
				  "'carol' AND o.subject LIKE 'APR-1 escalated "
				  "to dana%'"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE action "
				  "= 'approval.escalate' AND actor = "
				  "'scheduler'"),
			 1);
	assert_int_equal(pass(t, "2026-11-27 10:00"), 0);
	restart(t);
	assert_int_equal(pass(t, "2026-11-27 10:01"), 0);
	/* a week after the first reminder, carol again; dana a week after
	 * the escalation */
	assert_int_equal(pass(t, "2026-12-01 10:00"), 1);
	assert_int_equal(pass(t, "2026-12-03 21:59"), 0); /* after hours */
	assert_int_equal(pass(t, "2026-12-04 09:00"), 1);
	assert_int_equal(count(t,
			       "SELECT COUNT(*) FROM outbox o JOIN people p "
			       "ON p.id = o.person_id WHERE p.handle = "
			       "'dana' AND o.subject LIKE 'Reminder: APR-1%'"),
			 1);
	/* the escalated manager may decide */
	r = as(t, "dana", "approvals", &ok);
	assert_non_null(strstr(r, "APR-1 from bob"));
	as(t, "dana", "approve APR-1 fine", &ok);
	assert_true(ok);
	assert_int_equal(pass(t, "2026-12-14 10:00"), 0);
	tenv_free(t);
}

static void
test_quiet_hours(void **state)
{
	struct tenv *t = env();
	int ok;

	(void)state;
	/* alice works in New York; everyone else in the org's Berlin */
	db_exec(t->st,
		"UPDATE people SET timezone = 'America/New_York' WHERE handle "
		"= 'alice'",
		NULL);
	db_exec(t->st,
		"UPDATE people SET timezone = NULL WHERE handle = "
		"'carol'",
		NULL);
	/* a campaign started on a Saturday reaches nobody at once */
	test_clock = at(t, "2026-11-21 11:00");
	as(t, "carol", "quiz start questions=1 audience=team:eng", &ok);
	assert_true(ok);
	/* a breach reported on Friday alerts on Saturday all the same */
	test_clock = at(t, "2026-11-20 11:00");
	as(t, "frank", "/incident USB stick lost personal_data=yes", &ok);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE kind = "
				  "'quiz'"),
			 0);
	assert_int_equal(pass(t, "2026-11-21 11:00"), 2);
	assert_int_equal(sent(t, MSG_BREACH, "INC-1"), 2);
	as(t, "carol", "incident notifiable INC-1 no encrypted", &ok);
	assert_true(ok);
	assert_int_equal(pass(t, "2026-11-22 16:00"), 0); /* Sunday */
	assert_int_equal(pass(t, "2026-11-23 08:59"), 0);
	/* Monday 09:00 in Berlin: bob and frank; alice (03:00) waits */
	assert_int_equal(pass(t, "2026-11-23 09:00"), 2);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people p "
				  "ON p.id = o.person_id WHERE o.kind = 'quiz' "
				  "AND p.handle IN ('bob', 'frank') AND "
				  "o.created_at = 1795420800"),
			 2);
	assert_int_equal(pass(t, "2026-11-23 14:59"), 0);
	/* 09:00 in New York */
	assert_int_equal(pass(t, "2026-11-23 15:00"), 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people p "
				  "ON p.id = o.person_id WHERE o.kind = 'quiz' "
				  "AND p.handle = 'alice'"),
			 1);
	tenv_free(t);
}

/* Answers handle's waiting question correctly. */
static void
answer_right(struct tenv *t, const struct quiz_bank *b, const char *handle)
{
	char *qid = db_text(t->st,
			    "SELECT i.question_id FROM quiz_items i JOIN "
			    "quiz_participants p USING (campaign_id, "
			    "person_id) JOIN people pe ON pe.id = p.person_id "
			    "WHERE pe.handle = ? AND i.seq = p.current_seq AND "
			    "i.answered_at IS NULL",
			    "t", handle);
	char cmd[32];
	int ok;

	assert_non_null(qid);
	snprintf(cmd, sizeof(cmd), "quiz answer %d",
		 quiz_bank_find(b, qid)->answer);
	as(t, handle, cmd, &ok);
	assert_true(ok);
	free(qid);
}

static void
test_campaign_start_to_close(void **state)
{
	struct tenv *t = env();
	struct quiz_bank b;
	char err[320], *body;
	const char *r;
	int ok, i;

	(void)state;
	assert_int_equal(quiz_bank_load(&b, err, sizeof(err)), 0);
	set(&t->cfg.quiz_every, "3m");
	t->cfg.quiz_questions = 3;
	/* the first pass of the quarter opens QZ-1 and sends first questions */
	assert_int_equal(pass(t, "2026-10-05 10:00"), 7);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns WHERE "
				  "period = '2026-10-01' AND created_by IS "
				  "NULL"),
			 1);
	assert_int_equal(pass(t, "2026-10-05 10:01"), 0);
	restart(t);
	assert_int_equal(pass(t, "2026-10-06 10:00"), 0);
	/* alice finishes; frank answers one of three; all right */
	for (i = 0; i < 3; i++) {
		answer_right(t, &b, "alice");
		if (i == 0)
			answer_right(t, &b, "frank");
	}
	/* a week on: one reminder to each of the six who did not finish */
	assert_int_equal(pass(t, "2026-10-12 09:59"), 0);
	assert_int_equal(pass(t, "2026-10-12 10:00"), 6);
	assert_int_equal(sent(t, MSG_QUIZ, "Reminder: security quiz QZ-1"), 6);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people p "
				  "ON p.id = o.person_id WHERE p.handle = "
				  "'alice' AND o.subject LIKE 'Reminder%'"),
			 0);
	/* frank's reminder carries the question he is on, the second */
	assert_int_equal(count(t, "SELECT json_extract(o.payload, '$.number') "
				  "FROM outbox o JOIN people p ON p.id = "
				  "o.person_id WHERE p.handle = 'frank' AND "
				  "o.subject LIKE 'Reminder%'"),
			 2);
	assert_int_equal(pass(t, "2026-10-12 10:01"), 0);
	/* the deadline is Monday 00:00: two days before is Saturday, so
	 * the last call goes out on Friday morning, once */
	assert_int_equal(pass(t, "2026-10-16 08:59"), 0);
	assert_int_equal(pass(t, "2026-10-16 10:00"), 6);
	assert_int_equal(sent(t, MSG_QUIZ,
			      "Last call: security quiz QZ-1 closes after "
			      "2026-10-18"),
			 6);
	assert_int_equal(pass(t, "2026-10-16 11:00"), 0);
	/* closes at the deadline (the start of day 14); results go to the
	 * managers in their working time: dana, carol, bob */
	assert_int_equal(pass(t, "2026-10-18 23:59"), 0);
	assert_int_equal(pass(t, "2026-10-19 00:00"), 0); /* closed, at night */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns WHERE "
				  "status = 'closed' AND closed_at = "
				  "1792360800"),
			 1);
	assert_int_equal(pass(t, "2026-10-19 09:00"), 3);
	body = db_text(t->st,
		       "SELECT o.body FROM outbox o JOIN people p ON p.id = "
		       "o.person_id WHERE p.handle = 'bob' AND o.subject LIKE "
		       "'Security quiz QZ-1 closed%'",
		       NULL);
	assert_non_null(body);
	assert_non_null(strstr(body, "eng              1/3 completed (33%), "
				     "score 100% (4 of 4 answers right)"));
	assert_non_null(strstr(body, "did not finish: frank."));
	free(body);
	/* dana: security, eng and audit (her reports' teams) */
	assert_int_equal(sent(t, MSG_NUDGE, "QZ-1 closed: 1 of 6"), 1);
	r = as(t, "carol", "quiz stats QZ-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "QZ-1 (closed; was open until 2026-10-18"));
	r = as(t, "frank", "quiz answer 2", &ok);
	assert_false(ok);
	/* nothing more for this campaign, across a restart */
	restart(t);
	assert_int_equal(pass(t, "2026-10-26 10:00"), 0);
	assert_int_equal(pass(t, "2026-12-21 10:00"), 0);
	/* the next quarter; the new year brings the annual risk assessment
	 * to the two isms_managers */
	assert_int_equal(pass(t, "2027-01-04 10:00"), 7 + 2);
	assert_int_equal(sent(t, MSG_QUIZ, "QZ-2: question 1"), 7);
	assert_int_equal(sent(t, MSG_NUDGE, "Annual risk assessment 2027"), 2);
	/* down from January to August: QZ-2 closes, its results go out, one
	 * campaign (not two) opens for the current quarter, and planning the
	 * management review (due six months after the start) is overdue */
	assert_int_equal(pass(t, "2027-08-02 10:00"), 7 + 3 + 2);
	assert_int_equal(sent(t, MSG_NUDGE,
			      "Management review overdue (due "
			      "2027-03-01): none is planned"),
			 2);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns"), 3);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns WHERE "
				  "period = '2027-07-01' AND status = 'open'"),
			 1);
	assert_int_equal(pass(t, "2027-08-02 11:00"), 0);
	quiz_bank_free(&b);
	tenv_free(t);
}

static void
test_periodic_campaign_rules(void **state)
{
	struct tenv *t = env();
	int ok;

	(void)state;
	/* off: none */
	assert_int_equal(pass(t, "2026-10-05 10:00"), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns"), 0);
	/* a campaign for everyone started by hand counts for the period */
	set(&t->cfg.quiz_every, "1m");
	test_clock = at(t, "2026-10-05 10:00");
	as(t, "carol", "quiz start questions=1", &ok);
	assert_true(ok);
	assert_int_equal(pass(t, "2026-10-05 10:05"), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns"), 1);
	/* a team campaign does not; next month one opens */
	as(t, "carol", "quiz start questions=1 audience=team:eng", &ok);
	assert_int_equal(pass(t, "2026-11-02 10:00") > 0, 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM quiz_campaigns WHERE "
				  "period = '2026-11-01'"),
			 1);
	/* weekly: Monday-based weeks */
	set(&t->cfg.quiz_every, "2w");
	assert_int_equal(pass(t, "2026-11-04 10:00") >= 0, 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'quiz.campaign' AND period = '2026-11-02'"),
			 1);
	tenv_free(t);
}

static void
test_pass_is_pure(void **state)
{
	struct tenv *t = env();
	int64_t when, after;
	int ok;

	(void)state;
	test_clock = at(t, "2026-11-20 11:00");
	as(t, "frank", "/incident Lost phone personal_data=yes", &ok);
	when = at(t, "2026-11-21 12:00");
	test_clock = 1; /* the store's clock is not the pass's */
	assert_int_equal(sched_run(t->st, &t->cfg, when), 2);
	/* everything the pass wrote is dated as of its instant */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE kind = "
				  "'breach' AND created_at = 1795258800"),
			 2);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE sent_at = "
				  "1795258800"),
			 1);
	/* and the store's own clock is back (test_clock, not the pass's) */
	after = store_now(t->st);
	assert_int_equal(after, 1);
	tenv_free(t);
}

/*
 * For tests of one kind of nudge: the ISMS started at since, and its
 * management review and internal audit are planned far ahead, so that
 * nothing else is due.
 */
static struct tenv *
env_quiet(const char *since)
{
	struct tenv *t = env();
	int ok;

	test_clock = at(t, since);
	db_exec(t->st, "UPDATE people SET created_at = ?", "i", test_clock);
	as(t, "carol", "review plan date=2030-01-07", &ok);
	assert_true(ok);
	as(t, "carol", "audit plan ISMS date=2030-01-07 auditor=@grace", &ok);
	assert_true(ok);
	db_exec(t->st, "DELETE FROM outbox", NULL);
	return t;
}

static void
test_risk_review(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");

	(void)state;
	/* 4 x 4 = 16, high: reviewed every 6 months, due 2027-07-04 */
	at_do(t, "2027-01-04 10:00", "bob",
	      "risk add Laptop theft likelihood=4 impact=4");
	assert_int_equal(pass(t, "2027-06-18 10:00"), 0);
	/* announced 14 days ahead, on the first working day in the window */
	assert_int_equal(pass(t, "2027-06-21 09:00"), 1);
	assert_int_equal(sent_to(t, "bob",
				 "Risk review due on 2027-07-04: "
				 "RSK-1 [high] Laptop theft"),
			 1);
	assert_int_equal(pass(t, "2027-06-28 10:00"), 0);
	/* due: nudged, then once a week */
	assert_int_equal(pass(t, "2027-07-05 10:00"), 1);
	assert_int_equal(sent_to(t, "bob",
				 "Risk review overdue (due "
				 "2027-07-04): RSK-1"),
			 1);
	assert_int_equal(pass(t, "2027-07-06 10:00"), 0);
	restart(t);
	assert_int_equal(pass(t, "2027-07-09 10:00"), 0);
	assert_int_equal(pass(t, "2027-07-12 10:00"), 1);
	/* down for eight weeks: caught up once */
	assert_int_equal(pass(t, "2027-09-06 10:00"), 1);
	assert_int_equal(pass(t, "2027-09-06 11:00"), 0);
	assert_int_equal(sent_to(t, "bob", "Risk review overdue"), 3);
	/* re-assessed: a new review date, no more nudges */
	at_do(t, "2027-09-06 11:30", "bob", "risk update RSK-1 likelihood=2");
	assert_int_equal(pass(t, "2027-09-13 10:00"), 0);
	assert_int_equal(pass(t, "2027-10-11 10:00"), 0);
	tenv_free(t);
}

static void
test_action_overdue_escalation(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");

	(void)state;
	at_do(t, "2027-03-01 10:00", "carol",
	      "action add Rotate the API keys owner=@frank due=2027-03-15");
	assert_int_equal(pass(t, "2027-03-05 10:00"), 0);
	/* seven days ahead */
	assert_int_equal(pass(t, "2027-03-08 10:00"), 1);
	assert_int_equal(sent_to(t, "frank",
				 "Action due on 2027-03-15: ACT-1 "
				 "Rotate the API keys"),
			 1);
	assert_int_equal(pass(t, "2027-03-15 10:00"), 0); /* the due day */
	/* overdue from the day after */
	assert_int_equal(pass(t, "2027-03-16 10:00"), 1);
	assert_int_equal(sent_to(t, "frank", "Action overdue (due 2027-03-15)"),
			 1);
	assert_int_equal(pass(t, "2027-03-22 10:00"), 0); /* < repeat_days */
	/* a week on: the owner again, and escalate_after_days (7) have
	 * passed, so frank's manager bob is told, once */
	assert_int_equal(pass(t, "2027-03-23 10:00"), 2);
	assert_int_equal(sent_to(t, "bob",
				 "Overdue action of frank (due "
				 "2027-03-15): ACT-1"),
			 1);
	/* the same weekday and hour after the switch to summer time (six
	 * days and 23 hours later) is a week later */
	assert_int_equal(pass(t, "2027-03-30 10:00"), 1);
	assert_int_equal(sent_to(t, "frank", "Action overdue"), 3);
	assert_int_equal(sent_to(t, "bob", "Overdue action"), 1);
	at_do(t, "2027-03-30 11:00", "frank", "action done ACT-1 rotated");
	assert_int_equal(pass(t, "2027-04-06 10:00"), 0);
	/* a shorter escalation threshold escalates sooner */
	t->cfg.nudge_escalate_after_days = 2;
	at_do(t, "2027-04-06 11:00", "carol",
	      "action add Patch the VPN owner=@alice due=2027-04-07");
	assert_int_equal(pass(t, "2027-04-08 10:00"), 1); /* overdue */
	assert_int_equal(pass(t, "2027-04-09 10:00"), 0);
	assert_int_equal(pass(t, "2027-04-10 10:00"), 0); /* Saturday */
	assert_int_equal(pass(t, "2027-04-12 10:00"), 1); /* Monday */
	assert_int_equal(sent_to(t, "bob", "Overdue action of alice"), 1);
	tenv_free(t);
}

static void
test_documents(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");
	static const char *const first[] = {"alice", "bob", "carol", "dana",
					    "erik"};
	size_t i;

	(void)state;
	at_do(t, "2027-02-01 10:00", "carol",
	      "doc add Acceptable use policy review_every=1m ack=required");
	/* everyone is asked to acknowledge it */
	assert_int_equal(pass(t, "2027-02-01 10:05"), 7);
	assert_int_equal(sent(t, MSG_NUDGE,
			      "Please read and acknowledge DOC-1: "
			      "Acceptable use policy"),
			 7);
	for (i = 0; i < ARRAY_LEN(first); i++)
		at_do(t, "2027-02-01 11:00", first[i], "doc ack DOC-1");
	assert_int_equal(pass(t, "2027-02-05 10:05"), 0);
	/* a week on, the two who have not */
	assert_int_equal(pass(t, "2027-02-08 10:05"), 2);
	assert_int_equal(sent_to(t, "frank", "acknowledge DOC-1"), 2);
	assert_int_equal(sent_to(t, "grace", "acknowledge DOC-1"), 2);
	/* the review (due 2027-03-01) is announced to the owner */
	assert_int_equal(pass(t, "2027-02-15 10:05"), 1 + 2);
	assert_int_equal(sent_to(t, "carol",
				 "Document review due on "
				 "2027-03-01: DOC-1"),
			 1);
	at_do(t, "2027-02-15 11:00", "frank", "doc ack DOC-1");
	assert_int_equal(pass(t, "2027-02-22 10:05"), 1);
	assert_int_equal(pass(t, "2027-03-01 10:05"), 2); /* review, grace */
	assert_int_equal(sent_to(t, "carol", "Document review overdue"), 1);
	at_do(t, "2027-03-01 11:00", "carol", "doc reviewed DOC-1");
	at_do(t, "2027-03-01 11:00", "grace", "doc ack DOC-1");
	assert_int_equal(pass(t, "2027-03-08 10:05"), 0);
	assert_int_equal(sent_to(t, "grace", "acknowledge DOC-1"), 5);
	tenv_free(t);
}

static void
test_reviews_and_audits(void **state)
{
	struct tenv *t = env();

	(void)state;
	at_do(t, "2027-01-04 10:00", "carol", "review plan date=2027-02-15");
	at_do(t, "2027-01-04 10:00", "carol",
	      "audit plan Access control date=2027-03-10 auditor=@grace");
	/* the year's risk assessment, to both isms_managers */
	assert_int_equal(pass(t, "2027-01-04 10:05"), 2);
	assert_int_equal(sent_to(t, "erik", "Annual risk assessment 2027"), 1);
	assert_int_equal(pass(t, "2027-01-25 10:05"), 0);
	/* 14 days before the management review */
	assert_int_equal(pass(t, "2027-02-01 10:05"), 2);
	assert_int_equal(sent_to(t, "carol",
				 "Management review due on "
				 "2027-02-15: MR-1"),
			 1);
	assert_int_equal(pass(t, "2027-02-08 10:05"), 0);
	/* its day came and it is not recorded */
	assert_int_equal(pass(t, "2027-02-15 10:05"), 2);
	at_do(t, "2027-02-15 16:00", "dana",
	      "review record MR-1 Keep going attendees=@carol");
	assert_int_equal(pass(t, "2027-02-22 10:05"), 0);
	/* the auditor, 14 days before the audit */
	assert_int_equal(pass(t, "2027-02-24 10:05"), 1);
	assert_int_equal(sent_to(t, "grace",
				 "Internal audit due on "
				 "2027-03-10: AUD-1 Access "
				 "control"),
			 1);
	assert_int_equal(pass(t, "2027-03-10 10:05"), 0);
	/* the next review is due six months after the last one */
	assert_int_equal(pass(t, "2027-07-30 10:05"), 0);
	assert_int_equal(pass(t, "2027-08-02 10:05"), 2);
	assert_int_equal(sent_to(t, "carol",
				 "Management review due on "
				 "2027-08-15: none is planned"),
			 1);
	assert_int_equal(pass(t, "2027-08-09 10:05"), 0);
	/* no internal audit planned a year after the last: ask for one */
	assert_int_equal(pass(t, "2028-02-25 10:05"), 2 + 2 + 2);
	assert_int_equal(sent_to(t, "erik",
				 "Internal audit plan due on "
				 "2028-03-10: no audit is planned"),
			 1);
	tenv_free(t);
}

static void
test_report_mail(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");
	char *text, *html;
	int ok;

	(void)state;
	set(&t->cfg.report_recipients,
	    "board@example.org, dana,nobody , @grace");
	db_exec(t->st,
		"UPDATE people SET timezone = 'America/New_York' WHERE handle "
		"= 'grace'",
		NULL);
	at_do(t, "2027-02-01 10:00", "bob",
	      "risk add Ransomware <&> backups likelihood=5 impact=5");
	at_do(t, "2027-02-01 10:00", "bob",
	      "risk add Shoulder surfing likelihood=3 impact=3");
	at_do(t, "2027-02-01 10:00", "alice",
	      "/incident Phishing wave severity=high");
	at_do(t, "2027-02-01 10:00", "carol",
	      "action add Train the staff owner=@bob due=2027-02-10");
	at_do(t, "2027-02-01 10:00", "carol", "quiz start questions=1");
	as(t, "alice", "quiz answer 1", &ok);
	db_exec(t->st, "DELETE FROM outbox", NULL);
	/* March: the board's address and dana at 10:00 Berlin; grace is in
	 * New York (04:00) and gets hers at 09:00 there */
	assert_true(pass(t, "2027-03-01 10:00") >= 2);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE kind = "
				  "'report' AND address = 'board@example.org' "
				  "AND person_id IS NULL AND html LIKE "
				  "'<html>%'"),
			 1);
	assert_int_equal(sent_to(t, "dana",
				 "ISMS management report, Example "
				 "Org, 2027-03-01"),
			 1);
	assert_int_equal(sent_to(t, "grace", "ISMS management report"), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'report.unknown' AND object = 'nobody'"),
			 1);
	text = db_text(t->st,
		       "SELECT body FROM outbox WHERE address = "
		       "'board@example.org'",
		       NULL);
	html = db_text(t->st,
		       "SELECT html FROM outbox WHERE address = "
		       "'board@example.org'",
		       NULL);
	/* the text is the report command's, as of the same time */
	{
		const char *r = as(t, "dana", "report", &ok);

		assert_true(ok);
		assert_string_equal(r, text);
	}
	assert_non_null(strstr(text, "ISMS management summary, Example Org, "
				     "2027-03-01"));
	assert_non_null(strstr(text, "Risks: 2 (critical 1, high 0, medium 1, "
				     "low 0)"));
	assert_non_null(strstr(text, "Open incidents: critical 0, high 1, "
				     "medium 0, low 0 (1 open"));
	assert_non_null(strstr(text, "Actions: 1 open, 1 overdue, 0 done."));
	/* the campaign closed before the report was written */
	assert_non_null(strstr(text, "Quiz completion: QZ-1 (closed, ran until "
				     "2027-02-14) 1 of 7 people completed "
				     "(14%), "));
	assert_non_null(strstr(text, "Reviews due in the next 30 days:"));
	assert_non_null(strstr(text, "\nAudit log head: "));
	/* the HTML: sections, the coloured heat map, escaped text */
	assert_non_null(strstr(html, "<h2>Heat map</h2>\n<table"));
	assert_non_null(strstr(html, "background:#ff6b6b;border:2px solid "
				     "#fff;padding:8px 14px\" title=\"critical "
				     "(25)\">1</td>"));
	assert_non_null(strstr(html, "title=\"medium (9)\">1</td>"));
	assert_non_null(strstr(html, "<h2>Incidents</h2>\n<p style=\"white-"
				     "space:pre-wrap\">Open incidents: "));
	assert_non_null(strstr(html, "<h2>Awareness</h2>"));
	assert_null(strstr(html, "```"));
	free(text);
	free(html);
	/* once per period and recipient */
	assert_int_equal(pass(t, "2027-03-01 10:30"), 0);
	assert_int_equal(pass(t, "2027-03-01 15:00"), 1); /* grace */
	assert_int_equal(sent_to(t, "grace", "ISMS management report"), 1);
	restart(t);
	assert_int_equal(pass(t, "2027-03-08 15:00") >= 0, 1);
	assert_int_equal(sent(t, MSG_REPORT, "ISMS management report"), 3);
	/* down from March to September: one report each, not six */
	assert_true(pass(t, "2027-09-06 15:00") >= 3);
	assert_int_equal(sent(t, MSG_REPORT, "ISMS management report"), 6);
	/* off: none */
	set(&t->cfg.report_every, "off");
	assert_true(pass(t, "2027-10-04 15:00") >= 0);
	assert_int_equal(sent(t, MSG_REPORT, "ISMS management report"), 6);
	tenv_free(t);
}

/*
 * Weekly passes at a fixed local time keep reminding across the switch to
 * summer time (the repeat windows are counted in days, not seconds).
 */
static void
test_weekly_reminders_across_dst(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");
	static const char *const mondays[] = {"2027-03-22", "2027-03-29",
					      "2027-04-05", "2027-04-12"};
	size_t i;

	(void)state;
	at_do(t, "2027-03-15 10:00", "carol",
	      "quiz start questions=1 audience=team:eng deadline=2027-05-01");
	for (i = 0; i < ARRAY_LEN(mondays); i++) {
		char when[32];

		snprintf(when, sizeof(when), "%s 10:00", mondays[i]);
		assert_int_equal(pass(t, when), 3);
	}
	assert_int_equal(sent_to(t, "frank", "Reminder: security quiz QZ-1"),
			 4);
	tenv_free(t);
}

/*
 * A seven-day campaign with repeat_days = 7: the regular reminder would
 * fall on the deadline, so the last call is the one reminder, sent on
 * the first working pass from the last working day that starts at least
 * two days before the deadline, once, and not to those who finished.
 */
static void
test_last_call_seven_day_campaign(void **state)
{
	struct tenv *t = env_quiet("2026-10-01 08:00");
	struct quiz_bank b;
	char err[320], when[40];
	int64_t deadline, lastcall_at = 0;
	int ok, d, h, total = 0;

	(void)state;
	assert_int_equal(quiz_bank_load(&b, err, sizeof(err)), 0);
	t->cfg.nudge_repeat_days = 7;
	t->cfg.quiz_deadline_days = 7;
	/* Monday 10:00: open until Sunday, closing Monday 00:00 */
	test_clock = at(t, "2026-10-05 10:00");
	as(t, "carol", "quiz start questions=2", &ok);
	assert_true(ok);
	deadline = count(t, "SELECT deadline_at FROM quiz_campaigns");
	assert_int_equal(deadline, at(t, "2026-10-12 00:00"));
	answer_right(t, &b, "alice");
	answer_right(t, &b, "alice");
	/* every hour of the campaign and a day beyond */
	for (d = 5; d <= 13; d++)
		for (h = 0; h < 24; h++) {
			int n;

			snprintf(when, sizeof(when), "2026-10-%02d %02d:30", d,
				 h);
			n = pass(t, when);
			if (n > 0 && lastcall_at == 0 &&
			    sent(t, MSG_QUIZ, "Last call") > 0)
				lastcall_at = test_clock;
			total += n;
		}
	/* no regular reminder: it would have been due at the deadline */
	assert_int_equal(sent(t, MSG_QUIZ, "Reminder:"), 0);
	/* one last call each to the six who had not finished, on Friday
	 * (Saturday is two days before the deadline), at 09:30 */
	assert_int_equal(sent(t, MSG_QUIZ,
			      "Last call: security quiz QZ-1 closes after "
			      "2026-10-11, question 1 of 2 is waiting"),
			 6);
	assert_int_equal(sent_to(t, "alice", "Last call"), 0);
	assert_int_equal(lastcall_at, at(t, "2026-10-09 09:30"));
	assert_true(lastcall_at <= deadline - 2 * 86400);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'quiz.lastcall' AND period = 'last'"),
			 6);
	/* the results (to the three managers) and the last calls only */
	assert_int_equal(total, 6 + 3);
	/* the last call carries the question and its answer command */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE subject "
				  "LIKE 'Last call%' AND json_extract(payload, "
				  "'$.answer_command') LIKE 'quiz answer QZ-1 "
				  "%'"),
			 6);
	quiz_bank_free(&b);
	tenv_free(t);
}

/* A longer campaign: regular reminders, then the last call, none twice. */
static void
test_last_call_after_reminders(void **state)
{
	struct tenv *t = env_quiet("2026-10-01 08:00");
	int ok;

	(void)state;
	t->cfg.nudge_repeat_days = 3;
	/* Monday to Wednesday of the next week (deadline Thursday 00:00) */
	test_clock = at(t, "2026-10-05 10:00");
	as(t, "carol", "quiz start questions=1 deadline=2026-10-14", &ok);
	assert_true(ok);
	assert_int_equal(pass(t, "2026-10-08 10:00"), 7); /* day 3 */
	assert_int_equal(sent(t, MSG_QUIZ, "Reminder:"), 7);
	/* day 6 would be a reminder, but the last call (Monday 09:00, two
	 * days before Thursday is Tuesday 00:00) is within a day */
	assert_int_equal(pass(t, "2026-10-11 10:00"), 0); /* Sunday */
	assert_int_equal(pass(t, "2026-10-12 08:00"), 0);
	assert_int_equal(pass(t, "2026-10-12 09:00"), 7);
	assert_int_equal(sent(t, MSG_QUIZ, "Last call"), 7);
	assert_int_equal(sent(t, MSG_QUIZ, "Reminder:"), 7);
	assert_int_equal(pass(t, "2026-10-13 10:00"), 0);
	assert_int_equal(pass(t, "2026-10-14 10:00"), 0);
	/* a two-day campaign gets no last call: its question is fresh */
	test_clock = at(t, "2026-10-19 10:00");
	as(t, "carol", "quiz start questions=1 deadline=2026-10-20", &ok);
	assert_true(ok);
	pass(t, "2026-10-19 11:00");
	pass(t, "2026-10-20 11:00");
	assert_int_equal(sent(t, MSG_QUIZ, "Last call: security quiz QZ-2"), 0);
	tenv_free(t);
}

/* Acknowledgements with a date get a last call before it. */
static void
test_ack_last_call(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");
	static const char *const readers[] = {"alice", "bob", "carol", "dana",
					      "erik"};
	const char *r;
	size_t i;
	int ok;

	(void)state;
	test_clock = at(t, "2027-02-01 10:00");
	r = as(t, "carol",
	       "doc add Old policy review_every=12m ack_by=2027-03-01", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "ack_by= needs ack=required"));
	r = as(t, "carol",
	       "doc add Old policy review_every=12m ack=required "
	       "ack_by=2027-01-31",
	       &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "ack_by= must not be in the past"));
	r = as(t, "carol",
	       "doc add Old policy review_every=12m ack=required ack_by=soon",
	       &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "ack_by= must be a date YYYY-MM-DD"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM docs"), 0);
	at_do(t, "2027-02-01 10:00", "carol",
	      "doc add Acceptable use policy review_every=12m ack=required "
	      "ack_by=2027-02-12");
	r = as(t, "alice", "doc show DOC-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "acknowledge by 2027-02-12"));
	assert_int_equal(pass(t, "2027-02-01 10:05"), 7);
	for (i = 0; i < ARRAY_LEN(readers); i++)
		at_do(t, "2027-02-01 11:00", readers[i], "doc ack DOC-1");
	/* the weekly repeat on Monday, to the two who have not */
	assert_int_equal(pass(t, "2027-02-08 10:05"), 2);
	/* due Saturday 00:00: two days before is Thursday 00:00, so the
	 * last call starts Wednesday 09:00 */
	assert_int_equal(pass(t, "2027-02-10 08:59"), 0);
	assert_int_equal(pass(t, "2027-02-10 09:00"), 2);
	assert_int_equal(
	    sent_to(t, "frank", "Last call: acknowledge DOC-1 by 2027-02-12"),
	    1);
	assert_int_equal(sent_to(t, "grace", "Last call"), 1);
	assert_int_equal(pass(t, "2027-02-11 10:05"), 0);
	at_do(t, "2027-02-11 11:00", "frank", "doc ack DOC-1");
	assert_int_equal(pass(t, "2027-02-12 10:05"), 0);
	/* past the date the weekly repeats go on for grace */
	assert_int_equal(pass(t, "2027-02-15 10:05"), 1);
	assert_int_equal(sent_to(t, "grace", "Please read and acknowledge"), 3);
	assert_int_equal(sent_to(t, "frank", "Last call"), 1);
	tenv_free(t);
}

/* Adds an outbox message to handle with deliveries "transport:status:error". */
static int64_t
undelivered(struct tenv *t, const char *handle, enum msg_kind kind,
	    const char *subject, const char *const *deliveries, size_t n)
{
	int64_t id, pid;
	size_t i;

	assert_int_equal(db_int(t->st, &pid,
				"SELECT id FROM people WHERE handle = ?", "t",
				handle),
			 1);
	id = store_outbox_add(t->st, pid, NULL, msg_kind_name(kind), subject,
			      "the body: secret incident details", NULL, NULL);
	assert_true(id > 0);
	assert_int_equal(db_exec(t->st,
				 "UPDATE outbox SET routed = 1 WHERE id = ?",
				 "i", id),
			 1);
	for (i = 0; i < n; i++) {
		char tr[16], st[16], er[128];

		assert_int_equal(sscanf(deliveries[i],
					"%15[^:]:%15[^:]:%127[^\n]", tr, st,
					er),
				 3);
		assert_int_equal(
		    db_exec(t->st,
			    "INSERT INTO outbox_delivery(outbox_id, transport, "
			    "status, attempts, last_error) VALUES (?,?,?,1,?)",
			    "itt"
			    "t",
			    id, tr, st, er),
		    1);
	}
	return id;
}

/*
 * Messages every transport refused: one digest a day to the
 * isms_managers in working time, each message listed once, never a body;
 * nothing when nothing failed; the report counts them.
 */
static void
test_delivery_digest(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");
	static const char *const both[] = {
	    "slack:failed:channel_not_found",
	    "mail:failed:550 5.1.1 <frank@example.org>: mailbox unavailable"};
	static const char *const fell_back[] = {"slack:failed:not_in_channel",
						"mail:pending:x"};
	static const char *const none[] = {
	    "none:failed:no enabled transport reaches the recipient"};
	char *body;
	const char *r;
	int ok;

	(void)state;
	/* nothing failed: no digest */
	assert_int_equal(pass(t, "2027-01-04 10:00"), 0);
	test_clock = at(t, "2027-01-04 11:00");
	undelivered(t, "frank", MSG_QUIZ,
		    "Security quiz QZ-1: question 1 of 5 about a very long "
		    "subject that goes on and on beyond sixty characters",
		    both, 2);
	undelivered(t, "alice", MSG_NUDGE, "Please acknowledge DOC-1",
		    fell_back, 2);
	undelivered(t, "grace", MSG_APPROVAL, "Approval needed APR-1", none, 1);
	r = as(t, "carol", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Undelivered messages: 2 (every transport "
				  "refused them"));
	/* at night it waits for working time */
	assert_int_equal(pass(t, "2027-01-04 22:00"), 0);
	assert_int_equal(pass(t, "2027-01-05 09:00"), 2);
	assert_int_equal(sent(t, MSG_DIGEST,
			      "Undelivered messages: 2 on "
			      "2027-01-05"),
			 2);
	assert_int_equal(sent_to(t, "carol", "Undelivered messages"), 1);
	assert_int_equal(sent_to(t, "erik", "Undelivered messages"), 1);
	body = db_text(t->st,
		       "SELECT o.body FROM outbox o JOIN people p ON p.id = "
		       "o.person_id WHERE p.handle = 'erik' AND o.kind = "
		       "'digest'",
		       NULL);
	assert_non_null(body);
	assert_non_null(strstr(body, "quiz to frank, queued 2027-01-04 11:00"));
	assert_non_null(
	    strstr(body, "\"Security quiz QZ-1: question 1 of 5 about a very "
			 "long subjec...\""));
	assert_non_null(strstr(body, "tried: slack (1 attempt): "
				     "channel_not_found; mail (1 attempt): 550 "
				     "5.1.1 <frank@example.org>: mailbox "
				     "unavailable"));
	assert_non_null(strstr(body, "approval to grace"));
	assert_non_null(strstr(body, "none (1 attempt): no enabled transport "
				     "reaches the recipient"));
	assert_null(strstr(body, "alice")); /* still on its way by mail */
	assert_null(strstr(body, "secret"));
	free(body);
	/* once a day; the next day nothing new, so nothing */
	assert_int_equal(pass(t, "2027-01-05 15:00"), 0);
	restart(t);
	assert_int_equal(pass(t, "2027-01-06 10:00"), 0);
	/* a new failure that day: that day's digest, alone */
	test_clock = at(t, "2027-01-06 11:00");
	undelivered(t, "bob", MSG_NUDGE, "Risk review due", none, 1);
	assert_int_equal(pass(t, "2027-01-06 12:00"), 2);
	assert_int_equal(sent(t, MSG_DIGEST,
			      "Undelivered messages: 1 on "
			      "2027-01-06"),
			 2);
	body = db_text(t->st,
		       "SELECT body FROM outbox WHERE subject LIKE "
		       "'Undelivered messages: 1 on%' LIMIT 1",
		       NULL);
	assert_non_null(body);
	assert_non_null(strstr(body, "nudge to bob"));
	assert_null(strstr(body, "frank"));
	free(body);
	/* another the same day waits for the next day's digest */
	test_clock = at(t, "2027-01-06 13:00");
	undelivered(t, "dana", MSG_NUDGE, "Management review due", none, 1);
	assert_int_equal(pass(t, "2027-01-06 14:00"), 0);
	assert_int_equal(pass(t, "2027-01-07 09:00"), 2);
	assert_int_equal(sent(t, MSG_DIGEST, "on 2027-01-07"), 2);
	r = as(t, "dana", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Undelivered messages: 4"));
	tenv_free(t);
}

/*
 * The audit log's head goes to the isms_managers and auditors once a day
 * in their working time, and says what "audit verify --head" checks.
 */
static void
test_audit_head_daily(void **state)
{
	struct tenv *t = env_quiet("2027-01-01 08:00");
	char hash[65], *body;
	int64_t seq;

	(void)state;
	t->cfg.store_publish_head = 1;
	/* a Saturday: nobody's working day */
	assert_int_equal(pass(t, "2027-03-06 10:00"), 0);
	assert_int_equal(pass(t, "2027-03-08 07:00"), 0); /* before hours */
	assert_int_equal(store_audit_head(t->st, &seq, hash), 1);
	assert_int_equal(pass(t, "2027-03-08 10:00"), 3);
	assert_int_equal(sent_to(t, "carol", "Audit log head, 2027-03-08"), 1);
	assert_int_equal(sent_to(t, "erik", "Audit log head, 2027-03-08"), 1);
	assert_int_equal(sent_to(t, "grace", "Audit log head, 2027-03-08"), 1);
	body = db_text(t->st,
		       "SELECT o.body FROM outbox o JOIN people p ON p.id = "
		       "o.person_id WHERE p.handle = 'grace' AND o.kind = "
		       "'audit'",
		       NULL);
	assert_non_null(body);
	{
		char line[160];

		snprintf(line, sizeof(line), "audit verify --head %lld:%s",
			 (long long)seq, hash);
		assert_non_null(strstr(body, line));
	}
	free(body);
	/* once a day per recipient, across restarts */
	assert_int_equal(pass(t, "2027-03-08 15:00"), 0);
	restart(t);
	assert_int_equal(pass(t, "2027-03-08 16:00"), 0);
	assert_int_equal(pass(t, "2027-03-09 10:00"), 3);
	assert_int_equal(sent(t, MSG_AUDIT, "Audit log head"), 6);
	/* off: none */
	t->cfg.store_publish_head = 0;
	assert_int_equal(pass(t, "2027-03-10 10:00"), 0);
	tenv_free(t);
}

/* A risk acceptance ends: its owner hears 30 days ahead, then it re-opens. */
static void
test_acceptance_expiry(void **state)
{
	struct tenv *t = env();
	int ok;

	(void)state;
	test_clock = at(t, "2026-11-23 10:00");
	as(t, "bob", "risk add Datacenter fire likelihood=2 impact=3", &ok);
	assert_true(ok);
	as(t, "bob", "risk treat RSK-1 accept Cheap", &ok);
	assert_true(ok);
	t->cfg.risk_acceptance_months = 6;
	/* bound at the time of treatment with 12 months */
	assert_int_equal(count(t, "SELECT date(accepted_until, 'unixepoch') "
				  "= '2027-11-23' FROM risks"),
			 1);
	pass(t, "2027-10-23 09:00");
	assert_int_equal(sent(t, MSG_NUDGE, "Risk acceptance"), 0);
	pass(t, "2027-10-25 10:00");
	pass(t, "2027-10-26 10:00");
	assert_int_equal(sent_to(t, "bob",
				 "Risk acceptance of RSK-1 ends on "
				 "2027-11-23"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM approvals"), 0);
	pass(t, "2027-11-23 10:05");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM approvals WHERE kind "
				  "= 'risk.accept' AND status = 'pending'"),
			 1);
	assert_int_equal(count(t, "SELECT treatment IS NULL FROM risks"), 1);
	pass(t, "2027-11-24 10:05");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM approvals"), 1);
	/* approved anew: six months now */
	test_clock = at(t, "2027-11-24 11:00");
	as(t, "dana", "approve APR-1", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT date(accepted_until, 'unixepoch') "
				  "= '2028-05-24' FROM risks"),
			 1);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acceptance_expiry),
	    cmocka_unit_test(test_breach_clock_from_awareness),
	    cmocka_unit_test(test_no_nudges_for_leavers),
	    cmocka_unit_test(test_breach_clock),
	    cmocka_unit_test(test_approval_remind_and_escalate),
	    cmocka_unit_test(test_quiet_hours),
	    cmocka_unit_test(test_campaign_start_to_close),
	    cmocka_unit_test(test_periodic_campaign_rules),
	    cmocka_unit_test(test_pass_is_pure),
	    cmocka_unit_test(test_risk_review),
	    cmocka_unit_test(test_action_overdue_escalation),
	    cmocka_unit_test(test_documents),
	    cmocka_unit_test(test_reviews_and_audits),
	    cmocka_unit_test(test_report_mail),
	    cmocka_unit_test(test_weekly_reminders_across_dst),
	    cmocka_unit_test(test_last_call_seven_day_campaign),
	    cmocka_unit_test(test_last_call_after_reminders),
	    cmocka_unit_test(test_ack_last_call),
	    cmocka_unit_test(test_delivery_digest),
	    cmocka_unit_test(test_audit_head_daily),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
