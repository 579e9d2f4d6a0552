/*
 * Training and competence (TRN-n, ISO/IEC 27001 clause 7.2): courses people
 * completed, the courses [training] required names per role, and nudges
 * to whoever misses one. A completed awareness quiz counts as an
 * "Awareness quiz" record for a year (the training_records view).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "register.h"
#include "training.h"

#define DAY 86400

#define TRAINING_SEERS                                                         \
	"training records are visible to the person, their manager, "          \
	"isms_managers and auditors"

/* A record counts on ?3 (now) unless its expiry day is over. */
#define TRAINING_VALID "(r.expires_at IS NULL OR r.expires_at + 86400 > ?3)"

/* Called for each required course a person lacks. */
typedef int (*missing_fn)(struct cmd_ctx *ctx, const struct person *p,
			  const char *role, const char *course, int64_t expired,
			  void *arg);

/* The sender may see p's records: themselves, their manager, readers. */
static int
training_may_see(const struct cmd_ctx *ctx, const struct person *p)
{
	return p->id == ctx->me.id || p->manager_id == ctx->me.id ||
	       has_role(&ctx->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR);
}

/* p holds role (staff: everyone). */
static int
required_of(const struct person *p, const char *role)
{
	enum role r;

	if (role_parse(role, &r) < 0)
		return 0;
	/* staff is everyone, whatever the roles column says */
	return r == ROLE_STAFF || has_role(p, r);
}

/* course was already required of p by an entry of list before upto. */
static int
seen_before(const struct person *p, const char *list, const char *upto,
	    const char *course)
{
	char role[32], c[CONFIG_COURSE_MAX + 1];
	const char *cur = list;

	while (cur < upto &&
	       config_training_next(&cur, role, sizeof(role), c, sizeof(c)) > 0)
		if (required_of(p, role) && strcasecmp(c, course) == 0)
			return 1;
	return 0;
}

/*
 * Calls fn for each course [training] required names for a role of p
 * that p lacks: none on record, or every record expired (expired: the
 * latest expiry day, else 0). Returns how many, or -1.
 */
static int
training_missing(struct cmd_ctx *ctx, const struct person *p, missing_fn fn,
		 void *arg)
{
	const char *list = ctx->cfg->training_required, *cur = list, *at;
	char role[32], course[CONFIG_COURSE_MAX + 1];
	int n = 0;

	if (list == NULL)
		return 0;
	for (;;) {
		int64_t valid, expired;

		at = cur;
		if (config_training_next(&cur, role, sizeof(role), course,
					 sizeof(course)) <= 0)
			break;
		if (!required_of(p, role) || seen_before(p, list, at, course))
			continue;
		if (db_int(ctx->st, &valid,
			   "SELECT COUNT(*) FROM training_records r WHERE "
			   "r.person_id = ?1 AND r.course = ?2 COLLATE NOCASE "
			   "AND " TRAINING_VALID,
			   "iti", p->id, course, ctx->now) != 1 ||
		    db_int(
			ctx->st, &expired,
			"SELECT COALESCE(MAX(expires_at), 0) FROM "
			"training_records WHERE person_id = ? AND course = ? "
			"COLLATE NOCASE",
			"it", p->id, course) != 1)
			return cmd_error(ctx, "database error");
		if (valid > 0)
			continue;
		n++;
		if (fn != NULL && fn(ctx, p, role, course, expired, arg) < 0)
			return -1;
	}
	return n;
}

/* The active people the sender may see, by handle: a new array. */
static int
visible_people(struct cmd_ctx *ctx, int64_t **ids, size_t *n)
{
	int all = has_role(&ctx->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR);

	if (nudge_rows(
		ctx->st,
		db_prepare(
		    ctx->st,
		    "SELECT id FROM people WHERE active <> 0 AND (?1 <> 0 "
		    "OR id = ?2 OR manager_id = ?2) ORDER BY "
		    "handle",
		    "ii", (int64_t)all, ctx->me.id),
		1, ids, n) < 0)
		return cmd_error(ctx, "database error");
	return 0;
}

