/*
 * Documents (DOC-n): policies and procedures with an owner, a review
 * cycle and, when required, each person's acknowledgement (once).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/tz.h"
#include "register.h"

#define DOC_URL_MAX	    500
#define DOC_PERIOD_MAX_DAYS (10 * 366)

/* review_every=12m as the next review date from now; -1 when malformed. */
static int
next_review(struct cmd_ctx *ctx, const char *every, int64_t *out)
{
	int count;
	char unit;

	if (config_period(every, &count, &unit) < 0)
		return cmd_error(ctx, "review_every= must be a period like "
				      "12m, 6m, 1y, 2w or 30d");
	switch (unit) {
	case 'd':
		*out = ctx->now + (int64_t)count * 86400;
		break;
	case 'w':
		*out = ctx->now + (int64_t)count * 7 * 86400;
		break;
	case 'm':
		*out = time_add_months(ctx->now, count);
		break;
	default:
		*out = time_add_months(ctx->now, count * 12);
		break;
	}
	if (*out - ctx->now > (int64_t)DOC_PERIOD_MAX_DAYS * 86400)
		return cmd_error(ctx, "review_every= must be at most 10 years");
	return 0;
}

static int
doc_add(struct cmd_ctx *ctx)
{
	struct person owner;
	const char *every = NULL, *url = NULL, *ack = NULL, *ack_by = NULL;
	char obj[32], due[16], *title, *subject = NULL;
	int64_t next, id, ack_due = 0;
	int rc = -1, ack_req;

	title = reg_text(ctx, 0, REG_NAME_MAX, "a title");
	if (title == NULL)
		return -1;
	if (reg_key_person(ctx, "owner", &owner) < 0 ||
	    reg_key_text(ctx, "review_every", 32, 1, &every) < 0 ||
	    next_review(ctx, every, &next) < 0 ||
	    reg_key_text(ctx, "url", DOC_URL_MAX, 0, &url) < 0 ||
	    reg_key_text(ctx, "ack", 16, 0, &ack) < 0 ||
	    reg_key_text(ctx, "ack_by", 16, 0, &ack_by) < 0)
		goto out;
	if (ack != NULL && strcasecmp(ack, "required") != 0 &&
	    strcasecmp(ack, "no") != 0) {
		rc = cmd_error(ctx, "ack= must be required or no");
		goto out;
	}
	ack_req = ack != NULL && strcasecmp(ack, "required") == 0;
	if (ack_by != NULL) {
		/* acknowledged through that day in the organisation's zone */
		if (!ack_req) {
			rc = cmd_error(ctx, "ack_by= needs ack=required");
			goto out;
		}
		if (strlen(ack_by) != 10 ||
		    tz_parse(ctx->cfg->org_timezone, ack_by, &ack_due) < 0) {
			rc = cmd_error(ctx,
				       "ack_by= must be a date YYYY-MM-DD, got "
				       "\"%.20s\"",
				       ack_by);
			goto out;
		}
		ack_due = tz_day_start(ctx->cfg->org_timezone, ack_due, 1);
		if (ack_due <= ctx->now) {
			rc = cmd_error(ctx, "ack_by= must not be in the past");
			goto out;
		}
	}
	if (url != NULL && strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0) {
		rc = cmd_error(ctx, "url= must start with https:// or http://");
		goto out;
	}
	if (db_exec(ctx->st,
		    "INSERT INTO docs(title, owner_id, review_every, url, "
		    "ack_required, next_review_at, created_by, created_at, "
		    "ack_due_at) VALUES (?,?,?,?,?,?,?,?,NULLIF(?, 0))",
		    "tittiiiii", title, owner.id, every, url, (int64_t)ack_req,
		    next, ctx->me.id, ctx->now, ack_due) < 0)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "DOC", id);
	time_date(next, due);
	if (cmd_audit(ctx, "doc.add", obj,
		      json_pack("{s:s,s:s,s:s,s:s?,s:b,s:s,s:s?}", "title",
				title, "owner", owner.handle, "review_every",
				every, "url", url, "ack_required", ack_req,
				"next_review", due, "ack_by", ack_by)) < 0)
		goto out;
	subject = xasprintf("You own document %s: %s (next review %s)", obj,
			    title, due);
	if (reg_tell(ctx, owner.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx,
		  "Document %s added: %s, owner %s, reviewed every %s "
		  "(next %s)%s%s%s.",
		  obj, title, owner.handle, every, due,
		  ack_req ? "; everyone must acknowledge it (doc ack)" : "",
		  ack_by ? " by " : "", ack_by ? ack_by : "");
	rc = 0;
out:
	free(title);
	free(subject);
	return rc;
}

static int
doc_reviewed(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	char *every = NULL, *old = NULL, due[16];
	int64_t next;
	int rc = -1;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "DOC", &ref) < 0 ||
	    reg_may_change(ctx, ref.owner_id, ref.obj, "owner") < 0)
		return -1;
	every = db_text(ctx->st, "SELECT review_every FROM docs WHERE id = ?",
			"i", ref.id);
	old = db_text(ctx->st,
		      "SELECT date(next_review_at, 'unixepoch') FROM docs "
		      "WHERE id = ?",
		      "i", ref.id);
	if (every == NULL || old == NULL) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	if (next_review(ctx, every, &next) < 0)
		goto out;
	time_date(next, due);
	if (db_exec(ctx->st,
		    "UPDATE docs SET last_reviewed_at = ?, next_review_at = ? "
		    "WHERE id = ?",
		    "iii", ctx->now, next, ref.id) < 0 ||
	    cmd_audit(ctx, "doc.reviewed", ref.obj,
		      json_pack("{s:[s,s]}", "next_review", old, due)) < 0)
		goto out;
	cmd_reply(ctx, "%s reviewed; next review %s.", ref.obj, due);
	rc = 0;
