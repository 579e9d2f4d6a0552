/*
 * Findings (FND-n) after the audit (ISO/IEC 27001 clause 10.2): the
 * organisation determines the root cause of a nonconformity before its
 * corrective actions close, then reviews whether they were effective. A
 * finding judged not effective is re-opened and needs a new corrective
 * action. Recording findings stays with the audit (commands/audit.c):
 * auditors record, they do not determine causes.
 */
#include "finding.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "register.h"
#include "soa.h"

#define DAY 86400

/* The requirements of the main body of ISO/IEC 27001:2022 a finding may
 * cite. */
static const char *const clauses[] = {
    "4.1",   "4.2",   "4.3",   "4.4",	"5.1",	 "5.2",	 "5.3",	 "6.1", "6.1.1",
    "6.1.2", "6.1.3", "6.2",   "6.3",	"7.1",	 "7.2",	 "7.3",	 "7.4", "7.5",
    "7.5.1", "7.5.2", "7.5.3", "8.1",	"8.2",	 "8.3",	 "9.1",	 "9.2", "9.2.1",
    "9.2.2", "9.3",   "9.3.1", "9.3.2", "9.3.3", "10.1", "10.2",
};

static const char *const answers[] = {"yes", "no"};

#define FINDING_SEERS                                                          \
	"a finding is visible to its audit's auditor and the register's "      \
	"readers"

int
finding_cites(struct cmd_ctx *ctx, const char **clause, char control[16])
{
	const char *c = cmd_key(ctx, "clause"), *k = cmd_key(ctx, "control");
	int custom;

	*clause = NULL;
	control[0] = '\0';
	if (c != NULL) {
		int i = reg_one_of(c, clauses, ARRAY_LEN(clauses));

		if (i < 0)
			return cmd_error(ctx,
					 "clause=%.20s is not a clause of "
					 "ISO/IEC 27001:2022: give one from "
					 "4.1 to 10.2, such as 9.2 or 6.1.3",
					 c);
		*clause = clauses[i];
	}
	if (k != NULL) {
		int rc = control_lookup(ctx, k, control, &custom);

		if (rc < 0)
			return cmd_error(ctx, "database error");
		if (rc == 0)
			return cmd_error(ctx,
					 "control=%.20s: no such control "
					 "(Annex A ids such as 5.15, or a "
					 "custom control: control list)",
					 k);
	}
	return 0;
}

int
finding_action_closable(struct cmd_ctx *ctx, int64_t action_id)
{
	struct db_stmt *s;
	int rc;

	s = db_prepare(
	    ctx->st,
	    "SELECT f.id, f.kind FROM actions a JOIN findings f ON "
	    "f.id = a.finding_id WHERE a.id = ? AND " FINDING_NO_CAUSE,
	    "i", action_id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	rc = db_step(s);
	if (rc == DB_ROW)
		cmd_error(ctx,
			  "ACT-%lld corrects FND-%lld (%s nonconformity), "
			  "whose root cause is not recorded yet (clause 10.2 "
			  "b): record it first with finding cause FND-%lld "
			  "<cause> (an isms_manager or the owner of a "
			  "corrective action)",
			  (long long)action_id, (long long)db_col_int(s, 0),
			  db_col(s, 1), (long long)db_col_int(s, 0));
	else if (rc != DB_DONE)
		cmd_error(ctx, "database error");
	db_finish(ctx->st, s);
	return rc == DB_DONE ? 0 : -1;
}

/* A finding's kind and audit; 0, or -1 with an error reply. */
static int
finding_row(struct cmd_ctx *ctx, int64_t id, char kind[16], int64_t *audit,
	    int64_t *needs_action)
{
	struct db_stmt *s = db_prepare(ctx->st,
				       "SELECT kind, audit_id, needs_action "
				       "FROM findings WHERE id = ?",
				       "i", id);

	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	snprintf(kind, 16, "%s", db_col(s, 0));
	*audit = db_col_int(s, 1);
	*needs_action = db_col_int(s, 2);
	db_finish(ctx->st, s);
	return 0;
}

/* Only major and minor nonconformities have causes and corrections. */
static int
nonconformity(struct cmd_ctx *ctx, const struct reg_ref *f, const char *kind)
{
	if (strcmp(kind, "major") == 0 || strcmp(kind, "minor") == 0)
		return 0;
	return cmd_error(ctx,
			 "%s is an %s: only a major or minor nonconformity "
			 "has a root cause and corrective actions to check",
			 f->obj,
			 strcmp(kind, "observation") == 0
			     ? "observation"
			     : "opportunity for improvement");
}

/* Tells the owners of the finding's open actions and its auditor. */
static int
tell_around(struct cmd_ctx *ctx, const struct reg_ref *f, const char *subject)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT DISTINCT owner_id FROM actions WHERE "
				  "finding_id = ?1 AND status = 'open' AND "
				  "owner_id != ?2 ORDER BY owner_id",
				  "ii", f->id, f->owner_id),
		       1, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = reg_tell(ctx, rows[i], subject, subject);
	free(rows);
	if (rc == 0)
		rc = reg_tell(ctx, f->owner_id, subject, subject);
	return rc;
}

