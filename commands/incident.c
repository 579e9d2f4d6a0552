/*
 * Incidents: report, list, show, assign, severity, status, note, close
 * (through an approval), the GDPR art. 33 72-hour breach clock and art. 34
 * decision, and the NIS2 art. 23 reports of a significant incident.
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
	int significant;	  /* NIS2 art. 23 */
	int64_t significant_at;	  /* the NIS2 clock runs from here */
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
		       "created_at), significant, COALESCE(significant_at, 0) "
		       "FROM incidents WHERE id = ?",
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
	inc->significant = (int)db_col_int(s, 8);
	inc->significant_at = db_col_int(s, 9);
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
 * the sender may also change; INCIDENT_EVEN_CLOSED also when it is closed
 * (what is owed to authorities and data subjects outlives the closure).
 */
#define INCIDENT_EVEN_CLOSED 2

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
	if (handle == 1 && strcmp(inc->status, "closed") == 0)
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
	    "AND (i.reporter_id = ?1 + 0 * ?2 OR 1 = 1) "
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

static int art34_show(struct cmd_ctx *ctx, const struct incident *inc);
static int nis2_show(struct cmd_ctx *ctx, const struct incident *inc);

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
	if (art34_show(ctx, &inc) < 0 || nis2_show(ctx, &inc) < 0) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
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

/* NIS2 art. 23 (see cmd.h for the clock). */
const char *const nis2_stage_names[NIS2_STAGES] = {"early", "notification",
						   "final"};
const char *const nis2_stage_titles[NIS2_STAGES] = {
    "early warning", "incident notification", "final report"};

int64_t
nis2_due(int stage, int64_t aware, int64_t notified)
{
	switch (stage) {
	case NIS2_EARLY:
		return aware + 24 * 3600;
	case NIS2_NOTIFICATION:
		return aware + 72 * 3600;
	default:
		/* art. 23(4)(d): one month after the notification */
		return notified ? time_add_months(notified, 1) : 0;
	}
}

/* One recorded stage: when and by whom (at 0: not recorded). */
struct nis2_report {
	int64_t at, due;
	char by[64];
	char note[256];
};

/* The recorded stages of INC-id into r[NIS2_STAGES]. 0 or -1. */
static int
nis2_reports(struct cmd_ctx *ctx, int64_t id, struct nis2_report *r)
{
	struct db_stmt *s;
	int rc, k;

	memset(r, 0, NIS2_STAGES * sizeof(*r));
	s = db_prepare(ctx->st,
		       "SELECT x.stage, x.reported_at, x.due_at, p.handle, "
		       "COALESCE(x.note, '') FROM incident_reports x JOIN "
		       "people p ON p.id = x.reported_by WHERE "
		       "x.incident_id = ?",
		       "i", id);
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		k = one_of(db_col(s, 0), nis2_stage_names, NIS2_STAGES);
		if (k < 0)
			continue;
		r[k].at = db_col_int(s, 1);
		r[k].due = db_col_int(s, 2);
		snprintf(r[k].by, sizeof(r[k].by), "%s", db_col(s, 3));
		snprintf(r[k].note, sizeof(r[k].note), "%s", db_col(s, 4));
	}
	db_finish(ctx->st, s);
	return rc == DB_DONE ? 0 : -1;
}

/* "3 h 05 min" after or before: the distance of t from now. */
static void
nis2_left(int64_t secs, char *out, size_t len)
{
	if (secs < 0)
		secs = -secs;
	if (secs >= 2 * 86400)
		snprintf(out, len, "%lld days %lld h",
			 (long long)(secs / 86400),
			 (long long)(secs % 86400 / 3600));
	else
		snprintf(out, len, "%lld h %02lld min",
			 (long long)(secs / 3600),
			 (long long)(secs % 3600 / 60));
}

