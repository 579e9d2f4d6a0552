/*
 * The organisation's context (clause 4.1): internal and external issues
 * (CTX-n) that bear on the ISMS, linked to the risks they give rise to.
 * An issue that no longer applies is retired with a reason and stays on
 * record, so that a management review sees how the context changed.
 */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "register.h"

static const char *const context_kinds[] = {"internal", "external"};

int
context_ids_key(struct cmd_ctx *ctx, const char *key, const char *prefix,
		int allow_none, json_t **out)
{
	const char *v = cmd_key(ctx, key);
	json_t *arr;
	char *copy, *tok, *save = NULL;
	int rc = -1;

	*out = NULL;
	if (v == NULL)
		return 0;
	arr = json_array();
	/* "none" unlinks everything (an update) */
	if (allow_none && strcmp(v, "none") == 0) {
		*out = arr;
		return 1;
	}
	copy = xstrdup(v);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		struct reg_ref ref;
		int64_t id;
		size_t k;
		int dup = 0;

		if (cmd_parse_id(ctx, tok, prefix, &id) < 0 ||
		    reg_load(ctx, prefix, id, &ref) < 0)
			goto out;
		for (k = 0; k < json_array_size(arr); k++)
			dup |= json_integer_value(json_array_get(arr, k)) == id;
		if (!dup)
			json_array_append_new(arr, json_integer(id));
	}
	if (json_array_size(arr) == 0) {
		cmd_error(ctx, "%s= needs ids like %s-1,%s-2%s", key, prefix,
			  prefix, allow_none ? " (or none)" : "");
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = 1;
out:
	free(copy);
	json_decref(arr);
	return rc;
}

/* "RSK-1, RSK-3" as a JSON array's text for the audit row. */
static json_t *
ids_json(const char *prefix, const json_t *ids)
{
	json_t *names = json_array();
	size_t k;

	for (k = 0; k < json_array_size(ids); k++) {
		char obj[32];

		reg_obj(obj, prefix,
			json_integer_value(json_array_get(ids, k)));
		json_array_append_new(names, json_string(obj));
	}
	return names;
}

static int
context_add(struct cmd_ctx *ctx)
{
	json_t *risks = NULL;
	char obj[32], *text = NULL;
	int64_t id;
	size_t k;
	int kind, rc = -1;

	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	kind = reg_one_of(ctx->cl->pos[0], context_kinds,
			  ARRAY_LEN(context_kinds));
	if (kind < 0)
		return cmd_error(ctx,
				 "an issue is internal or external, got "
				 "\"%.40s\" (usage: context add "
				 "internal|external <text> [risks=RSK-n,...])",
				 ctx->cl->pos[0]);
	text = reg_text(ctx, 1, REG_TEXT_MAX, "a description of the issue");
	if (text == NULL)
		return -1;
	if (context_ids_key(ctx, "risks", "RSK", 0, &risks) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO context_issues(kind, text, created_by, "
		    "created_at) VALUES (?,?,?,?)",
		    "ttii", context_kinds[kind], text, ctx->me.id,
		    ctx->now) != 1)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "CTX", id);
	for (k = 0; k < json_array_size(risks); k++)
		if (db_exec(ctx->st,
			    "INSERT INTO context_risks(issue_id, risk_id) "
			    "VALUES (?,?)",
			    "ii", id,
			    (int64_t)json_integer_value(
				json_array_get(risks, k))) != 1)
			goto out;
	if (cmd_audit(ctx, "context.add", obj,
		      json_pack("{s:s,s:s,s:o}", "kind", context_kinds[kind],
				"text", text, "risks",
				ids_json("RSK", risks))) < 0)
		goto out;
	cmd_reply(ctx, "Context issue %s recorded (%s): %s", obj,
		  context_kinds[kind], text);
	for (k = 0; k < json_array_size(risks); k++)
		cmd_reply(
		    ctx, "%sRSK-%lld", k ? ", " : "; risks ",
		    (long long)json_integer_value(json_array_get(risks, k)));
	cmd_reply(ctx, ".");
	rc = 0;
out:
	json_decref(risks);
	free(text);
	return rc;
}