static int
finding_cause(struct cmd_ctx *ctx)
{
	struct reg_ref f;
	char kind[16], *cause = NULL, *old = NULL, *subject = NULL;
	int64_t audit, needs, owns = 0;
	int rc = -1;

	if (reg_arg(ctx, 0, "FND", &f) < 0 ||
	    finding_row(ctx, f.id, kind, &audit, &needs) < 0 ||
	    nonconformity(ctx, &f, kind) < 0)
		return -1;
	if (strcmp(f.status, "closed") == 0)
		return cmd_error(ctx, "%s is closed", f.obj);
	if (db_int(ctx->st, &owns,
		   "SELECT COUNT(*) FROM actions WHERE finding_id = ? AND "
		   "owner_id = ?",
		   "ii", f.id, ctx->me.id) != 1)
		return cmd_error(ctx, "database error");
	/* the organisation determines causes; the auditor only found it */
	if (owns == 0 && !has_role(&ctx->me, ROLE_ISMS_MANAGER))
		return cmd_error(ctx,
				 "not allowed: the root cause of %s is "
				 "recorded by an isms_manager or the owner of "
				 "one of its corrective actions",
				 f.obj);
	cause = reg_text(ctx, 1, REG_TEXT_MAX, "the root cause");
	if (cause == NULL)
		return -1;
	old = db_text(ctx->st, "SELECT cause FROM findings WHERE id = ?", "i",
		      f.id);
	if (db_exec(ctx->st,
		    "UPDATE findings SET cause = ?, cause_by = ?, cause_at = ? "
		    "WHERE id = ?",
		    "tiii", cause, ctx->me.id, ctx->now, f.id) < 0 ||
	    cmd_audit(ctx, "finding.cause", f.obj,
		      json_pack("{s:s,s:s?}", "cause", cause, "was", old)) < 0)
		goto out;
	subject = xasprintf("Root cause of %s (%s nonconformity) recorded by "
			    "%s: %s",
			    f.obj, kind, ctx->me.handle, cause);
	if (tell_around(ctx, &f, subject) < 0)
		goto out;
	cmd_reply(ctx, "Root cause of %s %s: %s.", f.obj,
		  old ? "changed" : "recorded", cause);
	rc = 0;
out:
	free(cause);
	free(old);
	free(subject);
	return rc;
}

/*
 * The corrective action a "no" adds in the same command (action=, owner=,
 * due=): 1 added (its id in *act), 0 none asked for, -1 refused.
 */
