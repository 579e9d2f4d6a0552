/*
 * Group commit of queued requests on a uv_check handle, which runs once
 * per loop iteration right after I/O: everything parsed from the sockets
 * in that iteration shares one COMMIT.  A check handle alone does not keep
 * the loop from sleeping in poll: a request queued from a callback that
 * runs before poll (a write completion answering a pipelined request, a
 * timer) would wait for the next I/O or timer, e.g. a second for the
 * Slack API's pacing.  An idle handle, active while requests wait, makes
 * that poll return at once.
 */
#include "submit.h"

#include <stdlib.h>
#include <string.h>

#include "../base/log.h"

#define SUBMIT_MAX_BATCH 256
/*
 * A lock held by another process: the loop never waits for it. The
 * batch stays queued and is tried again every SUBMIT_RETRY_MS; what
 * cannot be stored within SUBMIT_DEADLINE_MS of arriving (Slack wants an
 * answer within 3 s) is answered "not stored" and dropped, so nothing is
 * stored that its sender was told failed.
 */
#define SUBMIT_RETRY_MS	    50
#define SUBMIT_DEADLINE_MS  2000
#define SUBMIT_LOCK_WAIT_MS 5 /* the store's busy timeout on the loop */

struct submit_item {
	struct submit_item *next;
	char *via, *id_kind, *id, *text, *event_id;
	int shared;
	uint64_t queued_ms; /* uv_now when it arrived */
	host_done_cb cb;
	void *arg;
};

struct submit_queue {
	uv_check_t check;
	uv_idle_t idle;	  /* active while items wait: poll does not sleep */
	uv_timer_t retry; /* armed while the database is locked */
	struct submit_item *head, **tail;
	size_t len;
	int closing, locked;
};

static void
item_free(struct submit_item *it)
{
	free(it->via);
	free(it->id_kind);
	free(it->id);
	free(it->text);
	free(it->event_id);
	free(it);
}

static struct submit_item *
queue_pop(struct submit_queue *q)
{
	struct submit_item *it = q->head;

	q->head = it->next;
	if (q->head == NULL)
		q->tail = &q->head;
	q->len--;
	it->next = NULL;
	return it;
}

static void
answer_failed(struct submit_item *it, const char *why)
{
	struct isms_reply rp = {0};

	buf_puts(&rp.text, why);
	rp.error = 1;
	it->cb(it->arg, &rp, -1);
	reply_free(&rp);
	item_free(it);
}

/*
 * The database is locked by another process: answer what has waited too
 * long, keep the rest queued for the retry timer. Logged once a lock.
 */
static void
submit_locked(struct gw *gw)
{
	struct submit_queue *q = gw->submit;
	uint64_t now = uv_now(gw->host.loop);
	size_t dropped = 0;

	while (q->head != NULL &&
	       now - q->head->queued_ms >= SUBMIT_DEADLINE_MS) {
		answer_failed(queue_pop(q),
			      "the database is busy; nothing was stored, "
			      "please try again");
		dropped++;
	}
	if (!q->locked)
		log_warnx("the database is locked by another process; requests "
			  "wait up to %d ms, then are answered \"not stored\"",
			  SUBMIT_DEADLINE_MS);
	if (dropped)
		log_warnx("%zu request%s answered \"not stored\": the database "
			  "stayed locked",
			  dropped, dropped == 1 ? "" : "s");
	q->locked = 1;
}

/*
 * Runs up to one batch; answers every item in it. Returns -1 when the
 * database was locked by another process and the batch is still queued.
 */
static int
submit_flush(struct gw *gw)
{
	struct submit_queue *q = gw->submit;
	struct submit_item *batch = q->head, *it, *next;
	struct isms_reply *replies;
	int *rcs, commit_rc, kicked = 0;
	const char *why = NULL;
	size_t n = 0, i;

	if (batch == NULL)
		return 0;
	if (store_begin(gw->host.st) < 0) {
		if (store_busy(gw->host.st) && !q->closing) {
			submit_locked(gw);
			return -1;
		}
		why = store_error_reply(gw->host.st);
		log_error("requests could not be stored: %s", why);
		while (q->head != NULL)
			answer_failed(queue_pop(q), why);
		return 0;
	}
	if (q->locked)
		log_info("the database lock was released; storing again");
	q->locked = 0;
	/* detach at most SUBMIT_MAX_BATCH items */
	for (it = batch; it != NULL && n < SUBMIT_MAX_BATCH; it = it->next)
		n++;
	q->head = it;
	if (q->head == NULL)
		q->tail = &q->head;
	q->len -= n;
	replies = xcalloc(n, sizeof(*replies));
	rcs = xcalloc(n, sizeof(*rcs));
	for (i = 0, it = batch; i < n; i++, it = it->next) {
		struct isms_request rq = {.via = it->via,
					  .id_kind = it->id_kind,
					  .id = it->id,
					  .text = it->text,
					  .shared = it->shared,
					  .event_id = it->event_id};

		rcs[i] = cmd_run(gw->host.st, &gw->cfg, &rq, &replies[i]);
		kicked |= replies[i].notices.len > 0;
	}
	commit_rc = store_commit(gw->host.st);
	if (commit_rc < 0) {
		why = store_error_reply(gw->host.st);
		store_rollback(gw->host.st);
		log_error("a batch of %zu requests could not be stored: %s", n,
			  why);
	}
	for (i = 0, it = batch; i < n; i++, it = next) {
		next = it->next;
		if (commit_rc < 0) {
			buf_reset(&replies[i].text);
			buf_puts(&replies[i].text, why);
			replies[i].error = 1;
			rcs[i] = -1;
		}
		it->cb(it->arg, &replies[i], commit_rc < 0 ? -1 : rcs[i]);
		reply_free(&replies[i]);
		item_free(it);
	}
	free(replies);
	free(rcs);
	if (kicked)
		gw_kick(gw);
	return 0;
}

