/* Unit tests of assets, actions, documents and internal audits. */
#include "regutil.h"

static void
test_assets(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	r = as(t, "bob",
	       "asset add \"Customer database\" type=data "
	       "classification=restricted c=3 i=3 a=2",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Asset AST-1 added: Customer database "
				  "(data, restricted, C3 I3 A2), owner bob."));
	assert_sql(t,
		   "SELECT action || ' ' || object FROM audit_log ORDER BY "
		   "seq DESC LIMIT 1",
		   "asset.add AST-1");
	before = everything(t);
	refused_as(t, "bob",
		   "asset add Mail type=service owner=@carol "
		   "classification=internal c=1 i=2 a=3",
		   "only an isms_manager may add an asset owned by someone");
	refused_as(t, "alice",
		   "asset add Mine type=hardware "
		   "classification=internal c=1 i=1 a=1",
		   "needs the risk_owner or isms_manager role");
	refused_as(t, "bob",
		   "asset add X type=hardware classification=secret "
		   "c=1 i=1 a=1",
		   "classification= must be public, internal, confidential or "
		   "restricted");
	refused_as(t, "bob",
		   "asset add X type=hardware "
		   "classification=public c=4 i=1 a=1",
		   "c= must be a whole number from 1 to 3");
	refused_as(t, "bob", "asset add X classification=public c=1 i=1 a=1",
		   "missing type=");
	refused_as(t, "bob", "asset update AST-1", "nothing to change");
	refused_as(t, "bob", "asset update AST-1 owner=@erik",
		   "only an isms_manager may give an asset");
	refused_as(t, "grace", "asset update AST-1 c=1", "not allowed");
	assert_int_equal(everything(t), before);
	ok_as(t, "carol",
	      "asset add Mail type=service owner=@bob "
	      "classification=internal c=1 i=2 a=3");
	ok_as(t, "bob", "asset update AST-2 a=2 type=\"SaaS service\"");
	assert_sql(t, "SELECT type || '|' || avail FROM assets WHERE id = 2",
		   "SaaS service|2");
	assert_sql(t,
		   "SELECT details FROM audit_log WHERE action = "
		   "'asset.update'",
		   "{\"changes\":{\"a\":[3,2],\"type\":[\"service\","
		   "\"SaaS service\"]},\"via\":\"console\"}");
	ok_as(t, "bob", "risk add Leak likelihood=2 impact=5 asset=AST-1");
	r = as(t, "frank", "asset list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "AST-1 Customer database [data, restricted, "
				  "C3 I3 A2] owner bob, 1 risk"));
	assert_non_null(strstr(r, "AST-2 Mail [SaaS service, internal, C1 I2 "
				  "A2] owner bob, 0 risks"));
	r = as(t, "grace", "asset show AST-1", &ok);
	assert_non_null(strstr(r, "RSK-1 [high 10] Leak"));
	r = as(t, "frank", "asset show AST-1", &ok);
	assert_true(ok);
	assert_null(strstr(r, "Leak")); /* risks only for the register */
	tenv_free(t);
}

static void
test_action_sources(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add Leak likelihood=2 impact=5");
	ok_as(t, "carol", "risk add Fraud likelihood=2 impact=5");
	ok_as(t, "alice", "/incident Lost my badge");
	before = everything(t);
	/* the source must exist */
	refused_as(t, "bob", "action add Fix due=2027-01-31 source=RSK-9",
		   "no risk RSK-9");
	refused_as(t, "carol", "action add Fix due=2027-01-31 source=AUD-1",
		   "no audit AUD-1");
	refused_as(t, "carol", "action add Fix due=2027-01-31 source=MR-2",
		   "no management review MR-2");
	refused_as(t, "carol", "action add Fix due=2027-01-31 source=DOC-1",
		   "expected one of RSK,INC,AUD,FND,MR");
	refused_as(t, "carol", "action add Fix due=2027-01-31 source=INC-2",
		   "INC-2: no such incident that you may see");
	/* ... and be visible to whoever links it */
	refused_as(t, "bob", "action add Fix due=2027-01-31 source=INC-1",
		   "INC-1: no such incident that you may see");
	refused_as(t, "carol", "action add Fix due=31.01.2027",
		   "due= must be a date YYYY-MM-DD");
	refused_as(t, "carol", "action add Fix", "missing due=");
	refused_as(t, "carol", "action add due=2027-01-31",
		   "a description is required");
	/* who may add: a risk_owner for themselves or for their risk */
	refused_as(t, "bob", "action add Fix due=2027-01-31 owner=@alice",
		   "a risk_owner may add actions they own");
	refused_as(t, "bob",
		   "action add Fix due=2027-01-31 owner=@alice "
		   "source=RSK-2",
		   "a risk_owner may add actions they own");
	refused_as(t, "alice", "action add Fix due=2027-01-31",
		   "needs the risk_owner or isms_manager role");
	assert_int_equal(everything(t), before);
	ok_as(t, "bob",
	      "action add Encrypt due=2027-01-31 owner=@alice "
	      "source=rsk-1");
	ok_as(t, "carol",
	      "action add New badge process due=2027-02-28 "
	      "owner=@frank source=INC-1");
	assert_sql(t,
		   "SELECT group_concat(source_kind || '-' || source_id || ':' "
		   "|| p.handle, ' ') FROM actions a JOIN people p ON p.id = "
		   "a.owner_id",
		   "RSK-1:alice INC-1:frank");
	r = as(t, "alice", "action list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "ACT-1 [open, due 2027-01-31] Encrypt "
				  "(owner alice; from RSK-1)"));
	assert_null(strstr(r, "ACT-2"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox WHERE subject "
				  "LIKE 'Action ACT-%'"),
			 2);
	tenv_free(t);
}