out:
	free(every);
	free(old);
	return rc;
}

static int
doc_ack(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	char *when;
	int n;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "DOC", &ref) < 0)
		return -1;
	when = db_text(ctx->st,
		       "SELECT date(at, 'unixepoch') FROM doc_acks WHERE "
		       "doc_id = ? AND person_id = ?",
		       "ii", ref.id, ctx->me.id);
	if (when != NULL) {
		n = cmd_error(ctx, "you already acknowledged %s on %s", ref.obj,
			      when);
		free(when);
		return n;
	}
	if (db_exec(ctx->st,
		    "INSERT INTO doc_acks(doc_id, person_id, at) VALUES "
		    "(?,?,?)",
		    "iii", ref.id, ctx->me.id, ctx->now) != 1 ||
	    cmd_audit(ctx, "doc.ack", ref.obj,
		      json_pack("{s:s}", "title", ref.title)) < 0)
		return -1;
	cmd_reply(ctx,
		  "Thank you: your acknowledgement of %s (%s) is "
		  "recorded.",
		  ref.obj, ref.title);
	return 0;
}

#define DOC_COLS                                                               \
	"SELECT d.id, d.title, p.handle, d.review_every, "                     \
	"date(d.next_review_at, 'unixepoch'), d.ack_required, "                \
	"(SELECT COUNT(*) FROM doc_acks k JOIN people q ON q.id = "            \
	"k.person_id WHERE k.doc_id = d.id AND q.active), "                    \
	"(SELECT COUNT(*) FROM people WHERE active), "                         \
	"EXISTS (SELECT 1 FROM doc_acks k WHERE k.doc_id = d.id AND "          \
	"k.person_id = ?1), COALESCE(d.url, ''), "                             \
	"COALESCE(date(d.last_reviewed_at, 'unixepoch'), 'never'), "           \
	"COALESCE(d.ack_due_at, 0) "                                           \
	"FROM docs d JOIN people p ON p.id = d.owner_id "

/* One document line: title, owner, review and acknowledgement status. */
static void
doc_line(struct cmd_ctx *ctx, struct db_stmt *s)
{
	cmd_reply(ctx, "DOC-%lld %s (owner %s; reviewed every %s, next %s",
		  (long long)db_col_int(s, 0), db_col(s, 1), db_col(s, 2),
		  db_col(s, 3), db_col(s, 4));
	if ((int)db_col_int(s, 5))
		cmd_reply(ctx, "; acknowledged %d/%d required, you: %s",
			  (int)db_col_int(s, 6), (int)db_col_int(s, 7),
			  (int)db_col_int(s, 8) ? "acked"
						: "not yet (doc ack)");
	if (db_col_int(s, 11) > 0) {
		struct tm lt;
		char by[16];

		/* the due instant is the start of the day after */
		tz_local(ctx->cfg->org_timezone, db_col_int(s, 11) - 1, &lt);
		strftime(by, sizeof(by), "%Y-%m-%d", &lt);
		cmd_reply(ctx, "; acknowledge by %s", by);
	}
	cmd_reply(ctx, ")");
}

static int
doc_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	s = db_prepare(ctx->st, DOC_COLS "ORDER BY d.id", "i", ctx->me.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (n++)
			cmd_reply(ctx, "\n");
		doc_line(ctx, s);
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No documents yet.");
	return 0;
}

static int
doc_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "DOC", &ref) < 0)
		return -1;
	s = db_prepare(ctx->st, DOC_COLS "WHERE d.id = ?2", "ii", ctx->me.id,
		       ref.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	doc_line(ctx, s);
	cmd_reply(ctx, "\nLink: %s\nLast reviewed: %s.",
		  *db_col(s, 9) ? db_col(s, 9) : "-", db_col(s, 10));
	n = (int)db_col_int(s, 5);
	db_finish(ctx->st, s);
	if (!n ||
	    (ref.owner_id != ctx->me.id && !has_role(&ctx->me, REG_READERS)))
		return 0;
	s = db_prepare(ctx->st,
		       "SELECT handle FROM people p WHERE active AND NOT "
		       "EXISTS (SELECT 1 FROM doc_acks k WHERE k.doc_id = ? "
		       "AND k.person_id = p.id) ORDER BY handle LIMIT 50",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	n = 0;
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%s%s", n++ ? ", " : "\nNot yet acknowledged: ",
			  db_col(s, 0));
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "\nEveryone has acknowledged it.");
	return 0;
}

static const struct cmd_entry doc_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "owner,review_every,url,ack,ack_by",
	.usage = "<title> [owner=@h] review_every=12m [url=https://...] "
		 "[ack=required "
		 "[ack_by=YYYY-MM-DD]]",
	.help = "register a policy or procedure",
	.exec = doc_add,
    },
    {
	.verb = "reviewed",
	.usage = "DOC-n",
	.help = "record a review; moves the next review date (owner or "
		"isms_manager)",
	.exec = doc_reviewed,
    },
    {
	.verb = "ack",
	.flags = CMD_SELF,
	.usage = "DOC-n",
	.help = "acknowledge that you have read a document (once)",
	.exec = doc_ack,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "documents with review dates and acknowledgements",
	.exec = doc_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "DOC-n",
	.help = "a document and who has not acknowledged it yet",
	.exec = doc_show,
    },
    {0},
};

const struct cmd_object doc_object = {
    .name = "doc",
    .help = "policies and procedures: reviews and acknowledgements",
    .commands = doc_commands,
};
