/*
 * The Statement of Applicability: the 93 Annex A controls with their
 * applicability, justification, implementation status, owner and the
 * risks whose treatment uses them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "register.h"

static const char *const themes[] = {"organizational", "people", "physical",
				     "technological"};
static const char *const statuses[] = {"not_started", "partial", "implemented"};
static const char *const yes_no[] = {"no", "yes"};

struct control {
	char id[16];
	char obj[24]; /* "A.5.15" for the audit log */
	char theme[16];
	char title[128];
	int applicable;
	int status;	     /* index in statuses */
	char *justification; /* owned; NULL when none */
	char *notes;	     /* owned; NULL when none */
	int64_t owner_id;
};

/* pos[0] as "5.15" or "A.5.15"; 0, or -1 with an error reply. */
static int
control_arg(struct cmd_ctx *ctx, struct control *c)
{
	const char *word;
	struct db_stmt *s;
	int rc;

	memset(c, 0, sizeof(*c));
	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	word = ctx->cl->pos[0];
	if (strncasecmp(word, "A.", 2) == 0)
		word += 2;
	s = db_prepare(ctx->st,
		       "SELECT id, theme, title, applicable, status, "
		       "justification, COALESCE(owner_id, 0), notes FROM "
		       "controls WHERE id = ?",
		       "t", word);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(c->id, sizeof(c->id), "%s", db_col(s, 0));
		snprintf(c->obj, sizeof(c->obj), "A.%s", c->id);
		snprintf(c->theme, sizeof(c->theme), "%s", db_col(s, 1));
		snprintf(c->title, sizeof(c->title), "%s", db_col(s, 2));
		c->applicable = (int)db_col_int(s, 3);
		c->status = reg_one_of(db_col(s, 4), statuses, 3);
		if (!db_col_null(s, 5))
			c->justification = xstrdup(db_col(s, 5));
		c->owner_id = db_col_int(s, 6);
		if (!db_col_null(s, 7))
			c->notes = xstrdup(db_col(s, 7));
	}
	db_finish(ctx->st, s);
	if (rc != DB_ROW)
		return cmd_error(ctx,
				 "no Annex A control \"%.20s\" (expected "
				 "an id like 5.15 or 8.7)",
				 ctx->cl->pos[0]);
	return 0;
}

/* Linked risk treatments, one line each; the count, or -1. */
static int
linked_risks(struct cmd_ctx *ctx, const char *id, int list)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT r.id, r.level, r.score, r.title, "
	    "COALESCE(r.treatment, 'untreated') FROM risk_controls rc "
	    "JOIN risks r ON r.id = rc.risk_id WHERE rc.control_id = ? "
	    "ORDER BY r.score DESC, r.id",
	    "t", id);
	int n = 0;

	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (list)
			cmd_reply(ctx, "\n  RSK-%lld [%s %d] %s (%s)",
				  (long long)db_col_int(s, 0), db_col(s, 1),
				  (int)db_col_int(s, 2), db_col(s, 3),
				  db_col(s, 4));
		n++;
	}
	db_finish(ctx->st, s);
	return n;
}

static int
control_show(struct cmd_ctx *ctx)
{
	struct control c;
	char *owner = NULL, *changed = NULL;
	int n, readers = has_role(&ctx->me, REG_READERS);

	if (control_arg(ctx, &c) < 0)
		return -1;
	owner = db_text(ctx->st, "SELECT handle FROM people WHERE id = ?", "i",
			c.owner_id);
	changed = db_text(ctx->st,
			  "SELECT date(c.updated_at, 'unixepoch') || ' by ' || "
			  "p.handle FROM controls c JOIN people p ON p.id = "
			  "c.updated_by WHERE c.id = ?",
			  "t", c.id);
	cmd_reply(ctx,
		  "%s %s (%s)\nApplicable: %s. Status: %s. Owner: %s.\n"
		  "Justification: %s\nNotes: %s\nLast changed: %s.\n"
		  "Linked risks:",
		  c.id, c.title, c.theme, yes_no[c.applicable],
		  statuses[c.status], owner ? owner : "none",
		  c.justification ? c.justification : "-",
		  c.notes ? c.notes : "-", changed ? changed : "never");
	n = linked_risks(ctx, c.id, readers);
	if (n == 0)
		cmd_reply(ctx, " none");
	else if (n > 0 && !readers)
		cmd_reply(ctx,
			  " %d (details for risk owners, managers, "
			  "isms_managers and auditors)",
			  n);
	if (readers && n > 0)
		ctx->rp->confidential = 1;
	free(owner);
	free(changed);
	free(c.justification);
	free(c.notes);
	return n < 0 ? -1 : 0;
}