static int
training_record(struct cmd_ctx *ctx)
{
	struct person who;
	char obj[32], done[16], until[16], *course = NULL, *subject = NULL;
	int64_t date, expires = 0, id;
	int rc = -1, has_expiry;

	if (ctx->cl->npos < 2)
		return reg_usage(ctx);
	if (cmd_person(ctx, ctx->cl->pos[0], &who) < 0)
		return -1;
	if (!who.active)
		return cmd_error(ctx,
				 "%s is no longer active: a leaver gets no "
				 "training records",
				 who.handle);
	/* evidence of competence comes from someone accountable for it */
	if (!has_role(&ctx->me, ROLE_ISMS_MANAGER) &&
	    (who.manager_id == 0 || who.manager_id != ctx->me.id))
		return cmd_error(ctx,
				 "not allowed: only %s's manager or an "
				 "isms_manager may record their training",
				 who.handle);
	course = reg_text(ctx, 1, REG_NAME_MAX, "a course");
	if (course == NULL)
		return -1;
	if (reg_key_date(ctx, "date", 1, &date) < 0)
		goto out;
	has_expiry = reg_key_date(ctx, "expires", 0, &expires);
	if (has_expiry < 0)
		goto out;
	if (date > ctx->now) {
		rc = cmd_error(ctx,
			       "date=%s is in the future: record a course "
			       "once it is completed",
			       cmd_key(ctx, "date"));
		goto out;
	}
	if (has_expiry && expires <= date) {
		rc = cmd_error(ctx, "expires=%s must be after date=%s",
			       cmd_key(ctx, "expires"), cmd_key(ctx, "date"));
		goto out;
	}
	if (has_expiry && reg_date_past(ctx, expires)) {
		rc = cmd_error(ctx,
			       "expires=%s is in the past: an expired course "
			       "does not count; record the renewal instead",
			       cmd_key(ctx, "expires"));
		goto out;
	}
	if (db_exec(ctx->st,
		    "INSERT INTO training(person_id, course, completed_at, "
		    "expires_at, recorded_by, recorded_at) VALUES "
		    "(?,?,?,NULLIF(?, 0),?,?)",
		    "itiiii", who.id, course, date, expires, ctx->me.id,
		    ctx->now) < 0)
		goto out;
	id = db_last_id(ctx->st);
	reg_obj(obj, "TRN", id);
	time_date(date, done);
	cmd_date(expires, until);
	if (cmd_audit(ctx, "training.record", obj,
		      json_pack("{s:s,s:s,s:s,s:s?}", "person", who.handle,
				"course", course, "date", done, "expires",
				has_expiry ? until : NULL)) < 0)
		goto out;
	subject = xasprintf(
	    "Your training is on record: %s %s, completed %s%s%s", obj, course,
	    done, has_expiry ? ", valid until " : "", has_expiry ? until : "");
	if (reg_tell(ctx, who.id, subject, subject) < 0)
		goto out;
	cmd_reply(ctx, "Training %s recorded: %s completed %s on %s%s%s.", obj,
		  who.handle, course, done, has_expiry ? ", valid until " : "",
		  has_expiry ? until : "");
	rc = 0;
out:
	free(course);
	free(subject);
	return rc;
}

/* One line per record of the statement's rows; returns how many. */
static int
record_lines(struct cmd_ctx *ctx, struct db_stmt *s)
{
	int n = 0;

	while (db_step(s) == DB_ROW) {
		char done[16], until[16];
		int64_t exp = db_col_int(s, 4);

		time_date(db_col_int(s, 3), done);
		cmd_date(exp, until);
		cmd_reply(ctx, "%s%s %s: %s, completed %s", n++ ? "\n" : "",
			  db_col(s, 0), db_col(s, 1), db_col(s, 2), done);
		if (exp > 0)
			cmd_reply(ctx, ", %s %s",
				  exp + DAY <= ctx->now ? "EXPIRED"
							: "valid until",
				  until);
	}
	return n;
}

/* A line per missing course (list overdue). */
static int
missing_line(struct cmd_ctx *ctx, const struct person *p, const char *role,
	     const char *course, int64_t expired, void *arg)
{
	int *n = arg;
	char day[16];

	cmd_reply(ctx, "%s%s (%s): %s ", (*n)++ ? "\n" : "", p->handle, role,
		  course);
	if (expired > 0) {
		time_date(expired, day);
		cmd_reply(ctx, "(expired %s)", day);
	} else {
		cmd_reply(ctx, "(none on record)");
	}
	return 0;
}

static int
list_overdue(struct cmd_ctx *ctx)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	int lines = 0, rc = 0;

	if (str_is_blank(ctx->cfg->training_required)) {
		cmd_reply(ctx, "No courses are required ([training] required "
			       "is empty).");
		return 0;
	}
	if (visible_people(ctx, &ids, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct person p;

		if (store_person_by_id(ctx->st, ids[i], &p) != 1)
			rc = cmd_error(ctx, "database error");
		else if (training_missing(ctx, &p, missing_line, &lines) < 0)
			rc = -1;
	}
	free(ids);
	if (rc == 0 && lines == 0)
		cmd_reply(ctx, "Nobody%s is missing a required course.",
			  has_role(&ctx->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR)
			      ? ""
			      : " you may see");
	return rc;
}

#define RECORD_COLS                                                            \
	"SELECT r.ref, p.handle, r.course, r.completed_at, "                   \
	"COALESCE(r.expires_at, 0) FROM training_records r JOIN people p ON "  \
	"p.id = r.person_id "

