/*
 * Awareness quiz delivery and scheduled jobs: one question at a time per
 * person, first questions in working time, periodic campaigns, reminders,
 * the last call, closing at the deadline and the managers' results.
 */
#include "quiz_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"

#define DAY 86400
/* managers' results wait at most this long for their working time */
#define QUIZ_RESULTS_DAYS 30

/* ---- one question at a time ---- */

struct qitem {
	int64_t campaign, person, deadline;
	int seq, total;
	char qid[64];
	char token[40];
};

static int
item_load(struct cmd_ctx *ctx, int64_t campaign, int64_t person, int seq,
	  struct qitem *it)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT i.question_id, i.token, c.questions, c.deadline_at FROM "
	    "quiz_items i JOIN quiz_campaigns c ON c.id = i.campaign_id "
	    "WHERE i.campaign_id = ? AND i.person_id = ? AND i.seq = ?",
	    "iii", campaign, person, (int64_t)seq);
	int rc = -1;

	if (s != NULL && db_step(s) == DB_ROW) {
		memset(it, 0, sizeof(*it));
		it->campaign = campaign;
		it->person = person;
		it->seq = seq;
		snprintf(it->qid, sizeof(it->qid), "%s", db_col(s, 0));
		snprintf(it->token, sizeof(it->token), "%s", db_col(s, 1));
		it->total = (int)db_col_int(s, 2);
		it->deadline = db_col_int(s, 3);
		rc = 0;
	}
	db_finish(ctx->st, s);
	return rc;
}

/*
 * Subject, body and payload of a question; reminder 1 adds a nudge line,
 * QUIZ_LAST_CALL says the campaign is about to close.
 */
#define QUIZ_LAST_CALL 2

static void
quiz_message(struct cmd_ctx *ctx, const struct quiz_question *q,
	     const struct qitem *it, int reminder, char **subject, char **body,
	     json_t **payload)
{
	char until[16], cmd[96], label[32];
	struct buf b = {0};
	json_t *opts = json_array();
	int i;

	quiz_open_until(ctx->cfg, it->deadline, until);
	snprintf(cmd, sizeof(cmd), "quiz answer QZ-%lld %s",
		 (long long)it->campaign, q->id);
	if (reminder == QUIZ_LAST_CALL) {
		*subject = xasprintf("Last call: security quiz QZ-%lld closes "
				     "after %s, question %d of %d is waiting",
				     (long long)it->campaign, until, it->seq,
				     it->total);
		buf_printf(&b,
			   "The security quiz QZ-%lld closes after %s and "
			   "you have %d question%s left. It takes a "
			   "minute.\n\n",
			   (long long)it->campaign, until,
			   it->total - it->seq + 1,
			   it->total - it->seq + 1 == 1 ? "" : "s");
	} else if (reminder) {
		*subject =
		    xasprintf("Reminder: security quiz QZ-%lld, question "
			      "%d of %d is waiting",
			      (long long)it->campaign, it->seq, it->total);
		buf_printf(&b,
			   "You have %d question%s left in the security "
			   "quiz QZ-%lld, open until %s. It takes a "
			   "minute.\n\n",
			   it->total - it->seq + 1,
			   it->total - it->seq + 1 == 1 ? "" : "s",
			   (long long)it->campaign, until);
	} else {
		*subject =
		    xasprintf("Security quiz QZ-%lld: question %d of %d",
			      (long long)it->campaign, it->seq, it->total);
	}
	buf_printf(&b, "%s\n\n", q->text);
	for (i = 0; i < 4; i++) {
		buf_printf(&b, "%d) %s\n", i + 1, q->options[i]);
		json_array_append_new(opts, json_string(q->options[i]));
	}
	buf_printf(&b,
		   "\nReply with the number (1-4), or type /isms %s "
		   "<1-4>. Open until %s.",
		   cmd, until);
	*body = buf_steal(&b);
	snprintf(label, sizeof(label), "QZ-%lld", (long long)it->campaign);
	*payload = json_pack("{s:s,s:s,s:s,s:o,s:s,s:i,s:i,s:s}", "quiz", label,
			     "question", q->id, "text", q->text, "options",
			     opts, "answer_token", it->token, "number", it->seq,
			     "total", it->total, "answer_command", cmd);
}

