/*
 * Management reviews (MR-n): planned on a date; their ISO/IEC 27001
 * clause 9.3.2 inputs compiled from the register; recorded by top
 * management with the decisions and who attended (9.3.3), keeping the
 * inputs as they stood.
 */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "objective.h"
#include "register.h"

#define REVIEW_ATTENDEES_MAX 64

/*
 * A planned review is announced to top management (clause 9.3: they hold
 * it) and the isms_managers, with its id and date.
 */
static int
review_notice(struct cmd_ctx *ctx, const char *obj, const char *date)
{
	int64_t ids[128];
	char *subject, *body;
	size_t n = 0;
	int m, rc = -1;
	struct db_stmt *s =
	    db_prepare(ctx->st,
		       "SELECT id FROM people WHERE active <> 0 AND "
		       "(roles & ?) != 0 ORDER BY handle LIMIT "
		       "64",
		       "i", (int64_t)ROLE_ISMS_MANAGER);

	if (s == NULL)
		return -1;
	while (db_step(s) == DB_ROW)
		ids[n++] = db_col_int(s, 0);
	db_finish(ctx->st, s);
	m = cmd_management(ctx, ids + n, ARRAY_LEN(ids) - n);
	if (m < 0)
		return -1;
	n += (size_t)m;
	subject = xasprintf("Management review %s planned for %s", obj, date);
	body = xasprintf("%s planned management review %s for %s "
			 "(ISO/IEC 27001 clause 9.3). Its inputs: /isms "
			 "review show %s",
			 ctx->me.name, obj, date, obj);
	rc = cmd_notify_ids(ctx, ids, n, ctx->me.id, MSG_REGISTER, subject,
			    body);
	free(subject);
	free(body);
	return rc;
}

static int
review_plan(struct cmd_ctx *ctx)
{
	char obj[32], date[16];
	int64_t when;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	if (reg_key_plan_date(ctx, "date", 1, &when) < 0)
		return -1;
	if (db_exec(ctx->st,
		    "INSERT INTO reviews(planned_at, created_by, created_at) "
		    "VALUES (?,?,?)",
		    "iii", when, ctx->me.id, ctx->now) < 0)
		return -1;
	reg_obj(obj, "MR", db_last_id(ctx->st));
	time_date(when, date);
	if (cmd_audit(ctx, "review.plan", obj,
		      json_pack("{s:s}", "date", date)) < 0 ||
	    review_notice(ctx, obj, date) < 0)
		return -1;
	cmd_reply(ctx,
		  "Management review %s planned for %s. Its inputs: "
		  "review show %s",
		  obj, date, obj);
	return 0;
}

/* Rows of a statement as indented lines "  <col0>"; how many, or -1. */
static int
lines(struct cmd_ctx *ctx, struct db_stmt *s, const char *none)
{
	int n = 0;

	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "\n  %.300s", db_col(s, 0));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " %s", none);
	return n;
}

/* What a query of the inputs is bound to (its one parameter). */
enum input_param {
	INPUT_REVIEW, /* the review's id */
	INPUT_SINCE,  /* when the previous review was held, or 0 */
	INPUT_NOW,
};

/* Sections written by the report and register modules. */
static int
inputs_context(struct cmd_ctx *ctx, int64_t since)
{
	return context_changes_write(ctx, since, "no issues added or retired");
}

static int
inputs_parties(struct cmd_ctx *ctx, int64_t since)
{
	return party_changes_write(ctx, since, "  no changes recorded");
}

static int
inputs_monitoring(struct cmd_ctx *ctx, int64_t since)
{
	if (report_incidents_write(ctx, since) < 0)
		return -1;
	cmd_reply(ctx, "\n  ");
	if (action_summary_write(ctx) < 0)
		return -1;
	cmd_reply(ctx, "\n  Awareness: ");
	if (report_awareness_write(ctx, "no quiz campaigns yet") < 0)
		return -1;
	cmd_reply(ctx, "\n  Objective measurements in the period:\n  ");
	return objective_measurements_write(ctx, since, "none recorded");
}

static int
inputs_objectives(struct cmd_ctx *ctx, int64_t since)
{
	(void)since;
	return objective_fulfilment_write(ctx, "no objectives set");
}

static int
inputs_feedback(struct cmd_ctx *ctx, int64_t since)
{
	return party_feedback_write(ctx, since, "none recorded");
}

