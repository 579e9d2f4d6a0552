/*
 * Unit tests of group commit: requests queued in one loop iteration share
 * a transaction, a refused one changes nothing, the others all land.
 */
#include "testutil.h"

#include <pthread.h>

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
	/* answered once the log sync thread has put the batch on disk */
	while (!a[3].called)
		uv_run(&loop, UV_RUN_ONCE);
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

/*
 * A log sync the test holds: each call waits until the test lets it
 * return, and notes how many incidents were committed when it started.
 */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store *st;
	char path[160];
	int calls, allowed;
	int64_t seen[8]; /* incidents committed when sync i started */
};

static int
gated_sync(void *arg)
{
	struct gate *g = arg;
	char err[256];
	struct store *peek;
	int64_t n = -1;

	/* what is committed, read on a connection of this thread's own */
	peek = store_open_mode(g->path, STORE_READONLY, NULL, err, sizeof(err));
	if (peek != NULL)
		db_int(peek, &n, "SELECT COUNT(*) FROM incidents", NULL);
	store_close(peek);
	pthread_mutex_lock(&g->mu);
	if (g->calls < 8)
		g->seen[g->calls] = n;
	g->calls++;
	pthread_cond_broadcast(&g->cv);
	while (g->allowed < g->calls)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return store_sync_log(g->st);
}

static void
gate_wait_calls(struct gate *g, int calls)
{
	pthread_mutex_lock(&g->mu);
	while (g->calls < calls)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_allow(struct gate *g, int n)
{
	pthread_mutex_lock(&g->mu);
	g->allowed = n;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void
submit_one(struct gw *gw, const char *text, const char *ev, struct answer *a)
{
	struct isms_request rq = {.via = "slack",
				  .id_kind = "slack",
				  .id = "U0ALICE",
				  .text = text,
				  .event_id = ev};

	assert_int_equal(gw_submit(gw, &rq, on_done, a), 0);
}

/* Queues n requests "/incident NAME k" (event ids NAME.k). */
static void
submit_n(struct gw *gw, const char *name, int n, struct answer *a)
{
	int i;

	for (i = 0; i < n; i++) {
		char text[64], ev[64];

		snprintf(text, sizeof(text), "/incident %s %d", name, i);
		snprintf(ev, sizeof(ev), "%s.%d", name, i);
		submit_one(gw, text, ev, &a[i]);
	}
}

static int
answered(const struct answer *a, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += a[i].called;
	return k;
}

/*
 * Pipelined group commit (batches large enough to hand their sync to the
 * thread): batch 1 is committed and its sync starts; batch 2 arrives
 * while that sync is on the disk and waits, queued; nothing is answered
 * before a sync that started after its own COMMIT has returned: batch 1
 * after the first sync, batch 2 (committed once the first returned) only
 * after the second.
 */
static void
test_answers_wait_for_sync(void **state)
{
	struct tenv *t = tenv_new();
	struct gw gw = {0};
	struct gate g = {.st = t->st};
	uv_loop_t loop;
	struct answer a1[16] = {{0}}, a2[16] = {{0}};
	int i;

	(void)state;
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	snprintf(g.path, sizeof(g.path), "%s", t->path);
	uv_loop_init(&loop);
	gw.host.loop = &loop;
	gw.host.st = t->st;
	gw.host.stopping = 1;
	config_defaults(&gw.cfg);
	uv_timer_init(&loop, &gw.outbox_timer);
	gw.outbox_timer.data = &gw;
	submit_init_sync(&gw, gated_sync, &g);
	submit_n(&gw, "first", 16, a1);
	uv_run(&loop, UV_RUN_NOWAIT); /* batch 1 committed */
	gate_wait_calls(&g, 1);	      /* its sync started, and is held */
	assert_int_equal(g.seen[0], 16);
	submit_n(&gw, "second", 16, a2);
	for (i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	/* batch 2 waits for the sync; nobody was answered */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM incidents"), 16);
	assert_int_equal(answered(a1, 16), 0);
	assert_int_equal(answered(a2, 16), 0);
	gate_allow(&g, 1); /* the first sync returns */
	while (answered(a1, 16) < 16)
		uv_run(&loop, UV_RUN_ONCE);
	assert_non_null(strstr(a1[0].text, "INC-1"));
	/* batch 2 ran and committed after it; its own sync is held */
	gate_wait_calls(&g, 2);
	assert_int_equal(g.seen[1], 32);
	for (i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(answered(a2, 16), 0);
	gate_allow(&g, 2);
	while (answered(a2, 16) < 16)
		uv_run(&loop, UV_RUN_ONCE);
	assert_non_null(strstr(a2[15].text, "INC-32"));
	assert_int_equal(g.calls, 2);
	gate_allow(&g, 100);
	submit_stop(&gw);
	uv_close((uv_handle_t *)&gw.outbox_timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	config_free(&gw.cfg);
	tenv_free(t);
	pthread_cond_destroy(&g.cv);
	pthread_mutex_destroy(&g.mu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_stop_flushes),
	    cmocka_unit_test(test_no_wait_for_timer),
	    cmocka_unit_test(test_answers_wait_for_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
