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
 * The choice the first line of a mailed answer starts with: "2", "2)",
 * "2.", "#2", "answer 2", "Answer: #2", each maybe followed by a blank or
 * a punctuation mark and more words. 1..4, or 0 for anything else ("5",
 * "12", "2x", "two", an empty line).
 */
int quiz_reply_choice(const char *line);

/*
 * The command for an answer_token (a chat button's value) and a choice
 * 1..4: "quiz answer QZ-n <question> <choice>" in out, to run as
 * *person_id. 1 found, 0 unknown token, -1 error.
 */
int quiz_token_command(struct store *st, const char *token, int choice,
		       char *out, size_t len, int64_t *person_id);

/*
 * A quiz item (a person's question number seq of a campaign) as the one
 * number a mail reply token carries beside the person:
 * campaign << QUIZ_SEQ_BITS | seq. 0 when either is out of range.
 */
#define QUIZ_SEQ_BITS 5
int64_t quiz_item_ref(int64_t campaign, int64_t seq);

/* "question 2 of QZ-1" for a quiz_item_ref(), for mail refusals. */
void quiz_item_name(int64_t ref, char *out, size_t len);

/*
 * The item ref of person: 1 found, with its campaign's deadline in
 * *deadline and, for a choice 1..4, its answer command in out (as
 * quiz_token_command; out may be NULL for choice 0); 0 unknown, -1 error.
 */
int quiz_item_command(struct store *st, int64_t ref, int64_t person, int choice,
		      char *out, size_t len, int64_t *deadline);

/* Jobs of the scheduler's table (gateway/sched.c). */
int quiz_job_close(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_results(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_campaign(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_deliver(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_remind(struct cmd_ctx *ctx, struct tz_work *w);
int quiz_job_last_call(struct cmd_ctx *ctx, struct tz_work *w);

#endif
