/*
 * Suppliers (SUP-n), ISO/IEC 27001 A.5.19-5.23: what each provides, how
 * critical it is, the data it receives, its contract and data processing
 * agreement, and a periodic review kept as history and nudged when due.
 */
#include "supplier.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "register.h"

#define DAY		  86400
#define SUP_URL_MAX	  500
#define SUP_PERIOD_MAX	  32
#define SUP_DEFAULT_EVERY "12m"

#define SUP_SEERS                                                              \
	"suppliers are visible to their owner, managers, risk owners, "        \
	"isms_managers and auditors"

static const char *const criticalities[] = {"low", "medium", "high",
					    "critical"};
static const char *const data_kinds[] = {"none", "internal", "confidential",
					 "personal"};
/* the same in a phrase: "no data", "personal data" */
static const char *const data_words[] = {"no", "internal", "confidential",
					 "personal"};
static const char *const yes_no[] = {"yes", "no"};

#define DATA_PERSONAL 3

struct supplier {
	char name[REG_NAME_MAX + 1];
	int criticality; /* index in criticalities */
	int data;	 /* index in data_kinds */
	struct person owner;
	char service[REG_NAME_MAX + 1]; /* "" when none */
	char contract[SUP_URL_MAX + 1]; /* "" when none */
	int dpa;			/* index in yes_no, -1 unknown */
	char every[SUP_PERIOD_MAX + 1]; /* "12m" */
	int64_t next_review;		/* start of the day, UTC */
	int64_t created;
	int retired;
};

/* The start (00:00 UTC) of the day t falls in: review dates are days. */
static int64_t
day_of(int64_t t)
{
	return t - t % DAY;
}

/*
 * One period such as 12m after from, as a day; -1 with an error reply
 * when every is malformed or longer than 10 years.
 */
static int
period_after(struct cmd_ctx *ctx, const char *every, int64_t from, int64_t *out)
{
	if (reg_period_after(ctx, every, from, out) < 0)
		return -1;
	*out = day_of(*out);
	return 0;
}

/* "dpa yes", "no DPA", "DPA unknown" for lines and replies. */
static const char *
dpa_text(int dpa)
{
	return dpa == 0 ? "DPA signed" : dpa == 1 ? "no DPA" : "DPA unknown";
}

/* Personal data goes to the supplier and no DPA is on record. */
static int
lacks_dpa(const struct supplier *sp)
{
	return sp->data == DATA_PERSONAL && sp->dpa != 0;
}

static int
supplier_load(struct cmd_ctx *ctx, int64_t id, struct supplier *sp)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT name, criticality, data, owner_id, COALESCE(service, ''), "
	    "COALESCE(contract_url, ''), COALESCE(dpa, ''), review_every, "
	    "next_review_at, created_at, status = 'retired' FROM suppliers "
	    "WHERE id = ?",
	    "i", id);
	int rc = -1;

	memset(sp, 0, sizeof(*sp));
	if (s == NULL || db_step(s) != DB_ROW)
		goto out;
	snprintf(sp->name, sizeof(sp->name), "%s", db_col(s, 0));
	sp->criticality = reg_one_of(db_col(s, 1), criticalities, 4);
	sp->data = reg_one_of(db_col(s, 2), data_kinds, 4);
	snprintf(sp->service, sizeof(sp->service), "%s", db_col(s, 4));
	snprintf(sp->contract, sizeof(sp->contract), "%s", db_col(s, 5));
	sp->dpa = reg_one_of(db_col(s, 6), yes_no, 2);
	snprintf(sp->every, sizeof(sp->every), "%s", db_col(s, 7));
	sp->next_review = db_col_int(s, 8);
	sp->created = db_col_int(s, 9);
	sp->retired = (int)db_col_int(s, 10);
	if (store_person_by_id(ctx->st, db_col_int(s, 3), &sp->owner) == 1)
		rc = 0;
