/*
 * The daemon: one libuv loop with the adapters, outbox routing and
 * delivery with retries, the scheduler timer and signals. Everything runs
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
#include "../adapters/slack.h"
#include "gw.h"
#include "../net/http.h"
#include "../net/ws.h"
#include "../base/log.h"
#include "route.h"
#include "../commands/sched.h"
#include "submit.h"
#include "../base/version.h"

#define OUTBOX_POLL_MS	    1000
#define OUTBOX_BATCH	    200
#define OUTBOX_MAX_ATTEMPTS 20
#define SCHED_FIRST_MS	    2000 /* the first pass, soon after start */
#define STOP_GRACE_MS	    250 /* for close frames and acks still being written */

/* The transports, chosen by the configuration's enabled keys. */
static const struct adapter_ops *const gw_transports[] = {
    &slack_ops,
    &matrix_ops,
    &mail_ops,
    NULL,
};

static int
transport_enabled(const struct config *cfg, const char *name)
{
	if (strcmp(name, "slack") == 0)
		return cfg->slack_enabled;
	if (strcmp(name, "matrix") == 0)
		return cfg->matrix_enabled;
	if (strcmp(name, "mail") == 0)
		return cfg->mail_enabled;
	return 0;
}

int
gw_check_transports(const struct config *cfg, struct buf *out)
{
	size_t i;
	int n = 0;

	for (i = 0; gw_transports[i] != NULL; i++)
		if (gw_transports[i]->check != NULL &&
		    transport_enabled(cfg, gw_transports[i]->name))
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
	if (a != NULL && a->running) {
		a->running = 0;
		a->ops->stop(a->state);
	}
}

/*
 * The kind of outbox row id as stored. A name this version does not know
 * (a newer version's row, or one written by hand) is logged and delivered
 * as a notice: the text still reaches the person, on one transport, with
 * no buttons and no reply token, so nothing can be decided through it.
 */
static enum msg_kind
outbox_kind(int64_t id, const char *name)
{
	enum msg_kind k;

	if (msg_kind_parse(name, &k) == 0)
		return k;
	log_warnx("outbox %lld: unknown kind \"%s\", sent as a notice",
		  (long long)id, name != NULL ? name : "");
	return MSG_NOTICE;
}

static void
outbox_route(struct gw *gw)
{
	/* what routing needs of a message, read once with the batch */
	struct route {
		int64_t id, person_id;
		int fans_out;
		char *address;
	} rows[OUTBOX_BATCH];
	struct store *st = gw->host.st;
	struct db_stmt *s;
	size_t n = 0, i, k;

	s = db_prepare(st,
		       "SELECT id, COALESCE(person_id, 0), kind, address "
		       "FROM outbox WHERE routed = 0 ORDER BY id LIMIT ?",
		       "i", (int64_t)OUTBOX_BATCH);
	if (s == NULL)
		return;
	while (db_step(s) == DB_ROW) {
		rows[n].id = db_col_int(s, 0);
		rows[n].person_id = db_col_int(s, 1);
		/* every channel the person has, or only the first */
		rows[n].fans_out =
		    (msg_kind_flags(outbox_kind(rows[n].id, db_col(s, 2))) &
		     MSGK_FANOUT) != 0;
		rows[n].address =
		    db_col_null(s, 3) ? NULL : xstrdup(db_col(s, 3));
		n++;
	}
	db_finish(st, s);
	if (n == 0 || store_begin(st) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct person p, *pp = NULL;
		int routed = 0;

		if (rows[i].person_id > 0 &&
		    store_person_by_id(st, rows[i].person_id, &p) == 1)
			pp = &p;
		for (k = 0; k < gw->nadapters; k++) {
			struct gw_adapter *a = &gw->adapters[k];

			if (!a->running ||
			    !a->ops->reaches(a->state, pp, rows[i].address))
				continue;
			if (db_exec(st,
				    "INSERT OR IGNORE INTO outbox_delivery("
				    "outbox_id, transport) VALUES (?, ?)",
				    "it", rows[i].id, a->ops->name) < 0)
				goto fail;
			routed++;
			if (!rows[i].fans_out)
				break;
		}
		if (routed == 0 &&
		    db_exec(st,
			    "INSERT OR IGNORE INTO outbox_delivery(outbox_id, "
			    "transport, status, last_error) VALUES (?, 'none', "
			    "'failed', 'no enabled transport reaches the "
			    "recipient')",
			    "i", rows[i].id) < 0)
			goto fail;
		if (db_exec(st, "UPDATE outbox SET routed = 1 WHERE id = ?",
			    "i", rows[i].id) < 0)
			goto fail;
	}
	if (store_commit(st) < 0)
		store_rollback(st);
	goto out;
fail:
	store_rollback(st);
out:
	for (i = 0; i < n; i++)
		free(rows[i].address);
}

