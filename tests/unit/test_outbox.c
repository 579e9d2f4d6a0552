/*
 * Unit tests of outbox delivery on a real store, without a loop: the
 * backoff schedule, what each send result does to a delivery row, routing
 * (fan-out kinds to every transport that reaches the person, others to
 * the first), fallback to the next transport after a failure, and
 * transports that are stopped. The adapters are fakes in ops tables.
 */
#include "testutil.h"

#include "../../gateway/outbox.h"
#include "../../gateway/route.h"

/* ---- fake transports ---- */

static int64_t sent_ids[16];
static size_t nsent;

static int
fake_slack_reaches(void *state, const struct person *p, const char *address)
{
	(void)state;
	(void)address;
	return p != NULL && p->slack_id[0] != '\0';
}

static int
fake_matrix_reaches(void *state, const struct person *p, const char *address)
{
	(void)state;
	(void)address;
	return p != NULL && p->matrix_id[0] != '\0';
}

static int
fake_mail_reaches(void *state, const struct person *p, const char *address)
{
	(void)state;
	return (p != NULL && p->email[0] != '\0') || address != NULL;
}

static void
fake_send(void *state, const struct outmsg *m)
{
	(void)state;
	if (nsent < ARRAY_LEN(sent_ids))
		sent_ids[nsent++] = m->delivery_id;
}

static const struct adapter_ops fake_slack = {
    .name = "slack", .reaches = fake_slack_reaches, .send = fake_send};
static const struct adapter_ops fake_matrix = {
    .name = "matrix", .reaches = fake_matrix_reaches, .send = fake_send};
static const struct adapter_ops fake_mail = {
    .name = "mail", .reaches = fake_mail_reaches, .send = fake_send};

struct fixture {
	struct tenv *t;
	struct gw_adapter ad[GW_MAX_ADAPTERS];
	int stopping;
	struct outbox ob;
};

static struct fixture *
fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->t = tenv_new();
	f->ad[0] = (struct gw_adapter){.ops = &fake_slack, .running = 1};
	f->ad[1] = (struct gw_adapter){.ops = &fake_matrix, .running = 1};
	f->ad[2] = (struct gw_adapter){.ops = &fake_mail, .running = 1};
	outbox_init(&f->ob, f->t->st, f->ad, 3, &f->stopping);
	nsent = 0;
	return f;
}

static void
fixture_free(struct fixture *f)
{
	outbox_free(&f->ob);
	tenv_free(f->t);
	free(f);
}

static int64_t
person(struct fixture *f, const char *handle)
{
	int64_t id = 0;

	assert_int_equal(db_int(f->t->st, &id,
				"SELECT id FROM people WHERE handle = ?", "t",
				handle),
			 1);
	return id;
}

static int64_t
queue(struct fixture *f, const char *handle, const char *kind)
{
	int64_t id =
	    store_outbox_add(f->t->st, handle != NULL ? person(f, handle) : 0,
			     handle != NULL ? NULL : "ext@example.net", kind,
			     "subject", "body", NULL, NULL);

	assert_true(id > 0);
	return id;
}

/* The delivery of message id on transport, or 0. */
static int64_t
delivery(struct fixture *f, int64_t id, const char *transport)
{
	int64_t did = 0;

	db_int(f->t->st, &did,
	       "SELECT id FROM outbox_delivery WHERE outbox_id = ? AND "
	       "transport = ?",
	       "it", id, transport);
	return did;
}

static int64_t
ndeliveries(struct fixture *f, int64_t id)
{
	int64_t n = -1;

	assert_int_equal(db_int(f->t->st, &n,
				"SELECT COUNT(*) FROM outbox_delivery WHERE "
				"outbox_id = ?",
				"i", id),
			 1);
	return n;
}

/* Delivery did has this status and number of attempts. */
static void
assert_row(struct fixture *f, int64_t did, const char *status, int64_t attempts)
{
	char *s =
	    db_text(f->t->st, "SELECT status FROM outbox_delivery WHERE id = ?",
		    "i", did);
	int64_t a = -1;

	assert_non_null(s);
	assert_string_equal(s, status);
	free(s);
	assert_int_equal(db_int(f->t->st, &a,
				"SELECT attempts FROM outbox_delivery WHERE "
				"id = ?",
				"i", did),
			 1);
	assert_int_equal(a, attempts);
}

static int64_t
next_at(struct fixture *f, int64_t did)
{
	int64_t v = -1;

	assert_int_equal(db_int(f->t->st, &v,
				"SELECT next_at FROM outbox_delivery WHERE "
				"id = ?",
				"i", did),
			 1);
	return v;
}

/* ---- decisions ---- */

