/*
 * Unit tests of the nonconformity discipline (ISO/IEC 27001 clause 10.2):
 * findings cite a clause or a control, the root cause comes before a
 * corrective action closes, effectiveness checks close or re-open a
 * finding, refusals change nothing, and the report, the export and the
 * scheduler's nudges show what is missing.
 */
#include "regutil.h"

#include "../../base/tz.h"
#include "../../commands/sched.h"
#include "../../store/export.h"

/* Every table a finding command may touch, for "nothing changed". */
static int64_t
fingerprint(struct tenv *t)
{
	return everything(t) * 7 +
	       count(t,
		     "SELECT (SELECT COUNT(*) FROM finding_checks) + "
		     "(SELECT COALESCE(SUM(length(cause)), 0) + "
		     "COALESCE(SUM(needs_action), 0) + COALESCE(SUM(CASE WHEN "
		     "status = 'closed' THEN 1 ELSE 0 END), 0) * 3 FROM "
		     "findings) + (SELECT COUNT(*) "
		     "FROM actions WHERE status = 'done') * 5");
}

/* Refused, with the expected words, and nothing changed. */
static void
refused_clean(struct tenv *t, const char *who, const char *text,
	      const char *expect)
{
	int64_t before = fingerprint(t);

	refused_as(t, who, text, expect);
	if (fingerprint(t) != before)
		fail_msg("%s: %s was refused but changed the database", who,
			 text);
}

/* The reply of a command that must succeed. */
static const char *
ok_reply(struct tenv *t, const char *who, const char *text)
{
	int ok;
	const char *r = as(t, who, text, &ok);

	if (!ok)
		fail_msg("%s: %s -> %s", who, text, r);
	return r;
}

/* An audit of grace's with a major nonconformity whose action bob owns. */
static struct tenv *
with_finding(void)
{
	struct tenv *t = setup();

	ok_as(t, "carol", "audit plan Access date=2027-02-15 auditor=@grace");
	ok_as(t, "grace",
	      "audit finding AUD-1 major No access reviews clause=9.2 "
	      "control=A.5.18");
	ok_as(t, "carol",
	      "action add Quarterly access reviews owner=@bob "
	      "due=2027-03-31 source=FND-1");
	return t;
}

static void
test_cites(void **state)
{
	struct tenv *t = setup();
	const char *r;

	(void)state;
	ok_as(t, "carol", "audit plan Access date=2027-02-15 auditor=@grace");
	r = ok_reply(
	    t, "grace",
	    "audit finding aud-1 minor Leavers keep access clause=7.5.3 "
	    "control=5.18");
	assert_non_null(strstr(r, "Finding FND-1 recorded on AUD-1: minor "
				  "nonconformity. It cites clause 7.5.3, "
				  "control 5.18."));
	assert_non_null(strstr(r, "finding cause FND-1 <cause>"));
	assert_sql(t, "SELECT clause || '|' || control_id FROM findings",
		   "7.5.3|5.18");
	assert_sql(t,
		   "SELECT json_extract(details, '$.clause') || '|' || "
		   "json_extract(details, '$.control') FROM audit_log WHERE "
		   "action = 'audit.finding'",
		   "7.5.3|5.18");
	/* the keys stay optional: the old grammar works unchanged */
	ok_as(t, "grace", "audit finding 1 observation Good onboarding");
	assert_sql(t,
		   "SELECT COALESCE(clause, 'none') || COALESCE(control_id, "
		   "'none') FROM findings WHERE id = 2",
		   "nonenone");
	/* clauses of the main body only; controls that exist */
	refused_clean(t, "grace", "audit finding AUD-1 minor x clause=11.1",
		      "clause=11.1 is not a clause of ISO/IEC 27001:2022: "
		      "give one from 4.1 to 10.2");
	refused_clean(t, "grace", "audit finding AUD-1 minor x clause=3.1",
		      "not a clause");
	refused_clean(t, "grace", "audit finding AUD-1 minor x control=5.99",
		      "control=5.99: no such control");
	refused_clean(t, "grace", "audit finding AUD-1 minor x source=5.1",
		      NULL);
	r = ok_reply(t, "carol", "audit show AUD-1");
	assert_non_null(strstr(r, "FND-1 [minor nonconformity, open] Leavers "
				  "keep access (clause 7.5.3) (control 5.18) "
				  "-- corrective action: NONE YET; root cause "
				  "NOT RECORDED"));
	tenv_free(t);
}

