/*
 * Review nudges over the register: each dated item is announced ahead of
 * its date where that helps, then nudged from its date on every
 * [nudge] repeat_days until it is dealt with.
 */
#include "due.h"

#include "register.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

enum due_phase {
	DUE_NOT_YET,
	DUE_AHEAD, /* within the announcement window before at */
	DUE_NOW,   /* at or past at: repeated */
	DUE_NOTE,  /* a periodic note without a date of its own */
};

/* The phase of an item falling due at `at`, with n's period set in buf. */
static enum due_phase
due_phase(const struct cmd_ctx *ctx, struct nudge *n, int64_t at,
	  int ahead_days, char *buf, size_t len)
{
	char date[16];

	time_date(at, date);
	if (ctx->now >= at) {
		nudge_repeat(ctx, n, date, at, buf, len);
		return DUE_NOW;
	}
	if (ahead_days > 0 && ctx->now >= at - (int64_t)ahead_days * DAY) {
		snprintf(buf, len, "%s:ahead", date);
		n->period = buf;
		n->gap = 0;
		return DUE_AHEAD;
	}
	return DUE_NOT_YET;
}

/*
 * Composes and sends one nudge about a dated item: "<noun> due on <date>:
 * <what>" ahead, "<noun> overdue (due <date>): <what>" after; advice says
 * how to deal with it. 0 or -1.
 */
static int
due_send(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
	 enum due_phase ph, const struct person *to, int64_t shown,
	 const char *noun, const char *what, const char *advice)
{
	char date[16], *subject, *body;
	int rc;

	time_date(shown, date);
	if (ph == DUE_NOTE)
		subject = xasprintf("%s %s", noun, what);
	else if (ph == DUE_AHEAD)
		subject = xasprintf("%s due on %s: %s", noun, date, what);
	else
		subject =
		    xasprintf("%s overdue (due %s): %s", noun, date, what);
	body = xasprintf("%s\n\n%s", subject, advice);
	rc = nudge_send(ctx, w, n, to, subject, body, NULL);
	free(subject);
	free(body);
	return rc < 0 ? -1 : 0;
}

/* An active person by id: 1, 0 when gone or inactive, -1 on error. */
static int
due_person(struct cmd_ctx *ctx, int64_t id, struct person *p)
{
	int64_t active = 0;
	int rc = db_int(ctx->st, &active,
			"SELECT active FROM people WHERE id = ?", "i", id);

	if (rc != 1 || !active)
		return rc < 0 ? -1 : 0;
	return store_person_by_id(ctx->st, id, p);
}

/* The same nudge to every active isms_manager. 0 or -1. */
static int
due_managers(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
	     enum due_phase ph, int64_t shown, const char *noun,
	     const char *what, const char *advice)
{
	int64_t *ids;
	size_t k, cnt;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT id FROM people WHERE active <> 0 AND "
				  "(roles & ?) != 0 ORDER BY handle",
				  "i", (int64_t)ROLE_ISMS_MANAGER),
		       1, &ids, &cnt) < 0)
		return -1;
	for (k = 0; k < cnt && rc == 0; k++) {
		struct person p;

		rc =
		    store_person_by_id(ctx->st, ids[k], &p) == 1
			? due_send(ctx, w, n, ph, &p, shown, noun, what, advice)
			: -1;
	}
	free(ids);
	return rc;
}

/*
 * Items with an owner and a date, one row a kind: sql gives rows of (id,
 * owner_id, at), bound ?1 to the end of the announcement window;
 * describe gives, for ?1 an id, what the item is and what to do about
 * it.
 */
enum due_kind_id { DUE_RISK, DUE_DOC, DUE_AUDIT };

