/*
 * Awareness quiz campaigns (QZ-n): questions picked per person, quiz
 * start, answer, list and stats, the awareness line of the reports, and
 * what transports ask of an answer.
 */
#include "quiz_impl.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/log.h"
#include "register.h"

#define QUIZ_HARDEST 10

/* ---- picking questions ---- */

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

struct pick {
	size_t idx;
	int64_t answered; /* times this person answered it before */
	uint64_t key;	  /* seeded order */
};

static int
pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	if (x->answered != y->answered)
		return x->answered < y->answered ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * nq questions for a person: never answered ones first (a question comes
 * back only when the bank runs out), in an order fixed by the seed.
 * hist is "SELECT question_id, COUNT(*) ... WHERE person_id = ?1".
 */
static int
quiz_pick(const struct quiz_bank *b, struct db_stmt *hist, int64_t person,
	  uint64_t seed, size_t nq, size_t *out)
{
	struct pick *p = xcalloc(b->n, sizeof(*p)), *best;
	size_t i, have = 0;
	int rc;

	for (i = 0; i < b->n; i++) {
		p[i].idx = i;
		p[i].key =
		    mix64(seed ^ mix64((uint64_t)person) ^ fnv1a(b->q[i].id));
	}
	if (db_rebind(hist, "i", person) < 0) {
		free(p);
		return -1;
	}
	for (rc = db_step(hist); rc == DB_ROW; rc = db_step(hist)) {
		const struct quiz_question *q =
		    quiz_bank_find(b, db_col(hist, 0));

		if (q != NULL)
			p[q - b->q].answered = db_col_int(hist, 1);
	}
	/* the first nq in pick_cmp's order, kept sorted in best */
	best = xcalloc(nq, sizeof(*best));
	for (i = 0; i < b->n; i++) {
		size_t j;

		if (have == nq && pick_cmp(&p[i], &best[nq - 1]) >= 0)
			continue;
		j = have < nq ? have++ : nq - 1;
		for (; j > 0 && pick_cmp(&p[i], &best[j - 1]) < 0; j--)
			best[j] = best[j - 1];
		best[j] = p[i];
	}
	for (i = 0; i < nq; i++)
		out[i] = best[i].idx;
	free(best);
	free(p);
	return rc == DB_DONE ? 0 : -1;
}

/* Answer tokens: 16 random bytes each, drawn a block at a time. */
struct token_pool {
	unsigned char raw[16 * 256];
	size_t used; /* bytes handed out; 0 before the first draw */
};

static void
new_token(struct token_pool *p, char out[33])
{
	if (p->used == 0 || p->used == sizeof(p->raw)) {
		if (RAND_bytes(p->raw, sizeof(p->raw)) != 1)
			fatalx("no random bytes available");
		p->used = 0;
	}
	hex_encode(p->raw + p->used, 16, out);
	p->used += 16;
}

/* The last day a campaign is open, in the org's zone: "2026-12-01". */
void
quiz_open_until(const struct config *cfg, int64_t deadline, char out[16])
{
	struct tm lt;

	tz_local(cfg->org_timezone, deadline - 1, &lt);
	strftime(out, 16, "%Y-%m-%d", &lt);
}

/*
 * Opens a campaign for the active people (of team, when set) and picks
 * their questions. seed NULL: derived from the database secret and the
 * campaign id. Returns the id, or -1 with an error reply.
 */
