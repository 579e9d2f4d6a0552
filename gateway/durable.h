/*
 * The log syncer: a thread of its own makes deferred commits durable
 * (store_sync_log) while the loop goes on with the next requests, and
 * tells the loop through a uv_async how far everything is on disk. A
 * commit counts as durable only after a sync that started after it
 * returned.
 */
#ifndef ISMS_DURABLE_H
#define ISMS_DURABLE_H

#include <stdint.h>
#include <uv.h>

struct durable;

/*
 * On the loop thread: every commit with a ticket up to synced has been
 * synced; those up to failed (0 when none) met a failed sync and may be
 * lost.
 */
typedef void (*durable_cb)(void *arg, uint64_t synced, uint64_t failed);
/* Puts what was committed on disk: 0, or -1. Runs on the thread. */
typedef int (*durable_sync_fn)(void *arg);

/* Starts the thread; NULL when it cannot (then commit durably). */
struct durable *durable_start(uv_loop_t *loop, durable_sync_fn sync,
			      void *sync_arg, durable_cb cb, void *arg);
/* A deferred commit just returned: its ticket (1, 2, ...). */
uint64_t durable_committed(struct durable *d);
/*
 * Syncs what is still waiting, calls cb a last time (before returning),
 * stops the thread and closes the handle; d is freed by the loop.
 */
void durable_stop(struct durable *d);

#endif
