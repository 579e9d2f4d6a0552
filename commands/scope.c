/*
 * The ISMS scope statement (ISO/IEC 27001 clause 4.3), every version
 * kept.
 */
#include <stdlib.h>
#include <string.h>

#include "register.h"

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
