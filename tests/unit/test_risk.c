/* Unit tests of risks: scoring, levels, reviews, history, permissions,
 * treatment, acceptance above the appetite and the matrix. */
#include "regutil.h"

static void
test_scores_and_levels(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "bob", "risk add Tailgating likelihood=1 impact=4", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "RSK-1"));
	assert_non_null(strstr(r, "1 x 4 = 4 (low)"));
	ok_as(t, "bob", "risk add Weak passwords likelihood=2 impact=3");
	ok_as(t, "bob", "risk add Laptop theft likelihood=3 impact=4");
	ok_as(t, "bob", "risk add Ransomware likelihood=5 impact=4");
	assert_sql(t,
		   "SELECT group_concat(score || ':' || level, ' ') FROM "
		   "(SELECT score, level FROM risks ORDER BY id) x",
		   "4:low 6:medium 12:high 20:critical");
	/* custom [risk] levels = 2,6,12 */
	t->cfg.risk_levels[0] = 2;
	t->cfg.risk_levels[1] = 6;
	t->cfg.risk_levels[2] = 12;
	ok_as(t, "bob", "risk add A likelihood=1 impact=2");
	ok_as(t, "bob", "risk add B likelihood=1 impact=3");
	ok_as(t, "bob", "risk add C likelihood=3 impact=3");
	r = as(t, "bob", "risk add D likelihood=4 impact=4", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "4 x 4 = 16 (critical)"));
	assert_sql(t,
		   "SELECT group_concat(level, ' ') FROM (SELECT level FROM "
		   "risks WHERE id > 4 ORDER BY id) x",
		   "low medium high critical");
	tenv_free(t);
}

static void
test_next_review(void **state)
{
	struct tenv *t = setup();

	(void)state;
	ok_as(t, "bob", "risk add Low likelihood=1 impact=1");
	ok_as(t, "bob", "risk add Medium likelihood=3 impact=3");
	ok_as(t, "bob", "risk add High likelihood=4 impact=4");
	ok_as(t, "bob", "risk add Critical likelihood=5 impact=5");
	assert_sql(t,
		   "SELECT group_concat(d, ' ') FROM (SELECT "
		   "date(next_review_at, 'unixepoch') AS d FROM risks ORDER BY "
		   "id) x",
		   "2027-11-18 2027-11-18 2027-05-18 2027-02-18");
	/* an update resets the date from the new level, counted from now */
	test_clock = T0 + 10 * 86400; /* 2026-11-28 */
	ok_as(t, "bob", "risk update RSK-1 likelihood=5 impact=4");
	assert_sql(t,
		   "SELECT date(next_review_at, 'unixepoch') FROM risks "
		   "WHERE id = 1",
		   "2027-02-28");
	ok_as(t, "bob", "risk update RSK-4 impact=5"); /* same values */
	assert_sql(t,
		   "SELECT date(next_review_at, 'unixepoch') FROM risks "
		   "WHERE id = 4",
		   "2027-02-28");
	assert_sql(t,
		   "SELECT field || '|' || new_value FROM risk_history WHERE "
		   "risk_id = 4 ORDER BY id DESC LIMIT 1",
		   "reviewed|no change");
	tenv_free(t);
}

static void
test_history(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob",
	      "risk add Laptop theft likelihood=3 impact=4 "
	      "threat=theft");
	test_clock = T0 + 3600;
	ok_as(t, "carol",
	      "risk update RSK-1 likelihood=4 title=\"Laptop "
	      "theft or loss\" vulnerability=\"no encryption\"");
	assert_sql(t,
		   "SELECT group_concat(row, ' / ') FROM (SELECT p.handle || "
		   "' ' || h.field || ' ' || COALESCE(h.old_value, '') || '>' "
		   "|| h.new_value AS row FROM risk_history h JOIN people p ON "
		   "p.id = h.actor_id ORDER BY h.id) x",
		   "bob created >3 x 4 = 12 (high) / carol title Laptop "
		   "theft>Laptop theft or loss / carol likelihood 3>4 / carol "
		   "vulnerability >no encryption");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM risk_history WHERE "
				  "at = 1795003600"),
			 3);
	r = as(t, "grace", "risk show RSK-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "carol likelihood: 3 -> 4"));
	assert_non_null(strstr(r, "Laptop theft or loss"));
	/* the audit row carries the same changes */
	assert_sql(t,
		   "SELECT json_extract(details, '$.changes.likelihood') FROM "
		   "audit_log WHERE action = 'risk.update'",
		   "[3,4]");
	tenv_free(t);
}

