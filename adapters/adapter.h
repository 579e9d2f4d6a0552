/*
 * The transport interface. Each adapter (console, slack, matrix, mail) is
 * one table of function pointers chosen by configuration; it turns wire
 * events into struct isms_request and delivers outbox rows.
 */
#ifndef ISMS_ADAPTER_H
#define ISMS_ADAPTER_H

#include <stdint.h>

#include "../commands/msgkind.h"
#include "../config/config.h"
#include "../store/store.h"

struct gw;

/* One outbox message as handed to an adapter for delivery; borrowed. */
struct outmsg {
	int64_t outbox_id;
	int64_t delivery_id;
	const struct person *to; /* NULL when only address is set */
	const char *address;	 /* bare e-mail address, or NULL */
	/* from outbox.kind; a name this version does not know: notice */
	enum msg_kind kind;
	const char *subject;
	const char *body;
	const char *html;    /* may be NULL */
	const char *payload; /* JSON object text */
	int attempts;
};

/* Result of a send, reported to gw_delivery_done(). */
enum send_result {
	SEND_OK,    /* delivered; external_id says where */
	SEND_RETRY, /* temporary failure; retry after retry_after_s */
	SEND_FAIL,  /* permanent failure for this message */
	SEND_SKIP,  /* this transport cannot reach this person */
};

struct adapter_ops {
	const char *name;
	/*
	 * The checks of an enabled transport's settings that the
	 * configuration table cannot make (forms of addresses and URLs):
	 * appends one line per problem to out and returns their count. The
	 * same function serves --check-config and start-up. May be NULL.
	 */
	int (*check)(const struct config *cfg, struct buf *out);
	/* 0 or -1; the adapter keeps its state in *state */
	int (*start)(struct gw *gw, void **state);
	/* can this adapter reach the person? */
	int (*reaches)(void *state, const struct person *p,
		       const char *address);
	/*
	 * Starts delivering msg; must eventually call gw_delivery_done
	 * exactly once (possibly before returning). msg is borrowed for the
	 * call only: copy what is needed.
	 */
	void (*send)(void *state, const struct outmsg *msg);
	/*
	 * Begins a clean stop: close connections, stop timers. Callbacks of
	 * requests still pending on gw->http or gw->ws arrive afterwards
	 * with the error "cancelled"; they must not start new work.
	 */
	void (*stop)(void *state);
	/* Releases the state once the loop has drained; may be NULL. */
	void (*free)(void *state);
};

/*
 * Called by adapters when a send finishes: external_id (thread / message
 * reference, may be NULL), channel (may be NULL), error text for logs
 * (never a secret).
 */
void gw_delivery_done(struct gw *gw, int64_t delivery_id, enum send_result r,
		      const char *channel, const char *external_id,
		      long retry_after_s, const char *error);

#endif
