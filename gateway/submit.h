/*
 * Group commit: requests that arrive in the same loop iteration run as
 * one durable transaction (each command in its own savepoint), and each
 * caller is answered only after that commit. Durable and fast under load;
 * one request alone costs what gw_request costs.
 */
#ifndef ISMS_SUBMIT_H
#define ISMS_SUBMIT_H

#include "gw.h"

/* Queues a request (copied). Returns 0, or -1 while stopping. */
int gw_submit(struct gw *gw, const struct isms_request *rq, host_done_cb cb,
	      void *arg);

int submit_init(struct gw *gw);
void submit_stop(struct gw *gw); /* runs what is queued, then closes */

#endif
