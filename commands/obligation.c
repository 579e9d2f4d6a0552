/*
 * Obligations (OBL-n, A.5.31 and A.5.34): the laws, regulations,
 * contracts and standards the organisation must meet, each with an
 * owner, the Annex A controls that meet it and a review cycle. The owner
 * is nudged when a review falls due; the report names the overdue ones.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "context.h"
#include "due.h"
#include "register.h"

#define OBL_REVIEW_DEFAULT "12m"
#define DAY		   86400

#define OBL_SEERS                                                              \
	"obligations are visible to their owner, managers, risk owners, "      \
	"isms_managers and auditors"

static const char *const obl_sources[] = {"law", "regulation", "contract",
					  "standard"};

/*
 * controls=5.31,A.5.34 as a JSON array of existing Annex A control ids
 * (caller releases); NULL with an error reply otherwise.
 */
static json_t *
obl_controls(struct cmd_ctx *ctx, const char *list)
{
	json_t *arr = json_array(), *ret = NULL;
	char *copy = xstrdup(list), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		int64_t seq;
		size_t k;
		int rc, dup = 0;

		if (strncasecmp(tok, "A.", 2) == 0)
			tok += 2;
		rc = db_int(ctx->st, &seq,
			    "SELECT seq FROM controls WHERE id = ?", "t", tok);
		if (rc < 0) {
			cmd_error(ctx, "database error");
			goto out;
		}
		if (rc == 0) {
			cmd_error(ctx,
				  "no Annex A control \"%.20s\" (expected ids "
				  "like 5.31 or 5.34)",
				  tok);
			goto out;
		}
		for (k = 0; k < json_array_size(arr); k++)
			dup |= strcmp(json_string_value(json_array_get(arr, k)),
				      tok) == 0;
		if (!dup)
			json_array_append_new(arr, json_string(tok));
	}
	if (json_array_size(arr) == 0) {
		cmd_error(ctx, "controls= needs control ids like 5.31,5.34");
		goto out;
	}
	ret = arr;
	arr = NULL;
out:
	free(copy);
	json_decref(arr);
	return ret;
}

static int
obligation_add(struct cmd_ctx *ctx)
{
	struct person owner;
	const char *ref = NULL, *every = OBL_REVIEW_DEFAULT, *list = NULL;
	const char *who = NULL;
	json_t *controls = NULL;
	char obj[32], due[16], *title, *subject = NULL, *body = NULL;
	int64_t next, id;
	size_t k;
	int src, rc = -1;

	title = reg_text(ctx, 0, REG_NAME_MAX, "a title");
	if (title == NULL)
		return -1;
	if (reg_key_enum(ctx, "source", obl_sources, ARRAY_LEN(obl_sources), 1,
			 &src) < 0 ||
	    reg_key_text(ctx, "ref", REG_NAME_MAX, 1, &ref) < 0 ||
	    reg_key_text(ctx, "owner", REG_NAME_MAX, 1, &who) < 0 ||
	    reg_key_person(ctx, "owner", &owner) < 0 ||
	    reg_key_text(ctx, "review_every", 32, 0, &every) < 0 ||
	    reg_period_after(ctx, every, ctx->now, &next) < 0 ||
	    reg_key_text(ctx, "controls", REG_TEXT_MAX, 0, &list) < 0)
		goto out;
	if (reg_may_own(ctx, &owner, "an obligation") < 0)
		goto out;
	if (list != NULL) {
		controls = obl_controls(ctx, list);
		if (controls == NULL)
			goto out;
	}
	if (db_exec(ctx->st,
		    "INSERT INTO obligations(title, source, ref, owner_id, "
		    "review_every, next_review_at, created_by, created_at) "
		    "VALUES (?,?,?,?,?,?,?,?)",
		    "tttitiii", title, obl_sources[src], ref, owner.id, every,
		    next, ctx->me.id, ctx->now) != 1)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "OBL", id);
	for (k = 0; k < json_array_size(controls); k++)
		if (db_exec(ctx->st,
			    "INSERT INTO obligation_controls(obligation_id, "
			    "control_id) VALUES (?,?)",
			    "it", id,
			    json_string_value(json_array_get(controls, k))) !=
		    1)
			goto out;
	time_date(next, due);
	if (cmd_audit(ctx, "obligation.add", obj,
		      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O?}", "title",
				title, "source", obl_sources[src], "ref", ref,
				"owner", owner.handle, "review_every", every,
				"next_review", due, "controls", controls)) < 0)
		goto out;
	subject = xasprintf("You own obligation %s: %s (%s, %s; next review "
			    "%s)",
			    obj, title, obl_sources[src], ref, due);
	body = xasprintf("%s\n\nKeep track of what it requires and review it "
			 "every %s; record each review with /isms obligation "
			 "reviewed %s [note]. Details: /isms obligation show "
			 "%s",
			 subject, every, obj, obj);
	if (reg_tell(ctx, owner.id, subject, body) < 0)
		goto out;
	cmd_reply(ctx,
		  "Obligation %s added: %s (%s, %s), owner %s, reviewed every "
		  "%s (next %s)",
		  obj, title, obl_sources[src], ref, owner.handle, every, due);
	for (k = 0; k < json_array_size(controls); k++)
		cmd_reply(ctx, "%s%s", k ? ", " : "; controls ",
			  json_string_value(json_array_get(controls, k)));
	cmd_reply(ctx, ".");
	rc = 0;
