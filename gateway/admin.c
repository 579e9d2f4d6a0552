/*
 * Health, metrics and the exit when every transport is down for good.
 * The registry (base/metrics.c) is filled by the gateway and the
 * adapters as things happen; the store's gauges are read at scrape time.
 * The listener is net/httpd.c on the daemon's loop: GET and HEAD only.
 */
#include "admin.h"

#include <string.h>
#include <time.h>

#include "../base/log.h"
#include "../base/metrics.h"
#include "../base/version.h"
#include "../net/httpd.h"

struct admin {
	struct gw *gw;
	struct httpd *httpd;
	uv_timer_t exit_timer;
	int timer_open;
	int counting_down; /* every transport is down for good */
	uint64_t down_since_ms;
	double start_time; /* unix seconds */
};

static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					0.1,   0.25,   0.5,   1,    2.5,   5};

static void
declare(struct metrics *m)
{
	metrics_declare(m, "isms_build_info",
			"The running version of ismsd (always 1).",
			METRIC_GAUGE, "version", NULL, 0);
	metrics_declare(
	    m, "process_start_time_seconds",
	    "Start time of the process since the epoch, in seconds.",
	    METRIC_GAUGE, NULL, NULL, 0);
	metrics_declare(m, "isms_requests_total",
			"Inbound events taken by a transport, by result "
			"(accepted, refused, duplicate, ignored).",
			METRIC_COUNTER, "transport,result", NULL, 0);
	metrics_declare(m, "isms_commands_total",
			"Commands run for a transport, by result (ok, "
			"refused, unknown_sender, duplicate, not_stored).",
			METRIC_COUNTER, "transport,result", NULL, 0);
	metrics_declare(m, "isms_group_commit_batch_size",
			"Requests stored together by one group commit.",
			METRIC_HISTOGRAM, NULL, batch_bounds,
			ARRAY_LEN(batch_bounds));
	metrics_declare(m, "isms_group_commit_seconds",
			"Time to run and commit one group commit batch.",
			METRIC_HISTOGRAM, NULL, latency_bounds,
			ARRAY_LEN(latency_bounds));
	metrics_declare(m, "isms_outbox_deliveries",
			"Outbox deliveries by transport and status (pending, "
			"failed), read from the database at scrape time.",
			METRIC_GAUGE, "transport,status", NULL, 0);
	metrics_declare(m, "isms_outbox_unrouted",
			"Outbox messages not yet routed to a transport.",
			METRIC_GAUGE, NULL, NULL, 0);
	metrics_declare(m, "isms_transport_state",
			"Connection of each enabled transport: 0 down for "
			"good, 1 connecting or retrying, 2 connected.",
			METRIC_GAUGE, "transport", NULL, 0);
	metrics_declare(m, "isms_transport_reconnects_total",
			"Times a transport connected again after losing its "
			"connection.",
			METRIC_COUNTER, "transport", NULL, 0);
	metrics_declare(m, "isms_scheduler_last_pass_timestamp_seconds",
			"When the scheduler last ran a pass, in unix seconds.",
			METRIC_GAUGE, NULL, NULL, 0);
	metrics_declare(m, "isms_scheduler_messages_queued_total",
			"Messages the scheduler's jobs queued.", METRIC_COUNTER,
			NULL, NULL, 0);
	metrics_declare(m, "isms_breach_clocks_running",
			"Incidents involving personal data without a "
			"notification outcome (their 72-hour clock runs).",
			METRIC_GAUGE, NULL, NULL, 0);
}

/* ---- exit when every transport is down for good ---- */

static void
on_exit_timer(uv_timer_t *t)
{
	struct admin *ad = t->data;

	log_error("every transport has been down for good for %d s "
		  "(admin.exit_when_down): exiting with status %d",
		  ad->gw->cfg.admin_exit_when_down, ADMIN_EXIT_DOWN);
	gw_exit(ad->gw, "every transport is down", ADMIN_EXIT_DOWN);
}

static int
all_down(const struct gw *gw)
{
	size_t i;

	if (gw->nadapters == 0)
		return 0;
	for (i = 0; i < gw->nadapters; i++)
		if (gw->adapters[i].conn != TRANSPORT_DOWN)
			return 0;
	return 1;
}

