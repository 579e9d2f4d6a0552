/*
 * Incidents: report, list, show, assign, severity, status, note, close
 * (through an approval) and the GDPR art. 33 72-hour breach clock.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

static const char *const severities[] = {"low", "medium", "high", "critical"};
static const char *const settable_status[] = {"triaged", "investigating",
					      "contained", "resolved"};

static int
one_of(const char *v, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v, list[i]) == 0)
			return (int)i;
	return -1;
}

struct incident {
	int64_t id;
	char title[256];
	char severity[16];
	char status[16];
	int64_t reporter_id;
	int64_t handler_id;
	int personal_data;
	int breach_open;
	int64_t personal_data_at; /* the 72-hour clock runs from here */
};

/* 1 found, 0 none, -1 database error (no reply). */
static int
incident_find(struct cmd_ctx *ctx, int64_t id, struct incident *inc)
{
	struct db_stmt *s =
	    db_prepare(ctx->st,
		       "SELECT title, severity, status, reporter_id, "
		       "COALESCE(handler_id, 0), personal_data, "
		       "breach_outcome IS NULL, COALESCE(personal_data_at, "
		       "created_at) FROM incidents WHERE id = ?",
		       "i", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc != DB_ROW) {
		db_finish(ctx->st, s);
		return rc == DB_DONE ? 0 : -1;
	}
	memset(inc, 0, sizeof(*inc));
	inc->id = id;
	snprintf(inc->title, sizeof(inc->title), "%s", db_col(s, 0));
	snprintf(inc->severity, sizeof(inc->severity), "%s", db_col(s, 1));
	snprintf(inc->status, sizeof(inc->status), "%s", db_col(s, 2));
	inc->reporter_id = db_col_int(s, 3);
	inc->handler_id = db_col_int(s, 4);
	inc->personal_data = (int)db_col_int(s, 5);
	inc->breach_open = inc->personal_data && (int)db_col_int(s, 6);
	inc->personal_data_at = db_col_int(s, 7);
	db_finish(ctx->st, s);
	return 1;
}

static int
incident_load(struct cmd_ctx *ctx, int64_t id, struct incident *inc)
{
	int rc = incident_find(ctx, id, inc);

	if (rc < 0)
		return cmd_error(ctx, "database error");
	if (rc == 0)
		return cmd_error(ctx, "no incident INC-%lld", (long long)id);
	return 0;
}

static int
may_see(const struct cmd_ctx *ctx, const struct incident *inc)
{
	return inc->reporter_id == ctx->me.id ||
	       inc->handler_id == ctx->me.id ||
	       has_role(&ctx->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR);
}

static int
may_handle(const struct cmd_ctx *ctx, const struct incident *inc)
{
	return inc->handler_id == ctx->me.id ||
	       has_role(&ctx->me, ROLE_ISMS_MANAGER);
}

int
incident_visible(struct cmd_ctx *ctx, int64_t id)
{
	struct incident inc;

	return incident_find(ctx, id, &inc) == 1 && may_see(ctx, &inc);
}

/*
 * Loads pos[0] as an incident the sender may see; with handle set, one
 * the sender may also change.
 */
static int
incident_arg(struct cmd_ctx *ctx, struct incident *inc, int handle)
{
	int64_t id;
	char obj[32];
	int rc;

	if (cmd_pos_id(ctx, 0, "INC", &id) < 0)
		return -1;
	rc = incident_find(ctx, id, inc);
	if (rc < 0)
		return cmd_error(ctx, "database error");
	/* the same answer whether it exists or not: no probing */
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)id);
	if (rc == 0 || !may_see(ctx, inc))
		return cmd_hidden(ctx, obj, "incident", INCIDENT_SEERS);
	if (handle && !may_handle(ctx, inc))
		return cmd_error(ctx,
				 "not allowed: only the handler of INC-%lld or "
				 "an isms_manager may change it",
				 (long long)id);
	if (handle && strcmp(inc->status, "closed") == 0)
		return cmd_error(ctx, "INC-%lld is closed", (long long)id);
	return 0;
}

static int
timeline(struct cmd_ctx *ctx, int64_t id, const char *kind, const char *text)
{
	return db_exec(
		   ctx->st,
		   "INSERT INTO incident_timeline(incident_id, at, actor_id, "
		   "kind, text) VALUES (?,?,?,?,?)",
		   "iiitt", id, ctx->now, ctx->me.id, kind, text) < 0
		   ? -1
		   : 0;
}