static int
context_retire(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	char *reason, *when;
	int rc = -1;

	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "CTX", &ref) < 0)
		return -1;
	if (strcmp(ref.status, "retired") == 0) {
		when = db_text(ctx->st,
			       "SELECT date(retired_at, 'unixepoch') || ': ' "
			       "|| retired_reason FROM context_issues WHERE "
			       "id = ?",
			       "i", ref.id);
		rc = cmd_error(ctx, "%s is already retired (%s)", ref.obj,
			       when ? when : "?");
		free(when);
		return rc;
	}
	reason = reg_text(ctx, 1, REG_TEXT_MAX, "a reason");
	if (reason == NULL)
		return -1;
	if (db_exec(ctx->st,
		    "UPDATE context_issues SET status = 'retired', "
		    "retired_reason = ?, retired_by = ?, retired_at = ? "
		    "WHERE id = ? AND status = 'active'",
		    "tiii", reason, ctx->me.id, ctx->now, ref.id) != 1 ||
	    cmd_audit(ctx, "context.retire", ref.obj,
		      json_pack("{s:s,s:s,s:[s,s]}", "text", ref.title,
				"reason", reason, "status", "active",
				"retired")) < 0)
		goto out;
	cmd_reply(ctx, "%s retired: %s (it stays on record as retired).",
		  ref.obj, reason);
	rc = 0;
out:
	free(reason);
	return rc;
}

static int
context_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0, active = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(
	    ctx->st,
	    "SELECT c.id, c.kind, c.text, c.status, COALESCE((SELECT "
	    "group_concat('RSK-' || x.risk_id, ', ') FROM (SELECT risk_id "
	    "FROM context_risks WHERE issue_id = c.id ORDER BY risk_id) x), "
	    "''), COALESCE(date(c.retired_at, 'unixepoch'), ''), "
	    "COALESCE(c.retired_reason, ''), COALESCE(p.handle, '') "
	    "FROM context_issues c LEFT JOIN people p ON p.id = c.retired_by "
	    "ORDER BY c.status = 'retired', c.kind, c.id",
	    NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		int retired = strcmp(db_col(s, 3), "retired") == 0;

		cmd_reply(ctx, "%sCTX-%lld [%s] %s", n++ ? "\n" : "",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  db_col(s, 2));
		if (*db_col(s, 4))
			cmd_reply(ctx, " (risks %s)", db_col(s, 4));
		if (retired)
			cmd_reply(ctx, " RETIRED %s by %s: %s", db_col(s, 5),
				  db_col(s, 7), db_col(s, 6));
		else
			active++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No context issues yet (context add "
			       "internal|external <text>).");
	else
		cmd_reply(ctx, "\n%d current issue%s, %d retired.", active,
			  active == 1 ? "" : "s", n - active);
	return 0;
}

int
context_changes_write(struct cmd_ctx *ctx, int64_t since, const char *none)
{
	struct db_stmt *s;
	int n = 0;

	s = db_prepare(
	    ctx->st,
	    "SELECT at, what FROM ("
	    "SELECT c.created_at AS at, 0 AS k, c.id, 'CTX-' || c.id || ' [' "
	    "|| c.kind || '] ' || c.text || ' added' AS what FROM "
	    "context_issues c WHERE c.created_at >= ?1 "
	    "UNION ALL SELECT c.retired_at, 1, c.id, 'CTX-' || c.id || ' [' || "
	    "c.kind || '] ' || c.text || ' retired: ' || c.retired_reason "
	    "FROM context_issues c WHERE c.status = 'retired' AND "
	    "c.retired_at >= ?1) x ORDER BY at, k, id",
	    "i", since);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		char date[16];

		time_date(db_col_int(s, 0), date);
		cmd_reply(ctx, "%s%s %.300s", n++ ? "\n  " : "", date,
			  db_col(s, 1));
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "%s", none);
	return 0;
}

static const struct cmd_entry context_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "risks",
	.usage = "internal|external <text> [risks=RSK-n,...]",
	.help = "record an internal or external issue (clause 4.1)",
	.exec = context_add,
    },
    {
	.verb = "list",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "",
	.help = "current issues, then retired ones with their reasons",
	.exec = context_list,
    },
    {
	.verb = "retire",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "CTX-n <reason>",
	.help = "mark an issue as no longer applying; it stays on record",
	.exec = context_retire,
    },
    {0},
};

const struct cmd_object context_object = {
    .name = "context",
    .help = "the organisation's internal and external issues (clause 4.1)",
    .commands = context_commands,
};
