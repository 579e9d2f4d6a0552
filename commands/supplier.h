/*
 * Suppliers (commands/supplier.c, A.5.19-5.23): the scheduler's review
 * nudges and the management summary's section.
 */
#ifndef ISMS_SUPPLIER_H
#define ISMS_SUPPLIER_H

#include "nudge.h"

/* A review is announced, and listed as due, this many days ahead. */
#define SUPPLIER_AHEAD_DAYS 14

/*
 * The scheduler's job: the owner hears of a review 14 days ahead and from
 * its date every [nudge] repeat_days; after escalate_after_days overdue
 * (at once when the owner has left) the owner's manager, else an
 * isms_manager, is told once per due date. 0 or -1.
 */
int supplier_job_reviews(struct cmd_ctx *ctx, struct tz_work *w);

/*
 * The report's section (reply text): reviews due and suppliers that
 * process personal data without a data processing agreement. 0 or -1.
 */
int supplier_report_write(struct cmd_ctx *ctx);

#endif