/* The NIS2 block of "incident show". */
static int
nis2_show(struct cmd_ctx *ctx, const struct incident *inc)
{
	struct nis2_report r[NIS2_STAGES];
	char at[32], due[32], left[32];
	int k;

	if (nis2_reports(ctx, inc->id, r) < 0)
		return -1;
	if (!inc->significant && r[NIS2_EARLY].at == 0)
		return 0;
	if (inc->significant) {
		time_iso(inc->significant_at, at);
		cmd_reply(ctx, "NIS2: significant incident since %s.\n", at);
	} else {
		cmd_reply(ctx, "NIS2: no longer significant; no clock runs.\n");
	}
	for (k = 0; k < NIS2_STAGES; k++) {
		int64_t d =
		    nis2_due(k, inc->significant_at, r[NIS2_NOTIFICATION].at);

		if (r[k].at) {
			time_iso(r[k].at, at);
			cmd_reply(ctx, "  %s: sent %s, recorded by %s%s%s%s\n",
				  nis2_stage_titles[k], at, r[k].by,
				  r[k].at > r[k].due ? " (late)" : "",
				  *r[k].note ? ": " : "", r[k].note);
			continue;
		}
		if (!inc->significant)
			continue;
		if (d == 0) {
			cmd_reply(ctx,
				  "  %s: due one month after the incident "
				  "notification\n",
				  nis2_stage_titles[k]);
			continue;
		}
		time_iso(d, due);
		nis2_left(d - ctx->now, left, sizeof(left));
		if (d > ctx->now)
			cmd_reply(ctx, "  %s: due by %s (%s left)\n",
				  nis2_stage_titles[k], due, left);
		else
			cmd_reply(ctx, "  %s: due by %s, PASSED %s ago\n",
				  nis2_stage_titles[k], due, left);
	}
	return 0;
}

/* The GDPR art. 34 line of "incident show". */
static int
art34_show(struct cmd_ctx *ctx, const struct incident *inc)
{
	struct db_stmt *s;
	char at[32];

	if (!inc->personal_data)
		return 0;
	s = db_prepare(
	    ctx->st,
	    "SELECT i.subjects_informed, COALESCE(i.subjects_reason, "
	    "''), COALESCE(i.subjects_decided_at, 0), "
	    "COALESCE(p.handle, '-') FROM incidents i LEFT JOIN "
	    "people p ON p.id = i.subjects_decided_by WHERE i.id = ?",
	    "i", inc->id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return -1;
	}
	if (db_col_int(s, 2) == 0) {
		cmd_reply(ctx, "Data subjects (GDPR art. 34): not decided yet "
			       "(incident subjects-informed INC-n yes|no "
			       "<reason>).\n");
	} else {
		time_iso(db_col_int(s, 2), at);
		cmd_reply(ctx,
			  "Data subjects (GDPR art. 34): %s, decided by %s "
			  "at %s%s%s.\n",
			  strcmp(db_col(s, 0), "yes") == 0 ? "informed"
							   : "not informed",
			  db_col(s, 3), at, *db_col(s, 1) ? ": " : "",
			  db_col(s, 1));
	}
	db_finish(ctx->st, s);
	return 0;
}

/*
 * Tells the isms_managers and the handler (when neither the sender nor an
 * isms_manager) at once: a NIS2 clock is urgent.
 */
static int
nis2_alert(struct cmd_ctx *ctx, const struct incident *inc, const char *subject,
	   const char *body)
{
	struct person h;

	if (cmd_notify_role(ctx, ROLE_ISMS_MANAGER, ctx->me.id, MSG_BREACH,
			    subject, body) < 0)
		return -1;
	if (inc->handler_id == 0 || inc->handler_id == ctx->me.id)
		return 0;
	if (store_person_by_id(ctx->st, inc->handler_id, &h) != 1)
		return -1;
	if (has_role(&h, ROLE_ISMS_MANAGER))
		return 0;
	return cmd_notify(ctx, &h, MSG_BREACH, subject, body, NULL) < 0 ? -1
									: 0;
}

/*
 * significant INC-n yes|no [reason]: NIS2 art. 23. Yes starts the clock
 * now, the moment the organisation is aware the incident is significant
 * (a later yes after a no starts it afresh); no stops it. Reports
 * already recorded stay.
 */