static void
test_action_done_and_lists(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol",
	      "action add Encrypt laptops due=2026-12-01 "
	      "owner=@bob");
	r = as(t, "carol", "action add Train staff due=2026-11-01 owner=@alice",
	       &ok);
	assert_true(ok); /* accepted, with a warning */
	assert_non_null(strstr(r, "Warning: 2026-11-01 is already past"));
	ok_as(t, "carol", "action add Rotate keys due=2026-11-18 owner=@bob");
	/* due day not yet over on the due date itself */
	r = as(t, "carol", "action list overdue", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "ACT-2 [open, due 2026-11-01, OVERDUE]"));
	assert_null(strstr(r, "ACT-3"));
	assert_null(strstr(r, "ACT-1"));
	/* evidence required; owner or isms_manager only */
	refused_as(t, "bob", "action done ACT-1", "evidence is required");
	refused_as(t, "alice", "action done ACT-1 done it",
		   "only the owner of ACT-1 or an isms_manager");
	refused_as(t, "grace", "action done ACT-1 done it",
		   "auditors read and change nothing");
	ok_as(t, "bob", "action done ACT-1 BitLocker report attached");
	refused_as(t, "bob", "action done ACT-1 again", "already done");
	ok_as(t, "erik", "action done ACT-3 Keys rotated on 2026-11-18");
	assert_sql(t,
		   "SELECT group_concat(a.id || ':' || a.status || ':' || "
		   "p.handle, ' ') FROM actions a LEFT JOIN people p ON p.id "
		   "= a.done_by",
		   "1:done:bob 3:done:erik");
	r = as(t, "bob", "action show ACT-1", &ok);
	assert_non_null(strstr(r, "Evidence: BitLocker report attached"));
	refused_as(t, "frank", "action show ACT-1", "no such action");
	r = as(t, "alice", "action show ACT-2", &ok);
	assert_true(ok);
	r = as(t, "carol", "action list all", &ok);
	assert_non_null(strstr(r, "ACT-1 [done"));
	r = as(t, "carol", "action list open", &ok);
	assert_null(strstr(r, "ACT-1"));
	assert_non_null(strstr(r, "ACT-2"));
	/* someone without the register sees only their own */
	r = as(t, "alice", "action list all", &ok);
	assert_null(strstr(r, "ACT-1"));
	r = as(t, "bob", "action list mine", &ok);
	assert_non_null(strstr(r, "No open actions of yours."));
	refused_as(t, "bob", "action list later",
		   "usage: action list [mine|overdue|open|all]");
	tenv_free(t);
}

static void
test_docs(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	refused_as(t, "bob", "doc add Policy review_every=12m",
		   "needs the isms_manager role");
	refused_as(t, "carol", "doc add Policy review_every=sometimes",
		   "review_every= must be a period like 12m");
	refused_as(t, "carol", "doc add Policy review_every=12m url=ftp://x",
		   "url= must start with https://");
	refused_as(t, "carol", "doc add Policy", "missing review_every=");
	ok_as(t, "carol",
	      "doc add Information security policy owner=@erik "
	      "review_every=12m url=https://intranet/isp "
	      "ack=required");
	ok_as(t, "carol", "doc add Backup procedure review_every=6m");
	assert_sql(t,
		   "SELECT group_concat(date(next_review_at, 'unixepoch'), "
		   "' ') FROM docs",
		   "2027-11-18 2027-05-18");
	/* acknowledged once */
	ok_as(t, "alice", "doc ack DOC-1");
	refused_as(t, "alice", "doc ack DOC-1",
		   "you already acknowledged DOC-1 on 2026-11-18");
	refused_as(t, "alice", "doc ack DOC-7", "no document DOC-7");
	ok_as(t, "frank", "doc ack doc-1");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM doc_acks"), 2);
	r = as(t, "alice", "doc list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "DOC-1 Information security policy (owner "
				  "erik; reviewed every 12m, next 2027-11-18; "
				  "acknowledged 2/7 required, you: acked)"));
	assert_non_null(strstr(r, "DOC-2 Backup procedure (owner carol; "
				  "reviewed every 6m, next 2027-05-18)"));
	r = as(t, "bob", "doc list", &ok);
	assert_non_null(strstr(r, "you: not yet (doc ack)"));
	r = as(t, "erik", "doc show DOC-1", &ok);
	assert_non_null(strstr(r, "Not yet acknowledged: bob, carol, dana, "
				  "erik, grace"));
	/* review: owner or isms_manager; moves the date from today */
	refused_as(t, "alice", "doc reviewed DOC-1", "only the owner of DOC-1");
	test_clock = T0 + 40 * 86400; /* 2026-12-28 */
	ok_as(t, "erik", "doc reviewed DOC-1");
	assert_sql(t,
		   "SELECT date(next_review_at, 'unixepoch') || ' ' || "
		   "date(last_reviewed_at, 'unixepoch') FROM docs WHERE id = 1",
		   "2027-12-28 2026-12-28");
	assert_sql(t,
		   "SELECT details FROM audit_log WHERE action = "
		   "'doc.reviewed'",
		   "{\"next_review\":[\"2027-11-18\",\"2027-12-28\"],"
		   "\"via\":\"console\"}");
	tenv_free(t);
}