static void
test_cause_before_done(void **state)
{
	struct tenv *t = with_finding();
	const char *r;

	(void)state;
	/* no cause: the corrective action does not close, for anyone */
	refused_clean(t, "bob", "action done ACT-1 First review held",
		      "ACT-1 corrects FND-1 (major nonconformity), whose root "
		      "cause is not recorded yet (clause 10.2 b): record it "
		      "first with finding cause FND-1 <cause>");
	refused_clean(t, "carol", "action done act-1 Held", "root cause");
	/* the auditor found it; the organisation determines the cause */
	refused_clean(t, "grace", "finding cause FND-1 Nobody owned it",
		      "auditors read and change nothing");
	refused_clean(t, "alice", "finding cause FND-1 Nobody owned it",
		      "not allowed: the root cause of FND-1 is recorded by an "
		      "isms_manager or the owner of one of its corrective "
		      "actions");
	refused_clean(t, "bob", "finding cause FND-1",
		      "the root cause is "
		      "required");
	refused_clean(t, "bob", "finding cause FND-9 x", "no finding FND-9");
	/* the action's owner records it; the auditor is told */
	r = ok_reply(t, "bob", "finding cause fnd-1 Nobody owned the reviews");
	assert_non_null(strstr(
	    r, "Root cause of FND-1 recorded: Nobody owned the reviews"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'grace' AND o.subject LIKE 'Root cause of "
				  "FND-1 (major nonconformity) recorded by "
				  "bob%'"),
			 1);
	assert_sql(t,
		   "SELECT f.cause || '|' || p.handle FROM findings f JOIN "
		   "people p ON p.id = f.cause_by",
		   "Nobody owned the reviews|bob");
	/* an isms_manager may revise it; the audit row keeps the old one */
	ok_as(t, "carol", "finding cause 1 No owner and no calendar entry");
	assert_sql(t,
		   "SELECT actor || '|' || json_extract(details, '$.cause') || "
		   "'|' || json_extract(details, '$.was') FROM audit_log "
		   "WHERE action = 'finding.cause' ORDER BY seq DESC LIMIT 1",
		   "carol|No owner and no calendar entry|Nobody owned the "
		   "reviews");
	ok_as(t, "bob", "action done ACT-1 First review held");
	/* observations and opportunities have no cause to record */
	ok_as(t, "grace", "audit finding AUD-1 observation Good onboarding");
	refused_clean(t, "carol", "finding cause FND-2 x",
		      "FND-2 is an observation: only a major or minor "
		      "nonconformity has a root cause");
	/* an action that corrects no finding closes as before */
	ok_as(t, "carol", "action add Other due=2027-03-31");
	ok_as(t, "carol", "action done ACT-2 Done");
	tenv_free(t);
}

