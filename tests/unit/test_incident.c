/* Unit tests of the incident lifecycle, permissions and approvals. */
#include "testutil.h"

static void
test_lifecycle(void **state)
{
	struct tenv *t = tenv_new();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "alice",
	       "/incident Laptop stolen from car severity=critical "
	       "category=theft personal_data=yes",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "INC-1"));
	assert_non_null(strstr(r, "72-hour"));
	assert_int_equal(count(t, "SELECT personal_data FROM incidents"), 1);
	/* both isms_managers alerted, not the reporter */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE kind = "
				  "'incident'"),
			 2);
	as(t, "carol", "incident assign INC-1 @frank", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT status = 'triaged' FROM incidents"),
			 1);
	/* the handler may now work on it */
	as(t, "frank", "incident status INC-1 contained", &ok);
	assert_true(ok);
	as(t, "frank", "incident severity INC-1 high", &ok);
	assert_true(ok);
	as(t, "alice", "incident note INC-1 It had a sticker with the PIN",
	   &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incident_timeline"), 5);
	r = as(t, "alice", "incident show INC-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "left to notify"));
	assert_non_null(strstr(r, "sticker"));
	/* reporter cannot change status */
	as(t, "alice", "incident status INC-1 resolved", &ok);
	assert_false(ok);
	/* 72-hour clock */
	as(t, "frank", "incident notified INC-1", &ok);
	assert_false(ok); /* isms_manager only */
	as(t, "carol", "incident notifiable INC-1 no encrypted disk", &ok);
	assert_true(ok);
	as(t, "carol", "incident notified INC-1", &ok);
	assert_false(ok); /* already stopped */
	assert_int_equal(count(t, "SELECT breach_outcome = 'not_notifiable' "
				  "FROM incidents"),
			 1);
	tenv_free(t);
}

static void
test_close_approval(void **state)
{
	struct tenv *t = tenv_new();
	const char *r;
	int ok;

	(void)state;
	as(t, "alice", "/incident Phish", &ok);
	as(t, "carol", "incident assign INC-1 @bob", &ok);
	as(t, "bob", "incident close INC-1", &ok);
	assert_false(ok); /* lessons are required */
	r = as(t, "bob", "incident close INC-1 Train people", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "APR-1"));
	as(t, "bob", "incident close INC-1 again", &ok);
	assert_false(ok); /* one pending closure at a time */
	/* routed to carol: bob's manager dana is no isms_manager */
	assert_int_equal(count(t, "SELECT p.handle = 'carol' FROM approvals a "
				  "JOIN people p ON p.id = a.approver_id"),
			 1);
	as(t, "grace", "approve APR-1", &ok); /* auditor */
	assert_false(ok);
	as(t, "bob", "approve APR-1", &ok); /* requester */
	assert_false(ok);
	r = as(t, "carol", "reject APR-1", &ok);
	assert_false(ok); /* a reason is required */
	assert_non_null(strstr(r, "reason"));
	as(t, "carol", "reject APR-1 Root cause not found yet", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT status != 'closed' FROM incidents"),
			 1);
	/* a second request, approved by erik (any isms_manager) */
	r = as(t, "bob", "incident close INC-1 Root cause: reused password",
	       &ok);
	assert_true(ok);
	as(t, "erik", "approve APR-2", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT status = 'closed' AND lessons LIKE "
				  "'Root cause%' FROM incidents"),
			 1);
	as(t, "carol", "approve APR-2", &ok);
	assert_false(ok); /* first decision wins */
	as(t, "carol", "incident note INC-1 late note", &ok);
	assert_false(ok); /* closed */
	tenv_free(t);
}

static void
test_isms_manager_closing_needs_another(void **state)
{
	struct tenv *t = tenv_new();
	int ok;

	(void)state;
	as(t, "alice", "/incident x", &ok);
	as(t, "carol", "incident close INC-1 fine", &ok);
	assert_true(ok);
	/* carol's request goes to erik, never to carol herself */
	assert_int_equal(count(t, "SELECT p.handle = 'erik' FROM approvals a "
				  "JOIN people p ON p.id = a.approver_id"),
			 1);
	as(t, "carol", "approve APR-1", &ok);
	assert_false(ok);
	tenv_free(t);
}

static void
test_visibility_and_confidentiality(void **state)
{
	struct tenv *t = tenv_new();
	struct isms_request rq = {.via = "slack",
				  .id_kind = "slack",
				  .id = "U0ALICE",
				  .shared = 1,
				  .text = "/incident Sensitive thing"};
	struct isms_reply rp = {0};
	const char *r;
	int ok;

	(void)state;
	assert_int_equal(cmd_run(t->st, &t->cfg, &rq, &rp), 0);
	assert_true(rp.confidential);
	reply_free(&rp);
	r = as(t, "frank", "incident list all", &ok);
	assert_true(ok);
	assert_null(strstr(r, "Sensitive"));
	r = as(t, "grace", "incident list all", &ok); /* auditor reads all */
	assert_non_null(strstr(r, "Sensitive"));
	r = as(t, "bob", "incident show INC-1",
	       &ok); /* a manager, not handler */
	assert_false(ok);
	assert_null(strstr(r, "Sensitive"));
	r = as(t, "alice", "incident list", &ok);
	assert_non_null(strstr(r, "INC-1"));
	tenv_free(t);
}

