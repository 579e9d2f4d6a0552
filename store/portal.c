/*
 * The web portal's link tokens and session cookies (portal.h). Only the
 * SHA-256 of a secret is stored; lookups are by that hash.
 */
#include "portal.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

const char *
portal_refusal_name(enum portal_refusal r)
{
	switch (r) {
	case PORTAL_OK:
		return "ok";
	case PORTAL_MALFORMED:
		return "malformed";
	case PORTAL_UNKNOWN:
		return "unknown";
	case PORTAL_USED:
		return "replayed";
	case PORTAL_EXPIRED:
		return "expired";
	case PORTAL_REVOKED:
		return "revoked";
	case PORTAL_LEAVER:
		return "leaver";
	}
	return "unknown";
}

void
portal_b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
			     in[i + 2];

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
	}
	out[o] = '\0';
}

int
portal_secret_new(char out[PORTAL_SECRET_LEN + 1])
{
	unsigned char raw[32];

	out[0] = '\0';
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	portal_b64url(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int
portal_secret_wellformed(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (i >= PORTAL_SECRET_LEN ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	/* 32 bytes end in 4 bits of padding: the last character's low 2 */
	return i == PORTAL_SECRET_LEN && strchr("AEIMQUYcgkosw048", s[i - 1]);
}

void
portal_secret_hash(const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1 ||
	    len != 32) {
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	hex_encode(md, 32, out);
}

int64_t
portal_token_add(struct store *st, int64_t person_id, const char *via,
		 int64_t now, int64_t expires_at,
		 char out[PORTAL_SECRET_LEN + 1])
{
	char hash[65];

	if (portal_secret_new(out) < 0)
		return -1;
	portal_secret_hash(out, hash);
	if (db_exec(st,
		    "INSERT INTO portal_tokens (hash, person_id, made_via, "
		    "created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		    "titii", hash, person_id, via, now, expires_at) != 1) {
		out[0] = '\0';
		return -1;
	}
	return db_last_id(st);
}

/*
 * The row whose hash is the secret's, by sql (one "t" parameter): the
 * statement on that row, or NULL with *rc 0 (*why says: malformed or
 * unknown) or -1 (the database failed).
 */
static struct db_stmt *
secret_row(struct store *st, const char *secret, const char *sql,
	   enum portal_refusal *why, int *rc)
{
	struct db_stmt *s;
	char hash[65];
	int step;

	*rc = 0;
	if (!portal_secret_wellformed(secret)) {
		*why = PORTAL_MALFORMED;
		return NULL;
	}
	portal_secret_hash(secret, hash);
	s = db_prepare(st, sql, "t", hash);
	if (s == NULL) {
		*rc = -1;
		return NULL;
	}
	step = db_step(s);
	if (step == DB_ROW)
		return s;
	db_finish(st, s);
	*why = PORTAL_UNKNOWN;
	*rc = step == DB_DONE ? 0 : -1;
	return NULL;
}

int
portal_token_check(struct store *st, const char *secret, int64_t now,
		   int64_t *token_id, int64_t *person_id, int64_t *expires_at,
		   enum portal_refusal *why)
{
	struct db_stmt *s;
	int rc, active;
	int64_t used;

	*token_id = *person_id = *expires_at = 0;
	s = secret_row(st, secret,
		       "SELECT t.id, t.person_id, t.expires_at, "
		       "COALESCE(t.used_at, 0), p.active FROM portal_tokens t "
		       "JOIN people p ON p.id = t.person_id WHERE t.hash = ?",
		       why, &rc);
	if (s == NULL)
		return rc;
	*token_id = db_col_int(s, 0);
	*person_id = db_col_int(s, 1);
	*expires_at = db_col_int(s, 2);
	used = db_col_int(s, 3);
	active = (int)db_col_int(s, 4);
	db_finish(st, s);
	*why = used		    ? PORTAL_USED
	       : now >= *expires_at ? PORTAL_EXPIRED
	       : !active	    ? PORTAL_LEAVER
				    : PORTAL_OK;
	return *why == PORTAL_OK;
}

int
portal_token_use(struct store *st, const char *secret, int64_t now,
		 int64_t *token_id, int64_t *person_id,
		 enum portal_refusal *why)
{
	int64_t expires;
	int rc = portal_token_check(st, secret, now, token_id, person_id,
				    &expires, why);

	if (rc != 1)
		return rc;
	/* the update's condition makes a race between two uses lose one */
	rc = db_exec(st,
		     "UPDATE portal_tokens SET used_at = ? WHERE id = ? AND "
		     "used_at IS NULL",
		     "ii", now, *token_id);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*why = PORTAL_USED;
		return 0;
	}
	return 1;
}

int64_t
portal_session_add(struct store *st, int64_t person_id, int64_t token_id,
		   int64_t now, char out[PORTAL_SECRET_LEN + 1])
{
	char hash[65];

	if (portal_secret_new(out) < 0)
		return -1;
	portal_secret_hash(out, hash);
	if (db_exec(st,
		    "INSERT INTO portal_sessions (hash, person_id, token_id, "
		    "created_at, expires_at, last_seen_at) VALUES (?, ?, "
		    "NULLIF(?, 0), "
		    "?, ?, ?)",
		    "tiiiii", hash, person_id, token_id, now,
		    now + PORTAL_SESSION_SECONDS, now) != 1) {
		out[0] = '\0';
		return -1;
	}
	return db_last_id(st);
}

int
portal_session_find(struct store *st, const char *secret, int64_t now,
		    int64_t *session_id, int64_t *person_id, int64_t *last_seen,
		    enum portal_refusal *why)
{
	struct db_stmt *s;
	int rc, active;
	int64_t expires, revoked;

	*session_id = *person_id = *last_seen = 0;
	s = secret_row(st, secret,
		       "SELECT s.id, s.person_id, s.expires_at, "
		       "COALESCE(s.revoked_at, 0), s.last_seen_at, p.active "
		       "FROM portal_sessions s JOIN people p ON p.id = "
		       "s.person_id WHERE s.hash = ?",
		       why, &rc);
	if (s == NULL)
		return rc;
	*session_id = db_col_int(s, 0);
	*person_id = db_col_int(s, 1);
	expires = db_col_int(s, 2);
	revoked = db_col_int(s, 3);
	*last_seen = db_col_int(s, 4);
	active = (int)db_col_int(s, 5);
	db_finish(st, s);
	*why = revoked		? PORTAL_REVOKED
	       : now >= expires ? PORTAL_EXPIRED
	       : !active	? PORTAL_LEAVER
				: PORTAL_OK;
	return *why == PORTAL_OK;
}

int
portal_session_touch(struct store *st, int64_t session_id, int64_t now)
{
	return db_exec(st,
		       "UPDATE portal_sessions SET last_seen_at = ? WHERE id = "
		       "? AND last_seen_at < ?",
		       "iii", now, session_id, now) < 0
		   ? -1
		   : 0;
}

int
portal_session_revoke(struct store *st, int64_t id, int64_t person_id,
		      int64_t now)
{
	return db_exec(st,
		       "UPDATE portal_sessions SET revoked_at = ?1 WHERE "
		       "revoked_at IS NULL AND expires_at > ?1 AND (?2 = 0 OR "
		       "id = ?2) AND (?3 = 0 OR person_id = ?3)",
		       "iii", now, id, person_id);
}

int
portal_session_each(struct store *st, int64_t now, int live_only,
		    void (*fn)(void *arg, const struct portal_session_row *r),
		    void *arg)
{
	struct db_stmt *s =
	    db_prepare(st,
		       "SELECT s.id, p.handle, s.created_at, s.expires_at, "
		       "s.last_seen_at, COALESCE(s.revoked_at, 0) FROM "
		       "portal_sessions s JOIN people p ON p.id = s.person_id "
		       "WHERE ?1 = 0 OR (s.revoked_at IS NULL AND "
		       "s.expires_at > ?2) ORDER BY s.id DESC",
		       "ii", (int64_t)live_only, now);
	int rc, n = 0;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		struct portal_session_row r = {
		    .id = db_col_int(s, 0),
		    .handle = db_col(s, 1),
		    .created = db_col_int(s, 2),
		    .expires = db_col_int(s, 3),
		    .last_seen = db_col_int(s, 4),
		    .revoked = db_col_int(s, 5),
		};

		fn(arg, &r);
		n++;
	}
	db_finish(st, s);
	return rc == DB_DONE ? n : -1;
}