static int
inflight_add(struct gw *gw, int64_t id)
{
	size_t i, free_slot = GW_MAX_INFLIGHT;

	for (i = 0; i < GW_MAX_INFLIGHT; i++) {
		if (gw->inflight[i] == id)
			return 0;
		if (gw->inflight[i] == 0 && free_slot == GW_MAX_INFLIGHT)
			free_slot = i;
	}
	if (free_slot == GW_MAX_INFLIGHT)
		return 0;
	gw->inflight[free_slot] = id;
	return 1;
}

static void
inflight_del(struct gw *gw, int64_t id)
{
	size_t i;

	for (i = 0; i < GW_MAX_INFLIGHT; i++)
		if (gw->inflight[i] == id)
			gw->inflight[i] = 0;
}

static void
outbox_deliver(struct gw *gw)
{
	struct store *st = gw->host.st;
	struct db_stmt *s;

	s = db_prepare(
	    st,
	    "SELECT d.id, d.transport, d.attempts, o.id, "
	    "COALESCE(o.person_id, 0), o.address, o.kind, o.subject, o.body, "
	    "o.html, o.payload FROM outbox_delivery d JOIN outbox o ON "
	    "o.id = d.outbox_id WHERE d.status = 'pending' AND d.next_at <= ? "
	    "ORDER BY d.next_at, d.id LIMIT ?",
	    "ii", store_now(st), (int64_t)GW_MAX_INFLIGHT);
	if (s == NULL)
		return;
	while (!gw->host.stopping && db_step(s) == DB_ROW) {
		struct gw_adapter *a = adapter_by_name(gw, db_col(s, 1));
		struct person p;
		struct outmsg m = {0};
		int64_t did = db_col_int(s, 0);
		int64_t pid = db_col_int(s, 4);

		if (a == NULL || !a->running)
			continue;
		if (!inflight_add(gw, did))
			continue;
		m.delivery_id = did;
		m.attempts = (int)db_col_int(s, 2);
		m.outbox_id = db_col_int(s, 3);
		if (pid > 0 && store_person_by_id(st, pid, &p) == 1)
			m.to = &p;
		m.address = db_col_text(s, 5);
		m.kind = outbox_kind(m.outbox_id, db_col(s, 6));
		m.subject = db_col(s, 7);
		m.body = db_col(s, 8);
		m.html = db_col_text(s, 9);
		m.payload = db_col(s, 10);
		a->ops->send(a->state, &m);
	}
	db_finish(st, s);
}

/*
 * A delivery failed for good: the message goes to the recipient's next
 * transport that reaches them and has not been tried (Slack, then Matrix,
 * then mail). When none is left the message stays failed, with each
 * transport's reason, for ismsctl outbox failed and the isms_managers'
 * daily digest.
 */