static int
inputs_risks(struct cmd_ctx *ctx, int64_t since)
{
	(void)since;
	return risk_summary_write(ctx);
}

/*
 * The inputs of clause 9.3.2 a) to g), in the standard's order (b and d
 * in parts): a heading, then either the rows of sql (one line each,
 * empty when there are none) or what write says, on the next line.
 */
static const struct review_input {
	const char *heading;
	const char *sql; /* one text column; ?1 bound as param says */
	enum input_param param;
	const char *empty;
	int (*write)(struct cmd_ctx *ctx, int64_t since);
	int indented; /* write starts its lines itself ("  ...") */
} review_inputs_table[] = {
    {
	.heading = "a) Actions from previous management reviews:",
	.sql = "SELECT 'ACT-' || a.id || ' [' || a.status || "
	       "', due ' || date(a.due_at, 'unixepoch') || "
	       "'] from MR-' || a.source_id || ': ' || a.text "
	       "FROM actions a WHERE a.source_kind = 'MR' AND "
	       "a.source_id < ? ORDER BY a.id",
	.param = INPUT_REVIEW,
	.empty = "none",
    },
    {
	.heading = "b) Changes in external and internal issues:",
	.write = inputs_context,
    },
    {
	.heading = "b) Changes in the ISMS (scope versions):",
	.sql = "SELECT 'version ' || s.id || ' of ' || "
	       "date(s.set_at, 'unixepoch') || ' by ' || "
	       "p.handle || ': ' || s.text FROM scope_versions s "
	       "JOIN people p ON p.id = s.set_by WHERE s.set_at "
	       ">= ? ORDER BY s.id",
	.param = INPUT_SINCE,
	.empty = "no scope changes",
    },
    {
	.heading = "c) Changes in the needs and expectations of interested "
		   "parties:",
	.write = inputs_parties,
	.indented = 1,
    },
    {
	.heading = "d1) Nonconformities and corrective actions:",
	.sql = "SELECT 'FND-' || f.id || ' [' || f.kind || ', ' "
	       "|| f.status || '] AUD-' || f.audit_id || ': ' || "
	       "f.text || ' -- corrective action: ' || "
	       "COALESCE((SELECT group_concat('ACT-' || x.id || "
	       "' ' || x.status, ', ') FROM actions x WHERE "
	       "x.finding_id = f.id), 'NONE') FROM findings f "
	       "WHERE f.kind IN ('major', 'minor') AND "
	       "(f.status = 'open' OR f.created_at >= ?) "
	       "ORDER BY f.id",
	.param = INPUT_SINCE,
	.empty = "none",
    },
    {
	.heading = "d2) Monitoring and measurement results:",
	.write = inputs_monitoring,
    },
    {
	.heading = "d3) Audit results:",
	.sql = "SELECT 'AUD-' || a.id || ' ' || "
	       "date(a.planned_at, 'unixepoch') || ' [' || "
	       "a.status || '] ' || a.scope || ': ' || (SELECT "
	       "COUNT(*) FROM findings f WHERE f.audit_id = "
	       "a.id AND f.kind = 'major') || ' major, ' || "
	       "(SELECT COUNT(*) FROM findings f WHERE "
	       "f.audit_id = a.id AND f.kind = 'minor') || "
	       "' minor, ' || (SELECT COUNT(*) FROM findings f "
	       "WHERE f.audit_id = a.id AND f.kind IN "
	       "('observation', 'opportunity')) || "
	       "' other findings' FROM audits a WHERE a.status "
	       "= 'planned' OR a.closed_at >= ? ORDER BY "
	       "a.planned_at, a.id",
	.param = INPUT_SINCE,
	.empty = "no audits in the period",
    },
    {
	.heading = "d4) Fulfilment of objectives (with their trend):",
	.write = inputs_objectives,
    },
    {
	.heading = "e) Feedback from interested parties:",
	.write = inputs_feedback,
    },
    {
	.heading = "f) Risk assessment and treatment:",
	.write = inputs_risks,
    },
    {
	.heading = "g) Opportunities for improvement:",
	.sql = "SELECT 'FND-' || f.id || ' (AUD-' || "
	       "f.audit_id || '): ' || f.text FROM findings f "
	       "WHERE f.kind = 'opportunity' AND "
	       "f.created_at >= ? ORDER BY f.id",
	.param = INPUT_SINCE,
	.empty = "none recorded",
    },
};