static void
test_permissions(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	static const char *const auditor_writes[] = {
	    "risk add Grace risk likelihood=2 impact=2",
	    "risk update RSK-1 likelihood=1",
	    "risk treat RSK-1 mitigate Do things",
	    "asset add Server type=hardware classification=public c=1 i=1 a=1",
	    "control set 5.15 status=implemented",
	    "action add Fix it due=2027-01-01",
	    "doc add Policy review_every=12m",
	    "audit plan Everything date=2027-01-01 auditor=@grace",
	    "review plan date=2027-01-01",
	    "scope set Everything",
	    "objective add Be safe target=100% due=2027-01-01",
	};
	size_t i;

	(void)state;
	ok_as(t, "bob", "risk add Laptop theft likelihood=3 impact=4");
	ok_as(t, "carol", "risk add Fraud likelihood=2 impact=5");
	before = everything(t);
	/* a staff member cannot add risks at all */
	refused_as(t, "alice", "risk add Mine likelihood=2 impact=2",
		   "needs the risk_owner or isms_manager role");
	refused_as(t, "alice", "risk list", "not allowed");
	/* a risk_owner cannot add a risk for someone else */
	refused_as(t, "bob",
		   "risk add Theirs likelihood=2 impact=2 "
		   "owner=@erik",
		   "only an isms_manager may add a risk owned by someone "
		   "else");
	/* ... nor change one they do not own, nor give theirs away */
	refused_as(t, "bob", "risk update RSK-2 likelihood=1",
		   "only the owner of RSK-2 or an isms_manager");
	refused_as(t, "bob", "risk treat RSK-2 avoid Stop doing it",
		   "only the owner of RSK-2");
	refused_as(t, "bob", "risk update RSK-1 owner=@carol",
		   "only an isms_manager may give a risk");
	/* an owner needs the role */
	refused_as(t, "carol", "risk add X likelihood=1 impact=1 owner=@alice",
		   "alice cannot own a risk");
	/* an auditor reads and changes nothing */
	for (i = 0; i < ARRAY_LEN(auditor_writes); i++)
		refused_as(t, "grace", auditor_writes[i], "not allowed");
	as(t, "grace", "risk list", NULL);
	as(t, "grace", "risk show RSK-1", NULL);
	as(t, "grace", "risk matrix", NULL);
	assert_int_equal(everything(t), before);
	/* the isms_manager may do all of it */
	ok_as(t, "carol", "risk add For bob likelihood=2 impact=2 owner=@bob");
	ok_as(t, "carol", "risk update RSK-1 owner=@erik");
	assert_int_equal(count(t, "SELECT owner_id FROM risks WHERE id = 1"),
			 count(t, "SELECT id FROM people WHERE handle = "
				  "'erik'"));
	tenv_free(t);
}