static const struct due_kind {
	const char *kind;   /* ledger kind */
	const char *prefix; /* "RSK" */
	const char *noun;   /* "Risk review" */
	const char *sql;
	int ahead_days;
	const char *describe; /* (what, advice) */
} due_kinds[] = {
    [DUE_RISK] =
	{
	    .kind = "risk.review",
	    .prefix = "RSK",
	    .noun = "Risk review",
	    .sql = "SELECT r.id, r.owner_id, r.next_review_at FROM risks r "
		   "WHERE r.next_review_at <= ?1 ORDER BY r.id",
	    .ahead_days = DUE_AHEAD_DAYS,
	    /* "RSK-3 [high] Title" and what to do about its review */
	    .describe =
		"SELECT 'RSK-' || id || ' [' || level || '] ' || title, "
		"'You own this risk. Check its likelihood, impact and "
		"treatment, then record the review with /isms risk update "
		"RSK-' || id || ' likelihood=.. impact=.. (this sets the "
		"next review date: 12 months for low and medium, 6 for "
		"high, 3 for critical). Details: /isms risk show RSK-' || "
		"id FROM risks WHERE id = ?1",
	},
    [DUE_DOC] =
	{
	    .kind = "doc.review",
	    .prefix = "DOC",
	    .noun = "Document review",
	    .sql = "SELECT id, owner_id, next_review_at FROM docs WHERE "
		   "next_review_at <= ?1 ORDER BY id",
	    .ahead_days = DUE_AHEAD_DAYS,
	    .describe =
		"SELECT 'DOC-' || id || ' ' || title, 'You own this "
		"document (reviewed every ' || review_every || "
		"COALESCE('; ' || NULLIF(url, ''), '') || '). Review it "
		"and record that with /isms doc reviewed DOC-' || id FROM "
		"docs WHERE id = ?1",
	},
    /* announced to the auditor; the plan itself is nudged below */
    [DUE_AUDIT] =
	{
	    .kind = "audit.ahead",
	    .prefix = "AUD",
	    .noun = "Internal audit",
	    .sql = "SELECT id, auditor_id, planned_at FROM audits WHERE "
		   "status = 'planned' AND planned_at <= ?1 AND planned_at > "
		   "?1 - 14 * 86400 ORDER BY id",
	    .ahead_days = DUE_AHEAD_DAYS,
	    .describe =
		"SELECT 'AUD-' || id || ' ' || scope, 'You are the auditor "
		"of this internal audit. Record findings with /isms audit "
		"finding AUD-' || id || ' "
		"major|minor|observation|opportunity <text>' FROM audits "
		"WHERE id = ?1",
	},
};

/* What item id of kind k is, into what, and its advice (caller frees). */
static int
due_describe(struct cmd_ctx *ctx, const struct due_kind *k, int64_t id,
	     char *what, size_t wlen, char **advice)
{
	struct db_stmt *s = db_prepare(ctx->st, k->describe, "i", id);

	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return -1;
	}
	snprintf(what, wlen, "%s", db_col(s, 0));
	*advice = xstrdup(db_col(s, 1));
	db_finish(ctx->st, s);
	return 0;
}

/* Nudges the owner of each item of kind k that is due or ahead. 0 or -1. */
static int
due_owned(struct cmd_ctx *ctx, struct tz_work *w, const struct due_kind *k)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st, k->sql, "i",
				  ctx->now + (int64_t)k->ahead_days * DAY),
		       3, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct nudge nd = {.kind = k->kind};
		struct person to;
		enum due_phase ph;
		char obj[32], period[48], what[320], *advice = NULL;

		snprintf(obj, sizeof(obj), "%s-%lld", k->prefix,
			 (long long)rows[3 * i]);
		nd.object = obj;
		ph = due_phase(ctx, &nd, rows[3 * i + 2], k->ahead_days, period,
			       sizeof(period));
		if (ph == DUE_NOT_YET)
			continue;
		rc = due_person(ctx, rows[3 * i + 1], &to);
		if (rc <= 0)
			continue;
		rc = nudge_ready(ctx, w, &nd, &to);
		if (rc <= 0)
			continue;
		rc = due_describe(ctx, k, rows[3 * i], what, sizeof(what),
				  &advice);
		if (rc == 0)
			rc = due_send(ctx, w, &nd, ph, &to, rows[3 * i + 2],
				      k->noun, what, advice);
		free(advice);
	}
	free(rows);
	return rc < 0 ? -1 : 0;
}