out:
	db_finish(ctx->st, s);
	return rc < 0 ? cmd_error(ctx, "database error") : 0;
}

/*
 * Reads the options into sp (owner= only when given). Returns how many
 * were given, or -1 with an error reply.
 */
static int
supplier_keys(struct cmd_ctx *ctx, struct supplier *sp, int required)
{
	const char *service = NULL, *contract = NULL, *every = NULL;

	if (reg_key_enum(ctx, "criticality", criticalities, 4, required,
			 &sp->criticality) < 0 ||
	    reg_key_enum(ctx, "data", data_kinds, 4, required, &sp->data) < 0)
		return -1;
	/* owner= is required on add: reg_key_text says so in the usual words */
	if (required && cmd_key(ctx, "owner") == NULL)
		return reg_key_text(ctx, "owner", REG_NAME_MAX, 1, &service);
	if (cmd_key(ctx, "owner") != NULL &&
	    reg_key_person(ctx, "owner", &sp->owner) < 0)
		return -1;
	if (reg_key_text(ctx, "service", REG_NAME_MAX, 0, &service) < 0 ||
	    reg_key_text(ctx, "contract", SUP_URL_MAX, 0, &contract) < 0 ||
	    reg_key_enum(ctx, "dpa", yes_no, 2, 0, &sp->dpa) < 0 ||
	    reg_key_text(ctx, "review_every", SUP_PERIOD_MAX, 0, &every) < 0)
		return -1;
	if (contract != NULL && strncasecmp(contract, "https://", 8) != 0 &&
	    strncasecmp(contract, "http://", 7) != 0)
		return cmd_error(ctx, "contract= must be a link starting with "
				      "https:// or http://");
	if (service != NULL)
		snprintf(sp->service, sizeof(sp->service), "%s", service);
	if (contract != NULL)
		snprintf(sp->contract, sizeof(sp->contract), "%s", contract);
	if (every != NULL)
		snprintf(sp->every, sizeof(sp->every), "%s", every);
	/* the engine let through only these keys */
	return (int)ctx->cl->nkv;
}

static int
supplier_add(struct cmd_ctx *ctx)
{
	struct supplier sp = {0};
	char obj[32], due[16], *name, *subject = NULL;
	int rc = -1;
	int64_t id;

	name = reg_text(ctx, 0, REG_NAME_MAX, "a name");
	if (name == NULL)
		return -1;
	snprintf(sp.name, sizeof(sp.name), "%s", name);
	snprintf(sp.every, sizeof(sp.every), "%s", SUP_DEFAULT_EVERY);
	sp.dpa = -1;
	if (supplier_keys(ctx, &sp, 1) < 0 ||
	    period_after(ctx, sp.every, ctx->now, &sp.next_review) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO suppliers(name, criticality, data, owner_id, "
		    "service, contract_url, dpa, review_every, next_review_at, "
		    "created_by, created_at, updated_at) VALUES "
		    "(?,?,?,?,NULLIF(?, ''),NULLIF(?, ''),?,?,?,?,?,?)",
		    "tttittttiiii", sp.name, criticalities[sp.criticality],
		    data_kinds[sp.data], sp.owner.id, sp.service, sp.contract,
		    sp.dpa >= 0 ? yes_no[sp.dpa] : NULL, sp.every,
		    sp.next_review, ctx->me.id, ctx->now, ctx->now) < 0)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "SUP", id);
	time_date(sp.next_review, due);
	if (cmd_audit(
		ctx, "supplier.add", obj,
		json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s,s:s}", "name",
			  sp.name, "criticality", criticalities[sp.criticality],
			  "data", data_kinds[sp.data], "owner", sp.owner.handle,
			  "service", *sp.service ? sp.service : NULL,
			  "contract", *sp.contract ? sp.contract : NULL, "dpa",
			  sp.dpa >= 0 ? yes_no[sp.dpa] : NULL, "review_every",
			  sp.every, "next_review", due)) < 0)
		goto out;
	subject = xasprintf("You own supplier %s: %s (%s; next review %s)", obj,
			    sp.name, criticalities[sp.criticality], due);
	if (reg_tell(ctx, sp.owner.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx,
		  "Supplier %s added: %s (%s, %s data, %s), owner %s; "
		  "reviewed every %s (next %s).",
		  obj, sp.name, criticalities[sp.criticality],
		  data_words[sp.data], dpa_text(sp.dpa), sp.owner.handle,
		  sp.every, due);
	if (lacks_dpa(&sp))
		cmd_reply(ctx,
			  " It processes personal data without a DPA (GDPR "
			  "Art. 28): once one is signed, supplier update %s "
			  "dpa=yes.",
			  obj);
	rc = 0;
out:
	free(name);
	free(subject);
	return rc;
}

