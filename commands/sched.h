/*
 * The scheduler: one pass over every kind of periodic work (nudges,
 * quizzes, reports) as of a given instant. Pure: it reads no wall clock;
 * the daemon calls it once a minute, ismsctl run-scheduler on demand.
 */
#ifndef ISMS_SCHED_H
#define ISMS_SCHED_H

#include <stdint.h>

#include "../config/config.h"
#include "../store/store.h"
#include "../base/util.h"

/*
 * One pass as of now: each job in its own transaction, so a failing job
 * is rolled back and the others still run. Returns the number of outbox
 * messages queued, or -1 when a job failed (logged).
 */
int sched_run(struct store *st, const struct config *cfg, int64_t now);

/* Same, appending one line per job that queued something to log. */
int sched_run_log(struct store *st, const struct config *cfg, int64_t now,
		  struct buf *log);

/*
 * Checks what a pass relies on (the built-in quiz bank). 0, or -1 with a
 * message for a person in err.
 */
int sched_check(char *err, size_t errlen);

#endif
