/*
 * Approval requests (APR-n): opening, deciding (approve / reject from any
 * transport), listing. The first valid decision wins; requester and
 * approver are both told through the outbox.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define APPROVAL_DAYS 3

/*
 * What a decision applies, by the kind stored with the request; adding a
 * kind is adding a line.
 */
static const struct approval_kind *const approval_kinds[] = {
    &incident_close_kind,
    &risk_accept_kind,
    &doc_version_kind,
};

static const struct approval_kind *
kind_find(const char *kind)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(approval_kinds); i++)
		if (strcmp(approval_kinds[i]->name, kind) == 0)
			return approval_kinds[i];
	return NULL;
}

int
approval_pick_isms_manager(struct cmd_ctx *ctx, int64_t skip_id,
			   struct person *out)
{
	int64_t id;
	int rc;

	/* the requester's own manager first, when they are an isms_manager */
	rc = db_int(ctx->st, &id,
		    "SELECT m.id FROM people p JOIN people m ON "
		    "m.id = p.manager_id WHERE p.id = ? AND m.id != ? AND "
		    "m.active <> 0 AND (m.roles & ?) != 0",
		    "iii", ctx->me.id, skip_id, (int64_t)ROLE_ISMS_MANAGER);
	if (rc == 0)
		rc = db_int(ctx->st, &id,
			    "SELECT id FROM people WHERE active <> 0 AND "
			    "(roles & ?) != 0 AND id != ? ORDER BY handle "
			    "LIMIT 1",
			    "ii", (int64_t)ROLE_ISMS_MANAGER, skip_id);
	if (rc != 1)
		return rc < 0 ? cmd_error(ctx, "database error") : 0;
	return store_person_by_id(ctx->st, id, out) == 1 ? 1 : -1;
}

int64_t
approval_open(struct cmd_ctx *ctx, const struct approval_kind *kind,
	      const char *object, const char *summary,
	      const struct person *approver, unsigned any_role, json_t *payload)
{
	char *ptext = NULL, *subject = NULL, *body = NULL, obj[32];
	char deadline[16];
	int64_t id = -1, due = ctx->now + APPROVAL_DAYS * 86400;

	if (approver->id == ctx->me.id) {
		json_decref(payload);
		return cmd_error(ctx, "you cannot approve your own request");
	}
	ptext = json_dumps(payload ? payload : json_object(), JSON_COMPACT);
	if (db_exec(ctx->st,
		    "INSERT INTO approvals(kind, object, summary, payload, "
		    "requester_id, approver_id, any_role, created_at, "
		    "deadline_at) VALUES (?,?,?,?,?,?,?,?,?)",
		    "ttttiiiii", kind->name, object, summary, ptext, ctx->me.id,
		    approver->id, (int64_t)any_role, ctx->now, due) < 0)
		goto out;
	id = db_last_id(ctx->st);
	snprintf(obj, sizeof(obj), "APR-%lld", (long long)id);
	time_date(due, deadline);
	if (cmd_audit(ctx, "approval.request", obj,
		      json_pack("{s:s,s:s,s:s,s:s}", "kind", kind->name,
				"object", object, "approver", approver->handle,
				"summary", summary)) < 0) {
		id = -1;
		goto out;
	}
	subject = xasprintf("Approval needed %s: %s", obj, summary);
	body = xasprintf("%s (%s) asks you to approve: %s\n\n"
			 "Answer by %s: reply \"approve\" (optionally with a "
			 "comment) or \"reject <reason>\", or type /isms "
			 "approve %s or /isms reject %s <reason>.",
			 ctx->me.name, ctx->me.handle, summary, deadline, obj,
			 obj);
	if (cmd_notify(ctx, approver, MSG_APPROVAL, subject, body,
		       json_pack("{s:I,s:s}", "approval", (json_int_t)id,
				 "object", object)) < 0)
		id = -1;
out:
	json_decref(payload);
	free(ptext);
	free(subject);
	free(body);
	return id;
}

struct approval {
	int64_t id;
	char kind[64];
	char object[64];
	char summary[512];
	char status[16];
	int64_t requester_id, approver_id, escalated_to, decided_by;
	unsigned any_role;
	int64_t decided_at;
	json_t *payload;
};

