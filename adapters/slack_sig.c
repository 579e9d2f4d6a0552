/*
 * Slack v0 request signatures: computed with OpenSSL's HMAC, compared with
 * CRYPTO_memcmp, timestamps checked against a five-minute window.
 */
#include "slack_sig.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../base/util.h"

int
slack_sig_compute(const char *secret, const char *timestamp, const char *body,
		  size_t len, char out[SLACK_SIG_LEN + 1])
{
	struct buf base = {0};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	buf_printf(&base, "v0:%s:", timestamp);
	buf_add(&base, body, len);
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
		 (const unsigned char *)base.data, base.len, md,
		 &mdlen) != NULL &&
	    mdlen == 32) {
		memcpy(out, "v0=", 3);
		hex_encode(md, 32, out + 3);
		rc = 0;
	} else {
		memset(out, 0, SLACK_SIG_LEN + 1); /* matches nothing */
	}
	OPENSSL_cleanse(md, sizeof(md));
	buf_free(&base);
	return rc;
}

/* The timestamp is all digits and within SLACK_SIG_MAX_SKEW of now. */
static int
timestamp_fresh(const char *ts, int64_t now)
{
	int64_t t = 0;
	size_t i;

	if (ts[0] == '\0' || strlen(ts) > 12)
		return 0;
	for (i = 0; ts[i] != '\0'; i++) {
		if (ts[i] < '0' || ts[i] > '9')
			return 0;
		t = t * 10 + (ts[i] - '0');
	}
	return t >= now - SLACK_SIG_MAX_SKEW && t <= now + SLACK_SIG_MAX_SKEW;
}

enum slack_sig_result
slack_sig_verify(const char *secret, const char *timestamp,
		 const char *signature, const char *body, size_t len,
		 int64_t now)
{
	char want[SLACK_SIG_LEN + 1];
	enum slack_sig_result r;

	if (timestamp == NULL || signature == NULL)
		return SLACK_SIG_MISSING;
	if (!timestamp_fresh(timestamp, now))
		return SLACK_SIG_STALE;
	/* the length is public (fixed); only the bytes need constant time */
	if (slack_sig_compute(secret, timestamp, body, len, want) < 0 ||
	    strlen(signature) != SLACK_SIG_LEN)
		r = SLACK_SIG_BAD;
	else
		r = CRYPTO_memcmp(want, signature, SLACK_SIG_LEN) == 0
			? SLACK_SIG_OK
			: SLACK_SIG_BAD;
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

const char *
slack_sig_reason(enum slack_sig_result r)
{
	switch (r) {
	case SLACK_SIG_OK:
		return "valid";
	case SLACK_SIG_MISSING:
		return "missing";
	case SLACK_SIG_STALE:
		return "stale";
	case SLACK_SIG_BAD:
		break;
	}
	return "forged";
}
