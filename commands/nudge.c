/*
 * The nudge ledger and the jobs that nudge about incidents and approvals:
 * the GDPR art. 33 72-hour clock, the NIS2 art. 23 reporting clock,
 * approval reminders and escalation.
 */
#include "nudge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"

#define DAY		      86400
#define APPROVAL_REMIND_AFTER DAY

/* Ledger key of one recipient: a person, or a bare address. */
struct nudge_to {
	int64_t person_id;
	const char *address;
	const char *zone; /* for working time; NULL: the organisation's */
};

static int
ledger_has(struct cmd_ctx *ctx, const struct nudge *n,
	   const struct nudge_to *to)
{
	int64_t v;

	return db_int(ctx->st, &v,
		      "SELECT 1 FROM nudges WHERE kind = ? AND object = ? AND "
		      "person_id = ? AND address = ? AND period = ?",
		      "ttitt", n->kind, n->object, to->person_id, to->address,
		      n->period);
}

static int
ledger_add(struct cmd_ctx *ctx, const struct nudge *n,
	   const struct nudge_to *to, int64_t outbox_id)
{
	return db_exec(ctx->st,
		       "INSERT INTO nudges(kind, object, person_id, address, "
		       "period, sent_at, outbox_id) VALUES (?,?,?,?,?,?,?)",
		       "ttittii", n->kind, n->object, to->person_id,
		       to->address, n->period, ctx->now, outbox_id) == 1
		   ? 0
		   : -1;
}

static int
ready(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
      const struct nudge_to *to)
{
	int64_t last;
	int rc;

	/* outside working time the nudge waits for a later pass */
	if (!n->anytime && !tz_work_zone(w, to->zone))
		return 0;
	/* a leaver gets no nudges */
	if (to->person_id > 0) {
		int64_t active = 0;

		rc = db_int(ctx->st, &active,
			    "SELECT active FROM people WHERE id = ?", "i",
			    to->person_id);
		if (rc < 0)
			return -1;
		if (!active)
			return 0;
	}
	rc = ledger_has(ctx, n, to);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (n->gap > 0) {
		rc = db_int(ctx->st, &last,
			    "SELECT COALESCE(MAX(sent_at), -1) FROM nudges "
			    "WHERE kind = ? AND object = ? AND person_id = ? "
			    "AND address = ?",
			    "ttit", n->kind, n->object, to->person_id,
			    to->address);
		if (rc < 0)
			return -1;
		/* calendar days in the recipient's zone, so that a weekly
		 * nudge keeps its weekday across a daylight-saving switch */
		if (last >= 0 &&
		    ctx->now < tz_day_start(to->zone ? to->zone
						     : ctx->cfg->org_timezone,
					    last, (int)(n->gap / DAY)))
			return 0;
	}
	return 1;
}

int
nudge_ready(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
	    const struct person *to)
{
	struct nudge_to t = {to->id, "", tz_zone_of(ctx->cfg, to)};

	return ready(ctx, w, n, &t);
}

int
nudge_send(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
	   const struct person *to, const char *subject, const char *body,
	   json_t *payload)
{
	struct nudge_to t = {to->id, "", tz_zone_of(ctx->cfg, to)};
	int64_t id;
	int rc = ready(ctx, w, n, &t);

	if (rc != 1) {
		json_decref(payload);
		return rc;
	}
	id = cmd_notify(ctx, to, n->msg_kind, subject, body, payload);
	if (id < 0 || ledger_add(ctx, n, &t, id) < 0)
		return -1;
	return 1;
}

int
nudge_ready_address(struct cmd_ctx *ctx, struct tz_work *w,
		    const struct nudge *n, const char *address)
{
	struct nudge_to t = {0, address, NULL};

	return ready(ctx, w, n, &t);
}