/*
 * Sends the person's next unanswered question of a campaign at once and
 * marks it current. Returns 1 sent, 2 nothing left (the person completed
 * it, now recorded), -1 error. A question withdrawn from the bank since the
 * campaign began is skipped.
 */
int
quiz_advance(struct cmd_ctx *ctx, const struct quiz_bank *b, int64_t campaign,
	     const struct person *p)
{
	for (;;) {
		const struct quiz_question *q;
		struct qitem it;
		int64_t seq;
		char *subject, *body;
		json_t *payload;
		int rc = db_int(ctx->st, &seq,
				"SELECT MIN(seq) FROM quiz_items WHERE "
				"campaign_id = ? AND person_id = ? AND "
				"answered_at IS NULL",
				"ii", campaign, p->id);

		if (rc < 0)
			return -1;
		if (rc == 0 || seq == 0) {
			if (db_exec(ctx->st,
				    "UPDATE quiz_participants SET completed_at "
				    "= ? WHERE campaign_id = ? AND person_id = "
				    "? AND completed_at IS NULL",
				    "iii", ctx->now, campaign, p->id) < 0)
				return -1;
			return 2;
		}
		if (item_load(ctx, campaign, p->id, (int)seq, &it) < 0)
			return -1;
		q = quiz_bank_find(b, it.qid);
		if (q == NULL) {
			log_warnx("quiz QZ-%lld: question %s is no longer in "
				  "the bank; skipped for %s",
				  (long long)campaign, it.qid, p->handle);
			if (db_exec(ctx->st,
				    "UPDATE quiz_items SET answered_at = ? "
				    "WHERE campaign_id = ? AND person_id = ? "
				    "AND seq = ?",
				    "iiii", ctx->now, campaign, p->id, seq) < 0)
				return -1;
			continue;
		}
		quiz_message(ctx, q, &it, 0, &subject, &body, &payload);
		rc = cmd_notify(ctx, p, MSG_QUIZ, subject, body, payload) < 0 ||
			     db_exec(ctx->st,
				     "UPDATE quiz_items SET sent_at = ? WHERE "
				     "campaign_id = ? AND person_id = ? AND "
				     "seq = ? AND sent_at IS NULL",
				     "iiii", ctx->now, campaign, p->id,
				     seq) < 0 ||
			     db_exec(ctx->st,
				     "UPDATE quiz_participants SET "
				     "current_seq = ? WHERE campaign_id = ? "
				     "AND person_id = ?",
				     "iii", seq, campaign, p->id) < 0
			 ? -1
			 : 1;
		free(subject);
		free(body);
		return rc;
	}
}

/* People whose next campaign waits for its first question (0 = any). */
#define WAITING_SQL                                                            \
	"SELECT p.campaign_id, p.person_id FROM quiz_participants p "          \
	"JOIN quiz_campaigns c ON c.id = p.campaign_id AND c.status = 'open' " \
	"JOIN people pe ON pe.id = p.person_id AND pe.active <> 0 "            \
	"WHERE p.current_seq = 0 AND p.completed_at IS NULL "                  \
	"AND (?1 = 0 OR p.person_id = ?1) AND NOT EXISTS (SELECT 1 FROM "      \
	"quiz_participants q JOIN quiz_campaigns d ON d.id = q.campaign_id "   \
	"AND d.status = 'open' WHERE q.person_id = p.person_id AND "           \
	"q.completed_at IS NULL AND q.campaign_id < p.campaign_id) "           \
	"ORDER BY p.campaign_id, p.person_id"

