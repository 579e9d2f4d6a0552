/*
 * Risks (RSK-n): assessment (likelihood x impact, level, next review),
 * history of every change, treatment with residual risk and linked
 * controls, acceptance above the appetite through an approval, the matrix.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "register.h"

static const char *const options[] = {"mitigate", "accept", "transfer",
				      "avoid"};

struct risk {
	int64_t id;
	char obj[32];
	char title[REG_NAME_MAX + 1];
	int64_t asset_id; /* 0 when none */
	/* the supplier the risk comes from, 0 when none */
	int64_t supplier_id;
	struct person owner;
	char *threat, *vulnerability, *plan; /* owned; risk_free */
	int likelihood, impact;
	char treatment[16]; /* "" when untreated */
	int rl, ri;	    /* residual, 0 when untreated */
	int64_t pending;    /* APR id of a pending acceptance, or 0 */
	int accepted_score, accepted_residual; /* 0 when not accepted */
	int64_t accepted_until;		       /* 0 when not accepted */
};

static void
risk_free(struct risk *r)
{
	free(r->threat);
	free(r->vulnerability);
	free(r->plan);
	memset(r, 0, sizeof(*r));
}

static char *
col_dup(struct db_stmt *s, int col)
{
	return db_col_null(s, col) ? NULL : xstrdup(db_col(s, col));
}

static int
risk_load(struct cmd_ctx *ctx, int64_t id, struct risk *r)
{
	char obj[32];
	struct db_stmt *s;
	int rc = -1;

	reg_obj(obj, "RSK", id);
	s = db_prepare(ctx->st,
		       "SELECT title, COALESCE(asset_id, 0), owner_id, threat, "
		       "vulnerability, plan, likelihood, impact, "
		       "COALESCE(treatment, ''), "
		       "COALESCE(residual_likelihood, 0), "
		       "COALESCE(residual_impact, 0), (SELECT ap.id FROM "
		       "approvals ap WHERE ap.object = ? AND ap.kind = "
		       "'risk.accept' AND ap.status = 'pending'), "
		       "COALESCE(accepted_score, 0), "
		       "COALESCE(accepted_residual, 0), "
		       "COALESCE(accepted_until, 0), COALESCE(supplier_id, 0) "
		       "FROM risks WHERE id = ?",
		       "ti", obj, id);
	memset(r, 0, sizeof(*r));
	if (s == NULL)
		return cmd_error(ctx, "database error");
	if (db_step(s) != DB_ROW) {
		rc = cmd_error(ctx, "no risk %s", obj);
		goto out;
	}
	r->id = id;
	memcpy(r->obj, obj, sizeof(obj));
	snprintf(r->title, sizeof(r->title), "%s", db_col(s, 0));
	r->asset_id = db_col_int(s, 1);
	r->threat = col_dup(s, 3);
	r->vulnerability = col_dup(s, 4);
	r->plan = col_dup(s, 5);
	r->likelihood = (int)db_col_int(s, 6);
	r->impact = (int)db_col_int(s, 7);
	snprintf(r->treatment, sizeof(r->treatment), "%s", db_col(s, 8));
	r->rl = (int)db_col_int(s, 9);
	r->ri = (int)db_col_int(s, 10);
	r->pending = db_col_int(s, 11);
	r->accepted_score = (int)db_col_int(s, 12);
	r->accepted_residual = (int)db_col_int(s, 13);
	r->accepted_until = db_col_int(s, 14);
	r->supplier_id = db_col_int(s, 15);
	if (store_person_by_id(ctx->st, db_col_int(s, 2), &r->owner) != 1) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	rc = 0;
out:
	db_finish(ctx->st, s);
	if (rc < 0)
		risk_free(r);
	return rc;
}

/* Loads pos[0]; with change set, the sender must be owner or isms_manager. */
static int
risk_arg(struct cmd_ctx *ctx, struct risk *r, int change)
{
	int64_t id;

	if (cmd_pos_id(ctx, 0, "RSK", &id) < 0 || risk_load(ctx, id, r) < 0)
		return -1;
	ctx->rp->confidential = 1;
	if (change && reg_may_change(ctx, r->owner.id, r->obj, "owner") < 0) {
		risk_free(r);
		return -1;
	}
	return 0;
}

static const char *
level_of(const struct cmd_ctx *ctx, int score)
{
	return config_risk_level(ctx->cfg, score);
}

/* Next review: 12 months for low and medium, 6 for high, 3 for critical. */
static int64_t
next_review(const struct cmd_ctx *ctx, const char *level)
{
	int months = strcmp(level, "critical") == 0 ? 3
		     : strcmp(level, "high") == 0   ? 6
						    : 12;

	return time_add_months(ctx->now, months);
}

static void
score_text(char out[64], const struct cmd_ctx *ctx, int l, int i)
{
	snprintf(out, 64, "%d x %d = %d (%s)", l, i, l * i,
		 level_of(ctx, l * i));
}

static int
history(struct cmd_ctx *ctx, int64_t id, const char *field, const char *old,
	const char *new_value)
{
	return db_exec(ctx->st,
		       "INSERT INTO risk_history(risk_id, at, actor_id, field, "
		       "old_value, new_value) VALUES (?,?,?,?,?,?)",
		       "iiittt", id, ctx->now, ctx->me.id, field, old,
		       new_value) < 0
		   ? -1
		   : 0;
}