static int
effective_action(struct cmd_ctx *ctx, const struct reg_ref *f, int64_t audit,
		 int check, int64_t *act)
{
	const char *text = NULL;
	struct person owner;
	int64_t due;
	char obj[32], due_s[16], *subject;
	int rc;

	*act = 0;
	if (reg_key_text(ctx, "action", REG_TEXT_MAX, 0, &text) < 0)
		return -1;
	if (text == NULL) {
		if (cmd_key(ctx, "owner") || cmd_key(ctx, "due"))
			return cmd_error(ctx, "owner= and due= go with "
					      "action=\"...\" (a new "
					      "corrective action)");
		return 0;
	}
	if (check)
		return cmd_error(ctx, "action= goes with \"no\": a finding "
				      "whose actions were effective needs no "
				      "new one");
	if (reg_key_person(ctx, "owner", &owner) < 0 ||
	    reg_may_own(ctx, &owner, "an action") < 0 ||
	    reg_key_plan_date(ctx, "due", 1, &due) < 0)
		return -1;
	if (db_exec(ctx->st,
		    "INSERT INTO actions(text, owner_id, due_at, source_kind, "
		    "source_id, finding_id, created_by, created_at) VALUES "
		    "(?,?,?,'AUD',?,?,?,?)",
		    "tiiiiii", text, owner.id, due, audit, f->id, ctx->me.id,
		    ctx->now) < 0)
		return -1;
	*act = db_last_id(ctx->st);
	reg_obj(obj, "ACT", *act);
	time_date(due, due_s);
	if (cmd_audit(ctx, "action.add", obj,
		      json_pack("{s:s,s:s,s:s,s:s,s:s}", "text", text, "owner",
				owner.handle, "due", due_s, "source", f->obj,
				"corrects", f->obj)) < 0)
		return -1;
	subject = xasprintf("Action %s for you, due %s: %s (a new corrective "
			    "action for %s)",
			    obj, due_s, text, f->obj);
	rc = reg_tell(ctx, owner.id, subject, subject);
	free(subject);
	return rc < 0 ? -1 : 1;
}

static int
finding_effective(struct cmd_ctx *ctx)
{
	struct reg_ref f;
	char kind[16], act_obj[32] = "", *note = NULL, *acts = NULL;
	char *subject = NULL, *cause = NULL;
	int64_t audit, needs, total = 0, open = 0, act = 0;
	int yes, upd, rc = -1;

	yes = ctx->cl->npos < 2 ? -1 : reg_one_of(ctx->cl->pos[1], answers, 2);
	if (yes < 0)
		return reg_usage(ctx);
	yes = yes == 0;
	if (reg_arg(ctx, 0, "FND", &f) < 0 ||
	    finding_row(ctx, f.id, kind, &audit, &needs) < 0 ||
	    nonconformity(ctx, &f, kind) < 0)
		return -1;
	if (needs)
		return cmd_error(ctx,
				 "%s was found not effective and needs a new "
				 "corrective action before another check: "
				 "action add <text> owner=@h due=YYYY-MM-DD "
				 "source=%s",
				 f.obj, f.obj);
	if (db_int(ctx->st, &total,
		   "SELECT COUNT(*) FROM actions WHERE finding_id = ?", "i",
		   f.id) != 1 ||
	    db_int(ctx->st, &open,
		   "SELECT COUNT(*) FROM actions WHERE finding_id = ? AND "
		   "status = 'open'",
		   "i", f.id) != 1)
		return cmd_error(ctx, "database error");
	if (total == 0)
		return cmd_error(ctx,
				 "%s has no corrective action to check yet: "
				 "action add <text> owner=@h due=YYYY-MM-DD "
				 "source=%s",
				 f.obj, f.obj);
	if (open > 0) {
		acts = db_text(ctx->st,
			       "SELECT group_concat('ACT-' || id, ', ') FROM "
			       "actions WHERE finding_id = ? AND status = "
			       "'open'",
			       "i", f.id);
		rc = cmd_error(ctx,
			       "%s: its effectiveness is checked once its "
			       "corrective actions are done (open: %s)",
			       f.obj, acts ? acts : "?");
		goto out;
	}
	cause = db_text(ctx->st,
			"SELECT COALESCE(cause, '') FROM findings WHERE id = ?",
			"i", f.id);
	if (cause == NULL || *cause == '\0') {
		rc = cmd_error(ctx,
			       "%s has no root cause recorded: finding cause "
			       "%s <cause> comes first",
			       f.obj, f.obj);
		goto out;
	}
	note = reg_text(ctx, 2, REG_TEXT_MAX, "a note on what was checked");
	if (note == NULL)
		goto out;
	if (effective_action(ctx, &f, audit, yes, &act) < 0)
		goto out;
	if (act)
		reg_obj(act_obj, "ACT", act);
	if (db_exec(ctx->st,
		    "INSERT INTO finding_checks(finding_id, effective, note, "
		    "action_id, checked_by, checked_at) VALUES "
		    "(?,?,?,NULLIF(?, 0),?,?)",
		    "iitiii", f.id, (int64_t)yes, note, act, ctx->me.id,
		    ctx->now) < 0)
		goto out;
	/* "yes" closes it (if the audit did not already); "no" re-opens */
	if (yes)
		upd =
		    db_exec(ctx->st,
			    "UPDATE findings SET status = 'closed', closed_by "
			    "= COALESCE(closed_by, ?), closed_at = "
			    "COALESCE(closed_at, ?) WHERE id = ?",
			    "iii", ctx->me.id, ctx->now, f.id);
	else
		upd =
		    db_exec(ctx->st,
			    "UPDATE findings SET status = 'open', closed_by = "
			    "NULL, closed_at = NULL, close_reason = NULL, "
			    "needs_action = ? WHERE id = ?",
			    "ii", (int64_t)(act == 0), f.id);
	if (upd < 0)
		goto out;
	if (cmd_audit(ctx, "finding.effective", f.obj,
		      json_pack("{s:s,s:s,s:s,s:s?}", "effective",
				yes ? "yes" : "no", "note", note, "status",
				yes ? "closed" : "open", "action",
				act ? act_obj : NULL)) < 0)
		goto out;
	subject =
	    xasprintf("%s: corrective actions %s (checked by %s): %s", f.obj,
		      yes ? "effective, finding closed"
			  : "not effective, finding re-opened",
		      ctx->me.handle, note);
	if (reg_tell(ctx, f.owner_id, subject, subject) < 0)
		goto out;
	if (yes)
		cmd_reply(ctx, "%s: corrective actions effective; %s closed.",
			  f.obj, f.obj);
	else if (act)
		cmd_reply(ctx,
			  "%s: corrective actions not effective; %s re-opened "
			  "with the new corrective action %s.",
			  f.obj, f.obj, act_obj);
	else
		cmd_reply(ctx,
			  "%s: corrective actions not effective; %s re-opened. "
			  "It needs a new corrective action: action add "
			  "<text> owner=@h due=YYYY-MM-DD source=%s",
			  f.obj, f.obj, f.obj);
	if (!yes)
		cmd_reply(ctx,
			  " Review the root cause too: finding cause %s "
			  "<cause>.",
			  f.obj);
	rc = 0;
out:
	free(note);
	free(acts);
	free(cause);
	free(subject);
	return rc;
}

