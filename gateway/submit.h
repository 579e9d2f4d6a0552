/*
 * Group commit: requests that arrive in the same loop iteration run as
 * one durable transaction (each command in its own savepoint), and each
 * caller is answered only after that commit. Durable and fast under load;
 * one request alone costs what gw_request costs.
 */
#ifndef ISMS_SUBMIT_H
#define ISMS_SUBMIT_H

#include "gw.h"

/*
 * Called on the loop thread after the batch committed (rc 0) or failed
 * (rc -1: nothing of the batch is stored; rp says so). rp is borrowed for
 * the call.
 */
typedef void (*gw_done_cb)(void *arg, const struct isms_reply *rp, int rc);

/* Queues a request (copied). Returns 0, or -1 while stopping. */
int gw_submit(struct gw *gw, const struct isms_request *rq, gw_done_cb cb,
	      void *arg);

int submit_init(struct gw *gw);
void submit_stop(struct gw *gw); /* runs what is queued, then closes */

#endif
