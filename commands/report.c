/*
 * The management summary (`report`, also `ismsctl report`): risk levels
 * and matrix, open incidents, overdue actions, awareness and the reviews
 * coming up in the next 30 days.
 */
#include <stdlib.h>
#include <string.h>

#include "register.h"

#define REPORT_AHEAD_DAYS 30

int
report_incidents_write(struct cmd_ctx *ctx, int64_t since)
{
	static const char *const severities[] = {"critical", "high", "medium",
						 "low"};
	int64_t n, total = 0, clocks = 0, recent = 0;
	size_t k;

	cmd_reply(ctx, "Open incidents:");
	for (k = 0; k < ARRAY_LEN(severities); k++) {
		if (db_int(ctx->st, &n,
			   "SELECT COUNT(*) FROM incidents WHERE status != "
			   "'closed' AND severity = ?",
			   "t", severities[k]) != 1)
			return cmd_error(ctx, "database error");
		cmd_reply(ctx, "%s %s %lld", k ? "," : "", severities[k],
			  (long long)n);
		total += n;
	}
	if (db_int(ctx->st, &clocks,
		   "SELECT COUNT(*) FROM incidents WHERE personal_data AND "
		   "breach_outcome IS NULL AND status != 'closed'",
		   NULL) != 1 ||
	    db_int(ctx->st, &recent,
		   "SELECT COUNT(*) FROM incidents WHERE created_at >= ?", "i",
		   since) != 1)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, " (%lld open; %lld with a running 72-hour clock)",
		  (long long)total, (long long)clocks);
	if (since > 0)
		cmd_reply(ctx, "; %lld reported in the period",
			  (long long)recent);
	else
		cmd_reply(ctx, "; %lld reported in all", (long long)recent);
	cmd_reply(ctx, ".");
	return 0;
}

/* Risks, documents, management reviews and audits due within 30 days. */
static int
report_upcoming(struct cmd_ctx *ctx)
{
	int64_t until = ctx->now + REPORT_AHEAD_DAYS * 86400;
	sqlite3_stmt *s;
	int n = 0;

	s = db_prepare(
	    ctx->st,
	    "SELECT at, what FROM ("
	    "SELECT next_review_at AS at, 'risk review RSK-' || id || ' [' || "
	    "level || '] ' || title AS what FROM risks WHERE next_review_at "
	    "<= ?1 "
	    "UNION ALL SELECT next_review_at, 'document review DOC-' || id || "
	    "' ' || title FROM docs WHERE next_review_at <= ?1 "
	    "UNION ALL SELECT planned_at, 'management review MR-' || id FROM "
	    "reviews WHERE status = 'planned' AND planned_at <= ?1 "
	    "UNION ALL SELECT planned_at, 'internal audit AUD-' || id || ' ' "
	    "|| scope FROM audits WHERE status = 'planned' AND planned_at <= "
	    "?1) ORDER BY at, what",
	    "i", until);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	cmd_reply(ctx, "Reviews due in the next %d days:", REPORT_AHEAD_DAYS);
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(s, 0);
		char date[16];

		time_date(at, date);
		cmd_reply(ctx, "\n  %s %s%s", date,
			  at + 86400 <= ctx->now ? "OVERDUE " : "",
			  db_col(s, 1));
		n++;
	}
	sqlite3_finalize(s);
	if (n == 0)
		cmd_reply(ctx, " none");
	return 0;
}

static int
report(struct cmd_ctx *ctx)
{
	char today[16];

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	time_date(ctx->now, today);
	ctx->rp->confidential = 1;
	cmd_reply(ctx, "ISMS management summary, %s, %s\n\n",
		  ctx->cfg->org_name ? ctx->cfg->org_name : "", today);
	if (risk_summary_write(ctx) < 0)
		return -1;
	cmd_reply(ctx, "\n");
	if (risk_matrix_write(ctx) < 0)
		return -1;
	cmd_reply(ctx, "\n\n");
	if (report_incidents_write(ctx, 0) < 0)
		return -1;
	cmd_reply(ctx, "\n");
	if (action_summary_write(ctx) < 0)
		return -1;
	cmd_reply(ctx, "\n");
	if (report_awareness_write(ctx, "no campaigns yet") < 0)
		return -1;
	cmd_reply(ctx, "\n");
	return report_upcoming(ctx);
}

const struct cmd_entry report_cmds[] = {
    {"report", NULL, REG_READERS | ROLE_ADMIN, CMD_READONLY, NULL, "",
     "the management summary", report},
    {NULL, NULL, 0, 0, NULL, NULL, NULL, NULL},
};