int64_t
quiz_campaign_open(struct cmd_ctx *ctx, const struct quiz_bank *b, int nq,
		   const char *team, int64_t deadline, const int64_t *seed,
		   const char *period, size_t *people)
{
	struct db_stmt *hist = NULL, *ins = NULL;
	struct token_pool *pool = xcalloc(1, sizeof(*pool));
	int64_t *ids = NULL, id = -1, result = -1;
	size_t n = 0, i, k, *picked = NULL;
	char *secret = NULL, obj[32], audience[96], until[16];
	uint64_t useed;

	if ((size_t)nq > b->n)
		nq = (int)b->n;
	if (team != NULL)
		snprintf(audience, sizeof(audience), "team:%s", team);
	else
		snprintf(audience, sizeof(audience), "all");
	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT id FROM people WHERE active <> 0 AND "
				  "(?1 IS NULL OR team = ?1 COLLATE NOCASE) "
				  "ORDER BY id",
				  "t", team),
		       1, &ids, &n) < 0)
		goto out;
	if (n > 10000)
		store_large_tx(ctx->st);
	if (n == 0) {
		if (team != NULL)
			cmd_error(ctx, "nobody in the directory is in team %s",
				  team);
		else
			cmd_error(ctx, "the directory is empty");
		goto out;
	}
	if (db_exec(ctx->st,
		    "INSERT INTO quiz_campaigns(audience, questions, seed, "
		    "created_by, created_at, deadline_at, period) VALUES "
		    "(?, ?, 0, NULLIF(?, 0), ?, ?, ?)",
		    "tiiiit", audience, (int64_t)nq, ctx->me.id, ctx->now,
		    deadline, period) < 0)
		goto out;
	id = db_last_id(ctx->st);
	secret = store_setting(ctx->st, "token_secret");
	useed = seed ? (uint64_t)*seed
		     : mix64(fnv1a(secret ? secret : "") ^ (uint64_t)id);
	if (db_exec(ctx->st, "UPDATE quiz_campaigns SET seed = ? WHERE id = ?",
		    "ii", (int64_t)useed, id) < 0 ||
	    db_exec(ctx->st,
		    "INSERT INTO quiz_participants(campaign_id, person_id, "
		    "team) SELECT ?1, id, COALESCE(team, '') FROM people "
		    "WHERE active <> 0 AND (?2 IS NULL OR team = ?2 COLLATE "
		    "NOCASE)",
		    "it", id, team) < 0)
		goto out;
	hist = db_prepare(ctx->st,
			  "SELECT question_id, COUNT(*) FROM quiz_items WHERE "
			  "person_id = ? AND answered_at IS NOT NULL GROUP BY "
			  "question_id",
			  "i", (int64_t)0);
	ins = db_prepare(ctx->st,
			 "INSERT INTO quiz_items(campaign_id, person_id, seq, "
			 "question_id, token) VALUES (?, ?, ?, ?, ?)",
			 NULL);
	if (hist == NULL || ins == NULL)
		goto out;
	picked = xcalloc((size_t)nq, sizeof(*picked));
	for (i = 0; i < n; i++) {
		if (quiz_pick(b, hist, ids[i], useed, (size_t)nq, picked) < 0)
			goto out;
		for (k = 0; k < (size_t)nq; k++) {
			char token[33];

			new_token(pool, token);
			if (db_rebind(ins, "iiitt", id, ids[i], (int64_t)k + 1,
				      b->q[picked[k]].id, token) < 0 ||
			    db_step(ins) != DB_DONE)
				goto out;
		}
	}
	snprintf(obj, sizeof(obj), "QZ-%lld", (long long)id);
	quiz_open_until(ctx->cfg, deadline, until);
	if (cmd_audit(ctx, "quiz.start", obj,
		      json_pack("{s:s,s:i,s:s,s:I,s:s*}", "audience", audience,
				"questions", nq, "open_until", until,
				"participants", (json_int_t)n, "period",
				period)) < 0)
		goto out;
	*people = n;
	result = id;
out:
	if (result < 0 && !ctx->rp->error) {
		log_error("quiz: cannot open a campaign: %s",
			  db_errmsg(ctx->st));
		cmd_error(ctx, "database error");
	}
	db_finish(ctx->st, hist);
	db_finish(ctx->st, ins);
	free(ids);
	free(picked);
	free(secret);
	OPENSSL_cleanse(pool, sizeof(*pool));
	free(pool);
	return result;
}

/* ---- commands ---- */

