/*
 * Nudges: messages the scheduler sends about ISMS records. Each is recorded
 * in the ledger by (kind, object, recipient, period) so that it goes out
 * once, in the recipient's working time unless urgent.
 */
#ifndef ISMS_NUDGE_H
#define ISMS_NUDGE_H

#include "cmd.h"
#include "worktime.h"

struct nudge {
	const char *kind;	/* ledger kind, e.g. "approval.remind" */
	const char *object;	/* "APR-3" */
	const char *period;	/* "2026-05-01", "66h", "remind#2" */
	enum msg_kind msg_kind; /* outbox kind; MSG_NUDGE when not set */
	int anytime;		/* ignores working hours (urgent) */
	int64_t gap;		/* none again for kind+object+recipient
				   before this many days (in seconds) have
				   passed, counted in calendar days of the
				   recipient's zone; 0: no limit */
};

/*
 * A scheduler job: one kind of periodic work as of ctx->now, in the
 * caller's transaction. 0, or -1 (the pass rolls the job back).
 */
typedef int (*nudge_job_fn)(struct cmd_ctx *ctx, struct tz_work *w);

/*
 * Whether n would go to the person now: 1 yes, 0 not now (already in the
 * ledger, sooner than n->gap, or outside their working time), -1 error.
 * For messages that are costly to compose.
 */
int nudge_ready(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
		const struct person *to);

/* Queues and records n for the person when ready; payload stolen. Same. */
int nudge_send(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
	       const struct person *to, const char *subject, const char *body,
	       json_t *payload);

/* nudge_ready for a bare e-mail address (the organisation's working time). */
int nudge_ready_address(struct cmd_ctx *ctx, struct tz_work *w,
			const struct nudge *n, const char *address);

/*
 * A message with an HTML part, to a person (to set) or else a bare e-mail
 * address (outbox person_id 0). Same as nudge_send.
 */
int nudge_mail(struct cmd_ctx *ctx, struct tz_work *w, const struct nudge *n,
	       const struct person *to, const char *address,
	       const char *subject, const char *body, const char *html);

/*
 * Records (kind, object, period) with no recipient, for work done once per
 * period: 1 newly recorded, 0 already there, -1 error.
 */
int nudge_claim(struct cmd_ctx *ctx, const char *kind, const char *object,
		const char *period);
/* 1 when (kind, object, period) without recipient is recorded, 0, -1. */
int nudge_claimed(struct cmd_ctx *ctx, const char *kind, const char *object,
		  const char *period);

/*
 * Makes n a nudge repeated every [nudge] repeat_days from start (which must
 * have passed): period "cycle#k" in buf, gap repeat_days.
 */
void nudge_repeat(const struct cmd_ctx *ctx, struct nudge *n, const char *cycle,
		  int64_t start, char *buf, size_t len);

/* Days before a deadline by which the last call has gone out. */
#define NUDGE_LAST_CALL_DAYS 2

/*
 * When the last call about a deadline is due for someone in zone: the
 * start of the last working period (working day and hours of the
 * configuration, in zone) that begins at or before NUDGE_LAST_CALL_DAYS
 * before the deadline, so that it goes out at the latest two days
 * before it even when those days are a weekend.
 */
int64_t nudge_last_call(const struct cmd_ctx *ctx, const char *zone,
			int64_t deadline);

/*
 * The calendar period of ctx->now for a setting such as "3m" in the
 * organisation's zone: its first instant and key ("2026-10-01").
 * 1, 0 when every is "off", -1 when it is malformed.
 */
int nudge_period(const struct cmd_ctx *ctx, const char *every, int64_t *start,
		 char key[16]);

/*
 * Who hears of an escalation about of: their manager, else an isms_manager;
 * never skip_a or skip_b. 1 found, 0 none, -1 error.
 */
int nudge_escalation_target(struct cmd_ctx *ctx, const struct person *of,
			    int64_t skip_a, int64_t skip_b, struct person *out);

/*
 * Reads the first ncols integer columns of every row of s into a new array
 * of *nrows x ncols values (caller frees), and finalises s: the way jobs
 * list their work before changing tables. 0, or -1 when s is NULL or a
 * step fails.
 */
int nudge_rows(struct store *st, struct db_stmt *s, int ncols, int64_t **vals,
	       size_t *nrows);

/* Jobs of the scheduler's table (gateway/sched.c). */
int nudge_job_breach(struct cmd_ctx *ctx, struct tz_work *w);
int nudge_job_approvals(struct cmd_ctx *ctx, struct tz_work *w);
int nudge_job_nis2(struct cmd_ctx *ctx, struct tz_work *w);

#endif
