/*
 * Internal audits (AUD-n) and their findings (FND-n, numbered across all
 * audits). A major or minor nonconformity needs a corrective action
 * before the finding, or its audit, can be closed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "finding.h"
#include "register.h"

static const char *const kinds[] = {"major", "minor", "observation",
				    "opportunity"};
static const char *const kind_names[] = {"major nonconformity",
					 "minor nonconformity", "observation",
					 "opportunity for improvement"};

static int
audit_plan(struct cmd_ctx *ctx)
{
	struct person auditor;
	char obj[32], date[16], *scope, *subject = NULL;
	int64_t when, id;
	int rc = -1;

	scope = reg_text(ctx, 0, REG_NAME_MAX, "a scope");
	if (scope == NULL)
		return -1;
	if (reg_key_plan_date(ctx, "date", 1, &when) < 0)
		goto out;
	if (cmd_key(ctx, "auditor") == NULL) {
		rc = cmd_error(ctx, "missing auditor= (usage: audit plan %s)",
			       ctx->entry->usage);
		goto out;
	}
	if (reg_key_person(ctx, "auditor", &auditor) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO audits(scope, planned_at, auditor_id, "
		    "created_by, created_at) VALUES (?,?,?,?,?)",
		    "tiiii", scope, when, auditor.id, ctx->me.id, ctx->now) < 0)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "AUD", id);
	time_date(when, date);
	if (cmd_audit(ctx, "audit.plan", obj,
		      json_pack("{s:s,s:s,s:s}", "scope", scope, "date", date,
				"auditor", auditor.handle)) < 0)
		goto out;
	subject = xasprintf("You are the auditor of internal audit %s on %s: "
			    "%s",
			    obj, date, scope);
	if (reg_tell(ctx, auditor.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "Internal audit %s planned for %s: %s (auditor %s).",
		  obj, date, scope, auditor.handle);
	rc = 0;
out:
	free(scope);
	free(subject);
	return rc;
}

/* The audit of pos[0], open, that the sender may change. */
static int
audit_arg_open(struct cmd_ctx *ctx, struct reg_ref *a)
{
	if (reg_arg(ctx, 0, "AUD", a) < 0 ||
	    reg_may_change(ctx, a->owner_id, a->obj, "auditor") < 0)
		return -1;
	if (strcmp(a->status, "closed") == 0)
		return cmd_error(ctx, "%s is closed", a->obj);
	return 0;
}

static int
audit_finding(struct cmd_ctx *ctx)
{
	struct reg_ref a;
	const char *clause;
	char obj[32], control[16], *text = NULL;
	int k, rc = -1;

	k = ctx->cl->npos < 2 ? -1 : reg_one_of(ctx->cl->pos[1], kinds, 4);
	if (k < 0)
		return reg_usage(ctx);
	if (audit_arg_open(ctx, &a) < 0 ||
	    finding_cites(ctx, &clause, control) < 0)
		return -1;
	text = reg_text(ctx, 2, REG_TEXT_MAX, "the finding");
	if (text == NULL)
		return -1;
	if (db_exec(ctx->st,
		    "INSERT INTO findings(audit_id, kind, text, clause, "
		    "control_id, created_by, created_at) VALUES "
		    "(?,?,?,?,NULLIF(?, ''),?,?)",
		    "ittttii", a.id, kinds[k], text, clause, control,
		    ctx->me.id, ctx->now) < 0)
		goto out;
	reg_obj(obj, "FND", db_last_id(ctx->st));
	if (cmd_audit(ctx, "audit.finding", obj,
		      json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "audit", a.obj,
				"kind", kinds[k], "text", text, "clause",
				clause, "control", *control ? control : NULL)) <
	    0)
		goto out;
	cmd_reply(ctx, "Finding %s recorded on %s: %s.", obj, a.obj,
		  kind_names[k]);
	if (clause != NULL || *control)
		cmd_reply(ctx, " It cites%s%s%s%s.", clause ? " clause " : "",
			  clause ? clause : "",
			  !*control ? ""
			  : clause  ? ", control "
				    : " control ",
			  control);
	if (k < 2)
		cmd_reply(ctx,
			  " It needs a corrective action before it can be "
			  "closed: action add <text> owner=@h "
			  "due=YYYY-MM-DD source=%s; and its root cause "
			  "before the action is done: finding cause %s "
			  "<cause>",
			  obj, obj);
	rc = 0;
