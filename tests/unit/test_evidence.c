/*
 * Unit tests of evidence (EV-n): who may add it and for what, refusals
 * that change nothing, stale evidence and its renewal, the expiry nudges
 * of the scheduler and the export.
 */
#include "regutil.h"

#include "../../base/tz.h"
#include "../../commands/sched.h"
#include "../../store/export.h"

/* Evidence rows, audit rows and outbox rows: unchanged means untouched. */
static int64_t
ev_fingerprint(struct tenv *t)
{
	return everything(t) * 31 +
	       count(t, "SELECT (SELECT COUNT(*) FROM evidence_items) + "
			"(SELECT COALESCE(SUM(expires_at), 0) FROM "
			"evidence_items) + (SELECT COUNT(*) FROM "
			"evidence_items WHERE renewed_at IS NOT NULL)");
}

static int64_t
at(const char *when)
{
	int64_t v;

	assert_int_equal(tz_parse("UTC", when, &v), 0);
	return v;
}

/* Sets the clock to when (UTC) and runs one scheduler pass. */
static void
pass(struct tenv *t, const char *when)
{
	test_clock = at(when);
	assert_true(sched_run(t->st, &t->cfg, test_clock) >= 0);
}

/* Outbox messages to handle whose subject starts with prefix. */
static int64_t
told(struct tenv *t, const char *handle, const char *prefix)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v,
				"SELECT COUNT(*) FROM outbox o JOIN people p "
				"ON p.id = o.person_id WHERE p.handle = ? AND "
				"substr(o.subject, 1, length(?2)) = ?2",
				"tt", handle, prefix),
			 1);
	return v;
}

static struct tenv *
env(void)
{
	struct tenv *t = setup();

	free(t->cfg.quiz_every);
	t->cfg.quiz_every = strdup("off");
	t->cfg.store_publish_head = 0;
	return t;
}

static void
test_evidence_add(void **state)
{
	struct tenv *t = env();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", "control set 5.15 owner=@bob");
	r = as(t, "carol",
	       "evidence add Access review Q3 control=A.5.15 "
	       "url=https://wiki.example.org/ar owner=@bob "
	       "expires=2027-01-31",
	       &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Evidence EV-1 added for A.5.15: Access "
				  "review Q3, owner bob, expires 2027-01-31."));
	assert_int_equal(told(t, "bob", "Evidence EV-1 for A.5.15 is yours"),
			 1);
	assert_sql(t,
		   "SELECT object || ' ' || details FROM audit_log WHERE "
		   "action = 'evidence.add'",
		   "EV-1 {\"expires\":\"2027-01-31\",\"for\":\"A.5.15\","
		   "\"owner\":\"bob\",\"title\":\"Access review Q3\","
		   "\"url\":\"https://wiki.example.org/ar\",\"via\":"
		   "\"console\"}");
	/* ids in any case */
	r = as(t, "grace", "evidence show ev-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "EV-1 Access review Q3 for A.5.15 (owner "
				  "bob; expires 2027-01-31)"));
	assert_non_null(strstr(as(t, "bob", "evidence show 1", &ok), "EV-1"));
	/* the control's owner adds evidence of their own, for it only */
	ok_as(t, "bob", "evidence add Firewall rules control=5.15");
	ok_as(t, "bob", "action add Review access due=2027-01-31");
	ok_as(t, "bob", "evidence add Review minutes action=act-1");
	ok_as(t, "carol",
	      "risk add Stolen laptop likelihood=3 impact=4 owner=@bob");
	ok_as(t, "carol",
	      "evidence add Encryption report risk=RSK-1 "
	      "owner=@bob");
	assert_sql(t,
		   "SELECT group_concat(r, ' ') FROM (SELECT ref_kind || ':' "
		   "|| ref_id AS r FROM evidence_items ORDER BY id) x",
		   "control:5.15 control:5.15 action:1 risk:1");

	before = ev_fingerprint(t);
	refused_as(t, "alice", "evidence add Mine control=5.15",
		   "not allowed: only the owner of A.5.15 or an isms_manager "
		   "may add evidence for it");
	refused_as(t, "bob", "evidence add Theirs control=5.15 owner=@alice",
		   "only an isms_manager may add evidence owned by someone "
		   "else (alice)");
	refused_as(t, "grace", "evidence add Audit control=5.15",
		   "not allowed");
	refused_as(t, "carol", "evidence add X control=5.15 owner=@grace",
		   "grace is an auditor and cannot be made an owner");
	refused_as(t, "carol", "evidence add X control=9.99",
		   "no control \"9.99\"");
	refused_as(t, "carol", "evidence add X", "give exactly one of");
	refused_as(t, "carol", "evidence add X control=5.15 risk=RSK-1",
		   "give exactly one of");
	refused_as(t, "carol", "evidence add X action=ACT-9",
		   "no action ACT-9");
	refused_as(t, "carol", "evidence add X supplier=SUP-1",
		   "no supplier SUP-1");
	refused_as(t, "carol", "evidence add X control=5.15 url=ftp://x/y",
		   "url= must start with https:// or http://");
	refused_as(t, "carol", "evidence add X control=5.15 expires=2026-11-17",
		   "expires=2026-11-17 is in the past");
	refused_as(t, "carol", "evidence add X control=5.15 expires=soon",
		   "expires= must be a date YYYY-MM-DD");
	refused_as(t, "carol", "evidence add control=5.15",
		   "a title is required");
	refused_as(t, "carol", "evidence show EV-9", "no evidence EV-9");
	refused_as(t, "alice", "evidence show EV-1",
		   "EV-1: no such evidence that you may see");
	assert_int_equal(ev_fingerprint(t), before);
	/* evidence for a supplier: its owner is the evidence's default */
	ok_as(t, "carol",
	      "supplier add Acme Payroll criticality=high data=personal "
	      "owner=@bob dpa=yes");
	ok_as(t, "carol", "evidence add Signed DPA supplier=sup-1");
	assert_sql(t,
		   "SELECT ref_kind || ' ' || ref_id FROM evidence_items "
		   "ORDER BY id DESC LIMIT 1",
		   "supplier 1");
	/* a leaver owns nothing new */
	ok_as(t, "dana", "staff deactivate @frank");
	before = ev_fingerprint(t);
	refused_as(t, "carol", "evidence add X control=5.15 owner=@frank",
		   "no person @frank in the directory");
	assert_int_equal(ev_fingerprint(t), before);
	/* staff see what they own; readers see everything */
	r = as(t, "alice", "evidence list", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "No evidence."));
	r = as(t, "grace", "evidence list control=5.15", &ok);
	assert_non_null(strstr(r, "2 items, 0 stale."));
	assert_non_null(
	    strstr(as(t, "alice", "help evidence", &ok), "evidence renew"));
	tenv_free(t);
}