static int
incident_significant(struct cmd_ctx *ctx)
{
	struct incident inc;
	char obj[32], at[32], early[32], notif[32];
	char *reason = NULL, *line = NULL, *subject = NULL, *body = NULL;
	int yes, rc = -1;

	if (ctx->cl->npos < 2 || (strcasecmp(ctx->cl->pos[1], "yes") != 0 &&
				  strcasecmp(ctx->cl->pos[1], "no") != 0))
		return cmd_error(ctx, "usage: incident significant INC-n "
				      "yes|no [reason] (yes or no)");
	yes = strcasecmp(ctx->cl->pos[1], "yes") == 0;
	if (incident_arg(ctx, &inc, INCIDENT_EVEN_CLOSED) < 0)
		return -1;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	if (yes && inc.significant)
		return cmd_error(ctx,
				 "%s is already significant; its NIS2 clock "
				 "runs from when that was known",
				 obj);
	if (!yes && !inc.significant)
		return cmd_error(ctx, "%s is not marked significant", obj);
	if (ctx->cl->npos > 2)
		reason = cmdline_join(ctx->cl, 2);
	if (reason != NULL && str_utf8_chars(reason) > INCIDENT_TEXT_MAX) {
		rc = cmd_error(ctx, "reason too long (at most %d characters)",
			       INCIDENT_TEXT_MAX);
		goto out;
	}
	time_iso(ctx->now, at);
	time_iso(nis2_due(NIS2_EARLY, ctx->now, 0), early);
	time_iso(nis2_due(NIS2_NOTIFICATION, ctx->now, 0), notif);
	line = xasprintf("%s %s%s%s",
			 yes ? "significant (NIS2 art. 23), known since"
			     : "not significant after all, since",
			 at, reason ? ": " : "", reason ? reason : "");
	if (db_exec(ctx->st,
		    yes ? "UPDATE incidents SET significant = 1, "
			  "significant_at = ?1, significant_cleared_at = NULL, "
			  "updated_at = ?1 WHERE id = ?2"
			: "UPDATE incidents SET significant = 0, "
			  "significant_cleared_at = ?1, updated_at = ?1 WHERE "
			  "id = ?2",
		    "ii", ctx->now, inc.id) < 0 ||
	    timeline(ctx, inc.id, "significant", line) < 0 ||
	    cmd_audit(ctx, "incident.significant", obj,
		      yes ? json_pack("{s:b,s:s,s:s,s:s,s:s?}", "significant",
				      1, "at", at, "early_warning_due", early,
				      "notification_due", notif, "reason",
				      reason)
			  : json_pack("{s:b,s:s,s:s?}", "significant", 0, "at",
				      at, "reason", reason)) < 0)
		goto out;
	if (yes) {
		subject = xasprintf("%s is a significant incident (NIS2): "
				    "early warning due by %s",
				    obj, early);
		body = xasprintf(
		    "%s marked %s [%s] \"%s\" significant under NIS2 art. 23 "
		    "at %s.\n\nDue to the CSIRT or competent authority: the "
		    "early warning by %s, the incident notification by %s and "
		    "a final report within one month of the notification.\n\n"
		    "Record each with /isms incident reported %s "
		    "early|notification|final.",
		    ctx->me.name, obj, inc.severity, inc.title, at, early,
		    notif, obj);
		inc.significant_at = ctx->now;
		if (nis2_alert(ctx, &inc, subject, body) < 0)
			goto out;
	}
	ctx->rp->confidential = 1;
	if (yes)
		cmd_reply(ctx,
			  "%s is significant (NIS2 art. 23); the clock runs "
			  "from now (%s): early warning due by %s, incident "
			  "notification by %s, final report within one month "
			  "of the notification.",
			  obj, at, early, notif);
	else
		cmd_reply(ctx,
			  "%s is not significant; its NIS2 clock is stopped.",
			  obj);
	rc = 0;
out:
	free(reason);
	free(line);
	free(subject);
	free(body);
	return rc;
}

/*
 * reported INC-n early|notification|final [note]: a NIS2 report was sent,
 * in order; who and when are recorded with the deadline it had.
 */