static void
test_malformed(void **state)
{
	struct tenv *t = setup();
	char cmd[400];
	int64_t before;

	(void)state;
	ok_as(t, "bob", "risk add Laptop theft likelihood=3 impact=4");
	before = everything(t);
	refused_as(t, "bob", "risk add X likelihood=6 impact=1",
		   "likelihood= must be a whole number from 1 to 5");
	refused_as(t, "bob", "risk add X likelihood=two impact=1",
		   "likelihood= must be");
	refused_as(t, "bob", "risk add X likelihood=2", "missing impact=");
	refused_as(t, "bob", "risk add likelihood=2 impact=2",
		   "a title is required");
	refused_as(t, "bob", "risk add X likelihood=2 impact=2 asset=AST-7",
		   "no asset AST-7");
	refused_as(t, "bob", "risk add X likelihood=2 impact=2 color=red",
		   "unknown option color=");
	memset(cmd, 0, sizeof(cmd));
	snprintf(cmd, sizeof(cmd), "risk add ");
	memset(cmd + 9, 'x', 201);
	strcat(cmd, " likelihood=1 impact=1");
	refused_as(t, "bob", cmd, "title too long (at most 200");
	refused_as(t, "bob", "risk update RSK-1", "usage: risk update");
	refused_as(t, "bob", "risk update RSK-9 impact=2", "no risk RSK-9");
	refused_as(t, "bob", "risk treat RSK-1 ignore it", "usage: risk treat");
	refused_as(t, "bob", "risk treat RSK-1 mitigate", "a plan is required");
	refused_as(t, "bob",
		   "risk treat RSK-1 mitigate X "
		   "residual_likelihood=4",
		   "residual_likelihood= must be a whole number from 1 to 3");
	refused_as(t, "bob", "risk treat RSK-1 mitigate X controls=9.9",
		   "no Annex A control \"9.9\"");
	refused_as(t, "bob", "risk list above=30", "above= must be");
	assert_int_equal(everything(t), before);
	tenv_free(t);
}

static void
test_treatment(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add Laptop theft likelihood=3 impact=4");
	r = as(t, "bob",
	       "risk treat RSK-1 mitigate Encrypt disks "
	       "controls=8.1,5.15,8.1 residual_likelihood=1 "
	       "residual_impact=4",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Residual risk 1 x 4 = 4 (low)"));
	assert_sql(t,
		   "SELECT treatment || '|' || plan || '|' || residual_score "
		   "|| '|' || residual_level FROM risks",
		   "mitigate|Encrypt disks|4|low");
	assert_sql(t,
		   "SELECT group_concat(control_id, ',') FROM (SELECT "
		   "control_id FROM risk_controls ORDER BY control_id) x",
		   "5.15,8.1");
	/* a new treatment replaces the linked controls; history keeps both */
	ok_as(t, "bob", "risk treat RSK-1 transfer Insurance controls=5.20");
	assert_sql(t, "SELECT group_concat(control_id) FROM risk_controls",
		   "5.20");
	assert_sql(t,
		   "SELECT old_value || '>' || new_value FROM risk_history "
		   "WHERE field = 'controls' ORDER BY id DESC LIMIT 1",
		   "5.15, 8.1>5.20");
	/* no residual given: as assessed */
	assert_sql(t, "SELECT residual_score FROM risks", "12");
	/* a control excluded from the SoA cannot treat a risk */
	ok_as(t, "carol",
	      "control set 7.4 applicable=no "
	      "justification=\"no premises\"");
	refused_as(t, "bob", "risk treat RSK-1 mitigate X controls=7.4",
		   "control 7.4 is not applicable");
	/* nor can a control in use be excluded */
	refused_as(t, "carol",
		   "control set 5.20 applicable=no "
		   "justification=x",
		   "used by 1 risk treatment");
	/* accepting within the appetite applies at once */
	ok_as(t, "bob", "risk add Small likelihood=2 impact=3");
	r = as(t, "bob", "risk treat RSK-2 accept Not worth more", &ok);
	assert_true(ok);
	assert_sql(t, "SELECT treatment FROM risks WHERE id = 2", "accept");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM approvals"), 0);
	tenv_free(t);
}

static void
test_acceptance_approved(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add Phishing likelihood=4 impact=4");
	r = as(t, "bob",
	       "risk treat RSK-1 accept MFA too costly "
	       "controls=6.3",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "requested as APR-1 from dana"));
	/* routed to the owner's manager alone */
	assert_sql(t,
		   "SELECT a.kind || '|' || a.object || '|' || p.handle || '|' "
		   "|| a.any_role FROM approvals a JOIN people p ON p.id = "
		   "a.approver_id",
		   "risk.accept|RSK-1|dana|0");
	/* pending: not accepted, visible in risk show */
	assert_int_equal(count(t, "SELECT treatment IS NULL FROM risks"), 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM risk_controls"), 0);
	r = as(t, "bob", "risk show RSK-1", &ok);
	assert_non_null(strstr(r, "Acceptance PENDING: waiting for approval "
				  "APR-1 by dana"));
	r = as(t, "bob", "risk list", &ok);
	assert_non_null(strstr(r, "accept pending APR-1"));
	refused_as(t, "bob", "risk treat RSK-1 accept again",
		   "already waiting for approval (APR-1)");
	/* only the right person decides */
	refused_as(t, "bob", "approve APR-1", "not yours to decide");
	refused_as(t, "carol", "approve APR-1", "not yours to decide");
	refused_as(t, "alice", "approve APR-1", "not yours to decide");
	assert_int_equal(count(t, "SELECT treatment IS NULL FROM risks"), 1);
	ok_as(t, "dana", "approve APR-1 for one year");
	assert_sql(t,
		   "SELECT treatment || '|' || accept_approval_id || '|' || "
		   "plan FROM risks",
		   "accept|1|MFA too costly");
	assert_sql(t, "SELECT group_concat(control_id) FROM risk_controls",
		   "6.3");
	assert_sql(t,
		   "SELECT p.handle || ' ' || h.new_value FROM risk_history h "
		   "JOIN people p ON p.id = h.actor_id WHERE h.field = "
		   "'acceptance'",
		   "dana approved");
	r = as(t, "bob", "risk show RSK-1", &ok);
	assert_null(strstr(r, "PENDING"));
	assert_non_null(strstr(r, "Treatment: accept."));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'risk.treat' AND actor = 'dana'"),
			 1);
	tenv_free(t);
}

