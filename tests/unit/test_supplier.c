/*
 * Unit tests of suppliers (SUP-n): the rules of add, update, review and
 * retire, refusals that change nothing, risks naming a supplier, who sees
 * what, the report's lines and the review nudges with escalation.
 */
#include "regutil.h"

#include "../../base/tz.h"
#include "../../commands/sched.h"

#define ACME                                                                   \
	"supplier add Acme Cloud criticality=critical data=personal "          \
	"owner=@bob service=\"CRM hosting\" "                                  \
	"contract=https://contracts.example.org/acme"

/* Every table a supplier command may touch, for "nothing changed". */
static int64_t
fingerprint(struct tenv *t)
{
	return everything(t) * 7 +
	       count(t, "SELECT (SELECT COUNT(*) FROM suppliers) + (SELECT "
			"COUNT(*) FROM supplier_reviews) + (SELECT "
			"COALESCE(SUM(updated_at), 0) FROM suppliers) + "
			"(SELECT COUNT(*) FROM risks WHERE supplier_id IS NOT "
			"NULL)");
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

static void
test_add_and_ids(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "carol", ACME, &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Supplier SUP-1 added: Acme Cloud (critical, "
				  "personal data, DPA unknown), owner bob; "
				  "reviewed every 12m (next 2027-11-18)."));
	assert_non_null(strstr(r, "without a DPA (GDPR Art. 28)"));
	assert_sql(t,
		   "SELECT name || '|' || criticality || '|' || data || '|' || "
		   "service || '|' || contract_url || '|' || COALESCE(dpa, "
		   "'null') || '|' || review_every || '|' || "
		   "date(next_review_at, 'unixepoch') || '|' || status FROM "
		   "suppliers",
		   "Acme Cloud|critical|personal|CRM hosting|"
		   "https://contracts.example.org/acme|null|12m|2027-11-18|"
		   "active");
	/* the owner is told; the change has its audit row */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'bob' AND o.subject LIKE 'You own supplier "
				  "SUP-1: Acme Cloud%'"),
			 1);
	assert_sql(t,
		   "SELECT actor || '|' || action || '|' || object || '|' || "
		   "json_extract(details, '$.owner') || '|' || "
		   "json_extract(details, '$.next_review') FROM audit_log "
		   "ORDER BY seq DESC LIMIT 1",
		   "carol|supplier.add|SUP-1|bob|2027-11-18");
	/* ids in any case; never reused */
	ok_as(t, "carol",
	      "supplier add Printer Co criticality=low data=internal "
	      "owner=carol dpa=no review_every=6m");
	r = as(t, "carol", "supplier show sup-2", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "SUP-2 Printer Co"));
	assert_non_null(strstr(r, "next review 2027-05-18"));
	r = as(t, "carol", "supplier show 1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "SUP-1 Acme Cloud"));
	assert_int_equal(
	    db_exec(t->st, "DELETE FROM suppliers WHERE id = 2", NULL), 1);
	r = as(t, "carol",
	       "supplier add Third criticality=medium data=none owner=bob",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Supplier SUP-3 added"));
	/* help comes from the rows */
	r = as(t, "alice", "help supplier", &ok);
	assert_non_null(strstr(r, "supplier review SUP-n <result> "
				  "[next=YYYY-MM-DD]"));
	tenv_free(t);
}

static void
test_refusals_change_nothing(void **state)
{
	struct tenv *t = setup();

	(void)state;
	ok_as(t, "carol", ACME);
	refused_clean(t, "carol",
		      "supplier add X criticality=urgent data=none owner=bob",
		      "criticality= must be low, medium, high or critical");
	refused_clean(t, "carol",
		      "supplier add X criticality=low data=secret owner=bob",
		      "data= must be none, internal, confidential or personal");
	refused_clean(
	    t, "carol",
	    "supplier add X criticality=low data=none owner=bob dpa=maybe",
	    "dpa= must be yes or no");
	refused_clean(t, "carol", "supplier add X criticality=low data=none",
		      "missing owner=");
	refused_clean(t, "carol",
		      "supplier add X criticality=low data=none owner=bob "
		      "contract=ftp://example.org/c",
		      "contract= must be a link starting with https:// or "
		      "http://");
	refused_clean(t, "carol",
		      "supplier add X criticality=low data=none owner=bob "
		      "review_every=soon",
		      "review_every= must be a period");
	refused_clean(t, "carol",
		      "supplier add X criticality=low data=none owner=@grace",
		      "grace is an auditor");
	refused_clean(t, "carol",
		      "supplier add X criticality=low data=none owner=@nobody",
		      "no person @nobody");
	refused_clean(t, "carol",
		      "supplier add criticality=low data=none "
		      "owner=bob",
		      "a name is required");
	/* roles: add and retire by isms_managers, changes by the owner */
	refused_clean(t, "bob",
		      "supplier add X criticality=low data=none owner=bob",
		      "not allowed");
	refused_clean(t, "bob", "supplier retire SUP-1 No longer needed",
		      "not allowed");
	refused_clean(t, "alice", "supplier update SUP-1 dpa=yes",
		      "not allowed: only the owner of SUP-1 or an "
		      "isms_manager may change it");
	refused_clean(t, "alice", "supplier review SUP-1 Looked fine",
		      "not allowed");
	refused_clean(t, "grace", "supplier review SUP-1 Looked fine",
		      "not allowed");
	refused_clean(t, "bob", "supplier update SUP-1 owner=@alice",
		      "only an isms_manager may give a supplier to another "
		      "owner");
	/* reviews are not planned for the past */
	refused_clean(t, "bob", "supplier review SUP-1 Fine next=2026-11-17",
		      "next=2026-11-17 is in the past");
	refused_clean(t, "bob", "supplier review SUP-1 Fine next=tomorrow",
		      "next= must be a date YYYY-MM-DD");
	refused_clean(t, "bob", "supplier review SUP-1", "is required");
	refused_clean(t, "bob", "supplier update SUP-1", "nothing to change");
	refused_clean(t, "bob", "supplier update SUP-1 criticality=critical",
		      "SUP-1 already has these values");
	refused_clean(t, "bob", "supplier update SUP-9 dpa=yes",
		      "no supplier SUP-9");
	refused_clean(t, "bob", "supplier update RSK-1 dpa=yes", "SUP");
	refused_clean(t, "bob", "supplier update SUP-1 color=red", "color");
	refused_clean(t, "bob", "supplier list soon", "usage: supplier list");
	/*
	 * a leaver owns nothing: the directory no longer finds them, and
	 * were they found, check_owner would refuse them
	 */
	ok_as(t, "dana", "staff deactivate @frank");
	refused_clean(t, "carol",
		      "supplier add X criticality=low data=none owner=@frank",
		      "no person @frank in the directory");
	refused_clean(t, "carol", "supplier update SUP-1 owner=@frank",
		      "no person @frank");
	/* a retired supplier changes no more */
	ok_as(t, "carol", "supplier retire SUP-1 Contract ended");
	refused_clean(t, "carol", "supplier retire SUP-1 Again",
		      "SUP-1 is retired");
	refused_clean(t, "carol", "supplier update SUP-1 dpa=yes",
		      "SUP-1 is retired");
	refused_clean(t, "carol", "supplier review SUP-1 Fine",
		      "SUP-1 is retired");
	tenv_free(t);
}

static void
test_update_diff(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", ACME);
	/* the owner changes what they own; the audit row has old and new */
	r = as(t, "bob", "supplier update sup-1 dpa=yes criticality=high", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "SUP-1 updated: Acme Cloud (high, personal "
				  "data, DPA signed)"));
	assert_null(strstr(r, "without a DPA"));
	assert_sql(t,
		   "SELECT action || '|' || json_extract(details, "
		   "'$.changes.dpa') || '|' || json_extract(details, "
		   "'$.changes.criticality') FROM audit_log ORDER BY seq DESC "
		   "LIMIT 1",
		   "supplier.update|[\"unknown\",\"yes\"]|[\"critical\","
		   "\"high\"]");
	/* a new period counts from the start (no review yet) */
	test_clock = T0 + 40 * 86400;
	ok_as(t, "bob", "supplier update SUP-1 review_every=6m");
	assert_sql(t, "SELECT date(next_review_at, 'unixepoch') FROM suppliers",
		   "2027-05-18");
	assert_sql(t,
		   "SELECT json_extract(details, '$.changes.next_review') FROM "
		   "audit_log ORDER BY seq DESC LIMIT 1",
		   "[\"2027-11-18\",\"2027-05-18\"]");
	/* an isms_manager gives it to another owner, who is told */
	ok_as(t, "carol",
	      "supplier update SUP-1 owner=@alice contract=http://x.example/c");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'alice' AND o.subject LIKE 'You now own "
				  "supplier SUP-1%'"),
			 1);
	assert_sql(t,
		   "SELECT json_extract(details, '$.changes.owner') FROM "
		   "audit_log ORDER BY seq DESC LIMIT 1",
		   "[\"bob\",\"alice\"]");
	/* now alice's: bob no longer changes it, alice does */
	refused_as(t, "bob", "supplier update SUP-1 dpa=no", "not allowed");
	ok_as(t, "alice", "supplier update SUP-1 dpa=no");
	tenv_free(t);
}