out:
	free(text);
	return rc;
}

/*
 * The first open nonconformity without a corrective action, of an audit
 * (finding 0) or of one finding: 1 found (into *first), 0 none, -1 error.
 */
static int
uncovered(struct cmd_ctx *ctx, int64_t audit, int64_t finding, int64_t *first)
{
	int rc = db_int(ctx->st, first,
			"SELECT f.id FROM findings f WHERE f.audit_id = ? AND "
			"(? = 0 OR f.id = ?) AND f.status = 'open' AND f.kind "
			"IN ('major', 'minor') AND (f.needs_action <> 0 OR NOT "
			"EXISTS (SELECT 1 FROM actions a WHERE a.finding_id = "
			"f.id)) ORDER BY f.id LIMIT 1",
			"iii", audit, finding, finding);

	if (rc == 1) {
		char *kind =
		    db_text(ctx->st, "SELECT kind FROM findings WHERE id = ?",
			    "i", *first);

		cmd_error(ctx,
			  "FND-%lld (%s nonconformity) needs a corrective "
			  "action first: action add <text> owner=@h "
			  "due=YYYY-MM-DD source=FND-%lld",
			  (long long)*first, kind ? kind : "?",
			  (long long)*first);
		free(kind);
	} else if (rc < 0) {
		cmd_error(ctx, "database error");
	}
	return rc;
}

/*
 * A finding closes when its corrective actions are done; an isms_manager
 * may close it before that, giving the reason, which is recorded.
 */
static int
close_finding(struct cmd_ctx *ctx)
{
	struct reg_ref f;
	int64_t audit = 0, first, open = 0;
	char audit_obj[32], *reason = NULL, *acts = NULL;
	int rc = -1, manager = has_role(&ctx->me, ROLE_ISMS_MANAGER);

	if (reg_arg(ctx, 0, "FND", &f) < 0 ||
	    reg_may_change(ctx, f.owner_id, f.obj, "auditor") < 0)
		return -1;
	if (strcmp(f.status, "closed") == 0)
		return cmd_error(ctx, "%s is already closed", f.obj);
	if (ctx->cl->npos > 1)
		reason = cmdline_join(ctx->cl, 1);
	if (reason != NULL && strlen(reason) > REG_TEXT_MAX) {
		rc = cmd_error(ctx, "reason too long (at most %d characters)",
			       REG_TEXT_MAX);
		goto out;
	}
	if (db_int(ctx->st, &audit,
		   "SELECT audit_id FROM findings WHERE id = ?", "i",
		   f.id) != 1 ||
	    db_int(ctx->st, &open,
		   "SELECT COUNT(*) FROM actions WHERE finding_id = ? AND "
		   "status = 'open'",
		   "i", f.id) != 1) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	if (open > 0 && (!manager || reason == NULL)) {
		acts = db_text(ctx->st,
			       "SELECT group_concat('ACT-' || id, ', ') FROM "
			       "actions WHERE finding_id = ? AND status = "
			       "'open'",
			       "i", f.id);
		rc = cmd_error(ctx,
			       "%s has corrective action%s still open (%s): "
			       "it closes when %s done, or an isms_manager "
			       "closes it with the reason: audit close %s "
			       "<reason>",
			       f.obj, open == 1 ? "" : "s", acts ? acts : "?",
			       open == 1 ? "it is" : "they are", f.obj);
		goto out;
	}
	if (!(manager && reason != NULL) &&
	    uncovered(ctx, audit, f.id, &first) != 0)
		goto out;
	reg_obj(audit_obj, "AUD", audit);
	if (db_exec(ctx->st,
		    "UPDATE findings SET status = 'closed', closed_by = ?, "
		    "closed_at = ?, close_reason = ? WHERE id = ?",
		    "iiti", ctx->me.id, ctx->now, reason, f.id) < 0 ||
	    cmd_audit(ctx, "audit.finding_close", f.obj,
		      json_pack("{s:s,s:s?,s:I}", "audit", audit_obj, "reason",
				reason, "open_actions", (json_int_t)open)) < 0)
		goto out;
	cmd_reply(ctx, "%s closed%s%s.", f.obj, reason ? ": " : "",
		  reason ? reason : "");
	rc = 0;
out:
	free(reason);
	free(acts);
	return rc;
}

