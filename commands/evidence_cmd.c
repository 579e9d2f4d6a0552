/*
 * Evidence (EV-n): what shows a control, an action, a risk or a supplier
 * at work (a report, a screenshot, a signed record), with an owner who
 * keeps it current and an expiry after which it is stale.
 */
#include "evidence_cmd.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "register.h"
#include "soa.h"

#define DAY	       86400
#define EV_URL_MAX     500
#define EV_REPORT_LIST 10 /* stale items named in the report */
#define EV_SEERS                                                               \
	"evidence is visible to its owner, managers, risk owners, "            \
	"isms_managers and auditors"

/* What an item is for, as people write it: A.5.15, X.1, ACT-3, RSK-1. */
#define EV_REF                                                                 \
	"CASE e.ref_kind WHEN 'control' THEN CASE WHEN (SELECT c.custom FROM " \
	"controls c WHERE c.id = e.ref_id) <> 0 THEN e.ref_id ELSE 'A.' || "   \
	"e.ref_id END WHEN 'action' THEN 'ACT-' || e.ref_id WHEN 'risk' THEN " \
	"'RSK-' || e.ref_id ELSE 'SUP-' || e.ref_id END"

/* Columns of one item; ?1 is now (stale: its expiry day is over). */
#define EV_COLS                                                                \
	"SELECT e.id, e.title, " EV_REF ", COALESCE(e.url, ''), p.handle, "    \
	"COALESCE(date(e.expires_at, 'unixepoch'), ''), "                      \
	"e.expires_at IS NOT NULL AND e.expires_at + 86400 <= ?1, "            \
	"e.ref_kind FROM evidence_items e JOIN people p ON p.id = e.owner_id "

/* One item as a line, from the columns of EV_COLS. */
static void
ev_line(struct cmd_ctx *ctx, struct db_stmt *s)
{
	const char *expires = db_col(s, 5);

	cmd_reply(ctx, "EV-%lld %s%s for %s (owner %s; ",
		  (long long)db_col_int(s, 0), db_col_int(s, 6) ? "STALE " : "",
		  db_col(s, 1), db_col(s, 2), db_col(s, 4));
	if (*expires == '\0')
		cmd_reply(ctx, "no expiry)");
	else
		cmd_reply(ctx, "%s %s)",
			  db_col_int(s, 6) ? "expired" : "expires", expires);
	if (*db_col(s, 3))
		cmd_reply(ctx, " %s", db_col(s, 3));
}

/*
 * The record key=value names: its kind, stored id and owner into the
 * out parameters, obj ("A.5.15"). 0, or -1 with an error reply.
 */
static int
ev_target(struct cmd_ctx *ctx, const char **kind, char ref_id[24],
	  int64_t *owner_id, char obj[32])
{
	static const struct {
		const char *key, *kind, *prefix;
	} refs[] = {
	    {"control", "control", NULL},
	    {"action", "action", "ACT"},
	    {"risk", "risk", "RSK"},
	    {"supplier", "supplier", "SUP"},
	};
	const char *v = NULL;
	struct reg_ref ref;
	int64_t id;
	size_t i, k = 0, given = 0;

	for (i = 0; i < ARRAY_LEN(refs); i++)
		if (cmd_key(ctx, refs[i].key) != NULL) {
			v = cmd_key(ctx, refs[i].key);
			k = i;
			given++;
		}
	if (given != 1)
		return cmd_error(ctx,
				 "evidence is for one control or record: give "
				 "exactly one of control=5.15, action=ACT-n, "
				 "risk=RSK-n or supplier=SUP-n");
	*kind = refs[k].kind;
	if (refs[k].prefix == NULL) {
		char cid[16];
		int custom, rc = control_lookup(ctx, v, cid, &custom);

		if (rc < 0)
			return cmd_error(ctx, "database error");
		if (rc == 0)
			return cmd_error(ctx,
					 "no control \"%.20s\" (an Annex A id "
					 "like 5.15 or a custom control's id)",
					 v);
		snprintf(ref_id, 24, "%s", cid);
		control_obj(obj, cid, custom);
		if (db_int(ctx->st, owner_id,
			   "SELECT COALESCE(owner_id, 0) FROM controls WHERE "
			   "id = ?",
			   "t", cid) != 1)
			return cmd_error(ctx, "database error");
		return 0;
	}
	if (cmd_parse_id(ctx, v, refs[k].prefix, &id) < 0 ||
	    reg_load(ctx, refs[k].prefix, id, &ref) < 0)
		return -1;
	snprintf(ref_id, 24, "%lld", (long long)id);
	snprintf(obj, 32, "%s", ref.obj);
	*owner_id = ref.owner_id;
	return 0;
}