static void
check_all_down(struct gw *gw)
{
	struct admin *ad = gw->admin;
	int secs = gw->cfg.admin_exit_when_down;

	if (ad == NULL || gw->host.stopping || ad->counting_down ||
	    !all_down(gw))
		return;
	ad->counting_down = 1;
	ad->down_since_ms = uv_now(gw->host.loop);
	if (secs == 0) {
		log_error("every transport is down for good; ismsd keeps "
			  "running (admin.exit_when_down = 0)");
		return;
	}
	log_error("every transport is down for good: exiting in %d s "
		  "(admin.exit_when_down) unless stopped first",
		  secs);
	uv_timer_start(&ad->exit_timer, on_exit_timer, (uint64_t)secs * 1000,
		       0);
}

void
admin_reload(struct gw *gw)
{
	struct admin *ad = gw->admin;
	uint64_t secs = (uint64_t)gw->cfg.admin_exit_when_down * 1000, gone;

	if (ad == NULL || !ad->counting_down || gw->host.stopping)
		return;
	/* a countdown under way follows the new admin.exit_when_down */
	uv_timer_stop(&ad->exit_timer);
	if (secs == 0) {
		log_warnx("every transport is down for good; ismsd keeps "
			  "running (admin.exit_when_down = 0)");
		return;
	}
	gone = uv_now(gw->host.loop) - ad->down_since_ms;
	uv_timer_start(&ad->exit_timer, on_exit_timer,
		       secs > gone ? secs - gone : 0, 0);
}

/* ---- transports ---- */

static struct gw_adapter *
adapter_named(struct gw *gw, const char *name)
{
	size_t i;

	for (i = 0; i < gw->nadapters; i++)
		if (strcmp(gw->adapters[i].ops->name, name) == 0)
			return &gw->adapters[i];
	return NULL;
}

static void
set_state_gauge(struct gw *gw, const struct gw_adapter *a)
{
	metric_set(metrics_find(gw->host.metrics, "isms_transport_state"),
		   (double)a->conn, a->ops->name, NULL, NULL);
}

void
admin_transport_started(struct gw *gw, struct gw_adapter *a)
{
	/* an adapter may have reported CONNECTED from its start hook */
	if (a->conn_since_ms == 0) {
		a->conn = TRANSPORT_CONNECTING;
		a->conn_since_ms = uv_now(gw->host.loop);
		snprintf(a->conn_why, sizeof(a->conn_why), "starting");
	}
	set_state_gauge(gw, a);
	metric_add(
	    metrics_find(gw->host.metrics, "isms_transport_reconnects_total"),
	    0, a->ops->name, NULL, NULL);
}

void
admin_transport_state(struct gw *gw, const char *name, enum transport_state s,
		      const char *why)
{
	struct gw_adapter *a = adapter_named(gw, name);

	if (a == NULL) {
		/* reported from the start hook, before the slot counts */
		a = &gw->adapters[gw->nadapters];
		if (gw->nadapters >= GW_MAX_ADAPTERS || a->ops == NULL ||
		    strcmp(a->ops->name, name) != 0)
			return;
	}
	if (a->conn == TRANSPORT_DOWN && a->conn_since_ms != 0)
		return; /* down for good stays down */
	if (s == TRANSPORT_CONNECTED && a->conn != TRANSPORT_CONNECTED) {
		if (a->connected_once)
			metrics_inc(gw->host.metrics,
				    "isms_transport_reconnects_total", name,
				    NULL, NULL);
		a->connected_once = 1;
	}
	if (s != a->conn || a->conn_since_ms == 0)
		a->conn_since_ms = uv_now(gw->host.loop);
	a->conn = s;
	snprintf(a->conn_why, sizeof(a->conn_why), "%s",
		 why != NULL ? why : "");
	set_state_gauge(gw, a);
	if (s == TRANSPORT_DOWN)
		check_all_down(gw);
}

/* ---- counting ---- */

void
admin_count_command(struct gw *gw, const char *via, const struct isms_reply *rp,
		    int rc, int not_stored)
{
	const char *result = not_stored	     ? "not_stored"
			     : rp->duplicate ? "duplicate"
			     : rp->unknown   ? "unknown_sender"
			     : rc == 0	     ? "ok"
					     : "refused";

	metrics_inc(gw->host.metrics, "isms_commands_total",
		    via != NULL ? via : "", result, NULL);
}

void
admin_observe_commit(struct gw *gw, size_t n, double seconds)
{
	metric_observe(
	    metrics_find(gw->host.metrics, "isms_group_commit_batch_size"),
	    (double)n, NULL, NULL, NULL);
	metric_observe(
	    metrics_find(gw->host.metrics, "isms_group_commit_seconds"),
	    seconds, NULL, NULL, NULL);
}