static void
outbox_fallback(struct gw *gw, int64_t delivery_id)
{
	struct store *st = gw->host.st;
	struct route_try tried[GW_MAX_ADAPTERS + 2];
	const char *reach[GW_MAX_ADAPTERS];
	char names[GW_MAX_ADAPTERS + 2][16], status[GW_MAX_ADAPTERS + 2][16];
	struct person p, *pp = NULL;
	char *address = NULL, who[80];
	int64_t outbox_id = 0, person_id = 0;
	size_t ntried = 0, nreach = 0, k;
	struct db_stmt *s;
	int next;

	s = db_prepare(st,
		       "SELECT o.id, COALESCE(o.person_id, 0), o.address FROM "
		       "outbox_delivery d JOIN outbox o ON o.id = d.outbox_id "
		       "WHERE d.id = ?",
		       "i", delivery_id);
	if (s == NULL)
		return;
	if (db_step(s) == DB_ROW) {
		outbox_id = db_col_int(s, 0);
		person_id = db_col_int(s, 1);
		if (!db_col_null(s, 2))
			address = xstrdup(db_col(s, 2));
	}
	db_finish(st, s);
	if (outbox_id == 0)
		goto out;
	s = db_prepare(st,
		       "SELECT transport, status FROM outbox_delivery WHERE "
		       "outbox_id = ? ORDER BY id",
		       "i", outbox_id);
	if (s == NULL)
		goto out;
	while (ntried < ARRAY_LEN(tried) && db_step(s) == DB_ROW) {
		snprintf(names[ntried], sizeof(names[0]), "%s", db_col(s, 0));
		snprintf(status[ntried], sizeof(status[0]), "%s", db_col(s, 1));
		tried[ntried].transport = names[ntried];
		tried[ntried].status = status[ntried];
		ntried++;
	}
	db_finish(st, s);
	if (person_id > 0 && store_person_by_id(st, person_id, &p) == 1)
		pp = &p;
	/* a transport stopped for good (a revoked token) is skipped; while
	 * the daemon stops, all are, and the next one's delivery waits for
	 * the next start */
	for (k = 0; k < gw->nadapters; k++) {
		struct gw_adapter *a = &gw->adapters[k];

		if ((a->running || gw->host.stopping) &&
		    a->ops->reaches(a->state, pp, address))
			reach[nreach++] = a->ops->name;
	}
	snprintf(who, sizeof(who), "%s",
		 pp ? pp->handle : (address ? address : "?"));
	next = route_next(reach, nreach, tried, ntried);
	if (next == ROUTE_DONE)
		goto out;
	if (next == ROUTE_UNDELIVERABLE) {
		log_warnx(
		    "message %lld to %s could not be delivered by any "
		    "transport (ismsctl outbox failed); the isms_managers "
		    "get it in the daily digest",
		    (long long)outbox_id, who);
		goto out;
	}
	if (db_exec(st,
		    "INSERT OR IGNORE INTO outbox_delivery(outbox_id, "
		    "transport) VALUES (?, ?)",
		    "it", outbox_id, reach[next]) < 0) {
		log_error("message %lld: cannot queue it for %s",
			  (long long)outbox_id, reach[next]);
		goto out;
	}
	log_info("message %lld to %s: trying %s next", (long long)outbox_id,
		 who, reach[next]);
out:
	free(address);
}

static long
backoff_seconds(int attempts)
{
	long base = 5L << (attempts < 10 ? attempts : 10);

	if (base > 3600)
		base = 3600;
	/* jitter of up to a fifth, so retries of a burst spread out */
	return base + (long)(random() % (base / 5 + 1));
}

/*
 * A send's outcome that could not be recorded because another process
 * held the database's lock: the delivery stays in flight (so it is not
 * sent again) and the outcome is recorded once the lock is gone.
 */
struct unrecorded {
	struct unrecorded *next;
	int64_t delivery_id;
	enum send_result r;
	char *channel, *external_id, *error;
	long retry_after_s;
};

static void
unrecorded_keep(struct gw *gw, int64_t delivery_id, enum send_result r,
		const char *channel, const char *external_id,
		long retry_after_s, const char *error)
{
	struct unrecorded *u = xcalloc(1, sizeof(*u));

	u->delivery_id = delivery_id;
	u->r = r;
	u->channel = xstrdup(channel);
	u->external_id = xstrdup(external_id);
	u->error = xstrdup(error);
	u->retry_after_s = retry_after_s;
	u->next = gw->unrecorded;
	gw->unrecorded = u;
	inflight_add(gw, delivery_id);
}

static void
unrecorded_free(struct unrecorded *u)
{
	free(u->channel);
	free(u->external_id);
	free(u->error);
	free(u);
}

/* Records what was kept; each goes through gw_delivery_done again. */
static void
unrecorded_flush(struct gw *gw)
{
	struct unrecorded *list = gw->unrecorded, *next;

	gw->unrecorded = NULL;
	for (; list != NULL; list = next) {
		next = list->next;
		gw_delivery_done(gw, list->delivery_id, list->r, list->channel,
				 list->external_id, list->retry_after_s,
				 list->error);
		unrecorded_free(list);
	}
}

