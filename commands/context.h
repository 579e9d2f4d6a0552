/*
 * The organisation's context (clause 4.1: CTX-n issues), its interested
 * parties (4.2: PTY-n) and its obligations (A.5.31, A.5.34: OBL-n): what
 * the scheduler, the report and the management review use of them.
 */
#ifndef ISMS_CONTEXT_H
#define ISMS_CONTEXT_H

#include "nudge.h"

/*
 * key=RSK-1,rsk-2,3: ids of existing objects of prefix, each loaded with
 * reg_load (no such object is refused), duplicates dropped, into *out as
 * a new JSON array of integers (caller releases). With allow_none,
 * "none" is an empty array. 1 given, 0 absent, -1 with an error reply.
 */
int context_ids_key(struct cmd_ctx *ctx, const char *key, const char *prefix,
		    int allow_none, json_t **out);

/*
 * Obligation reviews: the owner is told 14 days ahead and nudged from the
 * due date on every [nudge] repeat_days until the review is recorded;
 * an obligation whose owner has left goes to that person's manager or an
 * isms_manager instead (commands/obligation.c).
 */
int obligation_job_reviews(struct cmd_ctx *ctx, struct tz_work *w);

/*
 * The report's line on obligations: how many are due for review within
 * ahead_days, and the overdue ones by name (reply text). 0 or -1.
 */
int obligation_report_write(struct cmd_ctx *ctx, int ahead_days);

/*
 * The changes of interested parties' needs recorded since `since` (reply
 * text, one line each), for the management review's inputs (clause
 * 9.3.2 c). none: the text when there were none. 0 or -1.
 */
int party_changes_write(struct cmd_ctx *ctx, int64_t since, const char *none);

/*
 * The context issues added or retired since `since` (reply text, one line
 * each), for the management review's inputs (clause 9.3.2 b). none: the
 * text when there were none. 0 or -1.
 */
int context_changes_write(struct cmd_ctx *ctx, int64_t since, const char *none);

/*
 * Feedback from interested parties recorded since `since` (party
 * feedback; reply text, one line each), for clause 9.3.2 e. 0 or -1.
 */
int party_feedback_write(struct cmd_ctx *ctx, int64_t since, const char *none);

#endif