static void
test_backoff_schedule(void **state)
{
	(void)state;
	/* 5 s doubling: 10 s after the first failure, 20 s, 40 s, ... */
	assert_int_equal(outbox_backoff(1, 0, 0), 10);
	assert_int_equal(outbox_backoff(2, 0, 0), 20);
	assert_int_equal(outbox_backoff(3, 0, 0), 40);
	assert_int_equal(outbox_backoff(9, 0, 0), 2560);
	/* capped at an hour */
	assert_int_equal(outbox_backoff(10, 0, 0), 3600);
	assert_int_equal(outbox_backoff(19, 0, 0), 3600);
	/* jitter of up to a fifth */
	assert_int_equal(outbox_backoff(1, 0, 2), 12);
	assert_int_equal(outbox_backoff(1, 0, 3), 10);
	assert_int_equal(outbox_backoff(10, 0, 720), 4320);
	/* never sooner than the platform asked */
	assert_int_equal(outbox_backoff(1, 30, 0), 30);
	assert_int_equal(outbox_backoff(1, 5, 0), 10);
}

static void
test_step(void **state)
{
	struct outbox_step s;

	(void)state;
	outbox_step(SEND_OK, 0, 0, 0, &s);
	assert_string_equal(s.status, "sent");
	assert_int_equal(s.attempts, 1);
	assert_false(s.fallback);

	outbox_step(SEND_RETRY, 2, 0, 0, &s);
	assert_string_equal(s.status, "pending");
	assert_int_equal(s.attempts, 3);
	assert_int_equal(s.wait, 40);
	assert_false(s.fallback);

	/* the last allowed retry fails for good and falls back */
	outbox_step(SEND_RETRY, OUTBOX_MAX_ATTEMPTS - 2, 0, 0, &s);
	assert_string_equal(s.status, "pending");
	outbox_step(SEND_RETRY, OUTBOX_MAX_ATTEMPTS - 1, 0, 0, &s);
	assert_string_equal(s.status, "failed");
	assert_int_equal(s.attempts, OUTBOX_MAX_ATTEMPTS);
	assert_true(s.fallback);

	outbox_step(SEND_FAIL, 0, 0, 0, &s);
	assert_string_equal(s.status, "failed");
	assert_true(s.fallback);
	outbox_step(SEND_SKIP, 4, 0, 0, &s);
	assert_string_equal(s.status, "failed");
	assert_int_equal(s.attempts, 5);
	assert_true(s.fallback);

	/* cut off by the daemon's stop: no attempt, no failure */
	outbox_step(SEND_CANCELLED, 3, 0, 0, &s);
	assert_string_equal(s.status, "pending");
	assert_int_equal(s.attempts, 3);
	assert_int_equal(s.wait, 0);
	assert_true(s.cancelled);
	assert_false(s.fallback);
}

/*
 * A send cut off by the stop leaves its row as it was: attempts, due
 * time and last error unchanged, no fallback; it goes out after the next
 * start, and is handed over again then.
 */
static void
test_cancelled_by_stop(void **state)
{
	struct fixture *f = fixture_new();
	int64_t m, did, due;

	(void)state;
	m = queue(f, "alice", "notice");
	assert_int_equal(outbox_route(&f->ob), 1);
	did = delivery(f, m, "slack");
	outbox_deliver(&f->ob);
	assert_int_equal(
	    outbox_done(&f->ob, did, SEND_RETRY, NULL, NULL, 0, "timeout"), 0);
	assert_row(f, did, "pending", 1);
	due = next_at(f, did);
	test_clock = due;
	outbox_deliver(&f->ob);
	assert_int_equal(nsent, 2);
	f->stopping = 1;
	assert_int_equal(outbox_done(&f->ob, did, SEND_CANCELLED, NULL, NULL, 0,
				     "cancelled"),
			 0);
	assert_row(f, did, "pending", 1);
	assert_int_equal(next_at(f, did), due);
	assert_int_equal(ndeliveries(f, m), 1);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox_delivery "
				     "WHERE last_error = 'timeout'"),
			 1);
	/* after a restart it is handed over again (no longer in flight) */
	f->stopping = 0;
	outbox_deliver(&f->ob);
	assert_int_equal(nsent, 3);
	test_clock = 1795000000;
	fixture_free(f);
}

static void
test_targets(void **state)
{
	struct fixture *f = fixture_new();
	struct person p;
	const char *names[GW_MAX_ADAPTERS];

	(void)state;
	assert_int_equal(store_person_by_id(f->t->st, person(f, "alice"), &p),
			 1);
	assert_int_equal(outbox_targets(f->ad, 3, 0, 0, &p, NULL, names), 1);
	assert_string_equal(names[0], "slack");
	assert_int_equal(outbox_targets(f->ad, 3, 1, 0, &p, NULL, names), 3);
	assert_string_equal(names[1], "matrix");
	assert_string_equal(names[2], "mail");
	/* a stopped transport is passed over, unless all are asked for */
	f->ad[0].running = 0;
	assert_int_equal(outbox_targets(f->ad, 3, 0, 0, &p, NULL, names), 1);
	assert_string_equal(names[0], "matrix");
	assert_int_equal(outbox_targets(f->ad, 3, 1, 1, &p, NULL, names), 3);
	/* a bare address: mail only */
	assert_int_equal(
	    outbox_targets(f->ad, 3, 1, 0, NULL, "x@example.net", names), 1);
	assert_string_equal(names[0], "mail");
	fixture_free(f);
}