static int
finding_show(struct cmd_ctx *ctx)
{
	struct reg_ref f;
	struct db_stmt *s;
	char date[16];
	int n = 0, nc;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg_seen(ctx, 0, "FND", REG_READERS, FINDING_SEERS, &f) < 0)
		return -1;
	s = db_prepare(ctx->st,
		       "SELECT f.kind, f.status, 'AUD-' || f.audit_id, "
		       "a.scope, f.created_at, c.handle, COALESCE(f.clause, "
		       "''), COALESCE(f.control_id, ''), f.text, "
		       "COALESCE(f.cause, ''), COALESCE(p.handle, ''), "
		       "COALESCE(f.cause_at, 0), COALESCE(f.close_reason, ''), "
		       "f.needs_action, " FINDING_UNCHECKED " FROM findings f "
		       "JOIN audits a ON a.id = f.audit_id JOIN people c ON "
		       "c.id = f.created_by LEFT JOIN people p ON p.id = "
		       "f.cause_by WHERE f.id = ?",
		       "i", f.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	nc = strcmp(db_col(s, 0), "major") == 0 ||
	     strcmp(db_col(s, 0), "minor") == 0;
	cmd_date(db_col_int(s, 4), date);
	cmd_reply(ctx, "%s %s%s [%s] of %s (%s), recorded %s by %s.", f.obj,
		  db_col(s, 0), nc ? " nonconformity" : "", db_col(s, 1),
		  db_col(s, 2), db_col(s, 3), date, db_col(s, 5));
	if (*db_col(s, 6) || *db_col(s, 7))
		cmd_reply(ctx, "\nCites:%s%s%s%s.",
			  *db_col(s, 6) ? " clause " : "", db_col(s, 6),
			  !*db_col(s, 7)  ? ""
			  : *db_col(s, 6) ? ", control "
					  : " control ",
			  db_col(s, 7));
	cmd_reply(ctx, "\nFinding: %s", db_col(s, 8));
	if (*db_col(s, 12))
		cmd_reply(ctx, "\nClosed with the reason: %s", db_col(s, 12));
	if (nc && *db_col(s, 9)) {
		cmd_date(db_col_int(s, 11), date);
		cmd_reply(ctx, "\nRoot cause (%s, %s): %s", db_col(s, 10), date,
			  db_col(s, 9));
	} else if (nc) {
		cmd_reply(ctx,
			  "\nRoot cause: NOT RECORDED (finding cause %s "
			  "<cause>)",
			  f.obj);
	}
	if (nc && db_col_int(s, 13))
		cmd_reply(ctx,
			  "\nNot effective: it needs a new corrective "
			  "action (action add ... source=%s).",
			  f.obj);
	else if (nc && db_col_int(s, 14))
		cmd_reply(ctx,
			  "\nAwaiting the effectiveness check: finding "
			  "effective %s yes|no <note>",
			  f.obj);
	db_finish(ctx->st, s);
	if (!nc)
		return 0;
	s = db_prepare(ctx->st,
		       "SELECT x.id, x.status, x.text, p.handle FROM actions x "
		       "JOIN people p ON p.id = x.owner_id WHERE x.finding_id "
		       "= ? ORDER BY x.id",
		       "i", f.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "\nCorrective actions:");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "\n  ACT-%lld [%s] %.200s (owner %s)",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  db_col(s, 2), db_col(s, 3));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " NONE YET");
	s = db_prepare(ctx->st,
		       "SELECT c.checked_at, p.handle, c.effective, c.note, "
		       "COALESCE('ACT-' || c.action_id, '') FROM "
		       "finding_checks c JOIN people p ON p.id = c.checked_by "
		       "WHERE c.finding_id = ? ORDER BY c.id",
		       "i", f.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	n = 0;
	while (db_step(s) == DB_ROW) {
		if (n++ == 0)
			cmd_reply(ctx, "\nEffectiveness checks:");
		cmd_date(db_col_int(s, 0), date);
		cmd_reply(ctx, "\n  %s %s: %s: %s%s%s", date, db_col(s, 1),
			  db_col_int(s, 2) ? "effective" : "NOT effective",
			  db_col(s, 3), *db_col(s, 4) ? "; new action " : "",
			  db_col(s, 4));
	}
	db_finish(ctx->st, s);
	return 0;
}