static int
control_set(struct cmd_ctx *ctx)
{
	struct control c;
	struct person owner;
	const char *just = NULL, *notes = NULL;
	char *old_owner = NULL;
	json_t *changes = json_object();
	int applicable, status, r, rc = -1;

	if (control_arg(ctx, &c) < 0)
		goto out;
	if (ctx->cl->nkv == 0) {
		rc = reg_usage(ctx);
		goto out;
	}
	if (reg_may_change(ctx, c.owner_id, c.obj, "owner") < 0)
		goto out;
	applicable = c.applicable;
	status = c.status;
	just = c.justification;
	notes = c.notes;
	owner.id = c.owner_id;
	if (reg_key_enum(ctx, "applicable", yes_no, 2, 0, &applicable) < 0 ||
	    reg_key_enum(ctx, "status", statuses, 3, 0, &status) < 0 ||
	    reg_key_text(ctx, "justification", REG_TEXT_MAX, 0, &just) < 0 ||
	    reg_key_text(ctx, "notes", REG_TEXT_MAX, 0, &notes) < 0)
		goto out;
	/*
	 * The Statement of Applicability is the isms_managers' (clause
	 * 6.1.3 d): whether a control applies, and why, changes only by them
	 * and always with a justification; owners record status and notes.
	 */
	if ((applicable != c.applicable ||
	     cmd_key(ctx, "justification") != NULL) &&
	    !has_role(&ctx->me, ROLE_ISMS_MANAGER)) {
		rc = cmd_error(ctx,
			       "not allowed: only an isms_manager decides "
			       "whether %s applies and why (the Statement of "
			       "Applicability); as its owner you set status= "
			       "and notes=",
			       c.id);
		goto out;
	}
	if (applicable != c.applicable &&
	    str_is_blank(cmd_key(ctx, "justification"))) {
		rc = cmd_error(ctx,
			       "applicable=%s needs a justification in the "
			       "same command (justification=\"why the control "
			       "is %s\")",
			       yes_no[applicable],
			       applicable ? "included" : "excluded");
		goto out;
	}
	if (cmd_key(ctx, "owner") != NULL) {
		if (!has_role(&ctx->me, ROLE_ISMS_MANAGER)) {
			rc = cmd_error(ctx, "not allowed: only an isms_manager "
					    "may give a control an owner");
			goto out;
		}
		if (reg_key_person(ctx, "owner", &owner) < 0)
			goto out;
	}
	if (!applicable && str_is_blank(just)) {
		rc = cmd_error(ctx, "applicable=no needs a justification "
				    "(justification=\"why the control is "
				    "excluded\")");
		goto out;
	}
	if (!applicable && c.applicable) {
		r = linked_risks(ctx, c.id, 0);
		if (r != 0) {
			if (r > 0)
				rc =
				    cmd_error(ctx,
					      "control %s is used by %d "
					      "risk treatment%s (control "
					      "show %s); change them "
					      "first",
					      c.id, r, r == 1 ? "" : "s", c.id);
			goto out;
		}
	}
	old_owner = db_text(ctx->st, "SELECT handle FROM people WHERE id = ?",
			    "i", c.owner_id);
	reg_diff(changes, "applicable", yes_no[c.applicable],
		 yes_no[applicable]);
	reg_diff(changes, "status", statuses[c.status], statuses[status]);
	reg_diff(changes, "justification", c.justification, just);
	reg_diff(changes, "notes", c.notes, notes);
	if (owner.id != c.owner_id)
		reg_diff(changes, "owner", old_owner, owner.handle);
	if (json_object_size(changes) == 0) {
		rc =
		    cmd_error(ctx, "control %s already has these values", c.id);
		goto out;
	}
	if (db_exec(ctx->st,
		    "UPDATE controls SET applicable = ?, status = ?, "
		    "justification = ?, notes = ?, owner_id = NULLIF(?, 0), "
		    "updated_by = ?, updated_at = ? WHERE id = ?",
		    "itttiiit", (int64_t)applicable, statuses[status], just,
		    notes, owner.id, ctx->me.id, ctx->now, c.id) < 0 ||
	    cmd_audit(ctx, "control.set", c.obj,
		      json_pack("{s:O}", "changes", changes)) < 0)
		goto out;
	cmd_reply(ctx, "Control %s %s: applicable %s, status %s.", c.id,
		  c.title, yes_no[applicable], statuses[status]);
	rc = 0;
out:
	json_decref(changes);
	free(old_owner);
	free(c.justification);
	free(c.notes);
	return rc;
}