/* ---- on the store ---- */

static void
test_route_first_and_fanout(void **state)
{
	struct fixture *f = fixture_new();
	int64_t notice, incident, frank, bare;

	(void)state;
	notice = queue(f, "alice", "notice");
	incident = queue(f, "alice", "incident");
	frank = queue(f, "frank", "incident"); /* Slack and mail, no Matrix */
	bare = queue(f, NULL, "notice");
	assert_int_equal(outbox_route(&f->ob), 4);
	/* a notice goes to the first transport that reaches the person */
	assert_int_equal(ndeliveries(f, notice), 1);
	assert_true(delivery(f, notice, "slack") > 0);
	/* a fan-out kind gets one delivery per reaching transport */
	assert_int_equal(ndeliveries(f, incident), 3);
	assert_true(delivery(f, incident, "slack") > 0);
	assert_true(delivery(f, incident, "matrix") > 0);
	assert_true(delivery(f, incident, "mail") > 0);
	assert_int_equal(ndeliveries(f, frank), 2);
	assert_int_equal(delivery(f, frank, "matrix"), 0);
	assert_true(delivery(f, bare, "mail") > 0);
	assert_row(f, delivery(f, notice, "slack"), "pending", 0);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox WHERE "
				     "routed = 0"),
			 0);
	/* routed once */
	assert_int_equal(outbox_route(&f->ob), 0);
	assert_int_equal(ndeliveries(f, incident), 3);
	fixture_free(f);
}

static void
test_route_stopped_and_unreachable(void **state)
{
	struct fixture *f = fixture_new();
	int64_t m1, m2, did;

	(void)state;
	/* Slack stopped for good: the notice goes to Matrix */
	f->ad[0].running = 0;
	m1 = queue(f, "alice", "notice");
	/* nothing running reaches a bare address without mail */
	f->ad[2].running = 0;
	m2 = queue(f, NULL, "notice");
	assert_int_equal(outbox_route(&f->ob), 2);
	assert_int_equal(ndeliveries(f, m1), 1);
	assert_true(delivery(f, m1, "matrix") > 0);
	did = delivery(f, m2, "none");
	assert_true(did > 0);
	assert_row(f, did, "failed", 0);
	fixture_free(f);
}

static void
test_deliver_and_outcomes(void **state)
{
	struct fixture *f = fixture_new();
	int64_t m, did, before;

	(void)state;
	m = queue(f, "alice", "notice");
	assert_int_equal(outbox_route(&f->ob), 1);
	did = delivery(f, m, "slack");
	outbox_deliver(&f->ob);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent_ids[0], did);
	/* in flight: not handed over again */
	outbox_deliver(&f->ob);
	assert_int_equal(nsent, 1);

	/* a retry: attempts 1, due 10 to 12 s later */
	assert_int_equal(
	    outbox_done(&f->ob, did, SEND_RETRY, NULL, NULL, 0, "rate limited"),
	    0);
	assert_row(f, did, "pending", 1);
	before = next_at(f, did);
	assert_true(before >= test_clock + 10 && before <= test_clock + 12);
	/* not due yet */
	outbox_deliver(&f->ob);
	assert_int_equal(nsent, 1);
	/* retry_after wins when longer */
	assert_int_equal(
	    outbox_done(&f->ob, did, SEND_RETRY, NULL, NULL, 600, "429"), 0);
	assert_row(f, did, "pending", 2);
	assert_int_equal(next_at(f, did), test_clock + 600);
	/* due: delivered again */
	test_clock += 600;
	outbox_deliver(&f->ob);
	assert_int_equal(nsent, 2);
	assert_int_equal(
	    outbox_done(&f->ob, did, SEND_OK, "D1", "ts1", 0, NULL), 0);
	assert_row(f, did, "sent", 3);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox_delivery "
				     "WHERE channel = 'D1' AND external_id = "
				     "'ts1' AND last_error IS NULL"),
			 1);
	/* nothing falls back from a sent message */
	assert_int_equal(ndeliveries(f, m), 1);
	test_clock -= 600;
	fixture_free(f);
}