static int
training_list(struct cmd_ctx *ctx)
{
	struct person who;
	struct db_stmt *s;
	int all = has_role(&ctx->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR), n;

	if (ctx->cl->npos > 1)
		return reg_usage(ctx);
	ctx->rp->confidential = 1;
	if (ctx->cl->npos == 1 && strcasecmp(ctx->cl->pos[0], "overdue") == 0)
		return list_overdue(ctx);
	if (ctx->cl->npos == 1) {
		if (cmd_person(ctx, ctx->cl->pos[0], &who) < 0)
			return -1;
		if (!training_may_see(ctx, &who))
			return cmd_error(ctx, "not allowed: %s (%s)",
					 who.handle, TRAINING_SEERS);
		s = db_prepare(ctx->st,
			       RECORD_COLS "WHERE r.person_id = ?1 ORDER BY "
					   "r.completed_at, r.ref",
			       "i", who.id);
	} else {
		s = db_prepare(
		    ctx->st,
		    RECORD_COLS
		    "WHERE ?1 <> 0 OR p.id = ?2 OR p.manager_id = ?2 "
		    "ORDER BY p.handle, r.completed_at, r.ref",
		    "ii", (int64_t)all, ctx->me.id);
	}
	if (s == NULL)
		return cmd_error(ctx, "database error");
	n = record_lines(ctx, s);
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No training on record%s.",
			  ctx->cl->npos == 1 ? " for them"
			  : all		     ? ""
					     : " that you may see");
	return 0;
}

/* One nudge per missing course (the job). */
static int
missing_nudge(struct cmd_ctx *ctx, const struct person *p, const char *role,
	      const char *course, int64_t expired, void *arg)
{
	struct tz_work *w = arg;
	struct nudge nd = {.kind = "training.due", .object = course};
	char period[48], day[16], *subject, *body;
	struct person mgr;
	int rc;

	/* windows from the expiry, else from the epoch: a requirement
	 * added to the configuration has no date of its own */
	nudge_repeat(ctx, &nd, "due", expired > 0 ? expired + DAY : 0, period,
		     sizeof(period));
	rc = nudge_ready(ctx, w, &nd, p);
	if (rc != 1)
		return rc;
	if (expired > 0) {
		time_date(expired, day);
		subject = xasprintf("Training due: %s (yours expired %s)",
				    course, day);
	} else {
		subject = xasprintf("Training due: %s", course);
	}
	body = xasprintf(
	    "%s\n\nAs %s you are asked to have completed \"%s\" (ISO/IEC "
	    "27001 competence, clause 7.2). Once you have, ask %s to record "
	    "it: /isms training record @%s %s date=YYYY-MM-DD",
	    subject, role, course,
	    p->manager_id != 0 &&
		    store_person_by_id(ctx->st, p->manager_id, &mgr) == 1
		? mgr.handle
		: "an isms_manager",
	    p->handle, course);
	rc = nudge_send(ctx, w, &nd, p, subject, body, NULL);
	free(subject);
	free(body);
	return rc < 0 ? -1 : 0;
}

int
training_job_due(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (str_is_blank(ctx->cfg->training_required))
		return 0;
	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id FROM people WHERE active <> 0 ORDER "
			   "BY id",
			   NULL),
		1, &ids, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct person p;

		if (store_person_by_id(ctx->st, ids[i], &p) != 1 ||
		    training_missing(ctx, &p, missing_nudge, w) < 0)
			rc = -1;
	}
	free(ids);
	return rc;
}

int
training_report_write(struct cmd_ctx *ctx)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	int64_t behind = 0;
	int k = 0;

	if (str_is_blank(ctx->cfg->training_required)) {
		cmd_reply(ctx, "Training overdue: no courses are required.");
		return 0;
	}
	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id FROM people WHERE active <> 0 ORDER "
			   "BY id",
			   NULL),
		1, &ids, &n) < 0)
		return cmd_error(ctx, "database error");
	for (i = 0; i < n; i++) {
		struct person p;

		k = store_person_by_id(ctx->st, ids[i], &p) == 1
			? training_missing(ctx, &p, NULL, NULL)
			: -1;
		if (k < 0) {
			free(ids);
			return cmd_error(ctx, "database error");
		}
		behind += k > 0;
	}
	free(ids);
	cmd_reply(ctx,
		  "Training overdue: %lld of %zu people missing a required "
		  "course (training list overdue).",
		  (long long)behind, n);
	return 0;
}

static const struct cmd_entry training_commands[] = {
    {
	.verb = "record",
	.keys = "date,expires",
	.usage = "@handle <course> date=YYYY-MM-DD [expires=YYYY-MM-DD]",
	.help = "record a completed course (the person's manager or an "
		"isms_manager)",
	.exec = training_record,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "[@handle|overdue]",
	.help = "training on record, or who misses a required course (your "
		"own; managers their team; isms_managers and auditors all)",
	.exec = training_list,
    },
    {0},
};

const struct cmd_object training_object = {
    .name = "training",
    .help = "training and competence: courses completed, required per role",
    .commands = training_commands,
};
