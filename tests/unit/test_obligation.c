/*
 * Unit tests of obligations (OBL-n, A.5.31 and A.5.34): the rules of
 * adding and reviewing, who sees them, review nudges, the report line and
 * the export.
 */
#include "ctxutil.h"

#include "../../store/export.h"

#define GDPR                                                                   \
	"obligation add GDPR source=law ref=\"Regulation (EU) 2016/679\" "     \
	"controls=5.34,A.5.31 owner=@bob"

/* The newest obligation nudge (other jobs write to the outbox too). */
#define OBL_NUDGE_SUBJECT                                                      \
	"SELECT subject FROM outbox WHERE subject LIKE 'Obligation review%' "  \
	"ORDER BY id DESC LIMIT 1"

static void
test_obligation_add(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	r = as(t, "carol", GDPR, &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Obligation OBL-1 added: GDPR (law, "
				  "Regulation (EU) 2016/679), owner bob, "
				  "reviewed every 12m (next 2027-11-18); "
				  "controls 5.34, 5.31."));
	assert_last_audit(t, "obligation.add OBL-1");
	assert_sql(t, "SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1",
		   "{\"controls\":[\"5.34\",\"5.31\"],\"next_review\":"
		   "\"2027-11-18\",\"owner\":\"bob\",\"ref\":\"Regulation (EU) "
		   "2016/679\",\"review_every\":\"12m\",\"source\":\"law\","
		   "\"title\":\"GDPR\",\"via\":\"console\"}");
	/* the owner is told, through the outbox */
	assert_sql(t,
		   "SELECT p.handle || ': ' || o.subject FROM outbox o JOIN "
		   "people p ON p.id = o.person_id ORDER BY o.id DESC LIMIT 1",
		   "bob: You own obligation OBL-1: GDPR (law, Regulation (EU) "
		   "2016/679; next review 2027-11-18)");

	ok_as(t, "dana", "staff deactivate @frank");
	before = ctx_everything(t);
	refused_as(t, "carol",
		   "obligation add NDA source=promise ref=x owner=@bob",
		   "source= must be law, regulation, contract or standard");
	refused_as(t, "carol", "obligation add NDA ref=x owner=@bob",
		   "missing source=");
	refused_as(t, "carol", "obligation add NDA source=contract owner=@bob",
		   "missing ref=");
	refused_as(t, "carol", "obligation add NDA source=contract ref=x",
		   "missing owner=");
	refused_as(t, "carol",
		   "obligation add source=contract ref=x "
		   "owner=@bob",
		   "a title is required");
	refused_as(t, "carol",
		   "obligation add NDA source=contract ref=x owner=@grace",
		   "grace is an auditor and cannot be made an owner");
	refused_as(t, "carol",
		   "obligation add NDA source=contract ref=x owner=@frank",
		   "no person @frank");
	refused_as(t, "carol",
		   "obligation add NDA source=contract ref=x owner=@nobody",
		   "no person @nobody");
	refused_as(t, "carol",
		   "obligation add NDA source=contract ref=x owner=@bob "
		   "controls=5.31,9.99",
		   "no Annex A control \"9.99\"");
	refused_as(t, "carol",
		   "obligation add NDA source=contract ref=x owner=@bob "
		   "review_every=soon",
		   "review_every= must be a period like 12m");
	refused_as(t, "carol",
		   "obligation add NDA source=contract ref=x owner=@bob "
		   "review_every=11y",
		   "review_every= must be at most 10 years");
	refused_as(t, "bob",
		   "obligation add NDA source=contract ref=x owner=@bob",
		   "needs the isms_manager role");
	refused_as(t, "grace",
		   "obligation add NDA source=contract ref=x owner=@bob",
		   "not allowed");
	assert_int_equal(ctx_everything(t), before);

	/* any case for ids and sources; ids are never reused */
	ok_as(t, "carol",
	      "obligation add \"Customer MSA\" source=Contract ref=\"MSA "
	      "s.12\" owner=@alice review_every=6m");
	assert_sql(t, "SELECT id || source FROM obligations WHERE id = 2",
		   "2contract");
	r = as(t, "bob", "obligation show obl-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "OBL-1 [law] GDPR (ref Regulation (EU) "
				  "2016/679; owner bob; reviewed every 12m, "
				  "next 2027-11-18; controls 5.31, 5.34)\nLast "
				  "reviewed: never."));
	r = as(t, "bob", "obligation show 1", &ok);
	assert_true(ok);
	tenv_free(t);
}