static int
touch(struct cmd_ctx *ctx, int64_t id)
{
	return db_exec(ctx->st,
		       "UPDATE incidents SET updated_at = ? WHERE id = ?", "ii",
		       ctx->now, id) < 0
		   ? -1
		   : 0;
}

/*
 * Validates and records a new incident, audits it and alerts the
 * isms_managers; shared by "incident report" and the transports that
 * report with their own title and text (mail). Returns the id or -1 with
 * an error reply (before anything is written when the input is refused).
 */
static int64_t
incident_create(struct cmd_ctx *ctx, const struct incident_new *in)
{
	const char *text = in->description, *sev = in->severity;
	const char *cat = in->category;
	char title[121], obj[32], *subject = NULL, *body = NULL;
	int64_t id = -1;
	size_t tl;
	int i;

	if (str_is_blank(text) || str_is_blank(in->title)) {
		cmd_error(ctx, "usage: incident report <what happened> "
			       "[severity=low|medium|high|critical] "
			       "[category=...] [personal_data=yes]");
		return -1;
	}
	if (str_utf8_chars(text) > INCIDENT_TEXT_MAX) {
		cmd_error(ctx, "description too long (at most %d characters)",
			  INCIDENT_TEXT_MAX);
		return -1;
	}
	i = sev == NULL ? 1 : one_of(sev, severities, 4);
	if (i < 0) {
		cmd_error(ctx,
			  "severity must be low, medium, high or critical");
		return -1;
	}
	sev = severities[i];
	if (cat != NULL && (strlen(cat) > 64 || str_is_blank(cat))) {
		cmd_error(ctx, "category must be 1 to 64 characters");
		return -1;
	}
	/* the title is the first line, cut at a word near 120 bytes */
	tl = strcspn(in->title, "\n");
	if (tl > 120) {
		tl = 120;
		while (tl > 60 && in->title[tl] != ' ')
			tl--;
		/* never cut inside a UTF-8 sequence */
		while (tl > 0 && ((unsigned char)in->title[tl] & 0xc0) == 0x80)
			tl--;
	}
	memcpy(title, in->title, tl);
	title[tl] = '\0';
	if (db_exec(ctx->st,
		    "INSERT INTO incidents(title, description, severity, "
		    "category, personal_data, personal_data_at, reporter_id, "
		    "via, created_at, updated_at) VALUES "
		    "(?,?,?,?,?,NULLIF(?, 0),?,?,?,?)",
		    "ttttiiitii", title, text, sev, cat,
		    (int64_t)(in->personal_data != 0),
		    in->personal_data ? ctx->now : 0, ctx->me.id, ctx->rq->via,
		    ctx->now, ctx->now) < 0)
		goto out;
	id = db_last_id(ctx->st);
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)id);
	subject = xasprintf(
	    "New incident %s [%s]%s: %s", obj, sev,
	    in->personal_data ? " (personal data, 72 h clock)" : "", title);
	body = xasprintf("%s reported %s (severity %s%s%s).\n\n%s\n\n"
			 "Assign it with: /isms incident assign %s @handle",
			 ctx->me.name, obj, sev, cat ? ", category " : "",
			 cat ? cat : "", text, obj);
	if (timeline(ctx, id, "reported", text) < 0 ||
	    cmd_audit(ctx, "incident.report", obj,
		      json_pack("{s:s,s:s,s:s?,s:b}", "title", title,
				"severity", sev, "category", cat,
				"personal_data", in->personal_data != 0)) < 0 ||
	    cmd_notify_role(ctx, ROLE_ISMS_MANAGER, ctx->me.id, MSG_INCIDENT,
			    subject, body) < 0) {
		id = -1;
		goto out;
	}
	ctx->rp->confidential = 1;
	cmd_reply(ctx,
		  "Thank you. Recorded as %s (severity %s).%s The ISMS "
		  "team has been alerted; follow it with /isms incident "
		  "show %s",
		  obj, sev,
		  in->personal_data ? " Personal data is involved: the 72-hour "
				      "notification clock has started."
				    : "",
		  obj);
out:
	free(subject);
	free(body);
	return id;
}