static const char *
value_text(json_t *v, char buf[32])
{
	if (json_is_integer(v)) {
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return json_string_value(v);
}

/* One history row per entry of a reg_diff changes object. */
static int
history_changes(struct cmd_ctx *ctx, int64_t id, json_t *changes)
{
	const char *field;
	json_t *pair;

	json_object_foreach(changes, field, pair)
	{
		char a[32], b[32];

		if (history(ctx, id, field,
			    value_text(json_array_get(pair, 0), a),
			    value_text(json_array_get(pair, 1), b)) < 0)
			return -1;
	}
	return 0;
}

/* The owner of a risk holds risk_owner or isms_manager. */
static int
check_owner(struct cmd_ctx *ctx, const struct person *owner)
{
	if (has_role(owner, ROLE_RISK_OWNER | ROLE_ISMS_MANAGER))
		return 0;
	return cmd_error(ctx,
			 "%s cannot own a risk: a risk owner needs the "
			 "risk_owner or isms_manager role",
			 owner->handle);
}

/* asset=AST-n (or none when clear is allowed) into *asset_id. */
static int
asset_key(struct cmd_ctx *ctx, int64_t *asset_id, int clear)
{
	const char *v = cmd_key(ctx, "asset");
	struct reg_ref a;

	if (v == NULL)
		return 0;
	if (clear && strcasecmp(v, "none") == 0) {
		*asset_id = 0;
		return 1;
	}
	if (reg_load_ref(ctx, v, "AST", &a) < 0)
		return -1;
	*asset_id = a.id;
	return 1;
}

/*
 * supplier=SUP-n (or none when clear is allowed) into *supplier_id; a
 * retired supplier is named by no new risk.
 */
static int
supplier_key(struct cmd_ctx *ctx, int64_t *supplier_id, int clear)
{
	const char *v = cmd_key(ctx, "supplier");
	struct reg_ref s;
	int64_t id;

	if (v == NULL)
		return 0;
	if (clear && strcasecmp(v, "none") == 0) {
		*supplier_id = 0;
		return 1;
	}
	if (cmd_parse_id(ctx, v, "SUP", &id) < 0 ||
	    reg_load(ctx, "SUP", id, &s) < 0)
		return -1;
	if (strcmp(s.status, "retired") == 0 && id != *supplier_id)
		return cmd_error(ctx,
				 "%s (%s) is retired: a risk cannot name it",
				 s.obj, s.title);
	*supplier_id = id;
	return 1;
}

static int
risk_add(struct cmd_ctx *ctx)
{
	struct person owner;
	const char *threat = NULL, *vuln = NULL, *level;
	char obj[32], asset[32] = "", score[64], due[16], *title;
	char *subject = NULL, supplier[32] = "";
	int l, i, rc = -1;
	int64_t id, asset_id = 0, review, supplier_id = 0;

	title = reg_text(ctx, 0, REG_NAME_MAX, "a title");
	if (title == NULL)
		return -1;
	if (reg_key_int(ctx, "likelihood", 1, 5, 1, &l) < 0 ||
	    reg_key_int(ctx, "impact", 1, 5, 1, &i) < 0 ||
	    reg_key_person(ctx, "owner", &owner) < 0 ||
	    check_owner(ctx, &owner) < 0 ||
	    reg_may_own(ctx, &owner, "a risk") < 0 ||
	    asset_key(ctx, &asset_id, 0) < 0 ||
	    supplier_key(ctx, &supplier_id, 0) < 0 ||
	    reg_key_text(ctx, "threat", REG_TEXT_MAX, 0, &threat) < 0 ||
	    reg_key_text(ctx, "vulnerability", REG_TEXT_MAX, 0, &vuln) < 0)
		goto out;
	level = level_of(ctx, l * i);
	review = next_review(ctx, level);
	if (db_exec(ctx->st,
		    "INSERT INTO risks(title, asset_id, owner_id, threat, "
		    "vulnerability, likelihood, impact, level, next_review_at, "
		    "created_by, created_at, updated_at, supplier_id) "
		    "VALUES (?,NULLIF(?, 0),?,?,?,?,?,?,?,?,?,?,NULLIF(?, 0))",
		    "tiittiitiiiii", title, asset_id, owner.id, threat, vuln,
		    (int64_t)l, (int64_t)i, level, review, ctx->me.id, ctx->now,
		    ctx->now, supplier_id) < 0)
		goto out;
	id = db_last_id(ctx->st);
	if (asset_id)
		reg_obj(asset, "AST", asset_id);
	if (supplier_id)
		reg_obj(supplier, "SUP", supplier_id);
	reg_obj(obj, "RSK", id);
	score_text(score, ctx, l, i);
	time_date(review, due);
	if (history(ctx, id, "created", NULL, score) < 0 ||
	    cmd_audit(ctx, "risk.add", obj,
		      json_pack("{s:s,s:i,s:i,s:i,s:s,s:s,s:s?,s:s?,s:s?,s:s,"
				"s:s?}",
				"title", title, "likelihood", l, "impact", i,
				"score", l * i, "level", level, "owner",
				owner.handle, "asset", asset_id ? asset : NULL,
				"threat", threat, "vulnerability", vuln,
				"next_review", due, "supplier",
				supplier_id ? supplier : NULL)) < 0)
		goto out;
	subject =
	    xasprintf("You own risk %s: %s (score %s)", obj, title, score);
	if (reg_tell(ctx, owner.id, subject, subject) < 0)
		goto out;
	ctx->rp->confidential = 1;
	cmd_reply(ctx,
		  "Risk %s recorded: %s. Score %s%s. Owner %s; next "
		  "review %s.",
		  obj, title, score,
		  l * i > ctx->cfg->risk_appetite ? ", above the risk appetite"
						  : "",
		  owner.handle, due);
	rc = 0;
out:
	free(title);
	free(subject);
	return rc;
}

static int reopen_acceptance(struct cmd_ctx *ctx, const struct risk *r,
			     int score, const char *why);

/* An acceptance waiting for approval no longer fits a new score. */
static int
cancel_pending(struct cmd_ctx *ctx, const struct risk *r)
{
	char apr[32], *subject;
	int64_t approver = 0;
	int rc;

	if (r->pending == 0)
		return 0;
	reg_obj(apr, "APR", r->pending);
	if (db_exec(ctx->st,
		    "UPDATE approvals SET status = 'cancelled', decided_at = "
		    "?, decided_by = ?, decided_via = ?, comment = 'the risk "
		    "was re-assessed' WHERE id = ? AND status = 'pending'",
		    "iiti", ctx->now, ctx->me.id, ctx->rq->via,
		    r->pending) < 0 ||
	    db_int(ctx->st, &approver,
		   "SELECT approver_id FROM approvals WHERE id = ?", "i",
		   r->pending) != 1 ||
	    history(ctx, r->id, "acceptance", apr, "cancelled: re-assessed") <
		0 ||
	    cmd_audit(ctx, "approval.cancel", apr,
		      json_pack("{s:s,s:s}", "object", r->obj, "reason",
				"the risk was re-assessed")) < 0)
		return -1;
	subject = xasprintf("%s cancelled: %s was re-assessed", apr, r->obj);
	rc = reg_tell(ctx, approver, subject, subject);
	free(subject);
	return rc;
}

static int
risk_update(struct cmd_ctx *ctx)
{
	struct risk r;
	struct person owner;
	const char *title, *threat, *vuln, *level, *old_level;
	char old_asset[32] = "", new_asset[32] = "", due[16];
	char old_supplier[32] = "", new_supplier[32] = "";
	json_t *changes = NULL;
	int l, i, rc = -1, reopened = 0;
	int64_t asset_id, review, supplier_id;

	if (ctx->cl->npos != 1 || ctx->cl->nkv == 0)
		return reg_usage(ctx);
	if (risk_arg(ctx, &r, 1) < 0)
		return -1;
	title = r.title;
	threat = r.threat;
	vuln = r.vulnerability;
	l = r.likelihood;
	i = r.impact;
	owner = r.owner;
	asset_id = r.asset_id;
	supplier_id = r.supplier_id;
	if (reg_key_text(ctx, "title", REG_NAME_MAX, 0, &title) < 0 ||
	    reg_key_int(ctx, "likelihood", 1, 5, 0, &l) < 0 ||
	    reg_key_int(ctx, "impact", 1, 5, 0, &i) < 0 ||
	    reg_key_text(ctx, "threat", REG_TEXT_MAX, 0, &threat) < 0 ||
	    reg_key_text(ctx, "vulnerability", REG_TEXT_MAX, 0, &vuln) < 0 ||
	    asset_key(ctx, &asset_id, 1) < 0 ||
	    supplier_key(ctx, &supplier_id, 1) < 0)
		goto out;
	if (cmd_key(ctx, "owner") != NULL &&
	    (reg_key_person(ctx, "owner", &owner) < 0 ||
	     check_owner(ctx, &owner) < 0))
		goto out;
	if (owner.id != r.owner.id && !has_role(&ctx->me, ROLE_ISMS_MANAGER)) {
		rc = cmd_error(ctx, "not allowed: only an isms_manager may "
				    "give a risk to another owner");
		goto out;
	}
	/* the residual risk never exceeds the inherent risk */
	if (r.rl > l || r.ri > i) {
		int rlike = r.rl > l;

		rc = cmd_error(
		    ctx,
		    "%s: the residual risk %d x %d would exceed the risk "
		    "itself (%d x %d); first lower %s to %d or less: risk "
		    "treat %s %s <plan> %s=%d",
		    r.obj, r.rl, r.ri, l, i,
		    rlike ? "residual_likelihood" : "residual_impact",
		    rlike ? l : i, r.obj, r.treatment,
		    rlike ? "residual_likelihood" : "residual_impact",
		    rlike ? l : i);
		goto out;
	}
	old_level = level_of(ctx, r.likelihood * r.impact);
	level = level_of(ctx, l * i);
	review = next_review(ctx, level);
	if (r.asset_id)
		reg_obj(old_asset, "AST", r.asset_id);
	if (asset_id)
		reg_obj(new_asset, "AST", asset_id);
	if (r.supplier_id)
		reg_obj(old_supplier, "SUP", r.supplier_id);
	if (supplier_id)
		reg_obj(new_supplier, "SUP", supplier_id);
	changes = json_object();
	reg_diff(changes, "title", r.title, title);
	reg_diff_int(changes, "likelihood", r.likelihood, l);
	reg_diff_int(changes, "impact", r.impact, i);
	reg_diff(changes, "level", old_level, level);
	reg_diff(changes, "owner", r.owner.handle, owner.handle);
	reg_diff(changes, "asset", old_asset, new_asset);
	reg_diff(changes, "supplier", old_supplier, new_supplier);
	reg_diff(changes, "threat", r.threat, threat);
	reg_diff(changes, "vulnerability", r.vulnerability, vuln);
	if (json_object_size(changes) == 0)
		json_object_set_new(changes, "reviewed",
				    json_pack("[s,s]", "", "no change"));
	time_date(review, due);
	if (db_exec(ctx->st,
		    "UPDATE risks SET title = ?, likelihood = ?, impact = ?, "
		    "level = ?, owner_id = ?, asset_id = NULLIF(?, 0), "
		    "threat = ?, vulnerability = ?, next_review_at = ?, "
		    "updated_at = ?, supplier_id = NULLIF(?, 0) WHERE id = ?",
		    "tiitiittiiii", title, (int64_t)l, (int64_t)i, level,
		    owner.id, asset_id, threat, vuln, review, ctx->now,
		    supplier_id, r.id) < 0 ||
	    history_changes(ctx, r.id, changes) < 0 ||
	    (l * i != r.likelihood * r.impact && cancel_pending(ctx, &r) < 0) ||
	    cmd_audit(ctx, "risk.update", r.obj,
		      json_pack("{s:O,s:s}", "changes", changes, "next_review",
				due)) < 0)
		goto out;
	/* an acceptance holds only for the score it was given for */
	if (strcmp(r.treatment, "accept") == 0 && r.accepted_score > 0 &&
	    l * i > r.accepted_score) {
		char *why = xasprintf("its score rose from the accepted %d to "
				      "%d",
				      r.accepted_score, l * i);
		int apr = reopen_acceptance(ctx, &r, l * i, why);

		free(why);
		if (apr < 0)
			goto out;
		reopened = apr;
	}
	if (owner.id != r.owner.id) {
		char *subject =
		    xasprintf("You now own risk %s: %s", r.obj, title);

		rc = reg_tell(ctx, owner.id, subject, subject);
		free(subject);
		if (rc < 0)
			goto out;
	}
	cmd_reply(ctx,
		  "%s updated (%s). Score %d x %d = %d (%s); next review "
		  "%s.",
		  r.obj,
		  json_object_get(changes, "reviewed") ? "reviewed, no change"
						       : "history kept",
		  l, i, l * i, level, due);
	if (reopened)
		cmd_reply(ctx,
			  " The acceptance was given for a score of %d: it "
			  "waits for approval again as APR-%d (accept "
			  "pending); until then the risk is untreated.",
			  r.accepted_score, reopened);
	rc = 0;
out:
	json_decref(changes);
	risk_free(&r);
	return rc;
}

/*
 * controls=5.15,8.7 as a JSON array of existing, applicable controls;
 * NULL with an error reply otherwise.
 */
static json_t *
controls_key(struct cmd_ctx *ctx, const char *list)
{
	json_t *arr = json_array(), *ret = NULL;
	char *copy = xstrdup(list), *tok, *save = NULL;
	int64_t applicable;

	for (tok = strtok_r(copy, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		int rc = db_int(ctx->st, &applicable,
				"SELECT applicable FROM controls WHERE id = ?",
				"t", tok);
		size_t k;
		int dup = 0;

		if (rc != 1) {
			if (rc == 0)
				cmd_error(ctx,
					  "no Annex A control \"%.20s\" "
					  "(expected ids like 5.15 or "
					  "8.7)",
					  tok);
			else
				cmd_error(ctx, "database error");
			goto out;
		}
		if (!applicable) {
			cmd_error(ctx,
				  "control %s is not applicable in the "
				  "Statement of Applicability; first: "
				  "control set %s applicable=yes",
				  tok, tok);
			goto out;
		}
		for (k = 0; k < json_array_size(arr); k++)
			dup |= strcmp(json_string_value(json_array_get(arr, k)),
				      tok) == 0;
		if (!dup)
			json_array_append_new(arr, json_string(tok));
	}
	if (json_array_size(arr) == 0) {
		cmd_error(ctx, "controls= needs control ids like 5.15,8.7");
		goto out;
	}
	ret = arr;
	arr = NULL;
out:
	free(copy);
	json_decref(arr);
	return ret;
}

/* "5.15, 8.7" for a risk's linked controls; caller frees. */
static char *
controls_text(struct cmd_ctx *ctx, int64_t id)
{
	char *t =
	    db_text(ctx->st,
		    "SELECT group_concat(id, ', ') FROM (SELECT c.id "
		    "FROM risk_controls rc JOIN controls c ON c.id = "
		    "rc.control_id WHERE rc.risk_id = ? ORDER BY c.seq) x",
		    "i", id);

	return t ? t : xstrdup("");
}

static int
link_controls(struct cmd_ctx *ctx, int64_t id, json_t *controls)
{
	size_t k;

	if (db_exec(ctx->st, "DELETE FROM risk_controls WHERE risk_id = ?", "i",
		    id) < 0)
		return -1;
	for (k = 0; k < json_array_size(controls); k++)
		if (db_exec(ctx->st,
			    "INSERT INTO risk_controls(risk_id, control_id) "
			    "VALUES (?, ?)",
			    "it", id,
			    json_string_value(json_array_get(controls, k))) < 0)
			return -1;
	return 0;
}

/*
 * Applies a treatment (at once, or when an acceptance is approved as apr):
 * risk row, linked controls (when given), history and audit.
 */
static int
treat_apply(struct cmd_ctx *ctx, const struct risk *r, const char *option,
	    const char *plan, int rl, int ri, json_t *controls, int64_t apr)
{
	const char *rlevel = level_of(ctx, rl * ri);
	char old_res[64] = "", new_res[64], *old_ctl = NULL, *new_ctl = NULL;
	json_t *changes = json_object();
	int rc = -1;

	if (r->rl)
		score_text(old_res, ctx, r->rl, r->ri);
	score_text(new_res, ctx, rl, ri);
	old_ctl = controls_text(ctx, r->id);
	int accepted = strcmp(option, "accept") == 0;
	int64_t until =
	    accepted
		? time_add_months(ctx->now, ctx->cfg->risk_acceptance_months)
		: 0;
	char until_s[16] = "";

	if (accepted)
		time_date(until, until_s);
	if (db_exec(ctx->st,
		    "UPDATE risks SET treatment = ?, plan = ?, "
		    "residual_likelihood = ?, residual_impact = ?, "
		    "residual_level = ?, treated_at = ?, accept_approval_id = "
		    "NULLIF(?, 0), accepted_score = NULLIF(?, 0), "
		    "accepted_residual = NULLIF(?, 0), accepted_until = "
		    "NULLIF(?, 0), updated_at = ? WHERE id = ?",
		    "ttiitiiiiiii", option, plan, (int64_t)rl, (int64_t)ri,
		    rlevel, ctx->now, apr,
		    (int64_t)(accepted ? r->likelihood * r->impact : 0),
		    (int64_t)(accepted ? rl * ri : 0), until, ctx->now,
		    r->id) < 0 ||
	    (controls != NULL && link_controls(ctx, r->id, controls) < 0))
		goto out;
	new_ctl = controls_text(ctx, r->id);
	reg_diff(changes, "treatment",
		 *r->treatment ? r->treatment : "untreated", option);
	reg_diff(changes, "plan", r->plan, plan);
	reg_diff(changes, "residual", old_res, new_res);
	reg_diff(changes, "controls", old_ctl, new_ctl);
	if (accepted)
		reg_diff(changes, "accepted_until", "", until_s);
	if (history_changes(ctx, r->id, changes) < 0 ||
	    cmd_audit(
		ctx, "risk.treat", r->obj,
		json_pack("{s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:o?,s:s?}", "option",
			  option, "plan", plan, "residual_likelihood", rl,
			  "residual_impact", ri, "residual_score", rl * ri,
			  "residual_level", rlevel, "controls", new_ctl,
			  "approval", apr ? json_integer(apr) : NULL,
			  "accepted_until", accepted ? until_s : NULL)) < 0)
		goto out;
	rc = 0;
out:
	json_decref(changes);
	free(old_ctl);
	free(new_ctl);
	return rc;
}

/* The owner's manager, else (or when configured) an isms_manager. */
static int
accept_approver(struct cmd_ctx *ctx, const struct person *owner,
		struct person *out, unsigned *any_role)
{
	int64_t id;

	*any_role = 0;
	if (!ctx->cfg->risk_accept_by_isms_manager &&
	    db_int(ctx->st, &id,
		   "SELECT id FROM people WHERE id = ? AND id != ? AND active "
		   "<> 0",
		   "ii", owner->manager_id, ctx->me.id) == 1 &&
	    store_person_by_id(ctx->st, id, out) == 1)
		return 1;
	*any_role = ROLE_ISMS_MANAGER;
	return approval_pick_isms_manager(ctx, ctx->me.id, out);
}

static int
request_acceptance(struct cmd_ctx *ctx, const struct risk *r, const char *plan,
		   int rl, int ri, json_t *controls)
{
	struct person approver;
	unsigned any_role;
	char apr_obj[32], pending[64], *summary;
	int score = r->likelihood * r->impact;
	int64_t apr;

	switch (accept_approver(ctx, &r->owner, &approver, &any_role)) {
	case 1:
		break;
	case 0:
		json_decref(controls);
		return cmd_error(ctx,
				 "accepting %s needs approval by an "
				 "isms_manager other than you, and there "
				 "is none in the directory",
				 r->obj);
	default:
		json_decref(controls);
		return -1;
	}
	summary = xasprintf("accept risk %s \"%s\" scored %d (%s), above the "
			    "appetite of %d: %s",
			    r->obj, r->title, score, level_of(ctx, score),
			    ctx->cfg->risk_appetite, plan);
	apr = approval_open(
	    ctx, &risk_accept_kind, r->obj, summary, &approver, any_role,
	    json_pack("{s:s,s:i,s:i,s:i,s:o?}", "plan", plan,
		      "residual_likelihood", rl, "residual_impact", ri, "score",
		      score, "controls", controls));
	free(summary);
	if (apr < 0)
		return -1;
	reg_obj(apr_obj, "APR", apr);
	snprintf(pending, sizeof(pending), "accept (pending %s)", apr_obj);
	if (history(ctx, r->id, "treatment",
		    *r->treatment ? r->treatment : "untreated", pending) < 0)
		return -1;
	cmd_reply(ctx,
		  "Accepting %s (score %d, above the appetite of %d) "
		  "needs approval: requested as %s from %s%s. Until then "
		  "the risk stays %s.",
		  r->obj, score, ctx->cfg->risk_appetite, apr_obj,
		  approver.handle, any_role ? " (or another isms_manager)" : "",
		  *r->treatment ? r->treatment : "untreated");
	return 0;
}

/*
 * An acceptance no longer covers the risk (a higher score or residual, or
 * its end): it waits for approval again. The treatment is cleared until
 * then, so the register shows "accept pending" and nobody reads the old
 * acceptance as valid; approving it accepts the risk as it now stands,
 * rejecting it leaves the risk untreated. The request comes from the
 * sender, or from the owner when the scheduler re-opens it.
 */
static int
reopen_acceptance(struct cmd_ctx *ctx, const struct risk *r, int score,
		  const char *why)
{
	struct person approver, me = ctx->me;
	unsigned any_role;
	char apr_obj[32], *summary = NULL, *line = NULL;
	int64_t apr = -1;
	int rl = r->rl ? r->rl : r->likelihood, ri = r->ri ? r->ri : r->impact;
	int rc = -1;

	if (ctx->me.id == 0)
		ctx->me = r->owner;
	switch (accept_approver(ctx, &r->owner, &approver, &any_role)) {
	case 1:
		break;
	case 0:
		cmd_error(ctx,
			  "%s is accepted and %s, so the acceptance needs "
			  "approval again, but there is no isms_manager "
			  "other than you in the directory to decide it",
			  r->obj, why);
		goto out;
	default:
		goto out;
	}
	summary =
	    xasprintf("accept risk %s \"%s\" again: %s; it now scores "
		      "%d (%s), residual %d, appetite %d; plan: %s",
		      r->obj, r->title, why, score, level_of(ctx, score),
		      rl * ri, ctx->cfg->risk_appetite, r->plan ? r->plan : "");
	apr = approval_open(
	    ctx, &risk_accept_kind, r->obj, summary, &approver, any_role,
	    json_pack("{s:s,s:i,s:i,s:i,s:s}", "plan", r->plan ? r->plan : "",
		      "residual_likelihood", rl, "residual_impact", ri, "score",
		      score, "reopened", why));
	if (apr < 0)
		goto out;
	reg_obj(apr_obj, "APR", apr);
	line = xasprintf("re-opened as %s: %s", apr_obj, why);
	if (db_exec(ctx->st,
		    "UPDATE risks SET treatment = NULL, accepted_score = NULL, "
		    "accepted_residual = NULL, accepted_until = NULL, "
		    "accept_approval_id = NULL, updated_at = ? WHERE id = ?",
		    "ii", ctx->now, r->id) < 0 ||
	    history(ctx, r->id, "acceptance", "accept", line) < 0 ||
	    cmd_audit(ctx, "risk.accept_reopen", r->obj,
		      json_pack("{s:s,s:s,s:i,s:i}", "approval", apr_obj,
				"reason", why, "score", score, "accepted_score",
				r->accepted_score)) < 0)
		goto out;
	rc = 0;
out:
	ctx->me = me;
	free(summary);
	free(line);
	return rc < 0 ? -1 : (int)apr;
}

int
risk_acceptance_expire(struct cmd_ctx *ctx, int64_t id)
{
	struct risk r;
	char until[16], *why;
	int rc;

	if (risk_load(ctx, id, &r) < 0)
		return -1;
	if (strcmp(r.treatment, "accept") != 0 || r.pending ||
	    r.accepted_until == 0 || r.accepted_until > ctx->now) {
		risk_free(&r);
		return 0;
	}
	time_date(r.accepted_until, until);
	why = xasprintf("its acceptance expired on %s", until);
	rc = reopen_acceptance(ctx, &r, r.likelihood * r.impact, why);
	free(why);
	risk_free(&r);
	return rc < 0 ? -1 : 0;
}

static int
risk_treat(struct cmd_ctx *ctx)
{
	struct risk r;
	const char *list = NULL;
	char *plan = NULL, res[64];
	json_t *controls = NULL;
	int opt, rl, ri, rc = -1;

	opt = ctx->cl->npos < 2 ? -1 : reg_one_of(ctx->cl->pos[1], options, 4);
	if (opt < 0)
		return reg_usage(ctx);
	if (risk_arg(ctx, &r, 1) < 0)
		return -1;
	plan = reg_text(ctx, 2, REG_TEXT_MAX, "a plan");
	if (plan == NULL)
		goto out;
	if (r.pending) {
		rc = cmd_error(ctx,
			       "%s: an acceptance is already waiting for "
			       "approval (APR-%lld)",
			       r.obj, (long long)r.pending);
		goto out;
	}
	rl = r.likelihood;
	ri = r.impact;
	if (reg_key_int(ctx, "residual_likelihood", 1, r.likelihood, 0, &rl) <
		0 ||
	    reg_key_int(ctx, "residual_impact", 1, r.impact, 0, &ri) < 0 ||
	    reg_key_text(ctx, "controls", REG_TEXT_MAX, 0, &list) < 0)
		goto out;
	if (list != NULL)
		controls = controls_key(ctx, list);
	if (list != NULL && controls == NULL)
		goto out;
	if (opt == 1 && r.likelihood * r.impact > ctx->cfg->risk_appetite) {
		rc = request_acceptance(ctx, &r, plan, rl, ri, controls);
		controls = NULL; /* stolen */
		goto out;
	}
	if (treat_apply(ctx, &r, options[opt], plan, rl, ri, controls, 0) < 0)
		goto out;
	score_text(res, ctx, rl, ri);
	cmd_reply(ctx, "%s treatment: %s. Residual risk %s.", r.obj,
		  options[opt], res);
	rc = 0;
out:
	json_decref(controls);
	free(plan);
	risk_free(&r);
	return rc;
}

static int
accept_approved(struct cmd_ctx *ctx, int64_t apr, const char *object,
		json_t *payload)
{
	struct risk r;
	json_t *controls = json_object_get(payload, "controls");
	const char *plan = json_string_value(json_object_get(payload, "plan"));
	int64_t id, requester = 0;
	char apr_obj[32], *subject;
	int rc = -1;

	if (cmd_parse_id(ctx, object, "RSK", &id) < 0 ||
	    risk_load(ctx, id, &r) < 0)
		return -1;
	reg_obj(apr_obj, "APR", apr);
	if (history(ctx, r.id, "acceptance", apr_obj, "approved") < 0 ||
	    treat_apply(ctx, &r, "accept", plan,
			(int)json_integer_value(
			    json_object_get(payload, "residual_likelihood")),
			(int)json_integer_value(
			    json_object_get(payload, "residual_impact")),
			json_is_array(controls) ? controls : NULL, apr) < 0 ||
	    db_int(ctx->st, &requester,
		   "SELECT requester_id FROM approvals WHERE id = ?", "i",
		   apr) != 1)
		goto out;
	/* the requester hears from the approval itself; the owner may not */
	subject = xasprintf("Risk %s accepted (APR-%lld): %s", r.obj,
			    (long long)apr, r.title);
	rc = r.owner.id == requester
		 ? 0
		 : reg_tell(ctx, r.owner.id, subject, subject);
	free(subject);
out:
	risk_free(&r);
	return rc;
}

static int
accept_rejected(struct cmd_ctx *ctx, int64_t apr, const char *object,
		json_t *payload)
{
	char apr_obj[32];
	int64_t id;

	(void)payload;
	if (cmd_parse_id(ctx, object, "RSK", &id) < 0)
		return -1;
	reg_obj(apr_obj, "APR", apr);
	return history(ctx, id, "acceptance", apr_obj,
		       "rejected: stays as "
		       "it was");
}

const struct approval_kind risk_accept_kind = {.name = "risk.accept",
					       .approved = accept_approved,
					       .rejected = accept_rejected};

/*
 * Residual exposure: the risks still above the appetite once treated
 * (untreated ones count with their own score), and the acceptances that
 * wait for approval or have expired.
 */
static int
risk_exposure_write(struct cmd_ctx *ctx)
{
	int64_t total = 0, above = 0, pending = 0, expired = 0;
	struct db_stmt *s;
	struct buf ids = {0};

	s = db_prepare(
	    ctx->st,
	    "SELECT r.id, CASE WHEN r.treatment IS NULL THEN r.score ELSE "
	    "COALESCE(r.residual_score, r.score) END AS res, r.treatment "
	    "= 'accept' AND r.accepted_until <= ?1, EXISTS (SELECT 1 FROM "
	    "approvals ap WHERE ap.object = 'RSK-' || r.id AND ap.kind = "
	    "'risk.accept' AND ap.status = 'pending') FROM risks r "
	    "ORDER BY res DESC, r.id",
	    "i", ctx->now);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		int res = (int)db_col_int(s, 1);

		total++;
		if (res > ctx->cfg->risk_appetite) {
			if (above++ < 10)
				buf_printf(&ids, "%sRSK-%lld %d",
					   ids.len ? ", " : "",
					   (long long)db_col_int(s, 0), res);
		}
		expired += (int)db_col_int(s, 2);
		pending += (int)db_col_int(s, 3);
	}
	db_finish(ctx->st, s);
	cmd_reply(ctx,
		  "Residual exposure: %lld of %lld risk%s above the appetite "
		  "of %d after treatment%s%s%s; acceptances: %lld pending, "
		  "%lld expired.",
		  (long long)above, (long long)total, total == 1 ? "" : "s",
		  ctx->cfg->risk_appetite, above ? " (" : "", buf_str(&ids),
		  above ? (above > 10 ? ", ...)" : ")") : "",
		  (long long)pending, (long long)expired);
	buf_free(&ids);
	return 0;
}

static int
risk_list(struct cmd_ctx *ctx)
{
	int above = -1, mine = 0, n = 0;
	struct db_stmt *s;

	if (ctx->cl->npos > 1 ||
	    (ctx->cl->npos == 1 && strcasecmp(ctx->cl->pos[0], "mine") != 0))
		return reg_usage(ctx);
	mine = ctx->cl->npos == 1;
	if (reg_key_int(ctx, "above", 0, 25, 0, &above) < 0)
		return -1;
	s = db_prepare(
	    ctx->st,
	    "SELECT r.id, r.level, r.score, r.title, p.handle, "
	    "COALESCE(r.treatment, 'untreated'), r.residual_score, "
	    "r.residual_level, date(r.next_review_at, 'unixepoch'), "
	    "(SELECT ap.id FROM approvals ap WHERE ap.object = 'RSK-' || r.id "
	    "AND ap.kind = 'risk.accept' AND ap.status = 'pending'), "
	    "COALESCE(date(r.accepted_until, 'unixepoch'), ''), "
	    "r.accepted_until <= ?4 "
	    "FROM risks r JOIN people p ON p.id = r.owner_id "
	    "WHERE r.score > ?1 AND (?2 = 0 OR r.owner_id = ?3) "
	    "ORDER BY r.score DESC, r.id",
	    "iiii", (int64_t)above, (int64_t)mine, ctx->me.id, ctx->now);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	ctx->rp->confidential = 1;
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "%sRSK-%lld [%s %d] %s (owner %s; ",
			  n ? "\n" : "", (long long)db_col_int(s, 0),
			  db_col(s, 1), (int)db_col_int(s, 2), db_col(s, 3),
			  db_col(s, 4));
		if (!db_col_null(s, 9))
			cmd_reply(ctx, "accept pending APR-%lld",
				  (long long)db_col_int(s, 9));
		else
			cmd_reply(ctx, "%s", db_col(s, 5));
		if (*db_col(s, 10))
			cmd_reply(ctx, " %s %s",
				  (int)db_col_int(s, 11) ? "EXPIRED on"
							 : "until",
				  db_col(s, 10));
		if (!db_col_null(s, 6))
			cmd_reply(ctx, ", residual %d %s",
				  (int)db_col_int(s, 6), db_col(s, 7));
		cmd_reply(ctx, "; review %s)", db_col(s, 8));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0) {
		cmd_reply(ctx, "No risks%s%s.", mine ? " of yours" : "",
			  above >= 0 ? " above that score" : "");
		return 0;
	}
	cmd_reply(ctx, "\n");
	return risk_exposure_write(ctx);
}

