/*
 * The daemon's one context: the libuv loop, the configuration, the store,
 * the adapters and the outbox delivery state. Passed explicitly; no
 * mutable globals.
 */
#ifndef ISMS_GW_H
#define ISMS_GW_H

#include <uv.h>

#include "../adapters/adapter.h"
#include "../commands/cmd.h"
#include "../config/config.h"
#include "../store/store.h"
#include "outbox.h"

struct gw {
	struct host host; /* loop, store, shared clients: lent to adapters */
	struct config cfg;
	char *config_path;
	struct submit_queue *submit; /* group commit of adapter requests */
	struct gw_adapter adapters[GW_MAX_ADAPTERS];
	size_t nadapters;
	uv_timer_t outbox_timer;
	uv_timer_t sched_timer;
	uv_timer_t stop_timer;	   /* leaves the loop shortly after SIGTERM */
	uv_timer_t watchdog_timer; /* systemd keep-alives (notify.h) */
	uv_signal_t sig_term, sig_int, sig_hup;
	struct outbox ob;      /* delivery state; borrows the adapters above */
	int64_t sched_last;    /* minute of the last scheduler pass */
	struct admin *admin;   /* listener, exit countdown (admin.c) */
	int exit_code;	       /* gw_run's result once the loop ends */
	struct portal *portal; /* the web portal, or NULL when off */
	/* several gateways on one PostgreSQL store: the leader lock */
	struct store_leader *leader; /* NULL: this gateway alone (SQLite) */
	int leading;		     /* runs the leader's work (always alone) */
	uv_timer_t leader_timer;
	uint64_t standby_since_ms;
};

/* Runs the daemon until SIGTERM/SIGINT. Returns the exit code. */
int gw_run(const char *config_path);
/*
 * The enabled transports' own checks of their settings (see adapter.h):
 * one line per problem appended to out; returns how many.
 */
int gw_check_transports(const struct config *cfg, struct buf *out);

/*
 * Runs a request from an adapter (on the loop thread) and wakes the
 * outbox so that messages the command queued go out at once.
 */
int gw_request(struct gw *gw, const struct isms_request *rq,
	       struct isms_reply *rp);

/* Wakes outbox delivery soon (coalesced). */
void gw_kick(struct gw *gw);

/*
 * Stops the daemon as SIGTERM does, logging why; gw_run then returns
 * code.
 */
void gw_exit(struct gw *gw, const char *why, int code);

/* Stops one adapter for good (revoked token and the like). */
void gw_adapter_failed(struct gw *gw, const char *name, const char *why);

/* A send finished; see host_delivery_done in adapter.h. */
void gw_delivery_done(struct gw *gw, int64_t delivery_id, enum send_result r,
		      const char *channel, const char *external_id,
		      long retry_after_s, const char *error);

#endif