static int
control_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int theme = -1, status = -1, applicable = -1, n = 0;
	int64_t counts[4] = {0}; /* not applicable, not_started, partial,
				    implemented */

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	if (reg_key_enum(ctx, "theme", themes, 4, 0, &theme) < 0 ||
	    reg_key_enum(ctx, "status", statuses, 3, 0, &status) < 0 ||
	    reg_key_enum(ctx, "applicable", yes_no, 2, 0, &applicable) < 0)
		return -1;
	s = db_prepare(ctx->st,
		       "SELECT c.id, c.title, c.applicable, c.status, "
		       "COALESCE(p.handle, '-') FROM controls c LEFT JOIN "
		       "people p ON p.id = c.owner_id WHERE (?1 IS NULL OR "
		       "c.theme = ?1) AND (?2 IS NULL OR c.status = ?2) AND "
		       "(?3 < 0 OR c.applicable = ?3) ORDER BY c.seq",
		       "tti", theme >= 0 ? themes[theme] : NULL,
		       status >= 0 ? statuses[status] : NULL,
		       (int64_t)applicable);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		int app = (int)db_col_int(s, 2);
		int st = reg_one_of(db_col(s, 3), statuses, 3);

		counts[app ? st + 1 : 0]++;
		cmd_reply(ctx, "%s%-5s [%s] %s (owner %s)", n ? "\n" : "",
			  db_col(s, 0), app ? statuses[st] : "not applicable",
			  db_col(s, 1), db_col(s, 4));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0) {
		cmd_reply(ctx, "No controls match.");
		return 0;
	}
	cmd_reply(ctx,
		  "\n%d control%s: %lld implemented, %lld partial, %lld "
		  "not started, %lld not applicable.",
		  n, n == 1 ? "" : "s", (long long)counts[3],
		  (long long)counts[2], (long long)counts[1],
		  (long long)counts[0]);
	return 0;
}

static const struct cmd_entry control_commands[] = {
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.keys = "theme,status,applicable",
	.usage = "[theme=organizational|people|physical|technological] "
		 "[status=not_started|partial|implemented] [applicable=yes|no]",
	.help = "the Statement of Applicability (93 Annex A controls)",
	.exec = control_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "5.15",
	.help = "a control, its status and the risks it treats",
	.exec = control_show,
    },
    {
	.verb = "set",
	.keys = "applicable,status,justification,notes,owner",
	.usage =
	    "5.15 [applicable=yes|no justification=...] "
	    "[status=not_started|partial|implemented] [notes=...] [owner=@h]",
	.help =
	    "status and notes (the control's owner or an isms_manager); "
	    "applicability with its justification and the owner (isms_manager)",
	.exec = control_set,
    },
    {0},
};

const struct cmd_object control_object = {
    .name = "control",
    .help = "the Statement of Applicability (Annex A controls)",
    .commands = control_commands,
};
