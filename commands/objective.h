/*
 * Objectives (OBJ-n) and their measurements, and the management review's
 * own record (MR-n): what the review's inputs and the report show of
 * them.
 */
#ifndef ISMS_OBJECTIVE_H
#define ISMS_OBJECTIVE_H

#include "cmd.h"

/*
 * The trend of OBJ-id's measurements as text: "" when there are none,
 * "measured 72 on 2026-12-01" for one, "from 72 to 85 (3 measurements,
 * rising)" for more. A new string (caller frees), or NULL on a database
 * error.
 */
char *objective_trend(struct cmd_ctx *ctx, int64_t id);

/*
 * Every objective with its status, target and trend, one line each
 * (reply text, for clause 9.3.2 d 4); none when there are none. 0 or -1.
 */
int objective_fulfilment_write(struct cmd_ctx *ctx, const char *none);

/* Measurements recorded on or after since, one line each; 0 or -1. */
int objective_measurements_write(struct cmd_ctx *ctx, int64_t since,
				 const char *none);

/* The report's line on objectives and their trends. 0 or -1. */
int objective_report_write(struct cmd_ctx *ctx);

/* The report's line on the last and the next management review. */
int review_report_write(struct cmd_ctx *ctx);

#endif
