/*
 * Awareness quizzes: the question bank, campaigns (QZ-n) with questions
 * picked per person, answers and scores, and the scheduler's quiz jobs.
 */
#ifndef ISMS_QUIZ_H
#define ISMS_QUIZ_H

#include "nudge.h"

#define QUIZ_MAX_QUESTIONS 20

struct quiz_question {
	const char *id;
	const char *topic;
	const char *text;
	const char *options[4];
	const char *explanation;
	int answer; /* 1..4 */
};

/* A parsed bank; the strings point into text. Release with quiz_bank_free. */
struct quiz_bank {
	struct quiz_question *q;
	size_t n;
	char *text;
};

/*
 * Parses and validates a bank in the questions.tsv format (see
 * config/quiz/README.md). 0, or -1 with "line N (id): problem" in err;
 * b is released either way by quiz_bank_free.
 */
int quiz_bank_parse(const char *text, struct quiz_bank *b, char *err,
		    size_t errlen);
/* The bank built into the binaries. Same. */
int quiz_bank_load(struct quiz_bank *b, char *err, size_t errlen);
void quiz_bank_free(struct quiz_bank *b);
const struct quiz_question *quiz_bank_find(const struct quiz_bank *b,
					   const char *id);

/*
 * The command a transport runs for a bare reply in a direct conversation:
 * "2" (or "2)", "2.") becomes "quiz answer 2" in out; NULL for anything
 * else.
 */
const char *quiz_bare_reply(const char *text, char out[32]);

/*
 * The command for an answer_token (Slack button value, mail Reply-To)
 * and a choice 1..4: "quiz answer QZ-n <question> <choice>" in out, to run
 * as *person_id. 1 found, 0 unknown token, -1 error.
 */
int quiz_token_command(struct store *st, const char *token, int choice,
		       char *out, size_t len, int64_t *person_id);

/* Jobs of the scheduler's table (gateway/sched.c). */
int quiz_job_close(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_results(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_campaign(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_deliver(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_remind(struct cmd_ctx *ctx, struct tz_work *w);

#endif
