/*
 * Outbox delivery: routing, handing deliveries to adapters, recording
 * outcomes with backoff and fallback. The decisions are plain functions;
 * the rest reads and writes the store. Loop thread only.
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"
#include "route.h"

/*
 * A send's outcome that could not be recorded because another process
 * held the database's lock: the delivery stays in flight (so it is not
 * sent again) and the outcome is recorded once the lock is gone.
 */
struct outbox_unrecorded {
	struct outbox_unrecorded *next;
	int64_t delivery_id;
	enum send_result r;
	char *channel, *external_id, *error;
	long retry_after_s;
};

void
outbox_init(struct outbox *ob, struct store *st, struct gw_adapter *ad,
	    size_t nad, const int *stopping)
{
	ob->st = st;
	ob->ad = ad;
	ob->nad = nad < GW_MAX_ADAPTERS ? nad : GW_MAX_ADAPTERS;
	ob->stopping = stopping;
}

static void
unrecorded_free(struct outbox_unrecorded *u)
{
	free(u->channel);
	free(u->external_id);
	free(u->error);
	free(u);
}

void
outbox_free(struct outbox *ob)
{
	while (ob->unrecorded != NULL) {
		struct outbox_unrecorded *u = ob->unrecorded;

		ob->unrecorded = u->next;
		unrecorded_free(u);
	}
}

/* ---- decisions ---- */

long
outbox_backoff(int attempts, long retry_after_s, long rnd)
{
	long base = 5L << (attempts < 10 ? attempts : 10);
	long wait;

	if (base > 3600)
		base = 3600;
	/* jitter of up to a fifth, so retries of a burst spread out */
	wait = base + rnd % (base / 5 + 1);
	if (retry_after_s > wait)
		wait = retry_after_s;
	return wait;
}

void
outbox_step(enum send_result r, int64_t attempts, long retry_after_s, long rnd,
	    struct outbox_step *out)
{
	memset(out, 0, sizeof(*out));
	out->attempts = attempts + 1;
	switch (r) {
	case SEND_CANCELLED:
		/* the stop cut it off: not an attempt, not a failure */
		out->status = "pending";
		out->attempts = attempts;
		out->cancelled = 1;
		return;
	case SEND_OK:
		out->status = "sent";
		return;
	case SEND_RETRY:
		if (out->attempts < OUTBOX_MAX_ATTEMPTS) {
			out->status = "pending";
			out->wait = outbox_backoff((int)out->attempts,
						   retry_after_s, rnd);
			return;
		}
		break;
	case SEND_FAIL:
	case SEND_SKIP:
		break;
	}
	out->status = "failed";
	out->fallback = 1;
}

size_t
outbox_targets(const struct gw_adapter *ad, size_t nad, int fans_out, int all,
	       const struct person *p, const char *address, const char **names)
{
	size_t k, n = 0;

	for (k = 0; k < nad; k++) {
		if ((!ad[k].running && !all) ||
		    !ad[k].ops->reaches(ad[k].state, p, address))
			continue;
		names[n++] = ad[k].ops->name;
		if (!fans_out)
			break;
	}
	return n;
}

/* ---- in flight ---- */

static int
inflight_add(struct outbox *ob, int64_t id)
{
	size_t i, free_slot = OUTBOX_MAX_INFLIGHT;

	for (i = 0; i < OUTBOX_MAX_INFLIGHT; i++) {
		if (ob->inflight[i] == id)
			return 0;
		if (ob->inflight[i] == 0 && free_slot == OUTBOX_MAX_INFLIGHT)
			free_slot = i;
	}
	if (free_slot == OUTBOX_MAX_INFLIGHT)
		return 0;
	ob->inflight[free_slot] = id;
	return 1;
}

static void
inflight_del(struct outbox *ob, int64_t id)
{
	size_t i;

	for (i = 0; i < OUTBOX_MAX_INFLIGHT; i++)
		if (ob->inflight[i] == id)
			ob->inflight[i] = 0;
}

/* ---- routing and delivery ---- */

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

static struct gw_adapter *
adapter_by_name(struct outbox *ob, const char *name)
{
	size_t i;

	for (i = 0; i < ob->nad; i++)
		if (strcmp(ob->ad[i].ops->name, name) == 0)
			return &ob->ad[i];
	return NULL;
}