static int
incident_reported(struct cmd_ctx *ctx)
{
	struct nis2_report r[NIS2_STAGES];
	struct incident inc;
	char obj[32], at[32], due[32], next[32], late[48];
	char *note = NULL, *line = NULL;
	int64_t d;
	int k, rc = -1;

	if (ctx->cl->npos < 2)
		return cmd_error(ctx, "usage: incident reported INC-n "
				      "early|notification|final [note]");
	k = one_of(ctx->cl->pos[1], nis2_stage_names, NIS2_STAGES);
	if (k < 0)
		return cmd_error(ctx,
				 "stage must be early, notification or final "
				 "(NIS2 art. 23: early warning, incident "
				 "notification, final report)");
	if (incident_arg(ctx, &inc, INCIDENT_EVEN_CLOSED) < 0)
		return -1;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	if (!inc.significant)
		return cmd_error(ctx,
				 "%s is not marked significant: mark it first "
				 "with incident significant %s yes",
				 obj, obj);
	if (nis2_reports(ctx, inc.id, r) < 0)
		return cmd_error(ctx, "database error");
	if (r[k].at) {
		time_iso(r[k].at, at);
		return cmd_error(ctx,
				 "the %s of %s is already recorded (%s by %s)",
				 nis2_stage_titles[k], obj, at, r[k].by);
	}
	if (k > 0 && r[k - 1].at == 0)
		return cmd_error(ctx,
				 "the %s of %s is not recorded yet: the %s "
				 "comes after it",
				 nis2_stage_titles[k - 1], obj,
				 nis2_stage_titles[k]);
	if (ctx->cl->npos > 2)
		note = cmdline_join(ctx->cl, 2);
	if (note != NULL && str_utf8_chars(note) > INCIDENT_TEXT_MAX) {
		rc = cmd_error(ctx, "note too long (at most %d characters)",
			       INCIDENT_TEXT_MAX);
		goto out;
	}
	d = nis2_due(k, inc.significant_at, r[NIS2_NOTIFICATION].at);
	time_iso(ctx->now, at);
	time_iso(d, due);
	late[0] = '\0';
	if (ctx->now > d) {
		char gap[32];

		nis2_left(ctx->now - d, gap, sizeof(gap));
		snprintf(late, sizeof(late), "%s late", gap);
	}
	line = xasprintf("NIS2 %s sent (due %s%s%s)%s%s", nis2_stage_titles[k],
			 due, *late ? ", " : "", late, note ? ": " : "",
			 note ? note : "");
	if (db_exec(ctx->st,
		    "INSERT INTO incident_reports(incident_id, stage, due_at, "
		    "reported_at, reported_by, note) VALUES (?,?,?,?,?,?)",
		    "itiiit", inc.id, nis2_stage_names[k], d, ctx->now,
		    ctx->me.id, note) < 0 ||
	    touch(ctx, inc.id) < 0 || timeline(ctx, inc.id, "nis2", line) < 0 ||
	    cmd_audit(ctx, "incident.reported", obj,
		      json_pack("{s:s,s:s,s:s,s:b,s:s?}", "stage",
				nis2_stage_names[k], "at", at, "due", due,
				"late", ctx->now > d, "note", note)) < 0)
		goto out;
	ctx->rp->confidential = 1;
	cmd_reply(ctx, "%s: NIS2 %s recorded as sent at %s by %s (%s).", obj,
		  nis2_stage_titles[k], at, ctx->me.handle,
		  *late ? late : "on time");
	if (k + 1 < NIS2_STAGES) {
		time_iso(nis2_due(k + 1, inc.significant_at,
				  k == NIS2_NOTIFICATION
				      ? ctx->now
				      : r[NIS2_NOTIFICATION].at),
			 next);
		cmd_reply(ctx, " Next: the %s, due by %s.",
			  nis2_stage_titles[k + 1], next);
	} else {
		cmd_reply(ctx, " All NIS2 reports are recorded.");
	}
	rc = 0;
out:
	free(note);
	free(line);
	return rc;
}

/*
 * subjects-informed INC-n yes|no <reason>: GDPR art. 34, whether the data
 * subjects of a personal-data breach were told; "no" must say why (art.
 * 34(3)). A later decision replaces the earlier; the timeline keeps both.
 */