static int
audit_close(struct cmd_ctx *ctx)
{
	struct reg_ref a;
	int64_t first, findings = 0, planned = 0, still = 0;

	if (ctx->cl->npos >= 1 && strncasecmp(ctx->cl->pos[0], "FND-", 4) == 0)
		return close_finding(ctx);
	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (audit_arg_open(ctx, &a) < 0 || uncovered(ctx, a.id, 0, &first) != 0)
		return -1;
	if (db_int(ctx->st, &planned,
		   "SELECT planned_at FROM audits WHERE id = ?", "i",
		   a.id) != 1)
		return cmd_error(ctx, "database error");
	if (ctx->now < planned) {
		char date[16];

		time_date(planned, date);
		return cmd_error(ctx,
				 "%s is planned for %s: it closes on or "
				 "after that date",
				 a.obj, date);
	}
	/* findings whose corrective actions are open stay open */
	if (db_int(ctx->st, &findings,
		   "SELECT COUNT(*) FROM findings WHERE audit_id = ?", "i",
		   a.id) != 1 ||
	    db_int(ctx->st, &still,
		   "SELECT COUNT(*) FROM findings f WHERE f.audit_id = ? AND "
		   "f.status = 'open' AND EXISTS (SELECT 1 FROM actions x "
		   "WHERE x.finding_id = f.id AND x.status = 'open')",
		   "i", a.id) != 1 ||
	    db_exec(ctx->st,
		    "UPDATE findings SET status = 'closed', closed_by = ?, "
		    "closed_at = ? WHERE audit_id = ? AND status = 'open' AND "
		    "NOT EXISTS (SELECT 1 FROM actions x WHERE x.finding_id = "
		    "findings.id AND x.status = 'open')",
		    "iii", ctx->me.id, ctx->now, a.id) < 0 ||
	    db_exec(ctx->st,
		    "UPDATE audits SET status = 'closed', closed_by = ?, "
		    "closed_at = ? WHERE id = ?",
		    "iii", ctx->me.id, ctx->now, a.id) < 0 ||
	    cmd_audit(ctx, "audit.close", a.obj,
		      json_pack("{s:I}", "findings", (json_int_t)findings)) < 0)
		return -1;
	cmd_reply(ctx, "%s closed with %lld finding%s.", a.obj,
		  (long long)findings, findings == 1 ? "" : "s");
	if (still > 0)
		cmd_reply(ctx,
			  " %lld stay%s open until %s corrective actions are "
			  "done.",
			  (long long)still, still == 1 ? "s" : "",
			  still == 1 ? "its" : "their");
	return 0;
}