/* Loads pos[0] for a change: owner or isms_manager, not retired. */
static int
supplier_arg(struct cmd_ctx *ctx, struct reg_ref *ref, struct supplier *sp)
{
	if (reg_arg(ctx, 0, "SUP", ref) < 0 ||
	    reg_may_change(ctx, ref->owner_id, ref->obj, "owner") < 0 ||
	    supplier_load(ctx, ref->id, sp) < 0)
		return -1;
	if (sp->retired)
		return cmd_error(ctx, "%s is retired and no longer changes",
				 ref->obj);
	return 0;
}

/* The day a review cycle counts from: the last review, else the start. */
static int
cycle_start(struct cmd_ctx *ctx, int64_t id, int64_t created, int64_t *out)
{
	int rc = db_int(ctx->st, out,
			"SELECT at FROM supplier_reviews WHERE supplier_id = ? "
			"ORDER BY id DESC LIMIT 1",
			"i", id);

	if (rc == 0)
		*out = created;
	return rc < 0 ? cmd_error(ctx, "database error") : 0;
}

static int
supplier_update(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct supplier old, sp;
	json_t *changes = NULL;
	char was[16], due[16];
	int64_t from;
	int n;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (supplier_arg(ctx, &ref, &old) < 0)
		return -1;
	sp = old;
	n = supplier_keys(ctx, &sp, 0);
	if (n < 0)
		return -1;
	if (n == 0)
		return cmd_error(ctx,
				 "nothing to change (usage: supplier update "
				 "%s)",
				 ctx->entry->usage);
	if (sp.owner.id != old.owner.id &&
	    !has_role(&ctx->me, ROLE_ISMS_MANAGER))
		return cmd_error(ctx, "not allowed: only an isms_manager may "
				      "give a supplier to another owner");
	/* a new cycle counts from the last review, as the old one did */
	if (strcmp(sp.every, old.every) != 0 &&
	    (cycle_start(ctx, ref.id, old.created, &from) < 0 ||
	     period_after(ctx, sp.every, from, &sp.next_review) < 0))
		return -1;
	time_date(old.next_review, was);
	time_date(sp.next_review, due);
	changes = json_object();
	reg_diff(changes, "criticality", criticalities[old.criticality],
		 criticalities[sp.criticality]);
	reg_diff(changes, "data", data_kinds[old.data], data_kinds[sp.data]);
	reg_diff(changes, "owner", old.owner.handle, sp.owner.handle);
	reg_diff(changes, "service", old.service, sp.service);
	reg_diff(changes, "contract", old.contract, sp.contract);
	reg_diff(changes, "dpa", old.dpa >= 0 ? yes_no[old.dpa] : "unknown",
		 sp.dpa >= 0 ? yes_no[sp.dpa] : "unknown");
	reg_diff(changes, "review_every", old.every, sp.every);
	reg_diff(changes, "next_review", was, due);
	if (json_object_size(changes) == 0) {
		json_decref(changes);
		return cmd_error(ctx, "%s already has these values", ref.obj);
	}
	if (db_exec(ctx->st,
		    "UPDATE suppliers SET criticality = ?, data = ?, "
		    "owner_id = ?, service = NULLIF(?, ''), contract_url = "
		    "NULLIF(?, ''), dpa = ?, review_every = ?, next_review_at "
		    "= ?, updated_at = ? WHERE id = ?",
		    "ttittttiii", criticalities[sp.criticality],
		    data_kinds[sp.data], sp.owner.id, sp.service, sp.contract,
		    sp.dpa >= 0 ? yes_no[sp.dpa] : NULL, sp.every,
		    sp.next_review, ctx->now, ref.id) < 0 ||
	    cmd_audit(ctx, "supplier.update", ref.obj,
		      json_pack("{s:o}", "changes", changes)) < 0)
		return -1;
	if (sp.owner.id != old.owner.id) {
		char *subject = xasprintf("You now own supplier %s: %s (next "
					  "review %s)",
					  ref.obj, sp.name, due);

		n = reg_tell(ctx, sp.owner.id, subject, subject);
		free(subject);
		if (n < 0)
			return -1;
	}
	cmd_reply(ctx,
		  "%s updated: %s (%s, %s data, %s), owner %s; reviewed "
		  "every %s (next %s).",
		  ref.obj, sp.name, criticalities[sp.criticality],
		  data_words[sp.data], dpa_text(sp.dpa), sp.owner.handle,
		  sp.every, due);
	if (lacks_dpa(&sp))
		cmd_reply(ctx,
			  " It processes personal data without a DPA (GDPR "
			  "Art. 28).");
	return 0;
}