int
due_job_risks(struct cmd_ctx *ctx, struct tz_work *w)
{
	return due_owned(ctx, w, &due_kinds[DUE_RISK]);
}

int
due_job_docs(struct cmd_ctx *ctx, struct tz_work *w)
{
	return due_owned(ctx, w, &due_kinds[DUE_DOC]);
}

/*
 * The last call about a document with an acknowledgement date, once per
 * person, when nudge_last_call says (at the latest two days before). 1
 * sent, 0 not due or not now, -1 error.
 */
static int
ack_last_call(struct cmd_ctx *ctx, struct tz_work *w, int64_t doc,
	      const char *obj, const struct person *p, int64_t created,
	      int64_t due)
{
	struct nudge nd = {
	    .kind = "doc.ack.lastcall", .object = obj, .period = "last"};
	int64_t at = nudge_last_call(ctx, tz_zone_of(ctx->cfg, p), due);
	char *title, *subject, *body, by[16];
	struct tm lt;
	int rc;

	/* none when the request itself went out within the day */
	if (at < created + DAY || ctx->now < at || ctx->now >= due)
		return 0;
	rc = nudge_ready(ctx, w, &nd, p);
	if (rc != 1)
		return rc;
	tz_local(ctx->cfg->org_timezone, due - 1, &lt);
	strftime(by, sizeof(by), "%Y-%m-%d", &lt);
	title = db_text(ctx->st,
			"SELECT title || COALESCE(' (' || url || ')', '') "
			"FROM docs WHERE id = ?",
			"i", doc);
	subject = xasprintf("Last call: acknowledge %s by %s: %s", obj, by,
			    title ? title : "");
	body = xasprintf("%s\n\nEveryone is asked to read this document and "
			 "confirm it by %s. When you have, confirm with /isms "
			 "doc ack %s",
			 subject, by, obj);
	rc = nudge_send(ctx, w, &nd, p, subject, body, NULL);
	free(title);
	free(subject);
	free(body);
	return rc;
}

/*
 * Everyone who has not acknowledged a document that requires it, every
 * repeat_days; with an acknowledgement date, a last call before it.
 */
int
due_job_acks(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t gap = (int64_t)ctx->cfg->nudge_repeat_days * DAY;
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(
		ctx->st,
		db_prepare(
		    ctx->st,
		    "SELECT d.id, p.id, d.created_at, COALESCE(d.ack_due_at, "
		    "0) FROM docs d JOIN people p ON p.active <> 0 WHERE "
		    "d.ack_required <> 0 AND NOT EXISTS (SELECT 1 FROM "
		    "doc_acks a "
		    "WHERE a.doc_id = d.id AND a.person_id = p.id) AND (NOT "
		    "EXISTS (SELECT 1 FROM nudges n WHERE n.kind = 'doc.ack' "
		    "AND n.object = 'DOC-' || d.id AND n.person_id = p.id AND "
		    "n.address = '' AND n.sent_at > ?1) OR (d.ack_due_at > ?2 "
		    "AND d.ack_due_at <= ?2 + ?3 AND NOT EXISTS (SELECT 1 FROM "
		    "nudges n WHERE n.kind = 'doc.ack.lastcall' AND n.object = "
		    "'DOC-' || d.id AND n.person_id = p.id AND n.address = "
		    "''))) ORDER BY d.id, p.id",
		    /* a day of slack: nudge_ready decides in days */
		    "iii", ctx->now - gap + DAY, ctx->now,
		    (NUDGE_LAST_CALL_DAYS + 8) * (int64_t)DAY),
		4, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		int64_t *r = &rows[4 * i];
		struct nudge nd = {.kind = "doc.ack"};
		struct person p;
		char obj[32], period[48], *title = NULL, *subject, *body;

		snprintf(obj, sizeof(obj), "DOC-%lld", (long long)r[0]);
		nd.object = obj;
		nudge_repeat(ctx, &nd, "ack", r[2], period, sizeof(period));
		if (store_person_by_id(ctx->st, r[1], &p) != 1) {
			rc = -1;
			break;
		}
		if (r[3] > 0) {
			int64_t at = nudge_last_call(
			    ctx, tz_zone_of(ctx->cfg, &p), r[3]);

			if (ack_last_call(ctx, w, r[0], obj, &p, r[2], r[3]) <
			    0) {
				rc = -1;
				break;
			}
			/* from a day before the last call, it does the
			 * reminding; after the date, the repeats go on */
			if (at >= r[2] + DAY && ctx->now + DAY >= at &&
			    ctx->now < r[3])
				continue;
		}
		if (nudge_ready(ctx, w, &nd, &p) != 1)
			continue;
		title = db_text(ctx->st,
				"SELECT title || COALESCE(' (' || url || ')', "
				"'') FROM docs WHERE id = ?",
				"i", r[0]);
		subject = xasprintf("Please read and acknowledge %s: %s", obj,
				    title ? title : "");
		body =
		    xasprintf("%s\n\nEveryone is asked to read this document. "
			      "When you have, confirm with /isms doc ack %s",
			      subject, obj);
		rc = nudge_send(ctx, w, &nd, &p, subject, body, NULL) < 0 ? -1
									  : 0;
		free(title);
		free(subject);
		free(body);
	}
	free(rows);
	return rc;
}

