/*
 * The Statement of Applicability as a document (clause 6.1.3 d): top
 * management approves it as a numbered version, a snapshot of every
 * control row; whatever differs from the newest version is a draft.
 */
#include "soa.h"

#include <stdlib.h>
#include <string.h>

#include "register.h"

#define SOA_MGMT_MAX	  32 /* top management named in a refusal */
#define SOA_CHANGES_SHOWN 20 /* draft changes listed by soa show */

/* The newest version: 1 found (id and the line's text set), 0 none, -1. */
static int
soa_latest(struct cmd_ctx *ctx, int64_t *id, char **line)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT v.id, date(v.approved_at, 'unixepoch') || ' by ' || "
	    "p.handle FROM soa_versions v JOIN people p ON p.id = "
	    "v.approved_by ORDER BY v.id DESC LIMIT 1",
	    NULL);
	int rc;

	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		*id = db_col_int(s, 0);
		*line = xstrdup(db_col(s, 1));
	}
	db_finish(ctx->st, s);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/* Controls new or changed against the newest version, or -1. */
static int64_t
soa_draft_count(struct cmd_ctx *ctx)
{
	int64_t n = 0;

	if (db_int(ctx->st, &n,
		   "SELECT COUNT(*) FROM soa_draft WHERE change != ''",
		   NULL) != 1)
		return -1;
	return n;
}

int
soa_control_state(struct cmd_ctx *ctx, const char *id, char *out, size_t len)
{
	struct db_stmt *s = db_prepare(ctx->st,
				       "SELECT version, change FROM soa_draft "
				       "WHERE control = ?",
				       "t", id);
	int rc = -1;

	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	if (db_col_int(s, 0) == 0) {
		snprintf(out, len, "draft (no approved SoA yet)");
		rc = 1;
	} else if (*db_col(s, 1) == '\0') {
		snprintf(out, len, "as approved in SoA v%lld",
			 (long long)db_col_int(s, 0));
		rc = 0;
	} else {
		snprintf(out, len, "draft (%s since SoA v%lld)", db_col(s, 1),
			 (long long)db_col_int(s, 0));
		rc = 1;
	}
	db_finish(ctx->st, s);
	return rc;
}

int
soa_report_write(struct cmd_ctx *ctx)
{
	int64_t version = 0, drafts = soa_draft_count(ctx);
	char *line = NULL;
	int rc = soa_latest(ctx, &version, &line);

	if (rc < 0 || drafts < 0)
		return cmd_error(ctx, "database error");
	if (rc == 0)
		cmd_reply(ctx,
			  "SoA: no approved version yet; %lld controls in "
			  "draft (soa approve, top management).",
			  (long long)drafts);
	else
		cmd_reply(ctx, "SoA v%lld approved %s; %lld draft change%s.",
			  (long long)version, line, (long long)drafts,
			  drafts == 1 ? "" : "s");
	free(line);
	return 0;
}

/* 1 when the sender is top management (cmd_management), 0, -1. */
static int
soa_top(struct cmd_ctx *ctx, struct buf *names)
{
	int64_t ids[SOA_MGMT_MAX];
	int n = cmd_management(ctx, ids, ARRAY_LEN(ids)), i, me = 0;

	for (i = 0; i < n; i++) {
		struct person p;

		if (ids[i] == ctx->me.id)
			me = 1;
		if (store_person_by_id(ctx->st, ids[i], &p) == 1)
			buf_printf(names, "%s%s", i ? ", " : "", p.handle);
	}
	return n < 0 ? -1 : me;
}