static int
supplier_review(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct supplier sp;
	char was[16], due[16], *result, *subject = NULL;
	int64_t next = 0;
	int rc = -1, given;

	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	if (supplier_arg(ctx, &ref, &sp) < 0)
		return -1;
	result = reg_text(ctx, 1, REG_TEXT_MAX, "the result of the review");
	if (result == NULL)
		return -1;
	given = reg_key_plan_date(ctx, "next", 0, &next);
	if (given < 0 ||
	    (given == 0 && period_after(ctx, sp.every, ctx->now, &next) < 0))
		goto out;
	time_date(sp.next_review, was);
	time_date(next, due);
	if (db_exec(ctx->st,
		    "INSERT INTO supplier_reviews(supplier_id, result, "
		    "reviewer_id, at, next_review_at) VALUES (?,?,?,?,?)",
		    "itiii", ref.id, result, ctx->me.id, ctx->now, next) < 0 ||
	    db_exec(ctx->st,
		    "UPDATE suppliers SET next_review_at = ?, updated_at = ? "
		    "WHERE id = ?",
		    "iii", next, ctx->now, ref.id) < 0 ||
	    cmd_audit(ctx, "supplier.review", ref.obj,
		      json_pack("{s:s,s:I,s:[s,s]}", "result", result, "review",
				(json_int_t)db_last_id(ctx->st), "next_review",
				was, due)) < 0)
		goto out;
	subject = xasprintf("%s (%s) reviewed by %s: %s. Next review %s.",
			    ref.obj, sp.name, ctx->me.handle, result, due);
	if (reg_tell(ctx, sp.owner.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "%s reviewed: %s. Next review %s.", ref.obj, result,
		  due);
	if (lacks_dpa(&sp))
		cmd_reply(ctx,
			  " It still processes personal data without a DPA "
			  "(GDPR Art. 28).");
	rc = 0;
out:
	free(result);
	free(subject);
	return rc;
}

static int
supplier_retire(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct supplier sp;
	char *reason, *subject = NULL;
	int64_t risks = 0;
	int rc = -1;

	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	if (supplier_arg(ctx, &ref, &sp) < 0)
		return -1;
	reason = reg_text(ctx, 1, REG_TEXT_MAX, "a reason");
	if (reason == NULL)
		return -1;
	if (db_exec(ctx->st,
		    "UPDATE suppliers SET status = 'retired', retired_reason "
		    "= ?, retired_by = ?, retired_at = ?, updated_at = ? "
		    "WHERE id = ?",
		    "tiiii", reason, ctx->me.id, ctx->now, ctx->now,
		    ref.id) < 0 ||
	    db_int(ctx->st, &risks,
		   "SELECT COUNT(*) FROM risks WHERE supplier_id = ?", "i",
		   ref.id) < 0 ||
	    cmd_audit(
		ctx, "supplier.retire", ref.obj,
		json_pack("{s:s,s:s}", "name", sp.name, "reason", reason)) < 0)
		goto out;
	subject = xasprintf("Supplier %s (%s) retired by %s: %s", ref.obj,
			    sp.name, ctx->me.handle, reason);
	if (reg_tell(ctx, sp.owner.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "%s retired: %s. It is no longer reviewed or nudged.",
		  ref.obj, sp.name);
	if (risks > 0)
		cmd_reply(ctx,
			  " %lld risk%s still name%s it: see supplier show "
			  "%s.",
			  (long long)risks, risks == 1 ? "" : "s",
			  risks == 1 ? "s" : "", ref.obj);
	rc = 0;
out:
	free(reason);
	free(subject);
	return rc;
}

/*
 * The columns of a list line. ?1: the sender (readers see every
 * supplier, others their own), ?2: the end of the "due" window.
 */
#define SUP_COLS                                                               \
	"SELECT s.id, s.name, s.criticality, CASE s.data WHEN 'none' THEN "    \
	"'no' ELSE s.data END, p.handle, "                                     \
	"date(s.next_review_at, 'unixepoch'), s.next_review_at, "              \
	"COALESCE(s.dpa, ''), s.status, COALESCE(s.service, '') FROM "         \
	"suppliers s JOIN people p ON p.id = s.owner_id WHERE (?3 <> 0 OR "    \
	"s.owner_id = ?1) "

static void
supplier_line(struct cmd_ctx *ctx, struct db_stmt *s)
{
	int64_t at = db_col_int(s, 6);
	int retired = strcmp(db_col(s, 8), "retired") == 0;

	cmd_reply(ctx, "SUP-%lld %s [%s, %s data] owner %s",
		  (long long)db_col_int(s, 0), db_col(s, 1), db_col(s, 2),
		  db_col(s, 3), db_col(s, 4));
	if (*db_col(s, 9))
		cmd_reply(ctx, "; %s", db_col(s, 9));
	if (retired)
		cmd_reply(ctx, "; retired");
	else
		cmd_reply(ctx, "; next review %s%s", db_col(s, 5),
			  at + DAY <= ctx->now ? " OVERDUE" : "");
	if (!retired && strcmp(db_col(s, 3), "personal") == 0 &&
	    strcmp(db_col(s, 7), "yes") != 0)
		cmd_reply(ctx, "; personal data without a DPA");
}

static int
supplier_list(struct cmd_ctx *ctx)
{
	static const char *const filters[] = {"due", "critical", "all"};
	static const char *const sql[] = {
	    SUP_COLS "AND s.status = 'active' AND s.next_review_at <= ?2 "
		     "ORDER BY s.next_review_at, s.id",
	    SUP_COLS "AND s.status = 'active' AND s.criticality IN "
		     "('critical', 'high') ORDER BY s.criticality = "
		     "'critical' DESC, s.id",
	    SUP_COLS "ORDER BY s.id",
	    SUP_COLS "AND s.status = 'active' ORDER BY s.id",
	};
	static const char *const none[] = {
	    "No supplier review is due in the next 14 days.",
	    "No active supplier of high or critical criticality.",
	    "No suppliers yet.",
	    "No active suppliers yet.",
	};
	struct db_stmt *s;
	int f = 3, n = 0;

	if (ctx->cl->npos > 1 ||
	    (ctx->cl->npos == 1 &&
	     (f = reg_one_of(ctx->cl->pos[0], filters, 3)) < 0))
		return reg_usage(ctx);
	s = db_prepare(ctx->st, sql[f], "iii", ctx->me.id,
		       ctx->now + (int64_t)SUPPLIER_AHEAD_DAYS * DAY,
		       (int64_t)has_role(&ctx->me, REG_READERS));
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (n++)
			cmd_reply(ctx, "\n");
		supplier_line(ctx, s);
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "%s", none[f]);
	return 0;
}

/* The reviews of SUP-id, oldest first. */
static int
show_reviews(struct cmd_ctx *ctx, int64_t id)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT date(r.at, 'unixepoch'), p.handle, r.result, "
	    "date(r.next_review_at, 'unixepoch') FROM supplier_reviews r "
	    "JOIN people p ON p.id = r.reviewer_id WHERE r.supplier_id = ? "
	    "ORDER BY r.id",
	    "i", id);
	int n = 0;

	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "\nReviews:");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "\n  %s %s: %.300s (next %s)", db_col(s, 0),
			  db_col(s, 1), db_col(s, 2), db_col(s, 3));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " none yet");
	return 0;
}