/* url= when given: http(s) only. 1 given, 0 absent, -1 with a reply. */
static int
ev_url(struct cmd_ctx *ctx, const char **url)
{
	int rc = reg_key_text(ctx, "url", EV_URL_MAX, 0, url);

	if (rc == 1 && strncmp(*url, "https://", 8) != 0 &&
	    strncmp(*url, "http://", 7) != 0)
		return cmd_error(ctx,
				 "url= must start with https:// or http://");
	return rc;
}

static int
evidence_add(struct cmd_ctx *ctx)
{
	struct person owner;
	const char *kind = NULL, *url = NULL;
	char ref_id[24], obj[32], ev[32], date[16] = "", *title,
					  *subject = NULL;
	int64_t ref_owner = 0, expires = 0, id;
	int rc = -1;

	title = reg_text(ctx, 0, REG_NAME_MAX, "a title");
	if (title == NULL)
		return -1;
	if (ev_target(ctx, &kind, ref_id, &ref_owner, obj) < 0 ||
	    reg_key_person(ctx, "owner", &owner) < 0 || ev_url(ctx, &url) < 0 ||
	    reg_key_plan_date(ctx, "expires", 0, &expires) < 0)
		goto out;
	/* the owner of what it shows keeps its evidence, as do isms_managers */
	if (ref_owner != ctx->me.id && !has_role(&ctx->me, ROLE_ISMS_MANAGER)) {
		rc = cmd_error(ctx,
			       "not allowed: only the owner of %s or an "
			       "isms_manager may add evidence for it",
			       obj);
		goto out;
	}
	if (reg_may_own(ctx, &owner, "evidence") < 0)
		goto out;
	if (expires)
		time_date(expires, date);
	if (db_exec(ctx->st,
		    "INSERT INTO evidence_items(title, ref_kind, ref_id, url, "
		    "owner_id, expires_at, created_by, created_at) VALUES "
		    "(?,?,?,?,?,NULLIF(?, 0),?,?)",
		    "ttttiiii", title, kind, ref_id, url, owner.id, expires,
		    ctx->me.id, ctx->now) != 1)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(ev, "EV", id);
	if (cmd_audit(ctx, "evidence.add", ev,
		      json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "title", title,
				"for", obj, "owner", owner.handle, "url", url,
				"expires", expires ? date : NULL)) < 0)
		goto out;
	subject =
	    xasprintf("Evidence %s for %s is yours to keep current: "
		      "%s%s%s",
		      ev, obj, title, expires ? "; it expires on " : "", date);
	if (reg_tell(ctx, owner.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "Evidence %s added for %s: %s, owner %s, %s%s.", ev, obj,
		  title, owner.handle, expires ? "expires " : "no expiry",
		  date);
	rc = 0;
out:
	free(title);
	free(subject);
	return rc;
}

