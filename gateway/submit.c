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

#include "log.h"

#define SUBMIT_MAX_BATCH 256

struct submit_item {
	struct submit_item *next;
	char *via, *id_kind, *id, *text, *event_id;
	int shared;
	gw_done_cb cb;
	void *arg;
};

struct submit_queue {
	uv_check_t check;
	uv_idle_t idle; /* active while items wait: poll does not sleep */
	struct submit_item *head, **tail;
	size_t len;
	int closing;
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

/* Runs up to one batch; answers every item in it. */
static void
submit_flush(struct gw *gw)
{
	struct submit_queue *q = gw->submit;
	struct submit_item *batch = q->head, *it, *next;
	struct isms_reply *replies;
	int *rcs, commit_rc, kicked = 0;
	size_t n = 0, i;

	if (batch == NULL)
		return;
	/* detach at most SUBMIT_MAX_BATCH items */
	for (it = batch; it != NULL && n < SUBMIT_MAX_BATCH; it = it->next)
		n++;
	q->head = it;
	if (q->head == NULL)
		q->tail = &q->head;
	q->len -= n;
	replies = xcalloc(n, sizeof(*replies));
	rcs = xcalloc(n, sizeof(*rcs));
	commit_rc = store_begin(gw->st);
	for (i = 0, it = batch; i < n; i++, it = it->next) {
		struct isms_request rq = {.via = it->via,
					  .id_kind = it->id_kind,
					  .id = it->id,
					  .text = it->text,
					  .shared = it->shared,
					  .event_id = it->event_id};

		if (commit_rc < 0)
			break;
		rcs[i] = cmd_run(gw->st, &gw->cfg, &rq, &replies[i]);
		kicked |= replies[i].notices.len > 0;
	}
	if (commit_rc == 0)
		commit_rc = store_commit(gw->st);
	if (commit_rc < 0) {
		store_rollback(gw->st);
		log_error("a batch of %zu requests could not be stored", n);
	}
	for (i = 0, it = batch; i < n; i++, it = next) {
		next = it->next;
		if (commit_rc < 0) {
			buf_reset(&replies[i].text);
			buf_puts(&replies[i].text,
				 "the database is busy; nothing was stored, "
				 "please try again");
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
}

static void
on_check(uv_check_t *h)
{
	struct gw *gw = h->data;

	submit_flush(gw);
	if (gw->submit->head == NULL) {
		uv_check_stop(h);
		uv_idle_stop(&gw->submit->idle);
	}
}

static void
on_idle(uv_idle_t *h)
{
	(void)h; /* only there to keep the loop from sleeping */
}

int
gw_submit(struct gw *gw, const struct isms_request *rq, gw_done_cb cb,
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
	it->cb = cb;
	it->arg = arg;
	*q->tail = it;
	q->tail = &it->next;
	q->len++;
	uv_check_start(&q->check, on_check);
	uv_idle_start(&q->idle, on_idle);
	return 0;
}

int
submit_init(struct gw *gw)
{
	struct submit_queue *q = xcalloc(1, sizeof(*q));

	q->tail = &q->head;
	uv_check_init(gw->loop, &q->check);
	q->check.data = gw;
	uv_idle_init(gw->loop, &q->idle);
	q->idle.data = gw;
	gw->submit = q;
	return 0;
}

static void
on_closed(uv_handle_t *h)
{
	struct submit_queue *q = h->data;

	/* both handles hold the queue; the second to close frees it */
	if (++q->closing == 3)
		free(q);
}

void
submit_stop(struct gw *gw)
{
	struct submit_queue *q = gw->submit;

	if (q == NULL || q->closing)
		return;
	while (q->head != NULL)
		submit_flush(gw);
	q->closing = 1;
	uv_check_stop(&q->check);
	uv_idle_stop(&q->idle);
	q->check.data = q;
	q->idle.data = q;
	uv_close((uv_handle_t *)&q->check, on_closed);
	uv_close((uv_handle_t *)&q->idle, on_closed);
	gw->submit = NULL;
}