/* The risks naming SUP-id, for those who may read risks. */
static int
show_risks(struct cmd_ctx *ctx, int64_t id)
{
	struct db_stmt *s;
	int n = 0;

	if (!has_role(&ctx->me, REG_READERS))
		return 0;
	s = db_prepare(ctx->st,
		       "SELECT id, level, score, title FROM risks WHERE "
		       "supplier_id = ? ORDER BY score DESC, id",
		       "i", id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	ctx->rp->confidential = 1;
	cmd_reply(ctx, "\nRisks:");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "\n  RSK-%lld [%s %d] %s",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  (int)db_col_int(s, 2), db_col(s, 3));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " none recorded");
	return 0;
}

static int
supplier_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct supplier sp;
	char due[16], created[16];

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg_seen(ctx, 0, "SUP", REG_READERS, SUP_SEERS, &ref) < 0 ||
	    supplier_load(ctx, ref.id, &sp) < 0)
		return -1;
	time_date(sp.next_review, due);
	cmd_date(sp.created, created);
	cmd_reply(ctx,
		  "%s %s\nCriticality: %s. Data: %s. Service: %s.\n"
		  "Owner: %s (%s). Contract: %s. DPA: %s.\n",
		  ref.obj, sp.name, criticalities[sp.criticality],
		  data_kinds[sp.data], *sp.service ? sp.service : "-",
		  sp.owner.handle, sp.owner.name,
		  *sp.contract ? sp.contract : "-",
		  sp.dpa >= 0 ? yes_no[sp.dpa] : "unknown");
	if (sp.retired) {
		char *why = db_text(ctx->st,
				    "SELECT date(retired_at, 'unixepoch') || "
				    "': ' || retired_reason FROM suppliers "
				    "WHERE id = ?",
				    "i", ref.id);

		cmd_reply(ctx, "Retired %s. Added %s.", why ? why : "",
			  created);
		free(why);
	} else {
		cmd_reply(ctx, "Reviewed every %s; next review %s%s. Added %s.",
			  sp.every, due,
			  sp.next_review + DAY <= ctx->now ? " (OVERDUE)" : "",
			  created);
		if (lacks_dpa(&sp))
			cmd_reply(ctx, "\nIt processes personal data without "
				       "a DPA (GDPR Art. 28).");
	}
	if (show_reviews(ctx, ref.id) < 0 || show_risks(ctx, ref.id) < 0)
		return -1;
	return 0;
}

