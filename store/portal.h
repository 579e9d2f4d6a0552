/*
 * The web portal's secrets: one-time link tokens and session cookies.
 * Each is 32 random bytes written in base64url; only its SHA-256 is kept
 * (portal_tokens, portal_sessions), bound to one person. A token is used
 * once and expires; a session lasts PORTAL_SESSION_SECONDS unless revoked
 * or its person leaves.
 */
#ifndef ISMS_PORTAL_STORE_H
#define ISMS_PORTAL_STORE_H

#include <stdint.h>

#include "store.h"

#define PORTAL_SECRET_LEN      43	  /* base64url of 32 bytes, unpadded */
#define PORTAL_LINK_SECONDS    (15 * 60)  /* a link made from chat */
#define PORTAL_LINK_MAX_HOURS  24	  /* ismsctl portal-link --hours */
#define PORTAL_SESSION_SECONDS (8 * 3600) /* a session's life */

/* Why a token or cookie opened nothing (all shown to people alike). */
enum portal_refusal {
	PORTAL_OK,
	PORTAL_MALFORMED, /* not 43 base64url characters */
	PORTAL_UNKNOWN,	  /* no such hash: tampered or made up */
	PORTAL_USED,	  /* a link used before (replayed) */
	PORTAL_EXPIRED,
	PORTAL_REVOKED, /* a session revoked or logged out */
	PORTAL_LEAVER,	/* the person was deactivated */
};

/* "expired", "replayed", ...: for audit rows and logs; static. */
const char *portal_refusal_name(enum portal_refusal r);

/* A new secret from OpenSSL's RAND_bytes into out: 0, or -1. */
int portal_secret_new(char out[PORTAL_SECRET_LEN + 1]);
/* 1 when s is PORTAL_SECRET_LEN base64url characters, else 0. */
int portal_secret_wellformed(const char *s);
/* SHA-256 of s in hex. */
void portal_secret_hash(const char *s, char out[65]);
/* base64url without padding of in[0..n) into out (4 * n / 3 + 4 bytes). */
void portal_b64url(const unsigned char *in, size_t n, char *out);

/*
 * A link token for person_id valid until expires_at, in the caller's
 * transaction; via says who made it ("chat", "ismsctl"). The secret
 * goes into out, its hash into the table. Returns its id, or -1.
 */
int64_t portal_token_add(struct store *st, int64_t person_id, const char *via,
			 int64_t now, int64_t expires_at,
			 char out[PORTAL_SECRET_LEN + 1]);

/*
 * Uses the link token secret at now, in the caller's transaction: 1
 * with *token_id and *person_id set (the token is marked used), 0 with
 * *why when it opens nothing (*person_id set when known), -1 on a
 * database error. An inactive person's token is refused (leaver).
 */
int portal_token_use(struct store *st, const char *secret, int64_t now,
		     int64_t *token_id, int64_t *person_id,
		     enum portal_refusal *why);

/*
 * What portal_token_use would say of secret at now, writing nothing: 1
 * with *person_id and *expires_at set when it would open a session, 0
 * with *why when not (*person_id set when known), -1 on a database
 * error. A link's sign-in page uses it: viewing a link does not use it.
 */
int portal_token_check(struct store *st, const char *secret, int64_t now,
		       int64_t *token_id, int64_t *person_id,
		       int64_t *expires_at, enum portal_refusal *why);

/*
 * A session for person_id made from token_id, in the caller's
 * transaction; its cookie secret into out. Returns its id, or -1.
 */
int64_t portal_session_add(struct store *st, int64_t person_id,
			   int64_t token_id, int64_t now,
			   char out[PORTAL_SECRET_LEN + 1]);

/*
 * The live session of the cookie secret at now: 1 with *session_id,
 * *person_id and *last_seen set; 0 with *why (revoked, expired, leaver,
 * unknown; *person_id set when known); -1 on a database error.
 */
int portal_session_find(struct store *st, const char *secret, int64_t now,
			int64_t *session_id, int64_t *person_id,
			int64_t *last_seen, enum portal_refusal *why);

/* Records that the session was seen at now: 0 or -1. */
int portal_session_touch(struct store *st, int64_t session_id, int64_t now);

/*
 * Ends a session (id > 0), every session of a person (person_id > 0) or
 * every session (both 0) still live at now. Returns how many, or -1.
 */
int portal_session_revoke(struct store *st, int64_t id, int64_t person_id,
			  int64_t now);

/* One row of portal_session_each; borrowed for the call. */
struct portal_session_row {
	int64_t id;
	const char *handle;
	int64_t created, expires, last_seen, revoked; /* 0: not revoked */
};

/*
 * Calls fn for each session, newest first; live_only leaves out the
 * revoked and expired. Returns the count, or -1.
 */
int portal_session_each(struct store *st, int64_t now, int live_only,
			void (*fn)(void *arg,
				   const struct portal_session_row *r),
			void *arg);

#endif
