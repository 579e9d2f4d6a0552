/*
 * The directory from chat: deactivating a leaver and renaming a handle.
 * An inactive person cannot run commands, gets no nudges or quizzes and
 * cannot be named for new work; what they still hold is listed to the
 * isms_managers for reassignment. Records name people by id, so a
 * renamed person keeps everything they hold.
 */
#include <stdlib.h>
#include <string.h>

#include "../store/staff.h"
#include "register.h"

/* What a person still holds, one line each, into b; how many, or -1. */
static int
open_items(struct cmd_ctx *ctx, int64_t id, struct buf *b)
{
	static const char *const q[] = {
	    "SELECT 'RSK-' || id || ' risk: ' || title || ' -> risk update "
	    "RSK-' || id || ' owner=@...' FROM risks WHERE owner_id = ?1 "
	    "ORDER BY id",
	    "SELECT 'ACT-' || id || ' action due ' || date(due_at, "
	    "'unixepoch') || ': ' || text FROM actions WHERE owner_id = ?1 "
	    "AND status = 'open' ORDER BY id",
	    "SELECT 'DOC-' || id || ' document: ' || title FROM docs WHERE "
	    "owner_id = ?1 ORDER BY id",
	    "SELECT 'AST-' || id || ' asset: ' || name || ' -> asset update "
	    "AST-' || id || ' owner=@...' FROM assets WHERE owner_id = ?1 "
	    "ORDER BY id",
	    "SELECT id || ' control: ' || title || ' -> control set ' || id "
	    "|| ' owner=@...' FROM controls WHERE owner_id = ?1 ORDER BY seq",
	    "SELECT 'INC-' || id || ' incident they handle: ' || title || ' "
	    "-> incident assign INC-' || id || ' @...' FROM incidents WHERE "
	    "handler_id = ?1 AND status != 'closed' ORDER BY id",
	    "SELECT 'APR-' || id || ' approval waiting for them: ' || "
	    "summary FROM approvals WHERE status = 'pending' AND "
	    "(approver_id = ?1 OR escalated_to = ?1) ORDER BY id",
	    "SELECT 'AUD-' || id || ' internal audit they are auditor of: ' "
	    "|| scope FROM audits WHERE auditor_id = ?1 AND status = "
	    "'planned' ORDER BY id",
	    "SELECT 'SUP-' || id || ' supplier: ' || name || ' -> supplier "
	    "update SUP-' || id || ' owner=@...' FROM suppliers WHERE "
	    "owner_id = ?1 AND status = 'active' ORDER BY id",
	};
	size_t k;
	int n = 0;

	for (k = 0; k < ARRAY_LEN(q); k++) {
		struct db_stmt *s = db_prepare(ctx->st, q[k], "i", id);

		if (s == NULL)
			return -1;
		while (db_step(s) == DB_ROW) {
			buf_printf(b, "\n  %.300s", db_col(s, 0));
			n++;
		}
		db_finish(ctx->st, s);
	}
	return n;
}

static int
staff_deactivate(struct cmd_ctx *ctx)
{
	struct person p;
	struct buf items = {0};
	char *subject = NULL, *body = NULL;
	int n, rc = -1;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (cmd_person(ctx, ctx->cl->pos[0], &p) < 0)
		return -1;
	if (p.id == ctx->me.id)
		return cmd_error(ctx, "you cannot deactivate yourself");
	n = open_items(ctx, p.id, &items);
	if (n < 0 ||
	    db_exec(ctx->st,
		    "UPDATE people SET active = 0, deactivated_at = ?1, "
		    "updated_at = ?1 WHERE id = ?2",
		    "ii", ctx->now, p.id) < 0 ||
	    cmd_audit(ctx, "staff.deactivate", p.handle,
		      json_pack("{s:s,s:i,s:{s:b},s:{s:b}}", "name", p.name,
				"open_items", n, "before", "active", 1, "after",
				"active", 0)) < 0)
		goto out;
	if (n > 0) {
		subject = xasprintf("Leaver %s deactivated: %d open item%s to "
				    "reassign",
				    p.handle, n, n == 1 ? "" : "s");
		body = xasprintf("%s (%s) was deactivated by %s and still "
				 "holds:%s\n\nGive each to someone else.",
				 p.handle, p.name, ctx->me.handle,
				 buf_str(&items));
		if (cmd_notify_role(ctx, ROLE_ISMS_MANAGER, ctx->me.id,
				    MSG_REGISTER, subject, body) < 0)
			goto out;
	}
	cmd_reply(ctx,
		  "%s deactivated: no more commands, nudges or quizzes. %d "
		  "open item%s to reassign%s%s",
		  p.handle, n, n == 1 ? "" : "s", n ? ":" : ".",
		  buf_str(&items));
	rc = 0;
out:
	buf_free(&items);
	free(subject);
	free(body);
	return rc;
}

/*
 * rename @old @new: the person keeps their id, and with it every record,
 * approval and delivery that names them; only the handle changes.
 */
static int
staff_rename(struct cmd_ctx *ctx)
{
	const char *to;
	struct person p;
	int64_t taken = 0;

	if (ctx->cl->npos != 2)
		return reg_usage(ctx);
	if (cmd_person(ctx, ctx->cl->pos[0], &p) < 0)
		return -1;
	to = ctx->cl->pos[1];
	if (to[0] == '@')
		to++;
	if (!staff_valid_handle(to))
		return cmd_error(ctx,
				 "new handle %.40s: 1-32 letters, digits, . _ "
				 "- (starting with a letter or digit)",
				 ctx->cl->pos[1]);
	if (strcmp(to, p.handle) == 0)
		return cmd_error(ctx, "%s is already called %s", p.handle, to);
	if (db_int(ctx->st, &taken,
		   "SELECT COUNT(*) FROM people WHERE handle = ? AND id != ?",
		   "ti", to, p.id) < 0)
		return cmd_error(ctx, "database error");
	if (taken > 0)
		return cmd_error(
		    ctx,
		    "the handle %s is already someone's (active or "
		    "a leaver); nothing was renamed",
		    to);
	if (db_exec(ctx->st,
		    "UPDATE people SET handle = ?, updated_at = ? WHERE id = ?",
		    "tii", to, ctx->now, p.id) < 0 ||
	    cmd_audit(ctx, "staff.rename", to,
		      json_pack("{s:{s:s},s:{s:s}}", "before", "handle",
				p.handle, "after", "handle", to)) < 0)
		return -1;
	cmd_reply(ctx,
		  "%s is now %s: everything they hold stays theirs. Name "
		  "them %s in the staff CSV too, or the next import adds %s "
		  "as a new person.",
		  p.handle, to, to, p.handle);
	return 0;
}

static const struct cmd_entry staff_commands[] = {
    {
	.verb = "deactivate",
	.roles = ROLE_ADMIN,
	.usage = "@handle",
	.help = "a leaver: no more commands, nudges or quizzes; their open "
		"items go "
		"to the isms_managers for reassignment",
	.exec = staff_deactivate,
    },
    {
	.verb = "rename",
	.roles = ROLE_ADMIN,
	.usage = "@old @new",
	.help = "a new handle for a person; what they hold stays theirs",
	.exec = staff_rename,
    },
    {0},
};

const struct cmd_object staff_object = {
    .name = "staff",
    .help = "the directory: deactivate a leaver (admin)",
    .commands = staff_commands,
};