static int
evidence_renew(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	const char *url = NULL;
	char *old_url = NULL, *old_date = NULL, date[16] = "", *subject = NULL;
	json_t *changes = json_object();
	int64_t expires = 0, old_expires = 0;
	int has_url, has_exp, rc = -1;

	if (ctx->cl->npos != 1 || ctx->cl->nkv == 0) {
		rc = reg_usage(ctx);
		goto out;
	}
	if (reg_arg(ctx, 0, "EV", &ref) < 0 ||
	    reg_may_change(ctx, ref.owner_id, ref.obj, "owner") < 0)
		goto out;
	has_url = ev_url(ctx, &url);
	has_exp =
	    has_url < 0 ? -1 : reg_key_plan_date(ctx, "expires", 0, &expires);
	if (has_exp < 0)
		goto out;
	old_url = db_text(ctx->st,
			  "SELECT COALESCE(url, '') FROM evidence_items WHERE "
			  "id = ?",
			  "i", ref.id);
	old_date = db_text(ctx->st,
			   "SELECT COALESCE(date(expires_at, 'unixepoch'), '') "
			   "FROM evidence_items WHERE id = ?",
			   "i", ref.id);
	if (old_url == NULL || old_date == NULL ||
	    db_int(ctx->st, &old_expires,
		   "SELECT COALESCE(expires_at, 0) FROM evidence_items WHERE "
		   "id = ?",
		   "i", ref.id) != 1) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	/* stale evidence is renewed by a new expiry, not by a link alone */
	if (!has_exp && old_expires && reg_date_past(ctx, old_expires)) {
		rc = cmd_error(ctx,
			       "%s expired on %s: renew it with a new "
			       "expires=YYYY-MM-DD",
			       ref.obj, old_date);
		goto out;
	}
	if (!has_url)
		url = *old_url ? old_url : NULL;
	if (has_exp)
		time_date(expires, date);
	else
		expires = old_expires;
	reg_diff(changes, "url", old_url, url);
	reg_diff(changes, "expires", old_date, has_exp ? date : old_date);
	if (json_object_size(changes) == 0) {
		rc = cmd_error(ctx, "%s already has these values", ref.obj);
		goto out;
	}
	if (db_exec(ctx->st,
		    "UPDATE evidence_items SET url = ?, expires_at = NULLIF(?, "
		    "0), renewed_by = ?, renewed_at = ? WHERE id = ?",
		    "tiiii", url, expires, ctx->me.id, ctx->now, ref.id) != 1 ||
	    cmd_audit(ctx, "evidence.renew", ref.obj,
		      json_pack("{s:O}", "changes", changes)) < 0)
		goto out;
	subject = xasprintf("Evidence %s (%s) was renewed by %s%s%s", ref.obj,
			    ref.title, ctx->me.handle,
			    has_exp ? "; it now expires on " : "", date);
	if (reg_tell(ctx, ref.owner_id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "%s renewed: %s", ref.obj, ref.title);
	if (expires) {
		time_date(expires, date);
		cmd_reply(ctx, ", expires %s", date);
	}
	cmd_reply(ctx, ".");
	rc = 0;
out:
	json_decref(changes);
	free(old_url);
	free(old_date);
	free(subject);
	return rc;
}

static int
evidence_list(struct cmd_ctx *ctx)
{
	const char *control = cmd_key(ctx, "control");
	struct db_stmt *s;
	char cid[16] = "";
	int custom, stale = 0, n = 0, nstale = 0, rc;
	int readers = has_role(&ctx->me, REG_READERS);

	if (ctx->cl->npos > 1 ||
	    (ctx->cl->npos == 1 && strcasecmp(ctx->cl->pos[0], "stale") != 0))
		return reg_usage(ctx);
	stale = ctx->cl->npos == 1;
	if (control != NULL) {
		rc = control_lookup(ctx, control, cid, &custom);
		if (rc <= 0)
			return rc < 0 ? cmd_error(ctx, "database error")
				      : cmd_error(ctx,
						  "no control \"%.20s\" (an "
						  "Annex A id like 5.15 or a "
						  "custom control's id)",
						  control);
	}
	/* the register's readers see all; anyone else what they own */
	s = db_prepare(ctx->st,
		       EV_COLS "WHERE (?2 = '' OR (e.ref_kind = 'control' AND "
			       "e.ref_id = ?2)) AND (?3 = 0 OR e.owner_id = "
			       "?4) AND (?5 = 0 OR (e.expires_at IS NOT NULL "
			       "AND e.expires_at + 86400 <= ?1)) ORDER BY e.id",
		       "itiii", ctx->now, cid, (int64_t)!readers, ctx->me.id,
		       (int64_t)stale);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (n++)
			cmd_reply(ctx, "\n");
		ev_line(ctx, s);
		nstale += (int)db_col_int(s, 6);
	}
	db_finish(ctx->st, s);
	if (n == 0) {
		cmd_reply(ctx, "No evidence%s%s%s.", stale ? " is stale" : "",
			  *cid ? " for control " : "", cid);
		return 0;
	}
	if (readers)
		ctx->rp->confidential = 1;
	cmd_reply(ctx, "\n%d item%s, %d stale.", n, n == 1 ? "" : "s", nstale);
	return 0;
}