static void
test_refusals_change_nothing(void **state)
{
	static const char *const bad[] = {
	    "incident assign INC-1 @bob",
	    "incident status INC-1 triaged",
	    "incident close INC-1 done",
	    "incident severity INC-1 low",
	    "incident notified INC-1",
	    "incident assign INC-9 @bob",
	    "incident report",
	    "incident report x personal_data=maybe",
	    "incident list sideways",
	    "approve",
	    "reject APR-x",
	    "approvals now",
	};
	struct tenv *t = tenv_new();
	int64_t before;
	size_t i;
	int ok;

	(void)state;
	as(t, "alice", "/incident baseline", &ok);
	before = changes_fingerprint(t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		as(t, "grace", bad[i], &ok);
		if (ok)
			fail_msg("auditor ran \"%s\"", bad[i]);
	}
	/* total_changes() counts only this connection's writes */
	assert_int_equal(changes_fingerprint(t), before);
	tenv_free(t);
}

static int64_t
told(struct tenv *t, const char *handle, const char *subject)
{
	int64_t v = -1;

	assert_int_equal(
	    db_int(t->st, &v,
		   "SELECT COUNT(*) FROM outbox o JOIN people p ON "
		   "p.id = o.person_id WHERE p.handle = ? AND "
		   "o.subject = ?",
		   "tt", handle, subject),
	    1);
	return v;
}

/* Who is told what, and the words of empty lists and unknown help. */
static void
test_notices_and_wording(void **state)
{
	struct tenv *t = tenv_new();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "frank", "incident list", &ok);
	assert_string_equal(r, "You have no incidents (as reporter or "
			       "handler).");
	r = as(t, "carol", "incident list all", &ok);
	assert_string_equal(r, "No incidents.");
	r = as(t, "carol", "help spaceship", &ok);
	assert_false(ok);
	assert_string_equal(r, "unknown object \"spaceship\"; try /isms help");
	as(t, "carol", "help risk", &ok);
	assert_true(ok);
	/* a reassigned handler is told */
	as(t, "alice", "/incident Phishing mail", &ok);
	as(t, "carol", "incident assign INC-1 @bob", &ok);
	as(t, "carol", "incident assign INC-1 @erik", &ok);
	assert_true(ok);
	assert_int_equal(
	    told(t, "bob", "INC-1 reassigned to erik: Phishing mail"), 1);
	/* the reporter is told of the closure */
	as(t, "erik", "incident close INC-1 Sender blocked", &ok);
	assert_true(ok);
	as(t, "carol", "approve APR-1", &ok);
	assert_true(ok);
	assert_int_equal(
	    told(t, "alice", "Your incident INC-1 is closed: Phishing mail"),
	    1);
	/* a planned review: its id and date, to top management and the
	 * isms_managers (not the planner) */
	as(t, "carol", "review plan date=2027-03-10", &ok);
	assert_true(ok);
	assert_int_equal(
	    told(t, "dana", "Management review MR-1 planned for 2027-03-10"),
	    1);
	assert_int_equal(
	    told(t, "erik", "Management review MR-1 planned for 2027-03-10"),
	    1);
	assert_int_equal(
	    told(t, "carol", "Management review MR-1 planned for 2027-03-10"),
	    0);
	r = as(t, "alice", "control show 7.6", &ok);
	assert_non_null(strstr(r, "7.6 Working in secure areas (physical)"));
	tenv_free(t);
}

/* Absent and hidden get the same refusal, word for word. */
static void
test_no_existence_oracle(void **state)
{
	static const char *const probes[][3] = {
	    {"frank", "incident show INC-1", "incident show INC-9"},
	    {"frank", "incident note INC-1 x", "incident note INC-9 x"},
	    {"frank", "incident severity INC-1 low",
	     "incident severity INC-9 low"},
	    {"bob", "action add x due=2027-01-31 source=INC-1",
	     "action add x due=2027-01-31 source=INC-9"},
	    {"frank", "action show ACT-1", "action show ACT-9"},
	    {"frank", "audit show AUD-1", "audit show AUD-9"},
	};
	struct tenv *t = tenv_new();
	char a[4096], *p;
	size_t i;
	int ok;

	(void)state;
	as(t, "alice", "/incident Lost badge", &ok);
	assert_true(ok);
	as(t, "carol", "action add Check badges owner=@bob due=2027-01-31",
	   &ok);
	assert_true(ok);
	as(t, "carol", "audit plan HR date=2027-01-31 auditor=@grace", &ok);
	assert_true(ok);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		snprintf(a, sizeof(a), "%s",
			 as(t, probes[i][0], probes[i][1], &ok));
		assert_false(ok);
		assert_non_null(strstr(a, "no such"));
		/* the same words once the number is the same */
		p = strstr(a, "-1:");
		assert_non_null(p);
		p[1] = '9';
		assert_string_equal(a, as(t, probes[i][0], probes[i][2], &ok));
		assert_false(ok);
	}
	assert_string_equal(as(t, "frank", "incident show INC-9", &ok),
			    "INC-9: no such incident that you may see "
			    "(incidents are visible to their reporter, their "
			    "handler, isms_managers and auditors)");
	tenv_free(t);
}

