/* Unit tests of the organisation's context issues (CTX-n, clause 4.1). */
#include "ctxutil.h"

static void
test_context_add(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "risk add Supplier breach likelihood=2 impact=4");
	ok_as(t, "bob", "risk add Key person leaves likelihood=3 impact=3");
	r = as(t, "carol",
	       "context add EXTERNAL Regulators tighten NIS2 rules "
	       "risks=RSK-1,rsk-2,1",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Context issue CTX-1 recorded (external): "
				  "Regulators tighten NIS2 rules; risks "
				  "RSK-1, RSK-2."));
	assert_sql(t,
		   "SELECT kind || '|' || status || '|' || (SELECT "
		   "group_concat(risk_id) FROM context_risks) FROM "
		   "context_issues",
		   "external|active|1,2");
	assert_last_audit(t, "context.add CTX-1");
	assert_sql(t, "SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1",
		   "{\"kind\":\"external\",\"risks\":[\"RSK-1\",\"RSK-2\"],"
		   "\"text\":\"Regulators tighten NIS2 rules\",\"via\":"
		   "\"console\"}");

	before = ctx_everything(t);
	refused_as(t, "carol", "context add sideways Foo",
		   "an issue is internal or external, got \"sideways\"");
	refused_as(t, "carol", "context add internal",
		   "a description of the issue is required");
	refused_as(t, "carol", "context add", "usage: context add");
	refused_as(t, "carol", "context add internal Growth risks=RSK-9",
		   "no risk RSK-9");
	refused_as(t, "carol", "context add internal Growth risks=AST-1",
		   "expected an id like RSK-1");
	refused_as(t, "carol", "context add internal Growth owner=@bob",
		   "owner");
	refused_as(t, "bob", "context add internal Growth",
		   "needs the isms_manager role");
	refused_as(t, "grace", "context add internal Growth", "not allowed");
	refused_as(t, "alice", "context list", "not allowed");
	assert_int_equal(ctx_everything(t), before);

	/* ids are never reused, also after a refused add */
	ok_as(t, "erik", "context add internal Team grows to 40 people");
	assert_sql(t, "SELECT MAX(id) FROM context_issues", "2");
	tenv_free(t);
}

static void
test_context_retire(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", "context add internal Team grows to 40 people");
	ok_as(t, "carol", "context add external New competitor in the market");
	before = ctx_everything(t);
	refused_as(t, "carol", "context retire CTX-1", "a reason is required");
	refused_as(t, "carol", "context retire CTX-7 Gone",
		   "no context issue "
		   "CTX-7");
	refused_as(t, "carol", "context retire", "usage: context retire");
	refused_as(t, "bob", "context retire CTX-1 Gone",
		   "needs the isms_manager role");
	assert_int_equal(ctx_everything(t), before);

	r = as(t, "carol", "context retire ctx-1 Hiring freeze", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "CTX-1 retired: Hiring freeze"));
	assert_last_audit(t, "context.retire CTX-1");
	assert_sql(t, "SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1",
		   "{\"reason\":\"Hiring freeze\",\"status\":[\"active\","
		   "\"retired\"],\"text\":\"Team grows to 40 people\","
		   "\"via\":\"console\"}");
	before = ctx_everything(t);
	refused_as(t, "carol", "context retire 1 Again",
		   "CTX-1 is already retired (2026-11-18: Hiring freeze)");
	assert_int_equal(ctx_everything(t), before);

	/* retired issues stay, with their reason, after the current ones */
	r = as(t, "grace", "context list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "CTX-2 [external] New competitor in the "
				  "market\nCTX-1 [internal] Team grows to 40 "
				  "people RETIRED 2026-11-18 by carol: Hiring "
				  "freeze\n1 current issue, 1 retired."));
	r = as(t, "bob", "help context", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "context retire CTX-n <reason>"));
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_context_add),
	    cmocka_unit_test(test_context_retire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