static int
finding_list(struct cmd_ctx *ctx)
{
	static const char *const filters[] = {"open", "nocause", "unchecked",
					      "all"};
	struct db_stmt *s;
	int f = 0, n = 0;

	if (ctx->cl->npos == 1)
		f = reg_one_of(ctx->cl->pos[0], filters, 4);
	if (ctx->cl->npos > 1 || f < 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st,
		       "SELECT f.id, f.kind, f.status, 'AUD-' || f.audit_id, "
		       "f.text, COALESCE(f.clause, ''), COALESCE(f.control_id, "
		       "''), " FINDING_NO_CAUSE ", " FINDING_UNCHECKED
		       " FROM findings f WHERE (?1 = 3 OR (?1 = 0 AND "
		       "f.status = 'open') OR (?1 = 1 AND " FINDING_NO_CAUSE
		       ") OR (?1 = 2 AND " FINDING_UNCHECKED ")) ORDER BY f.id",
		       "i", (int64_t)f);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "%sFND-%lld [%s, %s] %s: %.200s", n ? "\n" : "",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  db_col(s, 2), db_col(s, 3), db_col(s, 4));
		if (*db_col(s, 5))
			cmd_reply(ctx, " (clause %s)", db_col(s, 5));
		if (*db_col(s, 6))
			cmd_reply(ctx, " (control %s)", db_col(s, 6));
		if (db_col_int(s, 7))
			cmd_reply(ctx, " -- NO ROOT CAUSE");
		if (db_col_int(s, 8))
			cmd_reply(ctx, " -- AWAITING EFFECTIVENESS CHECK");
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No %s findings.",
			  f == 1   ? "nonconformities without a root cause:"
			  : f == 2 ? "nonconformities awaiting a check:"
				   : filters[f]);
	return 0;
}

