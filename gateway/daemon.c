/*
 * The daemon: one libuv loop with the adapters, the outbox timer (delivery
 * itself is in outbox.c), the scheduler timer and signals. Everything runs
 * on the loop thread.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../adapters/mail.h"
#include "../adapters/matrix.h"
#include "../adapters/portal.h"
#include "../adapters/slack.h"
#include "admin.h"
#include "gw.h"
#include "../net/http.h"
#include "../net/ws.h"
#include "../base/log.h"
#include "notify.h"
#include "outbox.h"
#include "../commands/sched.h"
#include "submit.h"
#include "../base/version.h"

#define OUTBOX_POLL_MS 1000
/* how often a gateway on PostgreSQL checks the leader lock */
#define LEADER_POLL_MS 1000
#define SCHED_FIRST_MS 2000 /* the first pass, soon after start */
#define STOP_GRACE_MS  250  /* for close frames and acks still being written */

/*
 * The transports in order of preference (the outbox's first choice and
 * fallback order); each row's enabled hook reads its configuration key.
 * Adding a transport is a file and a row here.
 */
static const struct adapter_ops *const gw_transports[] = {
    &slack_ops,
    &matrix_ops,
    &mail_ops,
};

_Static_assert(ARRAY_LEN(gw_transports) <= GW_MAX_ADAPTERS,
	       "more transport rows than GW_MAX_ADAPTERS slots");

/* "slack, matrix or mail": the transport rows' names, for messages. */
static const char *
transport_names(char *out, size_t size)
{
	size_t i, n = ARRAY_LEN(gw_transports), len = 0;

	out[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s",
					i == 0	     ? ""
					: i == n - 1 ? " or "
						     : ", ",
					gw_transports[i]->name);
	return out;
}

int
gw_check_transports(const struct config *cfg, struct buf *out)
{
	size_t i;
	int n = 0;

	for (i = 0; i < ARRAY_LEN(gw_transports); i++)
		if (gw_transports[i]->check != NULL &&
		    gw_transports[i]->enabled(cfg))
			n += gw_transports[i]->check(cfg, out);
	return n;
}

static struct gw_adapter *
adapter_by_name(struct gw *gw, const char *name)
{
	size_t i;

	for (i = 0; i < gw->nadapters; i++)
		if (strcmp(gw->adapters[i].ops->name, name) == 0)
			return &gw->adapters[i];
	return NULL;
}

void
gw_adapter_failed(struct gw *gw, const char *name, const char *why)
{
	struct gw_adapter *a = adapter_by_name(gw, name);

	log_error("%s: stopped: %s; the other transports keep running", name,
		  why);
	admin_transport_state(gw, name, TRANSPORT_DOWN, why);
	if (a != NULL && a->running) {
		a->running = 0;
		a->ops->stop(a->state);
	}
}

void
gw_delivery_done(struct gw *gw, int64_t delivery_id, enum send_result r,
		 const char *channel, const char *external_id,
		 long retry_after_s, const char *error)
{
	/*
	 * Running: recorded on the next pass with the other outcomes of
	 * this one (one commit, not one a message). Stopping: now, before
	 * the store closes.
	 */
	if (!gw->host.stopping) {
		outbox_defer(&gw->ob, delivery_id, r, channel, external_id,
			     retry_after_s, error);
		gw_kick(gw);
		return;
	}
	outbox_done(&gw->ob, delivery_id, r, channel, external_id,
		    retry_after_s, error);
}

static void
outbox_tick(uv_timer_t *t)
{
	struct gw *gw = t->data;

	if (gw->host.stopping || !gw->leading)
		return; /* a standby's rows go out from the leader */
	if (outbox_held(&gw->ob) || outbox_locked(&gw->ob)) {
		uv_timer_start(&gw->outbox_timer, outbox_tick, OUTBOX_POLL_MS,
			       0);
		return;
	}
	outbox_flush(&gw->ob);
	outbox_route(&gw->ob);
	outbox_deliver(&gw->ob);
	uv_timer_start(&gw->outbox_timer, outbox_tick, OUTBOX_POLL_MS, 0);
}

void
gw_kick(struct gw *gw)
{
	if (!gw->host.stopping && gw->leading)
		uv_timer_start(&gw->outbox_timer, outbox_tick, 0, 0);
}