static int
incident_report(struct cmd_ctx *ctx)
{
	const char *pd = cmd_key(ctx, "personal_data");
	char *text = cmdline_join(ctx->cl, 0);
	struct incident_new in = {.title = text,
				  .description = text,
				  .severity = cmd_key(ctx, "severity"),
				  .category = cmd_key(ctx, "category")};
	int rc = -1;

	if (pd != NULL) {
		if (strcasecmp(pd, "yes") == 0 || strcasecmp(pd, "true") == 0)
			in.personal_data = 1;
		else if (strcasecmp(pd, "no") != 0 &&
			 strcasecmp(pd, "false") != 0) {
			rc = cmd_error(ctx, "personal_data must be yes or no");
			goto out;
		}
	}
	if (incident_create(ctx, &in) > 0)
		rc = 0;
out:
	free(text);
	return rc;
}

int64_t
incident_report_new(struct store *st, const struct config *cfg,
		    const struct isms_request *rq, const struct person *who,
		    const struct incident_new *in, struct isms_reply *rp)
{
	struct cmd_ctx ctx = {.st = st,
			      .cfg = cfg,
			      .rq = rq,
			      .rp = rp,
			      .me = *who,
			      .now = store_now(st)};
	int64_t id = incident_create(&ctx, in);

	if (id < 0 && !rp->error) {
		buf_reset(&rp->text);
		buf_puts(&rp->text, "internal error: nothing was changed");
		rp->error = 1;
	}
	return id;
}

static int
incident_list(struct cmd_ctx *ctx)
{
	const char *which = ctx->cl->npos > 0 ? ctx->cl->pos[0] : NULL;
	int all_seer = has_role(&ctx->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR);
	struct db_stmt *s;
	int n = 0, mine;

	if (which == NULL)
		which = all_seer ? "open" : "mine";
	if (strcasecmp(which, "open") != 0 && strcasecmp(which, "all") != 0 &&
	    strcasecmp(which, "mine") != 0)
		return cmd_error(ctx, "usage: incident list [open|all|mine]");
	mine = strcasecmp(which, "mine") == 0;
	s = db_prepare(
	    ctx->st,
	    "SELECT i.id, i.severity, i.status, i.title, "
	    "COALESCE(h.handle, '-') FROM incidents i "
	    "LEFT JOIN people h ON h.id = i.handler_id "
	    "WHERE (? = 0 OR i.status != 'closed') "
	    "AND (i.reporter_id = ?1 + 0 * ?2 OR 1) "
	    "AND (?3 = 1 OR i.reporter_id = ?4 OR i.handler_id = ?4) "
	    "AND (?5 = 0 OR i.reporter_id = ?4 OR i.handler_id = ?4) "
	    "ORDER BY i.id DESC LIMIT 50",
	    "iiiii", (int64_t)(strcasecmp(which, "all") == 0 ? 0 : 1),
	    (int64_t)0, (int64_t)all_seer, ctx->me.id, (int64_t)mine);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	ctx->rp->confidential = 1;
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "%sINC-%lld [%s] %s: %s (handler %s)",
			  n ? "\n" : "", (long long)db_col_int(s, 0),
			  db_col(s, 1), db_col(s, 2), db_col(s, 3),
			  db_col(s, 4));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "%s",
			  mine ? "You have no incidents (as reporter or "
				 "handler)."
			  : strcasecmp(which, "open") == 0
			      ? "No open incidents."
			      : "No incidents.");
	return 0;
}