int
outbox_route(struct outbox *ob)
{
	/* what routing needs of a message, read once with the batch */
	struct route {
		int64_t id, person_id;
		int fans_out;
		char *address;
	} rows[OUTBOX_BATCH];
	struct store *st = ob->st;
	struct db_stmt *s;
	size_t n = 0, i, k;
	int rc = -1;

	s = db_prepare(st,
		       "SELECT id, COALESCE(person_id, 0), kind, address "
		       "FROM outbox WHERE routed = 0 ORDER BY id LIMIT ?",
		       "i", (int64_t)OUTBOX_BATCH);
	if (s == NULL)
		return -1;
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
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (store_begin(st) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		const char *names[GW_MAX_ADAPTERS];
		struct person p, *pp = NULL;
		size_t routed;

		if (rows[i].person_id > 0 &&
		    store_person_by_id(st, rows[i].person_id, &p) == 1)
			pp = &p;
		routed = outbox_targets(ob->ad, ob->nad, rows[i].fans_out, 0,
					pp, rows[i].address, names);
		for (k = 0; k < routed; k++)
			if (db_exec(st,
				    "INSERT INTO outbox_delivery(outbox_id, "
				    "transport) VALUES (?, ?) ON CONFLICT("
				    "outbox_id, transport) DO NOTHING",
				    "it", rows[i].id, names[k]) < 0)
				goto fail;
		if (routed == 0 &&
		    db_exec(st,
			    "INSERT INTO outbox_delivery(outbox_id, transport, "
			    "status, last_error) VALUES (?, 'none', 'failed', "
			    "'no enabled transport reaches the recipient') ON "
			    "CONFLICT(outbox_id, transport) DO NOTHING",
			    "i", rows[i].id) < 0)
			goto fail;
		if (db_exec(st, "UPDATE outbox SET routed = 1 WHERE id = ?",
			    "i", rows[i].id) < 0)
			goto fail;
	}
	if (store_commit(st) < 0) {
		store_rollback(st);
		goto out;
	}
	rc = (int)n;
	goto out;
fail:
	store_rollback(st);
out:
	for (i = 0; i < n; i++)
		free(rows[i].address);
	return rc;
}