int
gw_request(struct gw *gw, const struct isms_request *rq, struct isms_reply *rp)
{
	int rc = cmd_run(gw->host.st, &gw->cfg, rq, rp);

	admin_count_command(gw, rq->via, rp, rc, 0);
	if (rp->notices.len)
		gw_kick(gw);
	return rc;
}

/*
 * One scheduler pass per minute (loop thread), as of the store's clock; the
 * timer is re-armed for the start of the next minute.
 */
static void
sched_tick(uv_timer_t *t)
{
	struct gw *gw = t->data;
	int64_t now, minute;
	int n;

	if (gw->host.stopping)
		return;
	now = store_now(gw->host.st);
	minute = now / 60;
	if (minute != gw->sched_last) {
		gw->sched_last = minute;
		n = sched_run(gw->host.st, &gw->cfg, now);
		admin_scheduler_pass(gw, now, n);
		if (n > 0) {
			log_info("scheduler: %d message%s queued", n,
				 n == 1 ? "" : "s");
			gw_kick(gw);
		}
	}
	uv_timer_start(&gw->sched_timer, sched_tick,
		       (uint64_t)(60 - now % 60) * 1000, 0);
}

static void
gw_sched_start(struct gw *gw)
{
	gw->sched_last = -1;
	uv_timer_start(&gw->sched_timer, sched_tick, SCHED_FIRST_MS, 0);
}

/*
 * Starts the enabled transports this gateway runs now: all of them when
 * it leads, else those that also run on a standby; one already running
 * is left as it is. 0, or -1 when one cannot start.
 */
static int
adapters_start(struct gw *gw)
{
	size_t i, k;

	for (i = 0; i < ARRAY_LEN(gw_transports); i++) {
		const struct adapter_ops *ops = gw_transports[i];
		struct gw_adapter *a = &gw->adapters[gw->nadapters];
		int have = 0;

		if (!ops->enabled(&gw->cfg))
			continue;
		for (k = 0; k < gw->nadapters; k++)
			have |= gw->adapters[k].ops == ops;
		if (have || (!gw->leading && (ops->on_standby == NULL ||
					      !ops->on_standby(&gw->cfg))))
			continue;
		a->ops = ops;
		if (ops->start(&gw->host, &a->state) < 0) {
			log_error("%s: cannot start", ops->name);
			return -1;
		}
		a->running = 1;
		gw->ob.nad = ++gw->nadapters;
		admin_transport_started(gw, a);
		log_info("%s: started", ops->name);
	}
	return 0;
}

static void gw_sched_start(struct gw *gw);

/* This gateway leads from now on: the rest of the transports, the
 * scheduler and delivery start. */
static void
lead(struct gw *gw)
{
	gw->ob.epoch = store_leader_epoch(gw->host.st);
	if (gw->ob.epoch < 0) {
		gw_exit(gw, "cannot record the takeover", 1);
		return;
	}
	gw->leading = 1;
	if (gw->standby_since_ms != 0)
		log_info("leader: this gateway leads (took over, epoch %lld, "
			 "after %llu ms on standby)",
			 (long long)gw->ob.epoch,
			 (unsigned long long)(uv_now(gw->host.loop) -
					      gw->standby_since_ms));
	else
		log_info("leader: this gateway leads");
	if (adapters_start(gw) < 0) {
		gw_exit(gw, "a transport did not start", 1);
		return;
	}
	gw_sched_start(gw);
	gw_kick(gw);
}

static void
leader_tick(uv_timer_t *t)
{
	struct gw *gw = t->data;
	int rc;

	if (gw->host.stopping)
		return;
	if (!store_connected(gw->host.st)) {
		log_error("store: the connection to the database is lost; "
			  "stopping to start again");
		gw_exit(gw, "lost the database connection", 1);
		return;
	}
	rc = store_leader_poll(gw->leader);
	if (rc < 0) {
		/* another gateway may lead now: never two at once */
		log_error("leader: the lock session ended; stopping so that "
			  "another gateway leads alone");
		gw_exit(gw, "lost the leader lock", 1);
		return;
	}
	if (rc == 1 && !gw->leading)
		lead(gw);
	uv_timer_start(&gw->leader_timer, leader_tick, LEADER_POLL_MS, 0);
}