int
finding_report_write(struct cmd_ctx *ctx)
{
	static const struct {
		const char *what, *where;
	} parts[] = {
	    {"without a root cause", FINDING_NO_CAUSE},
	    {"done but not checked for effectiveness", FINDING_UNCHECKED},
	};
	struct db_stmt *s;
	size_t k;

	cmd_reply(ctx, "Nonconformities (clause 10.2):");
	for (k = 0; k < ARRAY_LEN(parts); k++) {
		char *sql = xasprintf(
		    "SELECT f.id, f.kind, 'AUD-' || f.audit_id, f.text FROM "
		    "findings f WHERE %s ORDER BY f.id",
		    parts[k].where);
		int n = 0;

		s = db_prepare(ctx->st, sql, NULL);
		free(sql);
		if (s == NULL)
			return cmd_error(ctx, "database error");
		cmd_reply(ctx, "%s", k ? "\n" : "");
		while (db_step(s) == DB_ROW) {
			if (n++ == 0)
				cmd_reply(ctx, "%s %s:", k ? "" : "\n",
					  parts[k].what);
			cmd_reply(ctx, "\n  FND-%lld [%s] %s: %.200s",
				  (long long)db_col_int(s, 0), db_col(s, 1),
				  db_col(s, 2), db_col(s, 3));
		}
		db_finish(ctx->st, s);
		if (n == 0)
			cmd_reply(ctx, "%s %s: none", k ? "" : "\n",
				  parts[k].what);
	}
	return 0;
}

/* The people a nudge goes to: ids into a new array (caller frees). */
static int
isms_managers(struct cmd_ctx *ctx, int64_t **ids, size_t *n)
{
	return nudge_rows(
	    ctx->st,
	    db_prepare(ctx->st,
		       "SELECT id FROM people WHERE active <> 0 AND "
		       "(roles & ?) != 0 ORDER BY handle",
		       "i", (int64_t)ROLE_ISMS_MANAGER),
	    1, ids, n);
}

/* One nudge about FND-id to each of ids. 0 or -1. */
static int
nudge_each(struct cmd_ctx *ctx, struct tz_work *w, struct nudge *nd,
	   const int64_t *ids, size_t n, const char *subject, const char *body)
{
	struct person to;
	size_t i;

	for (i = 0; i < n; i++) {
		if (store_person_by_id(ctx->st, ids[i], &to) != 1)
			return -1;
		if (!to.active)
			continue;
		if (nudge_send(ctx, w, nd, &to, subject, body, NULL) < 0)
			return -1;
	}
	return 0;
}

static int
cause_nudge(struct cmd_ctx *ctx, struct tz_work *w, int64_t id, int64_t created)
{
	int64_t start = created + (int64_t)FINDING_CAUSE_DAYS * DAY, *ids;
	struct nudge nd = {.kind = "finding.cause"};
	char obj[32], period[48], date[16], *text, *subject, *body;
	size_t n;
	int rc;

	reg_obj(obj, "FND", id);
	nd.object = obj;
	nudge_repeat(ctx, &nd, "cause", start, period, sizeof(period));
	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT DISTINCT x.owner_id FROM actions x "
				  "JOIN people p ON p.id = x.owner_id WHERE "
				  "x.finding_id = ? AND x.status = 'open' AND "
				  "p.active <> 0 ORDER BY x.owner_id",
				  "i", id),
		       1, &ids, &n) < 0)
		return -1;
	if (n == 0) {
		free(ids);
		if (isms_managers(ctx, &ids, &n) < 0)
			return -1;
	}
	text =
	    db_text(ctx->st,
		    "SELECT kind || ' nonconformity of AUD-' || audit_id || "
		    "': ' || substr(text, 1, 200) FROM findings WHERE id = ?",
		    "i", id);
	if (text == NULL) {
		free(ids);
		return -1;
	}
	time_date(created, date);
	subject = xasprintf("Root cause needed: %s (%s)", obj, text);
	body = xasprintf("%s\n\nThe finding was recorded on %s. Before its "
			 "corrective actions can be closed, the organisation "
			 "determines why the nonconformity happened (ISO/IEC "
			 "27001 clause 10.2 b). Record it with /isms finding "
			 "cause %s <cause>. Details: /isms finding show %s",
			 subject, date, obj, obj);
	rc = nudge_each(ctx, w, &nd, ids, n, subject, body);
	free(ids);
	free(text);
	free(subject);
	free(body);
	return rc;
}

