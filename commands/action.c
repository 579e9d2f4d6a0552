/*
 * Actions (ACT-n): corrective and treatment actions with an owner, a due
 * date, an optional source (risk, incident, audit or finding, management
 * review) and the evidence that closed them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "finding.h"
#include "register.h"

/* source= ids an action may come from */
#define ACTION_SOURCES "RSK,INC,AUD,FND,MR"

/*
 * A risk_owner adds actions they own or actions for a risk they own; an
 * isms_manager adds any.
 */
static int
may_add(struct cmd_ctx *ctx, const struct person *owner,
	const struct reg_ref *src)
{
	if (owner->id == ctx->me.id || has_role(&ctx->me, ROLE_ISMS_MANAGER))
		return 0;
	if (src->prefix != NULL && strcmp(src->prefix, "RSK") == 0 &&
	    src->owner_id == ctx->me.id)
		return 0;
	return cmd_error(ctx, "not allowed: a risk_owner may add actions they "
			      "own, or actions for a risk they own");
}

/*
 * The source id to record and the nonconformity an action corrects: the
 * finding named (its audit is the source), or for an audit the oldest
 * major/minor finding without a corrective action yet.
 */
static int
finding_of(struct cmd_ctx *ctx, const struct reg_ref *src, int64_t *source_id,
	   int64_t *finding)
{
	int rc;

	*finding = 0;
	if (strcmp(src->prefix, "FND") == 0) {
		*finding = src->id;
		return db_int(ctx->st, source_id,
			      "SELECT audit_id FROM findings WHERE id = ?", "i",
			      src->id) == 1
			   ? 0
			   : -1;
	}
	*source_id = src->id;
	if (strcmp(src->prefix, "AUD") != 0)
		return 0;
	rc = db_int(
	    ctx->st, finding,
	    "SELECT f.id FROM findings f WHERE f.audit_id = ? AND "
	    "f.kind IN ('major', 'minor') AND f.status = 'open' AND "
	    "(f.needs_action <> 0 OR NOT EXISTS (SELECT 1 FROM actions a "
	    "WHERE a.finding_id = f.id)) ORDER BY f.id LIMIT 1",
	    "i", src->id);
	return rc < 0 ? -1 : 0;
}

static int
action_add(struct cmd_ctx *ctx)
{
	struct person owner;
	struct reg_ref src = {0};
	const char *source = NULL, *kind = NULL;
	char obj[32], due_s[16], fnd[32] = "", *text, *subject = NULL;
	int64_t due, id, source_id = 0, finding = 0;
	int rc = -1;

	text = reg_text(ctx, 0, REG_TEXT_MAX, "a description");
	if (text == NULL)
		return -1;
	if (reg_key_person(ctx, "owner", &owner) < 0 ||
	    reg_key_date(ctx, "due", 1, &due) < 0 ||
	    reg_key_text(ctx, "source", 32, 0, &source) < 0)
		goto out;
	if (source != NULL) {
		if (reg_load_ref(ctx, source, ACTION_SOURCES, &src) < 0)
			goto out;
		if (finding_of(ctx, &src, &source_id, &finding) < 0) {
			rc = cmd_error(ctx, "database error");
			goto out;
		}
		/* a finding's action comes from its audit */
		kind = strcmp(src.prefix, "FND") == 0 ? "AUD" : src.prefix;
		if (finding)
			reg_obj(fnd, "FND", finding);
	}
	if (may_add(ctx, &owner, &src) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO actions(text, owner_id, due_at, source_kind, "
		    "source_id, finding_id, created_by, created_at) VALUES "
		    "(?,?,?,?,NULLIF(?, 0),NULLIF(?, 0),?,?)",
		    "tiitiiii", text, owner.id, due, kind, source_id, finding,
		    ctx->me.id, ctx->now) < 0)
		goto out;
	id = db_last_id(ctx->st);
	/* a finding re-opened as not effective is covered again */
	if (finding && db_exec(ctx->st,
			       "UPDATE findings SET needs_action = 0 WHERE "
			       "id = ?",
			       "i", finding) < 0)
		goto out;
	reg_obj(obj, "ACT", id);
	time_date(due, due_s);
	if (cmd_audit(ctx, "action.add", obj,
		      json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "text", text,
				"owner", owner.handle, "due", due_s, "source",
				source ? src.obj : NULL, "corrects",
				*fnd ? fnd : NULL)) < 0)
		goto out;
	subject = xasprintf("Action %s for you, due %s: %s", obj, due_s, text);
	if (reg_tell(ctx, owner.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "Action %s added for %s, due %s%s%s%s%s.", obj,
		  owner.handle, due_s, source ? ", from " : "",
		  source ? src.obj : "", *fnd ? "; corrective action for " : "",
		  fnd);
	if (reg_date_past(ctx, due))
		cmd_reply(ctx,
			  " Warning: %s is already past, so the action is "
			  "overdue from the start; if that is not meant, set "
			  "a later date (a new action).",
			  due_s);
	rc = 0;
out:
	free(text);
	free(subject);
	return rc;
}

