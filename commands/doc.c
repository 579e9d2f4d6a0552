/*
 * Documents (DOC-n): policies and procedures with an owner, a review
 * cycle and, when required, each person's acknowledgement of the version
 * in force; new versions are approved (clause 7.5.3), old ones kept.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/tz.h"
#include "register.h"

#define DOC_URL_MAX  500
#define DOC_NOTE_MAX 500

/*
 * The next review of a retired document: none. The review and
 * acknowledgement nudges select on next_review_at and ack_required, so a
 * retired document is put beyond both rather than marked for each.
 */
#define DOC_NEVER 253402214400LL /* 9999-12-31 */

/* What doc.c needs of a document beyond reg_load. */
struct doc_state {
	int64_t version;
	int64_t retired_at; /* 0 when in force */
	int ack_required;
};

static int
doc_state_load(struct cmd_ctx *ctx, const struct reg_ref *ref,
	       struct doc_state *out)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT version, COALESCE(retired_at, 0), ack_required FROM docs "
	    "WHERE id = ?",
	    "i", ref->id);

	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	out->version = db_col_int(s, 0);
	out->retired_at = db_col_int(s, 1);
	out->ack_required = (int)db_col_int(s, 2);
	db_finish(ctx->st, s);
	return 0;
}

/* Loads positional word 0 as a document still in force. */
static int
doc_in_force(struct cmd_ctx *ctx, struct reg_ref *ref, struct doc_state *st)
{
	char day[16];

	if (reg_arg(ctx, 0, "DOC", ref) < 0 || doc_state_load(ctx, ref, st) < 0)
		return -1;
	if (st->retired_at == 0)
		return 0;
	time_date(st->retired_at, day);
	return cmd_error(ctx, "%s was retired on %s", ref->obj, day);
}