int
nudge_mail(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
	   const struct person *to, const char *address, const char *subject,
	   const char *body, const char *html)
{
	struct nudge_to t = {0, "", NULL};
	int64_t id;
	int rc;

	if (to != NULL) {
		t.person_id = to->id;
		t.zone = tz_zone_of(ctx->cfg, to);
	} else {
		t.address = address;
	}
	rc = ready(ctx, w, n, &t);
	if (rc != 1)
		return rc;
	id = store_outbox_add(ctx->st, t.person_id, to ? NULL : address,
			      msg_kind_name(n->msg_kind), subject, body, html,
			      NULL);
	if (id < 0 || ledger_add(ctx, n, &t, id) < 0)
		return -1;
	buf_printf(&ctx->rp->notices, "-> %s: %s\n", to ? to->handle : address,
		   subject);
	return 1;
}

int
nudge_claimed(struct cmd_ctx *ctx, const char *kind, const char *object,
	      const char *period)
{
	struct nudge n = {.kind = kind, .object = object, .period = period};
	struct nudge_to t = {0, "", NULL};

	return ledger_has(ctx, &n, &t);
}

int
nudge_claim(struct cmd_ctx *ctx, const char *kind, const char *object,
	    const char *period)
{
	struct nudge n = {.kind = kind, .object = object, .period = period};
	struct nudge_to t = {0, "", NULL};
	int rc = ledger_has(ctx, &n, &t);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return ledger_add(ctx, &n, &t, 0) < 0 ? -1 : 1;
}

void
nudge_repeat(const struct cmd_ctx *ctx, struct nudge *n, const char *cycle,
	     int64_t start, char *buf, size_t len)
{
	const char *zone = ctx->cfg->org_timezone;
	int days = ctx->cfg->nudge_repeat_days;
	int64_t gap = (int64_t)days * DAY, k = 0;

	/* windows of whole local days: a pass at the same hour each week
	 * falls in the next window even across a daylight-saving switch */
	if (ctx->now > start)
		k = (tz_day_number(zone, ctx->now) -
		     tz_day_number(zone, start)) /
		    days;

	snprintf(buf, len, "%s#%lld", cycle, (long long)k + 1);
	n->period = buf;
	n->gap = gap;
}

int64_t
nudge_last_call(const struct cmd_ctx *ctx, const char *zone, int64_t deadline)
{
	const struct config *cfg = ctx->cfg;
	int64_t mark = deadline - NUDGE_LAST_CALL_DAYS * (int64_t)DAY, start;
	struct tm lt;
	int i;

	if (zone == NULL)
		zone = cfg->org_timezone;
	/* back from the mark, day by day, to a working day's start */
	for (i = 0; i <= 7; i++) {
		tz_local(zone, tz_day_start(zone, mark, -i), &lt);
		if (!(cfg->work_days & (1u << lt.tm_wday)))
			continue;
		lt.tm_hour = cfg->work_start_min / 60;
		lt.tm_min = cfg->work_start_min % 60;
		lt.tm_sec = 0;
		if (tz_make(zone, &lt, &start) < 0)
			break;
		if (start <= mark)
			return start;
	}
	return mark;
}

int
nudge_period(const struct cmd_ctx *ctx, const char *every, int64_t *start,
	     char key[16])
{
	const char *zone = ctx->cfg->org_timezone;
	struct tm lt, day = {0};
	int count;
	char unit;
	int64_t dn;
	time_t u;

	if (every == NULL || strcmp(every, "off") == 0)
		return 0;
	if (config_period(every, &count, &unit) < 0)
		return -1;
	tz_local(zone, ctx->now, &lt);
	dn = tz_day_number(zone, ctx->now);
	switch (unit) {
	case 'd':
		dn -= dn % count;
		break;
	case 'w': {
		/* weeks start on Monday; day -3 (1969-12-29) was one */
		int64_t wk = (dn + 3) / 7;

		dn = (wk - wk % count) * 7 - 3;
		break;
	}
	case 'm': {
		int mi = lt.tm_year * 12 + lt.tm_mon;

		mi -= mi % count;
		day.tm_year = mi / 12;
		day.tm_mon = mi % 12;
		day.tm_mday = 1;
		dn = (int64_t)timegm(&day) / DAY;
		break;
	}
	default: /* 'y' */
		day.tm_year = lt.tm_year + 1900;
		day.tm_year = day.tm_year - day.tm_year % count - 1900;
		day.tm_mon = 0;
		day.tm_mday = 1;
		dn = (int64_t)timegm(&day) / DAY;
		break;
	}
	u = (time_t)(dn * DAY);
	gmtime_r(&u, &day);
	strftime(key, 16, "%Y-%m-%d", &day);
	return tz_make(zone, &day, start) < 0 ? -1 : 1;
}