static int
action_done(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	int64_t creator = 0;
	char *evidence = NULL, *subject = NULL;
	int rc = -1;

	if (reg_arg(ctx, 0, "ACT", &ref) < 0 ||
	    reg_may_change(ctx, ref.owner_id, ref.obj, "owner") < 0)
		return -1;
	if (strcmp(ref.status, "done") == 0)
		return cmd_error(ctx, "%s is already done", ref.obj);
	if (finding_action_closable(ctx, ref.id) < 0)
		return -1;
	evidence = reg_text(ctx, 1, REG_TEXT_MAX, "evidence");
	if (evidence == NULL)
		return -1;
	if (db_exec(ctx->st,
		    "UPDATE actions SET status = 'done', evidence = ?, "
		    "done_by = ?, done_at = ? WHERE id = ?",
		    "tiii", evidence, ctx->me.id, ctx->now, ref.id) < 0 ||
	    cmd_audit(ctx, "action.done", ref.obj,
		      json_pack("{s:s}", "evidence", evidence)) < 0 ||
	    db_int(ctx->st, &creator,
		   "SELECT created_by FROM actions WHERE id = ?", "i",
		   ref.id) != 1)
		goto out;
	subject = xasprintf("Action %s done by %s: %s", ref.obj, ctx->me.handle,
			    ref.title);
	if (reg_tell(ctx, creator, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "%s done. Evidence recorded.", ref.obj);
	rc = 0;
out:
	free(evidence);
	free(subject);
	return rc;
}

/* One line per action of a statement's rows (see ACTION_COLS). */
#define ACTION_COLS                                                            \
	"SELECT a.id, a.status, date(a.due_at, 'unixepoch'), " REG_OVERDUE     \
	", a.text, p.handle, COALESCE(a.source_kind || '-' || "                \
	"a.source_id, ''), COALESCE('FND-' || a.finding_id, '') "              \
	"FROM actions a JOIN people p ON p.id = a.owner_id "

static int
action_lines(struct cmd_ctx *ctx, struct db_stmt *s, const char *indent)
{
	int n = 0;

	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "%s%sACT-%lld [%s, due %s%s] %.200s (owner %s",
			  n || *indent ? "\n" : "", indent,
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  db_col(s, 2),
			  (int)db_col_int(s, 3) ? ", OVERDUE" : "",
			  db_col(s, 4), db_col(s, 5));
		if (*db_col(s, 6))
			cmd_reply(ctx, "; from %s", db_col(s, 6));
		if (*db_col(s, 7))
			cmd_reply(ctx, ", corrects %s", db_col(s, 7));
		cmd_reply(ctx, ")");
		n++;
	}
	return n;
}