static int
show_treatment(struct cmd_ctx *ctx, const struct risk *r)
{
	char res[64], *ctl;

	if (r->pending) {
		char *who = db_text(ctx->st,
				    "SELECT p.handle FROM approvals a JOIN "
				    "people p ON p.id = a.approver_id WHERE "
				    "a.id = ?",
				    "i", r->pending);

		cmd_reply(ctx,
			  "Acceptance PENDING: waiting for approval "
			  "APR-%lld by %s.\n",
			  (long long)r->pending, who ? who : "?");
		free(who);
	}
	if (*r->treatment == '\0') {
		cmd_reply(ctx, "Treatment: none yet (untreated).\n");
		return 0;
	}
	score_text(res, ctx, r->rl, r->ri);
	ctl = controls_text(ctx, r->id);
	cmd_reply(ctx,
		  "Treatment: %s. Plan: %s\nResidual risk: %s. "
		  "Controls: %s.\n",
		  r->treatment, r->plan ? r->plan : "", res,
		  *ctl ? ctl : "none linked");
	free(ctl);
	return 0;
}

static int
risk_show(struct cmd_ctx *ctx)
{
	struct risk r;
	struct db_stmt *s = NULL;
	char score[64], asset[300] = "none", supplier[300] = "none";
	int rc = -1;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (risk_arg(ctx, &r, 0) < 0)
		return -1;
	score_text(score, ctx, r.likelihood, r.impact);
	if (r.asset_id) {
		struct reg_ref a;

		if (reg_load(ctx, "AST", r.asset_id, &a) < 0)
			goto out;
		snprintf(asset, sizeof(asset), "%s %s", a.obj, a.title);
	}
	if (r.supplier_id) {
		struct reg_ref sp;

		if (reg_load(ctx, "SUP", r.supplier_id, &sp) < 0)
			goto out;
		snprintf(supplier, sizeof(supplier), "%s %s%s", sp.obj,
			 sp.title,
			 strcmp(sp.status, "retired") == 0 ? " (retired)" : "");
	}
	cmd_reply(ctx,
		  "%s %s\nScore: likelihood x impact = %s; appetite %d (%s).\n"
		  "Owner: %s (%s). Asset: %s. Supplier: %s.\nThreat: "
		  "%s\nVulnerability: %s\n",
		  r.obj, r.title, score, ctx->cfg->risk_appetite,
		  r.likelihood * r.impact > ctx->cfg->risk_appetite ? "above"
								    : "within",
		  r.owner.handle, r.owner.name, asset, supplier,
		  r.threat ? r.threat : "-",
		  r.vulnerability ? r.vulnerability : "-");
	show_treatment(ctx, &r);
	s = db_prepare(ctx->st,
		       "SELECT date(next_review_at, 'unixepoch') FROM risks "
		       "WHERE id = ?",
		       "i", r.id);
	if (s == NULL || db_step(s) != DB_ROW)
		goto out;
	cmd_reply(ctx, "Next review: %s.\nHistory:", db_col(s, 0));
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT h.at, COALESCE(p.handle, 'system'), h.field, "
		       "COALESCE(h.old_value, ''), COALESCE(h.new_value, '') "
		       "FROM risk_history h LEFT JOIN people p ON p.id = "
		       "h.actor_id WHERE h.risk_id = ? ORDER BY h.id",
		       "i", r.id);
	if (s == NULL)
		goto out;
	while (db_step(s) == DB_ROW) {
		char at[32];

		time_iso(db_col_int(s, 0), at);
		cmd_reply(ctx, "\n  %s %s %s: ", at, db_col(s, 1),
			  db_col(s, 2));
		if (*db_col(s, 3))
			cmd_reply(ctx, "%.200s -> ", db_col(s, 3));
		cmd_reply(ctx, "%.200s", db_col(s, 4));
	}
	rc = 0;
