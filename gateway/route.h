/*
 * Outbox routing decisions, kept apart from the loop so that they can be
 * tested on their own: which transport a message tries next after one
 * refused it for good.
 */
#ifndef ISMS_ROUTE_H
#define ISMS_ROUTE_H

#include <stddef.h>

/* One delivery of a message so far: its transport and status. */
struct route_try {
	const char *transport; /* "slack", "matrix", "mail", "none" */
	const char *status;    /* "pending", "sent", "failed" */
};

#define ROUTE_DONE	    (-1) /* another delivery is pending or sent */
#define ROUTE_UNDELIVERABLE (-2) /* every transport that reaches has failed */

/*
 * The next transport for a message after a delivery failed for good.
 * reach: the running transports that reach the recipient, in order of
 * preference (Slack, Matrix, mail); tried: every delivery of the message,
 * including the failed one. Returns an index into reach, ROUTE_DONE or
 * ROUTE_UNDELIVERABLE.
 */
int route_next(const char *const *reach, size_t nreach,
	       const struct route_try *tried, size_t ntried);

#endif
