/*
 * Unit tests of document control: new versions approved by management or
 * an isms_manager other than their author, earlier versions and their
 * acknowledgements kept, acknowledgements asked again, retirement and
 * updates, and that a refused command changes nothing.
 */
#include "regutil.h"

#include "../../commands/sched.h"

static int64_t
doc_state(struct tenv *t)
{
	return everything(t) * 3 +
	       count(t, "SELECT (SELECT COUNT(*) FROM doc_versions) + (SELECT "
			"COUNT(*) FROM doc_ack_history) + (SELECT "
			"COALESCE(SUM(version), 0) FROM docs)");
}

/* DOC-1 owned by bob, acknowledged by alice and frank. */
static struct tenv *
env(void)
{
	struct tenv *t = setup();

	ok_as(t, "carol",
	      "doc add Information security policy owner=@bob "
	      "review_every=12m url=https://wiki.example.org/isp "
	      "ack=required");
	ok_as(t, "alice", "doc ack DOC-1");
	ok_as(t, "frank", "doc ack DOC-1");
	return t;
}

static void
test_version_approved(void **state)
{
	struct tenv *t = env();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	assert_sql(t,
		   "SELECT version || ' ' || url || ' ' || author_id || ' ' || "
		   "COALESCE(CAST(approver_id AS TEXT), '-') FROM doc_versions",
		   "1 https://wiki.example.org/isp 2 -");
	before = doc_state(t);
	refused_as(t, "alice", "doc version DOC-1 url=https://x",
		   "not allowed: only the owner of DOC-1");
	refused_as(t, "grace", "doc version DOC-1 url=https://x",
		   "not allowed");
	refused_as(t, "bob", "doc version DOC-1 url=ftp://x",
		   "url= must start with https:// or http://");
	refused_as(t, "bob", "doc version DOC-1", "missing url=");
	refused_as(t, "bob", "doc version DOC-9 url=https://x",
		   "no document DOC-9");
	refused_as(t, "bob", "doc version DOC-1 url=https://x colour=red",
		   "colour");
	assert_int_equal(doc_state(t), before);

	test_clock = T0 + 3600;
	r = as(t, "bob",
	       "doc version doc-1 url=https://wiki.example.org/isp-2 "
	       "note=\"MFA everywhere\"",
	       &ok);
	assert_true(ok);
	/* bob's manager is no isms_manager: the first one by handle */
	assert_string_equal(r, "Version 2 of DOC-1 requested as APR-1; "
			       "waiting for carol (or another isms_manager or "
			       "member of management) to approve. Version 1 "
			       "stays in force until then.");
	refused_as(t, "bob", "doc version DOC-1 url=https://y",
		   "already waiting for approval (APR-1)");
	r = as(t, "alice", "doc show DOC-1", &ok);
	assert_non_null(strstr(r, "next version waiting for approval APR-1"));
	/* the author cannot approve; a manager without the roles neither */
	refused_as(t, "bob", "approve APR-1", "not allowed");
	refused_as(t, "dana", "approve APR-1", "not allowed");
	assert_sql(t, "SELECT version || url FROM docs",
		   "1https://wiki.example.org/isp");

	test_clock = T0 + 7200;
	ok_as(t, "erik", "approve APR-1 Reads well");
	assert_sql(t, "SELECT version || ' ' || url FROM docs",
		   "2 https://wiki.example.org/isp-2");
	assert_sql(t,
		   "SELECT v.version || ' ' || a.handle || ' ' || p.handle || "
		   "' ' || v.approval_id || ' ' || v.note || ' ' || "
		   "(v.approved_at - 1795000000) FROM doc_versions v JOIN "
		   "people a ON a.id = v.author_id JOIN people p ON p.id = "
		   "v.approver_id",
		   "2 bob erik 1 MFA everywhere 7200");
	/* the acknowledgements of version 1 are kept; version 2's start
	 * from none */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM doc_acks"), 0);
	assert_sql(t,
		   "SELECT group_concat(p.handle || ':' || h.version, ' ') "
		   "FROM doc_ack_history h JOIN people p ON p.id = h.person_id",
		   "alice:1 frank:1");
	assert_sql(t,
		   "SELECT json_extract(details, '$.version') || ' ' || "
		   "json_extract(details, '$.acks_reset') || ' ' || "
		   "json_extract(details, '$.author') FROM audit_log WHERE "
		   "action = 'doc.version'",
		   "2 2 bob");
	r = as(t, "alice", "doc ack DOC-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "version 2"));
	r = as(t, "grace", "doc show DOC-1", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "version 2; acknowledged 1/7 required"));
	assert_non_null(strstr(r, "v2 2026-11-18 by bob, approved by erik "
				  "(APR-1): https://wiki.example.org/isp-2 "
				  "(MFA everywhere)\n  v1 2026-11-18 "
				  "registered by carol: "
				  "https://wiki.example.org/isp"));
	/* the acknowledgement nudges go to everyone again but alice */
	assert_true(sched_run(t->st, &t->cfg, test_clock) >= 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges n JOIN people "
				  "p ON p.id = n.person_id WHERE n.kind = "
				  "'doc.ack' AND p.handle = 'frank'"),
			 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges n JOIN people "
				  "p ON p.id = n.person_id WHERE n.kind = "
				  "'doc.ack' AND p.handle = 'alice'"),
			 0);
	tenv_free(t);
}

