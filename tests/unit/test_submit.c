/*
 * Unit tests of group commit: requests queued in one loop iteration share
 * a transaction, a refused one changes nothing, the others all land.
 */
#include "testutil.h"

#include "../../gateway/submit.h"

struct answer {
	int called;
	int rc;
	char text[512];
};

static void
on_done(void *arg, const struct isms_reply *rp, int rc)
{
	struct answer *a = arg;

	a->called++;
	a->rc = rc;
	snprintf(a->text, sizeof(a->text), "%s", buf_str(&rp->text));
}

static void
test_batch(void **state)
{
	struct tenv *t = tenv_new();
	struct gw gw = {0};
	uv_loop_t loop;
	struct answer a[4] = {{0}};
	const char *texts[] = {"/incident one", "/incident severity=bogus x",
			       "/incident three", "/incident four"};
	size_t i;

	(void)state;
	uv_loop_init(&loop);
	gw.host.loop = &loop;
	gw.host.st = t->st;
	config_defaults(&gw.cfg);
	uv_timer_init(&loop, &gw.outbox_timer);
	gw.outbox_timer.data = &gw;
	gw.host.stopping = 1; /* no outbox delivery in this test */
	submit_init(&gw);
	for (i = 0; i < 4; i++) {
		struct isms_request rq = {.via = "slack",
					  .id_kind = "slack",
					  .id = "U0ALICE",
					  .text = texts[i]};
		char ev[16];

		snprintf(ev, sizeof(ev), "Ev%zu", i);
		rq.event_id = ev;
		assert_int_equal(gw_submit(&gw, &rq, on_done, &a[i]), 0);
	}
	/* nothing is stored before the loop runs the batch */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incidents"), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	for (i = 0; i < 4; i++)
		assert_int_equal(a[i].called, 1);
	assert_int_equal(a[0].rc, 0);
	assert_int_equal(a[1].rc, -1);
	assert_non_null(strstr(a[1].text, "severity must be"));
	assert_non_null(strstr(a[3].text, "INC-3"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incidents"), 3);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM inbox"), 4);
	assert_int_equal(store_tx_depth(t->st), 0);
	{
		int64_t rows;

		assert_int_equal(store_audit_verify(t->st, &rows), 0);
	}
	submit_stop(&gw);
	uv_close((uv_handle_t *)&gw.outbox_timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	config_free(&gw.cfg);
	tenv_free(t);
}

static void
test_stop_flushes(void **state)
{
	struct tenv *t = tenv_new();
	struct gw gw = {0};
	uv_loop_t loop;
	struct answer a = {0};
	struct isms_request rq = {.via = "slack",
				  .id_kind = "slack",
				  .id = "U0ALICE",
				  .text = "/incident late"};

	(void)state;
	uv_loop_init(&loop);
	gw.host.loop = &loop;
	gw.host.st = t->st;
	gw.host.stopping = 1;
	config_defaults(&gw.cfg);
	uv_timer_init(&loop, &gw.outbox_timer);
	submit_init(&gw);
	assert_int_equal(gw_submit(&gw, &rq, on_done, &a), 0);
	submit_stop(&gw); /* queued work is stored and answered */
	assert_int_equal(a.called, 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incidents"), 1);
	assert_int_equal(gw_submit(&gw, &rq, on_done, &a), -1);
	uv_close((uv_handle_t *)&gw.outbox_timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	config_free(&gw.cfg);
	tenv_free(t);
}

/* A request queued from a timer, like one from a write completion. */
struct from_timer {
	struct gw *gw;
	struct answer *a;
};

static void
submit_later(uv_timer_t *t)
{
	struct from_timer *f = t->data;
	struct isms_request rq = {.via = "slack",
				  .id_kind = "slack",
				  .id = "U0ALICE",
				  .text = "/incident queued from a timer"};

	assert_int_equal(gw_submit(f->gw, &rq, on_done, f->a), 0);
}

/*
 * A request queued from a callback that runs before poll is answered at
 * once, not when the next timer (the Slack API's pacing, here 5 s) or
 * I/O wakes the loop.
 */
static void
test_no_wait_for_timer(void **state)
{
	struct tenv *t = tenv_new();
	struct gw gw = {0};
	uv_loop_t loop;
	uv_timer_t kick, far;
	struct answer a = {0};
	struct from_timer f = {&gw, &a};
	uint64_t t0;

	(void)state;
	uv_loop_init(&loop);
	gw.host.loop = &loop;
	gw.host.st = t->st;
	config_defaults(&gw.cfg);
	uv_timer_init(&loop, &gw.outbox_timer);
	gw.outbox_timer.data = &gw;
	gw.host.stopping = 1;
	submit_init(&gw);
	uv_timer_init(&loop, &kick);
	uv_timer_init(&loop, &far);
	kick.data = &f;
	uv_timer_start(&far, submit_later, 5000, 0); /* never fires here */
	far.data = &f;
	uv_timer_start(&kick, submit_later, 1, 0);
	t0 = uv_hrtime();
	while (!a.called && uv_hrtime() - t0 < 3000000000ull)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(a.called, 1);
	assert_true(uv_hrtime() - t0 < 1000000000ull);
	assert_non_null(strstr(a.text, "INC-1"));
	uv_close((uv_handle_t *)&kick, NULL);
	uv_close((uv_handle_t *)&far, NULL);
	submit_stop(&gw);
	uv_close((uv_handle_t *)&gw.outbox_timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	config_free(&gw.cfg);
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_stop_flushes),
	    cmocka_unit_test(test_no_wait_for_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
