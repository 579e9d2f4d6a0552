/*
 * What the quiz units share (quiz_bank.c, quiz.c, quiz_jobs.c); nothing
 * outside commands/quiz*.c includes it.
 */
#ifndef ISMS_QUIZ_IMPL_H
#define ISMS_QUIZ_IMPL_H

#include "cmd.h"
#include "quiz.h"

/* ---- quiz_bank.c ---- */

/* Loads the bank for a command, or answers with the problem. 0 or -1. */
int quiz_bank_for(struct cmd_ctx *ctx, struct quiz_bank *b);

/* ---- quiz.c: campaigns ---- */

/* The last day a campaign is open, in the org's zone: "2026-12-01". */
void quiz_open_until(const struct config *cfg, int64_t deadline, char out[16]);

/*
 * Opens a campaign for the active people (of team, when set) and picks
 * their questions. seed NULL: derived from the database secret and the
 * campaign id. Returns the id, or -1 with an error reply.
 */
int64_t quiz_campaign_open(struct cmd_ctx *ctx, const struct quiz_bank *b,
			   int nq, const char *team, int64_t deadline,
			   const int64_t *seed, const char *period,
			   size_t *people);

/*
 * Completion and score per team of a campaign into out, one line each;
 * mgr 0 for every team. Totals in *people and *done. 0 or -1.
 */
int quiz_team_lines(struct cmd_ctx *ctx, int64_t campaign, int64_t mgr,
		    struct buf *out, int64_t *people, int64_t *done);

/* ---- quiz_jobs.c: sending questions ---- */

/*
 * Sends the person's next unanswered question of a campaign at once and
 * marks it current. Returns 1 sent, 2 nothing left (the person completed
 * it, now recorded), -1 error.
 */
int quiz_advance(struct cmd_ctx *ctx, const struct quiz_bank *b,
		 int64_t campaign, const struct person *p);

/*
 * Sends first questions: to everyone waiting in working time (w set), or
 * at once to one person (w NULL). Counts what went out in *sent.
 */
int quiz_deliver(struct cmd_ctx *ctx, struct tz_work *w, int64_t person,
		 const struct quiz_bank *b, size_t *sent);

#endif