int
supplier_report_write(struct cmd_ctx *ctx)
{
	int64_t until = ctx->now + (int64_t)SUPPLIER_AHEAD_DAYS * DAY;
	int64_t active = 0, due = 0;
	struct db_stmt *s;
	int n = 0;

	if (db_int(ctx->st, &active,
		   "SELECT COUNT(*) FROM suppliers WHERE status = 'active'",
		   NULL) != 1 ||
	    db_int(ctx->st, &due,
		   "SELECT COUNT(*) FROM suppliers WHERE status = 'active' "
		   "AND next_review_at <= ?",
		   "i", until) != 1)
		return cmd_error(ctx, "database error");
	if (active == 0) {
		cmd_reply(ctx, "Suppliers: none registered.");
		return 0;
	}
	cmd_reply(ctx,
		  "Suppliers: %lld active, %lld due for review within %d "
		  "days or overdue",
		  (long long)active, (long long)due, SUPPLIER_AHEAD_DAYS);
	s = db_prepare(ctx->st,
		       "SELECT id, name, next_review_at FROM suppliers WHERE "
		       "status = 'active' AND next_review_at <= ? ORDER BY "
		       "next_review_at, id",
		       "i", until);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		char date[16];

		time_date(db_col_int(s, 2), date);
		cmd_reply(ctx, "%sSUP-%lld %s (%s %s)", n++ ? ", " : ": ",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  db_col_int(s, 2) + DAY <= ctx->now ? "overdue since"
							     : "due",
			  date);
	}
	db_finish(ctx->st, s);
	cmd_reply(ctx, ".");
	/* GDPR Art. 28(3): processing on the organisation's behalf needs a
	 * contract that binds the processor */
	s = db_prepare(ctx->st,
		       "SELECT id, name, COALESCE(dpa, 'unknown') FROM "
		       "suppliers WHERE status = 'active' AND data = "
		       "'personal' AND COALESCE(dpa, '') != 'yes' ORDER BY id",
		       NULL);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx,
			  "\n  SUP-%lld %s processes personal data without a "
			  "DPA (GDPR Art. 28)%s",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  strcmp(db_col(s, 2), "no") == 0 ? ""
							  : "; DPA unknown");
	db_finish(ctx->st, s);
	return 0;
}