static int
approval_load(struct cmd_ctx *ctx, int64_t id, struct approval *a)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT kind, object, summary, status, requester_id, approver_id, "
	    "COALESCE(escalated_to,0), COALESCE(decided_by,0), any_role, "
	    "COALESCE(decided_at,0), payload FROM approvals WHERE id = ?",
	    "i", id);

	if (s == NULL)
		return cmd_error(ctx, "database error");
	if (db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "no approval request APR-%lld",
				 (long long)id);
	}
	memset(a, 0, sizeof(*a));
	a->id = id;
	snprintf(a->kind, sizeof(a->kind), "%s", db_col(s, 0));
	snprintf(a->object, sizeof(a->object), "%s", db_col(s, 1));
	snprintf(a->summary, sizeof(a->summary), "%s", db_col(s, 2));
	snprintf(a->status, sizeof(a->status), "%s", db_col(s, 3));
	a->requester_id = db_col_int(s, 4);
	a->approver_id = db_col_int(s, 5);
	a->escalated_to = db_col_int(s, 6);
	a->decided_by = db_col_int(s, 7);
	a->any_role = (unsigned)db_col_int(s, 8);
	a->decided_at = db_col_int(s, 9);
	a->payload = json_loads(db_col(s, 10), 0, NULL);
	db_finish(ctx->st, s);
	if (a->payload == NULL)
		a->payload = json_object();
	return 0;
}

/*
 * approval_may_decide as SQL over approvals a, for ?1 the person's id and
 * ?2 their roles.
 */
#define APPROVAL_DECIDER                                                       \
	"a.requester_id != ?1 AND (a.approver_id = ?1 OR a.escalated_to = "    \
	"?1 OR (a.any_role & ?2) != 0)"

int
approval_may_decide(const struct person *p, int64_t requester_id,
		    int64_t approver_id, int64_t escalated_to,
		    unsigned any_role)
{
	if (p->id == requester_id)
		return 0;
	return p->id == approver_id || p->id == escalated_to ||
	       (any_role && has_role(p, any_role));
}

int
approval_pending_for(struct store *st, const struct person *p, int64_t *ids,
		     size_t max)
{
	struct db_stmt *s = db_prepare(
	    st,
	    "SELECT a.id FROM approvals a WHERE a.status = 'pending' "
	    "AND " APPROVAL_DECIDER " ORDER BY a.id LIMIT ?3",
	    "iii", p->id, (int64_t)p->roles, (int64_t)max);
	size_t n = 0;
	int rc = DB_DONE;

	if (s == NULL)
		return -1;
	while (n < max && (rc = db_step(s)) == DB_ROW)
		ids[n++] = db_col_int(s, 0);
	db_finish(st, s);
	return n < max && rc == DB_ERROR ? -1 : (int)n;
}

int
approval_routed_to(struct store *st, int64_t id, const struct person *p)
{
	struct db_stmt *s = db_prepare(
	    st,
	    "SELECT requester_id, approver_id, COALESCE(escalated_to, 0), "
	    "any_role FROM approvals WHERE id = ?",
	    "i", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW)
		rc = approval_may_decide(p, db_col_int(s, 0), db_col_int(s, 1),
					 db_col_int(s, 2),
					 (unsigned)db_col_int(s, 3));
	else
		rc = rc == DB_DONE ? 0 : -1;
	db_finish(st, s);
	return rc;
}

int
approval_deadline_of(struct store *st, int64_t id, int64_t *out)
{
	return db_int(st, out, "SELECT deadline_at FROM approvals WHERE id = ?",
		      "i", id);
}

static int
may_decide(const struct cmd_ctx *ctx, const struct approval *a)
{
	return approval_may_decide(&ctx->me, a->requester_id, a->approver_id,
				   a->escalated_to, a->any_role);
}