static void
on_retry(uv_timer_t *t)
{
	struct gw *gw = t->data;
	struct submit_queue *q = gw->submit;

	while (q->head != NULL && submit_flush(gw) == 0)
		;
	if (q->head != NULL)
		uv_timer_start(&q->retry, on_retry, SUBMIT_RETRY_MS, 0);
}

static void
on_check(uv_check_t *h)
{
	struct gw *gw = h->data;
	struct submit_queue *q = gw->submit;

	if (q->locked) { /* the retry timer has it */
		uv_check_stop(h);
		uv_idle_stop(&q->idle);
		return;
	}
	if (submit_flush(gw) < 0) {
		uv_check_stop(h);
		uv_idle_stop(&q->idle);
		uv_timer_start(&q->retry, on_retry, SUBMIT_RETRY_MS, 0);
		return;
	}
	if (q->head == NULL) {
		uv_check_stop(h);
		uv_idle_stop(&q->idle);
	}
}

static void
on_idle(uv_idle_t *h)
{
	(void)h; /* only there to keep the loop from sleeping */
}

int
gw_submit(struct gw *gw, const struct isms_request *rq, host_done_cb cb,
	  void *arg)
{
	struct submit_queue *q = gw->submit;
	struct submit_item *it;

	if (q == NULL || q->closing)
		return -1;
	it = xcalloc(1, sizeof(*it));
	it->via = xstrdup(rq->via);
	it->id_kind = xstrdup(rq->id_kind);
	it->id = xstrdup(rq->id);
	it->text = xstrdup(rq->text);
	it->event_id = xstrdup(rq->event_id);
	it->shared = rq->shared;
	it->queued_ms = uv_now(gw->host.loop);
	it->cb = cb;
	it->arg = arg;
	*q->tail = it;
	q->tail = &it->next;
	q->len++;
	if (!q->locked) {
		uv_check_start(&q->check, on_check);
		uv_idle_start(&q->idle, on_idle);
	} else if (!uv_is_active((uv_handle_t *)&q->retry)) {
		uv_timer_start(&q->retry, on_retry, 0, 0);
	}
	return 0;
}

int
submit_init(struct gw *gw)
{
	struct submit_queue *q = xcalloc(1, sizeof(*q));

	q->tail = &q->head;
	uv_check_init(gw->host.loop, &q->check);
	q->check.data = gw;
	uv_idle_init(gw->host.loop, &q->idle);
	q->idle.data = gw;
	uv_timer_init(gw->host.loop, &q->retry);
	q->retry.data = gw;
	gw->submit = q;
	store_set_busy_timeout(gw->host.st, SUBMIT_LOCK_WAIT_MS);
	return 0;
}

static void
on_closed(uv_handle_t *h)
{
	struct submit_queue *q = h->data;

	/* the three handles hold the queue; the last to close frees it */
	if (--q->closing == 0)
		free(q);
}

void
submit_stop(struct gw *gw)
{
	struct submit_queue *q = gw->submit;

	if (q == NULL || q->closing)
		return;
	/* stopping: a lock still held answers the rest "not stored" */
	store_set_busy_timeout(gw->host.st, SUBMIT_DEADLINE_MS);
	q->locked = 0;
	while (q->head != NULL)
		if (submit_flush(gw) < 0)
			while (q->head != NULL)
				answer_failed(queue_pop(q),
					      "the database is busy; nothing "
					      "was stored, please try again");
	q->closing = 3; /* three handles to close */
	uv_check_stop(&q->check);
	uv_idle_stop(&q->idle);
	uv_timer_stop(&q->retry);
	q->check.data = q->idle.data = q->retry.data = q;
	uv_close((uv_handle_t *)&q->check, on_closed);
	uv_close((uv_handle_t *)&q->idle, on_closed);
	uv_close((uv_handle_t *)&q->retry, on_closed);
	gw->submit = NULL;
}