out:
	if (rc < 0 && !ctx->rp->error)
		cmd_error(ctx, "database error");
	db_finish(ctx->st, s);
	risk_free(&r);
	return rc;
}

/* One level letter and emoji square per level. */
static void
level_mark(const char *level, char *letter, const char **square)
{
	static const char *const names[] = {"low", "medium", "high",
					    "critical"};
	static const char *const squares[] = {
	    "\xf0\x9f\x9f\xa9", "\xf0\x9f\x9f\xa8", "\xf0\x9f\x9f\xa7",
	    "\xf0\x9f\x9f\xa5"}; /* green, yellow, orange, red squares */
	int k = reg_one_of(level, names, 4);

	*letter = "LMHC"[k < 0 ? 0 : k];
	*square = squares[k < 0 ? 0 : k];
}

/* Risks per (likelihood, impact) cell; the total in *total. 0 or -1. */
static int
matrix_counts(struct cmd_ctx *ctx, int cnt[6][6], int *total)
{
	struct db_stmt *s;
	int l, i;

	memset(cnt, 0, 6 * sizeof(cnt[0]));
	*total = 0;
	s = db_prepare(ctx->st,
		       "SELECT likelihood, impact, COUNT(*) FROM risks "
		       "GROUP BY likelihood, impact",
		       NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		l = (int)db_col_int(s, 0);
		i = (int)db_col_int(s, 1);
		if (l >= 1 && l <= 5 && i >= 1 && i <= 5) {
			cnt[l][i] = (int)db_col_int(s, 2);
			*total += cnt[l][i];
		}
	}
	db_finish(ctx->st, s);
	return 0;
}

