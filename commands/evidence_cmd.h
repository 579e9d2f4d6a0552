/*
 * Evidence (EV-n, commands/evidence_cmd.c): what shows a control or a
 * record of the register at work, with an owner and an expiry. Not the
 * store's evidence machinery (store/evidence.h: keyed hashes).
 */
#ifndef ISMS_EVIDENCE_CMD_H
#define ISMS_EVIDENCE_CMD_H

#include "nudge.h"

#define EVIDENCE_AHEAD_DAYS 30 /* owners are told before the expiry */

/*
 * The evidence of control id as reply lines ("\n  EV-2 ..."), stale
 * items flagged; with full unset only the counts. The number of items,
 * or -1.
 */
int evidence_control_write(struct cmd_ctx *ctx, const char *id, int full);

/* The report's line on stale evidence (and which). 0 or -1. */
int evidence_report_write(struct cmd_ctx *ctx);

/* Scheduler job: owners nudged before and from the expiry. 0 or -1. */
int evidence_job_expiry(struct cmd_ctx *ctx, struct tz_work *w);

#endif