/*
 * Clause 9.3.2 inputs as of now, for review id, covering the time since
 * the previous review that was held (or everything).
 */
static int
review_inputs(struct cmd_ctx *ctx, int64_t id)
{
	int64_t since = 0, prev = 0;
	char since_s[48] = "the start";
	size_t i;

	if (db_int(ctx->st, &prev,
		   "SELECT id FROM reviews WHERE status = 'held' AND id != ? "
		   "ORDER BY held_at DESC LIMIT 1",
		   "i", id) < 0 ||
	    (prev &&
	     db_int(ctx->st, &since, "SELECT held_at FROM reviews WHERE id = ?",
		    "i", prev) < 0))
		return cmd_error(ctx, "database error");
	if (prev) {
		char date[16];

		time_date(since, date);
		snprintf(since_s, sizeof(since_s), "%s (MR-%lld)", date,
			 (long long)prev);
	}
	cmd_reply(ctx, "Inputs (ISO/IEC 27001 clause 9.3.2) since %s:\n",
		  since_s);
	for (i = 0; i < ARRAY_LEN(review_inputs_table); i++) {
		const struct review_input *in = &review_inputs_table[i];
		int64_t param = in->param == INPUT_REVIEW  ? id
				: in->param == INPUT_SINCE ? since
							   : ctx->now;

		cmd_reply(ctx, "%s%s%s", i ? "\n" : "", in->heading,
			  !in->write	 ? ""
			  : in->indented ? "\n"
					 : "\n  ");
		if (in->write
			? in->write(ctx, since) < 0
			: lines(ctx, db_prepare(ctx->st, in->sql, "i", param),
				in->empty) < 0)
			return -1;
	}
	return 0;
}

struct review {
	struct reg_ref ref;
	char planned[16];
	char held[16];		  /* "" while planned */
	char *inputs, *decisions; /* owned; NULL while planned */
};

static void
review_free(struct review *r)
{
	free(r->inputs);
	free(r->decisions);
}

static int
review_arg(struct cmd_ctx *ctx, struct review *r)
{
	struct db_stmt *s;

	memset(r, 0, sizeof(*r));
	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "MR", &r->ref) < 0)
		return -1;
	s = db_prepare(ctx->st,
		       "SELECT date(planned_at, 'unixepoch'), "
		       "COALESCE(date(held_at, 'unixepoch'), ''), inputs, "
		       "decisions FROM reviews WHERE id = ?",
		       "i", r->ref.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	snprintf(r->planned, sizeof(r->planned), "%s", db_col(s, 0));
	snprintf(r->held, sizeof(r->held), "%s", db_col(s, 1));
	if (!db_col_null(s, 2))
		r->inputs = xstrdup(db_col(s, 2));
	if (!db_col_null(s, 3))
		r->decisions = xstrdup(db_col(s, 3));
	db_finish(ctx->st, s);
	return 0;
}

/* Who attended MR-id and the actions that came from it (9.3.3). */
static int
review_outcome(struct cmd_ctx *ctx, int64_t id)
{
	struct db_stmt *s;
	int n = 0;

	s = db_prepare(ctx->st,
		       "SELECT COALESCE((SELECT group_concat(handle, ', ') "
		       "FROM (SELECT p.handle FROM review_attendees a JOIN "
		       "people p ON p.id = a.person_id WHERE a.review_id = ? "
		       "ORDER BY a.id) x), 'not recorded')",
		       "i", id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	cmd_reply(ctx, "\nAttendees: %s", db_col(s, 0));
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT 'ACT-' || a.id || ' [' || a.status || ', "
		       "owner ' || p.handle || ', due ' || date(a.due_at, "
		       "'unixepoch') || '] ' || a.text FROM actions a JOIN "
		       "people p ON p.id = a.owner_id WHERE a.source_kind = "
		       "'MR' AND a.source_id = ? ORDER BY a.id",
		       "i", id);
	cmd_reply(ctx, "\nFollow-up actions:");
	n = lines(ctx, s, "none yet");
	return n < 0 ? -1 : 0;
}