out:
	json_decref(controls);
	free(title);
	free(subject);
	free(body);
	return rc;
}

static int
obligation_reviewed(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	char *every = NULL, *old = NULL, *note = NULL, due[16];
	int64_t next;
	int rc = -1;

	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "OBL", &ref) < 0 ||
	    reg_may_change(ctx, ref.owner_id, ref.obj, "owner") < 0)
		return -1;
	if (ctx->cl->npos > 1) {
		note = reg_text(ctx, 1, REG_TEXT_MAX, "a note");
		if (note == NULL)
			return -1;
	}
	every = db_text(ctx->st,
			"SELECT review_every FROM obligations WHERE id = ?",
			"i", ref.id);
	old = db_text(ctx->st,
		      "SELECT date(next_review_at, 'unixepoch') FROM "
		      "obligations WHERE id = ?",
		      "i", ref.id);
	if (every == NULL || old == NULL) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	if (reg_period_after(ctx, every, ctx->now, &next) < 0)
		goto out;
	time_date(next, due);
	if (db_exec(ctx->st,
		    "UPDATE obligations SET last_reviewed_at = ?, "
		    "next_review_at = ? WHERE id = ?",
		    "iii", ctx->now, next, ref.id) != 1 ||
	    db_exec(ctx->st,
		    "INSERT INTO obligation_reviews(obligation_id, at, by_id, "
		    "note, next_review_at) VALUES (?,?,?,?,?)",
		    "iiiti", ref.id, ctx->now, ctx->me.id, note, next) != 1 ||
	    cmd_audit(ctx, "obligation.reviewed", ref.obj,
		      json_pack("{s:[s,s],s:s?}", "next_review", old, due,
				"note", note)) < 0)
		goto out;
	/* an isms_manager recorded it for the owner: the owner hears */
	if (ref.owner_id != ctx->me.id) {
		char *subject =
		    xasprintf("%s %s reviewed by %s; next review %s", ref.obj,
			      ref.title, ctx->me.handle, due);

		rc = reg_tell(ctx, ref.owner_id, subject, subject);
		free(subject);
		if (rc < 0)
			goto out;
	}
	cmd_reply(ctx, "%s reviewed; next review %s.", ref.obj, due);
	rc = 0;
out:
	free(every);
	free(old);
	free(note);
	return rc;
}

#define OBL_COLS                                                               \
	"SELECT o.id, o.source, o.title, o.ref, p.handle, o.review_every, "    \
	"date(o.next_review_at, 'unixepoch'), COALESCE((SELECT "               \
	"group_concat(x.control_id, ', ') FROM (SELECT c.control_id FROM "     \
	"obligation_controls c JOIN controls k ON k.id = c.control_id WHERE "  \
	"c.obligation_id = o.id ORDER BY k.seq) x), ''), "                     \
	"o.next_review_at + 86400 <= ?1, "                                     \
	"COALESCE(date(o.last_reviewed_at, 'unixepoch'), 'never') "            \
	"FROM obligations o JOIN people p ON p.id = o.owner_id "

static void
obligation_line(struct cmd_ctx *ctx, struct db_stmt *s)
{
	cmd_reply(ctx,
		  "OBL-%lld [%s] %s (ref %s; owner %s; reviewed every %s, "
		  "next %s%s",
		  (long long)db_col_int(s, 0), db_col(s, 1), db_col(s, 2),
		  db_col(s, 3), db_col(s, 4), db_col(s, 5), db_col(s, 6),
		  db_col_int(s, 8) ? " OVERDUE" : "");
	if (*db_col(s, 7))
		cmd_reply(ctx, "; controls %s", db_col(s, 7));
	cmd_reply(ctx, ")");
}

