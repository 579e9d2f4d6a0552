/*
 * The daemon's operations side: the metric registry, each transport's
 * connection as it reports it, the admin listener ([admin] listen:
 * GET /healthz and GET /metrics) and the exit when every transport is
 * down for good ([admin] exit_when_down). Loop thread only.
 */
#ifndef ISMS_ADMIN_H
#define ISMS_ADMIN_H

#include "gw.h"

/* A transport retrying longer than this counts as unhealthy. */
#define ADMIN_RETRY_BUDGET_S 300
/* The exit code when every transport stayed down for good. */
#define ADMIN_EXIT_DOWN 3

/*
 * Declares the metrics (always) and starts the listener when [admin]
 * listen is set. 0, or -1 (logged) when the listener cannot start.
 */
int admin_start(struct gw *gw);
/* Closes the listener and the countdown; the registry stays. */
void admin_stop(struct gw *gw);
/* Releases the registry, after the loop closed. */
void admin_free(struct gw *gw);

/* After a reload: a countdown under way follows admin.exit_when_down. */
void admin_reload(struct gw *gw);

/* A transport started (CONNECTING until it reports otherwise). */
void admin_transport_started(struct gw *gw, struct gw_adapter *a);
/*
 * A transport's connection changed (host_state, or DOWN from
 * gw_adapter_failed); may start the exit countdown.
 */
void admin_transport_state(struct gw *gw, const char *name,
			   enum transport_state s, const char *why);

/*
 * Counts a command run for a transport (isms_commands_total): rc as
 * cmd_run returned it, not_stored when its batch could not be stored.
 */
void admin_count_command(struct gw *gw, const char *via,
			 const struct isms_reply *rp, int rc, int not_stored);

/* A group commit of n requests took seconds (histograms). */
void admin_observe_commit(struct gw *gw, size_t n, double seconds);

/* A scheduler pass at unix time now queued n messages. */
void admin_scheduler_pass(struct gw *gw, int64_t now, int n);

/*
 * The health report: 1 healthy, 0 not; one line per check appended to
 * out ("store: writable", "slack: connected", ...).
 */
int admin_health(struct gw *gw, struct buf *out);

/* The exposition of every metric, with the store's gauges read now. */
void admin_metrics(struct gw *gw, struct buf *out);

#endif
