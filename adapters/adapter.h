/*
 * The transport interface. Each adapter (console, slack, matrix, mail) is
 * one table of function pointers chosen by configuration; it turns wire
 * events into struct isms_request and delivers outbox rows. Adapters sit
 * below the gateway: what they need of it (the loop, the store, the shared
 * HTTP and WebSocket clients, running a request, reporting a send) comes
 * through struct host, which the gateway fills in.
 */
#ifndef ISMS_ADAPTER_H
#define ISMS_ADAPTER_H

#include <stdint.h>
#include <uv.h>

#include "../base/metrics.h"
#include "../commands/cmd.h"
#include "../commands/msgkind.h"
#include "../config/config.h"
#include "../net/httpd.h"
#include "../store/store.h"

struct host;

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

/* Result of a send, reported with host_delivery_done(). */
enum send_result {
	SEND_OK,    /* delivered; external_id says where */
	SEND_RETRY, /* temporary failure; retry after retry_after_s */
	SEND_FAIL,  /* permanent failure for this message */
	SEND_SKIP,  /* this transport cannot reach this person */
	/*
	 * cut off by the daemon stopping before its outcome was known: the
	 * delivery stays as it was (no attempt counted, no failure) and
	 * goes out again after the next start
	 */
	SEND_CANCELLED,
};

/* What a transport reports of its connection (host_state). */
enum transport_state {
	TRANSPORT_DOWN,	      /* stopped for good: a revoked token and such */
	TRANSPORT_CONNECTING, /* starting, or retrying after a failure */
	TRANSPORT_CONNECTED,  /* working */
};

struct adapter_ops {
	const char *name;
	/* is the transport switched on in cfg (its "enabled" key)? */
	int (*enabled)(const struct config *cfg);
	/*
	 * The checks of an enabled transport's settings that the
	 * configuration table cannot make (forms of addresses and URLs):
	 * appends one line per problem to out and returns their count. The
	 * same function serves --check-config and start-up. May be NULL.
	 */
	int (*check)(const struct config *cfg, struct buf *out);
	/*
	 * Does the adapter run on a standby gateway (several gateways on one
	 * PostgreSQL store, another leads)? Only one that answers what it
	 * is sent and holds no connection of its own may: an HTTP endpoint.
	 * NULL: it runs on the leader only.
	 */
	int (*on_standby)(const struct config *cfg);
	/* 0 or -1; the adapter keeps its state in *state */
	int (*start)(struct host *host, void **state);
	/* can this adapter reach the person? */
	int (*reaches)(void *state, const struct person *p,
		       const char *address);
	/*
	 * Starts delivering msg; must eventually call host_delivery_done
	 * exactly once (possibly before returning). msg is borrowed for the
	 * call only: copy what is needed.
	 */
	void (*send)(void *state, const struct outmsg *msg);
	/*
	 * Begins a clean stop: close connections, stop timers. Callbacks of
	 * requests still pending on host->http or host->ws arrive afterwards
	 * with the error "cancelled"; they must not start new work.
	 */
	void (*stop)(void *state);
	/* Releases the state once the loop has drained; may be NULL. */
	void (*free)(void *state);
};

/*
 * Called on the loop thread once a submitted request's batch committed
 * (rc 0) or failed (rc -1: nothing of it is stored; rp says so). rp is
 * borrowed for the call.
 */
typedef void (*host_done_cb)(void *arg, const struct isms_reply *rp, int rc);

struct host_ops {
	/* runs a request now, in its own transaction; see cmd_run */
	int (*request)(struct host *h, const struct isms_request *rq,
		       struct isms_reply *rp);
	/* queues a request for the next group commit: 0, or -1 stopping */
	int (*submit)(struct host *h, const struct isms_request *rq,
		      host_done_cb cb, void *arg);
	/* wakes outbox delivery soon (coalesced) */
	void (*kick)(struct host *h);
	/* a send finished (see host_delivery_done) */
	void (*delivery_done)(struct host *h, int64_t delivery_id,
			      enum send_result r, const char *channel,
			      const char *external_id, long retry_after_s,
			      const char *error);
	/* the adapter stops for good (revoked token and the like) */
	void (*failed)(struct host *h, const char *name, const char *why);
	/*
	 * the adapter's connection changed (see host_state); DOWN is
	 * reported through failed
	 */
	void (*state)(struct host *h, const char *name, enum transport_state s,
		      const char *why);
};

/* What the gateway lends every adapter; fields are read-only to them. */
struct host {
	uv_loop_t *loop;
	const struct config *cfg;
	struct store *st;
	struct http *http;	 /* shared HTTP client (libcurl multi) */
	struct ws_ctx *ws;	 /* shared WebSocket client, or NULL */
	int stopping;		 /* set once the daemon began to stop */
	struct metrics *metrics; /* the daemon's counters (metrics.h) */
	const struct host_ops *ops;
};

static inline int
host_request(struct host *h, const struct isms_request *rq,
	     struct isms_reply *rp)
{
	return h->ops->request(h, rq, rp);
}

static inline int
host_submit(struct host *h, const struct isms_request *rq, host_done_cb cb,
	    void *arg)
{
	return h->ops->submit(h, rq, cb, arg);
}

static inline void
host_kick(struct host *h)
{
	h->ops->kick(h);
}

/*
 * Reports a finished send: external_id (thread / message reference, may
 * be NULL), channel (may be NULL), error text for logs (never a secret).
 */
static inline void
host_delivery_done(struct host *h, int64_t delivery_id, enum send_result r,
		   const char *channel, const char *external_id,
		   long retry_after_s, const char *error)
{
	h->ops->delivery_done(h, delivery_id, r, channel, external_id,
			      retry_after_s, error);
}

static inline void
host_failed(struct host *h, const char *name, const char *why)
{
	h->ops->failed(h, name, why);
}

/*
 * Reports the transport's connection: CONNECTED once it works (a Socket
 * Mode hello, a /sync answered, a mailbox polled), CONNECTING with why
 * while it retries after a failure. Repeating a state is harmless; a
 * CONNECTED after CONNECTING counts as a reconnect.
 */
static inline void
host_state(struct host *h, const char *name, enum transport_state s,
	   const char *why)
{
	if (h->ops->state != NULL)
		h->ops->state(h, name, s, why);
}

/*
 * Counts one inbound event of the transport (metric
 * isms_requests_total): result is "accepted", "refused" (failed a
 * signature or sender check), "duplicate" or "ignored".
 */
static inline void
host_count_request(struct host *h, const char *transport, const char *result)
{
	metrics_inc(h->metrics, "isms_requests_total", transport, result, NULL);
}

/*
 * Gives an adapter's HTTP server the [http] section's limits (connections,
 * per address, idle and header timeouts) and body_budget: the request
 * body bytes it may hold at once before answering them.
 */
void adapter_http_limits(struct httpd *h, const struct config *cfg,
			 size_t body_budget);

#endif