static void
test_audit_nonconformity(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	refused_as(t, "grace",
		   "audit plan Access date=2027-02-15 "
		   "auditor=@grace",
		   "needs the isms_manager role");
	refused_as(t, "carol", "audit plan Access date=2027-02-15",
		   "missing auditor=");
	ok_as(t, "carol",
	      "audit plan Access management date=2027-02-15 "
	      "auditor=@erik");
	/* the designated auditor records findings; others may not */
	refused_as(t, "bob", "audit finding AUD-1 minor x",
		   "only the auditor of AUD-1 or an isms_manager");
	refused_as(t, "erik", "audit finding AUD-1 severe x",
		   "usage: audit finding");
	r = as(t, "erik", "audit finding AUD-1 major No access reviews", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Finding FND-1 recorded on AUD-1: major "
				  "nonconformity."));
	ok_as(t, "erik", "audit finding AUD-1 observation Good onboarding");
	ok_as(t, "erik", "audit finding AUD-1 minor Stale accounts");
	/* neither the nonconformity nor the audit closes without an action */
	before = everything(t);
	refused_as(t, "erik", "audit close FND-1",
		   "FND-1 (major nonconformity) needs a corrective action");
	refused_as(t, "erik", "audit close AUD-1",
		   "FND-1 (major nonconformity) needs a corrective action");
	assert_int_equal(everything(t), before);
	/* an observation closes at once */
	ok_as(t, "erik", "audit close FND-2");
	/* source=AUD-n corrects the oldest open nonconformity without one */
	r = as(t, "carol",
	       "action add Quarterly access reviews owner=@bob "
	       "due=2027-03-31 source=AUD-1",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "corrective action for FND-1"));
	refused_as(t, "erik", "audit close AUD-1",
		   "FND-3 (minor nonconformity) needs a corrective action");
	/* a finding closes once its corrective action is done */
	before = everything(t);
	refused_as(t, "erik", "audit close FND-1",
		   "FND-1 has corrective action still open (ACT-1): it closes "
		   "when it is done");
	assert_int_equal(everything(t), before);
	ok_as(t, "bob", "finding cause FND-1 Nobody owned the reviews");
	ok_as(t, "bob", "action done ACT-1 First review held");
	ok_as(t, "erik", "audit close FND-1");
	ok_as(t, "carol",
	      "action add Disable stale accounts due=2027-03-31 "
	      "source=FND-3");
	r = as(t, "grace", "audit show AUD-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "FND-3 [minor nonconformity, open] Stale "
				  "accounts -- corrective action: ACT-2 open"));
	/* an audit closes on or after its date */
	before = everything(t);
	refused_as(t, "erik", "audit close AUD-1",
		   "AUD-1 is planned for 2027-02-15: it closes on or after "
		   "that date");
	assert_int_equal(everything(t), before);
	test_clock = T0 + 100 * 86400;
	r = as(t, "erik", "audit close AUD-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "1 stays open until its corrective actions "
				  "are done"));
	assert_sql(t,
		   "SELECT a.status || ' ' || (SELECT group_concat(status) "
		   "FROM findings) FROM audits a",
		   "closed closed,closed,open");
	/* an isms_manager may close it early, with the reason recorded */
	refused_as(t, "grace", "audit close FND-3 Accepted", "not allowed");
	ok_as(t, "carol", "audit close FND-3 Accounts are disabled by HR now");
	assert_sql(t, "SELECT close_reason FROM findings WHERE id = 3",
		   "Accounts are disabled by HR now");
	refused_as(t, "erik", "audit finding AUD-1 minor late",
		   "AUD-1 is closed");
	r = as(t, "carol", "audit list", &ok);
	assert_non_null(strstr(r, "AUD-1 2027-02-15 [closed] Access management "
				  "(auditor erik; 3 findings, 2 "
				  "nonconformities)"));
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_assets),
	    cmocka_unit_test(test_action_sources),
	    cmocka_unit_test(test_action_done_and_lists),
	    cmocka_unit_test(test_docs),
	    cmocka_unit_test(test_audit_nonconformity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