static int
incident_subjects_informed(struct cmd_ctx *ctx)
{
	struct incident inc;
	char obj[32], *reason = NULL, *line = NULL;
	int yes, rc = -1;

	if (ctx->cl->npos < 2 || (strcasecmp(ctx->cl->pos[1], "yes") != 0 &&
				  strcasecmp(ctx->cl->pos[1], "no") != 0))
		return cmd_error(ctx, "usage: incident subjects-informed INC-n "
				      "yes|no <reason> (yes or no)");
	yes = strcasecmp(ctx->cl->pos[1], "yes") == 0;
	if (incident_arg(ctx, &inc, INCIDENT_EVEN_CLOSED) < 0)
		return -1;
	snprintf(obj, sizeof(obj), "INC-%lld", (long long)inc.id);
	if (!inc.personal_data)
		return cmd_error(ctx,
				 "%s does not involve personal data: GDPR "
				 "art. 34 does not apply",
				 obj);
	if (ctx->cl->npos > 2)
		reason = cmdline_join(ctx->cl, 2);
	if (!yes && (reason == NULL || str_is_blank(reason))) {
		rc = cmd_error(ctx,
			       "say why the data subjects are not informed "
			       "(GDPR art. 34(3)): incident subjects-informed "
			       "%s no <reason>",
			       obj);
		goto out;
	}
	if (reason != NULL && str_utf8_chars(reason) > INCIDENT_TEXT_MAX) {
		rc = cmd_error(ctx, "reason too long (at most %d characters)",
			       INCIDENT_TEXT_MAX);
		goto out;
	}
	line =
	    xasprintf("data subjects %s%s%s", yes ? "informed" : "not informed",
		      reason ? ": " : "", reason ? reason : "");
	if (db_exec(ctx->st,
		    "UPDATE incidents SET subjects_informed = ?, "
		    "subjects_reason = ?, subjects_decided_at = ?, "
		    "subjects_decided_by = ?, updated_at = ? WHERE id = ?",
		    "ttiiii", yes ? "yes" : "no", reason, ctx->now, ctx->me.id,
		    ctx->now, inc.id) < 0 ||
	    timeline(ctx, inc.id, "art34", line) < 0 ||
	    cmd_audit(ctx, "incident.subjects_informed", obj,
		      json_pack("{s:s,s:s?}", "informed", yes ? "yes" : "no",
				"reason", reason)) < 0)
		goto out;
	ctx->rp->confidential = 1;
	cmd_reply(ctx, "%s: data subjects %s (GDPR art. 34) recorded.", obj,
		  yes ? "informed" : "not informed");
	rc = 0;
out:
	free(reason);
	free(line);
	return rc;
}

int
incident_nis2_report_write(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int64_t running = 0, undecided = 0;
	int overdue = 0;

	s = db_prepare(
	    ctx->st,
	    "SELECT id, significant_at, (SELECT group_concat(stage) "
	    "FROM incident_reports x WHERE x.incident_id = i.id), "
	    "COALESCE((SELECT reported_at FROM incident_reports x "
	    "WHERE x.incident_id = i.id AND stage = "
	    "'notification'), 0) FROM incidents i WHERE "
	    "significant <> 0 AND significant_at IS NOT NULL AND NOT "
	    "EXISTS (SELECT 1 FROM incident_reports x WHERE "
	    "x.incident_id = i.id AND x.stage = 'final') ORDER BY "
	    "id",
	    NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "NIS2 significant incidents:");
	while (db_step(s) == DB_ROW) {
		const char *done = db_col(s, 2);
		int k;

		running++;
		for (k = 0; k < NIS2_STAGES; k++) {
			int64_t d =
			    nis2_due(k, db_col_int(s, 1), db_col_int(s, 3));
			char due[32];

			if (strstr(done, nis2_stage_names[k]) != NULL ||
			    d == 0 || d > ctx->now)
				continue;
			time_iso(d, due);
			cmd_reply(ctx, "\n  INC-%lld %s OVERDUE (due %s)",
				  (long long)db_col_int(s, 0),
				  nis2_stage_titles[k], due);
			overdue++;
		}
	}
	db_finish(ctx->st, s);
	if (db_int(
		ctx->st, &undecided,
		"SELECT COUNT(*) FROM incidents WHERE personal_data <> 0 AND "
		"subjects_decided_at IS NULL AND status != 'closed'",
		NULL) != 1)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx,
		  "%s%lld with reports outstanding, %d report%s overdue.\n"
		  "Personal-data breaches without a GDPR art. 34 decision: "
		  "%lld open.",
		  overdue ? "\n  " : " ", (long long)running, overdue,
		  overdue == 1 ? "" : "s", (long long)undecided);
	return 0;
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
    {
	.verb = "significant",
	.usage = "INC-n yes|no [reason]",
	.help = "a significant incident under NIS2 art. 23: starts (or stops) "
		"its clock now (handler or isms_manager)",
	.exec = incident_significant,
    },
    {
	.verb = "reported",
	.usage = "INC-n early|notification|final [note]",
	.help = "a NIS2 report was sent: early warning (24 h), incident "
		"notification (72 h), final report (one month later), in order",
	.exec = incident_reported,
    },
    {
	.verb = "subjects-informed",
	.usage = "INC-n yes|no <reason>",
	.help = "GDPR art. 34: the data subjects of a personal-data breach "
		"were (not) informed; no needs the reason",
	.exec = incident_subjects_informed,
    },
    {0},
};

const struct cmd_object incident_object = {
    .name = "incident",
    .help = "report and handle security incidents",
    .commands = incident_commands,
};