static int
incident_show(struct cmd_ctx *ctx)
{
	struct incident inc;
	struct db_stmt *s;
	char created[32];

	if (incident_arg(ctx, &inc, 0) < 0)
		return -1;
	s = db_prepare(
	    ctx->st,
	    "SELECT i.description, COALESCE(i.category,'-'), i.created_at, "
	    "r.handle, r.name, COALESCE(h.handle,'-'), i.via, "
	    "COALESCE(i.lessons,''), COALESCE(i.breach_outcome,''), "
	    "COALESCE(i.breach_reason,'') FROM incidents i "
	    "JOIN people r ON r.id = i.reporter_id "
	    "LEFT JOIN people h ON h.id = i.handler_id WHERE i.id = ?",
	    "i", inc.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	ctx->rp->confidential = 1;
	time_iso(db_col_int(s, 2), created);
	cmd_reply(ctx,
		  "INC-%lld [%s] %s\nStatus: %s. Handler: %s. Category: %s.\n"
		  "Reported by %s (%s) at %s via %s.\n",
		  (long long)inc.id, inc.severity, inc.title, inc.status,
		  db_col(s, 5), db_col(s, 1), db_col(s, 3), db_col(s, 4),
		  created, db_col(s, 6));
	if (inc.personal_data) {
		int64_t left = inc.personal_data_at + 72 * 3600 - ctx->now;
		char known[32];

		time_iso(inc.personal_data_at, known);
		cmd_reply(ctx, "Personal data known since %s.\n", known);

		if (!inc.breach_open)
			cmd_reply(ctx,
				  "Personal data: yes; breach clock "
				  "stopped (%s%s%s).\n",
				  db_col(s, 8), *db_col(s, 9) ? ": " : "",
				  db_col(s, 9));
		else if (left > 0)
			cmd_reply(ctx,
				  "Personal data: yes; %lld h %02lld min "
				  "left to notify the authority.\n",
				  (long long)(left / 3600),
				  (long long)(left % 3600 / 60));
		else
			cmd_reply(ctx, "Personal data: yes; the 72-hour "
				       "notification deadline has PASSED.\n");
	}
	cmd_reply(ctx, "Description: %s\n", db_col(s, 0));
	if (*db_col(s, 7))
		cmd_reply(ctx, "Lessons learned: %s\n", db_col(s, 7));
	db_finish(ctx->st, s);
	s = db_prepare(
	    ctx->st,
	    "SELECT t.at, COALESCE(p.handle,'system'), t.kind, t.text "
	    "FROM incident_timeline t LEFT JOIN people p ON "
	    "p.id = t.actor_id WHERE t.incident_id = ? ORDER BY t.id",
	    "i", inc.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "Timeline:");
	while (db_step(s) == DB_ROW) {
		char at[32];

		time_iso(db_col_int(s, 0), at);
		cmd_reply(ctx, "\n  %s %s %s: %.200s", at, db_col(s, 1),
			  db_col(s, 2), db_col(s, 3));
	}
	db_finish(ctx->st, s);
	return 0;
}

static int
incident_assign(struct cmd_ctx *ctx)
{
	struct incident inc;
	struct person h;
	char obj[32], what[48], *subject, *body;
	int rc;

	if (incident_arg(ctx, &inc, 1) < 0)
		return -1;
	if (ctx->cl->npos != 2)
		return cmd_error(ctx, "usage: incident assign INC-n @handle");
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	snprintf(what, sizeof(what), "handler of %s", obj);
	if (cmd_assignee(ctx, ctx->cl->pos[1], what, &h) < 0)
		return -1;
	if (db_exec(
		ctx->st,
		"UPDATE incidents SET handler_id = ?, status = CASE WHEN "
		"status = 'new' THEN 'triaged' ELSE status END WHERE id = ?",
		"ii", h.id, inc.id) < 0 ||
	    touch(ctx, inc.id) < 0 ||
	    timeline(ctx, inc.id, "assigned", h.handle) < 0 ||
	    cmd_audit(ctx, "incident.assign", obj,
		      json_pack("{s:s}", "handler", h.handle)) < 0)
		return -1;
	subject = xasprintf("%s assigned to you: %s", obj, inc.title);
	body = xasprintf("%s assigned %s [%s] to you: %s\nSee /isms incident "
			 "show %s",
			 ctx->me.name, obj, inc.severity, inc.title, obj);
	rc = h.id == ctx->me.id
		 ? 0
		 : (cmd_notify(ctx, &h, MSG_INCIDENT, subject, body, NULL) < 0
			? -1
			: 0);
	free(subject);
	free(body);
	/* the previous handler hears that it is no longer theirs */
	if (rc == 0 && inc.handler_id != 0 && inc.handler_id != h.id &&
	    inc.handler_id != ctx->me.id) {
		struct person old;

		subject = xasprintf("%s reassigned to %s: %s", obj, h.handle,
				    inc.title);
		body = xasprintf("%s gave %s [%s] to %s; you are no longer its "
				 "handler.",
				 ctx->me.name, obj, inc.severity, h.handle);
		rc = store_person_by_id(ctx->st, inc.handler_id, &old) == 1 &&
			     cmd_notify(ctx, &old, MSG_INCIDENT, subject, body,
					NULL) >= 0
			 ? 0
			 : -1;
		free(subject);
		free(body);
	}
	if (rc < 0)
		return -1;
	cmd_reply(ctx, "%s assigned to %s.", obj, h.handle);
	return 0;
}

/*
 * Moves one field (severity or status) of pos[0] to the value in pos[1],
 * one of allowed: the update, a timeline line and an audit row.
 */
static int
incident_change(struct cmd_ctx *ctx, const char *field,
		const char *const *allowed, size_t nallowed, const char *usage)
{
	static const struct {
		const char *field, *sql;
	} updates[] = {
	    {"severity", "UPDATE incidents SET severity = ? WHERE id = ?"},
	    {"status", "UPDATE incidents SET status = ? WHERE id = ?"},
	};
	struct incident inc;
	char obj[32], line[64], action[32];
	const char *old, *sql = NULL;
	size_t k;
	int i;

	for (k = 0; k < ARRAY_LEN(updates); k++)
		if (strcmp(updates[k].field, field) == 0)
			sql = updates[k].sql;
	if (sql == NULL || incident_arg(ctx, &inc, 1) < 0)
		return -1;
	if (ctx->cl->npos != 2 ||
	    (i = one_of(ctx->cl->pos[1], allowed, nallowed)) < 0)
		return cmd_error(ctx, "usage: %s", usage);
	old = strcmp(field, "severity") == 0 ? inc.severity : inc.status;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	snprintf(line, sizeof(line), "%s -> %s", old, allowed[i]);
	snprintf(action, sizeof(action), "incident.%s", field);
	if (db_exec(ctx->st, sql, "ti", allowed[i], inc.id) < 0 ||
	    touch(ctx, inc.id) < 0 || timeline(ctx, inc.id, field, line) < 0 ||
	    cmd_audit(ctx, action, obj,
		      json_pack("{s:s,s:s}", "old", old, "new", allowed[i])) <
		0)
		return -1;
	cmd_reply(ctx, "%s%s is now %s.", obj,
		  strcmp(field, "severity") == 0 ? " severity" : "",
		  allowed[i]);
	return 0;
}

static int
incident_severity(struct cmd_ctx *ctx)
{
	return incident_change(ctx, "severity", severities, 4,
			       "incident severity INC-n "
			       "low|medium|high|critical");
}

static int
incident_status(struct cmd_ctx *ctx)
{
	return incident_change(ctx, "status", settable_status, 4,
			       "incident status INC-n "
			       "triaged|investigating|contained|resolved "
			       "(closing needs: incident close INC-n <lessons "
			       "learned>)");
}

static int
incident_note(struct cmd_ctx *ctx)
{
	struct incident inc;
	char obj[32], *text;
	int rc = -1;

	if (incident_arg(ctx, &inc, 0) < 0)
		return -1;
	if (strcmp(inc.status, "closed") == 0)
		return cmd_error(ctx, "INC-%lld is closed", (long long)inc.id);
	text = cmdline_join(ctx->cl, 1);
	if (str_is_blank(text)) {
		rc = cmd_error(ctx, "usage: incident note INC-n <text>");
		goto out;
	}
	if (str_utf8_chars(text) > INCIDENT_TEXT_MAX) {
		rc = cmd_error(ctx, "note too long (at most %d characters)",
			       INCIDENT_TEXT_MAX);
		goto out;
	}
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	if (timeline(ctx, inc.id, "note", text) < 0 || touch(ctx, inc.id) < 0 ||
	    cmd_audit(ctx, "incident.note", obj,
		      json_pack("{s:s}", "text", text)) < 0)
		goto out;
	ctx->rp->confidential = 1;
	cmd_reply(ctx, "Note added to %s.", obj);
	rc = 0;
out:
	free(text);
	return rc;
}

static int
incident_close(struct cmd_ctx *ctx)
{
	struct incident inc;
	struct person approver;
	char obj[32], *lessons, *summary = NULL;
	int64_t pending, apr;
	int rc = -1;

	if (incident_arg(ctx, &inc, 1) < 0)
		return -1;
	lessons = cmdline_join(ctx->cl, 1);
	if (str_is_blank(lessons)) {
		rc = cmd_error(ctx, "usage: incident close INC-n <lessons "
				    "learned> (lessons are required)");
		goto out;
	}
	if (str_utf8_chars(lessons) > INCIDENT_TEXT_MAX) {
		rc = cmd_error(ctx, "lessons too long (at most %d characters)",
			       INCIDENT_TEXT_MAX);
		goto out;
	}
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	if (db_int(ctx->st, &pending,
		   "SELECT id FROM approvals WHERE kind = 'incident.close' AND "
		   "object = ? AND status = 'pending'",
		   "t", obj) == 1) {
		rc = cmd_error(ctx,
			       "closure of %s is already waiting for "
			       "approval (APR-%lld)",
			       obj, (long long)pending);
		goto out;
	}
	switch (approval_pick_isms_manager(ctx, ctx->me.id, &approver)) {
	case 1:
		break;
	case 0:
		rc = cmd_error(ctx, "closing needs approval by an isms_manager "
				    "other than you, and there is none in the "
				    "directory");
		goto out;
	default:
		goto out;
	}
	summary = xasprintf("close %s \"%s\" with lessons learned: %s", obj,
			    inc.title, lessons);
	apr = approval_open(ctx, &incident_close_kind, obj, summary, &approver,
			    ROLE_ISMS_MANAGER,
			    json_pack("{s:s}", "lessons", lessons));
	if (apr < 0 || timeline(ctx, inc.id, "close_requested", lessons) < 0)
		goto out;
	cmd_reply(ctx,
		  "Closure of %s requested as APR-%lld; waiting for %s "
		  "(or another isms_manager) to approve.",
		  obj, (long long)apr, approver.handle);
	rc = 0;
out:
	free(lessons);
	free(summary);
	return rc;
}

static int
incident_close_approved(struct cmd_ctx *ctx, int64_t apr, const char *object,
			json_t *payload)
{
	const char *lessons =
	    json_string_value(json_object_get(payload, "lessons"));
	struct incident inc;
	int64_t id;
	char line[64];

	if (cmd_parse_id(ctx, object, "INC", &id) < 0 ||
	    incident_load(ctx, id, &inc) < 0)
		return -1;
	if (strcmp(inc.status, "closed") == 0)
		return cmd_error(ctx, "%s is already closed", object);
	snprintf(line, sizeof(line), "approved in APR-%lld", (long long)apr);
	if (db_exec(ctx->st,
		    "UPDATE incidents SET status = 'closed', closed_at = ?, "
		    "lessons = ?, updated_at = ? WHERE id = ?",
		    "itii", ctx->now, lessons, ctx->now, id) < 0 ||
	    timeline(ctx, id, "closed", line) < 0 ||
	    cmd_audit(ctx, "incident.close", object,
		      json_pack("{s:s?,s:I}", "lessons", lessons, "approval",
				(json_int_t)apr)) < 0)
		return -1;
	/* the reporter hears the outcome (requester and approver hear the
	 * decision from the approval itself) */
	{
		int64_t requester = 0;
		struct person rep;
		char *subject, *body;
		int rc = 0;

		if (db_int(ctx->st, &requester,
			   "SELECT requester_id FROM approvals WHERE id = ?",
			   "i", apr) != 1)
			return -1;
		if (inc.reporter_id == requester ||
		    inc.reporter_id == ctx->me.id)
			return 0;
		if (store_person_by_id(ctx->st, inc.reporter_id, &rep) != 1)
			return -1;
		subject = xasprintf("Your incident %s is closed: %s", object,
				    inc.title);
		body = xasprintf("%s \"%s\", which you reported, is closed.\n\n"
				 "Lessons learned: %s",
				 object, inc.title, lessons ? lessons : "-");
		if (cmd_notify(ctx, &rep, MSG_INCIDENT, subject, body, NULL) <
		    0)
			rc = -1;
		free(subject);
		free(body);
		return rc;
	}
}

static int
incident_close_rejected(struct cmd_ctx *ctx, int64_t apr, const char *object,
			json_t *payload)
{
	int64_t id;
	char line[64];

	(void)payload;
	if (cmd_parse_id(ctx, object, "INC", &id) < 0)
		return -1;
	snprintf(line, sizeof(line), "closure rejected in APR-%lld",
		 (long long)apr);
	return timeline(ctx, id, "close_rejected", line);
}

const struct approval_kind incident_close_kind = {
    .name = "incident.close",
    .approved = incident_close_approved,
    .rejected = incident_close_rejected};

/* notified / notifiable: stop the 72-hour clock with an outcome. */
static int
breach_stop(struct cmd_ctx *ctx, const char *outcome, const char *reason)
{
	struct incident inc;
	char obj[32];

	if (incident_arg(ctx, &inc, 0) < 0)
		return -1;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	if (!inc.personal_data)
		return cmd_error(ctx,
				 "%s does not involve personal data: no "
				 "72-hour clock runs",
				 obj);
	if (!inc.breach_open)
		return cmd_error(ctx,
				 "the 72-hour clock of %s is already "
				 "stopped",
				 obj);
	if (strcmp(outcome, "notified") == 0 &&
	    ctx->now > inc.personal_data_at + 72 * 3600 &&
	    (reason == NULL || str_is_blank(reason))) {
		char deadline[32];

		time_iso(inc.personal_data_at + 72 * 3600, deadline);
		return cmd_error(ctx,
				 "the 72-hour deadline of %s passed on %s: "
				 "give the reasons for the delay (GDPR art. "
				 "33(1)): incident notified %s <reason for the "
				 "delay>",
				 obj, deadline, obj);
	}
	if (db_exec(
		ctx->st,
		"UPDATE incidents SET breach_outcome = ?, breach_reason = ?, "
		"breach_delay_reason = ?, breach_stopped_at = ?, updated_at = "
		"? WHERE id = ?",
		"tttiii", outcome, reason,
		strcmp(outcome, "notified") == 0 ? reason : NULL, ctx->now,
		ctx->now, inc.id) < 0 ||
	    timeline(ctx, inc.id, "breach", reason ? reason : outcome) < 0 ||
	    cmd_audit(ctx, "incident.breach", obj,
		      json_pack("{s:s,s:s?}", "outcome", outcome, "reason",
				reason)) < 0)
		return -1;
	cmd_reply(ctx, "%s: 72-hour clock stopped (%s).", obj,
		  strcmp(outcome, "notified") == 0 ? "authority notified"
						   : "not notifiable");
	return 0;
}

static int
incident_notified(struct cmd_ctx *ctx)
{
	char *reason = NULL;
	int rc;

	if (ctx->cl->npos < 1)
		return cmd_error(ctx, "usage: incident notified INC-n "
				      "[reason for a delay]");
	if (ctx->cl->npos > 1)
		reason = cmdline_join(ctx->cl, 1);
	rc = breach_stop(ctx, "notified", reason);
	free(reason);
	return rc;
}

/*
 * personal_data INC-n yes|no [reason]: personal data became known (the
 * 72-hour clock starts now) or turned out not to be involved (it stops).
 */
static int
incident_personal_data(struct cmd_ctx *ctx)
{
	struct incident inc;
	char obj[32], at[32], *reason = NULL, *line = NULL, *subject = NULL;
	int yes, rc = -1;

	if (ctx->cl->npos < 2 || (strcasecmp(ctx->cl->pos[1], "yes") != 0 &&
				  strcasecmp(ctx->cl->pos[1], "no") != 0))
		return cmd_error(ctx, "usage: incident personal_data INC-n "
				      "yes|no [reason]");
	yes = strcasecmp(ctx->cl->pos[1], "yes") == 0;
	if (incident_arg(ctx, &inc, 1) < 0)
		return -1;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	if (yes && inc.personal_data)
		return cmd_error(ctx,
				 "%s already involves personal data; its "
				 "72-hour clock runs from when that was known",
				 obj);
	if (!yes && !inc.personal_data)
		return cmd_error(ctx,
				 "%s is not marked as involving personal "
				 "data",
				 obj);
	if (ctx->cl->npos > 2)
		reason = cmdline_join(ctx->cl, 2);
	if (reason != NULL && strlen(reason) > INCIDENT_TEXT_MAX) {
		rc = cmd_error(ctx, "reason too long (at most %d characters)",
			       INCIDENT_TEXT_MAX);
		goto out;
	}
	time_iso(ctx->now, at);
	line = xasprintf("%s since %s%s%s",
			 yes ? "personal data involved, known"
			     : "no personal data involved after all,",
			 at, reason ? ": " : "", reason ? reason : "");
	if (db_exec(ctx->st,
		    yes ? "UPDATE incidents SET personal_data = 1, "
			  "personal_data_at = ?1, personal_data_cleared_at = "
			  "NULL, breach_outcome = NULL, breach_reason = NULL, "
			  "breach_stopped_at = NULL, updated_at = ?1 WHERE id "
			  "= ?2"
			: "UPDATE incidents SET personal_data = 0, "
			  "personal_data_cleared_at = ?1, updated_at = ?1 "
			  "WHERE id = ?2",
		    "ii", ctx->now, inc.id) < 0 ||
	    timeline(ctx, inc.id, "personal_data", line) < 0 ||
	    cmd_audit(ctx, "incident.personal_data", obj,
		      json_pack("{s:b,s:s,s:s?}", "personal_data", yes, "at",
				at, "reason", reason)) < 0)
		goto out;
	if (yes) {
		subject = xasprintf("%s involves personal data: the 72-hour "
				    "clock runs from %s",
				    obj, at);
		if (cmd_notify_role(ctx, ROLE_ISMS_MANAGER, ctx->me.id,
				    MSG_BREACH, subject, line) < 0)
			goto out;
	}
	ctx->rp->confidential = 1;
	if (yes)
		cmd_reply(ctx,
			  "%s involves personal data: the 72-hour clock to "
			  "notify the authority runs from now (%s).",
			  obj, at);
	else
		cmd_reply(ctx,
			  "%s: no personal data involved; the 72-hour clock "
			  "is stopped.",
			  obj);
	rc = 0;
out:
	free(reason);
	free(line);
	free(subject);
	return rc;
}

static int
incident_notifiable(struct cmd_ctx *ctx)
{
	char *reason;
	int rc;

	if (ctx->cl->npos < 3 || strcasecmp(ctx->cl->pos[1], "no") != 0)
		return cmd_error(ctx, "usage: incident notifiable INC-n no "
				      "<reason>");
	reason = cmdline_join(ctx->cl, 2);
	rc = breach_stop(ctx, "not_notifiable", reason);
	free(reason);
	return rc;
}

static const struct cmd_entry incident_commands[] = {
    {
	.verb = "report",
	.flags = CMD_SELF,
	.keys = "severity,category,personal_data",
	.usage = "<what happened> [severity=low|medium|high|critical] "
		 "[category=...] "
		 "[personal_data=yes]",
	.help = "report an incident (shortcut: /incident <text>)",
	.exec = incident_report,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "[open|all|mine]",
	.help = "incidents you may see",
	.exec = incident_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "INC-n",
	.help = "details and timeline",
	.exec = incident_show,
    },
    {
	.verb = "assign",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "INC-n @handle",
	.help = "set the handler",
	.exec = incident_assign,
    },
    {
	.verb = "severity",
	.usage = "INC-n low|medium|high|critical",
	.help = "change the severity (handler or isms_manager)",
	.exec = incident_severity,
    },
    {
	.verb = "status",
	.usage = "INC-n triaged|investigating|contained|resolved",
	.help = "move through the lifecycle (handler or isms_manager)",
	.exec = incident_status,
    },
    {
	.verb = "note",
	.usage = "INC-n <text>",
	.help = "add a timeline entry",
	.exec = incident_note,
    },
    {
	.verb = "close",
	.usage = "INC-n <lessons learned>",
	.help = "request closure; an isms_manager other than you approves",
	.exec = incident_close,
    },
    {
	.verb = "personal_data",
	.usage = "INC-n yes|no [reason]",
	.help = "personal data is (or is not) involved: starts or stops the "
		"72-hour "
		"clock now (handler or isms_manager)",
	.exec = incident_personal_data,
    },
    {
	.verb = "notified",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "INC-n [reason for the delay]",
	.help =
	    "the supervisory authority was notified (stops the 72-hour clock; "
	    "after the deadline the reason for the delay is required)",
	.exec = incident_notified,
    },
    {
	.verb = "notifiable",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "INC-n no <reason>",
	.help =
	    "record why no notification is needed (stops the 72-hour clock)",
	.exec = incident_notifiable,
    },
    {0},
};

const struct cmd_object incident_object = {
    .name = "incident",
    .help = "report and handle security incidents",
    .commands = incident_commands,
};