static int
quiz_start(struct cmd_ctx *ctx)
{
	const char *qs = cmd_key(ctx, "questions");
	const char *aud = cmd_key(ctx, "audience");
	const char *dl = cmd_key(ctx, "deadline");
	const char *sd = cmd_key(ctx, "seed");
	const char *zone = ctx->cfg->org_timezone, *team = NULL;
	struct quiz_bank b = {0};
	struct tz_work w;
	int64_t id, deadline, seed = 0, day;
	long nq = ctx->cfg->quiz_questions, v;
	size_t people = 0, sent = 0;
	char until[16];
	int rc = -1;

	tz_work_init(&w, ctx->cfg, ctx->now);
	if (ctx->cl->npos > 0) {
		rc = cmd_error(ctx, "usage: quiz start %s", ctx->entry->usage);
		goto out;
	}
	if (qs != NULL && parse_int(qs, 1, QUIZ_MAX_QUESTIONS, &nq) < 0) {
		rc = cmd_error(ctx, "questions must be a number from 1 to %d",
			       QUIZ_MAX_QUESTIONS);
		goto out;
	}
	if (aud != NULL && strcasecmp(aud, "all") != 0) {
		if (strncasecmp(aud, "team:", 5) != 0 || aud[5] == '\0' ||
		    strlen(aud) > 69) {
			rc = cmd_error(ctx, "audience must be all or "
					    "team:<name>");
			goto out;
		}
		team = aud + 5;
	}
	if (sd != NULL) {
		if (parse_int(sd, 0, 2147483647L, &v) < 0) {
			rc = cmd_error(ctx, "seed must be a whole number");
			goto out;
		}
		seed = v;
	}
	if (dl != NULL) {
		if (tz_parse(zone, dl, &day) < 0 || strlen(dl) != 10) {
			rc = cmd_error(ctx, "deadline must be a date "
					    "YYYY-MM-DD");
			goto out;
		}
		deadline = tz_day_start(zone, day, 1);
		if (deadline <= ctx->now) {
			rc = cmd_error(ctx, "the deadline %s has passed", dl);
			goto out;
		}
	} else {
		deadline =
		    tz_day_start(zone, ctx->now, ctx->cfg->quiz_deadline_days);
	}
	if (quiz_bank_for(ctx, &b) < 0)
		goto out;
	id = quiz_campaign_open(ctx, &b, (int)nq, team, deadline,
				sd ? &seed : NULL, NULL, &people);
	if (id < 0 || quiz_deliver(ctx, &w, 0, &b, &sent) < 0)
		goto out;
	quiz_open_until(ctx->cfg, deadline, until);
	cmd_reply(ctx,
		  "QZ-%lld started: %ld question%s each for %zu "
		  "%s (audience %s), open until %s. %zu first "
		  "question%s sent now%s.",
		  (long long)id, nq > (long)b.n ? (long)b.n : nq,
		  nq == 1 ? "" : "s", people, people == 1 ? "person" : "people",
		  team ? aud : "all", until, sent, sent == 1 ? "" : "s",
		  sent < people ? "; the others get theirs at the start of "
				  "their working time"
				: "");
	rc = 0;
out:
	tz_work_free(&w);
	quiz_bank_free(&b);
	return rc;
}

/* The item a "quiz answer" names; with just a number, the one waiting. */
static int
answer_target(struct cmd_ctx *ctx, int64_t *campaign, char qid[64],
	      long *choice)
{
	const char *num;
	struct db_stmt *s;

	if (ctx->cl->npos == 1) {
		num = ctx->cl->pos[0];
		s = db_prepare(
		    ctx->st,
		    "SELECT p.campaign_id, i.question_id FROM "
		    "quiz_participants "
		    "p JOIN quiz_campaigns c ON c.id = p.campaign_id JOIN "
		    "quiz_items i ON i.campaign_id = p.campaign_id AND "
		    "i.person_id = p.person_id AND i.seq = p.current_seq WHERE "
		    "p.person_id = ? AND c.status = 'open' AND p.completed_at "
		    "IS NULL AND i.answered_at IS NULL ORDER BY p.campaign_id "
		    "LIMIT 1",
		    "i", ctx->me.id);
		if (s == NULL)
			return cmd_error(ctx, "database error");
		if (db_step(s) != DB_ROW) {
			db_finish(ctx->st, s);
			return cmd_error(ctx,
					 "You have no quiz question waiting "
					 "for an answer.");
		}
		*campaign = db_col_int(s, 0);
		snprintf(qid, 64, "%s", db_col(s, 1));
		db_finish(ctx->st, s);
	} else if (ctx->cl->npos == 3) {
		if (cmd_parse_id(ctx, ctx->cl->pos[0], "QZ", campaign) < 0)
			return -1;
		if (strlen(ctx->cl->pos[1]) >= 64)
			return cmd_error(ctx, "no such question");
		snprintf(qid, 64, "%s", ctx->cl->pos[1]);
		num = ctx->cl->pos[2];
	} else {
		return cmd_error(ctx, "usage: quiz answer %s",
				 ctx->entry->usage);
	}
	if (parse_int(num, 1, 4, choice) < 0)
		return cmd_error(ctx, "answer with a number from 1 to 4");
	return 0;
}