static void
test_review_history(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", ACME);
	ok_as(t, "carol",
	      "supplier add Printer Co criticality=low data=internal "
	      "owner=@alice review_every=30d");
	/* the owner records a review: the next one is a period from now */
	test_clock = T0 + 10 * 86400; /* 2026-11-28 */
	r = as(t, "bob", "supplier review SUP-1 SOC 2 report checked", &ok);
	assert_true(ok);
	assert_non_null(
	    strstr(r, "SUP-1 reviewed: SOC 2 report checked. Next review "
		      "2027-11-28."));
	assert_non_null(strstr(r, "still processes personal data without a "
				  "DPA"));
	/* an isms_manager names the date; the owner is told */
	r = as(t, "carol", "supplier review SUP-1 Audit visit next=2027-03-01",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Next review 2027-03-01."));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'bob' AND o.subject LIKE 'SUP-1 (Acme "
				  "Cloud) reviewed by carol: Audit visit%'"),
			 1);
	assert_sql(
	    t,
	    "SELECT group_concat(x, ' ') FROM (SELECT p.handle || ':' "
	    "|| date(r.at, 'unixepoch') || ':' || date(r.next_review_at, "
	    "'unixepoch') AS x FROM supplier_reviews r JOIN people p ON "
	    "p.id = r.reviewer_id ORDER BY r.id) x",
	    "bob:2026-11-28:2027-11-28 carol:2026-11-28:2027-03-01");
	assert_sql(t,
		   "SELECT json_extract(details, '$.result') || '|' || "
		   "json_extract(details, '$.next_review') FROM audit_log "
		   "WHERE action = 'supplier.review' ORDER BY seq DESC LIMIT 1",
		   "Audit visit|[\"2027-11-28\",\"2027-03-01\"]");
	r = as(t, "bob", "supplier show SUP-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Reviews:\n  2026-11-28 bob: SOC 2 report "
				  "checked (next 2027-11-28)\n  2026-11-28 "
				  "carol: Audit visit (next 2027-03-01)"));
	/* due: within 14 days or overdue; SUP-2 is due 2026-12-18 */
	r = as(t, "carol", "supplier list due", &ok);
	assert_true(ok);
	assert_string_equal(r, "No supplier review is due in the next 14 "
			       "days.");
	test_clock = T0 + 20 * 86400; /* 2026-12-08 */
	r = as(t, "carol", "supplier list due", &ok);
	assert_string_equal(r, "SUP-2 Printer Co [low, internal data] owner "
			       "alice; next review 2026-12-18");
	test_clock = T0 + 31 * 86400; /* 2026-12-19 */
	r = as(t, "carol", "supplier list due", &ok);
	assert_non_null(strstr(r, "next review 2026-12-18 OVERDUE"));
	r = as(t, "carol", "supplier list critical", &ok);
	assert_non_null(strstr(r, "SUP-1 Acme Cloud [critical"));
	assert_null(strstr(r, "SUP-2"));
	tenv_free(t);
}