int
risk_matrix_write(struct cmd_ctx *ctx)
{
	int cnt[6][6], l, i, total;
	const int *lv = ctx->cfg->risk_levels;

	if (matrix_counts(ctx, cnt, &total) < 0)
		return -1;
	cmd_reply(ctx, "```\nRisk matrix: risks per cell, with the cell's "
		       "level\n"
		       "           |           impact\n"
		       "likelihood |    1     2     3     4     5\n"
		       "-----------+-------------------------------+\n");
	for (l = 5; l >= 1; l--) {
		struct buf squares = {0};

		cmd_reply(ctx, "%6d     |", l);
		for (i = 1; i <= 5; i++) {
			char letter;
			const char *sq;

			level_mark(level_of(ctx, l * i), &letter, &sq);
			cmd_reply(ctx, " %c%3d ", letter, cnt[l][i]);
			buf_puts(&squares, sq);
		}
		cmd_reply(ctx, "|  %s\n", buf_str(&squares));
		buf_free(&squares);
	}
	cmd_reply(ctx,
		  "L low (score 1-%d), M medium (%d-%d), H high (%d-%d), "
		  "C critical (%d-25)\n```\n%d risk%s; appetite %d (accepting "
		  "a higher score needs approval).",
		  lv[0], lv[0] + 1, lv[1], lv[1] + 1, lv[2], lv[2] + 1, total,
		  total == 1 ? "" : "s", ctx->cfg->risk_appetite);
	return 0;
}

