/*
 * The ISMS scope statement (every version kept) and the measurable
 * information security objectives (OBJ-n).
 */
#include <stdlib.h>
#include <string.h>

#include "register.h"

static const char *const objective_states[] = {"open", "achieved", "missed"};

static int
scope_set(struct cmd_ctx *ctx)
{
	char *text, obj[32];
	int64_t version;
	int rc = -1;

	text = reg_text(ctx, 0, REG_TEXT_MAX, "the scope statement");
	if (text == NULL)
		return -1;
	if (db_exec(ctx->st,
		    "INSERT INTO scope_versions(text, set_by, set_at) VALUES "
		    "(?,?,?)",
		    "tii", text, ctx->me.id, ctx->now) < 0)
		goto out;
	version = db_last_id(ctx->st);
	snprintf(obj, sizeof(obj), "scope-v%lld", (long long)version);
	if (cmd_audit(ctx, "scope.set", obj,
		      json_pack("{s:I,s:s}", "version", (json_int_t)version,
				"text", text)) < 0)
		goto out;
	cmd_reply(ctx,
		  "Scope version %lld recorded; earlier versions are "
		  "kept (scope show).",
		  (long long)version);
	rc = 0;
out:
	free(text);
	return rc;
}

static int
scope_show(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st,
		       "SELECT s.id, date(s.set_at, 'unixepoch'), p.handle, "
		       "s.text FROM scope_versions s JOIN people p ON p.id = "
		       "s.set_by ORDER BY s.id DESC",
		       NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (n == 0)
			cmd_reply(ctx, "ISMS scope (version %d, %s by %s):\n%s",
				  (int)db_col_int(s, 0), db_col(s, 1),
				  db_col(s, 2), db_col(s, 3));
		else
			cmd_reply(ctx, "%s  version %d, %s by %s: %.80s%s",
				  n == 1 ? "\nEarlier versions:\n" : "\n",
				  (int)db_col_int(s, 0), db_col(s, 1),
				  db_col(s, 2), db_col(s, 3),
				  strlen(db_col(s, 3)) > 80 ? "..." : "");
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No scope statement yet (an isms_manager sets "
			       "it with: scope set <text>).");
	return 0;
}

static int
objective_add(struct cmd_ctx *ctx)
{
	const char *target = NULL;
	char obj[32], due_s[16], *text;
	int64_t due;
	int rc = -1;

	text = reg_text(ctx, 0, REG_TEXT_MAX, "the objective");
	if (text == NULL)
		return -1;
	if (reg_key_text(ctx, "target", REG_NAME_MAX, 1, &target) < 0 ||
	    reg_key_date(ctx, "due", 1, &due) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO objectives(text, target, due_at, created_by, "
		    "created_at, updated_at) VALUES (?,?,?,?,?,?)",
		    "ttiiii", text, target, due, ctx->me.id, ctx->now,
		    ctx->now) < 0)
		goto out;
	reg_obj(obj, "OBJ", db_last_id(ctx->st));
	time_date(due, due_s);
	if (cmd_audit(ctx, "objective.add", obj,
		      json_pack("{s:s,s:s,s:s}", "text", text, "target", target,
				"due", due_s)) < 0)
		goto out;
	cmd_reply(ctx, "Objective %s added: %s (target: %s, due %s).", obj,
		  text, target, due_s);
	rc = 0;
out:
	free(text);
	return rc;
}

static int
objective_status(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	int k;

	k = ctx->cl->npos != 2
		? -1
		: reg_one_of(ctx->cl->pos[1], objective_states, 3);
	if (k < 0)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "OBJ", &ref) < 0)
		return -1;
	if (strcmp(ref.status, objective_states[k]) == 0)
		return cmd_error(ctx, "%s is already %s", ref.obj, ref.status);
	if (db_exec(ctx->st,
		    "UPDATE objectives SET status = ?, updated_at = ? WHERE "
		    "id = ?",
		    "tii", objective_states[k], ctx->now, ref.id) < 0 ||
	    cmd_audit(ctx, "objective.status", ref.obj,
		      json_pack("{s:[s,s]}", "status", ref.status,
				objective_states[k])) < 0)
		return -1;
	cmd_reply(ctx, "%s is now %s.", ref.obj, objective_states[k]);
	return 0;
}

static int
objective_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st,
		       "SELECT id, status, date(due_at, 'unixepoch'), "
		       "status = 'open' AND due_at + 86400 <= ?, text, target "
		       "FROM objectives ORDER BY due_at, id",
		       "i", ctx->now);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "%sOBJ-%lld [%s, due %s%s] %s (target: %s)",
			  n ? "\n" : "", (long long)db_col_int(s, 0),
			  db_col(s, 1), db_col(s, 2),
			  (int)db_col_int(s, 3) ? ", PAST DUE" : "",
			  db_col(s, 4), db_col(s, 5));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No objectives yet.");
	return 0;
}

static const struct cmd_entry scope_commands[] = {
    {
	.verb = "set",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "<text>",
	.help = "record a new version of the ISMS scope",
	.exec = scope_set,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "the current scope and its earlier versions",
	.exec = scope_show,
    },
    {0},
};

const struct cmd_object scope_object = {
    .name = "scope",
    .help = "the ISMS scope statement (versioned)",
    .commands = scope_commands,
};

static const struct cmd_entry objective_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "target,due",
	.usage = "<text> target=... due=YYYY-MM-DD",
	.help = "add a measurable information security objective",
	.exec = objective_add,
    },
    {
	.verb = "status",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "OBJ-n open|achieved|missed",
	.help = "record whether an objective was met",
	.exec = objective_status,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "objectives and their status",
	.exec = objective_list,
    },
    {0},
};

const struct cmd_object objective_object = {
    .name = "objective",
    .help = "measurable information security objectives",
    .commands = objective_commands,
};
