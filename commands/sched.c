/*
 * The scheduler's pass: a table of jobs run in order, each in one
 * transaction, with the store's clock held at the pass's instant.
 */
#include "sched.h"

#include <stdio.h>
#include <string.h>

#include "context.h"
#include "delivery.h"
#include "due.h"
#include "evidence_cmd.h"
#include "finding.h"
#include "nudge.h"
#include "quiz.h"
#include "training.h"
#include "supplier.h"
#include "../base/log.h"

struct sched_job {
	const char *name;
	nudge_job_fn run;
};

/* Every kind of periodic work; adding one is adding a line. */
static const struct sched_job sched_jobs[] = {
    {"breach-clock", nudge_job_breach},
    {"nis2-clock", nudge_job_nis2},
    {"approvals", nudge_job_approvals},
    {"quiz-close", quiz_job_close},
    {"quiz-results", quiz_job_results},
    {"quiz-campaign", quiz_job_campaign},
    {"quiz-deliver", quiz_job_deliver},
    {"quiz-remind", quiz_job_remind},
    {"quiz-last-call", quiz_job_last_call},
    {"risk-reviews", due_job_risks},
    {"risk-acceptances", due_job_acceptances},
    {"doc-reviews", due_job_docs},
    {"doc-acks", due_job_acks},
    {"obligation-reviews", obligation_job_reviews},
    {"risk-assessment", due_job_assessment},
    {"management-review", due_job_management_review},
    {"audits", due_job_audits},
    {"actions", due_job_actions},
    {"training-due", training_job_due},
    {"evidence-expiry", evidence_job_expiry},
    {"supplier-reviews", supplier_job_reviews},
    {"findings", finding_job_nudges},
    {"report", report_job_mail},
    {"delivery-digest", delivery_job_digest},
    {"audit-head", audit_head_job},
};

#define SCHED_LOCKED (-2) /* run_job: the database was locked */

static int
run_job(struct store *st, const struct config *cfg, struct tz_work *w,
	const struct sched_job *job, int64_t now, struct buf *log)
{
	static const struct isms_request rq = {
	    .via = "scheduler", .id_kind = "handle", .id = "scheduler"};
	struct isms_reply rp = {0};
	struct cmd_ctx ctx = {
	    .st = st, .cfg = cfg, .rq = &rq, .rp = &rp, .now = now};
	int64_t before = 0, after = 0;
	int rc = -1;

	snprintf(ctx.me.handle, sizeof(ctx.me.handle), "scheduler");
	snprintf(ctx.me.name, sizeof(ctx.me.name), "the ISMS scheduler");
	if (store_begin(st) < 0) {
		if (store_busy(st))
			rc = SCHED_LOCKED;
		goto out;
	}
	if (db_int(st, &before, "SELECT COALESCE(MAX(id), 0) FROM outbox",
		   NULL) < 0 ||
	    job->run(&ctx, w) < 0 ||
	    db_int(st, &after, "SELECT COUNT(*) FROM outbox WHERE id > ?", "i",
		   before) < 0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		log_error("scheduler: job %s failed and was rolled back%s%s",
			  job->name, rp.text.len ? ": " : "",
			  buf_str(&rp.text));
		goto out;
	}
	if (after > 0 && log != NULL)
		buf_printf(log, "%s: %lld message%s\n%s", job->name,
			   (long long)after, after == 1 ? "" : "s",
			   buf_str(&rp.notices));
	rc = (int)after;
out:
	reply_free(&rp);
	return rc;
}

int
sched_run_log(struct store *st, const struct config *cfg, int64_t now,
	      struct buf *log)
{
	int64_t held;
	struct tz_work w;
	size_t i;
	int total = 0, failed = 0;

	/* everything the pass writes is dated as of its instant */
	held = store_hold_time(st, now);
	tz_work_init(&w, cfg, now);
	for (i = 0; i < ARRAY_LEN(sched_jobs); i++) {
		int n = run_job(st, cfg, &w, &sched_jobs[i], now, log);

		if (n == SCHED_LOCKED) {
			/* the next pass catches up; the loop must not wait */
			log_warnx(
			    "scheduler: the database is locked by another "
			    "process; this pass is skipped");
			failed++;
			break;
		}
		if (n < 0)
			failed++;
		else
			total += n;
	}
	tz_work_free(&w);
	store_hold_time(st, held);
	return failed ? -1 : total;
}

int
sched_run(struct store *st, const struct config *cfg, int64_t now)
{
	return sched_run_log(st, cfg, now, NULL);
}

int
sched_check(char *err, size_t errlen)
{
	struct quiz_bank b;
	int rc = quiz_bank_load(&b, err, errlen);

	quiz_bank_free(&b);
	return rc;
}