int
risk_matrix_html(struct cmd_ctx *ctx, struct buf *out)
{
	static const char *const names[] = {"low", "medium", "high",
					    "critical"};
	static const char *const colours[] = {"#8bd17c", "#ffe066", "#ffa94d",
					      "#ff6b6b"};
	int cnt[6][6], l, i, total;
	const int *lv = ctx->cfg->risk_levels;

	if (matrix_counts(ctx, cnt, &total) < 0)
		return -1;
	buf_puts(out, "<table style=\"border-collapse:collapse;text-align:"
		      "center\">\n<tr><th></th><th colspan=\"5\">impact</th>"
		      "</tr>\n<tr><th style=\"padding:4px 8px\">likelihood"
		      "</th>");
	for (i = 1; i <= 5; i++)
		buf_printf(out, "<th>%d</th>", i);
	buf_puts(out, "</tr>\n");
	for (l = 5; l >= 1; l--) {
		buf_printf(out, "<tr><th>%d</th>", l);
		for (i = 1; i <= 5; i++) {
			const char *level = level_of(ctx, l * i);
			int k = reg_one_of(level, names, 4);

			buf_printf(out,
				   "<td style=\"background:%s;border:2px "
				   "solid #fff;padding:8px 14px\" title=\"%s "
				   "(%d)\">%d</td>",
				   colours[k < 0 ? 0 : k], level, l * i,
				   cnt[l][i]);
		}
		buf_puts(out, "</tr>\n");
	}
	buf_printf(
	    out,
	    "</table>\n<p>Risks per cell. Low: score 1-%d, medium %d-%d, "
	    "high %d-%d, critical %d-25. %d risk%s; appetite %d.</p>\n",
	    lv[0], lv[0] + 1, lv[1], lv[1] + 1, lv[2], lv[2] + 1, total,
	    total == 1 ? "" : "s", ctx->cfg->risk_appetite);
	return 0;
}