int
nudge_escalation_target(struct cmd_ctx *ctx, const struct person *of,
			int64_t skip_a, int64_t skip_b, struct person *out)
{
	int64_t id;
	int rc = 0;

	if (of->manager_id != 0 && of->manager_id != skip_a &&
	    of->manager_id != skip_b)
		rc =
		    db_int(ctx->st, &id,
			   "SELECT id FROM people WHERE id = ? AND active <> 0",
			   "i", of->manager_id);
	if (rc == 0)
		rc = db_int(ctx->st, &id,
			    "SELECT id FROM people WHERE active <> 0 AND "
			    "(roles & ?) != 0 AND id NOT IN (?, ?, ?) "
			    "ORDER BY handle LIMIT 1",
			    "iiii", (int64_t)ROLE_ISMS_MANAGER, of->id, skip_a,
			    skip_b);
	if (rc != 1)
		return rc;
	return store_person_by_id(ctx->st, id, out) == 1 ? 1 : -1;
}

int
nudge_rows(struct store *st, struct db_stmt *s, int ncols, int64_t **vals,
	   size_t *nrows)
{
	size_t n = 0, cap = 0;
	int64_t *v = NULL;
	int rc, c;

	*vals = NULL;
	*nrows = 0;
	if (s == NULL)
		return -1;
	for (rc = db_step(s); rc == DB_ROW; rc = db_step(s)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * (size_t)ncols * sizeof(*v));
		}
		for (c = 0; c < ncols; c++)
			v[n * (size_t)ncols + (size_t)c] = db_col_int(s, c);
		n++;
	}
	db_finish(st, s);
	if (rc != DB_DONE) {
		free(v);
		return -1;
	}
	*vals = v;
	*nrows = n;
	return 0;
}

/*
 * The 72-hour clock of a personal-data incident runs from when personal
 * data became known (reported with it, or marked later): the
 * isms_managers hear of it at 24, 48 and 66 hours; from 72 hours the
 * isms_managers, the handler and top management hear "deadline passed"
 * once a day until the outcome is recorded. A late pass sends only the
 * latest stage due.
 */
static const int breach_stages[] = {24, 48, 66};

#define BREACH_MAX_TO 64