static int
obligation_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0, all = has_role(&ctx->me, REG_READERS);

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	/* outside the register's readers, one sees what one owns */
	s = db_prepare(
	    ctx->st, OBL_COLS "WHERE ?2 <> 0 OR o.owner_id = ?3 ORDER BY o.id",
	    "iii", ctx->now, (int64_t)all, ctx->me.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (n++)
			cmd_reply(ctx, "\n");
		obligation_line(ctx, s);
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, all ? "No obligations yet."
				   : "You own no obligations.");
	return 0;
}

static int
obligation_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg_seen(ctx, 0, "OBL", REG_READERS, OBL_SEERS, &ref) < 0)
		return -1;
	s = db_prepare(ctx->st, OBL_COLS "WHERE o.id = ?2", "ii", ctx->now,
		       ref.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	obligation_line(ctx, s);
	cmd_reply(ctx, "\nLast reviewed: %s", db_col(s, 9));
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT p.handle, COALESCE(r.note, '') FROM "
		       "obligation_reviews r JOIN people p ON p.id = r.by_id "
		       "WHERE r.obligation_id = ? ORDER BY r.id DESC LIMIT 1",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	if (db_step(s) == DB_ROW)
		cmd_reply(ctx, " by %s%s%s", db_col(s, 0),
			  *db_col(s, 1) ? ": " : "", db_col(s, 1));
	db_finish(ctx->st, s);
	cmd_reply(ctx, ".");
	s = db_prepare(ctx->st,
		       "SELECT p.id, p.name FROM party_obligations l JOIN "
		       "parties p ON p.id = l.party_id WHERE l.obligation_id "
		       "= ? ORDER BY p.id",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%sPTY-%lld %s", n++ ? ", " : "\nParties: ",
			  (long long)db_col_int(s, 0), db_col(s, 1));
	db_finish(ctx->st, s);
	return 0;
}

/* The phases of a review date, as commands/due.c has them for documents. */
enum obl_phase {
	OBL_NOT_YET,
	OBL_AHEAD, /* within DUE_AHEAD_DAYS before the date: once */
	OBL_DUE,   /* at or past the date: every [nudge] repeat_days */
};

static enum obl_phase
obl_phase(const struct cmd_ctx *ctx, struct nudge *n, int64_t at, char *buf,
	  size_t len)
{
	char date[16];

	time_date(at, date);
	if (ctx->now >= at) {
		nudge_repeat(ctx, n, date, at, buf, len);
		return OBL_DUE;
	}
	if (ctx->now >= at - (int64_t)DUE_AHEAD_DAYS * DAY) {
		snprintf(buf, len, "%s:ahead", date);
		n->period = buf;
		n->gap = 0;
		return OBL_AHEAD;
	}
	return OBL_NOT_YET;
}

/*
 * Who hears of OBL-id's review: its owner, or when the owner has left,
 * their manager or an isms_manager. 1 with *to set, 0 nobody, -1.
 */
static int
obl_recipient(struct cmd_ctx *ctx, int64_t owner_id, struct person *to,
	      int *stand_in)
{
	struct person owner;

	if (store_person_by_id(ctx->st, owner_id, &owner) != 1)
		return -1;
	*stand_in = !owner.active;
	if (owner.active) {
		*to = owner;
		return 1;
	}
	return nudge_escalation_target(ctx, &owner, 0, 0, to);
}