static int
audit_show(struct cmd_ctx *ctx)
{
	struct reg_ref a;
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg_seen(ctx, 0, "AUD", REG_READERS,
			 "an audit is visible to its auditor and the "
			 "register's readers",
			 &a) < 0)
		return -1;
	s = db_prepare(ctx->st,
		       "SELECT date(a.planned_at, 'unixepoch'), p.handle, "
		       "a.status, COALESCE(date(a.closed_at, 'unixepoch'), '') "
		       "FROM audits a JOIN people p ON p.id = a.auditor_id "
		       "WHERE a.id = ?",
		       "i", a.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	cmd_reply(ctx,
		  "%s %s\nDate: %s. Auditor: %s. Status: %s%s%s.\n"
		  "Findings:",
		  a.obj, a.title, db_col(s, 0), db_col(s, 1), db_col(s, 2),
		  *db_col(s, 3) ? " on " : "", db_col(s, 3));
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT f.id, f.kind, f.status, f.text, (SELECT "
		       "group_concat('ACT-' || x.id || ' ' || x.status, ', ') "
		       "FROM actions x WHERE x.finding_id = f.id), "
		       "COALESCE(f.clause, ''), COALESCE(f.control_id, ''), "
		       "f.cause IS NOT NULL, f.needs_action, " FINDING_UNCHECKED
		       ", (SELECT c.effective FROM finding_checks c WHERE "
		       "c.finding_id = f.id ORDER BY c.id DESC LIMIT 1) FROM "
		       "findings f WHERE f.audit_id = ? ORDER BY f.id",
		       "i", a.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		int k = reg_one_of(db_col(s, 1), kinds, 4);

		cmd_reply(ctx, "\n  FND-%lld [%s, %s] %.300s",
			  (long long)db_col_int(s, 0),
			  kind_names[k < 0 ? 0 : k], db_col(s, 2),
			  db_col(s, 3));
		if (*db_col(s, 5))
			cmd_reply(ctx, " (clause %s)", db_col(s, 5));
		if (*db_col(s, 6))
			cmd_reply(ctx, " (control %s)", db_col(s, 6));
		if (k < 2)
			cmd_reply(ctx, " -- corrective action: %s",
				  *db_col(s, 4) ? db_col(s, 4) : "NONE YET");
		if (k < 2)
			cmd_reply(
			    ctx, "; root cause %s; effectiveness: %s",
			    db_col_int(s, 7) ? "recorded" : "NOT RECORDED",
			    db_col_int(s, 8)	 ? "NOT effective, new action "
						   "needed"
			    : db_col_int(s, 9)	 ? "awaiting check"
			    : db_col_null(s, 10) ? "not checked yet"
			    : db_col_int(s, 10)	 ? "confirmed"
						 : "not effective at the last "
						   "check");
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " none yet");
	return 0;
}

static int
audit_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st,
		       "SELECT a.id, date(a.planned_at, 'unixepoch'), "
		       "a.status, a.scope, p.handle, (SELECT COUNT(*) FROM "
		       "findings f WHERE f.audit_id = a.id), (SELECT "
		       "COUNT(*) FROM findings f WHERE f.audit_id = a.id AND "
		       "f.kind IN ('major', 'minor')) FROM audits a JOIN "
		       "people p ON p.id = a.auditor_id ORDER BY "
		       "a.planned_at, a.id",
		       NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx,
			  "%sAUD-%lld %s [%s] %s (auditor %s; %d "
			  "finding%s, %d nonconformit%s)",
			  n ? "\n" : "", (long long)db_col_int(s, 0),
			  db_col(s, 1), db_col(s, 2), db_col(s, 3),
			  db_col(s, 4), (int)db_col_int(s, 5),
			  (int)db_col_int(s, 5) == 1 ? "" : "s",
			  (int)db_col_int(s, 6),
			  (int)db_col_int(s, 6) == 1 ? "y" : "ies");
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No internal audits planned yet.");
	return 0;
}

static const struct cmd_entry audit_commands[] = {
    {
	.verb = "plan",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "date,auditor",
	.usage = "<scope> date=YYYY-MM-DD auditor=@h",
	.help = "plan an internal audit",
	.exec = audit_plan,
    },
    {
	.verb = "finding",
	.flags = CMD_OWN_AUDIT,
	.keys = "clause,control",
	.usage = "AUD-n major|minor|observation|opportunity <text> "
		 "[clause=9.2] [control=5.15]",
	.help = "record a finding as FND-n (the audit's auditor or an "
		"isms_manager)",
	.exec = audit_finding,
    },
    {
	.verb = "close",
	.usage = "AUD-n | FND-n [reason]",
	.help =
	    "close an audit (on or after its date) or a finding (once its "
	    "corrective actions are done, or by an isms_manager with a reason)",
	.exec = audit_close,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "AUD-n",
	.help = "an audit, its findings and their corrective actions",
	.exec = audit_show,
    },
    {
	.verb = "list",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "",
	.help = "internal audits",
	.exec = audit_list,
    },
    {0},
};

const struct cmd_object audit_object = {
    .name = "audit",
    .help = "internal audits and their findings",
    .commands = audit_commands,
};