static void
test_acceptance_rejected(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add Phishing likelihood=4 impact=4");
	ok_as(t, "bob", "risk treat RSK-1 accept MFA too costly");
	refused_as(t, "dana", "reject APR-1", "a reason is required");
	ok_as(t, "dana", "reject APR-1 Not with this exposure");
	assert_int_equal(count(t, "SELECT treatment IS NULL FROM risks"), 1);
	assert_sql(t,
		   "SELECT new_value FROM risk_history WHERE field = "
		   "'acceptance'",
		   "rejected: stays as it was");
	r = as(t, "bob", "risk show RSK-1", &ok);
	assert_non_null(strstr(r, "Treatment: none yet (untreated)"));
	assert_null(strstr(r, "PENDING"));
	/* the owner may treat it otherwise now */
	ok_as(t, "bob", "risk treat RSK-1 mitigate Roll out MFA");
	tenv_free(t);
}

static void
test_acceptance_routing(void **state)
{
	static const char olga[] =
	    "handle,name,email,slack_id,matrix_id,manager,team,timezone,roles\n"
	    "olga,Olga K,olga@example.org,,,,ops,,risk_owner\n";
	struct tenv *t = setup();
	char err[128];
	int c, u;

	(void)state;
	/* configured: an isms_manager decides, any of them but the asker */
	t->cfg.risk_accept_by_isms_manager = 1;
	ok_as(t, "bob", "risk add Phishing likelihood=4 impact=4");
	ok_as(t, "bob", "risk treat RSK-1 accept MFA too costly");
	assert_sql(t,
		   "SELECT p.handle || '|' || a.any_role FROM approvals a "
		   "JOIN people p ON p.id = a.approver_id",
		   "carol|8");
	/* every transport asks the same rule: any isms_manager but the
	 * asker, and nobody else */
	{
		struct person p;
		int64_t ids[4];

		assert_int_equal(store_person_find(t->st, "handle", "erik", &p),
				 1);
		assert_int_equal(approval_pending_for(t->st, &p, ids, 4), 1);
		assert_int_equal(ids[0], 1);
		assert_int_equal(approval_routed_to(t->st, 1, &p), 1);
		assert_int_equal(store_person_find(t->st, "handle", "dana", &p),
				 1);
		assert_int_equal(approval_pending_for(t->st, &p, ids, 4), 0);
		assert_int_equal(approval_routed_to(t->st, 1, &p), 0);
		assert_int_equal(store_person_find(t->st, "handle", "bob", &p),
				 1);
		assert_int_equal(approval_routed_to(t->st, 1, &p), 0);
	}
	refused_as(t, "dana", "approve APR-1", "not yours to decide");
	ok_as(t, "erik", "approve APR-1");
	assert_sql(t, "SELECT treatment FROM risks", "accept");
	/* an owner without a manager: an isms_manager */
	t->cfg.risk_accept_by_isms_manager = 0;
	assert_int_equal(staff_import(t->st, olga, strlen(olga), "test", &c, &u,
				      err, sizeof(err)),
			 0);
	ok_as(t, "olga", "risk add Flood likelihood=3 impact=5");
	ok_as(t, "olga", "risk treat RSK-2 accept Insured elsewhere");
	assert_sql(t,
		   "SELECT p.handle FROM approvals a JOIN people p ON p.id = "
		   "a.approver_id WHERE a.id = 2",
		   "carol");
	/* the owner's manager asking: never the requester */
	ok_as(t, "carol", "risk add Insider likelihood=3 impact=5 owner=@erik");
	ok_as(t, "carol", "risk treat RSK-3 accept Trust");
	assert_sql(t,
		   "SELECT p.handle FROM approvals a JOIN people p ON p.id = "
		   "a.approver_id WHERE a.id = 3",
		   "erik");
	refused_as(t, "carol", "approve APR-3", "you asked for it");
	tenv_free(t);
}