static int
quiz_answer(struct cmd_ctx *ctx)
{
	const struct quiz_question *q;
	struct quiz_bank b = {0};
	struct db_stmt *s = NULL;
	int64_t campaign, seq;
	char qid[64], obj[32], closed[16];
	long choice;
	int rc = -1, correct;

	if (answer_target(ctx, &campaign, qid, &choice) < 0)
		goto out;
	snprintf(obj, sizeof(obj), "QZ-%lld", (long long)campaign);
	s = db_prepare(
	    ctx->st,
	    "SELECT i.seq, i.sent_at IS NOT NULL, i.answered_at IS "
	    "NOT NULL, COALESCE(i.answer, 0), c.status, "
	    "COALESCE(c.closed_at, 0), i.question_id, c.deadline_at FROM "
	    "quiz_items "
	    "i JOIN quiz_campaigns c ON c.id = i.campaign_id WHERE "
	    "i.campaign_id = ? AND i.person_id = ? AND "
	    "i.question_id = ? COLLATE NOCASE",
	    "iit", campaign, ctx->me.id, qid);
	if (s == NULL) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	if (db_step(s) != DB_ROW) {
		rc = cmd_error(ctx, "%s has no question %s for you", obj, qid);
		goto out;
	}
	seq = db_col_int(s, 0);
	snprintf(qid, sizeof(qid), "%s", db_col(s, 6));
	/* past the deadline it is closed, whether or not the scheduler has
	 * recorded that yet */
	if (strcmp(db_col(s, 4), "open") != 0 || ctx->now >= db_col_int(s, 7)) {
		struct tm lt;

		tz_local(ctx->cfg->org_timezone,
			 strcmp(db_col(s, 4), "open") != 0 ? db_col_int(s, 5)
							   : db_col_int(s, 7),
			 &lt);
		strftime(closed, sizeof(closed), "%Y-%m-%d", &lt);
		rc = cmd_error(ctx, "%s closed on %s; answers no longer count",
			       obj, closed);
		goto out;
	}
	if (!(int)db_col_int(s, 1)) {
		rc = cmd_error(ctx, "question %s of %s has not been asked yet",
			       qid, obj);
		goto out;
	}
	if ((int)db_col_int(s, 2)) {
		rc = cmd_error(ctx, "you already answered %s of %s (with %d)",
			       qid, obj, (int)db_col_int(s, 3));
		goto out;
	}
	if (quiz_bank_for(ctx, &b) < 0)
		goto out;
	q = quiz_bank_find(&b, qid);
	if (q == NULL) {
		rc =
		    cmd_error(ctx, "question %s is no longer in the bank", qid);
		goto out;
	}
	correct = q->answer == (int)choice;
	if (db_exec(ctx->st,
		    "UPDATE quiz_items SET answered_at = ?, answer = ?, "
		    "correct = ? WHERE campaign_id = ? AND person_id = ? AND "
		    "seq = ? AND answered_at IS NULL",
		    "iiiiii", ctx->now, (int64_t)choice, (int64_t)correct,
		    campaign, ctx->me.id, seq) != 1 ||
	    cmd_audit(ctx, "quiz.answer", obj,
		      json_pack("{s:s,s:i,s:b}", "question", q->id, "answer",
				(int)choice, "correct", correct)) < 0)
		goto out;
	if (correct)
		cmd_reply(ctx, "Correct!\n%s", q->explanation);
	else
		cmd_reply(ctx, "Not quite: the answer is %d) %s.\n%s",
			  q->answer, q->options[q->answer - 1], q->explanation);
	switch (quiz_advance(ctx, &b, campaign, &ctx->me)) {
	case 1:
		cmd_reply(ctx, "\nThe next question follows.");
		break;
	case 2: {
		int64_t n = 0, ok = 0;
		size_t sent;

		if (db_int(ctx->st, &n,
			   "SELECT COUNT(answer) FROM quiz_items WHERE "
			   "campaign_id = ? AND person_id = ?",
			   "ii", campaign, ctx->me.id) < 0 ||
		    db_int(ctx->st, &ok,
			   "SELECT COALESCE(SUM(correct), 0) FROM quiz_items "
			   "WHERE campaign_id = ? AND person_id = ?",
			   "ii", campaign, ctx->me.id) < 0)
			goto out;
		cmd_reply(ctx,
			  "\nThat was the last question of %s: you got "
			  "%lld of %lld right. Thank you!",
			  obj, (long long)ok, (long long)n);
		/* another campaign may have waited for this one */
		if (quiz_deliver(ctx, NULL, ctx->me.id, &b, &sent) < 0)
			goto out;
		break;
	}
	default:
		goto out;
	}
	rc = 0;
out:
	db_finish(ctx->st, s);
	quiz_bank_free(&b);
	return rc;
}