static int
breach_nudge(struct cmd_ctx *ctx, int64_t id)
{
	struct db_stmt *s;
	char obj[32], stage[32], deadline[32], day[16];
	char *subject = NULL, *body = NULL;
	int64_t start, left, to[BREACH_MAX_TO], handler;
	size_t i, n = 0;
	int rc = -1, hours = 0, passed, m;

	s = db_prepare(ctx->st,
		       "SELECT title, severity, personal_data_at, "
		       "COALESCE((SELECT h.id FROM people h WHERE h.id = "
		       "i.handler_id AND h.active <> 0), 0) FROM incidents i "
		       "WHERE id = ?",
		       "i", id);
	if (s == NULL || db_step(s) != DB_ROW)
		goto out;
	start = db_col_int(s, 2);
	handler = db_col_int(s, 3);
	for (i = 0; i < ARRAY_LEN(breach_stages); i++)
		if (ctx->now >= start + breach_stages[i] * 3600LL)
			hours = breach_stages[i];
	passed = ctx->now >= start + 72 * 3600LL;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)id);
	time_date(ctx->now, day);
	if (passed)
		snprintf(stage, sizeof(stage), "passed:%s", day);
	else
		snprintf(stage, sizeof(stage), "%dh", hours);
	switch (nudge_claim(ctx, "breach", obj, stage)) {
	case 1:
		break;
	case 0:
		rc = 0;
		goto out;
	default:
		goto out;
	}
	left = start + 72 * 3600 - ctx->now;
	time_iso(start + 72 * 3600, deadline);
	if (!passed)
		subject =
		    xasprintf("72-hour clock %s: %lld h %02lld min left to "
			      "notify the authority",
			      obj, (long long)(left / 3600),
			      (long long)(left % 3600 / 60));
	else
		subject = xasprintf("72-hour clock %s: deadline passed on %s; "
				    "the authority is not notified yet",
				    obj, deadline);
	body = xasprintf(
	    "%s [%s] \"%s\" involves personal data, known since %lld hours "
	    "or more. GDPR art. 33: notify the supervisory authority by "
	    "%s, or record why no notification is needed%s.\n\n"
	    "Stop the clock with /isms incident notified %s%s or /isms "
	    "incident notifiable %s no <reason>.",
	    obj, db_col(s, 1), db_col(s, 0),
	    (long long)((ctx->now - start) / 3600), deadline,
	    passed ? "; a notification made now must give the reasons for "
		     "the delay"
		   : "",
	    obj, passed ? " <reason for the delay>" : "", obj);
	if (!passed) {
		rc = cmd_notify_role(ctx, ROLE_ISMS_MANAGER, 0, MSG_BREACH,
				     subject, body);
		goto out;
	}
	/* deadline passed: isms_managers, the handler, top management */
	{
		struct db_stmt *q =
		    db_prepare(ctx->st,
			       "SELECT id FROM people WHERE "
			       "active <> 0 AND (roles & ?) != 0 "
			       "ORDER BY handle",
			       "i", (int64_t)ROLE_ISMS_MANAGER);

		if (q == NULL)
			goto out;
		while (n < BREACH_MAX_TO - 1 && db_step(q) == DB_ROW)
			to[n++] = db_col_int(q, 0);
		db_finish(ctx->st, q);
	}
	to[n++] = handler;
	m = cmd_management(ctx, to + n, BREACH_MAX_TO - n);
	if (m < 0)
		goto out;
	n += (size_t)m;
	rc = cmd_notify_ids(ctx, to, n, 0, MSG_BREACH, subject, body);
out:
	db_finish(ctx->st, s);
	free(subject);
	free(body);
	return rc;
}

int
nudge_job_breach(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *ids;
	size_t n, i;
	int rc = 0;

	(void)w; /* breach alerts ignore working hours */
	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id FROM incidents WHERE personal_data <> 0 "
			   "AND breach_outcome IS NULL AND personal_data_at "
			   "<= ? ORDER BY id",
			   "i", ctx->now - breach_stages[0] * 3600LL),
		1, &ids, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = breach_nudge(ctx, ids[i]);
	free(ids);
	return rc;
}

/* Pending approvals: remind the approver, escalate past the deadline. */
struct pending {
	int64_t id;
	char summary[512];
	char kind[64];
	char object[64];
	int64_t created, deadline;
	struct person requester, approver, escalated;
	int has_escalated;
};

static int
pending_load(struct cmd_ctx *ctx, int64_t id, struct pending *a)
{
	struct db_stmt *s =
	    db_prepare(ctx->st,
		       "SELECT summary, kind, object, created_at, deadline_at, "
		       "requester_id, approver_id, COALESCE(escalated_to, 0) "
		       "FROM approvals WHERE id = ?",
		       "i", id);
	int64_t req, apr, esc;

	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->id = id;
	snprintf(a->summary, sizeof(a->summary), "%s", db_col(s, 0));
	snprintf(a->kind, sizeof(a->kind), "%s", db_col(s, 1));
	snprintf(a->object, sizeof(a->object), "%s", db_col(s, 2));
	a->created = db_col_int(s, 3);
	a->deadline = db_col_int(s, 4);
	req = db_col_int(s, 5);
	apr = db_col_int(s, 6);
	esc = db_col_int(s, 7);
	db_finish(ctx->st, s);
	if (store_person_by_id(ctx->st, req, &a->requester) != 1 ||
	    store_person_by_id(ctx->st, apr, &a->approver) != 1)
		return -1;
	a->has_escalated =
	    esc != 0 && store_person_by_id(ctx->st, esc, &a->escalated) == 1;
	return 0;
}