static int
doc_url_check(struct cmd_ctx *ctx, const char *url)
{
	if (url != NULL && strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0)
		return cmd_error(ctx,
				 "url= must start with https:// or http://");
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
	    reg_period_after(ctx, every, ctx->now, &next) < 0 ||
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
	if (doc_url_check(ctx, url) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO docs(title, owner_id, review_every, url, "
		    "ack_required, next_review_at, created_by, created_at, "
		    "ack_due_at) VALUES (?,?,?,?,?,?,?,?,NULLIF(?, 0))",
		    "tittiiiii", title, owner.id, every, url, (int64_t)ack_req,
		    next, ctx->me.id, ctx->now, ack_due) < 0)
		goto out;
	id = db_last_id(ctx->st);
	/* version 1 is in force as registered */
	if (db_exec(ctx->st,
		    "INSERT INTO doc_versions(doc_id, version, url, author_id, "
		    "approved_at) VALUES (?, 1, ?, ?, ?)",
		    "itii", id, url, ctx->me.id, ctx->now) < 0)
		goto out;
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
	struct doc_state ds;
	char *every = NULL, *old = NULL, due[16];
	int64_t next;
	int rc = -1;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (doc_in_force(ctx, &ref, &ds) < 0 ||
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
	if (reg_period_after(ctx, every, ctx->now, &next) < 0)
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
	struct doc_state ds;
	char *when;
	int n;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (doc_in_force(ctx, &ref, &ds) < 0)
		return -1;
	when = db_text(ctx->st,
		       "SELECT date(at, 'unixepoch') FROM doc_acks WHERE "
		       "doc_id = ? AND person_id = ?",
		       "ii", ref.id, ctx->me.id);
	if (when != NULL) {
		n = cmd_error(ctx,
			      "you already acknowledged %s on %s (version "
			      "%lld)",
			      ref.obj, when, (long long)ds.version);
		free(when);
		return n;
	}
	if (db_exec(ctx->st,
		    "INSERT INTO doc_acks(doc_id, person_id, at) VALUES "
		    "(?,?,?)",
		    "iii", ref.id, ctx->me.id, ctx->now) != 1 ||
	    cmd_audit(ctx, "doc.ack", ref.obj,
		      json_pack("{s:s,s:I}", "title", ref.title, "version",
				(json_int_t)ds.version)) < 0)
		return -1;
	cmd_reply(ctx,
		  "Thank you: your acknowledgement of %s (%s, version "
		  "%lld) is recorded.",
		  ref.obj, ref.title, (long long)ds.version);
	return 0;
}

#define DOC_COLS                                                               \
	"SELECT d.id, d.title, p.handle, d.review_every, "                     \
	"date(d.next_review_at, 'unixepoch'), d.ack_required, "                \
	"(SELECT COUNT(*) FROM doc_acks k JOIN people q ON q.id = "            \
	"k.person_id WHERE k.doc_id = d.id AND q.active <> 0), "               \
	"(SELECT COUNT(*) FROM people WHERE active <> 0), "                    \
	"EXISTS (SELECT 1 FROM doc_acks k WHERE k.doc_id = d.id AND "          \
	"k.person_id = ?1), COALESCE(d.url, ''), "                             \
	"COALESCE(date(d.last_reviewed_at, 'unixepoch'), 'never'), "           \
	"COALESCE(d.ack_due_at, 0), d.version, "                               \
	"COALESCE(d.retired_at, 0), COALESCE(d.retired_reason, '') "           \
	"FROM docs d JOIN people p ON p.id = d.owner_id "

/* One document line: title, owner, review and acknowledgement status. */
static void
doc_line(struct cmd_ctx *ctx, struct db_stmt *s)
{
	if (db_col_int(s, 13) > 0) {
		char day[16];

		time_date(db_col_int(s, 13), day);
		cmd_reply(ctx,
			  "DOC-%lld %s (owner %s; version %lld; RETIRED %s: "
			  "%s)",
			  (long long)db_col_int(s, 0), db_col(s, 1),
			  db_col(s, 2), (long long)db_col_int(s, 12), day,
			  db_col(s, 14));
		return;
	}
	cmd_reply(ctx, "DOC-%lld %s (owner %s; reviewed every %s, next %s",
		  (long long)db_col_int(s, 0), db_col(s, 1), db_col(s, 2),
		  db_col(s, 3), db_col(s, 4));
	if (db_col_int(s, 12) > 1)
		cmd_reply(ctx, "; version %lld", (long long)db_col_int(s, 12));
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

/* Every version, newest first, and one waiting for approval (show). */
static int
doc_versions_write(struct cmd_ctx *ctx, const struct reg_ref *ref)
{
	struct db_stmt *s;
	int64_t apr;

	s = db_prepare(ctx->st,
		       "SELECT v.version, date(v.approved_at, 'unixepoch'), "
		       "a.handle, COALESCE(p.handle, ''), "
		       "COALESCE(v.approval_id, 0), COALESCE(v.url, ''), "
		       "COALESCE(v.note, '') FROM doc_versions v JOIN people a "
		       "ON a.id = v.author_id LEFT JOIN people p ON p.id = "
		       "v.approver_id WHERE v.doc_id = ? ORDER BY v.version "
		       "DESC",
		       "i", ref->id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "\nVersions:");
	while (db_step(s) == DB_ROW) {
		cmd_reply(ctx, "\n  v%lld %s ", (long long)db_col_int(s, 0),
			  db_col(s, 1));
		if (db_col_int(s, 4) > 0)
			cmd_reply(ctx, "by %s, approved by %s (APR-%lld)",
				  db_col(s, 2), db_col(s, 3),
				  (long long)db_col_int(s, 4));
		else
			cmd_reply(ctx, "registered by %s", db_col(s, 2));
		if (*db_col(s, 5))
			cmd_reply(ctx, ": %s", db_col(s, 5));
		if (*db_col(s, 6))
			cmd_reply(ctx, " (%s)", db_col(s, 6));
	}
	db_finish(ctx->st, s);
	switch (db_int(ctx->st, &apr,
		       "SELECT id FROM approvals WHERE kind = ? AND object = ? "
		       "AND status = 'pending'",
		       "tt", doc_version_kind.name, ref->obj)) {
	case 1:
		cmd_reply(ctx, "\n  next version waiting for approval APR-%lld",
			  (long long)apr);
		break;
	case 0:
		break;
	default:
		return cmd_error(ctx, "database error");
	}
	return 0;
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
	if (doc_versions_write(ctx, &ref) < 0)
		return -1;
	if (!n ||
	    (ref.owner_id != ctx->me.id && !has_role(&ctx->me, REG_READERS)))
		return 0;
	s = db_prepare(ctx->st,
		       "SELECT handle FROM people p WHERE active <> 0 AND NOT "
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

/*
 * Who approves a new version: a holder of the management role, else an
 * isms_manager; never the author. 1 found, 0 none, -1 error.
 */
static int
version_approver(struct cmd_ctx *ctx, struct person *out)
{
	int64_t id;
	int rc;

	rc = db_int(
	    ctx->st, &id,
	    "SELECT id FROM people WHERE active <> 0 AND (roles & ?) != 0 "
	    "AND id != ? ORDER BY handle LIMIT 1",
	    "ii", (int64_t)ROLE_MANAGEMENT, ctx->me.id);
	if (rc < 0)
		return cmd_error(ctx, "database error");
	if (rc == 0)
		return approval_pick_isms_manager(ctx, ctx->me.id, out);
	return store_person_by_id(ctx->st, id, out) == 1 ? 1 : -1;
}

static int
doc_version(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct doc_state ds;
	struct person approver;
	const char *url = NULL, *note = NULL;
	char *summary;
	int64_t apr;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (doc_in_force(ctx, &ref, &ds) < 0 ||
	    reg_may_change(ctx, ref.owner_id, ref.obj, "owner") < 0 ||
	    reg_key_text(ctx, "url", DOC_URL_MAX, 1, &url) < 0 ||
	    doc_url_check(ctx, url) < 0 ||
	    reg_key_text(ctx, "note", DOC_NOTE_MAX, 0, &note) < 0)
		return -1;
	switch (db_int(ctx->st, &apr,
		       "SELECT id FROM approvals WHERE kind = ? AND object = ? "
		       "AND status = 'pending'",
		       "tt", doc_version_kind.name, ref.obj)) {
	case 1:
		return cmd_error(ctx,
				 "a new version of %s is already waiting for "
				 "approval (APR-%lld)",
				 ref.obj, (long long)apr);
	case 0:
		break;
	default:
		return cmd_error(ctx, "database error");
	}
	switch (version_approver(ctx, &approver)) {
	case 1:
		break;
	case 0:
		return cmd_error(ctx,
				 "a new version needs approval by management "
				 "or an isms_manager other than you, and "
				 "there is none in the directory");
	default:
		return -1;
	}
	summary =
	    xasprintf("version %lld of %s \"%s\": %s%s%s%s",
		      (long long)ds.version + 1, ref.obj, ref.title, url,
		      note ? " (" : "", note ? note : "", note ? ")" : "");
	apr = approval_open(ctx, &doc_version_kind, ref.obj, summary, &approver,
			    ROLE_MANAGEMENT | ROLE_ISMS_MANAGER,
			    json_pack("{s:s,s:s?}", "url", url, "note", note));
	free(summary);
	if (apr < 0)
		return -1;
	cmd_reply(ctx,
		  "Version %lld of %s requested as APR-%lld; waiting for %s "
		  "(or another isms_manager or member of management) to "
		  "approve. Version %lld stays in force until then.",
		  (long long)ds.version + 1, ref.obj, (long long)apr,
		  approver.handle, (long long)ds.version);
	return 0;
}

/*
 * A new version approved: it comes into force, the version before is
 * kept, and acknowledgements are asked for again (those of the version
 * before move to doc_ack_history).
 */
static int
doc_version_approved(struct cmd_ctx *ctx, int64_t apr, const char *object,
		     json_t *payload)
{
	const char *url = json_string_value(json_object_get(payload, "url"));
	const char *note = json_string_value(json_object_get(payload, "note"));
	struct reg_ref ref;
	struct doc_state ds;
	int64_t id, author, version, acks = 0;
	struct person who;
	char *subject;
	int rc;

	if (cmd_parse_id(ctx, object, "DOC", &id) < 0 ||
	    reg_load(ctx, "DOC", id, &ref) < 0 ||
	    doc_state_load(ctx, &ref, &ds) < 0)
		return -1;
	if (ds.retired_at != 0)
		return cmd_error(ctx, "%s was retired meanwhile", ref.obj);
	if (db_int(ctx->st, &author,
		   "SELECT requester_id FROM approvals WHERE id = ?", "i",
		   apr) != 1 ||
	    store_person_by_id(ctx->st, author, &who) != 1)
		return cmd_error(ctx, "database error");
	version = ds.version + 1;
	if (ds.ack_required &&
	    (db_int(ctx->st, &acks,
		    "SELECT COUNT(*) FROM doc_acks WHERE doc_id = ?", "i",
		    id) != 1 ||
	     db_exec(ctx->st,
		     "INSERT INTO doc_ack_history(doc_id, version, person_id, "
		     "at) SELECT doc_id, ?, person_id, at FROM doc_acks WHERE "
		     "doc_id = ?",
		     "ii", ds.version, id) < 0 ||
	     db_exec(ctx->st, "DELETE FROM doc_acks WHERE doc_id = ?", "i",
		     id) < 0))
		return -1;
	/* an acknowledgement date already passed was for the old version */
	if (db_exec(ctx->st,
		    "INSERT INTO doc_versions(doc_id, version, url, note, "
		    "author_id, approver_id, approval_id, approved_at) VALUES "
		    "(?,?,?,?,?,?,?,?)",
		    "iittiiii", id, version, url, note, author, ctx->me.id, apr,
		    ctx->now) < 0 ||
	    db_exec(ctx->st,
		    "UPDATE docs SET version = ?, url = ?, ack_due_at = CASE "
		    "WHEN ack_due_at > ? THEN ack_due_at END WHERE id = ?",
		    "itii", version, url, ctx->now, id) < 0 ||
	    cmd_audit(ctx, "doc.version", ref.obj,
		      json_pack("{s:I,s:s?,s:s?,s:s,s:I,s:I}", "version",
				(json_int_t)version, "url", url, "note", note,
				"author", who.handle, "approval",
				(json_int_t)apr, "acks_reset",
				(json_int_t)acks)) < 0)
		return -1;
	/* requester and approver hear of the decision; the owner too */
	if (ref.owner_id == author)
		return 0;
	subject = xasprintf("Version %lld of your document %s is in force: %s",
			    (long long)version, ref.obj, url ? url : "");
	rc = reg_tell(ctx, ref.owner_id, subject, subject);
	free(subject);
	return rc;
}

const struct approval_kind doc_version_kind = {
    .name = "doc.version", .approved = doc_version_approved};

/* A new version waiting for approval goes with the document. */
static int
doc_cancel_pending(struct cmd_ctx *ctx, const struct reg_ref *ref)
{
	char apr[32], *subject;
	int64_t id, approver;
	int rc;

	rc = db_int(ctx->st, &id,
		    "SELECT id FROM approvals WHERE kind = ? AND object = ? "
		    "AND status = 'pending'",
		    "tt", doc_version_kind.name, ref->obj);
	if (rc <= 0)
		return rc < 0 ? cmd_error(ctx, "database error") : 0;
	reg_obj(apr, "APR", id);
	if (db_exec(ctx->st,
		    "UPDATE approvals SET status = 'cancelled', decided_at = "
		    "?, decided_by = ?, decided_via = ?, comment = 'the "
		    "document was retired' WHERE id = ?",
		    "iiti", ctx->now, ctx->me.id, ctx->rq->via, id) < 0 ||
	    db_int(ctx->st, &approver,
		   "SELECT approver_id FROM approvals WHERE id = ?", "i",
		   id) != 1 ||
	    cmd_audit(ctx, "approval.cancel", apr,
		      json_pack("{s:s,s:s}", "object", ref->obj, "reason",
				"the document was retired")) < 0)
		return -1;
	subject = xasprintf("%s cancelled: %s was retired", apr, ref->obj);
	rc = reg_tell(ctx, approver, subject, subject);
	free(subject);
	return rc;
}

static int
doc_retire(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct doc_state ds;
	char *reason, *subject = NULL;
	int rc = -1;

	if (ctx->cl->npos < 1)
		return reg_usage(ctx);
	if (doc_in_force(ctx, &ref, &ds) < 0)
		return -1;
	reason = reg_text(ctx, 1, REG_TEXT_MAX, "a reason");
	if (reason == NULL)
		return -1;
	if (db_exec(ctx->st,
		    "UPDATE docs SET retired_at = ?, retired_reason = ?, "
		    "ack_required = 0, next_review_at = ? WHERE id = ?",
		    "itii", ctx->now, reason, (int64_t)DOC_NEVER, ref.id) < 0 ||
	    cmd_audit(ctx, "doc.retire", ref.obj,
		      json_pack("{s:s,s:I,s:b}", "reason", reason, "version",
				(json_int_t)ds.version, "ack_required",
				ds.ack_required)) < 0 ||
	    doc_cancel_pending(ctx, &ref) < 0)
		goto out;
	subject = xasprintf("Your document %s is retired: %s", ref.obj, reason);
	if (reg_tell(ctx, ref.owner_id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx,
		  "%s (%s) is retired: %s. It is no longer reviewed or "
		  "acknowledged; its versions are kept.",
		  ref.obj, ref.title, reason);
	rc = 0;
out:
	free(reason);
	free(subject);
	return rc;
}

static int
doc_update(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct doc_state ds;
	struct person owner, old_owner;
	const char *title = NULL, *every = NULL;
	char *old_every = NULL, *subject = NULL, due[16];
	json_t *changes = NULL;
	int64_t next = 0;
	int rc = -1, given;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (doc_in_force(ctx, &ref, &ds) < 0 ||
	    reg_may_change(ctx, ref.owner_id, ref.obj, "owner") < 0)
		return -1;
	given = reg_key_person(ctx, "owner", &owner);
	if (given < 0 ||
	    reg_key_text(ctx, "title", REG_NAME_MAX, 0, &title) < 0 ||
	    reg_key_text(ctx, "review_every", 32, 0, &every) < 0 ||
	    (every != NULL &&
	     reg_period_after(ctx, every, ctx->now, &next) < 0))
		return -1;
	if (!given && title == NULL && every == NULL)
		return cmd_error(ctx,
				 "nothing to change (usage: doc update %s)",
				 ctx->entry->usage);
	if (store_person_by_id(ctx->st, ref.owner_id, &old_owner) != 1)
		return cmd_error(ctx, "database error");
	if (!given)
		owner = old_owner;
	if (owner.id != old_owner.id) {
		if (!has_role(&ctx->me, ROLE_ISMS_MANAGER))
			return cmd_error(ctx, "not allowed: only an "
					      "isms_manager may give a "
					      "document to another owner");
	}
	old_every = db_text(
	    ctx->st, "SELECT review_every FROM docs WHERE id = ?", "i", ref.id);
	if (old_every == NULL)
		return cmd_error(ctx, "database error");
	changes = json_object();
	reg_diff(changes, "title", ref.title, title ? title : ref.title);
	reg_diff(changes, "owner", old_owner.handle, owner.handle);
	if (every != NULL &&
	    reg_diff(changes, "review_every", old_every, every)) {
		time_date(next, due);
		json_object_set_new(changes, "next_review", json_string(due));
	}
	if (json_object_size(changes) == 0) {
		rc = cmd_error(ctx, "%s already has these values", ref.obj);
		goto out;
	}
	if (db_exec(ctx->st,
		    "UPDATE docs SET title = COALESCE(?, title), owner_id = ?, "
		    "review_every = COALESCE(?, review_every), next_review_at "
		    "= CASE WHEN ? > 0 THEN ? ELSE next_review_at END WHERE "
		    "id = ?",
		    "titiii", title, owner.id, every, next, next, ref.id) < 0)
		goto out;
	rc = cmd_audit(ctx, "doc.update", ref.obj,
		       json_pack("{s:O}", "changes", changes));
	if (rc < 0)
		goto out;
	if (owner.id != old_owner.id) {
		subject = xasprintf("You now own document %s: %s", ref.obj,
				    title ? title : ref.title);
		rc = reg_tell(ctx, owner.id, subject, subject);
		if (rc < 0)
			goto out;
	}
	cmd_reply(ctx, "%s updated: %s, owner %s.", ref.obj,
		  title ? title : ref.title, owner.handle);
out:
	json_decref(changes);
	free(old_every);
	free(subject);
	return rc;
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
	.verb = "version",
	.keys = "url,note",
	.usage = "DOC-n url=https://... [note=...]",
	.help = "a new version, in force once management or an isms_manager "
		"other than you approves; acknowledgements start again (owner "
		"or isms_manager)",
	.exec = doc_version,
    },
    {
	.verb = "update",
	.keys = "owner,title,review_every",
	.usage = "DOC-n [owner=@h] [title=...] [review_every=12m]",
	.help = "change owner (isms_manager), title or review cycle (owner or "
		"isms_manager)",
	.exec = doc_update,
    },
    {
	.verb = "retire",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "DOC-n <reason>",
	.help = "withdraw a document; it is kept with its versions",
	.exec = doc_retire,
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
	.help = "a document, its versions and who has not acknowledged the "
		"version in force",
	.exec = doc_show,
    },
    {0},
};

const struct cmd_object doc_object = {
    .name = "doc",
    .help = "policies and procedures: reviews and acknowledgements",
    .commands = doc_commands,
};