/*
 * Sends first questions: to everyone waiting in working time (w set), or
 * at once to one person (w NULL). Counts what went out in *sent.
 */
int
quiz_deliver(struct cmd_ctx *ctx, struct tz_work *w, int64_t person,
	     const struct quiz_bank *b, size_t *sent)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	*sent = 0;
	if (nudge_rows(ctx->st, db_prepare(ctx->st, WAITING_SQL, "i", person),
		       2, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct person p;

		if (store_person_by_id(ctx->st, rows[2 * i + 1], &p) != 1) {
			rc = -1;
			break;
		}
		/* a first question is a nudge: only in working time */
		if (w != NULL && !tz_work_person(w, &p))
			continue;
		switch (quiz_advance(ctx, b, rows[2 * i], &p)) {
		case 1:
			(*sent)++;
			break;
		case 2:
			break;
		default:
			rc = -1;
		}
	}
	free(rows);
	return rc;
}

/* ---- scheduler jobs ---- */

int
quiz_job_close(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *ids;
	size_t n, i;
	int rc = 0;

	(void)w;
	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT id FROM quiz_campaigns WHERE status = "
			   "'open' AND deadline_at <= ? ORDER BY id",
			   "i", ctx->now),
		1, &ids, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		int64_t people = 0, done = 0;
		char obj[32];

		snprintf(obj, sizeof(obj), "QZ-%lld", (long long)ids[i]);
		if (db_exec(ctx->st,
			    "UPDATE quiz_campaigns SET status = 'closed', "
			    "closed_at = ? WHERE id = ?",
			    "ii", ctx->now, ids[i]) < 0 ||
		    db_int(ctx->st, &people,
			   "SELECT COUNT(*) FROM quiz_participants WHERE "
			   "campaign_id = ?",
			   "i", ids[i]) < 0 ||
		    db_int(ctx->st, &done,
			   "SELECT COUNT(*) FROM quiz_participants WHERE "
			   "campaign_id = ? AND completed_at IS NOT NULL",
			   "i", ids[i]) < 0 ||
		    cmd_audit(ctx, "quiz.close", obj,
			      json_pack("{s:I,s:I}", "participants",
					(json_int_t)people, "completed",
					(json_int_t)done)) < 0)
			rc = -1;
	}
	free(ids);
	return rc;
}

/* A manager's message at close: their teams, and who did not finish. */
static int
results_send(struct cmd_ctx *ctx, struct tz_work *w, int64_t campaign,
	     const struct person *mgr)
{
	struct nudge n = {.kind = "quiz.results", .period = "closed"};
	struct buf teams = {0}, missing = {0};
	struct db_stmt *s;
	int64_t people, done;
	char obj[32], *subject = NULL, *body = NULL;
	int rc;

	snprintf(obj, sizeof(obj), "QZ-%lld", (long long)campaign);
	n.object = obj;
	rc = nudge_ready(ctx, w, &n, mgr);
	if (rc != 1)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (quiz_team_lines(ctx, campaign, mgr->id, &teams, &people, &done) < 0)
		goto out;
	s = db_prepare(ctx->st,
		       "SELECT pe.handle FROM quiz_participants p JOIN people "
		       "pe ON pe.id = p.person_id WHERE p.campaign_id = ? AND "
		       "pe.manager_id = ? AND p.completed_at IS NULL ORDER BY "
		       "pe.handle",
		       "ii", campaign, mgr->id);
	if (s == NULL)
		goto out;
	while (db_step(s) == DB_ROW)
		buf_printf(&missing, "%s%s", missing.len ? ", " : "",
			   db_col(s, 0));
	db_finish(ctx->st, s);
	subject = xasprintf("Security quiz %s closed: %lld of %lld completed "
			    "in your teams",
			    obj, (long long)done, (long long)people);
	body = xasprintf("The awareness quiz %s has closed. Completion and "
			 "score per team:\n%s\n%s%s%s\nDetails: /isms quiz "
			 "stats %s",
			 obj, buf_str(&teams),
			 missing.len ? "Your direct reports who did not "
				       "finish: "
				     : "All your direct reports finished.",
			 buf_str(&missing), missing.len ? "." : "", obj);
	rc = nudge_send(ctx, w, &n, mgr, subject, body, NULL) < 0 ? -1 : 0;
out:
	buf_free(&teams);
	buf_free(&missing);
	free(subject);
	free(body);
	return rc;
}