/* Tells the owner's manager (else an isms_manager) of an overdue review. */
static int
review_escalate(struct cmd_ctx *ctx, struct tz_work *w, const char *obj,
		const char *what, const struct person *owner, int64_t at)
{
	struct nudge esc = {.kind = "supplier.escalate", .object = obj};
	struct person to;
	char date[16], *subject, *body;
	int rc;

	rc = nudge_escalation_target(ctx, owner, owner->id, 0, &to);
	if (rc <= 0)
		return rc;
	time_date(at, date);
	esc.period = date;
	subject = xasprintf("Overdue supplier review of %s (due %s): %s",
			    owner->handle, date, what);
	body = xasprintf(
	    "%s\n\n%s (%s) owns this supplier and its review is %lld days "
	    "overdue%s; you are told as %s. Details: /isms supplier show %s",
	    subject, owner->name, owner->handle,
	    (long long)((ctx->now - at) / DAY),
	    owner->active ? "" : " (they have left)",
	    to.id == owner->manager_id ? "their manager" : "an isms_manager",
	    obj);
	rc = nudge_send(ctx, w, &esc, &to, subject, body, NULL);
	free(subject);
	free(body);
	return rc < 0 ? -1 : 0;
}

/* One supplier whose review is due within the window. 0 or -1. */
static int
review_nudge(struct cmd_ctx *ctx, struct tz_work *w, int64_t id, int64_t at)
{
	int64_t escalate_at =
	    at + DAY + (int64_t)ctx->cfg->nudge_escalate_after_days * DAY;
	struct nudge nd = {.kind = "supplier.review"};
	struct supplier sp;
	char obj[32], date[16], period[48], what[320], *subject, *body;
	int rc = 0;

	reg_obj(obj, "SUP", id);
	nd.object = obj;
	time_date(at, date);
	if (ctx->now >= at) {
		nudge_repeat(ctx, &nd, date, at, period, sizeof(period));
	} else {
		snprintf(period, sizeof(period), "%s:ahead", date);
		nd.period = period;
	}
	if (supplier_load(ctx, id, &sp) < 0)
		return -1;
	snprintf(what, sizeof(what), "%s %s [%s]", obj, sp.name,
		 criticalities[sp.criticality]);
	if (sp.owner.active) {
		rc = nudge_ready(ctx, w, &nd, &sp.owner);
		if (rc < 0)
			return -1;
	}
	if (sp.owner.active && rc == 1) {
		if (ctx->now >= at + DAY)
			subject = xasprintf("Supplier review overdue (due %s): "
					    "%s",
					    date, what);
		else if (ctx->now >= at)
			subject = xasprintf("Supplier review due today (%s): "
					    "%s",
					    date, what);
		else
			subject = xasprintf("Supplier review due on %s: %s",
					    date, what);
		body = xasprintf(
		    "%s\n\nYou own this supplier (%s%s%s data, reviewed every "
		    "%s). Check the service it delivers, the contract and, "
		    "when it receives personal data, the data processing "
		    "agreement (A.5.19-5.22); then record the review with "
		    "/isms supplier review %s <result> [next=YYYY-MM-DD]. "
		    "Details: /isms supplier show %s",
		    subject, sp.service, *sp.service ? ", " : "",
		    data_words[sp.data], sp.every, obj, obj);
		rc = nudge_send(ctx, w, &nd, &sp.owner, subject, body, NULL);
		free(subject);
		free(body);
		if (rc < 0)
			return -1;
	}
	/* a leaver is not waited for: their manager hears from the due date */
	if (ctx->now >= escalate_at || (!sp.owner.active && ctx->now >= at))
		return review_escalate(ctx, w, obj, what, &sp.owner, at);
	return 0;
}

