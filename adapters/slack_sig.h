/*
 * Slack request signatures (HTTP mode, "v0"): HMAC-SHA256 over
 * "v0:<timestamp>:<raw body>" keyed with the app's signing secret.
 */
#ifndef ISMS_SLACK_SIG_H
#define ISMS_SLACK_SIG_H

#include <stddef.h>
#include <stdint.h>

#define SLACK_SIG_LEN	   67  /* "v0=" and 64 hex digits */
#define SLACK_SIG_MAX_SKEW 300 /* seconds a timestamp may be off */

enum slack_sig_result {
	SLACK_SIG_OK,
	SLACK_SIG_MISSING, /* no signature or timestamp header */
	SLACK_SIG_STALE,   /* timestamp malformed or too far from now */
	SLACK_SIG_BAD,	   /* signature does not match */
};

/*
 * Writes "v0=<hex>" (SLACK_SIG_LEN + 1 bytes with the NUL) into out: 0,
 * or -1 when the HMAC could not be computed (out is then all NUL, which
 * no signature matches).
 */
int slack_sig_compute(const char *secret, const char *timestamp,
		      const char *body, size_t len,
		      char out[SLACK_SIG_LEN + 1]);

/*
 * Checks the X-Slack-Request-Timestamp and X-Slack-Signature values (either
 * may be NULL) against body at time now (seconds since the epoch). The
 * comparison runs in constant time.
 */
enum slack_sig_result slack_sig_verify(const char *secret,
				       const char *timestamp,
				       const char *signature, const char *body,
				       size_t len, int64_t now);

/* A short word for logs: "missing", "stale", "forged". */
const char *slack_sig_reason(enum slack_sig_result r);

#endif