static int
risk_matrix(struct cmd_ctx *ctx)
{
	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	return risk_matrix_write(ctx);
}

int
risk_summary_write(struct cmd_ctx *ctx)
{
	static const char *const names[] = {"critical", "high", "medium",
					    "low"};
	int64_t by[4] = {0}, total = 0, untreated = 0, pending = 0, above = 0,
		overdue = 0;
	struct db_stmt *s;
	size_t k;

	s = db_prepare(ctx->st,
		       "SELECT score, treatment IS NULL, next_review_at <= ?, "
		       "EXISTS (SELECT 1 FROM approvals ap WHERE ap.object = "
		       "'RSK-' || r.id AND ap.kind = 'risk.accept' AND "
		       "ap.status = 'pending') FROM risks r",
		       "i", ctx->now);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		int score = (int)db_col_int(s, 0);

		by[reg_one_of(level_of(ctx, score), names, 4)]++;
		total++;
		untreated += (int)db_col_int(s, 1);
		overdue += (int)db_col_int(s, 2);
		pending += (int)db_col_int(s, 3);
		above += score > ctx->cfg->risk_appetite;
	}
	db_finish(ctx->st, s);
	cmd_reply(ctx, "Risks: %lld (", (long long)total);
	for (k = 0; k < 4; k++)
		cmd_reply(ctx, "%s%s %lld", k ? ", " : "", names[k],
			  (long long)by[k]);
	cmd_reply(ctx,
		  "); %lld above the appetite of %d; %lld untreated; "
		  "%lld acceptance%s pending; %lld review%s overdue.",
		  (long long)above, ctx->cfg->risk_appetite,
		  (long long)untreated, (long long)pending,
		  pending == 1 ? "" : "s", (long long)overdue,
		  overdue == 1 ? "" : "s");
	cmd_reply(ctx, "\n");
	return risk_exposure_write(ctx);
}