int
supplier_job_reviews(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id, next_review_at FROM "
			   "suppliers WHERE status = 'active' AND "
			   "next_review_at <= ? ORDER BY id",
			   "i", ctx->now + (int64_t)SUPPLIER_AHEAD_DAYS * DAY),
		2, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = review_nudge(ctx, w, rows[2 * i], rows[2 * i + 1]);
	free(rows);
	return rc;
}

static const struct cmd_entry supplier_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "criticality,data,owner,service,contract,dpa,review_every",
	.usage = "<name> criticality=low|medium|high|critical "
		 "data=none|internal|confidential|personal owner=@h "
		 "[service=...] [contract=https://...] [dpa=yes|no] "
		 "[review_every=12m]",
	.help = "register a supplier (A.5.19)",
	.exec = supplier_add,
    },
    {
	.verb = "update",
	.keys = "criticality,data,owner,service,contract,dpa,review_every",
	.usage = "SUP-n [criticality=] [data=] [owner=@h] [service=] "
		 "[contract=] [dpa=yes|no] [review_every=]",
	.help = "change a supplier (its owner or an isms_manager)",
	.exec = supplier_update,
    },
    {
	.verb = "review",
	.keys = "next",
	.usage = "SUP-n <result> [next=YYYY-MM-DD]",
	.help = "record a review of the supplier; sets the next review "
		"(owner or isms_manager, A.5.22)",
	.exec = supplier_review,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "[due|critical|all]",
	.help = "active suppliers; due: review within 14 days or overdue; "
		"critical: high and critical ones; all: retired too",
	.exec = supplier_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "SUP-n",
	.help = "a supplier, its reviews and the risks naming it",
	.exec = supplier_show,
    },
    {
	.verb = "retire",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "SUP-n <reason>",
	.help = "end the relationship with a supplier (kept with its "
		"history)",
	.exec = supplier_retire,
    },
    {0},
};

const struct cmd_object supplier_object = {
    .name = "supplier",
    .help = "suppliers: criticality, data, contracts, DPAs and reviews",
    .commands = supplier_commands,
};
