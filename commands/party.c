/*
 * Interested parties (clause 4.2, PTY-n): who has a stake in the ISMS,
 * what they need from it and the obligations that follow. Needs change;
 * every change is kept (party_needs_history) so that the management
 * review can report it (clause 9.3.2 c).
 */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "register.h"

/* "OBL-1, OBL-4" linked to PTY-id; caller frees (never NULL). */
static char *
party_obligations_text(struct cmd_ctx *ctx, int64_t id)
{
	char *v = db_text(ctx->st,
			  "SELECT COALESCE((SELECT group_concat('OBL-' || "
			  "x.obligation_id, ', ') FROM (SELECT obligation_id "
			  "FROM party_obligations WHERE party_id = ? ORDER "
			  "BY obligation_id) x), '')",
			  "i", id);

	return v ? v : xstrdup("");
}

/* Replaces the obligations of PTY-id with ids (a JSON array). 0 or -1. */
static int
party_link(struct cmd_ctx *ctx, int64_t id, const json_t *ids)
{
	size_t k;

	if (db_exec(ctx->st, "DELETE FROM party_obligations WHERE party_id = ?",
		    "i", id) < 0)
		return -1;
	for (k = 0; k < json_array_size(ids); k++)
		if (db_exec(ctx->st,
			    "INSERT INTO party_obligations(party_id, "
			    "obligation_id) VALUES (?,?)",
			    "ii", id,
			    (int64_t)json_integer_value(
				json_array_get(ids, k))) != 1)
			return -1;
	return 0;
}

static int
party_add(struct cmd_ctx *ctx)
{
	const char *needs = NULL;
	json_t *obls = NULL;
	char obj[32], *name, *linked = NULL;
	int64_t id;
	int rc = -1;

	name = reg_text(ctx, 0, REG_NAME_MAX, "a name");
	if (name == NULL)
		return -1;
	if (reg_key_text(ctx, "needs", REG_TEXT_MAX, 1, &needs) < 0 ||
	    context_ids_key(ctx, "obligations", "OBL", 0, &obls) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO parties(name, needs, created_by, created_at, "
		    "updated_at) VALUES (?,?,?,?,?)",
		    "ttiii", name, needs, ctx->me.id, ctx->now, ctx->now) != 1)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "PTY", id);
	if (party_link(ctx, id, obls) < 0)
		goto out;
	linked = party_obligations_text(ctx, id);
	if (cmd_audit(ctx, "party.add", obj,
		      json_pack("{s:s,s:s,s:s}", "name", name, "needs", needs,
				"obligations", linked)) < 0)
		goto out;
	cmd_reply(ctx, "Interested party %s added: %s. Needs: %s%s%s.", obj,
		  name, needs, *linked ? ". Obligations: " : "", linked);
	rc = 0;
out:
	json_decref(obls);
	free(name);
	free(linked);
	return rc;
}

