/*
 * The log syncer (durable.h). The loop hands out tickets, one for each
 * deferred commit; the thread syncs up to the newest ticket it has seen,
 * then records it as done. Commits that arrive during a sync wait for
 * the next one, which starts as soon as the current one returns, so each
 * sync covers everything committed while the one before it ran.
 */
#include "durable.h"

#include <pthread.h>
#include <stdlib.h>

#include "../base/log.h"
#include "../base/util.h"

struct durable {
	uv_async_t async; /* wakes the loop when a sync returned */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	durable_sync_fn sync;
	void *sync_arg;
	durable_cb cb;
	void *arg;
	/* under mu */
	uint64_t wanted;  /* the newest ticket handed out */
	uint64_t started; /* the ticket the running or last sync covers */
	uint64_t done;	  /* every ticket up to it has been synced */
	uint64_t failed;  /* the newest ticket a failed sync covered */
	int stop;
};

static void *
durable_thread(void *p)
{
	struct durable *d = p;
	uint64_t target;
	int rc;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (d->wanted == d->started && !d->stop)
			pthread_cond_wait(&d->cv, &d->mu);
		if (d->wanted == d->started)
			break; /* stopping, nothing left */
		target = d->started = d->wanted;
		pthread_mutex_unlock(&d->mu);
		rc = d->sync(d->sync_arg);
		pthread_mutex_lock(&d->mu);
		d->done = target;
		if (rc < 0)
			d->failed = target;
		pthread_mutex_unlock(&d->mu);
		uv_async_send(&d->async);
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void
durable_report(struct durable *d)
{
	uint64_t done, failed;

	pthread_mutex_lock(&d->mu);
	done = d->done;
	failed = d->failed;
	pthread_mutex_unlock(&d->mu);
	d->cb(d->arg, done, failed);
}

static void
on_async(uv_async_t *h)
{
	durable_report(h->data);
}

static void
on_closed(uv_handle_t *h)
{
	struct durable *d = (struct durable *)h;

	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

struct durable *
durable_start(uv_loop_t *loop, durable_sync_fn sync, void *sync_arg,
	      durable_cb cb, void *arg)
{
	struct durable *d = xcalloc(1, sizeof(*d));

	d->sync = sync;
	d->sync_arg = sync_arg;
	d->cb = cb;
	d->arg = arg;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (uv_async_init(loop, &d->async, on_async) != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return NULL;
	}
	d->async.data = d;
	if (pthread_create(&d->thread, NULL, durable_thread, d) != 0) {
		log_warnx("cannot start the log sync thread; every commit "
			  "waits for the disk");
		uv_close((uv_handle_t *)&d->async, on_closed);
		return NULL;
	}
	return d;
}

uint64_t
durable_committed(struct durable *d)
{
	uint64_t t;

	pthread_mutex_lock(&d->mu);
	t = ++d->wanted;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return t;
}

void
durable_stop(struct durable *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	durable_report(d);
	uv_close((uv_handle_t *)&d->async, on_closed);
}
