/*
 * Rate-limited logging of requests refused for their signature.
 */
#include "slack_refusals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../base/log.h"
#include "../base/util.h"

struct slack_refusals {
	uv_timer_t timer; /* its close frees the struct */
	uv_loop_t *loop;
	/* since the last line */
	unsigned long missing, stale, forged, signed_stale;
	int64_t skew; /* timestamp minus local time of the last signed one */
	/* since start */
	unsigned long total, lines;
	uint64_t last_line; /* uv_now() of the last line */
};

struct slack_refusals *
slack_refusals_new(uv_loop_t *loop)
{
	struct slack_refusals *r = xcalloc(1, sizeof(*r));

	r->loop = loop;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	return r;
}

static void
refusals_flush(struct slack_refusals *r)
{
	unsigned long n = r->missing + r->stale + r->forged;
	char clock[160] = "";

	if (n == 0)
		return;
	if (r->signed_stale > 0 && r->signed_stale * 2 >= n)
		snprintf(clock, sizeof(clock),
			 "; %lu correctly signed but stale (the latest %lld s "
			 "%s the local clock): the local clock may be off "
			 "(check NTP)",
			 r->signed_stale,
			 (long long)(r->skew < 0 ? -r->skew : r->skew),
			 r->skew < 0 ? "behind" : "ahead of");
	log_warnx("slack: refused %lu request%s without a valid signature "
		  "(%lu missing, %lu stale, %lu forged)%s; counted, logged at "
		  "most once a minute",
		  n, n == 1 ? "" : "s", r->missing, r->stale, r->forged, clock);
	r->missing = r->stale = r->forged = r->signed_stale = 0;
	r->lines++;
	r->last_line = uv_now(r->loop);
}

static void
on_timer(uv_timer_t *t)
{
	refusals_flush(t->data);
}

/* 1 when signature is right for timestamp and body (time aside) */
static int
signed_right(const char *secret, const char *timestamp, const char *signature,
	     const char *body, size_t len)
{
	char want[SLACK_SIG_LEN + 1];
	const char *d;
	int ok;

	if (secret == NULL || timestamp == NULL || signature == NULL ||
	    !*timestamp || strlen(signature) != SLACK_SIG_LEN ||
	    strlen(timestamp) > 18)
		return 0;
	for (d = timestamp; *d; d++)
		if (*d < '0' || *d > '9')
			return 0;
	ok = slack_sig_compute(secret, timestamp, body, len, want) == 0 &&
	     CRYPTO_memcmp(want, signature, SLACK_SIG_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

void
slack_refusals_note(struct slack_refusals *r, enum slack_sig_result why,
		    const char *secret, const char *timestamp,
		    const char *signature, const char *body, size_t len,
		    int64_t now)
{
	uint64_t t, at;

	if (r == NULL || why == SLACK_SIG_OK)
		return;
	r->total++;
	if (why == SLACK_SIG_MISSING) {
		r->missing++;
	} else if (why == SLACK_SIG_STALE) {
		r->stale++;
		if (signed_right(secret, timestamp, signature, body, len)) {
			r->signed_stale++;
			r->skew = strtoll(timestamp, NULL, 10) - now;
		}
	} else {
		r->forged++;
	}
	if (uv_is_active((uv_handle_t *)&r->timer))
		return;
	t = uv_now(r->loop);
	at = r->last_line + SLACK_REFUSALS_EVERY_MS;
	if (r->lines == 0 || at <= t)
		refusals_flush(r); /* the first in a minute: at once */
	else
		uv_timer_start(&r->timer, on_timer, at - t, 0);
}

unsigned long
slack_refusals_count(const struct slack_refusals *r)
{
	return r ? r->total : 0;
}

unsigned long
slack_refusals_lines(const struct slack_refusals *r)
{
	return r ? r->lines : 0;
}

static void
on_closed(uv_handle_t *h)
{
	free(h->data);
}

void
slack_refusals_stop(struct slack_refusals *r)
{
	if (r == NULL)
		return;
	uv_timer_stop(&r->timer);
	refusals_flush(r);
	uv_close((uv_handle_t *)&r->timer, on_closed);
}