static void
gw_stop(struct gw *gw, const char *why)
{
	size_t i;

	if (gw->host.stopping)
		return;
	log_info("stopping (%s)", why);
	gw->host.stopping = 1;
	notify_stopping(&gw->watchdog_timer);
	uv_timer_stop(&gw->outbox_timer);
	uv_timer_stop(&gw->sched_timer);
	uv_timer_stop(&gw->leader_timer);
	uv_signal_stop(&gw->sig_term);
	uv_signal_stop(&gw->sig_int);
	uv_signal_stop(&gw->sig_hup);
	admin_stop(gw);
	/* what adapters queued is stored and answered before they stop */
	submit_stop(gw);
	portal_free(gw->portal);
	gw->portal = NULL;
	for (i = 0; i < gw->nadapters; i++)
		if (gw->adapters[i].running) {
			gw->adapters[i].running = 0;
			gw->adapters[i].ops->stop(gw->adapters[i].state);
		}
}

/* Each line of the configuration's warnings as a log line of its own. */
static void
log_warn_lines(const char *text)
{
	char *all = xstrdup(text), *line, *save = NULL;

	for (line = strtok_r(all, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
	free(all);
}

/* [log] level and format as configured. */
static void
apply_log_settings(const struct config *cfg)
{
	enum log_level lv;
	enum log_format lf;

	if (log_level_parse(cfg->log_level, &lv) == 0)
		log_set_level(lv);
	if (log_format_parse(cfg->log_format, &lf) == 0)
		log_set_format(lf);
}

/*
 * SIGHUP: the file is read again. Keys marked live in the configuration
 * table take effect at once (their readers read the running
 * configuration each time); the others keep their running values, and
 * those whose value changed are named in one line.
 */
static void
gw_reload(struct gw *gw)
{
	struct config fresh;
	struct config_errors e = {0};
	struct buf restart = {0};
	int n;

	if (config_load(&fresh, gw->config_path, &e) < 0) {
		/* one event, one line: the problems joined with "; " */
		struct buf joined = {0};
		const char *p;

		for (p = buf_str(&e.text); *p; p++)
			if (*p != '\n')
				buf_putc(&joined, *p);
			else if (p[1] != '\0')
				buf_puts(&joined, "; ");
		log_error("reload refused, keeping the running configuration: "
			  "%s",
			  buf_str(&joined));
		buf_free(&joined);
		buf_free(&e.text);
		config_free(&fresh);
		return;
	}
	if (e.warnings)
		log_warn_lines(buf_str(&e.text));
	buf_free(&e.text);
	n = config_keep_restart(&fresh, &gw->cfg, &restart);
	config_free(&gw->cfg);
	gw->cfg = fresh;
	apply_log_settings(&gw->cfg);
	if (n > 0)
		log_warnx("reload: restart needed for %s; the running values "
			  "stay until then",
			  buf_str(&restart));
	log_info("configuration reloaded from %s: %s", gw->config_path,
		 n > 0 ? "every other setting applied"
		       : "every setting applied");
	buf_free(&restart);
	admin_reload(gw);
	mail_tls_warning(&gw->cfg);
}

static void
on_stop_grace(uv_timer_t *t)
{
	uv_stop(t->loop);
}

void
gw_exit(struct gw *gw, const char *why, int code)
{
	if (gw->host.stopping)
		return;
	gw->exit_code = code;
	gw_stop(gw, why);
	uv_timer_start(&gw->stop_timer, on_stop_grace, STOP_GRACE_MS, 0);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct gw *gw = h->data;

	if (signum == SIGHUP) {
		notify_reloading();
		gw_reload(gw);
		notify_ready("running");
		return;
	}
	gw_stop(gw, signum == SIGTERM ? "SIGTERM" : "SIGINT");
	/*
	 * libwebsockets keeps handles on the loop until its context is
	 * freed, and a request in flight (a /sync long-poll) keeps uv_run
	 * going until it ends: leave the loop after a moment for close
	 * frames and acks, then gw_run cancels and frees the clients.
	 */
	uv_timer_start(&gw->stop_timer, on_stop_grace, STOP_GRACE_MS, 0);
}

/* The gateway as adapters see it (adapter.h): each hook finds its gw. */
static struct gw *
gw_of(struct host *h)
{
	return (struct gw *)(void *)((char *)h - offsetof(struct gw, host));
}

static int
host_request_gw(struct host *h, const struct isms_request *rq,
		struct isms_reply *rp)
{
	return gw_request(gw_of(h), rq, rp);
}

static int
host_submit_gw(struct host *h, const struct isms_request *rq, host_done_cb cb,
	       void *arg)
{
	return gw_submit(gw_of(h), rq, cb, arg);
}

static void
host_kick_gw(struct host *h)
{
	gw_kick(gw_of(h));
}

static void
host_delivery_done_gw(struct host *h, int64_t delivery_id, enum send_result r,
		      const char *channel, const char *external_id,
		      long retry_after_s, const char *error)
{
	gw_delivery_done(gw_of(h), delivery_id, r, channel, external_id,
			 retry_after_s, error);
}

static void
host_failed_gw(struct host *h, const char *name, const char *why)
{
	gw_adapter_failed(gw_of(h), name, why);
}

static void
host_state_gw(struct host *h, const char *name, enum transport_state s,
	      const char *why)
{
	admin_transport_state(gw_of(h), name, s, why);
}

static const struct host_ops gw_host_ops = {
    .request = host_request_gw,
    .submit = host_submit_gw,
    .kick = host_kick_gw,
    .delivery_done = host_delivery_done_gw,
    .failed = host_failed_gw,
    .state = host_state_gw,
};

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
gw_run(const char *config_path)
{
	struct gw *gw = xcalloc(1, sizeof(*gw));
	struct config_errors e = {0};
	uv_loop_t loop;
	char err[512], names[64];
	size_t i;
	int rc = 1, missing;

	if (config_load(&gw->cfg, config_path, &e) < 0) {
		fputs(buf_str(&e.text), stderr);
		buf_free(&e.text);
		config_free(&gw->cfg);
		free(gw);
		return 2;
	}
	apply_log_settings(&gw->cfg);
	if (e.warnings)
		log_warn_lines(buf_str(&e.text));
	buf_free(&e.text);
	if (gw_check_transports(&gw->cfg, &e.text) > 0) {
		/* the same words as --check-config, one line each */
		char *line, *save = NULL, *all = buf_steal(&e.text);

		for (line = strtok_r(all, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			fprintf(stderr, "%s: %s\n", config_path, line);
		free(all);
		config_free(&gw->cfg);
		free(gw);
		return 2;
	}
	gw->config_path = xstrdup(config_path);
	gw->host.cfg = &gw->cfg;
	gw->host.ops = &gw_host_ops;
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Each request allocates and frees a few hundred KiB (statements,
	 * replies); glibc's default trims the heap top after every burst,
	 * so the loop spent a third of its time in brk and page faults.
	 * Keep up to 64 MiB of freed memory for reuse instead.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	srandom((unsigned)(uv_hrtime() ^ (uint64_t)getpid()));
	if (sched_check(err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	{
		struct store_options so = {
		    .audit_key = gw->cfg.store_audit_key,
		    .group = gw->cfg.store_group,
		};

		gw->host.st =
		    store_open_opts(config_store(&gw->cfg), STORE_EXISTING, &so,
				    &missing, err, sizeof(err));
	}
	if (gw->host.st == NULL ||
	    store_lock_exclusive(gw->host.st, err, sizeof(err)) < 0) {
		log_error("%s", err);
		if (gw->host.st == NULL && missing)
			rc = 2;
		goto out;
	}
	/* alone on an SQLite file; on PostgreSQL the holder of the lock */
	gw->leading = 1;
	if (store_is_url(config_store(&gw->cfg))) {
		int rc0;

		gw->leader = store_leader_open(gw->host.st, err, sizeof(err));
		if (gw->leader == NULL) {
			log_error("leader lock: %s", err);
			goto out;
		}
		rc0 = store_leader_poll(gw->leader);
		gw->leading = rc0 == 1;
		if (rc0 < 0) {
			log_error("leader lock: the lock session failed");
			goto out;
		}
	}
	outbox_init(&gw->ob, gw->host.st, gw->adapters, 0, &gw->host.stopping);
	if (gw->leader != NULL && gw->leading) {
		gw->ob.epoch = store_leader_epoch(gw->host.st);
		if (gw->ob.epoch < 0) {
			log_error("leader: cannot record the takeover: %s",
				  store_error_reply(gw->host.st));
			goto out;
		}
	}
	uv_loop_init(&loop);
	gw->host.loop = &loop;
	uv_timer_init(gw->host.loop, &gw->outbox_timer);
	uv_timer_init(gw->host.loop, &gw->sched_timer);
	uv_timer_init(gw->host.loop, &gw->stop_timer);
	uv_timer_init(gw->host.loop, &gw->leader_timer);
	gw->leader_timer.data = gw;
	if (!gw->leading) {
		gw->standby_since_ms = uv_now(gw->host.loop);
		log_info("standby: another gateway leads; this one serves "
			 "HTTP requests until it takes over");
	} else if (gw->leader != NULL) {
		log_info("leader: this gateway leads");
	}
	gw->outbox_timer.data = gw->sched_timer.data = gw;
	uv_signal_init(gw->host.loop, &gw->sig_term);
	uv_signal_init(gw->host.loop, &gw->sig_int);
	uv_signal_init(gw->host.loop, &gw->sig_hup);
	gw->sig_term.data = gw->sig_int.data = gw->sig_hup.data = gw;
	uv_signal_start(&gw->sig_term, on_signal, SIGTERM);
	uv_signal_start(&gw->sig_int, on_signal, SIGINT);
	uv_signal_start(&gw->sig_hup, on_signal, SIGHUP);
	submit_init(gw);
	if (admin_start(gw) < 0)
		goto stop;
	/* the shared clients every network transport uses */
	gw->host.http = http_new(gw->host.loop);
	if (gw->host.http == NULL) {
		log_error("cannot start the HTTP client");
		goto stop;
	}
	if (gw->cfg.slack_enabled &&
	    strcmp(gw->cfg.slack_mode, "socket") == 0) {
		gw->host.ws = ws_ctx_new(gw->host.loop);
		if (gw->host.ws == NULL) {
			log_error("cannot start the WebSocket client");
			goto stop;
		}
	}
	if (adapters_start(gw) < 0)
		goto stop;
	if (portal_start(&gw->host, &gw->portal) < 0)
		goto stop;
	if (gw->nadapters == 0 && gw->leading)
		log_warnx("no transport is enabled: messages stay in the "
			  "outbox (enable %s in %s)",
			  transport_names(names, sizeof(names)), config_path);
	log_info("ismsd %s running on %s", ISMS_VERSION,
		 store_path(gw->host.st));
	notify_watchdog_start(gw->host.loop, &gw->watchdog_timer);
	notify_ready(gw->leading ? "running" : "running (standby)");
	if (gw->leader != NULL)
		uv_timer_start(&gw->leader_timer, leader_tick, LEADER_POLL_MS,
			       0);
	if (gw->leading) {
		gw_sched_start(gw);
		gw_kick(gw);
	}
	uv_run(gw->host.loop, UV_RUN_DEFAULT);
	rc = gw->exit_code;
stop:
	gw_stop(gw, rc == 0 ? "done" : "start-up failure");
	/* pending requests call back with "cancelled", then close */
	http_free(gw->host.http);
	gw->host.http = NULL;
	ws_ctx_free(gw->host.ws);
	gw->host.ws = NULL;
	uv_run(gw->host.loop, UV_RUN_DEFAULT);
	uv_walk(gw->host.loop, close_walk, NULL);
	uv_run(gw->host.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(gw->host.loop) != 0)
		log_warnx("event loop closed with handles still open");
	for (i = 0; i < gw->nadapters; i++)
		if (gw->adapters[i].ops->free != NULL)
			gw->adapters[i].ops->free(gw->adapters[i].state);
	log_info("stopped");
	admin_free(gw);
out:
	outbox_free(&gw->ob); /* what was not recorded is sent again */
	store_leader_close(gw->leader);
	store_close(gw->host.st);
	config_free(&gw->cfg);
	free(gw->config_path);
	free(gw);
	return rc;
}