void
admin_scheduler_pass(struct gw *gw, int64_t now, int n)
{
	metric_set(metrics_find(gw->host.metrics,
				"isms_scheduler_last_pass_timestamp_seconds"),
		   (double)now, NULL, NULL, NULL);
	metric_add(metrics_find(gw->host.metrics,
				"isms_scheduler_messages_queued_total"),
		   n > 0 ? n : 0, NULL, NULL, NULL);
}

/* ---- health ---- */

/*
 * The store takes a write: BEGIN IMMEDIATE and ROLLBACK, waiting no
 * longer than the loop's short busy timeout. Inside a transaction of
 * the loop's own (never between callbacks) it is not asked.
 */
static int
store_writable(struct gw *gw, struct buf *out)
{
	struct store *st = gw->host.st;

	if (store_tx_depth(st) > 0) {
		buf_puts(out, "store: writable (in a transaction)\n");
		return 1;
	}
	if (store_readonly(st)) {
		buf_puts(out, "store: read-only\n");
		return 0;
	}
	if (store_begin(st) < 0) {
		buf_printf(out, "store: not writable: %s\n",
			   store_busy(st) ? "locked by another process"
					  : store_error_reply(st));
		return 0;
	}
	store_rollback(st);
	buf_puts(out, "store: writable\n");
	return 1;
}

int
admin_health(struct gw *gw, struct buf *out)
{
	uint64_t now = uv_now(gw->host.loop);
	int ok = store_writable(gw, out);
	size_t i;

	for (i = 0; i < gw->nadapters; i++) {
		const struct gw_adapter *a = &gw->adapters[i];
		uint64_t secs = (now - a->conn_since_ms) / 1000;

		switch (a->conn) {
		case TRANSPORT_CONNECTED:
			buf_printf(out, "%s: connected\n", a->ops->name);
			break;
		case TRANSPORT_CONNECTING:
			if (secs > ADMIN_RETRY_BUDGET_S)
				ok = 0;
			buf_printf(
			    out, "%s: %s for %llu s%s%s%s\n", a->ops->name,
			    a->connected_once ? "retrying" : "connecting",
			    (unsigned long long)secs,
			    secs > ADMIN_RETRY_BUDGET_S
				? " (over the retry budget)"
				: "",
			    a->conn_why[0] ? ": " : "", a->conn_why);
			break;
		case TRANSPORT_DOWN:
			ok = 0;
			buf_printf(out, "%s: down: %s\n", a->ops->name,
				   a->conn_why[0] ? a->conn_why : "stopped");
			break;
		}
	}
	if (gw->admin != NULL && gw->admin->counting_down) {
		int secs = gw->cfg.admin_exit_when_down;
		uint64_t gone = (now - gw->admin->down_since_ms) / 1000;

		if (secs > 0)
			buf_printf(
			    out,
			    "exit: every transport is down for good; "
			    "exiting in %llu s (admin.exit_when_down)\n",
			    (unsigned long long)((uint64_t)secs > gone
						     ? (uint64_t)secs - gone
						     : 0));
		else
			buf_puts(out, "exit: every transport is down for "
				      "good (admin.exit_when_down = 0)\n");
	}
	return ok;
}

/* ---- metrics ---- */

static void
read_store_gauges(struct gw *gw)
{
	struct metrics *m = gw->host.metrics;
	struct metric *f = metrics_find(m, "isms_outbox_deliveries");
	struct store *st = gw->host.st;
	struct db_stmt *s;
	int64_t n = 0;
	size_t i;

	metric_reset(f);
	/* every running transport shows, with 0 when nothing waits */
	for (i = 0; i < gw->nadapters; i++) {
		metric_set(f, 0, gw->adapters[i].ops->name, "pending", NULL);
		metric_set(f, 0, gw->adapters[i].ops->name, "failed", NULL);
	}
	s = db_prepare(st,
		       "SELECT transport, status, COUNT(*) FROM "
		       "outbox_delivery WHERE status IN ('pending', 'failed') "
		       "GROUP BY transport, status",
		       "");
	while (s != NULL && db_step(s) == DB_ROW)
		metric_set(f, (double)db_col_int(s, 2), db_col(s, 0),
			   db_col(s, 1), NULL);
	if (s != NULL)
		db_finish(st, s);
	if (db_int(st, &n, "SELECT COUNT(*) FROM outbox WHERE routed = 0",
		   "") == 1)
		metric_set(metrics_find(m, "isms_outbox_unrouted"), (double)n,
			   NULL, NULL, NULL);
	n = 0;
	if (db_int(st, &n,
		   "SELECT COUNT(*) FROM incidents WHERE personal_data = 1 "
		   "AND breach_outcome IS NULL AND breach_stopped_at IS NULL",
		   "") == 1)
		metric_set(metrics_find(m, "isms_breach_clocks_running"),
			   (double)n, NULL, NULL, NULL);
}