static int
approval_decide(struct cmd_ctx *ctx, int approve)
{
	struct approval a = {0};
	const struct approval_kind *k;
	struct person requester, approver;
	char obj[32], *comment = NULL, *subject = NULL, *body = NULL;
	const char *verdict = approve ? "approved" : "rejected";
	int rc = -1, applied = 0;

	if (cmd_pos_id(ctx, 0, "APR", &a.id) < 0 ||
	    approval_load(ctx, a.id, &a) < 0)
		goto out;
	snprintf(obj, sizeof(obj), "APR-%lld", (long long)a.id);
	if (!may_decide(ctx, &a)) {
		rc = cmd_error(
		    ctx, "not allowed: %s is not yours to decide%s", obj,
		    ctx->me.id == a.requester_id ? " (you asked for it)" : "");
		goto out;
	}
	if (strcmp(a.status, "pending") != 0) {
		struct person d;
		char when[16];

		time_date(a.decided_at, when);
		if (store_person_by_id(ctx->st, a.decided_by, &d) != 1)
			snprintf(d.handle, sizeof(d.handle), "someone");
		rc = cmd_error(ctx, "%s was already %s by %s on %s", obj,
			       a.status, d.handle, when);
		goto out;
	}
	comment = cmdline_join(ctx->cl, 1);
	if (!approve && str_is_blank(comment)) {
		rc = cmd_error(ctx,
			       "usage: reject %s <reason> (a reason is "
			       "required)",
			       obj);
		goto out;
	}
	if (str_utf8_chars(comment) > 2000) {
		rc = cmd_error(ctx,
			       "comment too long (at most 2000 characters)");
		goto out;
	}
	k = kind_find(a.kind);
	if (k == NULL) {
		rc = cmd_error(ctx, "%s has an unknown kind %s", obj, a.kind);
		goto out;
	}
	if (db_exec(ctx->st,
		    "UPDATE approvals SET status = ?, decided_at = ?, "
		    "decided_by = ?, decided_via = ?, comment = ? "
		    "WHERE id = ? AND status = 'pending'",
		    "tiitti", verdict, ctx->now, ctx->me.id, ctx->rq->via,
		    *comment ? comment : NULL, a.id) != 1)
		goto out;
	if (approve)
		applied = k->approved(ctx, a.id, a.object, a.payload);
	else if (k->rejected != NULL)
		applied = k->rejected(ctx, a.id, a.object, a.payload);
	if (applied < 0)
		goto out;
	if (cmd_audit(
		ctx, approve ? "approval.approve" : "approval.reject", obj,
		json_pack("{s:s,s:s,s:s?}", "kind", a.kind, "object", a.object,
			  "comment", *comment ? comment : NULL)) < 0)
		goto out;
	if (store_person_by_id(ctx->st, a.requester_id, &requester) != 1 ||
	    store_person_by_id(ctx->st, a.approver_id, &approver) != 1)
		goto out;
	subject = xasprintf("%s %s by %s: %s", obj, verdict, ctx->me.handle,
			    a.summary);
	body = xasprintf("%s %s %s (%s).%s%s", ctx->me.name, verdict, obj,
			 a.summary, *comment ? "\nComment: " : "", comment);
	if (cmd_notify(ctx, &requester, MSG_DECISION, subject, body,
		       json_pack("{s:I,s:s}", "approval", (json_int_t)a.id,
				 "decision", verdict)) < 0)
		goto out;
	if (approver.id != ctx->me.id &&
	    cmd_notify(ctx, &approver, MSG_DECISION, subject, body,
		       json_pack("{s:I,s:s}", "approval", (json_int_t)a.id,
				 "decision", verdict)) < 0)
		goto out;
	cmd_reply(ctx, "%s %s: %s.", obj, verdict, a.summary);
	rc = 0;
out:
	json_decref(a.payload);
	free(comment);
	free(subject);
	free(body);
	return rc;
}

static int
approval_approve(struct cmd_ctx *ctx)
{
	return approval_decide(ctx, 1);
}

static int
approval_reject(struct cmd_ctx *ctx)
{
	return approval_decide(ctx, 0);
}

static int
approval_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos > 0)
		return cmd_error(ctx, "usage: approvals");
	s = db_prepare(
	    ctx->st,
	    "SELECT a.id, a.summary, r.handle, a.deadline_at FROM approvals a "
	    "JOIN people r ON r.id = a.requester_id WHERE a.status = "
	    "'pending' AND " APPROVAL_DECIDER " ORDER BY a.id",
	    "ii", ctx->me.id, (int64_t)ctx->me.roles);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		char due[16];

		time_date(db_col_int(s, 3), due);
		cmd_reply(ctx, "%sAPR-%lld from %s, due %s: %s", n ? "\n" : "",
			  (long long)db_col_int(s, 0), db_col(s, 2), due,
			  db_col(s, 1));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "Nothing is waiting for your approval.");
	else
		ctx->rp->confidential = 1;
	return 0;
}

static const struct cmd_entry approval_commands[] = {
    {
	.verb = "approve",
	.usage = "APR-n [comment]",
	.help = "approve a request routed to you",
	.exec = approval_approve,
    },
    {
	.verb = "reject",
	.usage = "APR-n <reason>",
	.help = "reject a request routed to you",
	.exec = approval_reject,
    },
    {
	.verb = "approvals",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "requests waiting for your decision",
	.exec = approval_list,
    },
    {0},
};

const struct cmd_object approval_object = {
    .name = "approval",
    .help = "decisions on requests routed to you",
    .toplevel = 1,
    .commands = approval_commands,
};