static int
quiz_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int n = 0;

	if (ctx->cl->npos > 0)
		return cmd_error(ctx, "usage: quiz list");
	s = db_prepare(
	    ctx->st,
	    "SELECT c.id, c.status, c.deadline_at, c.audience, c.questions, "
	    "p.person_id IS NOT NULL, (SELECT COUNT(answer) FROM quiz_items "
	    "i WHERE i.campaign_id = c.id AND i.person_id = ?1), (SELECT "
	    "COALESCE(SUM(correct), 0) FROM quiz_items i WHERE i.campaign_id "
	    "= c.id AND i.person_id = ?1) FROM quiz_campaigns c LEFT JOIN "
	    "quiz_participants p ON p.campaign_id = c.id AND p.person_id = ?1 "
	    "ORDER BY c.id DESC LIMIT 10",
	    "i", ctx->me.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		char until[16];

		quiz_open_until(ctx->cfg, db_col_int(s, 2), until);
		cmd_reply(
		    ctx, "%sQZ-%lld %s until %s, audience %s: ", n ? "\n" : "",
		    (long long)db_col_int(s, 0),
		    strcmp(db_col(s, 1), "open") == 0 ? "open"
						      : "closed; was open",
		    until, db_col(s, 3));
		if ((int)db_col_int(s, 5))
			cmd_reply(ctx, "you answered %d of %d (%d right)",
				  (int)db_col_int(s, 6), (int)db_col_int(s, 4),
				  (int)db_col_int(s, 7));
		else
			cmd_reply(ctx, "not for you");
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "No quiz campaign yet.");
	return 0;
}

/* Teams whose completion a manager sees: those of their direct reports. */
#define TEAM_FILTER                                                            \
	"(?2 = 0 OR p.team IN (SELECT COALESCE(team, '') FROM people WHERE "   \
	"manager_id = ?2))"

/*
 * Completion and score per team of a campaign into out, one line each;
 * mgr 0 for every team. Totals in *people and *done. 0 or -1.
 */
int
quiz_team_lines(struct cmd_ctx *ctx, int64_t campaign, int64_t mgr,
		struct buf *out, int64_t *people, int64_t *done)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT p.team, COUNT(*), SUM(CASE WHEN p.completed_at IS "
	    "NOT NULL THEN 1 ELSE 0 END), "
	    "SUM(a.n), SUM(a.ok) FROM quiz_participants p JOIN (SELECT "
	    "person_id, COUNT(answer) AS n, COALESCE(SUM(correct), 0) AS ok "
	    "FROM quiz_items WHERE campaign_id = ?1 GROUP BY person_id) a ON "
	    "a.person_id = p.person_id WHERE p.campaign_id = ?1 "
	    "AND " TEAM_FILTER " GROUP BY p.team ORDER BY p.team",
	    "ii", campaign, mgr);
	int rc;

	*people = *done = 0;
	if (s == NULL)
		return -1;
	for (rc = db_step(s); rc == DB_ROW; rc = db_step(s)) {
		int64_t n = db_col_int(s, 1);
		int64_t d = db_col_int(s, 2);
		int64_t an = db_col_int(s, 3);
		int64_t ok = db_col_int(s, 4);

		buf_printf(out, "  %-16s %lld/%lld completed (%lld%%), ",
			   *db_col(s, 0) ? db_col(s, 0) : "(no team)",
			   (long long)d, (long long)n,
			   (long long)(n ? 100 * d / n : 0));
		if (an > 0)
			buf_printf(out,
				   "score %lld%% (%lld of %lld answers "
				   "right)\n",
				   (long long)(100 * ok / an), (long long)ok,
				   (long long)an);
		else
			buf_printf(out, "no answers yet\n");
		*people += n;
		*done += d;
	}
	db_finish(ctx->st, s);
	return rc == DB_DONE ? 0 : -1;
}