static void
test_visibility(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", ACME);
	ok_as(t, "carol",
	      "supplier add Cleaners criticality=low data=none owner=@alice");
	/* staff see what they own, and the same refusal for the rest */
	r = as(t, "alice", "supplier list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "SUP-2 Cleaners"));
	assert_null(strstr(r, "SUP-1"));
	refused_as(t, "alice", "supplier show SUP-1",
		   "SUP-1: no such supplier that you may see");
	refused_as(t, "alice", "supplier show SUP-7",
		   "SUP-7: no such supplier that you may see");
	ok_as(t, "alice", "supplier show SUP-2");
	/* the register's readers see them all, auditors included */
	r = as(t, "grace", "supplier list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "SUP-1 Acme Cloud"));
	assert_non_null(strstr(r, "SUP-2 Cleaners"));
	ok_as(t, "grace", "supplier show SUP-1");
	tenv_free(t);
}

static void
test_risks_name_suppliers(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", ACME);
	ok_as(t, "carol",
	      "supplier add Old Host criticality=low data=none owner=bob");
	ok_as(t, "bob",
	      "risk add CRM outage at the host likelihood=3 impact=4 "
	      "supplier=sup-1");
	assert_sql(t, "SELECT supplier_id FROM risks WHERE id = 1", "1");
	assert_sql(t,
		   "SELECT json_extract(details, '$.supplier') FROM audit_log "
		   "WHERE action = 'risk.add'",
		   "SUP-1");
	r = as(t, "bob", "risk show RSK-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Supplier: SUP-1 Acme Cloud."));
	r = as(t, "bob", "supplier show SUP-1", &ok);
	assert_non_null(strstr(r, "Risks:\n  RSK-1 [high 12] CRM outage at "
				  "the host"));
	/* changed on update, with history; none clears it */
	ok_as(t, "bob", "risk update RSK-1 supplier=2");
	assert_sql(t,
		   "SELECT old_value || '>' || new_value FROM risk_history "
		   "WHERE field = 'supplier'",
		   "SUP-1>SUP-2");
	ok_as(t, "bob", "risk update RSK-1 supplier=none");
	assert_sql(
	    t, "SELECT COALESCE(CAST(supplier_id AS TEXT), 'none') FROM risks",
	    "none");
	/* unknown and retired suppliers are refused */
	refused_clean(t, "bob", "risk update RSK-1 supplier=SUP-9",
		      "no supplier SUP-9");
	refused_clean(t, "bob",
		      "risk add X likelihood=1 impact=1 "
		      "supplier=SUP-9",
		      "no supplier SUP-9");
	refused_clean(t, "bob",
		      "risk add X likelihood=1 impact=1 "
		      "supplier=AST-1",
		      "SUP");
	ok_as(t, "carol", "supplier retire SUP-2 Moved to Acme");
	refused_clean(t, "bob", "risk update RSK-1 supplier=SUP-2",
		      "SUP-2 (Old Host) is retired: a risk cannot name it");
	refused_clean(t, "bob",
		      "risk add X likelihood=1 impact=1 supplier=SUP-2",
		      "is retired");
	tenv_free(t);
}

static void
test_report_lines(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "carol", "report", &ok);
	assert_non_null(strstr(r, "Suppliers: none registered."));
	ok_as(t, "carol", ACME);
	ok_as(t, "carol",
	      "supplier add Payroll Ltd criticality=high data=personal "
	      "owner=@carol dpa=no review_every=2w");
	ok_as(t, "carol",
	      "supplier add Signed Ltd criticality=high data=personal "
	      "owner=@carol dpa=yes");
	ok_as(t, "carol",
	      "supplier add Gone Ltd criticality=high data=personal "
	      "owner=@carol review_every=1w");
	ok_as(t, "carol", "supplier retire SUP-4 Ended");
	r = as(t, "dana", "report", &ok);
	assert_true(ok);
	assert_non_null(
	    strstr(r, "Suppliers: 3 active, 1 due for review within 14 days "
		      "or overdue: SUP-2 Payroll Ltd (due 2026-12-02)."));
	assert_non_null(strstr(r, "\n  SUP-1 Acme Cloud processes personal "
				  "data without a DPA (GDPR Art. 28); DPA "
				  "unknown"));
	assert_non_null(strstr(r, "\n  SUP-2 Payroll Ltd processes personal "
				  "data without a DPA (GDPR Art. 28)\n"));
	assert_null(strstr(r, "Signed Ltd processes"));
	assert_null(strstr(r, "Gone Ltd"));
	test_clock = T0 + 16 * 86400;
	r = as(t, "dana", "report", &ok);
	assert_non_null(strstr(r, "SUP-2 Payroll Ltd (overdue since "
				  "2026-12-02)"));
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
test_review_nudges(void **state)
{
	struct tenv *t = setup();

	(void)state;
	free(t->cfg.org_timezone);
	t->cfg.org_timezone = strdup("Europe/Berlin");
	free(t->cfg.quiz_every);
	t->cfg.quiz_every = strdup("off");
	t->cfg.store_publish_head = 0;
	/* due 2026-12-18 (a Friday), owned by bob (manager dana) */
	ok_as(t, "carol",
	      "supplier add Acme Cloud criticality=critical data=personal "
	      "owner=@bob review_every=30d");
	ok_as(t, "carol",
	      "supplier add Retired Ltd criticality=low data=none "
	      "owner=@bob review_every=30d");
	ok_as(t, "carol", "supplier retire SUP-2 Ended");
	/* frank's supplier: frank leaves before it is due */
	ok_as(t, "carol",
	      "supplier add Frank Co criticality=low data=none "
	      "owner=@frank review_every=30d");
	ok_as(t, "dana", "staff deactivate @frank");

	pass(t, "2026-12-03 10:00"); /* 15 days ahead: nothing yet */
	assert_int_equal(sent(t, "bob", "Supplier review%"), 0);
	pass(t, "2026-12-04 10:00"); /* 14 days ahead */
	assert_int_equal(sent(t, "bob",
			      "Supplier review due on 2026-12-18: SUP-1 Acme "
			      "Cloud [critical]"),
			 1);
	pass(t, "2026-12-07 10:00"); /* once ahead */
	assert_int_equal(sent(t, "bob", "Supplier review%"), 1);
	pass(t, "2026-12-18 10:00");
	assert_int_equal(
	    sent(t, "bob", "Supplier review due today (2026-12-18): SUP-1%"),
	    1);
	/* the leaver is not nudged: their manager hears from the due date */
	assert_int_equal(sent(t, "frank", "%supplier review%SUP-3%"), 0);
	assert_int_equal(sent(t, "bob",
			      "Overdue supplier review of frank (due "
			      "2026-12-18): SUP-3 Frank Co [low]"),
			 1);
	pass(t, "2026-12-21 10:00"); /* within repeat_days: quiet */
	assert_int_equal(sent(t, "bob", "Supplier review%SUP-1%"), 2);
	assert_int_equal(sent(t, "dana", "%SUP-1%"), 0);
	pass(t, "2026-12-28 10:00"); /* repeated; escalated after 7 days */
	assert_int_equal(
	    sent(t, "bob", "Supplier review overdue (due 2026-12-18): SUP-1%"),
	    1);
	assert_int_equal(sent(t, "dana",
			      "Overdue supplier review of bob (due "
			      "2026-12-18): SUP-1 Acme Cloud%"),
			 1);
	pass(t, "2027-01-04 10:00"); /* escalated once per due date */
	assert_int_equal(sent(t, "bob", "Supplier review overdue%SUP-1%"), 2);
	assert_int_equal(sent(t, "dana", "%SUP-1%"), 1);
	assert_int_equal(sent(t, "bob", "Overdue supplier review of frank%"),
			 1);
	/* nothing about the retired one, ever */
	assert_int_equal(count(t,
			       "SELECT COUNT(*) FROM outbox WHERE subject LIKE "
			       "'%supplier review%SUP-2%'"),
			 0);
	/* a review stops the nudges */
	ok_as(t, "bob", "supplier review SUP-1 Checked the SOC 2 report");
	pass(t, "2027-01-11 10:00");
	assert_int_equal(sent(t, "bob", "Supplier review overdue%SUP-1%"), 2);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_ids),
	    cmocka_unit_test(test_refusals_change_nothing),
	    cmocka_unit_test(test_update_diff),
	    cmocka_unit_test(test_review_history),
	    cmocka_unit_test(test_visibility),
	    cmocka_unit_test(test_risks_name_suppliers),
	    cmocka_unit_test(test_report_lines),
	    cmocka_unit_test(test_review_nudges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