static void
test_effectiveness(void **state)
{
	struct tenv *t = with_finding();
	const char *r;

	(void)state;
	refused_clean(t, "carol", "finding effective FND-1 yes Fine",
		      "FND-1: its effectiveness is checked once its corrective "
		      "actions are done (open: ACT-1)");
	ok_as(t, "bob", "finding cause FND-1 Nobody owned the reviews");
	ok_as(t, "bob", "action done ACT-1 First review held");
	r = ok_reply(t, "carol", "finding list unchecked");
	assert_non_null(strstr(r, "FND-1 [major, open] AUD-1: No access "
				  "reviews (clause 9.2) (control 5.18) -- "
				  "AWAITING EFFECTIVENESS CHECK"));
	/* isms_managers check; the grammar is yes|no with a note */
	refused_clean(t, "bob", "finding effective FND-1 yes Fine",
		      "needs the isms_manager role");
	refused_clean(t, "carol", "finding effective FND-1 maybe Fine",
		      "usage: finding effective");
	refused_clean(t, "carol", "finding effective FND-1 yes",
		      "a note on what was checked is required");
	refused_clean(
	    t, "carol",
	    "finding effective FND-1 yes Fine action=x due=2027-05-01",
	    "action= goes with \"no\"");
	refused_clean(t, "carol", "finding effective FND-1 no Bad owner=@bob",
		      "owner= and due= go with action=");
	refused_clean(t, "carol",
		      "finding effective FND-1 no Bad action=Again "
		      "due=2020-01-01",
		      "due=2020-01-01 is in the past");
	refused_clean(t, "carol",
		      "finding effective FND-1 no Bad action=Again "
		      "owner=@grace due=2027-05-01",
		      "grace is an auditor");
	refused_clean(t, "carol", "finding effective FND-1 no Bad action=Again",
		      "missing due=");
	/* "no" without an action: re-opened, uncovered until a new one */
	r = ok_reply(t, "carol",
		     "finding effective FND-1 no Reviews skipped in May");
	assert_non_null(strstr(r, "FND-1: corrective actions not effective; "
				  "FND-1 re-opened. It needs a new corrective "
				  "action: action add <text> owner=@h "
				  "due=YYYY-MM-DD source=FND-1"));
	assert_sql(t, "SELECT status || needs_action FROM findings", "open1");
	refused_clean(t, "carol", "audit close FND-1",
		      "FND-1 (major nonconformity) needs a corrective action");
	refused_clean(t, "carol", "finding effective FND-1 no Again",
		      "needs a new corrective action before another check");
	/* source=AUD-n finds it again, like a finding without an action */
	r = ok_reply(t, "carol",
		     "action add Calendar invite for every review owner=@bob "
		     "due=2027-05-31 source=AUD-1");
	assert_non_null(strstr(r, "corrective action for FND-1"));
	assert_sql(t, "SELECT status || needs_action FROM findings", "open0");
	ok_as(t, "bob", "action done ACT-2 Invites sent");
	/* "no" with the new action in the same command */
	r = ok_reply(
	    t, "carol",
	    "finding effective FND-1 no Still skipped action=\"Automate "
	    "the reviews\" owner=@frank due=2027-06-30");
	assert_non_null(strstr(r, "re-opened with the new corrective action "
				  "ACT-3"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'frank' AND o.subject LIKE 'Action ACT-3 "
				  "for you, due 2027-06-30: Automate the "
				  "reviews%'"),
			 1);
	assert_sql(
	    t,
	    "SELECT x.text || '|' || x.source_kind || '-' || "
	    "x.source_id || '|' || x.finding_id || '|' || f.needs_action "
	    "FROM actions x JOIN findings f ON f.id = x.finding_id "
	    "WHERE x.id = 3",
	    "Automate the reviews|AUD-1|1|0");
	assert_sql(t,
		   "SELECT group_concat(action, ',') FROM (SELECT action FROM "
		   "audit_log ORDER BY seq DESC LIMIT 2) x",
		   "finding.effective,action.add");
	ok_as(t, "frank", "action done ACT-3 Automated");
	/* "yes" closes it */
	r = ok_reply(t, "carol",
		     "finding effective fnd-1 yes Three reviews held");
	assert_non_null(strstr(r, "FND-1: corrective actions effective; FND-1 "
				  "closed."));
	assert_sql(t, "SELECT status FROM findings", "closed");
	assert_sql(
	    t,
	    "SELECT group_concat(effective || ':' || "
	    "COALESCE(CAST(action_id AS TEXT), '-'), ',') FROM finding_checks",
	    "0:-,0:3,1:-");
	assert_sql(t,
		   "SELECT json_extract(details, '$.effective') || '|' || "
		   "json_extract(details, '$.note') FROM audit_log WHERE "
		   "action = 'finding.effective' ORDER BY seq DESC LIMIT 1",
		   "yes|Three reviews held");
	r = ok_reply(t, "grace", "finding show FND-1");
	assert_non_null(strstr(r, "FND-1 major nonconformity [closed] of AUD-1 "
				  "(Access)"));
	assert_non_null(strstr(r, "Cites: clause 9.2, control 5.18."));
	assert_non_null(strstr(
	    r, "Root cause (bob, 2026-11-18): Nobody owned the reviews"));
	assert_non_null(strstr(r, "  ACT-3 [done] Automate the reviews (owner "
				  "frank)"));
	assert_non_null(strstr(r, "2026-11-18 carol: NOT effective: Still "
				  "skipped; new action ACT-3"));
	assert_non_null(
	    strstr(r, "2026-11-18 carol: effective: Three reviews held"));
	refused_as(t, "alice", "finding show FND-1",
		   "FND-1: no such finding that you may see");
	/* a closed finding checked "no" later is re-opened */
	ok_as(t, "carol", "finding effective FND-1 no Reviews stopped again");
	assert_sql(t, "SELECT status || needs_action FROM findings", "open1");
	tenv_free(t);
}

static void
test_effectiveness_refusals(void **state)
{
	struct tenv *t = setup();

	(void)state;
	ok_as(t, "carol", "audit plan Access date=2027-02-15 auditor=@grace");
	ok_as(t, "grace", "audit finding AUD-1 minor Stale accounts");
	ok_as(t, "grace", "audit finding AUD-1 opportunity Automate");
	refused_clean(t, "carol", "finding effective FND-1 yes x",
		      "FND-1 has no corrective action to check yet");
	refused_clean(t, "carol", "finding effective FND-2 yes x",
		      "FND-2 is an opportunity for improvement");
	refused_clean(t, "grace", "finding effective FND-1 yes x",
		      "needs the isms_manager role");
	/* an isms_manager who closed it early with a reason: done actions
	 * of a finding without a cause (from before) still need one */
	ok_as(t, "carol", "action add Disable due=2027-03-31 source=FND-1");
	ok_as(t, "carol", "audit close FND-1 Accounts disabled by HR");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM findings WHERE status "
				  "= 'closed'"),
			 1);
	refused_clean(t, "carol", "finding cause FND-1 x", "FND-1 is closed");
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

