/*
 * Messages no transport could deliver: their count for the management
 * summary, and the isms_managers' daily digest of them.
 */
#ifndef ISMS_DELIVERY_H
#define ISMS_DELIVERY_H

#include "nudge.h"

#define DELIVERY_DIGEST_MAX 100 /* messages listed in one digest */

/*
 * Messages every transport refused for good (or none reached): the
 * number, or -1.
 */
int64_t delivery_undelivered_count(struct store *st);

/*
 * The digest (scheduler job): once a day, in the organisation's working
 * time, every isms_manager hears of the messages that became undeliverable
 * since the last digest: kind, recipient, the transports tried and why
 * they failed, the subject shortened. Nothing when nothing failed.
 */
int delivery_job_digest(struct cmd_ctx *ctx, struct tz_work *w);

#endif
