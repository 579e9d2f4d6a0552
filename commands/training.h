/*
 * Training and competence (ISO/IEC 27001 clause 7.2): the scheduler's job
 * and the report's line, beside the training command object.
 */
#ifndef ISMS_TRAINING_H
#define ISMS_TRAINING_H

#include "nudge.h"

/*
 * Nudges every active person missing a course [training] required names
 * for one of their roles (none on record, or expired), once per person
 * and course every [nudge] repeat_days. Job of commands/sched.c.
 */
int training_job_due(struct cmd_ctx *ctx, struct tz_work *w);

/* The report's line: people missing a required course. 0 or -1. */
int training_report_write(struct cmd_ctx *ctx);

#endif
