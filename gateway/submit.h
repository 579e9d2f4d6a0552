/*
 * Group commit: requests that arrive in the same loop iteration run as
 * one durable transaction (each command in its own savepoint), and each
 * caller is answered only after that commit is on disk. The disk's work
 * overlaps the next batch (a log sync thread, durable.h). Durable and
 * fast under load; one request alone costs what gw_request costs.
 */
#ifndef ISMS_SUBMIT_H
#define ISMS_SUBMIT_H

#include "gw.h"

/* Queues a request (copied). Returns 0, or -1 while stopping. */
int gw_submit(struct gw *gw, const struct isms_request *rq, host_done_cb cb,
	      void *arg);

int submit_init(struct gw *gw);
/*
 * submit_init with another function that puts deferred commits on disk
 * (store_sync_log by default; tests pause it to watch answers wait).
 */
int submit_init_sync(struct gw *gw, int (*sync)(void *arg), void *sync_arg);
void submit_stop(struct gw *gw); /* runs what is queued, then closes */

#endif