static void
test_report_and_export(void **state)
{
	struct tenv *t = with_finding();
	const char *r;
	char *csv;

	(void)state;
	ok_as(t, "grace", "audit finding AUD-1 minor Stale accounts");
	ok_as(t, "carol", "action add Disable due=2027-03-31 source=FND-2");
	ok_as(t, "carol", "finding cause FND-2 HR does not tell IT");
	ok_as(t, "carol", "action done ACT-2 Disabled");
	r = ok_reply(t, "dana", "report");
	assert_non_null(strstr(r, "Nonconformities (clause 10.2):\n without a "
				  "root cause:\n  FND-1 [major] AUD-1: No "
				  "access reviews\n done but not checked for "
				  "effectiveness:\n  FND-2 [minor] AUD-1: "
				  "Stale accounts\n"));
	ok_as(t, "carol", "finding effective FND-2 yes No stale accounts left");
	r = ok_reply(t, "dana", "report");
	assert_non_null(strstr(r, " done but not checked for effectiveness: "
				  "none\n"));
	csv = export_text(t, "findings", "csv");
	assert_non_null(strstr(csv, "id,audit,kind,status,text,clause,control,"
				    "cause,cause_by,actions,effective,"
				    "check_note,checked,recorded_by,created,"
				    "closed,close_reason\r\n"));
	assert_non_null(strstr(csv, "FND-1,AUD-1,major,open,No access reviews,"
				    "9.2,5.18,,,ACT-1:open,,,,grace,"));
	assert_non_null(strstr(csv, "FND-2,AUD-1,minor,closed,Stale accounts,"
				    ",,HR does not tell IT,carol,ACT-2:done,"
				    "yes,No stale accounts left,2026-11-18,"
				    "grace,"));
	free(csv);
	tenv_free(t);
}

static int64_t
at(struct tenv *t, const char *when)
{
	int64_t v;

	assert_int_equal(tz_parse(t->cfg.org_timezone, when, &v), 0);
	return v;
}

/* One scheduler pass at when (Berlin time). */
static void
pass(struct tenv *t, const char *when)
{
	test_clock = at(t, when);
	assert_true(sched_run(t->st, &t->cfg, test_clock) >= 0);
}

/* Messages to handle whose subject is like pattern. */
static int64_t
sent(struct tenv *t, const char *handle, const char *like)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v,
				"SELECT COUNT(*) FROM outbox o JOIN people p "
				"ON p.id = o.person_id WHERE p.handle = ? AND "
				"o.subject LIKE ?",
				"tt", handle, like),
			 1);
	return v;
}

static void
test_nudges(void **state)
{
	struct tenv *t;

	(void)state;
	t = with_finding(); /* FND-1 recorded 2026-11-18, ACT-1 bob's */
	free(t->cfg.org_timezone);
	t->cfg.org_timezone = strdup("Europe/Berlin");
	free(t->cfg.quiz_every);
	t->cfg.quiz_every = strdup("off");
	t->cfg.store_publish_head = 0;
	pass(t, "2026-11-25 10:00"); /* not quite seven days */
	assert_int_equal(sent(t, "bob", "Root cause needed%"), 0);
	pass(t, "2026-11-25 14:00"); /* seven days: the action's owner */
	assert_int_equal(sent(t, "bob",
			      "Root cause needed: FND-1 (major nonconformity "
			      "of AUD-1: No access reviews)"),
			 1);
	assert_int_equal(sent(t, "carol", "Root cause needed%"), 0);
	pass(t, "2026-11-27 10:00"); /* once per repeat period */
	assert_int_equal(sent(t, "bob", "Root cause needed%"), 1);
	pass(t, "2026-12-02 10:00");
	assert_int_equal(sent(t, "bob", "Root cause needed%"), 2);
	/* a cause and a done action: the isms_managers are asked to check */
	ok_as(t, "bob", "finding cause FND-1 Nobody owned the reviews");
	ok_as(t, "bob", "action done ACT-1 Held");
	pass(t, "2026-12-09 10:00");
	assert_int_equal(sent(t, "bob", "Root cause needed%"), 2);
	assert_int_equal(sent(t, "carol", "Effectiveness check due: FND-1%"),
			 1);
	assert_int_equal(sent(t, "erik", "Effectiveness check due: FND-1%"), 1);
	pass(t, "2026-12-10 10:00");
	assert_int_equal(sent(t, "carol", "Effectiveness check due%"), 1);
	/* checked: no more */
	ok_as(t, "carol", "finding effective FND-1 yes Reviews held");
	pass(t, "2026-12-30 10:00");
	assert_int_equal(sent(t, "carol", "Effectiveness check due%"), 1);
	/* the ledger has them */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'finding.cause'"),
			 2);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cites),
	    cmocka_unit_test(test_cause_before_done),
	    cmocka_unit_test(test_effectiveness),
	    cmocka_unit_test(test_effectiveness_refusals),
	    cmocka_unit_test(test_report_and_export),
	    cmocka_unit_test(test_nudges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
