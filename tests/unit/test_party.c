/* Unit tests of interested parties (PTY-n, clause 4.2). */
#include "ctxutil.h"

#include "../../commands/context.h"

static void
test_party_add(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol",
	      "obligation add GDPR source=law ref=\"(EU) 2016/679\" "
	      "owner=@bob");
	r = as(t, "carol",
	       "party add Customers needs=\"Their data kept confidential\" "
	       "obligations=obl-1",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Interested party PTY-1 added: Customers. "
				  "Needs: Their data kept confidential. "
				  "Obligations: OBL-1."));
	assert_last_audit(t, "party.add PTY-1");
	assert_sql(t,
		   "SELECT party_id || '|' || obligation_id FROM "
		   "party_obligations",
		   "1|1");

	before = ctx_everything(t);
	refused_as(t, "carol", "party add Investors", "missing needs=");
	refused_as(t, "carol", "party add needs=Returns", "a name is required");
	refused_as(t, "carol",
		   "party add Investors needs=Returns "
		   "obligations=OBL-4",
		   "no obligation OBL-4");
	refused_as(t, "carol",
		   "party add Investors needs=Returns "
		   "obligations=,",
		   "obligations= needs ids like OBL-1,OBL-2");
	refused_as(t, "bob", "party add Investors needs=Returns",
		   "needs the isms_manager role");
	refused_as(t, "grace", "party add Investors needs=Returns",
		   "not allowed");
	refused_as(t, "alice", "party list", "not allowed");
	assert_int_equal(ctx_everything(t), before);
	tenv_free(t);
}

static void
test_party_update(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol",
	      "obligation add GDPR source=law ref=\"(EU) 2016/679\" "
	      "owner=@bob");
	ok_as(t, "carol",
	      "obligation add MSA source=contract ref=\"MSA s.12\" "
	      "owner=@bob");
	ok_as(t, "carol", "party add Customers needs=Confidentiality");
	before = ctx_everything(t);
	refused_as(t, "carol", "party update PTY-1", "nothing to change");
	refused_as(t, "carol", "party update PTY-1 needs=Confidentiality",
		   "nothing to change: PTY-1 already has these needs");
	refused_as(t, "carol", "party update PTY-2 needs=X",
		   "no interested "
		   "party PTY-2");
	refused_as(t, "carol", "party update PTY-1 obligations=OBL-1,OBL-3",
		   "no obligation OBL-3");
	refused_as(t, "bob", "party update PTY-1 needs=X",
		   "needs the isms_manager role");
	assert_int_equal(ctx_everything(t), before);

	/* a change of needs is kept with the old and new text */
	test_clock = T0 + 86400;
	r = as(t, "carol",
	       "party update pty-1 needs=\"Confidentiality and a "
	       "certificate\" obligations=OBL-2,obl-1",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "PTY-1 updated: needs now: Confidentiality "
				  "and a certificate (before: "
				  "Confidentiality). obligations now: OBL-1, "
				  "OBL-2."));
	assert_last_audit(t, "party.update PTY-1");
	assert_sql(t, "SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1",
		   "{\"changes\":{\"needs\":[\"Confidentiality\","
		   "\"Confidentiality and a certificate\"],\"obligations\":"
		   "[\"\",\"OBL-1, OBL-2\"]},\"name\":\"Customers\",\"via\":"
		   "\"console\"}");
	assert_sql(t,
		   "SELECT old_needs || '|' || new_needs || '|' || CASE WHEN "
		   "at = updated_at THEN 1 ELSE 0 END FROM "
		   "party_needs_history h JOIN parties p ON "
		   "p.id = h.party_id",
		   "Confidentiality|Confidentiality and a certificate|1");
	/* obligations only: no needs history */
	ok_as(t, "carol", "party update 1 obligations=none");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM party_obligations"), 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM party_needs_history"),
			 1);

	r = as(t, "grace", "party show PTY-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "PTY-1 Customers: needs Confidentiality and "
				  "a certificate [updated 2026-11-19]"));
	assert_non_null(strstr(r, "Obligations: none linked."));
	assert_non_null(strstr(r, "Needs changed:\n  2026-11-19 by carol; "
				  "before: Confidentiality"));
	tenv_free(t);
}

/* What a management review gets: parties added and needs changed. */
static void
test_party_changes(void **state)
{
	struct tenv *t = setup();
	struct isms_reply rp = {0};
	struct person carol;
	struct cmd_ctx ctx = {.st = t->st, .cfg = &t->cfg, .rp = &rp};

	(void)state;
	ok_as(t, "carol", "party add Customers needs=Confidentiality");
	test_clock = T0 + 10 * 86400;
	ok_as(t, "carol", "party add Regulator needs=\"Breach notice\"");
	ok_as(t, "erik", "party update PTY-1 needs=\"Confidentiality, SOC 2\"");
	assert_int_equal(store_person_find(t->st, "handle", "carol", &carol),
			 1);
	ctx.me = carol;
	ctx.now = test_clock;
	assert_int_equal(party_changes_write(&ctx, T0 + 86400, "none"), 0);
	assert_string_equal(buf_str(&rp.text),
			    "  2026-11-28 PTY-2 Regulator added, needs: Breach "
			    "notice\n  2026-11-28 PTY-1 Customers needs "
			    "changed by erik: Confidentiality, SOC 2 "
			    "(before: Confidentiality)");
	buf_reset(&rp.text);
	assert_int_equal(party_changes_write(&ctx, T0 + 20 * 86400, "none"), 0);
	assert_string_equal(buf_str(&rp.text), "none");
	reply_free(&rp);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_party_add),
	    cmocka_unit_test(test_party_update),
	    cmocka_unit_test(test_party_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