/* Questions most often answered wrong first. */
static int
hardest_lines(struct cmd_ctx *ctx, int64_t campaign, int64_t mgr,
	      const struct quiz_bank *b, struct buf *out)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT i.question_id, COUNT(i.answer), COALESCE(SUM(i.correct), "
	    "0) FROM quiz_items i JOIN quiz_participants p ON p.campaign_id = "
	    "i.campaign_id AND p.person_id = i.person_id WHERE i.campaign_id "
	    "= ?1 AND i.answer IS NOT NULL AND " TEAM_FILTER
	    " GROUP BY i.question_id ORDER BY 1.0 * SUM(i.correct) / "
	    "COUNT(i.answer), COUNT(i.answer) DESC, i.question_id LIMIT ?3",
	    "iii", campaign, mgr, (int64_t)QUIZ_HARDEST);
	int rc;

	if (s == NULL)
		return -1;
	for (rc = db_step(s); rc == DB_ROW; rc = db_step(s)) {
		const struct quiz_question *q = quiz_bank_find(b, db_col(s, 0));
		int64_t n = db_col_int(s, 1);
		int64_t ok = db_col_int(s, 2);

		buf_printf(out,
			   "  %-12s %3lld%% right (%lld of %lld): %.70s%s\n",
			   db_col(s, 0), (long long)(100 * ok / n),
			   (long long)ok, (long long)n, q ? q->text : "?",
			   q && strlen(q->text) > 70 ? "..." : "");
	}
	db_finish(ctx->st, s);
	return rc == DB_DONE ? 0 : -1;
}

static int
quiz_stats(struct cmd_ctx *ctx)
{
	struct quiz_bank b = {0};
	struct buf teams = {0}, hard = {0};
	struct db_stmt *s = NULL;
	int64_t campaign = 0, people, done, mgr;
	char until[16];
	int rc = -1;

	if (ctx->cl->npos > 1) {
		rc = cmd_error(ctx, "usage: quiz stats [QZ-n]");
		goto out;
	}
	if (ctx->cl->npos == 1) {
		if (cmd_parse_id(ctx, ctx->cl->pos[0], "QZ", &campaign) < 0)
			goto out;
	} else if (db_int(ctx->st, &campaign,
			  "SELECT COALESCE(MAX(id), 0) FROM quiz_campaigns",
			  NULL) < 0) {
		goto out;
	}
	if (campaign == 0) {
		cmd_reply(ctx, "No quiz campaign yet.");
		rc = 0;
		goto out;
	}
	s = db_prepare(ctx->st,
		       "SELECT status, deadline_at, audience FROM "
		       "quiz_campaigns WHERE id = ?",
		       "i", campaign);
	if (s == NULL || db_step(s) != DB_ROW) {
		rc = cmd_error(ctx, "no quiz campaign QZ-%lld",
			       (long long)campaign);
		goto out;
	}
	mgr = has_role(&ctx->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR) ? 0
								   : ctx->me.id;
	if (quiz_bank_for(ctx, &b) < 0 ||
	    quiz_team_lines(ctx, campaign, mgr, &teams, &people, &done) < 0 ||
	    hardest_lines(ctx, campaign, mgr, &b, &hard) < 0)
		goto out;
	quiz_open_until(ctx->cfg, db_col_int(s, 1), until);
	cmd_reply(
	    ctx,
	    "QZ-%lld (%s until %s, audience %s)%s: %lld of %lld "
	    "people completed (%lld%%).\n",
	    (long long)campaign,
	    strcmp(db_col(s, 0), "open") == 0 ? "open" : "closed; was open",
	    until, db_col(s, 2), mgr ? " in your teams" : "", (long long)done,
	    (long long)people, (long long)(people ? 100 * done / people : 0));
	if (people == 0) {
		cmd_reply(ctx, "None of your direct reports is in it.");
		rc = 0;
		goto out;
	}
	cmd_reply(ctx, "By team:\n%sQuestions most often answered wrong:\n%s",
		  buf_str(&teams),
		  hard.len ? buf_str(&hard) : "  (no answers yet)\n");
	/* no trailing newline in replies */
	if (ctx->rp->text.len > 0 &&
	    ctx->rp->text.data[ctx->rp->text.len - 1] == '\n')
		ctx->rp->text.data[--ctx->rp->text.len] = '\0';
	rc = 0;
out:
	db_finish(ctx->st, s);
	buf_free(&teams);
	buf_free(&hard);
	quiz_bank_free(&b);
	return rc;
}