void
gw_delivery_done(struct gw *gw, int64_t delivery_id, enum send_result r,
		 const char *channel, const char *external_id,
		 long retry_after_s, const char *error)
{
	struct store *st = gw->host.st;
	int64_t attempts = 0, now = store_now(st);
	int rc = 0;

	inflight_del(gw, delivery_id);
	db_int(st, &attempts,
	       "SELECT attempts FROM outbox_delivery WHERE id = ?", "i",
	       delivery_id);
	attempts++;
	switch (r) {
	case SEND_OK:
		rc = db_exec(st,
			     "UPDATE outbox_delivery SET status = 'sent', "
			     "attempts = ?, sent_at = ?, channel = ?, "
			     "external_id = ?, last_error = NULL WHERE id = ?",
			     "iitti", attempts, now, channel, external_id,
			     delivery_id);
		break;
	case SEND_RETRY:
		if (attempts < OUTBOX_MAX_ATTEMPTS) {
			long wait = backoff_seconds((int)attempts);

			if (retry_after_s > wait)
				wait = retry_after_s;
			rc = db_exec(st,
				     "UPDATE outbox_delivery SET attempts = ?, "
				     "next_at = ?, last_error = ? WHERE id = ?",
				     "iiti", attempts, now + wait, error,
				     delivery_id);
			log_info("delivery %lld: retry in %ld s: %s",
				 (long long)delivery_id, wait,
				 error ? error : "temporary failure");
			break;
		}
		/* FALLTHROUGH */
	case SEND_FAIL:
	case SEND_SKIP:
		rc = db_exec(st,
			     "UPDATE outbox_delivery SET status = 'failed', "
			     "attempts = ?, last_error = ? WHERE id = ?",
			     "iti", attempts, error ? error : "undeliverable",
			     delivery_id);
		log_warnx("delivery %lld failed for good: %s",
			  (long long)delivery_id, error ? error : "?");
		break;
	}
	if (rc < 0 && store_busy(st) && !gw->host.stopping) {
		log_info("delivery %lld: the database is locked; the outcome "
			 "is recorded once it is free",
			 (long long)delivery_id);
		unrecorded_keep(gw, delivery_id, r, channel, external_id,
				retry_after_s, error);
		return;
	}
	if (rc < 0)
		log_error("delivery %lld: cannot record the outcome",
			  (long long)delivery_id);
	else if (r == SEND_FAIL || r == SEND_SKIP ||
		 (r == SEND_RETRY && attempts >= OUTBOX_MAX_ATTEMPTS))
		outbox_fallback(gw, delivery_id);
	if (!gw->host.stopping)
		gw_kick(gw);
}

/*
 * A database restored from a backup holds its outbox until an operator
 * runs "ismsctl outbox release": the original may have sent those
 * messages already, or may still be running beside the copy.
 */
static int
outbox_held(struct gw *gw)
{
	char *hold = store_setting(gw->host.st, "outbox_hold");
	int held = hold != NULL;

	if (held && !gw->outbox_held)
		log_warn("outbox held: %s; nothing is delivered until "
			 "\"ismsctl outbox release\" (after the original "
			 "daemon is stopped)",
			 hold);
	else if (!held && gw->outbox_held)
		log_info("outbox released; delivering");
	gw->outbox_held = held;
	free(hold);
	return held;
}

/*
 * Another process holds the database's write lock: nothing is sent,
 * since its outcome could not be recorded (it would be sent again).
 */
static int
outbox_locked(struct gw *gw)
{
	if (store_begin(gw->host.st) == 0) {
		store_rollback(gw->host.st);
		return 0;
	}
	return store_busy(gw->host.st);
}

static void
outbox_tick(uv_timer_t *t)
{
	struct gw *gw = t->data;

	if (gw->host.stopping)
		return;
	if (outbox_held(gw) || outbox_locked(gw)) {
		uv_timer_start(&gw->outbox_timer, outbox_tick, OUTBOX_POLL_MS,
			       0);
		return;
	}
	unrecorded_flush(gw);
	outbox_route(gw);
	outbox_deliver(gw);
	uv_timer_start(&gw->outbox_timer, outbox_tick, OUTBOX_POLL_MS, 0);
}

void
gw_kick(struct gw *gw)
{
	if (!gw->host.stopping)
		uv_timer_start(&gw->outbox_timer, outbox_tick, 0, 0);
}