static int
evidence_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct db_stmt *s;
	char *made = NULL, *renewed = NULL;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg_seen(ctx, 0, "EV", REG_READERS, EV_SEERS, &ref) < 0)
		return -1;
	s = db_prepare(ctx->st, EV_COLS "WHERE e.id = ?2", "ii", ctx->now,
		       ref.id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	ev_line(ctx, s);
	if (strcmp(db_col(s, 7), "control") != 0)
		ctx->rp->confidential = 1;
	db_finish(ctx->st, s);
	made = db_text(ctx->st,
		       "SELECT date(e.created_at, 'unixepoch') || ' by ' || "
		       "p.handle FROM evidence_items e JOIN people p ON p.id = "
		       "e.created_by WHERE e.id = ?",
		       "i", ref.id);
	renewed = db_text(ctx->st,
			  "SELECT date(e.renewed_at, 'unixepoch') || ' by ' || "
			  "p.handle FROM evidence_items e JOIN people p ON "
			  "p.id = e.renewed_by WHERE e.id = ?",
			  "i", ref.id);
	cmd_reply(ctx, "\nAdded: %s. Last renewed: %s.", made ? made : "-",
		  renewed ? renewed : "never");
	free(made);
	free(renewed);
	return 0;
}

int
evidence_control_write(struct cmd_ctx *ctx, const char *id, int full)
{
	struct db_stmt *s =
	    db_prepare(ctx->st,
		       EV_COLS "WHERE e.ref_kind = 'control' AND e.ref_id = "
			       "?2 ORDER BY e.id",
		       "it", ctx->now, id);
	int n = 0, nstale = 0;

	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (full) {
			cmd_reply(ctx, "\n  ");
			ev_line(ctx, s);
		}
		n++;
		nstale += (int)db_col_int(s, 6);
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " none");
	else if (!full)
		cmd_reply(ctx, " %d item%s, %d stale", n, n == 1 ? "" : "s",
			  nstale);
	else if (nstale > 0)
		cmd_reply(ctx,
			  "\n  %d of %d stale: renew with evidence renew "
			  "EV-n expires=YYYY-MM-DD",
			  nstale, n);
	return n;
}

int
evidence_report_write(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	struct buf which = {0};
	int64_t total = 0;
	int n = 0;

	if (db_int(ctx->st, &total, "SELECT COUNT(*) FROM evidence_items",
		   NULL) != 1)
		return cmd_error(ctx, "database error");
	s = db_prepare(ctx->st,
		       EV_COLS "WHERE e.expires_at + 86400 <= ?1 ORDER BY "
			       "e.expires_at, e.id",
		       "i", ctx->now);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (n < EV_REPORT_LIST)
			buf_printf(&which, "%sEV-%lld %s (%s, expired %s)",
				   n ? ", " : "", (long long)db_col_int(s, 0),
				   db_col(s, 2), db_col(s, 4), db_col(s, 5));
		n++;
	}
	db_finish(ctx->st, s);
	if (n > EV_REPORT_LIST)
		buf_printf(&which, " and %d more (evidence list stale)",
			   n - EV_REPORT_LIST);
	cmd_reply(ctx, "Evidence: %lld item%s, %d stale%s%s.", (long long)total,
		  total == 1 ? "" : "s", n, n ? ": " : "", buf_str(&which));
	buf_free(&which);
	return 0;
}

/*
 * One item's nudge: 30 days before its expiry once, then from the day
 * after it (stale) every [nudge] repeat_days until it is renewed; a
 * renewal moves the expiry and so starts afresh. An owner who has left
 * is replaced by their manager or an isms_manager. 0 or -1.
 */