void
admin_metrics(struct gw *gw, struct buf *out)
{
	read_store_gauges(gw);
	metrics_render(gw->host.metrics, out);
}

/* ---- the listener ---- */

static void
respond(struct httpd_conn *c, int status, const char *text, size_t len)
{
	httpd_respond(c, status, "text/plain; charset=utf-8", text, len);
}

static void
on_admin_http(void *arg, struct httpd_conn *c, const struct httpd_request *r)
{
	struct admin *ad = arg;
	struct buf b = {0};
	size_t plen = strcspn(r->path, "?");
	int ok;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		respond(c, 405, "GET or HEAD only\n", 17);
		return;
	}
	if (plen == 8 && strncmp(r->path, "/healthz", 8) == 0) {
		struct buf lines = {0};

		ok = admin_health(ad->gw, &lines);
		buf_puts(&b, ok ? "ok\n" : "unhealthy\n");
		buf_add(&b, lines.data, lines.len);
		buf_free(&lines);
		respond(c, ok ? 200 : 503, buf_str(&b), b.len);
	} else if (plen == 8 && strncmp(r->path, "/metrics", 8) == 0) {
		admin_metrics(ad->gw, &b);
		httpd_respond(c, 200,
			      "text/plain; version=0.0.4; charset=utf-8",
			      buf_str(&b), b.len);
	} else {
		respond(c, 404, "not found\n", 10);
	}
	buf_free(&b);
}

int
admin_start(struct gw *gw)
{
	struct admin *ad = xcalloc(1, sizeof(*ad));
	const char *listen = gw->cfg.admin_listen;
	struct timespec ts;
	char host[256];
	int port;

	gw->admin = ad;
	ad->gw = gw;
	if (gw->host.metrics == NULL)
		gw->host.metrics = metrics_new();
	declare(gw->host.metrics);
	clock_gettime(CLOCK_REALTIME, &ts);
	ad->start_time = (double)ts.tv_sec;
	metric_set(metrics_find(gw->host.metrics, "process_start_time_seconds"),
		   ad->start_time, NULL, NULL, NULL);
	metric_set(metrics_find(gw->host.metrics, "isms_build_info"), 1,
		   ISMS_VERSION, NULL, NULL);
	metric_add(metrics_find(gw->host.metrics,
				"isms_scheduler_messages_queued_total"),
		   0, NULL, NULL, NULL);
	uv_timer_init(gw->host.loop, &ad->exit_timer);
	ad->exit_timer.data = ad;
	ad->timer_open = 1;
	if (listen == NULL || *listen == '\0')
		return 0;
	if (config_parse_listen(listen, host, sizeof(host), &port) < 0) {
		log_error("admin: admin.listen must be host:port");
		return -1;
	}
	ad->httpd = httpd_new(gw->host.loop, host, port, on_admin_http, ad);
	if (ad->httpd == NULL) {
		log_error("admin: cannot listen on %s", listen);
		return -1;
	}
	httpd_set_idle_timeout(ad->httpd, 10000);
	log_info("admin: listening on http://%s%s%s:%d (/healthz, /metrics)",
		 strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", httpd_port(ad->httpd));
	return 0;
}

void
admin_stop(struct gw *gw)
{
	struct admin *ad = gw->admin;

	if (ad == NULL)
		return;
	httpd_free(ad->httpd);
	ad->httpd = NULL;
	if (ad->timer_open) {
		uv_timer_stop(&ad->exit_timer);
		uv_close((uv_handle_t *)&ad->exit_timer, NULL);
		ad->timer_open = 0;
	}
}

void
admin_free(struct gw *gw)
{
	free(gw->admin);
	gw->admin = NULL;
	metrics_free(gw->host.metrics);
	gw->host.metrics = NULL;
}