static int
approval_remind(struct cmd_ctx *ctx, struct tz_work *w, const struct pending *a,
		const struct person *to, int64_t start)
{
	struct nudge n = {.kind = "approval.remind", .msg_kind = MSG_APPROVAL};
	char obj[32], period[48], asked[16], due[16], *subject, *body;
	int rc;

	if (ctx->now < start)
		return 0;
	snprintf(obj, sizeof(obj), "APR-%lld", (long long)a->id);
	n.object = obj;
	nudge_repeat(ctx, &n, "remind", start, period, sizeof(period));
	time_date(a->created, asked);
	time_date(a->deadline, due);
	subject = xasprintf("Reminder: %s waits for your decision: %s", obj,
			    a->summary);
	body =
	    xasprintf("%s (%s) asked on %s for approval: %s\n"
		      "The decision %s due %s.\n\nReply \"approve\" or "
		      "\"reject <reason>\", or type /isms approve %s or "
		      "/isms reject %s <reason>.",
		      a->requester.name, a->requester.handle, asked, a->summary,
		      ctx->now < a->deadline ? "is" : "was", due, obj, obj);
	rc = nudge_send(ctx, w, &n, to, subject, body,
			json_pack("{s:I,s:s}", "approval", (json_int_t)a->id,
				  "object", a->object));
	free(subject);
	free(body);
	return rc < 0 ? -1 : 0;
}

static int
approval_escalate(struct cmd_ctx *ctx, struct pending *a)
{
	struct person to;
	char obj[32], *subject = NULL, *body = NULL;
	int rc = -1;

	snprintf(obj, sizeof(obj), "APR-%lld", (long long)a->id);
	switch (nudge_escalation_target(ctx, &a->approver, a->requester.id,
					a->approver.id, &to)) {
	case 1:
		break;
	case 0:
		/* nobody to escalate to: say so once */
		if (nudge_claim(ctx, "approval.escalate", obj, "none") == 1)
			log_warnx("%s is past its deadline and nobody can "
				  "take it over from %s",
				  obj, a->approver.handle);
		return 0;
	default:
		return -1;
	}
	if (db_exec(ctx->st,
		    "UPDATE approvals SET escalated_to = ? WHERE id = ? AND "
		    "status = 'pending' AND escalated_to IS NULL",
		    "ii", to.id, a->id) != 1 ||
	    cmd_audit(ctx, "approval.escalate", obj,
		      json_pack("{s:s,s:s}", "from", a->approver.handle, "to",
				to.handle)) < 0)
		goto out;
	/* an approval request, not a nudge: it goes out at once */
	subject = xasprintf("Approval needed %s (escalated from %s): %s", obj,
			    a->approver.handle, a->summary);
	body =
	    xasprintf("%s (%s) asked %s (%s) to approve: %s\n\nThe request "
		      "is past its deadline, so it is escalated to you: you "
		      "may decide it. Reply \"approve\" or \"reject "
		      "<reason>\", or type /isms approve %s or /isms reject "
		      "%s <reason>.",
		      a->requester.name, a->requester.handle, a->approver.name,
		      a->approver.handle, a->summary, obj, obj);
	if (cmd_notify(ctx, &to, MSG_APPROVAL, subject, body,
		       json_pack("{s:I,s:s}", "approval", (json_int_t)a->id,
				 "object", a->object)) < 0)
		goto out;
	free(subject);
	free(body);
	subject =
	    xasprintf("%s escalated to %s: %s", obj, to.handle, a->summary);
	body = xasprintf("%s passed its deadline without a decision and was "
			 "escalated to %s (%s), who may now decide it. You "
			 "still may, too.",
			 obj, to.name, to.handle);
	if (cmd_notify(ctx, &a->approver, MSG_NOTICE, subject, body, NULL) < 0)
		goto out;
	a->escalated = to;
	a->has_escalated = 1;
	rc = 0;
out:
	free(subject);
	free(body);
	return rc;
}

