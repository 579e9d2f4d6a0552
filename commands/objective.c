/*
 * The measurable information security objectives (OBJ-n, ISO/IEC 27001
 * clause 6.2): added with a target and a due date, then achieved or
 * missed.
 */
#include <stdlib.h>
#include <string.h>

#include "register.h"

static const char *const objective_states[] = {"open", "achieved", "missed"};

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