/* When the organisation started using the gateway: the first person. */
static int
due_epoch(struct cmd_ctx *ctx, int64_t *out)
{
	return db_int(ctx->st, out,
		      "SELECT COALESCE(MIN(created_at), 0) FROM people",
		      NULL) < 0
		   ? -1
		   : 0;
}

/* Once a calendar year, the isms_managers: assess every risk again. */
int
due_job_assessment(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct nudge nd = {.kind = "risk.assessment", .object = "org"};
	int64_t start, epoch, total = 0, overdue = 0, stale = 0;
	char key[16], year[8], *advice;
	int rc;

	if (nudge_period(ctx, "1y", &start, key) != 1 ||
	    due_epoch(ctx, &epoch) < 0)
		return -1;
	/* the year the gateway came into use began with an assessment */
	if (epoch == 0 || epoch >= start)
		return 0;
	nd.period = key;
	snprintf(year, sizeof(year), "%.4s", key);
	if (db_int(ctx->st, &total, "SELECT COUNT(*) FROM risks", NULL) < 0 ||
	    db_int(ctx->st, &overdue,
		   "SELECT COUNT(*) FROM risks WHERE next_review_at <= ?", "i",
		   ctx->now) < 0 ||
	    db_int(ctx->st, &stale,
		   "SELECT COUNT(*) FROM risks WHERE updated_at < ?", "i",
		   ctx->now - 365LL * DAY) < 0)
		return -1;
	advice =
	    xasprintf("The register holds %lld risk%s; %lld %s overdue for "
		      "review and %lld %s not been re-assessed for a year. "
		      "Go through the assets, threats and risks with the "
		      "risk owners (/isms risk list, /isms risk update), "
		      "and record new risks with /isms risk add.",
		      (long long)total, total == 1 ? "" : "s",
		      (long long)overdue, overdue == 1 ? "is" : "are",
		      (long long)stale, stale == 1 ? "has" : "have");
	rc = due_managers(ctx, w, &nd, DUE_NOTE, start,
			  "Annual risk assessment", year, advice);
	free(advice);
	return rc;
}

/*
 * Management reviews: a planned one is announced 14 days ahead and nudged
 * until recorded; with none planned, planning the next (6 months after
 * the last, or after the start) is asked for from 14 days before it is
 * due.
 */