static int
review_show(struct cmd_ctx *ctx)
{
	struct review r;
	int rc = 0;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (review_arg(ctx, &r) < 0)
		return -1;
	ctx->rp->confidential = 1;
	cmd_reply(ctx, "Management review %s, planned for %s", r.ref.obj,
		  r.planned);
	if (*r.held) {
		cmd_reply(ctx, ", held %s.\n%s\nDecisions: %s", r.held,
			  r.inputs ? r.inputs : "", r.decisions);
		rc = review_outcome(ctx, r.ref.id);
	} else {
		cmd_reply(ctx, " (not held yet).\n");
		rc = review_inputs(ctx, r.ref.id);
		cmd_reply(ctx,
			  "\nRecord the outcome with: review record %s "
			  "<decisions> attendees=@a,@b",
			  r.ref.obj);
	}
	review_free(&r);
	return rc;
}

/*
 * Whether the sender is top management (cmd_management): 1, 0 with the
 * refusal naming who is, or -1.
 */
static int
review_by_management(struct cmd_ctx *ctx)
{
	int64_t ids[REVIEW_ATTENDEES_MAX];
	struct buf names = {0};
	int n = cmd_management(ctx, ids, ARRAY_LEN(ids)), i, me = 0;

	if (n < 0)
		return cmd_error(ctx, "database error");
	for (i = 0; i < n; i++) {
		struct person p;

		me |= ids[i] == ctx->me.id;
		if (store_person_by_id(ctx->st, ids[i], &p) == 1)
			buf_printf(&names, "%s%s", names.len ? ", " : "",
				   p.handle);
	}
	if (!me)
		cmd_error(ctx,
			  "not allowed: top management records the management "
			  "review and its decisions (clause 9.3; now: %s)",
			  names.len ? buf_str(&names) : "nobody");
	buf_free(&names);
	return me;
}

/*
 * attendees=@a,@b: known, active people, duplicates dropped, into ids;
 * the recorder attends and is added. How many, or -1 with an error reply.
 */
static int
review_attendees(struct cmd_ctx *ctx, int64_t *ids, size_t max,
		 struct buf *names)
{
	const char *v = cmd_key(ctx, "attendees");
	char *copy, *tok, *save = NULL;
	size_t n = 0, k;
	int rc = -1;

	if (v == NULL)
		return cmd_error(ctx, "missing attendees= (who took part, "
				      "e.g. attendees=@dana,@carol)");
	copy = xstrdup(v);
	ids[n++] = ctx->me.id;
	buf_printf(names, "%s", ctx->me.handle);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		struct person p;
		int dup = 0;

		if (cmd_person(ctx, tok, &p) < 0)
			goto out;
		if (!p.active) {
			cmd_error(ctx,
				  "%s is not active: attendees are people "
				  "in the directory today",
				  p.handle);
			goto out;
		}
		for (k = 0; k < n; k++)
			dup |= ids[k] == p.id;
		if (dup)
			continue;
		if (n == max) {
			cmd_error(ctx, "too many attendees (at most %zu)", max);
			goto out;
		}
		ids[n++] = p.id;
		buf_printf(names, ", %s", p.handle);
	}
	rc = (int)n;
out:
	free(copy);
	return rc;
}