static void
test_fallback_after_failure(void **state)
{
	struct fixture *f = fixture_new();
	int64_t m, d1, d2, d3;

	(void)state;
	m = queue(f, "alice", "notice");
	assert_int_equal(outbox_route(&f->ob), 1);
	d1 = delivery(f, m, "slack");
	assert_int_equal(
	    outbox_done(&f->ob, d1, SEND_FAIL, NULL, NULL, 0, "user gone"), 0);
	assert_row(f, d1, "failed", 1);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox_delivery "
				     "WHERE last_error = 'user gone'"),
			 1);
	/* the next transport that reaches alice: Matrix */
	d2 = delivery(f, m, "matrix");
	assert_true(d2 > 0);
	assert_row(f, d2, "pending", 0);
	/* a skip falls back too: mail */
	assert_int_equal(
	    outbox_done(&f->ob, d2, SEND_SKIP, NULL, NULL, 0, NULL), 0);
	assert_row(f, d2, "failed", 1);
	d3 = delivery(f, m, "mail");
	assert_true(d3 > 0);
	/* a retry that runs out of attempts fails for good */
	assert_int_equal(db_exec(f->t->st,
				 "UPDATE outbox_delivery SET attempts = ? "
				 "WHERE id = ?",
				 "ii", (int64_t)OUTBOX_MAX_ATTEMPTS - 1, d3),
			 1);
	assert_int_equal(
	    outbox_done(&f->ob, d3, SEND_RETRY, NULL, NULL, 0, "timeout"), 0);
	assert_row(f, d3, "failed", OUTBOX_MAX_ATTEMPTS);
	/* nothing is left: the message stays failed, no row added */
	assert_int_equal(ndeliveries(f, m), 3);
	fixture_free(f);
}

static void
test_fallback_skips_stopped_transports(void **state)
{
	struct fixture *f = fixture_new();
	int64_t m, d1;

	(void)state;
	m = queue(f, "alice", "notice");
	assert_int_equal(outbox_route(&f->ob), 1);
	d1 = delivery(f, m, "slack");
	/* Matrix stopped for good (a revoked token): on to mail */
	f->ad[1].running = 0;
	assert_int_equal(outbox_done(&f->ob, d1, SEND_FAIL, NULL, NULL, 0,
				     "channel_not_found"),
			 0);
	assert_int_equal(delivery(f, m, "matrix"), 0);
	assert_true(delivery(f, m, "mail") > 0);
	fixture_free(f);
}

static void
test_fallback_while_stopping(void **state)
{
	struct fixture *f = fixture_new();
	int64_t m, d1;

	(void)state;
	m = queue(f, "alice", "notice");
	assert_int_equal(outbox_route(&f->ob), 1);
	d1 = delivery(f, m, "slack");
	/* the daemon stops: every transport is stopped, the next one's
	 * delivery is queued for the next start */
	f->stopping = 1;
	f->ad[0].running = f->ad[1].running = f->ad[2].running = 0;
	assert_int_equal(
	    outbox_done(&f->ob, d1, SEND_FAIL, NULL, NULL, 0, "cancelled"), 0);
	assert_row(f, delivery(f, m, "matrix"), "pending", 0);
	/* and nothing is handed over while stopping */
	f->ad[1].running = 1;
	outbox_deliver(&f->ob);
	assert_int_equal(nsent, 0);
	fixture_free(f);
}

static void
test_fanout_failure_waits_for_the_others(void **state)
{
	struct fixture *f = fixture_new();
	int64_t m;

	(void)state;
	m = queue(f, "alice", "incident");
	assert_int_equal(outbox_route(&f->ob), 1);
	assert_int_equal(outbox_done(&f->ob, delivery(f, m, "slack"), SEND_FAIL,
				     NULL, NULL, 0, "x"),
			 0);
	/* Matrix and mail are still under way: nothing is added */
	assert_int_equal(ndeliveries(f, m), 3);
	fixture_free(f);
}

static void
test_hold(void **state)
{
	struct fixture *f = fixture_new();

	(void)state;
	assert_int_equal(outbox_held(&f->ob), 0);
	assert_int_equal(store_set_setting(f->t->st, "outbox_hold",
					   "restored from a backup"),
			 0);
	assert_int_equal(outbox_held(&f->ob), 1);
	assert_int_equal(outbox_locked(&f->ob), 0);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_schedule),
	    cmocka_unit_test(test_step),
	    cmocka_unit_test(test_targets),
	    cmocka_unit_test(test_route_first_and_fanout),
	    cmocka_unit_test(test_route_stopped_and_unreachable),
	    cmocka_unit_test(test_deliver_and_outcomes),
	    cmocka_unit_test(test_fallback_after_failure),
	    cmocka_unit_test(test_fallback_skips_stopped_transports),
	    cmocka_unit_test(test_fallback_while_stopping),
	    cmocka_unit_test(test_cancelled_by_stop),
	    cmocka_unit_test(test_fanout_failure_waits_for_the_others),
	    cmocka_unit_test(test_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