static int
soa_approve(struct cmd_ctx *ctx)
{
	struct buf names = {0}, list = {0};
	struct db_stmt *s;
	json_t *changed = json_array();
	char *note = cmdline_join(ctx->cl, 0), *prev = NULL, obj[32], *subject;
	int64_t last = 0, version, controls = 0, unreasoned = 0;
	int top, rc = -1;

	top = soa_top(ctx, &names);
	if (top <= 0) {
		if (top == 0)
			cmd_error(ctx,
				  "not allowed: top management approves the "
				  "Statement of Applicability (now: %s)",
				  names.len ? buf_str(&names) : "nobody");
		else
			cmd_error(ctx, "database error");
		goto out;
	}
	if (str_utf8_chars(note) > REG_TEXT_MAX) {
		cmd_error(ctx, "note too long (at most %d characters)",
			  REG_TEXT_MAX);
		goto out;
	}
	if (soa_latest(ctx, &last, &prev) < 0)
		goto db;
	/* the changes an approval takes in, before the snapshot hides them */
	s = db_prepare(ctx->st,
		       "SELECT control FROM soa_draft WHERE change != '' "
		       "ORDER BY seq",
		       NULL);
	if (s == NULL)
		goto db;
	while (db_step(s) == DB_ROW) {
		if (json_array_size(changed) < SOA_CHANGES_SHOWN)
			buf_printf(&list, "%s%s", list.len ? ", " : "",
				   db_col(s, 0));
		json_array_append_new(changed, json_string(db_col(s, 0)));
	}
	db_finish(ctx->st, s);
	if (last > 0 && json_array_size(changed) == 0) {
		cmd_error(ctx,
			  "SoA v%lld (approved %s) is current: nothing "
			  "changed since",
			  (long long)last, prev);
		goto out;
	}
	if (db_int(ctx->st, &controls, "SELECT COUNT(*) FROM controls", NULL) !=
		1 ||
	    db_int(ctx->st, &unreasoned,
		   "SELECT COUNT(*) FROM controls WHERE applicable <> 0 AND "
		   "reason "
		   "IS NULL AND NOT EXISTS (SELECT 1 FROM risk_controls rc "
		   "WHERE rc.control_id = controls.id)",
		   NULL) != 1 ||
	    db_exec(ctx->st,
		    "INSERT INTO soa_versions(approved_by, approved_at, note, "
		    "controls, changes) VALUES (?,?,NULLIF(?, ''),?,?)",
		    "iitii", ctx->me.id, ctx->now, str_trim(note), controls,
		    (int64_t)json_array_size(changed)) != 1)
		goto db;
	version = db_last_id(ctx->st);
	if (db_exec(ctx->st,
		    "INSERT INTO soa_version_controls(version_id, control, "
		    "seq, theme, title, applicable, status, justification, "
		    "owner, risks, updated, custom, reason, implementation, "
		    "evidence) SELECT ?, control, seq, theme, title, "
		    "applicable, status, justification, owner, risks, updated, "
		    "custom, reason, implementation, evidence FROM "
		    "soa_current",
		    "i", version) != controls)
		goto db;
	snprintf(obj, sizeof(obj), "SOA-%lld", (long long)version);
	if (cmd_audit(ctx, "soa.approve", obj,
		      json_pack("{s:I,s:s?,s:I,s:O}", "version",
				(json_int_t)version, "note",
				*str_trim(note) ? str_trim(note) : NULL,
				"controls", (json_int_t)controls, "changes",
				changed)) < 0)
		goto out;
	if (last == 0)
		subject = xasprintf("SoA v%lld approved by %s: the first "
				    "version, %lld controls",
				    (long long)version, ctx->me.handle,
				    (long long)controls);
	else
		subject = xasprintf(
		    "SoA v%lld approved by %s: %zu control%s new or changed "
		    "(%s%s)",
		    (long long)version, ctx->me.handle,
		    json_array_size(changed),
		    json_array_size(changed) == 1 ? "" : "s", buf_str(&list),
		    json_array_size(changed) > SOA_CHANGES_SHOWN ? ", ..."
								 : "");
	rc = cmd_notify_role(ctx, ROLE_ISMS_MANAGER, ctx->me.id, MSG_REGISTER,
			     subject, subject);
	free(subject);
	if (rc < 0)
		goto out;
	cmd_reply(ctx,
		  "SoA v%lld approved: %lld controls, %zu new or changed since "
		  "%s. Its export: ismsctl export soa --version %lld.",
		  (long long)version, (long long)controls,
		  json_array_size(changed),
		  last ? "the last version" : "the start", (long long)version);
	if (unreasoned > 0)
		cmd_reply(ctx,
			  " Note: %lld applicable control%s without a reason "
			  "for inclusion (control set ID reason=...).",
			  (long long)unreasoned, unreasoned == 1 ? "" : "s");
	rc = 0;
	goto out;
db:
	cmd_error(ctx, "database error");
out:
	json_decref(changed);
	buf_free(&names);
	buf_free(&list);
	free(note);
	free(prev);
	return rc;
}