static void
test_version_routing(void **state)
{
	struct tenv *t = env();
	const char *r;
	int ok;

	(void)state;
	/* an isms_manager's own version goes to another one */
	r = as(t, "carol", "doc version DOC-1 url=https://x/2", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "waiting for erik"));
	refused_as(t, "carol", "approve APR-1", "you asked for it");
	ok_as(t, "erik", "reject APR-1 Wrong link");
	assert_sql(t, "SELECT version FROM docs", "1");
	/* with top management named, a member of it is asked */
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET roles = roles | ? WHERE "
				 "handle = 'dana'",
				 "i", (int64_t)ROLE_MANAGEMENT),
			 1);
	r = as(t, "bob", "doc version DOC-1 url=https://x/3", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "waiting for dana"));
	ok_as(t, "dana", "approve APR-2");
	assert_sql(t,
		   "SELECT d.version || ' ' || p.handle FROM docs d JOIN "
		   "doc_versions v ON v.doc_id = d.id AND v.version = "
		   "d.version JOIN people p ON p.id = v.approver_id",
		   "2 dana");
	/* the owner hears when someone else's version comes into force */
	ok_as(t, "erik", "doc version DOC-1 url=https://x/4");
	ok_as(t, "carol", "approve APR-3");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'bob' AND o.subject LIKE 'Version 3 of your "
				  "document DOC-1 is in force%'"),
			 1);
	tenv_free(t);
}

static void
test_retire(void **state)
{
	struct tenv *t = env();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	ok_as(t, "bob", "doc version DOC-1 url=https://x/2");
	before = doc_state(t);
	refused_as(t, "bob", "doc retire DOC-1 Superseded", "not allowed");
	refused_as(t, "grace", "doc retire DOC-1 Superseded", "not allowed");
	refused_as(t, "carol", "doc retire DOC-1", "a reason is required");
	assert_int_equal(doc_state(t), before);
	r = as(t, "carol", "doc retire DOC-1 Superseded by the handbook", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "DOC-1 (Information security policy) is "
				  "retired: Superseded by the handbook."));
	/* the pending version goes with it */
	assert_sql(t, "SELECT status || ' ' || comment FROM approvals",
		   "cancelled the document was retired");
	refused_as(t, "erik", "approve APR-1", "already cancelled");
	before = doc_state(t);
	refused_as(t, "alice", "doc ack DOC-1",
		   "DOC-1 was retired on "
		   "2026-11-18");
	refused_as(t, "bob", "doc reviewed DOC-1", "was retired");
	refused_as(t, "bob", "doc version DOC-1 url=https://x/3",
		   "was retired");
	refused_as(t, "carol", "doc update DOC-1 owner=@erik", "was retired");
	refused_as(t, "carol", "doc retire DOC-1 again", "was retired");
	assert_int_equal(doc_state(t), before);
	r = as(t, "alice", "doc list", &ok);
	assert_string_equal(r, "DOC-1 Information security policy (owner "
			       "bob; version 1; RETIRED 2026-11-18: "
			       "Superseded by the handbook)");
	/* no review or acknowledgement nudges for it, even a year on */
	test_clock = T0 + 400 * 86400;
	assert_true(sched_run(t->st, &t->cfg, test_clock) >= 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM nudges WHERE object = "
				  "'DOC-1'"),
			 0);
	tenv_free(t);
}

static void
test_update(void **state)
{
	struct tenv *t = env();
	int64_t before;
	const char *r;
	int ok;

	(void)state;
	before = doc_state(t);
	refused_as(t, "bob", "doc update DOC-1 owner=@alice",
		   "only an isms_manager may give a document to another "
		   "owner");
	refused_as(t, "alice", "doc update DOC-1 title=Mine",
		   "only the owner of DOC-1");
	refused_as(t, "carol", "doc update DOC-1 owner=@grace",
		   "grace is an auditor");
	refused_as(t, "carol", "doc update DOC-1", "nothing to change");
	refused_as(t, "carol", "doc update DOC-1 review_every=often",
		   "review_every= must be a period");
	refused_as(t, "carol", "doc update DOC-1 owner=@bob",
		   "already has these values");
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET active = 0 WHERE handle = "
				 "'frank'",
				 NULL),
			 1);
	before = doc_state(t);
	refused_as(t, "carol", "doc update DOC-1 owner=@frank",
		   "no person @frank");
	assert_int_equal(doc_state(t), before);
	ok_as(t, "bob",
	      "doc update DOC-1 title=\"ISMS policy\" "
	      "review_every=6m");
	assert_sql(t,
		   "SELECT title || ' ' || review_every || ' ' || "
		   "date(next_review_at, 'unixepoch') FROM docs",
		   "ISMS policy 6m 2027-05-18");
	r = as(t, "carol", "doc update DOC-1 owner=@erik", &ok);
	assert_true(ok);
	assert_string_equal(r, "DOC-1 updated: ISMS policy, owner erik.");
	assert_sql(t,
		   "SELECT group_concat(json_extract(details, '$.changes'), "
		   "' ') FROM audit_log WHERE action = 'doc.update'",
		   "{\"next_review\":\"2027-05-18\",\"review_every\":[\"12m\","
		   "\"6m\"],\"title\":[\"Information security policy\","
		   "\"ISMS policy\"]} "
		   "{\"owner\":[\"bob\",\"erik\"]}");
	assert_int_equal(count(t, "SELECT COUNT(*) FROM outbox o JOIN people "
				  "p ON p.id = o.person_id WHERE p.handle = "
				  "'erik' AND o.subject = 'You now own "
				  "document DOC-1: ISMS policy'"),
			 1);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_approved),
	    cmocka_unit_test(test_version_routing),
	    cmocka_unit_test(test_retire),
	    cmocka_unit_test(test_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