static int
action_list(struct cmd_ctx *ctx)
{
	static const char *const filters[] = {"mine", "overdue", "open", "all"};
	int f = 0, n;
	struct db_stmt *s;

	if (ctx->cl->npos == 1)
		f = reg_one_of(ctx->cl->pos[0], filters, 4);
	if (ctx->cl->npos > 1 || f < 0)
		return reg_usage(ctx);
	/* beyond the register's readers, people see their own actions */
	s = db_prepare(ctx->st,
		       ACTION_COLS
		       "WHERE (?2 = 3 OR (?2 = 1 AND " REG_OVERDUE
		       ") OR (?2 IN (0, 2) AND a.status = 'open')) "
		       "AND ((?2 != 0 AND ?4 != 0) OR a.owner_id = ?3) "
		       "ORDER BY a.due_at, a.id",
		       "iiii", ctx->now, (int64_t)f, ctx->me.id,
		       (int64_t)has_role(&ctx->me, REG_READERS));
	if (s == NULL)
		return cmd_error(ctx, "database error");
	n = action_lines(ctx, s, "");
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No %s actions%s.", f == 0 ? "open" : filters[f],
			  f == 0 || !has_role(&ctx->me, REG_READERS)
			      ? " of yours"
			      : "");
	return 0;
}

static int
action_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct db_stmt *s;
	char created[16];

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg_seen(ctx, 0, "ACT", REG_READERS,
			 "an action is visible to its owner and the "
			 "register's readers",
			 &ref) < 0)
		return -1;
	s = db_prepare(ctx->st, ACTION_COLS "WHERE a.id = ?2", "ii", ctx->now,
		       ref.id);
	if (s == NULL || action_lines(ctx, s, "") != 1) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT a.created_at, c.handle, "
		       "COALESCE(a.evidence, ''), COALESCE(d.handle, ''), "
		       "a.done_at FROM actions a JOIN people c ON c.id = "
		       "a.created_by LEFT JOIN people d ON d.id = a.done_by "
		       "WHERE a.id = ?",
		       "i", ref.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	cmd_date(db_col_int(s, 0), created);
	cmd_reply(ctx, "\nAdded %s by %s.", created, db_col(s, 1));
	if (*db_col(s, 3)) {
		char done[16];

		cmd_date(db_col_int(s, 4), done);
		cmd_reply(ctx, "\nDone %s by %s. Evidence: %s", done,
			  db_col(s, 3), db_col(s, 2));
	}
	db_finish(ctx->st, s);
	return 0;
}

int
action_summary_write(struct cmd_ctx *ctx)
{
	int64_t open = 0, overdue = 0, done = 0;
	struct db_stmt *s;

	if (db_int(ctx->st, &open,
		   "SELECT COUNT(*) FROM actions WHERE status = 'open'",
		   NULL) < 0 ||
	    db_int(ctx->st, &done,
		   "SELECT COUNT(*) FROM actions WHERE status = 'done'",
		   NULL) < 0 ||
	    db_int(ctx->st, &overdue,
		   "SELECT COUNT(*) FROM actions a WHERE " REG_OVERDUE, "i",
		   ctx->now) < 0)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "Actions: %lld open, %lld overdue, %lld done.",
		  (long long)open, (long long)overdue, (long long)done);
	s = db_prepare(ctx->st,
		       ACTION_COLS "WHERE " REG_OVERDUE
				   " ORDER BY a.due_at, a.id LIMIT 10",
		       "i", ctx->now);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	action_lines(ctx, s, "  ");
	db_finish(ctx->st, s);
	return 0;
}

static const struct cmd_entry action_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_RISK_OWNER | ROLE_ISMS_MANAGER,
	.keys = "owner,due,source",
	.usage = "<text> [owner=@h] due=YYYY-MM-DD "
		 "[source=RSK-n|INC-n|AUD-n|FND-n|MR-n]",
	.help = "add a corrective or treatment action (owner defaults to you)",
	.exec = action_add,
    },
    {
	.verb = "done",
	.usage = "ACT-n <evidence>",
	.help =
	    "close an action with its evidence (its owner or an isms_manager)",
	.exec = action_done,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "[mine|overdue|open|all]",
	.help = "actions (yours unless you read the register)",
	.exec = action_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "ACT-n",
	.help = "an action, its source and evidence",
	.exec = action_show,
    },
    {0},
};

const struct cmd_object action_object = {
    .name = "action",
    .help = "corrective and treatment actions with evidence",
    .commands = action_commands,
};