static int
review_record(struct cmd_ctx *ctx)
{
	struct review r;
	struct buf names = {0};
	int64_t ids[REVIEW_ATTENDEES_MAX];
	char *decisions = NULL, *inputs = NULL;
	int rc = -1, n, k, top;

	if (review_arg(ctx, &r) < 0)
		return -1;
	top = review_by_management(ctx);
	if (top <= 0)
		goto out;
	if (*r.held) {
		rc = cmd_error(ctx, "%s was already recorded on %s", r.ref.obj,
			       r.held);
		goto out;
	}
	decisions = reg_text(ctx, 1, REG_TEXT_MAX, "the decisions");
	if (decisions == NULL)
		goto out;
	n = review_attendees(ctx, ids, ARRAY_LEN(ids), &names);
	if (n < 0)
		goto out;
	{
		int64_t planned = 0;

		if (time_parse_date(r.planned, &planned) == 0 &&
		    ctx->now < planned) {
			rc = cmd_error(ctx,
				       "%s is planned for %s: it is recorded "
				       "on or after that date",
				       r.ref.obj, r.planned);
			goto out;
		}
	}
	/* the inputs as they stand today become part of the record */
	if (review_inputs(ctx, r.ref.id) < 0)
		goto out;
	inputs = buf_steal(&ctx->rp->text);
	for (k = 0; k < n; k++)
		if (db_exec(ctx->st,
			    "INSERT INTO review_attendees(review_id, "
			    "person_id) VALUES (?,?)",
			    "ii", r.ref.id, ids[k]) != 1)
			goto out;
	if (db_exec(ctx->st,
		    "UPDATE reviews SET status = 'held', held_at = ?, inputs = "
		    "?, decisions = ?, recorded_by = ? WHERE id = ?",
		    "ittii", ctx->now, inputs, decisions, ctx->me.id,
		    r.ref.id) < 0 ||
	    cmd_audit(ctx, "review.record", r.ref.obj,
		      json_pack("{s:s,s:s,s:s}", "decisions", decisions,
				"planned", r.planned, "attendees",
				buf_str(&names))) < 0)
		goto out;
	cmd_reply(ctx,
		  "Management review %s recorded with its decisions, inputs "
		  "and attendees (%s). Follow-up actions: action add <text> "
		  "owner=@h due=YYYY-MM-DD source=%s",
		  r.ref.obj, buf_str(&names), r.ref.obj);
	rc = 0;
out:
	buf_free(&names);
	free(decisions);
	free(inputs);
	review_free(&r);
	return rc;
}

int
review_report_write(struct cmd_ctx *ctx)
{
	struct db_stmt *s;

	s = db_prepare(
	    ctx->st,
	    "SELECT (SELECT 'MR-' || id || ' held ' || date(held_at, "
	    "'unixepoch') FROM reviews WHERE status = 'held' ORDER BY "
	    "held_at DESC, id DESC LIMIT 1), (SELECT COUNT(*) FROM actions "
	    "WHERE source_kind = 'MR' AND status = 'open'), (SELECT COUNT(*) "
	    "FROM actions WHERE source_kind = 'MR' AND status = 'open' AND "
	    "due_at + 86400 <= ?1), (SELECT 'MR-' || id || ' planned for ' || "
	    "date(planned_at, "
	    "'unixepoch') FROM reviews WHERE status = 'planned' ORDER BY "
	    "planned_at, id LIMIT 1)",
	    "i", ctx->now);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	if (db_col_null(s, 0))
		cmd_reply(ctx, "Management review: none held yet");
	else
		cmd_reply(ctx,
			  "Management review: last %s; %lld follow-up "
			  "action%s open (%lld overdue)",
			  db_col(s, 0), (long long)db_col_int(s, 1),
			  db_col_int(s, 1) == 1 ? "" : "s",
			  (long long)db_col_int(s, 2));
	cmd_reply(ctx, "; next: %s.",
		  db_col_null(s, 3) ? "none planned" : db_col(s, 3));
	db_finish(ctx->st, s);
	return 0;
}

static int
review_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st,
		       "SELECT 'MR-' || id || ' ' || date(planned_at, "
		       "'unixepoch') || ' [' || status || COALESCE(' ' || "
		       "date(held_at, 'unixepoch'), '') || ']' || "
		       "COALESCE(': ' || substr(decisions, 1, 120), '') FROM "
		       "reviews ORDER BY planned_at, id",
		       NULL);
	cmd_reply(ctx, "Management reviews:");
	n = lines(ctx, s, "none planned yet (review plan date=YYYY-MM-DD)");
	return n < 0 ? -1 : 0;
}

static const struct cmd_entry review_commands[] = {
    {
	.verb = "plan",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "date",
	.usage = "date=YYYY-MM-DD",
	.help = "plan a management review",
	.exec = review_plan,
    },
    {
	.verb = "show",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "MR-n",
	.help = "the review's inputs (clause 9.3), compiled from the register",
	.exec = review_show,
    },
    {
	.verb = "record",
	.keys = "attendees",
	.usage = "MR-n <decisions> attendees=@a,@b",
	.help = "top management records the review's decisions and who "
		"attended (keeps the inputs as they stand)",
	.exec = review_record,
    },
    {
	.verb = "list",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "",
	.help = "management reviews",
	.exec = review_list,
    },
    {0},
};

const struct cmd_object review_object = {
    .name = "review",
    .help = "management reviews and their compiled inputs",
    .commands = review_commands,
};