static int
check_nudge(struct cmd_ctx *ctx, struct tz_work *w, int64_t id, int64_t done)
{
	struct nudge nd = {.kind = "finding.check"};
	char obj[32], period[48], date[16], *text, *subject, *body;
	int64_t *ids;
	size_t n;
	int rc;

	reg_obj(obj, "FND", id);
	nd.object = obj;
	time_date(done, date);
	/* a new round of actions, after a "no", is a new cycle */
	nudge_repeat(ctx, &nd, date, done, period, sizeof(period));
	if (isms_managers(ctx, &ids, &n) < 0)
		return -1;
	text =
	    db_text(ctx->st,
		    "SELECT kind || ' nonconformity of AUD-' || audit_id || "
		    "': ' || substr(text, 1, 200) FROM findings WHERE id = ?",
		    "i", id);
	if (text == NULL) {
		free(ids);
		return -1;
	}
	subject = xasprintf("Effectiveness check due: %s (%s)", obj, text);
	body = xasprintf("%s\n\nIts corrective actions were done by %s. Review "
			 "whether they removed the cause (ISO/IEC 27001 "
			 "clause 10.2 d): /isms finding effective %s yes "
			 "<note> closes it; /isms finding effective %s no "
			 "<note> action=\"...\" owner=@h due=YYYY-MM-DD "
			 "re-opens it with a new corrective action. Details: "
			 "/isms finding show %s",
			 subject, date, obj, obj, obj);
	rc = nudge_each(ctx, w, &nd, ids, n, subject, body);
	free(ids);
	free(text);
	free(subject);
	free(body);
	return rc;
}

int
finding_job_nudges(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT f.id, f.created_at FROM findings f "
				  "WHERE " FINDING_NO_CAUSE
				  " AND f.created_at <= ? ORDER BY f.id",
				  "i",
				  ctx->now - (int64_t)FINDING_CAUSE_DAYS * DAY),
		       2, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = cause_nudge(ctx, w, rows[2 * i], rows[2 * i + 1]);
	free(rows);
	if (rc < 0)
		return -1;
	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT f.id, (SELECT MAX(x.done_at) FROM "
				  "actions x WHERE x.finding_id = f.id) FROM "
				  "findings f WHERE " FINDING_UNCHECKED
				  " ORDER BY f.id",
				  NULL),
		       2, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = check_nudge(ctx, w, rows[2 * i], rows[2 * i + 1]);
	free(rows);
	return rc;
}

static const struct cmd_entry finding_commands[] = {
    {
	.verb = "cause",
	.usage = "FND-n <root cause>",
	.help = "record why a major or minor nonconformity happened, before "
		"its corrective actions close (an isms_manager or the owner "
		"of one of them; clause 10.2 b)",
	.exec = finding_cause,
    },
    {
	.verb = "effective",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "action,owner,due",
	.usage = "FND-n yes|no <note> [action=\"...\" [owner=@h] "
		 "due=YYYY-MM-DD]",
	.help = "review whether the done corrective actions worked: yes "
		"closes the finding, no re-opens it for a new action (clause "
		"10.2 d)",
	.exec = finding_effective,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "FND-n",
	.help = "a finding: what it cites, its root cause, corrective "
		"actions and effectiveness checks",
	.exec = finding_show,
    },
    {
	.verb = "list",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "[open|nocause|unchecked|all]",
	.help = "findings; nocause: nonconformities without a root cause; "
		"unchecked: actions done, effectiveness not checked",
	.exec = finding_list,
    },
    {0},
};

const struct cmd_object finding_object = {
    .name = "finding",
    .help = "audit findings: root causes and effectiveness of corrective "
	    "actions (clause 10.2)",
    .commands = finding_commands,
};