static void
test_evidence_stale(void **state)
{
	struct tenv *t = env();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "carol", "control set 8.7 owner=@bob");
	ok_as(t, "carol",
	      "evidence add AV console export control=8.7 owner=@bob "
	      "expires=2026-12-01");
	ok_as(t, "carol", "evidence add Policy control=8.7");
	/* valid through its day; stale the day after */
	test_clock = at("2026-12-01 23:00");
	assert_non_null(strstr(as(t, "bob", "evidence list stale", &ok),
			       "No evidence is stale."));
	test_clock = at("2026-12-02 08:00");
	r = as(t, "bob", "evidence list stale", &ok);
	assert_non_null(strstr(r, "EV-1 STALE AV console export for A.8.7 "
				  "(owner bob; expired 2026-12-01)"));
	assert_non_null(strstr(r, "1 item, 1 stale."));
	r = as(t, "grace", "control show 8.7", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Evidence:\n  EV-1 STALE AV console"));
	assert_non_null(strstr(r, "1 of 2 stale: renew with evidence renew"));
	r = as(t, "alice", "control show 8.7", &ok);
	assert_non_null(strstr(r, "Evidence: 2 items, 1 stale"));
	r = as(t, "dana", "report", &ok);
	assert_non_null(strstr(r, "Evidence: 2 items, 1 stale: EV-1 A.8.7 "
				  "(bob, expired 2026-12-01)."));

	before = ev_fingerprint(t);
	refused_as(t, "bob", "evidence renew EV-1 url=https://x.example/av",
		   "EV-1 expired on 2026-12-01: renew it with a new "
		   "expires=YYYY-MM-DD");
	refused_as(t, "bob", "evidence renew EV-1 expires=2026-12-01",
		   "in the past");
	refused_as(t, "alice", "evidence renew EV-1 expires=2027-12-01",
		   "only the owner of EV-1 or an isms_manager");
	refused_as(t, "bob", "evidence renew EV-1", "usage: evidence renew");
	assert_int_equal(ev_fingerprint(t), before);
	r = as(t, "bob", "evidence renew ev-1 expires=2027-12-01", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "EV-1 renewed: AV console export, expires "
				  "2027-12-01."));
	assert_sql(t,
		   "SELECT details FROM audit_log WHERE action = "
		   "'evidence.renew'",
		   "{\"changes\":{\"expires\":[\"2026-12-01\",\"2027-12-01\"]},"
		   "\"via\":\"console\"}");
	refused_as(t, "bob", "evidence renew EV-1 expires=2027-12-01",
		   "EV-1 already has these values");
	r = as(t, "dana", "report", &ok);
	assert_non_null(strstr(r, "Evidence: 2 items, 0 stale."));
	/* a renewal by someone else is told to the owner */
	ok_as(t, "carol", "evidence renew EV-1 url=https://x.example/av");
	assert_int_equal(told(t, "bob",
			      "Evidence EV-1 (AV console export) "
			      "was renewed by carol"),
			 1);
	tenv_free(t);
}