static void
test_update_cancels_pending(void **state)
{
	struct tenv *t = setup();

	(void)state;
	ok_as(t, "bob", "risk add Phishing likelihood=4 impact=4");
	ok_as(t, "bob", "risk treat RSK-1 accept MFA too costly");
	ok_as(t, "bob", "risk update RSK-1 title=\"Phishing of staff\"");
	assert_sql(t, "SELECT status FROM approvals", "pending");
	ok_as(t, "bob", "risk update RSK-1 impact=5");
	assert_sql(t, "SELECT status FROM approvals", "cancelled");
	refused_as(t, "dana", "approve APR-1", "already cancelled");
	ok_as(t, "bob", "risk treat RSK-1 accept Still too costly");
	assert_sql(t, "SELECT group_concat(status) FROM approvals",
		   "cancelled,pending");
	tenv_free(t);
}

static void
test_matrix(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add A likelihood=4 impact=3");
	ok_as(t, "bob", "risk add B likelihood=4 impact=3");
	ok_as(t, "bob", "risk add C likelihood=4 impact=5");
	ok_as(t, "bob", "risk add D likelihood=1 impact=1");
	r = as(t, "grace", "risk matrix", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "```\n"));
	assert_non_null(strstr(r, "likelihood |    1     2     3     4     5"
				  "\n-----------+"));
	assert_non_null(strstr(r, "     5     | M  0  H  0  H  0  C  0  C  0"
				  " |"));
	assert_non_null(strstr(r, "     4     | L  0  M  0  H  2  H  0  C  1"
				  " |"));
	assert_non_null(strstr(r, "     1     | L  1  L  0  L  0  L  0  M  0"
				  " |"));
	/* emoji squares for chat, one per cell */
	assert_non_null(strstr(r, "|  \xf0\x9f\x9f\xa9\xf0\x9f\x9f\xa8"));
	assert_non_null(strstr(r, "4 risks; appetite 6"));
	refused_as(t, "alice", "risk matrix", "not allowed");
	tenv_free(t);
}

/*
 * An acceptance holds for the score it was given for: re-scoring above it
 * re-opens it as an approval, whether it was accepted at once (within the
 * appetite) or approved.
 */