static int
party_update(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	const char *needs = NULL;
	json_t *obls = NULL, *changes = json_object();
	char *old_needs = NULL, *old_obls = NULL, *new_obls = NULL;
	int rc = -1, given;

	if (ctx->cl->npos != 1) {
		rc = reg_usage(ctx);
		goto out;
	}
	if (reg_arg(ctx, 0, "PTY", &ref) < 0 ||
	    reg_key_text(ctx, "needs", REG_TEXT_MAX, 0, &needs) < 0 ||
	    (given = context_ids_key(ctx, "obligations", "OBL", 1, &obls)) < 0)
		goto out;
	if (needs == NULL && !given) {
		rc = cmd_error(ctx,
			       "nothing to change (usage: party update PTY-n "
			       "[needs=...] [obligations=OBL-n,...|none])");
		goto out;
	}
	old_needs = db_text(ctx->st, "SELECT needs FROM parties WHERE id = ?",
			    "i", ref.id);
	old_obls = party_obligations_text(ctx, ref.id);
	if (old_needs == NULL) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	if (needs != NULL && reg_diff(changes, "needs", old_needs, needs) &&
	    (db_exec(ctx->st, "UPDATE parties SET needs = ? WHERE id = ?", "ti",
		     needs, ref.id) != 1 ||
	     db_exec(ctx->st,
		     "INSERT INTO party_needs_history(party_id, at, actor_id, "
		     "old_needs, new_needs) VALUES (?,?,?,?,?)",
		     "iiitt", ref.id, ctx->now, ctx->me.id, old_needs,
		     needs) != 1))
		goto out;
	if (given) {
		if (party_link(ctx, ref.id, obls) < 0)
			goto out;
		new_obls = party_obligations_text(ctx, ref.id);
		reg_diff(changes, "obligations", old_obls, new_obls);
	}
	if (json_object_size(changes) == 0) {
		rc = cmd_error(ctx,
			       "nothing to change: %s already has these "
			       "needs and obligations",
			       ref.obj);
		goto out;
	}
	if (db_exec(ctx->st, "UPDATE parties SET updated_at = ? WHERE id = ?",
		    "ii", ctx->now, ref.id) != 1 ||
	    cmd_audit(ctx, "party.update", ref.obj,
		      json_pack("{s:s,s:O}", "name", ref.title, "changes",
				changes)) < 0)
		goto out;
	cmd_reply(ctx, "%s updated:", ref.obj);
	if (json_object_get(changes, "needs") != NULL)
		cmd_reply(ctx, " needs now: %s (before: %s).", needs,
			  old_needs);
	if (json_object_get(changes, "obligations") != NULL)
		cmd_reply(ctx, " obligations now: %s.",
			  *new_obls ? new_obls : "none");
	rc = 0;
out:
	json_decref(obls);
	json_decref(changes);
	free(old_needs);
	free(old_obls);
	free(new_obls);
	return rc;
}

/*
 * Feedback from an interested party (clause 9.3.2 e): a complaint, a
 * customer's questionnaire, a regulator's letter, as the isms_manager
 * received it; kept for the next management review.
 */
static int
party_feedback(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	char *text;
	int rc = -1;

	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "PTY", &ref) < 0)
		return -1;
	text = reg_text(ctx, 1, REG_TEXT_MAX, "the feedback");
	if (text == NULL)
		return -1;
	if (db_exec(ctx->st,
		    "INSERT INTO party_feedback(party_id, text, recorded_by, "
		    "recorded_at) VALUES (?,?,?,?)",
		    "itii", ref.id, text, ctx->me.id, ctx->now) != 1 ||
	    cmd_audit(ctx, "party.feedback", ref.obj,
		      json_pack("{s:s,s:s}", "name", ref.title, "feedback",
				text)) < 0)
		goto out;
	cmd_reply(ctx,
		  "Feedback from %s %s recorded; the next management review "
		  "lists it.",
		  ref.obj, ref.title);
	rc = 0;
out:
	free(text);
	return rc;
}

#define PARTY_COLS                                                             \
	"SELECT p.id, p.name, p.needs, COALESCE((SELECT group_concat('OBL-' "  \
	"|| x.obligation_id, ', ') FROM (SELECT obligation_id FROM "           \
	"party_obligations WHERE party_id = p.id ORDER BY obligation_id) "     \
	"x), ''), date(p.updated_at, 'unixepoch'), p.updated_at > "            \
	"p.created_at FROM parties p "

static void
party_line(struct cmd_ctx *ctx, struct db_stmt *s)
{
	cmd_reply(ctx, "PTY-%lld %s: needs %s", (long long)db_col_int(s, 0),
		  db_col(s, 1), db_col(s, 2));
	if (*db_col(s, 3))
		cmd_reply(ctx, " (obligations %s)", db_col(s, 3));
	if (db_col_int(s, 5))
		cmd_reply(ctx, " [updated %s]", db_col(s, 4));
}

static int
party_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st, PARTY_COLS "ORDER BY p.id", NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (n++)
			cmd_reply(ctx, "\n");
		party_line(ctx, s);
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No interested parties yet (party add <name> "
			       "needs=...).");
	return 0;
}