static void
test_evidence_nudges(void **state)
{
	struct tenv *t = env();
	const char *ahead = "Evidence EV-1 expires on 2027-01-31";
	const char *stale = "Evidence EV-1 is stale (expired 2027-01-31)";

	(void)state;
	ok_as(t, "carol",
	      "evidence add Access review control=5.15 owner=@bob "
	      "expires=2027-01-31");
	ok_as(t, "carol",
	      "evidence add Badge log control=7.2 owner=@alice "
	      "expires=2027-06-30");
	pass(t, "2026-12-31 10:00"); /* 31 days before: nothing yet */
	assert_int_equal(told(t, "bob", ahead), 0);
	pass(t, "2027-01-04 10:00"); /* a Monday, within 30 days */
	assert_int_equal(told(t, "bob", ahead), 1);
	pass(t, "2027-01-04 11:00");
	pass(t, "2027-01-20 11:00");
	assert_int_equal(told(t, "bob", ahead), 1); /* once */
	pass(t, "2027-01-31 11:00"); /* its last day: not stale yet */
	assert_int_equal(told(t, "bob", stale), 0);
	pass(t, "2027-02-01 10:00");
	assert_int_equal(told(t, "bob", stale), 1);
	pass(t, "2027-02-03 10:00");
	assert_int_equal(told(t, "bob", stale), 1); /* not before 7 days */
	pass(t, "2027-02-08 10:00");
	assert_int_equal(told(t, "bob", stale), 2);
	assert_int_equal(told(t, "alice", "Evidence EV-2 expires"), 0);
	/* renewed: quiet until 30 days before the new expiry */
	ok_as(t, "bob", "evidence renew EV-1 expires=2028-01-31");
	pass(t, "2027-02-15 10:00");
	assert_int_equal(told(t, "bob", "Evidence EV-1 expires"), 1);
	assert_int_equal(told(t, "bob", stale), 2);
	/* an owner who left: their manager hears of it */
	ok_as(t, "dana", "staff deactivate @alice");
	pass(t, "2027-06-08 10:00");
	assert_int_equal(told(t, "bob", "Evidence EV-2 expires on 2027-06-30"),
			 1);
	assert_int_equal(told(t, "alice", "Evidence EV-2 expires"), 0);
	tenv_free(t);
}

static void
test_evidence_export(void **state)
{
	struct tenv *t = env();
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *fp;

	(void)state;
	ok_as(t, "carol", "control add ORG-1 Supplier security reviews");
	ok_as(t, "carol",
	      "evidence add Review 2026 control=org-1 "
	      "url=https://wiki.example.org/rev expires=2026-12-01");
	ok_as(t, "carol", "evidence add Access review control=5.15");
	test_clock = at("2026-12-05 10:00");
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	assert_int_equal(
	    export_write(t->st, "evidence", "csv", fp, err, sizeof(err)), 0);
	fclose(fp);
	assert_non_null(strstr(text, "id,title,ref,url,owner,expires,stale,"
				     "created_by,created,renewed\r\n"));
	assert_non_null(strstr(text, "EV-1,Review 2026,ORG-1,https://wiki."
				     "example.org/rev,carol,2026-12-01,yes,"
				     "carol,"));
	assert_non_null(
	    strstr(text, "EV-2,Access review,A.5.15,,carol,,no,carol,"));
	free(text);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_evidence_add),
	    cmocka_unit_test(test_evidence_stale),
	    cmocka_unit_test(test_evidence_nudges),
	    cmocka_unit_test(test_evidence_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
