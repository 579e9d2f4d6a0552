/*
 * Review nudges over the ISMS register: risk and document reviews,
 * acknowledgements, the annual risk assessment, management reviews,
 * internal audits and actions (with escalation to the owner's manager).
 */
#ifndef ISMS_DUE_H
#define ISMS_DUE_H

#include "nudge.h"

#define DUE_AHEAD_DAYS		14 /* reviews and audits are announced */
#define DUE_ACTION_AHEAD_DAYS	7  /* actions due soon */
#define DUE_REVIEW_EVERY_MONTHS 6  /* management reviews */
#define DUE_AUDIT_EVERY_MONTHS	12 /* the internal audit programme */
#define DUE_ACCEPT_AHEAD_DAYS	30 /* the end of a risk acceptance */

/* Jobs of the scheduler's table (gateway/sched.c). */
int due_job_risks(struct cmd_ctx *ctx, struct tz_work *w);
int due_job_docs(struct cmd_ctx *ctx, struct tz_work *w);
int due_job_acks(struct cmd_ctx *ctx, struct tz_work *w);
int due_job_assessment(struct cmd_ctx *ctx, struct tz_work *w);
int due_job_management_review(struct cmd_ctx *ctx, struct tz_work *w);
int due_job_audits(struct cmd_ctx *ctx, struct tz_work *w);
int due_job_actions(struct cmd_ctx *ctx, struct tz_work *w);
int due_job_acceptances(struct cmd_ctx *ctx, struct tz_work *w);
/* The mailed management report (commands/report.c). */
int report_job_mail(struct cmd_ctx *ctx, struct tz_work *w);
/* The audit log's head, daily (commands/audithead.c). */
int audit_head_job(struct cmd_ctx *ctx, struct tz_work *w);

#endif