int
nudge_job_approvals(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *ids;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT id FROM approvals WHERE status = "
				  "'pending' AND created_at <= ? ORDER BY id",
				  "i", ctx->now - APPROVAL_REMIND_AFTER),
		       1, &ids, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct pending a;

		if (pending_load(ctx, ids[i], &a) < 0) {
			rc = -1;
			break;
		}
		if (ctx->now >= a.deadline && !a.has_escalated)
			rc = approval_escalate(ctx, &a);
		if (rc == 0)
			rc = approval_remind(ctx, w, &a, &a.approver,
					     a.created + APPROVAL_REMIND_AFTER);
		/* whoever took it over is reminded a repeat period later */
		if (rc == 0 && a.has_escalated &&
		    a.escalated.id != a.approver.id)
			rc = approval_remind(
			    ctx, w, &a, &a.escalated,
			    a.deadline + ctx->cfg->nudge_repeat_days * DAY);
	}
	free(ids);
	return rc;
}

/*
 * The NIS2 art. 23 clock of a significant incident: each report not yet
 * recorded is nudged to the isms_managers and the handler twice before
 * its deadline and once a day after it, at any hour, until it is
 * recorded or the incident is no longer significant. A late pass sends
 * only the latest nudge due.
 */
static const struct {
	int64_t before[2]; /* seconds before the deadline, earlier first */
} nis2_marks[NIS2_STAGES] = {
    {{12 * 3600, 4 * 3600}}, /* early warning: at 12 h and 20 h */
    {{24 * 3600, 6 * 3600}}, /* notification: at 48 h and 66 h */
    {{7 * (int64_t)DAY, 2 * (int64_t)DAY}}, /* final report */
};

#define NIS2_MAX_TO 64

/* The ledger period due now for a stage with deadline due, or NULL. */
static const char *
nis2_period(const struct cmd_ctx *ctx, int stage, int64_t due, char *buf,
	    size_t len)
{
	char day[16];
	int i;

	if (ctx->now >= due) {
		time_date(ctx->now, day);
		snprintf(buf, len, "%s:passed:%s", nis2_stage_names[stage],
			 day);
		return buf;
	}
	for (i = 1; i >= 0; i--)
		if (ctx->now >= due - nis2_marks[stage].before[i]) {
			snprintf(
			    buf, len, "%s:%lldh-left", nis2_stage_names[stage],
			    (long long)(nis2_marks[stage].before[i] / 3600));
			return buf;
		}
	return NULL;
}