static int
expiry_nudge(struct cmd_ctx *ctx, struct tz_work *w, int64_t id,
	     int64_t owner_id, int64_t expires)
{
	struct nudge nd = {.kind = "evidence.expiry"};
	struct person owner, to;
	char obj[32], date[16], cycle[32], period[64],
	    *what = NULL, *subject = NULL, *body = NULL;
	int64_t stale_at = expires + DAY;
	int rc;

	reg_obj(obj, "EV", id);
	nd.object = obj;
	time_date(expires, date);
	if (ctx->now >= stale_at) {
		snprintf(cycle, sizeof(cycle), "expired:%s", date);
		nudge_repeat(ctx, &nd, cycle, stale_at, period, sizeof(period));
	} else {
		snprintf(period, sizeof(period), "%s:ahead", date);
		nd.period = period;
	}
	if (store_person_by_id(ctx->st, owner_id, &owner) != 1)
		return -1;
	to = owner;
	if (!owner.active) {
		rc = nudge_escalation_target(ctx, &owner, 0, 0, &to);
		if (rc <= 0)
			return rc;
	}
	rc = nudge_ready(ctx, w, &nd, &to);
	if (rc <= 0)
		return rc;
	what = db_text(ctx->st,
		       "SELECT e.title || ' for ' || " EV_REF
		       " || COALESCE(' (' || e.url || ')', '') FROM "
		       "evidence_items e WHERE e.id = ?",
		       "i", id);
	if (what == NULL)
		return -1;
	if (ctx->now >= stale_at)
		subject = xasprintf("Evidence %s is stale (expired %s): %s",
				    obj, date, what);
	else
		subject =
		    xasprintf("Evidence %s expires on %s: %s", obj, date, what);
	body = xasprintf("%s\n\n%sAn auditor takes only current evidence. "
			 "Collect it again and record that with /isms "
			 "evidence renew %s expires=YYYY-MM-DD [url=...]",
			 subject,
			 owner.active ? ""
				      : "Its owner has left; it is yours to "
					"see to or to hand on. ",
			 obj);
	rc = nudge_send(ctx, w, &nd, &to, subject, body, NULL);
	free(what);
	free(subject);
	free(body);
	return rc < 0 ? -1 : 0;
}

int
evidence_job_expiry(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT id, owner_id, expires_at FROM "
				  "evidence_items WHERE expires_at IS NOT NULL "
				  "AND expires_at + 86400 <= ?1 + ?2 ORDER BY "
				  "expires_at, id",
				  "ii", ctx->now,
				  (int64_t)EVIDENCE_AHEAD_DAYS * DAY),
		       3, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = expiry_nudge(ctx, w, rows[3 * i], rows[3 * i + 1],
				  rows[3 * i + 2]);
	free(rows);
	return rc;
}

static const struct cmd_entry evidence_commands[] = {
    {
	.verb = "add",
	.keys = "control,action,risk,supplier,url,owner,expires",
	.usage = "<title> control=5.15|action=ACT-n|risk=RSK-n|supplier=SUP-n "
		 "[url=https://...] [owner=@h] [expires=YYYY-MM-DD]",
	.help = "record evidence for a control or a record (its owner or an "
		"isms_manager)",
	.exec = evidence_add,
    },
    {
	.verb = "renew",
	.keys = "url,expires",
	.usage = "EV-n [url=https://...] [expires=YYYY-MM-DD]",
	.help = "evidence collected again: a new link or expiry (owner or "
		"isms_manager)",
	.exec = evidence_renew,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.keys = "control",
	.usage = "[control=5.15] [stale]",
	.help = "evidence with its expiry; stale: expired only",
	.exec = evidence_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "EV-n",
	.help = "one piece of evidence",
	.exec = evidence_show,
    },
    {0},
};

const struct cmd_object evidence_object = {
    .name = "evidence",
    .help = "evidence for controls and records, with expiry (EV-n)",
    .commands = evidence_commands,
};
