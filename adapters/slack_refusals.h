/*
 * Requests refused for their signature (Slack HTTP mode), counted and
 * logged in one line at most once a minute, so unauthenticated traffic
 * cannot grow the log without bound.
 */
#ifndef ISMS_SLACK_REFUSALS_H
#define ISMS_SLACK_REFUSALS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "slack_sig.h"

#define SLACK_REFUSALS_EVERY_MS 60000u /* a line at most this often */

struct slack_refusals;

struct slack_refusals *slack_refusals_new(uv_loop_t *loop);

/*
 * Counts one refusal.  The first refusal in a minute is logged at once;
 * the ones after it are logged with their count a minute after that line.  For
 * a stale one, the request is checked as if its timestamp were fresh: a correct
 * signature means Slack signed it and the clocks disagree (or it is a replay);
 * the line then says the local clock may be off when such requests are at least
 * half of the refused.
 */
void slack_refusals_note(struct slack_refusals *r, enum slack_sig_result why,
			 const char *secret, const char *timestamp,
			 const char *signature, const char *body, size_t len,
			 int64_t now);

/* Refusals counted so far (since start), and lines written. */
unsigned long slack_refusals_count(const struct slack_refusals *r);
unsigned long slack_refusals_lines(const struct slack_refusals *r);

/* Logs what is still uncounted, then releases r (on the loop).  NULL ok. */
void slack_refusals_stop(struct slack_refusals *r);

#endif