int
due_job_management_review(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows, last = 0, due;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT id, planned_at FROM reviews WHERE "
				  "status = 'planned' ORDER BY planned_at, id",
				  NULL),
		       2, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct nudge nd = {.kind = "review.planned"};
		char obj[32], period[48], *advice;
		enum due_phase ph;

		snprintf(obj, sizeof(obj), "MR-%lld", (long long)rows[2 * i]);
		nd.object = obj;
		ph = due_phase(ctx, &nd, rows[2 * i + 1], DUE_AHEAD_DAYS,
			       period, sizeof(period));
		if (ph == DUE_NOT_YET)
			continue;
		advice = xasprintf(
		    ph == DUE_AHEAD ? "The inputs are compiled for you: /isms "
				      "review show %s. Record the decisions "
				      "with /isms review record %s <decisions>."
				    : "Record its decisions with /isms review "
				      "record %s <decisions> (inputs: /isms "
				      "review show %s).",
		    obj, obj);
		rc = due_managers(ctx, w, &nd, ph, rows[2 * i + 1],
				  "Management review", obj, advice);
		free(advice);
	}
	free(rows);
	if (rc < 0 || n > 0)
		return rc;
	/* a new ISMS counts its start as the last review */
	if (db_int(ctx->st, &last,
		   "SELECT COALESCE(MAX(COALESCE(held_at, planned_at)), 0) "
		   "FROM reviews",
		   NULL) < 0 ||
	    (last == 0 && due_epoch(ctx, &last) < 0))
		return -1;
	if (last == 0)
		return 0; /* nobody in the directory yet */
	due = time_add_months(last, DUE_REVIEW_EVERY_MONTHS);
	{
		struct nudge nd = {.kind = "review.plan", .object = "org"};
		char period[48];
		enum due_phase ph = due_phase(ctx, &nd, due, DUE_AHEAD_DAYS,
					      period, sizeof(period));

		if (ph == DUE_NOT_YET)
			return 0;
		return due_managers(ctx, w, &nd, ph, due, "Management review",
				    "none is planned",
				    "Management reviews are held every 6 "
				    "months. Plan the next one with /isms "
				    "review plan date=YYYY-MM-DD.");
	}
}

/*
 * Internal audits: the auditor hears of a planned audit 14 days ahead;
 * with none planned, the isms_managers are asked to plan the next (12
 * months after the last, or after the start).
 */
int
due_job_audits(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct nudge nd = {.kind = "audit.plan", .object = "org"};
	int64_t planned = 0, last = 0, due;
	enum due_phase ph;
	char period[48];

	if (due_owned(ctx, w, &due_kinds[DUE_AUDIT]) < 0 ||
	    db_int(ctx->st, &planned,
		   "SELECT COUNT(*) FROM audits WHERE status = 'planned' AND "
		   "planned_at >= ?",
		   "i", ctx->now) < 0 ||
	    db_int(ctx->st, &last,
		   "SELECT COALESCE(MAX(planned_at), 0) FROM audits", NULL) < 0)
		return -1;
	if (planned > 0)
		return 0;
	/* a new ISMS counts its start as the last audit */
	if (last == 0 && due_epoch(ctx, &last) < 0)
		return -1;
	if (last == 0)
		return 0;
	due = time_add_months(last, DUE_AUDIT_EVERY_MONTHS);
	ph = due_phase(ctx, &nd, due, DUE_AHEAD_DAYS, period, sizeof(period));
	if (ph == DUE_NOT_YET)
		return 0;
	return due_managers(ctx, w, &nd, ph, due, "Internal audit plan",
			    "no audit is planned",
			    "The internal audit programme covers the ISMS "
			    "every year. Plan the next audit with /isms audit "
			    "plan <scope> date=YYYY-MM-DD auditor=@handle.");
}

/*
 * Actions: the owner hears 7 days before the due date and then, once it
 * has passed, every repeat_days; after escalate_after_days overdue the
 * owner's manager is told once.
 */