static const struct cmd_entry risk_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_RISK_OWNER | ROLE_ISMS_MANAGER,
	.keys = "likelihood,impact,asset,owner,threat,vulnerability,supplier",
	.usage = "<title> likelihood=1-5 impact=1-5 [asset=AST-n] [owner=@h] "
		 "[threat=..] [vulnerability=..] [supplier=SUP-n]",
	.help = "assess a new risk (owner defaults to you)",
	.exec = risk_add,
    },
    {
	.verb = "update",
	.roles = ROLE_RISK_OWNER | ROLE_ISMS_MANAGER,
	.keys = "likelihood,impact,title,owner,asset,threat,vulnerability,"
		"supplier",
	.usage = "RSK-n [likelihood=1-5] [impact=1-5] [title=..] [owner=@h] "
		 "[asset=AST-n|none] [threat=..] [vulnerability=..] "
		 "[supplier=SUP-n|none]",
	.help = "re-assess a risk (its owner or an isms_manager); resets the "
		"review "
		"date",
	.exec = risk_update,
    },
    {
	.verb = "treat",
	.roles = ROLE_RISK_OWNER | ROLE_ISMS_MANAGER,
	.keys = "controls,residual_likelihood,residual_impact",
	.usage =
	    "RSK-n mitigate|accept|transfer|avoid <plan> [controls=5.15,8.7] "
	    "[residual_likelihood=1-5] [residual_impact=1-5]",
	.help =
	    "decide the treatment; accepting above the appetite needs approval",
	.exec = risk_treat,
    },
    {
	.verb = "list",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.keys = "above",
	.usage = "[mine] [above=N]",
	.help = "the risk register, highest score first",
	.exec = risk_list,
    },
    {
	.verb = "show",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "RSK-n",
	.help = "a risk, its treatment and its history",
	.exec = risk_show,
    },
    {
	.verb = "matrix",
	.roles = REG_READERS,
	.flags = CMD_READONLY,
	.usage = "",
	.help = "5x5 heat map of likelihood x impact",
	.exec = risk_matrix,
    },
    {0},
};

const struct cmd_object risk_object = {
    .name = "risk",
    .help = "risk assessment, treatment, acceptance and the matrix",
    .commands = risk_commands,
};