static int
nis2_nudge_stage(struct cmd_ctx *ctx, struct tz_work *w, int64_t id,
		 const char *title, const char *severity, int64_t aware,
		 int stage, int64_t due, const int64_t *to, size_t nto)
{
	struct nudge n = {.kind = "nis2", .msg_kind = MSG_BREACH, .anytime = 1};
	char obj[32], period[64], deadline[32], since[32], left[48];
	char *subject = NULL, *body = NULL;
	int64_t secs = due - ctx->now;
	size_t i;
	int rc = 0;

	if (nis2_period(ctx, stage, due, period, sizeof(period)) == NULL)
		return 0;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)id);
	n.object = obj;
	n.period = period;
	time_iso(due, deadline);
	time_iso(aware, since);
	if (secs > 0) {
		if (secs >= 2 * DAY)
			snprintf(left, sizeof(left), "%lld days %lld h",
				 (long long)(secs / DAY),
				 (long long)(secs % DAY / 3600));
		else
			snprintf(left, sizeof(left), "%lld h %02lld min",
				 (long long)(secs / 3600),
				 (long long)(secs % 3600 / 60));
		subject =
		    xasprintf("NIS2 %s for %s: %s left (due %s)",
			      nis2_stage_titles[stage], obj, left, deadline);
	} else {
		subject = xasprintf("NIS2 %s for %s: deadline passed on %s; "
				    "not recorded as sent",
				    nis2_stage_titles[stage], obj, deadline);
	}
	body = xasprintf(
	    "%s [%s] \"%s\" is a significant incident (NIS2 art. 23), known "
	    "as such since %s. Its %s to the CSIRT or competent authority "
	    "is due by %s.\n\nRecord it with /isms incident reported %s %s "
	    "[note], or /isms incident significant %s no <reason> if it is "
	    "not significant after all.",
	    obj, severity, title, since, nis2_stage_titles[stage], deadline,
	    obj, nis2_stage_names[stage], obj);
	for (i = 0; i < nto && rc >= 0; i++) {
		struct person p;

		if (store_person_by_id(ctx->st, to[i], &p) != 1) {
			rc = -1;
			break;
		}
		rc = nudge_send(ctx, w, &n, &p, subject, body,
				json_pack("{s:s,s:s}", "incident", obj, "stage",
					  nis2_stage_names[stage]));
	}
	free(subject);
	free(body);
	return rc < 0 ? -1 : 0;
}

static int
nis2_nudge(struct cmd_ctx *ctx, struct tz_work *w, int64_t id)
{
	struct db_stmt *s;
	int64_t to[NIS2_MAX_TO], aware, handler, at[NIS2_STAGES] = {0};
	char title[256], severity[16];
	size_t n = 0;
	int k, rc;

	s = db_prepare(ctx->st,
		       "SELECT title, severity, significant_at, "
		       "COALESCE(handler_id, 0) FROM incidents WHERE id = ?",
		       "i", id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return -1;
	}
	snprintf(title, sizeof(title), "%s", db_col(s, 0));
	snprintf(severity, sizeof(severity), "%s", db_col(s, 1));
	aware = db_col_int(s, 2);
	handler = db_col_int(s, 3);
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT stage, reported_at FROM incident_reports "
		       "WHERE incident_id = ?",
		       "i", id);
	if (s == NULL)
		return -1;
	while (db_step(s) == DB_ROW)
		for (k = 0; k < NIS2_STAGES; k++)
			if (strcmp(db_col(s, 0), nis2_stage_names[k]) == 0)
				at[k] = db_col_int(s, 1);
	db_finish(ctx->st, s);
	/* the isms_managers and the handler, each once */
	s = db_prepare(
	    ctx->st,
	    "SELECT id FROM people WHERE active <> 0 AND ((roles & ?) "
	    "!= 0 OR id = ?) ORDER BY handle",
	    "ii", (int64_t)ROLE_ISMS_MANAGER, handler);
	if (s == NULL)
		return -1;
	while (n < NIS2_MAX_TO && db_step(s) == DB_ROW)
		to[n++] = db_col_int(s, 0);
	db_finish(ctx->st, s);
	rc = 0;
	for (k = 0; k < NIS2_STAGES && rc == 0; k++) {
		int64_t due = nis2_due(k, aware, at[NIS2_NOTIFICATION]);

		if (at[k] != 0 || due == 0)
			continue;
		rc = nis2_nudge_stage(ctx, w, id, title, severity, aware, k,
				      due, to, n);
	}
	return rc;
}

int
nudge_job_nis2(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *ids;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id FROM incidents i WHERE "
			   "significant <> 0 AND significant_at IS NOT NULL "
			   "AND NOT EXISTS (SELECT 1 FROM "
			   "incident_reports x WHERE x.incident_id = "
			   "i.id AND x.stage = 'final') ORDER BY id",
			   NULL),
		1, &ids, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = nis2_nudge(ctx, w, ids[i]);
	free(ids);
	return rc;
}
