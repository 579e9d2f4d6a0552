/*
 * Outbox delivery: routing queued messages to the transports that reach
 * their recipient, handing deliveries to the adapters, and recording each
 * send's outcome with retries, backoff and fallback to the next transport.
 * No loop here: the daemon calls these from its timer, tests call them on
 * a store of their own. Everything runs on the loop thread.
 */
#ifndef ISMS_OUTBOX_H
#define ISMS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "../adapters/adapter.h"
#include "../store/store.h"

#define OUTBOX_BATCH	    200 /* messages routed per pass */
#define OUTBOX_MAX_ATTEMPTS 20	/* a delivery that keeps failing gives up */
#define OUTBOX_MAX_INFLIGHT 64	/* deliveries handed to adapters at once */
#define GW_MAX_ADAPTERS	    4	/* transports the daemon runs at most */

/* One transport as the daemon runs it. */
struct gw_adapter {
	const struct adapter_ops *ops;
	void *state;
	int running; /* 0 once stopped (a revoked token, or the daemon stops) */
	/* the connection as the adapter reported it (gateway/admin.c) */
	enum transport_state conn;
	uint64_t conn_since_ms; /* loop time of the last change */
	int connected_once;	/* a later CONNECTED is a reconnect */
	char conn_why[200];
};

struct outbox_unrecorded;

/*
 * The delivery state. st, ad and stopping are borrowed from the daemon
 * (its store, its running transports in order of preference, at most
 * GW_MAX_ADAPTERS, and its stopping flag); the rest belongs to the outbox.
 * Zero the struct, then outbox_init; the daemon updates nad as transports
 * start.
 */
struct outbox {
	struct store *st;
	struct gw_adapter *ad;
	size_t nad;
	const int *stopping;
	int64_t inflight[OUTBOX_MAX_INFLIGHT]; /* delivery ids being sent */
	/* outcomes a lock kept from the store */
	struct outbox_unrecorded *unrecorded;
	int held; /* a restored copy: delivery waits for a release */
	/* the leader's epoch on PostgreSQL (store_leader_epoch), else 0 */
	int64_t epoch;
};

void outbox_init(struct outbox *ob, struct store *st, struct gw_adapter *ad,
		 size_t nad, const int *stopping);
/* Drops outcomes still unrecorded (they are sent again after a restart). */
void outbox_free(struct outbox *ob);

/* ---- decisions, without a store ---- */

/*
 * Seconds before retry number attempts (1 after the first failure):
 * 5 s doubling up to an hour, plus a jitter of up to a fifth taken from
 * rnd (any non-negative number, random() in the daemon), and never less
 * than the platform's retry_after_s.
 */
long outbox_backoff(int attempts, long retry_after_s, long rnd);

/* What a send's outcome does to its delivery row. */
struct outbox_step {
	const char *status; /* "sent", "pending" (retry) or "failed" */
	int64_t attempts;   /* the row's attempts after this send */
	long wait;	    /* "pending": seconds until the retry */
	int fallback;	    /* "failed": try the recipient's next transport */
	int cancelled;	    /* SEND_CANCELLED: the row is left as it was */
};

/*
 * The step for result r of a delivery that had been tried attempts times
 * before; retry_after_s and rnd as for outbox_backoff. A retry after
 * OUTBOX_MAX_ATTEMPTS sends fails for good; skip and fail fail at once;
 * a send cancelled by the daemon's stop is no attempt and changes nothing.
 */
void outbox_step(enum send_result r, int64_t attempts, long retry_after_s,
		 long rnd, struct outbox_step *out);

/*
 * The transports among ad[0..nad) that reach the recipient (p may be
 * NULL; address may be NULL) and are running (or any, with all set): the
 * first only, or every one when fans_out. Fills names (room for nad),
 * returns how many.
 */
size_t outbox_targets(const struct gw_adapter *ad, size_t nad, int fans_out,
		      int all, const struct person *p, const char *address,
		      const char **names);

/* ---- on the store ---- */

/*
 * Routes up to OUTBOX_BATCH unrouted messages in one transaction: a
 * pending delivery for each transport outbox_targets names (every one for
 * a fan-out kind, else the first), or a failed delivery 'none' when none
 * reaches. Returns the number routed, or -1 (nothing is routed).
 */
int outbox_route(struct outbox *ob);

/*
 * Hands the deliveries that are due to their running adapters, at most
 * OUTBOX_MAX_INFLIGHT at once; a delivery already in flight is skipped.
 */
void outbox_deliver(struct outbox *ob);

/*
 * Records a send's outcome (see host_delivery_done) with outbox_step;
 * a delivery that failed for good falls back to the next transport
 * (outbox_fallback). When another process holds the database's lock the
 * outcome is kept, the delivery stays in flight, and outbox_flush records
 * it later. Returns 0 recorded, 1 kept, -1 not recorded.
 */
int outbox_done(struct outbox *ob, int64_t delivery_id, enum send_result r,
		const char *channel, const char *external_id,
		long retry_after_s, const char *error);

/*
 * Keeps a send's outcome for outbox_flush (the delivery stays in flight
 * until then): the outcomes that arrive in one pass of the loop are
 * recorded with one durable commit instead of one each.
 */
void outbox_defer(struct outbox *ob, int64_t delivery_id, enum send_result r,
		  const char *channel, const char *external_id,
		  long retry_after_s, const char *error);

/* Records the outcomes kept (outbox_done, outbox_defer) in one commit. */
void outbox_flush(struct outbox *ob);

/*
 * A delivery failed for good: queues the message for the recipient's
 * next transport that reaches them and has not been tried (route_next).
 * Running transports count, or all of them while the daemon stops.
 */
void outbox_fallback(struct outbox *ob, int64_t delivery_id);

/* 1 while an operator hold keeps the outbox (logged when it changes). */
int outbox_held(struct outbox *ob);

/* 1 while another process holds the database's write lock. */
int outbox_locked(struct outbox *ob);

#endif