/* One nudge about OBL-id (row values borrowed). 0 or -1. */
static int
obl_nudge(struct cmd_ctx *ctx, struct tz_work *w, int64_t id, int64_t owner_id,
	  int64_t at)
{
	struct nudge nd = {.kind = "obligation.review"};
	struct person to;
	struct db_stmt *s;
	enum obl_phase ph;
	char obj[32], period[48], date[16], *subject, *body, *intro;
	int rc, stand_in = 0;

	reg_obj(obj, "OBL", id);
	nd.object = obj;
	ph = obl_phase(ctx, &nd, at, period, sizeof(period));
	if (ph == OBL_NOT_YET)
		return 0;
	rc = obl_recipient(ctx, owner_id, &to, &stand_in);
	if (rc <= 0)
		return rc;
	rc = nudge_ready(ctx, w, &nd, &to);
	if (rc <= 0)
		return rc;
	s = db_prepare(ctx->st,
		       "SELECT o.title, o.source, o.ref, o.review_every, "
		       "p.handle FROM obligations o JOIN people p ON p.id = "
		       "o.owner_id WHERE o.id = ?",
		       "i", id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return -1;
	}
	time_date(at, date);
	if (ph == OBL_AHEAD)
		subject = xasprintf("Obligation review due on %s: %s %s", date,
				    obj, db_col(s, 0));
	else
		subject = xasprintf("Obligation review overdue (due %s): %s %s",
				    date, obj, db_col(s, 0));
	if (stand_in)
		intro = xasprintf("Its owner %s has left, so the review falls "
				  "to you until an isms_manager gives it a "
				  "new owner.",
				  db_col(s, 4));
	else
		intro = xstrdup("You own this obligation.");
	body = xasprintf("%s\n\n%s %s (%s, %s) is reviewed every %s: check "
			 "that what it requires is still met and whether it "
			 "changed, then record the review with /isms "
			 "obligation reviewed %s [note]. Details: /isms "
			 "obligation show %s",
			 subject, intro, obj, db_col(s, 1), db_col(s, 2),
			 db_col(s, 3), obj, obj);
	free(intro);
	db_finish(ctx->st, s);
	rc = nudge_send(ctx, w, &nd, &to, subject, body, NULL);
	free(subject);
	free(body);
	return rc < 0 ? -1 : 0;
}

int
obligation_job_reviews(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT id, owner_id, next_review_at FROM "
				  "obligations WHERE next_review_at <= ? "
				  "ORDER BY id",
				  "i",
				  ctx->now + (int64_t)DUE_AHEAD_DAYS * DAY),
		       3, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = obl_nudge(ctx, w, rows[3 * i], rows[3 * i + 1],
			       rows[3 * i + 2]);
	free(rows);
	return rc;
}

int
obligation_report_write(struct cmd_ctx *ctx, int ahead_days)
{
	int64_t total = 0, due = 0;
	struct db_stmt *s;
	int n = 0;

	if (db_int(ctx->st, &total, "SELECT COUNT(*) FROM obligations", NULL) <
		0 ||
	    db_int(ctx->st, &due,
		   "SELECT COUNT(*) FROM obligations WHERE next_review_at <= ?",
		   "i", ctx->now + (int64_t)ahead_days * DAY) < 0)
		return cmd_error(ctx, "database error");
	if (total == 0) {
		cmd_reply(ctx, "Obligations: none registered.");
		return 0;
	}
	cmd_reply(ctx,
		  "Obligations: %lld registered, %lld due for review in the "
		  "next %d days",
		  (long long)total, (long long)due, ahead_days);
	/* overdue as the report counts it: the due day has passed */
	s = db_prepare(ctx->st,
		       "SELECT o.id, o.title, p.handle, date(o.next_review_at, "
		       "'unixepoch') FROM obligations o JOIN people p ON p.id "
		       "= o.owner_id WHERE o.next_review_at + 86400 <= ? ORDER "
		       "BY o.next_review_at, o.id",
		       "i", ctx->now);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(
		    ctx, "%sOBL-%lld %s (owner %s, due %s)",
		    n++ ? ", " : "; overdue: ", (long long)db_col_int(s, 0),
		    db_col(s, 1), db_col(s, 2), db_col(s, 3));
	db_finish(ctx->st, s);
	cmd_reply(ctx, "%s.", n ? "" : "; none overdue");
	return 0;
}

static const struct cmd_entry obligation_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "source,ref,controls,owner,review_every",
	.usage = "<title> source=law|regulation|contract|standard "
		 "ref=<citation> [controls=5.31,5.34] owner=@h "
		 "[review_every=12m]",
	.help = "register a legal, regulatory or contractual obligation "
		"(A.5.31)",
	.exec = obligation_add,
    },
    {
	.verb = "reviewed",
	.usage = "OBL-n [note]",
	.help = "record a review; moves the next review date (owner or "
		"isms_manager)",
	.exec = obligation_reviewed,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "obligations with owners and review dates (yours unless you "
		"read the register)",
	.exec = obligation_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "OBL-n",
	.help = "an obligation, its last review and the parties it serves",
	.exec = obligation_show,
    },
    {0},
};

const struct cmd_object obligation_object = {
    .name = "obligation",
    .help = "legal, regulatory and contractual obligations (A.5.31, A.5.34)",
    .commands = obligation_commands,
};