/*
 * The awareness line of the management report and the review inputs: the
 * latest two campaigns, completion and score. none when there is none.
 */
int
report_awareness_write(struct cmd_ctx *ctx, const char *none)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT c.id, c.status, c.deadline_at, (SELECT COUNT(*) FROM "
	    "quiz_participants p WHERE p.campaign_id = c.id), (SELECT "
	    "COUNT(*) FROM quiz_participants p WHERE p.campaign_id = c.id AND "
	    "p.completed_at IS NOT NULL), (SELECT COUNT(answer) FROM "
	    "quiz_items i WHERE i.campaign_id = c.id), (SELECT "
	    "COALESCE(SUM(correct), 0) FROM quiz_items i WHERE i.campaign_id "
	    "= c.id) FROM quiz_campaigns c ORDER BY c.id DESC LIMIT 2",
	    NULL);
	int n = 0;

	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "Quiz completion:");
	while (db_step(s) == DB_ROW) {
		int64_t people = db_col_int(s, 3);
		int64_t done = db_col_int(s, 4);
		int64_t answers = db_col_int(s, 5);
		int64_t right = db_col_int(s, 6);
		char until[16];

		quiz_open_until(ctx->cfg, db_col_int(s, 2), until);
		cmd_reply(ctx,
			  "%s QZ-%lld (%s until %s) %lld of %lld people "
			  "completed (%lld%%)",
			  n ? ";" : "", (long long)db_col_int(s, 0),
			  strcmp(db_col(s, 1), "open") == 0 ? "open"
							    : "closed, "
							      "ran",
			  until, (long long)done, (long long)people,
			  (long long)(people ? 100 * done / people : 0));
		if (answers > 0)
			cmd_reply(ctx, ", %lld%% of answers right",
				  (long long)(100 * right / answers));
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, " %s", none);
	cmd_reply(ctx, ".");
	return 0;
}

static const struct cmd_entry quiz_commands[] = {
    {
	.verb = "start",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "questions,audience,deadline,seed",
	.usage =
	    "[questions=N] [audience=all|team:<name>] [deadline=YYYY-MM-DD] "
	    "[seed=N]",
	.help = "start an awareness campaign (QZ-n); questions go out by DM",
	.exec = quiz_start,
    },
    {
	.verb = "answer",
	.flags = CMD_SELF,
	.usage = "QZ-n <question> <1-4> | <1-4>",
	.help =
	    "answer a quiz question (a bare number answers the one waiting)",
	.exec = quiz_answer,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "recent campaigns and your progress",
	.exec = quiz_list,
    },
    {
	.verb = "stats",
	.roles = ROLE_MANAGER | ROLE_ISMS_MANAGER | ROLE_AUDITOR,
	.flags = CMD_READONLY,
	.usage = "[QZ-n]",
	.help = "completion and score per team and per question",
	.exec = quiz_stats,
    },
    {0},
};

const struct cmd_object quiz_object = {
    .name = "quiz",
    .help = "awareness quizzes: start a campaign, answer, see results",
    .commands = quiz_commands,
};

/* ---- for transports ---- */

_Static_assert(QUIZ_MAX_QUESTIONS < 1 << QUIZ_SEQ_BITS,
	       "a quiz_item_ref() must hold every question number");