void
outbox_deliver(struct outbox *ob)
{
	struct store *st = ob->st;
	struct db_stmt *s;

	/* a leader sends only what it holds (nothing to do on SQLite) */
	if (store_outbox_claim(st, ob->epoch, store_now(st),
			       OUTBOX_MAX_INFLIGHT) < 0)
		return;
	s = db_prepare(
	    st,
	    "SELECT d.id, d.transport, d.attempts, o.id, "
	    "COALESCE(o.person_id, 0), o.address, o.kind, o.subject, o.body, "
	    "o.html, o.payload FROM outbox_delivery d JOIN outbox o ON "
	    "o.id = d.outbox_id WHERE d.status = 'pending' AND d.next_at <= ? "
	    "AND d.claimed = ? ORDER BY d.next_at, d.id LIMIT ?",
	    "iii", store_now(st), ob->epoch, (int64_t)OUTBOX_MAX_INFLIGHT);
	if (s == NULL)
		return;
	while (!*ob->stopping && db_step(s) == DB_ROW) {
		struct gw_adapter *a = adapter_by_name(ob, db_col(s, 1));
		struct person p;
		struct outmsg m = {0};
		int64_t did = db_col_int(s, 0);
		int64_t pid = db_col_int(s, 4);

		if (a == NULL || !a->running)
			continue;
		if (!inflight_add(ob, did))
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

/* ---- outcomes ---- */

/*
 * A delivery failed for good: the message goes to the recipient's next
 * transport that reaches them and has not been tried (Slack, then Matrix,
 * then mail). When none is left the message stays failed, with each
 * transport's reason, for ismsctl outbox failed and the isms_managers'
 * daily digest.
 */
void
outbox_fallback(struct outbox *ob, int64_t delivery_id)
{
	struct store *st = ob->st;
	struct route_try tried[GW_MAX_ADAPTERS + 2];
	const char *reach[GW_MAX_ADAPTERS];
	char names[GW_MAX_ADAPTERS + 2][16], status[GW_MAX_ADAPTERS + 2][16];
	struct person p, *pp = NULL;
	char *address = NULL, who[80];
	int64_t outbox_id = 0, person_id = 0;
	size_t ntried = 0, nreach;
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
	nreach = outbox_targets(ob->ad, ob->nad, 1, *ob->stopping, pp, address,
				reach);
	snprintf(who, sizeof(who), "%s",
		 pp != NULL ? pp->handle : (address != NULL ? address : "?"));
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
		    "INSERT INTO outbox_delivery(outbox_id, "
		    "transport) VALUES (?, ?) ON CONFLICT(outbox_id, "
		    "transport) DO NOTHING",
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

static void
unrecorded_keep(struct outbox *ob, int64_t delivery_id, enum send_result r,
		const char *channel, const char *external_id,
		long retry_after_s, const char *error)
{
	struct outbox_unrecorded *u = xcalloc(1, sizeof(*u));

	u->delivery_id = delivery_id;
	u->r = r;
	u->channel = xstrdup(channel);
	u->external_id = xstrdup(external_id);
	u->error = xstrdup(error);
	u->retry_after_s = retry_after_s;
	u->next = ob->unrecorded;
	ob->unrecorded = u;
	inflight_add(ob, delivery_id);
}

int
outbox_done(struct outbox *ob, int64_t delivery_id, enum send_result r,
	    const char *channel, const char *external_id, long retry_after_s,
	    const char *error)
{
	struct store *st = ob->st;
	struct outbox_step step;
	int64_t attempts = 0, now = store_now(st);
	int rc = 0;

	inflight_del(ob, delivery_id);
	db_int(st, &attempts,
	       "SELECT attempts FROM outbox_delivery WHERE id = ?", "i",
	       delivery_id);
	outbox_step(r, attempts, retry_after_s, random(), &step);
	if (step.cancelled) {
		/* the row stays as it was: sent again after the next start */
		log_info("delivery %lld: cut off by the stop; sent again after "
			 "the next start",
			 (long long)delivery_id);
		return 0;
	}
	/* a row another leader took over since is theirs: left alone */
	if (strcmp(step.status, "sent") == 0) {
		rc = db_exec(st,
			     "UPDATE outbox_delivery SET status = 'sent', "
			     "attempts = ?, sent_at = ?, channel = ?, "
			     "external_id = ?, last_error = NULL WHERE id = ? "
			     "AND claimed = ?",
			     "iittii", step.attempts, now, channel, external_id,
			     delivery_id, ob->epoch);
	} else if (strcmp(step.status, "pending") == 0) {
		rc = db_exec(st,
			     "UPDATE outbox_delivery SET attempts = ?, "
			     "next_at = ?, last_error = ? WHERE id = ? AND "
			     "claimed = ?",
			     "iitii", step.attempts, now + step.wait, error,
			     delivery_id, ob->epoch);
		log_info("delivery %lld: retry in %ld s: %s",
			 (long long)delivery_id, step.wait,
			 error != NULL ? error : "temporary failure");
	} else {
		rc = db_exec(st,
			     "UPDATE outbox_delivery SET status = 'failed', "
			     "attempts = ?, last_error = ? WHERE id = ? AND "
			     "claimed = ?",
			     "itii", step.attempts,
			     error != NULL ? error : "undeliverable",
			     delivery_id, ob->epoch);
		log_warnx("delivery %lld failed for good: %s",
			  (long long)delivery_id, error != NULL ? error : "?");
	}
	if (rc < 0 && store_busy(st) && !*ob->stopping) {
		log_info("delivery %lld: the database is locked; the outcome "
			 "is recorded once it is free",
			 (long long)delivery_id);
		unrecorded_keep(ob, delivery_id, r, channel, external_id,
				retry_after_s, error);
		return 1;
	}
	if (rc < 0) {
		log_error("delivery %lld: cannot record the outcome",
			  (long long)delivery_id);
		return -1;
	}
	if (step.fallback)
		outbox_fallback(ob, delivery_id);
	return 0;
}

void
outbox_defer(struct outbox *ob, int64_t delivery_id, enum send_result r,
	     const char *channel, const char *external_id, long retry_after_s,
	     const char *error)
{
	inflight_del(ob, delivery_id);
	unrecorded_keep(ob, delivery_id, r, channel, external_id, retry_after_s,
			error);
}

/* Frees the outcomes from list on (back to the kept list when keep). */
static void
unrecorded_drop(struct outbox *ob, struct outbox_unrecorded *list, int keep)
{
	struct outbox_unrecorded *next;

	for (; list != NULL; list = next) {
		next = list->next;
		if (keep) {
			list->next = ob->unrecorded;
			ob->unrecorded = list;
			inflight_add(ob, list->delivery_id);
		} else {
			unrecorded_free(list);
		}
	}
}

void
outbox_flush(struct outbox *ob)
{
	struct outbox_unrecorded *list = ob->unrecorded, *u, *again;
	int tx;

	if (list == NULL)
		return;
	/* one durable commit for them all (when the lock is free) */
	tx = store_begin(ob->st) == 0;
	ob->unrecorded = NULL;
	for (u = list; u != NULL; u = u->next)
		outbox_done(ob, u->delivery_id, u->r, u->channel,
			    u->external_id, u->retry_after_s, u->error);
	if (tx && store_commit(ob->st) < 0) {
		store_rollback(ob->st);
		log_info("delivery outcomes: the commit failed; recorded "
			 "again on the next pass");
		again = ob->unrecorded;
		ob->unrecorded = NULL;
		unrecorded_drop(ob, again, 0);
		unrecorded_drop(ob, list, 1);
		return;
	}
	unrecorded_drop(ob, list, 0);
}

/* ---- hold and lock ---- */

/*
 * A database restored from a backup holds its outbox until an operator
 * runs "ismsctl outbox release": the original may have sent those
 * messages already, or may still be running beside the copy.
 */
int
outbox_held(struct outbox *ob)
{
	char *hold = store_setting(ob->st, "outbox_hold");
	int held = hold != NULL;

	if (held && !ob->held)
		log_warnx("outbox held: %s; nothing is delivered until "
			  "\"ismsctl outbox release\" (after the original "
			  "daemon is stopped)",
			  hold);
	else if (!held && ob->held)
		log_info("outbox released; delivering");
	ob->held = held;
	free(hold);
	return held;
}

/*
 * Another process holds the database's write lock: nothing is sent,
 * since its outcome could not be recorded (it would be sent again).
 */
int
outbox_locked(struct outbox *ob)
{
	if (store_begin(ob->st) == 0) {
		store_rollback(ob->st);
		return 0;
	}
	return store_busy(ob->st);
}