/* Every command object; the writing commands are tried as an auditor. */
static const struct cmd_object *const all_objects[] = {
    &incident_object, &approval_object, &asset_object,	   &risk_object,
    &control_object,  &action_object,	&doc_object,	   &audit_object,
    &review_object,   &scope_object,	&objective_object, &report_object,
    &quiz_object,
};

/*
 * An auditor changes nothing: the engine refuses every writing command
 * from the table's flag, before the command runs, except findings of the
 * auditor's own audit and a member of staff's own obligations.
 */
static void
test_auditor_read_only(void **state)
{
	struct tenv *t = tenv_new();
	const struct cmd_entry *e;
	int64_t before;
	size_t i;
	const char *r;
	int ok, n = 0;

	(void)state;
	as(t, "alice", "/incident Phishing mail", &ok);
	assert_true(ok);
	as(t, "carol",
	   "audit plan Access control date=2026-12-01 "
	   "auditor=@grace",
	   &ok);
	assert_true(ok);
	as(t, "carol", "audit plan Suppliers date=2026-12-02 auditor=@erik",
	   &ok);
	assert_true(ok);
	/* an auditor cannot be made handler or owner of anything */
	before = changes_fingerprint(t);
	r = as(t, "carol", "incident assign INC-1 @grace", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "grace is an auditor"));
	r = as(t, "carol", "risk add Fire likelihood=2 impact=3 owner=@grace",
	       &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "grace is an auditor"));
	as(t, "carol", "action add Fix owner=@grace due=2026-12-30", &ok);
	assert_false(ok);
	as(t, "carol", "control set 5.23 owner=@grace", &ok);
	assert_false(ok);
	as(t, "carol", "doc add Policy owner=@grace review_every=12m", &ok);
	assert_false(ok);
	assert_int_equal(changes_fingerprint(t), before);

	/* every writing command of every table is refused by the engine */
	for (i = 0; i < sizeof(all_objects) / sizeof(all_objects[0]); i++)
		for (e = all_objects[i]->commands; e->exec; e++) {
			const struct cmd_object *o = all_objects[i];
			char line[128];

			if (e->flags & (CMD_READONLY | CMD_SELF))
				continue;
			if (o->toplevel)
				snprintf(line, sizeof(line), "%s INC-1 x y",
					 e->verb);
			else
				snprintf(line, sizeof(line), "%s %s INC-1 x y",
					 o->name, e->verb ? e->verb : "");
			r = as(t, "grace", line, &ok);
			if (ok)
				fail_msg("auditor ran \"%s\": %s", line, r);
			if ((e->roles == 0 || (e->roles & ROLE_AUDITOR)) &&
			    strstr(r, "auditors read and change nothing") ==
				NULL)
				fail_msg("\"%s\" -> \"%s\"", line, r);
			n++;
		}
	assert_true(n > 20);
	/* findings of someone else's audit, closing her own: refused */
	r = as(t, "grace", "audit finding AUD-2 minor No supplier list", &ok);
	assert_false(ok);
	assert_non_null(strstr(r, "auditors read and change nothing"));
	r = as(t, "grace", "audit close AUD-1", &ok);
	assert_false(ok);
	assert_int_equal(changes_fingerprint(t), before);
	/* the one exception: findings of the audit she is auditor of */
	as(t, "grace", "audit finding AUD-1 minor Leavers keep access", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM findings WHERE "
				  "audit_id = 1"),
			 1);
	/* and what she owes as staff: reporting an incident */
	as(t, "grace", "/incident Tailgating at the door", &ok);
	assert_true(ok);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_close_approval),
	    cmocka_unit_test(test_isms_manager_closing_needs_another),
	    cmocka_unit_test(test_visibility_and_confidentiality),
	    cmocka_unit_test(test_refusals_change_nothing),
	    cmocka_unit_test(test_auditor_read_only),
	    cmocka_unit_test(test_no_existence_oracle),
	    cmocka_unit_test(test_notices_and_wording),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