static int
soa_show(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int64_t version = 0, drafts, counts[3] = {0};
	char *line = NULL, *note = NULL;
	int rc, n = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	rc = soa_latest(ctx, &version, &line);
	drafts = soa_draft_count(ctx);
	if (rc < 0 || drafts < 0 ||
	    db_int(ctx->st, &counts[0],
		   "SELECT COUNT(*) FROM controls WHERE applicable <> 0",
		   NULL) != 1 ||
	    db_int(ctx->st, &counts[1],
		   "SELECT COUNT(*) FROM controls WHERE applicable = 0",
		   NULL) != 1 ||
	    db_int(ctx->st, &counts[2],
		   "SELECT COUNT(*) FROM controls WHERE custom <> 0",
		   NULL) != 1) {
		free(line);
		return cmd_error(ctx, "database error");
	}
	if (rc == 0) {
		cmd_reply(ctx,
			  "Statement of Applicability: no approved version "
			  "yet; every control is a draft (soa approve, "
			  "top management).");
	} else {
		note = db_text(ctx->st,
			       "SELECT note FROM soa_versions WHERE id = ?",
			       "i", version);
		cmd_reply(
		    ctx, "Statement of Applicability v%lld, approved %s%s%s%s.",
		    (long long)version, line, note ? " (" : "",
		    note ? note : "", note ? ")" : "");
		if (drafts == 0)
			cmd_reply(ctx, "\nNo draft changes: the SoA is as "
				       "approved.");
		else
			cmd_reply(ctx,
				  "\n%lld draft change%s since v%lld (soa "
				  "approve, top management):",
				  (long long)drafts, drafts == 1 ? "" : "s",
				  (long long)version);
		s = db_prepare(ctx->st,
			       "SELECT control, change FROM soa_draft WHERE "
			       "change != '' ORDER BY seq",
			       NULL);
		if (s == NULL) {
			free(line);
			free(note);
			return cmd_error(ctx, "database error");
		}
		while (db_step(s) == DB_ROW)
			if (n++ < SOA_CHANGES_SHOWN)
				cmd_reply(ctx, "%s%s (%s)", n > 1 ? ", " : " ",
					  db_col(s, 0), db_col(s, 1));
		db_finish(ctx->st, s);
		if (n > SOA_CHANGES_SHOWN)
			cmd_reply(ctx, " and %d more", n - SOA_CHANGES_SHOWN);
	}
	cmd_reply(ctx,
		  "\n%lld controls: %lld applicable, %lld not applicable, "
		  "%lld custom (control list).",
		  (long long)(counts[0] + counts[1]), (long long)counts[0],
		  (long long)counts[1], (long long)counts[2]);
	free(line);
	free(note);
	return 0;
}

static int
soa_history(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st,
		       "SELECT v.id, date(v.approved_at, 'unixepoch'), "
		       "p.handle, v.controls, v.changes, COALESCE(v.note, '') "
		       "FROM soa_versions v JOIN people p ON p.id = "
		       "v.approved_by ORDER BY v.id DESC",
		       NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx,
			  "%sv%lld approved %s by %s: %lld controls, %lld new "
			  "or changed%s%s",
			  n++ ? "\n" : "", (long long)db_col_int(s, 0),
			  db_col(s, 1), db_col(s, 2),
			  (long long)db_col_int(s, 3),
			  (long long)db_col_int(s, 4),
			  *db_col(s, 5) ? "; " : "", db_col(s, 5));
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No approved version of the SoA yet.");
	return 0;
}

static const struct cmd_entry soa_commands[] = {
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "the current version and the draft changes since it",
	.exec = soa_show,
    },
    {
	.verb = "history",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "the approved versions",
	.exec = soa_history,
    },
    {
	.verb = "approve",
	.usage = "[note]",
	.help = "approve the current SoA as a new numbered version (top "
		"management)",
	.exec = soa_approve,
    },
    {0},
};

const struct cmd_object soa_object = {
    .name = "soa",
    .help = "the Statement of Applicability: approved versions and drafts",
    .commands = soa_commands,
};