static void
test_obligation_seen(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", GDPR);
	ok_as(t, "carol",
	      "obligation add \"Customer MSA\" source=contract ref=\"MSA "
	      "s.12\" owner=@alice");
	ok_as(t, "carol",
	      "party add Customers needs=Confidentiality "
	      "obligations=OBL-2");
	/* staff see what they own, nothing else */
	r = as(t, "alice", "obligation list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "OBL-2 [contract] Customer MSA"));
	assert_null(strstr(r, "GDPR"));
	refused_as(t, "alice", "obligation show OBL-1",
		   "OBL-1: no such obligation that you may see");
	refused_as(t, "alice", "obligation show OBL-9",
		   "OBL-9: no such obligation that you may see");
	r = as(t, "alice", "obligation show OBL-2", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Parties: PTY-1 Customers"));
	r = as(t, "frank", "obligation list", &ok);
	assert_true(ok);
	assert_string_equal(r, "You own no obligations.");
	/* the register's readers see all */
	r = as(t, "grace", "obligation list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "OBL-1 [law] GDPR"));
	assert_non_null(strstr(r, "OBL-2 [contract] Customer MSA"));
	tenv_free(t);
}

static void
test_obligation_reviewed(void **state)
{
	struct tenv *t = setup();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", GDPR);
	before = ctx_everything(t);
	refused_as(t, "frank", "obligation reviewed OBL-1",
		   "only the owner of OBL-1 or an isms_manager");
	refused_as(t, "grace", "obligation reviewed OBL-1", "not allowed");
	refused_as(t, "bob", "obligation reviewed OBL-2",
		   "no obligation "
		   "OBL-2");
	refused_as(t, "bob", "obligation reviewed",
		   "usage: obligation reviewed");
	assert_int_equal(ctx_everything(t), before);

	test_clock = T0 + 30 * 86400;
	r = as(t, "bob", "obligation reviewed obl-1 Checked with counsel", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "OBL-1 reviewed; next review 2027-12-18."));
	assert_last_audit(t, "obligation.reviewed OBL-1");
	assert_sql(t, "SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1",
		   "{\"next_review\":[\"2027-11-18\",\"2027-12-18\"],\"note\":"
		   "\"Checked with counsel\",\"via\":\"console\"}");
	assert_sql(t,
		   "SELECT date(last_reviewed_at, 'unixepoch') || ' ' || "
		   "date(next_review_at, 'unixepoch') FROM obligations",
		   "2026-12-18 2027-12-18");
	/* an isms_manager may record it too; the owner hears of it */
	before = count(t, "SELECT COUNT(*) FROM outbox");
	ok_as(t, "carol", "obligation reviewed OBL-1");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox"), before + 1);
	assert_sql(t, "SELECT subject FROM outbox ORDER BY id DESC LIMIT 1",
		   "OBL-1 GDPR reviewed by carol; next review 2027-12-18");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM obligation_reviews"),
			 2);
	r = as(t, "bob", "obligation show OBL-1", &ok);
	assert_non_null(strstr(r, "Last reviewed: 2026-12-18 by carol."));
	tenv_free(t);
}

/* Nudges: 14 days ahead once, then from the date every repeat period. */
static void
test_obligation_nudges(void **state)
{
	struct tenv *t = setup();
	char *body;

	(void)state;
	ok_as(t, "carol",
	      "obligation add GDPR source=law ref=x owner=@bob "
	      "review_every=4w");
	ctx_pass(t, 13);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'obligation.review'"),
			 0);
	ctx_pass(t, 14);
	assert_sql(t,
		   "SELECT n.period || ' ' || p.handle FROM nudges n JOIN "
		   "people p ON p.id = n.person_id WHERE n.kind = "
		   "'obligation.review'",
		   "2026-12-16:ahead bob");
	assert_sql(t, OBL_NUDGE_SUBJECT,
		   "Obligation review due on 2026-12-16: OBL-1 GDPR");
	ctx_pass(t, 21); /* the announcement goes out once */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'obligation.review'"),
			 1);
	ctx_pass(t, 28);
	assert_sql(t, OBL_NUDGE_SUBJECT,
		   "Obligation review overdue (due 2026-12-16): OBL-1 GDPR");
	ctx_pass(t, 29); /* not again before the repeat period */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'obligation.review'"),
			 2);
	ctx_pass(t, 35);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'obligation.review'"),
			 3);
	/* reviewed: the next date is 4 weeks on, nothing until then */
	ok_as(t, "bob", "obligation reviewed OBL-1");
	ctx_pass(t, 42);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE kind = "
				  "'obligation.review'"),
			 3);
	/* the owner leaves: their manager (dana) is nudged instead */
	ok_as(t, "dana", "staff deactivate @bob");
	ctx_pass(t, 63);
	assert_sql(t,
		   "SELECT group_concat(p.handle) FROM nudges n JOIN people p "
		   "ON p.id = n.person_id WHERE n.kind = 'obligation.review' "
		   "AND n.period LIKE '2027-01-20%'",
		   "dana");
	body = text_of(t, "SELECT body FROM outbox WHERE subject LIKE "
			  "'Obligation review%' ORDER BY id DESC LIMIT 1");
	assert_non_null(strstr(body, "Its owner bob has left"));
	free(body);
	tenv_free(t);
}