static void
test_acceptance_bound_to_score(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add Datacenter fire likelihood=2 impact=3");
	r = as(t, "bob", "risk treat RSK-1 accept Cheap", &ok);
	assert_true(ok);
	/* bound to 6, residual 6, for 12 months */
	assert_sql(t,
		   "SELECT treatment || '|' || accepted_score || '|' || "
		   "accepted_residual || '|' || date(accepted_until, "
		   "'unixepoch') FROM risks",
		   "accept|6|6|2027-11-18");
	r = as(t, "bob", "risk list", &ok);
	assert_non_null(strstr(r, "accept until 2027-11-18"));
	/* the same score keeps the acceptance */
	ok_as(t, "bob", "risk update RSK-1 threat=Wiring");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM approvals"), 0);
	assert_sql(t, "SELECT treatment FROM risks", "accept");
	/* the breaking sequence: 25 and still "accept" */
	r = as(t, "bob", "risk update RSK-1 likelihood=5 impact=5", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "waits for approval again as APR-1"));
	assert_sql(t,
		   "SELECT a.kind || '|' || a.status || '|' || p.handle FROM "
		   "approvals a JOIN people p ON p.id = a.approver_id",
		   "risk.accept|pending|dana");
	assert_int_equal(count(t, "SELECT treatment IS NULL AND "
				  "accepted_score IS NULL FROM risks"),
			 1);
	r = as(t, "bob", "risk list", &ok);
	assert_non_null(strstr(r, "accept pending APR-1"));
	assert_non_null(strstr(r, "acceptances: 1 pending, 0 expired"));
	r = as(t, "dana", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "1 acceptance pending"));
	assert_non_null(strstr(r, "Residual exposure: 1 of 1 risk above the "
				  "appetite of 6 after treatment (RSK-1 25)"));
	/* approved: accepted again, at 25 */
	ok_as(t, "dana", "approve APR-1 Board knows");
	assert_sql(t, "SELECT treatment || '|' || accepted_score FROM risks",
		   "accept|25");
	tenv_free(t);
}

static void
test_approved_acceptance_reopens(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add Phishing likelihood=4 impact=4");
	ok_as(t, "bob", "risk treat RSK-1 accept MFA too costly");
	ok_as(t, "dana", "approve APR-1");
	assert_sql(t, "SELECT accepted_score FROM risks", "16");
	/* carol re-scores it: the acceptance goes back to dana */
	as(t, "carol", "risk update RSK-1 likelihood=5 impact=5", &ok);
	assert_true(ok);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM approvals WHERE "
				  "status = 'pending' AND kind = "
				  "'risk.accept'"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM risk_history WHERE "
				  "field = 'acceptance' AND new_value LIKE "
				  "'re-opened as APR-2: its score rose from "
				  "the accepted 16 to 25'"),
			 1);
	/* rejected: the risk stays untreated */
	ok_as(t, "dana", "reject APR-2 Mitigate it");
	assert_int_equal(count(t, "SELECT treatment IS NULL FROM risks"), 1);
	before = everything(t);
	(void)before;
	tenv_free(t);
}

/* The residual risk never exceeds the risk itself. */
static void
test_residual_not_above_inherent(void **state)
{
	struct tenv *t = setup();
	int64_t before;

	(void)state;
	ok_as(t, "bob", "risk add Flooding likelihood=3 impact=3");
	ok_as(t, "bob",
	      "risk treat RSK-1 transfer Insurance "
	      "residual_likelihood=3 residual_impact=3");
	before = everything(t);
	refused_as(t, "bob", "risk update RSK-1 likelihood=1",
		   "RSK-1: the residual risk 3 x 3 would exceed the risk "
		   "itself (1 x 3); first lower residual_likelihood to 1 or "
		   "less: risk treat RSK-1 transfer <plan> "
		   "residual_likelihood=1");
	refused_as(t, "bob", "risk update RSK-1 impact=2",
		   "first lower residual_impact to 2");
	assert_int_equal(everything(t), before);
	assert_sql(t, "SELECT score || '|' || residual_score FROM risks",
		   "9|9");
	/* lowering the residual first, then the risk, works */
	ok_as(t, "bob",
	      "risk treat RSK-1 transfer Insurance "
	      "residual_likelihood=1 residual_impact=3");
	ok_as(t, "bob", "risk update RSK-1 likelihood=1");
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scores_and_levels),
	    cmocka_unit_test(test_next_review),
	    cmocka_unit_test(test_history),
	    cmocka_unit_test(test_permissions),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_treatment),
	    cmocka_unit_test(test_acceptance_approved),
	    cmocka_unit_test(test_acceptance_rejected),
	    cmocka_unit_test(test_acceptance_routing),
	    cmocka_unit_test(test_update_cancels_pending),
	    cmocka_unit_test(test_matrix),
	    cmocka_unit_test(test_acceptance_bound_to_score),
	    cmocka_unit_test(test_approved_acceptance_reopens),
	    cmocka_unit_test(test_residual_not_above_inherent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