int
gw_request(struct gw *gw, const struct isms_request *rq, struct isms_reply *rp)
{
	int rc = cmd_run(gw->host.st, &gw->cfg, rq, rp);

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

static void
gw_stop(struct gw *gw, const char *why)
{
	size_t i;

	if (gw->host.stopping)
		return;
	log_info("stopping (%s)", why);
	gw->host.stopping = 1;
	uv_timer_stop(&gw->outbox_timer);
	uv_timer_stop(&gw->sched_timer);
	uv_signal_stop(&gw->sig_term);
	uv_signal_stop(&gw->sig_int);
	uv_signal_stop(&gw->sig_hup);
	/* what adapters queued is stored and answered before they stop */
	submit_stop(gw);
	for (i = 0; i < gw->nadapters; i++)
		if (gw->adapters[i].running) {
			gw->adapters[i].running = 0;
			gw->adapters[i].ops->stop(gw->adapters[i].state);
		}
}

static void
gw_reload(struct gw *gw)
{
	struct config fresh;
	struct config_errors e = {0};
	enum log_level lv;

	if (config_load(&fresh, gw->config_path, &e) < 0) {
		log_error(
		    "reload refused, keeping the running configuration:\n%s",
		    buf_str(&e.text));
		buf_free(&e.text);
		config_free(&fresh);
		return;
	}
	buf_free(&e.text);
	/* adapters keep their connections; their settings apply on restart */
	free(fresh.store_path);
	fresh.store_path = gw->cfg.store_path;
	gw->cfg.store_path = NULL;
	config_free(&gw->cfg);
	gw->cfg = fresh;
	if (log_level_parse(gw->cfg.log_level, &lv) == 0)
		log_set_level(lv);
	log_info("configuration reloaded from %s", gw->config_path);
	mail_tls_warning(&gw->cfg);
}

static void
on_stop_grace(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct gw *gw = h->data;

	if (signum == SIGHUP) {
		gw_reload(gw);
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

static const struct host_ops gw_host_ops = {
    .request = host_request_gw,
    .submit = host_submit_gw,
    .kick = host_kick_gw,
    .delivery_done = host_delivery_done_gw,
    .failed = host_failed_gw,
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
	enum log_level lv;
	uv_loop_t loop;
	char err[512];
	size_t i;
	int rc = 1, missing;

	if (config_load(&gw->cfg, config_path, &e) < 0) {
		fputs(buf_str(&e.text), stderr);
		buf_free(&e.text);
		config_free(&gw->cfg);
		free(gw);
		return 2;
	}
	if (e.warnings)
		fputs(buf_str(&e.text), stderr);
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
	if (log_level_parse(gw->cfg.log_level, &lv) == 0)
		log_set_level(lv);
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
		struct store_options so = {.audit_key =
					       gw->cfg.store_audit_key};

		gw->host.st =
		    store_open_opts(gw->cfg.store_path, STORE_EXISTING, &so,
				    &missing, err, sizeof(err));
	}
	if (gw->host.st == NULL ||
	    store_lock_exclusive(gw->host.st, err, sizeof(err)) < 0) {
		log_error("%s", err);
		if (gw->host.st == NULL && missing)
			rc = 2;
		goto out;
	}
	uv_loop_init(&loop);
	gw->host.loop = &loop;
	uv_timer_init(gw->host.loop, &gw->outbox_timer);
	uv_timer_init(gw->host.loop, &gw->sched_timer);
	uv_timer_init(gw->host.loop, &gw->stop_timer);
	gw->outbox_timer.data = gw->sched_timer.data = gw;
	uv_signal_init(gw->host.loop, &gw->sig_term);
	uv_signal_init(gw->host.loop, &gw->sig_int);
	uv_signal_init(gw->host.loop, &gw->sig_hup);
	gw->sig_term.data = gw->sig_int.data = gw->sig_hup.data = gw;
	uv_signal_start(&gw->sig_term, on_signal, SIGTERM);
	uv_signal_start(&gw->sig_int, on_signal, SIGINT);
	uv_signal_start(&gw->sig_hup, on_signal, SIGHUP);
	submit_init(gw);
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
	for (i = 0; gw_transports[i] != NULL; i++) {
		const struct adapter_ops *ops = gw_transports[i];
		struct gw_adapter *a;

		if (!transport_enabled(&gw->cfg, ops->name))
			continue;
		a = &gw->adapters[gw->nadapters++];
		a->ops = ops;
		if (ops->start(&gw->host, &a->state) < 0) {
			log_error("%s: cannot start", ops->name);
			gw->nadapters--;
			goto stop;
		}
		a->running = 1;
		log_info("%s: started", ops->name);
	}
	if (gw->nadapters == 0 && !gw->cfg.slack_enabled &&
	    !gw->cfg.matrix_enabled && !gw->cfg.mail_enabled)
		log_warnx(
		    "no transport is enabled: messages stay in the outbox "
		    "(enable slack, matrix or mail in %s)",
		    config_path);
	log_info("ismsd %s running on %s", ISMS_VERSION, gw->cfg.store_path);
	gw_sched_start(gw);
	gw_kick(gw);
	uv_run(gw->host.loop, UV_RUN_DEFAULT);
	rc = 0;
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
out:
	while (gw->unrecorded != NULL) { /* sent again after the restart */
		struct unrecorded *u = gw->unrecorded;

		gw->unrecorded = u->next;
		unrecorded_free(u);
	}
	store_close(gw->host.st);
	config_free(&gw->cfg);
	free(gw->config_path);
	free(gw);
	return rc;
}