static void
test_obligation_report_export(void **state)
{
	struct tenv *t = setup();
	char err[256], *out = NULL;
	size_t len = 0;
	FILE *fp;
	const char *r;
	int ok;

	(void)state;
	r = as(t, "dana", "report", &ok);
	assert_non_null(strstr(r, "Obligations: none registered."));
	ok_as(t, "carol", GDPR);
	ok_as(t, "carol",
	      "obligation add \"Customer MSA\" source=contract ref=\"MSA "
	      "s.12\" owner=@alice review_every=2w");
	ok_as(t, "carol",
	      "obligation add \"Cookie law\" source=regulation ref=ePrivacy "
	      "owner=@bob review_every=6w");
	ok_as(t, "carol",
	      "party add Customers needs=Confidentiality "
	      "obligations=OBL-2");
	r = as(t, "dana", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Obligations: 3 registered, 1 due for review "
				  "in the next 30 days; none overdue."));
	test_clock = T0 + 16 * 86400;
	r = as(t, "dana", "report", &ok);
	assert_non_null(strstr(r, "Obligations: 3 registered, 2 due for review "
				  "in the next 30 days; overdue: OBL-2 "
				  "Customer MSA (owner alice, due "
				  "2026-12-02)."));

	fp = open_memstream(&out, &len);
	assert_non_null(fp);
	assert_int_equal(
	    export_write(t->st, "obligations", "csv", fp, err, sizeof(err)), 0);
	fclose(fp);
	assert_non_null(strstr(out, "id,title,source,ref,owner,controls,"
				    "parties,review_every,last_review,"
				    "next_review,created"));
	assert_non_null(strstr(out, "OBL-1,GDPR,law,Regulation (EU) 2016/679,"
				    "bob,5.31 5.34,,12m,,2027-11-18,"));
	assert_non_null(strstr(out, "OBL-2,Customer MSA,contract,MSA s.12,"
				    "alice,,PTY-1,2w,,2026-12-02,"));
	free(out);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_obligation_add),
	    cmocka_unit_test(test_obligation_seen),
	    cmocka_unit_test(test_obligation_reviewed),
	    cmocka_unit_test(test_obligation_nudges),
	    cmocka_unit_test(test_obligation_report_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