/* A choice at p: "2", "2)" or "2."; the number with *end after it, or 0. */
static int
choice_at(const char *p, const char **end)
{
	int c;

	if (*p < '1' || *p > '4' || isdigit((unsigned char)p[1]))
		return 0;
	c = *p++ - '0';
	if (*p == ')' || *p == '.')
		p++;
	*end = p;
	return c;
}

const char *
quiz_bare_reply(const char *text, char out[32])
{
	const char *p = text;
	int c;

	while (isspace((unsigned char)*p))
		p++;
	c = choice_at(p, &p);
	if (c == 0)
		return NULL;
	snprintf(out, 32, "quiz answer %d", c);
	while (isspace((unsigned char)*p))
		p++;
	return *p == '\0' ? out : NULL;
}

int
quiz_reply_choice(const char *line)
{
	const char *p = line, *end;
	int c;

	while (isspace((unsigned char)*p))
		p++;
	if (strncasecmp(p, "answer", 6) == 0 && !isalnum((unsigned char)p[6])) {
		p += 6;
		while (isspace((unsigned char)*p) || *p == ':')
			p++;
	}
	if (*p == '#')
		p++;
	c = choice_at(p, &end);
	if (c == 0 || (*end != '\0' && !isspace((unsigned char)*end) &&
		       strchr(",;:!-", *end) == NULL))
		return 0;
	return c;
}

/* The columns item_command reads, then a condition. */
#define ITEM_SELECT                                                            \
	"SELECT i.campaign_id, i.question_id, i.person_id, c.deadline_at "     \
	"FROM quiz_items i JOIN quiz_campaigns c ON c.id = i.campaign_id "     \
	"WHERE "

/*
 * The item s selects (ITEM_SELECT): its answer command for choice 1..4
 * into out, its person and its campaign's deadline (each may be NULL).
 * Hands s back. 1 found, 0 none, -1 error.
 */
static int
item_command(struct store *st, struct db_stmt *s, int choice, char *out,
	     size_t len, int64_t *person_id, int64_t *deadline)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		if (out != NULL && choice >= 1 && choice <= 4)
			snprintf(out, len, "quiz answer QZ-%lld %s %d",
				 (long long)db_col_int(s, 0), db_col(s, 1),
				 choice);
		if (person_id != NULL)
			*person_id = db_col_int(s, 2);
		if (deadline != NULL)
			*deadline = db_col_int(s, 3);
		rc = 1;
	} else {
		rc = rc == DB_DONE ? 0 : -1;
	}
	db_finish(st, s);
	return rc;
}

int
quiz_token_command(struct store *st, const char *token, int choice, char *out,
		   size_t len, int64_t *person_id)
{
	struct db_stmt *s;

	if (token == NULL || choice < 1 || choice > 4)
		return 0;
	s = db_prepare(st, ITEM_SELECT "i.token = ?", "t", token);
	return item_command(st, s, choice, out, len, person_id, NULL);
}

int64_t
quiz_item_ref(int64_t campaign, int64_t seq)
{
	if (campaign < 1 || campaign > UINT32_MAX >> QUIZ_SEQ_BITS || seq < 1 ||
	    seq >= 1 << QUIZ_SEQ_BITS)
		return 0;
	return campaign << QUIZ_SEQ_BITS | seq;
}

void
quiz_item_name(int64_t ref, char *out, size_t len)
{
	snprintf(out, len, "question %lld of QZ-%lld",
		 (long long)(ref & ((1 << QUIZ_SEQ_BITS) - 1)),
		 (long long)(ref >> QUIZ_SEQ_BITS));
}

int
quiz_item_command(struct store *st, int64_t ref, int64_t person, int choice,
		  char *out, size_t len, int64_t *deadline)
{
	struct db_stmt *s;

	if (ref < 1)
		return 0;
	s = db_prepare(st,
		       ITEM_SELECT "i.campaign_id = ? AND i.person_id = ? AND "
				   "i.seq = ?",
		       "iii", ref >> QUIZ_SEQ_BITS, person,
		       ref & ((1 << QUIZ_SEQ_BITS) - 1));
	return item_command(st, s, choice, out, len, NULL, deadline);
}