static int
action_nudge(struct cmd_ctx *ctx, struct tz_work *w, int64_t id,
	     int64_t owner_id, int64_t due_at)
{
	int64_t overdue_at = due_at + DAY; /* the end of the due day */
	int64_t escalate_at =
	    overdue_at + (int64_t)ctx->cfg->nudge_escalate_after_days * DAY;
	struct nudge nd = {.kind = "action.due"};
	struct person owner, mgr;
	enum due_phase ph;
	char obj[32], period[48], date[16], what[320], *text, *advice;
	int rc;

	if (due_person(ctx, owner_id, &owner) != 1)
		return 0;
	snprintf(obj, sizeof(obj), "ACT-%lld", (long long)id);
	nd.object = obj;
	ph = due_phase(ctx, &nd, overdue_at, DUE_ACTION_AHEAD_DAYS + 1, period,
		       sizeof(period));
	if (ph == DUE_NOT_YET)
		return 0;
	text =
	    db_text(ctx->st, "SELECT text FROM actions WHERE id = ?", "i", id);
	if (text == NULL)
		return -1;
	snprintf(what, sizeof(what), "%s %.200s", obj, text);
	advice = xasprintf("You own this corrective action. When it is done, "
			   "record the evidence with /isms action done %s "
			   "<evidence>.",
			   obj);
	rc = due_send(ctx, w, &nd, ph, &owner, due_at, "Action", what, advice);
	free(advice);
	if (rc < 0 || ctx->now < escalate_at)
		goto out;
	switch (nudge_escalation_target(ctx, &owner, owner.id, 0, &mgr)) {
	case 1: {
		struct nudge esc = {.kind = "action.escalate", .object = obj};
		char *subject, *body;

		time_date(due_at, date);
		esc.period = date;
		subject = xasprintf("Overdue action of %s (due %s): %s",
				    owner.handle, date, what);
		body =
		    xasprintf("%s\n\n%s (%s) owns this action and it is "
			      "%lld days overdue; you are told as their "
			      "manager. Details: /isms action show %s",
			      subject, owner.name, owner.handle,
			      (long long)((ctx->now - overdue_at) / DAY), obj);
		rc = nudge_send(ctx, w, &esc, &mgr, subject, body, NULL) < 0
			 ? -1
			 : 0;
		free(subject);
		free(body);
		break;
	}
	case 0:
		break;
	default:
		rc = -1;
	}
out:
	free(text);
	return rc;
}

int
due_job_actions(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id, owner_id, due_at FROM actions "
			   "WHERE status = 'open' AND due_at <= ? ORDER "
			   "BY id",
			   "i",
			   ctx->now + DUE_ACTION_AHEAD_DAYS * (int64_t)DAY),
		3, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = action_nudge(ctx, w, rows[3 * i], rows[3 * i + 1],
				  rows[3 * i + 2]);
	free(rows);
	return rc;
}

/*
 * Risk acceptances: the owner hears 30 days before one ends; at its end it
 * waits for approval again (once, claimed in the ledger).
 */
int
due_job_acceptances(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id, owner_id, accepted_until FROM "
			   "risks WHERE treatment = 'accept' AND "
			   "accepted_until <= ? ORDER BY id",
			   "i",
			   ctx->now + (int64_t)DUE_ACCEPT_AHEAD_DAYS * DAY),
		3, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct nudge nd = {.kind = "risk.acceptance"};
		struct person to;
		char obj[32], date[16], period[32], *advice, *subject, *body;

		snprintf(obj, sizeof(obj), "RSK-%lld", (long long)rows[3 * i]);
		time_date(rows[3 * i + 2], date);
		nd.object = obj;
		if (ctx->now >= rows[3 * i + 2]) {
			snprintf(period, sizeof(period), "%s:expired", date);
			rc = nudge_claim(ctx, nd.kind, obj, period);
			if (rc == 1)
				rc = risk_acceptance_expire(ctx, rows[3 * i]);
			continue;
		}
		snprintf(period, sizeof(period), "%s:ahead", date);
		nd.period = period;
		rc = due_person(ctx, rows[3 * i + 1], &to);
		if (rc <= 0)
			continue;
		advice = xasprintf(
		    "You accepted this risk until %s. Then the acceptance "
		    "waits for approval again. Review it now: /isms risk "
		    "show %s; accept it anew with /isms risk treat %s accept "
		    "<plan>, or choose another treatment.",
		    date, obj, obj);
		subject =
		    xasprintf("Risk acceptance of %s ends on %s", obj, date);
		body = xasprintf("%s\n\n%s", subject, advice);
		rc = nudge_send(ctx, w, &nd, &to, subject, body, NULL);
		free(subject);
		free(body);
		free(advice);
	}
	free(rows);
	return rc < 0 ? -1 : 0;
}