int
quiz_job_results(struct cmd_ctx *ctx, struct tz_work *w)
{
	int64_t *rows;
	size_t n, i;
	int rc = 0;

	if (nudge_rows(
		ctx->st,
		db_prepare(ctx->st,
			   "SELECT DISTINCT c.id, m.id FROM quiz_campaigns c "
			   "JOIN quiz_participants p ON p.campaign_id = c.id "
			   "JOIN people pe ON pe.id = p.person_id JOIN people "
			   "m ON m.id = pe.manager_id AND m.active <> 0 WHERE "
			   "c.status = 'closed' AND c.closed_at >= ? ORDER BY "
			   "c.id, m.id",
			   "i", ctx->now - QUIZ_RESULTS_DAYS * DAY),
		2, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		struct person m;

		rc = store_person_by_id(ctx->st, rows[2 * i + 1], &m) == 1
			 ? results_send(ctx, w, rows[2 * i], &m)
			 : -1;
	}
	free(rows);
	return rc;
}

int
quiz_job_campaign(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct quiz_bank b = {0};
	int64_t start, found = 0, people = 0, id;
	char key[16], err[320];
	size_t n;
	int rc;

	(void)w;
	rc = nudge_period(ctx, ctx->cfg->quiz_every, &start, key);
	if (rc <= 0)
		return rc;
	rc = nudge_claimed(ctx, "quiz.campaign", "org", key);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (db_int(ctx->st, &people,
		   "SELECT COUNT(*) FROM people WHERE active <> 0", NULL) < 0)
		return -1;
	if (people == 0)
		return 0; /* starts once there is a directory */
	/* a campaign for everyone started by hand this period counts */
	if (db_int(ctx->st, &found,
		   "SELECT COUNT(*) FROM quiz_campaigns WHERE audience = 'all' "
		   "AND created_at >= ?",
		   "i", start) < 0)
		return -1;
	if (found == 0) {
		if (quiz_bank_load(&b, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return -1;
		}
		id = quiz_campaign_open(
		    ctx, &b, ctx->cfg->quiz_questions, NULL,
		    tz_day_start(ctx->cfg->org_timezone, ctx->now,
				 ctx->cfg->quiz_deadline_days),
		    NULL, key, &n);
		quiz_bank_free(&b);
		if (id < 0)
			return -1;
		log_info("quiz: periodic campaign QZ-%lld for %zu people",
			 (long long)id, n);
	}
	return nudge_claim(ctx, "quiz.campaign", "org", key) < 0 ? -1 : 0;
}

int
quiz_job_deliver(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct quiz_bank b = {0};
	char err[320];
	size_t sent;
	int64_t waiting = 0;
	int rc;

	if (db_int(ctx->st, &waiting,
		   "SELECT EXISTS (SELECT 1 FROM quiz_participants p JOIN "
		   "quiz_campaigns c ON c.id = p.campaign_id WHERE c.status = "
		   "'open' AND p.current_seq = 0 AND p.completed_at IS NULL)",
		   NULL) < 0)
		return -1;
	if (!waiting)
		return 0;
	if (quiz_bank_load(&b, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	rc = quiz_deliver(ctx, w, 0, &b, &sent);
	quiz_bank_free(&b);
	return rc;
}

/*
 * When a campaign's last call is due per zone, memoised for a pass
 * (thousands of participants share a handful of zones).
 */
struct last_call_memo {
	size_t n;
	struct {
		int64_t campaign, at;
		char zone[64];
	} e[32];
};

static int64_t
last_call_at(struct cmd_ctx *ctx, struct last_call_memo *m, int64_t campaign,
	     int64_t deadline, const struct person *p)
{
	const char *zone = tz_zone_of(ctx->cfg, p);
	int64_t at;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].campaign == campaign &&
		    strcmp(m->e[i].zone, zone) == 0)
			return m->e[i].at;
	at = nudge_last_call(ctx, zone, deadline);
	if (m->n < ARRAY_LEN(m->e) && strlen(zone) < sizeof(m->e[0].zone)) {
		m->e[m->n].campaign = campaign;
		m->e[m->n].at = at;
		snprintf(m->e[m->n].zone, sizeof(m->e[0].zone), "%s", zone);
		m->n++;
	}
	return at;
}

/*
 * Whether the person's last call is due now: 1 yes, 0 not yet or never
 * (a campaign so short that the last call would come within a day of
 * its start; the first question is reminder enough).
 */
static int
last_call_due(struct cmd_ctx *ctx, struct last_call_memo *m, int64_t campaign,
	      int64_t created, int64_t deadline, const struct person *p)
{
	int64_t at = last_call_at(ctx, m, campaign, deadline, p);

	if (at < created + DAY || ctx->now >= deadline)
		return 0;
	return ctx->now >= at;
}

/*
 * Sends a participant's current question again (row r: campaign,
 * person, current seq) as nudge nd; how: 1 a reminder, QUIZ_LAST_CALL
 * the last call. 1 sent, 0 not (not due, or the question left the
 * bank), -1 on error.
 */
static int
quiz_send_current(struct cmd_ctx *ctx, struct tz_work *w,
		  const struct nudge *nd, const struct person *p,
		  const struct quiz_bank *b, const int64_t *r, int how)
{
	const struct quiz_question *q;
	struct qitem it;
	char *subject, *body;
	json_t *payload;
	int sent;

	if (item_load(ctx, r[0], r[1], (int)r[2], &it) < 0)
		return -1;
	q = quiz_bank_find(b, it.qid);
	if (q == NULL)
		return 0;
	quiz_message(ctx, q, &it, how, &subject, &body, &payload);
	sent = nudge_send(ctx, w, nd, p, subject, body, payload);
	free(subject);
	free(body);
	return sent;
}

int
quiz_job_remind(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct last_call_memo lc = {0};
	struct quiz_bank b = {0};
	int64_t *rows = NULL;
	size_t n, i;
	char err[320];
	int rc = -1;

	if (nudge_rows(
		ctx->st,
		db_prepare(
		    ctx->st,
		    "SELECT p.campaign_id, p.person_id, "
		    "p.current_seq, c.created_at, c.deadline_at FROM "
		    "quiz_participants p JOIN quiz_campaigns c ON "
		    "c.id = p.campaign_id AND c.status = 'open' "
		    "JOIN people pe ON pe.id = p.person_id AND "
		    "pe.active <> 0 WHERE p.completed_at IS NULL AND "
		    "p.current_seq > 0 AND c.created_at <= ?1 "
		    /* not reminded within the period (a day of
		     * slack: nudge_ready decides in days) */
		    "AND NOT EXISTS (SELECT 1 FROM nudges n "
		    "WHERE n.kind = 'quiz.remind' AND n.object = "
		    "'QZ-' || p.campaign_id AND n.person_id = "
		    "p.person_id AND n.address = '' AND "
		    "n.sent_at > ?1 + 86400) ORDER BY "
		    "p.campaign_id, p.person_id",
		    "i", ctx->now - ctx->cfg->nudge_repeat_days * (int64_t)DAY),
		5, &rows, &n) < 0)
		return -1;
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (quiz_bank_load(&b, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		int64_t *r = &rows[5 * i];
		struct nudge nd = {.kind = "quiz.remind", .msg_kind = MSG_QUIZ};
		struct person p;
		char obj[32], period[48];
		int64_t lca;
		int sent;

		snprintf(obj, sizeof(obj), "QZ-%lld", (long long)r[0]);
		nd.object = obj;
		nudge_repeat(ctx, &nd, "remind",
			     r[3] + ctx->cfg->nudge_repeat_days * (int64_t)DAY,
			     period, sizeof(period));
		if (store_person_by_id(ctx->st, r[1], &p) != 1)
			goto out;
		/* from a day before the last call, the last call does it */
		lca = last_call_at(ctx, &lc, r[0], r[4], &p);
		if (lca >= r[3] + DAY && ctx->now + DAY >= lca)
			continue;
		sent = nudge_ready(ctx, w, &nd, &p);
		if (sent < 0)
			goto out;
		if (sent == 0)
			continue;
		if (quiz_send_current(ctx, w, &nd, &p, &b, r, 1) < 0)
			goto out;
	}
	rc = 0;
out:
	free(rows);
	quiz_bank_free(&b);
	return rc;
}

/*
 * The last call: participants who have not finished hear, once, that the
 * campaign is about to close, on the first pass in their working time
 * from the start of the last working day that begins at least two days
 * before the deadline (nudge_last_call), whatever [nudge] repeat_days is.
 */
int
quiz_job_last_call(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct last_call_memo lc = {0};
	struct quiz_bank b = {0};
	int64_t *rows = NULL;
	size_t n, i;
	char err[320];
	int rc = -1, loaded = 0;

	if (nudge_rows(
		ctx->st,
		db_prepare(
		    ctx->st,
		    "SELECT p.campaign_id, p.person_id, p.current_seq, "
		    "c.created_at, c.deadline_at FROM quiz_participants p "
		    "JOIN quiz_campaigns c ON c.id = p.campaign_id AND "
		    "c.status = 'open' JOIN people pe ON pe.id = p.person_id "
		    "AND pe.active <> 0 WHERE p.completed_at IS NULL AND "
		    "p.current_seq > 0 AND c.deadline_at > ?1 AND "
		    /* a week of weekend before the two days, at most */
		    "c.deadline_at <= ?1 + ?2 AND NOT EXISTS (SELECT 1 FROM "
		    "nudges n WHERE n.kind = 'quiz.lastcall' AND n.object = "
		    "'QZ-' || p.campaign_id AND n.person_id = p.person_id AND "
		    "n.address = '') ORDER BY p.campaign_id, p.person_id",
		    "ii", ctx->now, (NUDGE_LAST_CALL_DAYS + 8) * (int64_t)DAY),
		5, &rows, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		int64_t *r = &rows[5 * i];
		struct nudge nd = {.kind = "quiz.lastcall",
				   .msg_kind = MSG_QUIZ,
				   .period = "last"};
		struct person p;
		char obj[32];
		int sent;

		snprintf(obj, sizeof(obj), "QZ-%lld", (long long)r[0]);
		nd.object = obj;
		if (store_person_by_id(ctx->st, r[1], &p) != 1)
			goto out;
		sent = last_call_due(ctx, &lc, r[0], r[3], r[4], &p);
		if (sent == 1)
			sent = nudge_ready(ctx, w, &nd, &p);
		if (sent < 0)
			goto out;
		if (sent == 0)
			continue;
		if (!loaded) {
			if (quiz_bank_load(&b, err, sizeof(err)) < 0) {
				log_error("%s", err);
				goto out;
			}
			loaded = 1;
		}
		if (quiz_send_current(ctx, w, &nd, &p, &b, r, QUIZ_LAST_CALL) <
		    0)
			goto out;
	}
	rc = 0;
out:
	free(rows);
	quiz_bank_free(&b);
	return rc;
}
