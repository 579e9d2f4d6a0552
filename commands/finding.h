/*
 * Nonconformity and corrective action (commands/finding.c, ISO/IEC 27001
 * clause 10.2): what a finding cites, its root cause before its corrective
 * actions close, and the review of their effectiveness.
 */
#ifndef ISMS_FINDING_H
#define ISMS_FINDING_H

#include "nudge.h"

/* The root cause of a nonconformity is asked for this many days after it
 * was recorded, then every [nudge] repeat_days. */
#define FINDING_CAUSE_DAYS 7

/*
 * A nonconformity (alias f) whose corrective actions are all done and
 * whose effectiveness is not confirmed: never checked, or the last check
 * said "no" and the new actions are done too.
 */
#define FINDING_UNCHECKED                                                      \
	"(f.kind IN ('major', 'minor') AND f.needs_action = 0 AND EXISTS "     \
	"(SELECT 1 FROM actions x WHERE x.finding_id = f.id) AND NOT EXISTS "  \
	"(SELECT 1 FROM actions x WHERE x.finding_id = f.id AND x.status = "   \
	"'open') AND COALESCE((SELECT c.effective FROM finding_checks c "      \
	"WHERE c.finding_id = f.id ORDER BY c.id DESC LIMIT 1), 0) = 0)"

/* An open nonconformity (alias f) without its root cause. */
#define FINDING_NO_CAUSE                                                       \
	"(f.kind IN ('major', 'minor') AND f.status = 'open' AND f.cause IS "  \
	"NULL)"

/*
 * The clause= and control= keys of a finding: *clause borrowed from the
 * command line (NULL when absent), control the control's id ("" when
 * absent). 0, or -1 with an error reply.
 */
int finding_cites(struct cmd_ctx *ctx, const char **clause, char control[16]);

/*
 * Whether ACT-id may be closed: an action that corrects a major or minor
 * nonconformity waits for the finding's root cause. 0, or -1 with an
 * error reply.
 */
int finding_action_closable(struct cmd_ctx *ctx, int64_t action_id);

/*
 * The scheduler's job: the owners of a nonconformity's open corrective
 * actions (an isms_manager when there are none) are asked for its root
 * cause from FINDING_CAUSE_DAYS after it was recorded; the isms_managers
 * are asked for the effectiveness check once its actions are done. Both
 * repeat every [nudge] repeat_days. 0 or -1.
 */
int finding_job_nudges(struct cmd_ctx *ctx, struct tz_work *w);

/*
 * The report's section (reply text): nonconformities without a root
 * cause and those whose actions are done but not checked. 0 or -1.
 */
int finding_report_write(struct cmd_ctx *ctx);

#endif