static int
party_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "PTY", &ref) < 0)
		return -1;
	s = db_prepare(ctx->st, PARTY_COLS "WHERE p.id = ?", "i", ref.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	party_line(ctx, s);
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT o.id, o.source, o.title, o.ref, q.handle, "
		       "date(o.next_review_at, 'unixepoch') FROM "
		       "party_obligations l JOIN obligations o ON o.id = "
		       "l.obligation_id JOIN people q ON q.id = o.owner_id "
		       "WHERE l.party_id = ? ORDER BY o.id",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx,
			  "%s  OBL-%lld [%s] %s (%s; owner %s; next review "
			  "%s)",
			  n++ ? "\n" : "\nObligations:\n",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  db_col(s, 2), db_col(s, 3), db_col(s, 4),
			  db_col(s, 5));
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "\nObligations: none linked.");
	s = db_prepare(ctx->st,
		       "SELECT date(h.at, 'unixepoch'), a.handle, h.old_needs "
		       "FROM party_needs_history h JOIN people a ON a.id = "
		       "h.actor_id WHERE h.party_id = ? ORDER BY h.at, h.id",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	n = 0;
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%s  %s by %s; before: %s",
			  n++ ? "\n" : "\nNeeds changed:\n", db_col(s, 0),
			  db_col(s, 1), db_col(s, 2));
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT date(f.recorded_at, 'unixepoch'), a.handle, "
		       "f.text FROM party_feedback f JOIN people a ON a.id = "
		       "f.recorded_by WHERE f.party_id = ? ORDER BY "
		       "f.recorded_at, f.id",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	n = 0;
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%s  %s (recorded by %s): %.300s",
			  n++ ? "\n" : "\nFeedback:\n", db_col(s, 0),
			  db_col(s, 1), db_col(s, 2));
	db_finish(ctx->st, s);
	return 0;
}

int
party_feedback_write(struct cmd_ctx *ctx, int64_t since, const char *none)
{
	struct db_stmt *s;
	int n = 0;

	s = db_prepare(ctx->st,
		       "SELECT date(f.recorded_at, 'unixepoch') || ' PTY-' || "
		       "p.id || ' ' || p.name || ': ' || f.text FROM "
		       "party_feedback f JOIN parties p ON p.id = f.party_id "
		       "WHERE f.recorded_at >= ? ORDER BY f.recorded_at, f.id",
		       "i", since);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%s%.300s", n++ ? "\n  " : "", db_col(s, 0));
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "%s", none);
	return 0;
}

int
party_changes_write(struct cmd_ctx *ctx, int64_t since, const char *none)
{
	struct db_stmt *s;
	int n = 0;

	s = db_prepare(
	    ctx->st,
	    "SELECT at, id, what FROM ("
	    "SELECT p.created_at AS at, 0 AS k, p.id, 'PTY-' || p.id || ' ' || "
	    "p.name || ' added, needs: ' || p.needs AS what FROM parties p "
	    "WHERE p.created_at >= ?1 "
	    "UNION ALL SELECT h.at, 1, h.id, 'PTY-' || p.id || ' ' || "
	    "p.name || ' needs changed by ' || a.handle || ': ' || "
	    "h.new_needs || "
	    "' (before: ' || h.old_needs || ')' FROM party_needs_history h "
	    "JOIN parties p ON p.id = h.party_id JOIN people a ON a.id = "
	    "h.actor_id WHERE h.at >= ?1) x ORDER BY at, k, id",
	    "i", since);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		char date[16];

		time_date(db_col_int(s, 0), date);
		cmd_reply(ctx, "%s  %s %s", n++ ? "\n" : "", date,
			  db_col(s, 2));
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "%s", none);
	return 0;
}

static const struct cmd_entry party_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "needs,obligations",
	.usage = "<name> needs=<text> [obligations=OBL-n,...]",
	.help = "record an interested party and its needs (clause 4.2)",
	.exec = party_add,
    },
    {
	.verb = "update",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "needs,obligations",
	.usage = "PTY-n [needs=<text>] [obligations=OBL-n,...|none]",
	.help = "change a party's needs or obligations; changes are kept",
	.exec = party_update,
    },
    {
	.verb = "feedback",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "PTY-n <text>",
	.help = "record feedback from a party for the management review",
	.exec = party_feedback,
    },
    {
	.verb = "list",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "",
	.help = "interested parties, their needs and obligations",
	.exec = party_list,
    },
    {
	.verb = "show",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "PTY-n",
	.help = "a party with its obligations and how its needs changed",
	.exec = party_show,
    },
    {0},
};

const struct cmd_object party_object = {
    .name = "party",
    .help = "interested parties and their needs (clause 4.2)",
    .commands = party_commands,
};
