/*
 * Reply tokens: the unguessable part of a per-request Reply-To address
 * (isms+<token>@reply_domain). Pure code, no store access.
 */
#ifndef ISMS_MAILTOKEN_H
#define ISMS_MAILTOKEN_H

#include <stdint.h>

/*
 * Characters of a token: 24 bytes in lower-case base32 (RFC 4648
 * alphabet, no padding). The bytes are a format version, a kind code,
 * the object id, the person id and the expiry (each 32 bits, big-endian)
 * and an 80-bit HMAC-SHA256 over the version, the kind's name and the
 * three numbers, keyed by the database's token_secret.
 */
#define MAILTOKEN_LEN 39

/*
 * What a token is for. The kind travels as a one-letter code; the table
 * in mailtoken.c maps codes to names ("approval", "quiz"). Adding a kind
 * is adding a row there; the format, the length and the verification
 * stay the same.
 */
struct mailtoken {
	const char *kind;  /* "approval", "quiz"; borrowed (static) */
	int64_t object_id; /* the APR number, a quiz_item_ref(); 1 .. 2^32-1 */
	int64_t person_id; /* to whom the token was issued */
	int64_t expires;   /* UTC seconds; valid while now <= expires */
};

enum mailtoken_status {
	MAILTOKEN_OK = 0,
	MAILTOKEN_MALFORMED, /* not a token of ours (length, alphabet, kind) */
	MAILTOKEN_FORGED,    /* the MAC does not match: tampered or foreign */
	MAILTOKEN_EXPIRED,   /* genuine but past its expiry */
};

/*
 * Makes the token for t with secret (the token_secret setting). out gets
 * MAILTOKEN_LEN characters and a NUL. 0, or -1 for an unknown kind or an
 * id or expiry out of range.
 */
int mailtoken_make(const char *secret, const struct mailtoken *t,
		   char out[MAILTOKEN_LEN + 1]);

/*
 * Checks text (any case; mail systems may change it) at time now. Fills
 * *out (kind borrowed, static) for OK and EXPIRED only. The MAC is
 * compared in constant time.
 */
enum mailtoken_status mailtoken_check(const char *secret, const char *text,
				      int64_t now, struct mailtoken *out);

/* A short phrase for a status, for logs and refusals. */
const char *mailtoken_status_str(enum mailtoken_status s);

#endif
