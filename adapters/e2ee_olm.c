/*
 * End-to-end encryption for the Matrix transport with libolm (Olm for
 * device-to-device messages, Megolm for rooms). Implements e2ee.h.
 *
 * The account lives in memory for the device's lifetime and is written
 * back to the store whenever it changes; every other session is read
 * from the store when used and written back in the same transaction as
 * whatever its use changed (a nested store_begin is a savepoint, so the
 * caller's transaction is used when there is one). Random bytes come
 * from OpenSSL; buffers that held secrets are wiped before they are
 * freed.
 */
#include "e2ee.h"

#include <olm/olm.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"
#include "../base/util.h"

#define E2EE_KEY_REQUEST_SECS 3600 /* one m.room_key_request per hour */
#define E2EE_SESSIONS_TRIED   16   /* Olm sessions tried per sender key */
#define E2EE_QUERY_TIMEOUT_MS 10000

struct e2ee {
	struct store *st;
	int64_t account_id;
	char *user_id;
	char *device_id;
	unsigned char *key; /* the pickle key */
	size_t keylen;
	enum e2ee_trust trust;
	int published; /* the device keys are on the server */
	OlmAccount *acct;
	char curve[64];
	char ed[64];
};

/* ---- small helpers ---- */

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
wipe_free(void *p, size_t n)
{
	if (p != NULL)
		OPENSSL_cleanse(p, n);
	free(p);
}

/* Wipes the text of the string member k of o (a key about to be freed). */
static void
wipe_json_key(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v),
				json_string_length(v));
}

/* n random bytes (wiped and freed by the caller), or NULL. */
static unsigned char *
rnd(size_t n)
{
	unsigned char *r = xmalloc(n ? n : 1);

	if (n > 0 && RAND_bytes(r, (int)n) != 1) {
		free(r);
		log_error("matrix e2ee: no random bytes from OpenSSL");
		return NULL;
	}
	return r;
}

static int
tx_begin(struct e2ee *e)
{
	return store_begin(e->st);
}

static int
tx_end(struct e2ee *e, int ok)
{
	if (ok && store_commit(e->st) == 0)
		return 0;
	store_rollback(e->st);
	return -1;
}

/* ---- canonical JSON ---- */

static void
canon_string(struct buf *b, const char *s, size_t n)
{
	size_t i;

	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\b':
			buf_puts(b, "\\b");
			break;
		case '\f':
			buf_puts(b, "\\f");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (c < 0x20)
				buf_printf(b, "\\u%04x", c);
			else
				buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
canon_put(struct buf *b, json_t *v, int top)
{
	size_t i, n;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char **keys;
		const char *k;
		json_t *x;
		int rc = 0;

		keys = xcalloc(json_object_size(v) + 1, sizeof(*keys));
		n = 0;
		json_object_foreach(v, k, x)
		{
			if (top && (strcmp(k, "signatures") == 0 ||
				    strcmp(k, "unsigned") == 0))
				continue;
			keys[n++] = k;
		}
		qsort(keys, n, sizeof(*keys), key_cmp);
		buf_putc(b, '{');
		for (i = 0; i < n && rc == 0; i++) {
			if (i > 0)
				buf_putc(b, ',');
			canon_string(b, keys[i], strlen(keys[i]));
			buf_putc(b, ':');
			rc = canon_put(b, json_object_get(v, keys[i]), 0);
		}
		buf_putc(b, '}');
		free(keys);
		return rc;
	}
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				buf_putc(b, ',');
			if (canon_put(b, json_array_get(v, i), 0) < 0)
				return -1;
		}
		buf_putc(b, ']');
		return 0;
	case JSON_STRING:
		canon_string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	case JSON_TRUE:
		buf_puts(b, "true");
		return 0;
	case JSON_FALSE:
		buf_puts(b, "false");
		return 0;
	case JSON_NULL:
		buf_puts(b, "null");
		return 0;
	default: /* canonical JSON has no fractions */
		return -1;
	}
}

char *
e2ee_canonical(json_t *obj)
{
	struct buf b = {0};

	if (obj == NULL || canon_put(&b, obj, json_is_object(obj)) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

int
e2ee_verify(json_t *obj, const char *user_id, const char *key_id,
	    const char *ed25519)
{
	const char *sig;
	char *canon = NULL, *sigcopy = NULL;
	OlmUtility *u = NULL;
	int ok = 0;

	if (obj == NULL || user_id == NULL || key_id == NULL || ed25519 == NULL)
		return 0;
	sig = json_string_value(json_object_get(
	    json_object_get(json_object_get(obj, "signatures"), user_id),
	    key_id));
	if (sig == NULL || *sig == '\0')
		return 0;
	canon = e2ee_canonical(obj);
	if (canon == NULL)
		return 0;
	sigcopy = xstrdup(sig);
	u = olm_utility(xmalloc(olm_utility_size()));
	ok = olm_ed25519_verify(u, ed25519, strlen(ed25519), canon,
				strlen(canon), sigcopy,
				strlen(sigcopy)) != olm_error();
	olm_clear_utility(u);
	free(u);
	free(sigcopy);
	free(canon);
	return ok;
}

/* Adds our signature to obj (signatures.USER."ed25519:DEVICE"). */
static int
sign_object(struct e2ee *e, json_t *obj)
{
	char *canon = e2ee_canonical(obj), *kid;
	size_t n = olm_account_signature_length(e->acct);
	char *sig;
	json_t *sigs, *mine;

	if (canon == NULL)
		return -1;
	sig = xmalloc(n + 1);
	if (olm_account_sign(e->acct, canon, strlen(canon), sig, n) ==
	    olm_error()) {
		free(sig);
		free(canon);
		return -1;
	}
	sig[n] = '\0';
	free(canon);
	sigs = json_object_get(obj, "signatures");
	if (!json_is_object(sigs)) {
		sigs = json_object();
		json_object_set_new(obj, "signatures", sigs);
	}
	mine = json_object_get(sigs, e->user_id);
	if (!json_is_object(mine)) {
		mine = json_object();
		json_object_set_new(sigs, e->user_id, mine);
	}
	kid = xasprintf("ed25519:%s", e->device_id);
	json_object_set_new(mine, kid, json_string(sig));
	free(kid);
	free(sig);
	return 0;
}

/* ---- pickles ---- */

static char *
pickle_account(struct e2ee *e)
{
	size_t n = olm_pickle_account_length(e->acct);
	char *p = xmalloc(n + 1);

	if (olm_pickle_account(e->acct, e->key, e->keylen, p, n) ==
	    olm_error()) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

static char *
pickle_session(struct e2ee *e, OlmSession *s)
{
	size_t n = olm_pickle_session_length(s);
	char *p = xmalloc(n + 1);

	if (olm_pickle_session(s, e->key, e->keylen, p, n) == olm_error()) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

static char *
pickle_in(struct e2ee *e, OlmInboundGroupSession *s)
{
	size_t n = olm_pickle_inbound_group_session_length(s);
	char *p = xmalloc(n + 1);

	if (olm_pickle_inbound_group_session(s, e->key, e->keylen, p, n) ==
	    olm_error()) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

static char *
pickle_out(struct e2ee *e, OlmOutboundGroupSession *s)
{
	size_t n = olm_pickle_outbound_group_session_length(s);
	char *p = xmalloc(n + 1);

	if (olm_pickle_outbound_group_session(s, e->key, e->keylen, p, n) ==
	    olm_error()) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

static void
session_free(OlmSession *s)
{
	if (s == NULL)
		return;
	olm_clear_session(s);
	free(s);
}

static void
in_free(OlmInboundGroupSession *s)
{
	if (s == NULL)
		return;
	olm_clear_inbound_group_session(s);
	free(s);
}

static void
out_free(OlmOutboundGroupSession *s)
{
	if (s == NULL)
		return;
	olm_clear_outbound_group_session(s);
	free(s);
}

static OlmSession *
unpickle_session(struct e2ee *e, const char *pickle)
{
	OlmSession *s = olm_session(xmalloc(olm_session_size()));
	size_t n = strlen(pickle);
	char *p = xstrdup(pickle);
	size_t r = olm_unpickle_session(s, e->key, e->keylen, p, n);

	wipe_free(p, n); /* libolm decrypted it in place */
	if (r == olm_error()) {
		session_free(s);
		return NULL;
	}
	return s;
}

static OlmInboundGroupSession *
unpickle_in(struct e2ee *e, const char *pickle)
{
	OlmInboundGroupSession *s = olm_inbound_group_session(
	    xmalloc(olm_inbound_group_session_size()));
	size_t n = strlen(pickle);
	char *p = xstrdup(pickle);
	size_t r =
	    olm_unpickle_inbound_group_session(s, e->key, e->keylen, p, n);

	wipe_free(p, n); /* libolm decrypted it in place */
	if (r == olm_error()) {
		in_free(s);
		return NULL;
	}
	return s;
}

static OlmOutboundGroupSession *
unpickle_out(struct e2ee *e, const char *pickle)
{
	OlmOutboundGroupSession *s = olm_outbound_group_session(
	    xmalloc(olm_outbound_group_session_size()));
	size_t n = strlen(pickle);
	char *p = xstrdup(pickle);
	size_t r =
	    olm_unpickle_outbound_group_session(s, e->key, e->keylen, p, n);

	wipe_free(p, n); /* libolm decrypted it in place */
	if (r == olm_error()) {
		out_free(s);
		return NULL;
	}
	return s;
}

static int
account_save(struct e2ee *e)
{
	char *p = pickle_account(e);
	int rc;

	if (p == NULL)
		return -1;
	rc = db_exec(e->st,
		     "UPDATE e2ee_account SET pickle = ?, keys_published = ? "
		     "WHERE id = ?",
		     "tii", p, (int64_t)e->published, e->account_id);
	free(p);
	return rc < 0 ? -1 : 0;
}

/* An Olm session's id, a new string or NULL. */
static char *
session_id_of(OlmSession *s)
{
	size_t n = olm_session_id_length(s);
	char *id = xmalloc(n + 1);

	if (olm_session_id(s, id, n) == olm_error()) {
		free(id);
		return NULL;
	}
	id[n] = '\0';
	return id;
}

/* Writes an Olm session with curve (a new row when rowid is 0). */
static int
session_save(struct e2ee *e, const char *curve, OlmSession *s, int64_t rowid)
{
	char *p = pickle_session(e, s), *sid = NULL;
	int64_t now = store_now(e->st);
	int rc;

	if (p == NULL)
		return -1;
	if (rowid > 0) {
		rc = db_exec(e->st,
			     "UPDATE e2ee_olm_sessions SET pickle = ?, "
			     "last_used_at = ? WHERE id = ?",
			     "tii", p, now, rowid);
	} else {
		sid = session_id_of(s);
		rc = sid == NULL
			 ? -1
			 : db_exec(e->st,
				   "INSERT INTO e2ee_olm_sessions "
				   "(account_id, curve25519, session_id, "
				   "pickle, created_at, last_used_at) VALUES "
				   "(?, ?, ?, ?, ?, ?) ON CONFLICT(account_id, "
				   "curve25519, session_id) DO UPDATE SET "
				   "pickle = excluded.pickle, created_at = "
				   "excluded.created_at, last_used_at = "
				   "excluded.last_used_at",
				   "itttii", e->account_id, curve, sid, p, now,
				   now);
	}
	free(sid);
	free(p);
	return rc < 0 ? -1 : 0;
}

/* ---- opening ---- */

static int
read_identity(struct e2ee *e)
{
	size_t n = olm_account_identity_keys_length(e->acct);
	char *buf = xmalloc(n + 1);
	json_t *j = NULL;
	const char *c, *d;
	int rc = -1;

	if (olm_account_identity_keys(e->acct, buf, n) == olm_error())
		goto out;
	buf[n] = '\0';
	j = json_loads(buf, 0, NULL);
	c = jstr(j, "curve25519");
	d = jstr(j, "ed25519");
	if (c == NULL || d == NULL || strlen(c) >= sizeof(e->curve) ||
	    strlen(d) >= sizeof(e->ed))
		goto out;
	snprintf(e->curve, sizeof(e->curve), "%s", c);
	snprintf(e->ed, sizeof(e->ed), "%s", d);
	rc = 0;
out:
	json_decref(j);
	free(buf);
	return rc;
}

void
e2ee_free(struct e2ee *e)
{
	if (e == NULL)
		return;
	if (e->acct != NULL) {
		olm_clear_account(e->acct);
		free(e->acct);
	}
	wipe_free(e->key, e->keylen);
	free(e->user_id);
	free(e->device_id);
	free(e);
}

struct e2ee *
e2ee_open(struct store *st, const char *user_id, const char *device_id,
	  const char *pickle_key, size_t keylen, enum e2ee_trust trust,
	  char *err, size_t errlen)
{
	struct e2ee *e;
	struct db_stmt *s;
	char *pickle = NULL;
	size_t picklen = 0;
	int found = 0;

	if (st == NULL || user_id == NULL || *user_id == '\0' ||
	    device_id == NULL || *device_id == '\0') {
		snprintf(err, errlen, "matrix e2ee: no user or device id");
		return NULL;
	}
	if (pickle_key == NULL || keylen == 0) {
		snprintf(err, errlen, "matrix e2ee: the pickle key is empty");
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	e->st = st;
	e->user_id = xstrdup(user_id);
	e->device_id = xstrdup(device_id);
	e->key = xmalloc(keylen);
	memcpy(e->key, pickle_key, keylen);
	e->keylen = keylen;
	e->trust = trust;
	e->acct = olm_account(xmalloc(olm_account_size()));

	s = db_prepare(st,
		       "SELECT id, pickle, keys_published FROM e2ee_account "
		       "WHERE user_id = ? AND device_id = ?",
		       "tt", user_id, device_id);
	if (s == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: cannot read the device %s from the "
			 "database",
			 device_id);
		goto fail;
	}
	if (db_step(s) == DB_ROW) {
		found = 1;
		e->account_id = db_col_int(s, 0);
		pickle = xstrdup(db_col(s, 1));
		picklen = strlen(pickle);
		e->published = db_col_int(s, 2) != 0;
	}
	db_finish(st, s);
	if (found) {
		/* libolm decrypts the buffer in place: wiped below */
		if (olm_unpickle_account(e->acct, e->key, e->keylen, pickle,
					 picklen) == olm_error()) {
			if (olm_account_last_error_code(e->acct) ==
			    OLM_BAD_ACCOUNT_KEY)
				snprintf(err, errlen,
					 "matrix e2ee: the pickle key does "
					 "not open the stored keys of device "
					 "%s (it was stored with another key)",
					 device_id);
			else
				snprintf(err, errlen,
					 "matrix e2ee: the stored keys of "
					 "device %s cannot be read (%s)",
					 device_id,
					 olm_account_last_error(e->acct));
			goto fail;
		}
	} else {
		size_t rn = olm_create_account_random_length(e->acct);
		unsigned char *r = rnd(rn);
		char *p;
		int ok;

		if (r == NULL ||
		    olm_create_account(e->acct, r, rn) == olm_error()) {
			wipe_free(r, rn);
			snprintf(err, errlen,
				 "matrix e2ee: cannot create the keys of "
				 "device %s",
				 device_id);
			goto fail;
		}
		wipe_free(r, rn);
		p = pickle_account(e);
		ok = p != NULL && tx_begin(e) == 0;
		if (ok) {
			ok = db_exec(st,
				     "INSERT INTO e2ee_account (user_id, "
				     "device_id, pickle, keys_published, "
				     "created_at) VALUES (?, ?, ?, 0, ?)",
				     "ttti", user_id, device_id, p,
				     store_now(st)) == 1;
			e->account_id = db_last_id(st);
			ok = tx_end(e, ok) == 0;
		}
		free(p);
		if (!ok) {
			snprintf(err, errlen,
				 "matrix e2ee: cannot store the keys of device "
				 "%s",
				 device_id);
			goto fail;
		}
	}
	if (read_identity(e) < 0) {
		snprintf(err, errlen,
			 "matrix e2ee: cannot read the identity keys of "
			 "device %s",
			 device_id);
		goto fail;
	}
	wipe_free(pickle, picklen);
	return e;
fail:
	wipe_free(pickle, picklen);
	e2ee_free(e);
	return NULL;
}

const char *
e2ee_curve25519(const struct e2ee *e)
{
	return e->curve;
}

const char *
e2ee_ed25519(const struct e2ee *e)
{
	return e->ed;
}

/* ---- publishing keys ---- */

static json_t *
device_keys(struct e2ee *e)
{
	json_t *dk = json_object(), *keys = json_object();
	char *k;

	json_object_set_new(dk, "user_id", json_string(e->user_id));
	json_object_set_new(dk, "device_id", json_string(e->device_id));
	json_object_set_new(dk, "algorithms",
			    json_pack("[ss]", E2EE_OLM, E2EE_MEGOLM));
	k = xasprintf("curve25519:%s", e->device_id);
	json_object_set_new(keys, k, json_string(e->curve));
	free(k);
	k = xasprintf("ed25519:%s", e->device_id);
	json_object_set_new(keys, k, json_string(e->ed));
	free(k);
	json_object_set_new(dk, "keys", keys);
	if (sign_object(e, dk) < 0) {
		json_decref(dk);
		return NULL;
	}
	return dk;
}

/* The account's unpublished one-time keys ({"curve25519": {id: key}}). */
static json_t *
unpublished_keys(struct e2ee *e)
{
	size_t n = olm_account_one_time_keys_length(e->acct);
	char *buf = xmalloc(n + 1);
	json_t *j = NULL;

	if (olm_account_one_time_keys(e->acct, buf, n) != olm_error()) {
		buf[n] = '\0';
		j = json_loads(buf, 0, NULL);
	}
	free(buf);
	return j;
}

/* Signed keys {"signed_curve25519:ID": {"key", ["fallback"], sigs}}. */
static int
add_signed_keys(struct e2ee *e, json_t *dst, json_t *keys, int fallback)
{
	const char *id;
	json_t *v;

	json_object_foreach(json_object_get(keys, "curve25519"), id, v)
	{
		json_t *o = json_object();
		char *name;

		json_object_set(o, "key", v);
		if (fallback)
			json_object_set_new(o, "fallback", json_true());
		if (sign_object(e, o) < 0) {
			json_decref(o);
			return -1;
		}
		name = xasprintf("signed_curve25519:%s", id);
		json_object_set_new(dst, name, o);
		free(name);
	}
	return 0;
}

static json_t *
fallback_keys(struct e2ee *e, int unpublished)
{
	size_t n = unpublished
		       ? olm_account_unpublished_fallback_key_length(e->acct)
		       : olm_account_fallback_key_length(e->acct);
	char *buf = xmalloc(n + 1);
	size_t r = unpublished
		       ? olm_account_unpublished_fallback_key(e->acct, buf, n)
		       : olm_account_fallback_key(e->acct, buf, n);
	json_t *j = NULL;

	if (r != olm_error()) {
		buf[r] = '\0';
		j = json_loads(buf, 0, NULL);
	}
	free(buf);
	return j;
}

/* A new fallback key (the previous one is still accepted). 0 or -1. */
static int
new_fallback_key(struct e2ee *e)
{
	size_t rn = olm_account_generate_fallback_key_random_length(e->acct);
	unsigned char *r = rnd(rn);
	int rc = 0;

	if (r == NULL ||
	    olm_account_generate_fallback_key(e->acct, r, rn) == olm_error())
		rc = -1;
	wipe_free(r, rn);
	return rc;
}

json_t *
e2ee_upload_body(struct e2ee *e, long server_count)
{
	json_t *body = json_object(), *otk = NULL, *fb = NULL, *signed_otk;
	long target =
	    (long)olm_account_max_number_of_one_time_keys(e->acct) / 2;
	long have, need;
	int changed = 0;

	if (!e->published) {
		json_t *dk = device_keys(e);

		if (dk == NULL)
			goto fail;
		json_object_set_new(body, "device_keys", dk);
	}
	if (server_count < 0)
		server_count = e->published ? target : 0;
	otk = unpublished_keys(e);
	if (otk == NULL)
		goto fail;
	have = (long)json_object_size(json_object_get(otk, "curve25519"));
	need = target - server_count - have;
	if (need > 0) {
		size_t rn = olm_account_generate_one_time_keys_random_length(
		    e->acct, (size_t)need);
		unsigned char *r = rnd(rn);

		if (r == NULL ||
		    olm_account_generate_one_time_keys(e->acct, (size_t)need, r,
						       rn) == olm_error()) {
			wipe_free(r, rn);
			goto fail;
		}
		wipe_free(r, rn);
		changed = 1;
		json_decref(otk);
		otk = unpublished_keys(e);
		if (otk == NULL)
			goto fail;
	}
	signed_otk = json_object();
	if (add_signed_keys(e, signed_otk, otk, 0) < 0) {
		json_decref(signed_otk);
		goto fail;
	}
	if (json_object_size(signed_otk) > 0)
		json_object_set_new(body, "one_time_keys", signed_otk);
	else
		json_decref(signed_otk);

	/* one fallback key, for when the one-time keys run out */
	fb = fallback_keys(e, 0);
	if (fb == NULL ||
	    json_object_size(json_object_get(fb, "curve25519")) == 0) {
		if (new_fallback_key(e) < 0)
			goto fail;
		changed = 1;
	}
	json_decref(fb);
	fb = fallback_keys(e, 1);
	if (fb != NULL && json_object_size(json_object_get(fb, "curve25519"))) {
		json_t *sf = json_object();

		if (add_signed_keys(e, sf, fb, 1) < 0) {
			json_decref(sf);
			goto fail;
		}
		json_object_set_new(body, "fallback_keys", sf);
	}
	if (changed) {
		int ok = tx_begin(e) == 0;

		if (ok)
			ok = tx_end(e, account_save(e) == 0) == 0;
		if (!ok)
			goto fail;
	}
	json_decref(otk);
	json_decref(fb);
	if (json_object_size(body) == 0) {
		json_decref(body);
		return NULL;
	}
	return body;
fail:
	log_error("matrix e2ee: cannot make the keys to upload for device %s",
		  e->device_id);
	json_decref(otk);
	json_decref(fb);
	json_decref(body);
	return NULL;
}

int
e2ee_upload_done(struct e2ee *e)
{
	int was = e->published;

	olm_account_mark_keys_as_published(e->acct);
	e->published = 1;
	if (tx_begin(e) < 0 || tx_end(e, account_save(e) == 0) < 0) {
		e->published = was;
		return -1;
	}
	return 0;
}

/* ---- devices ---- */

/* Sets the key_changed flag of a device; logs the first time only. */
static void
device_key_changed(struct e2ee *e, const char *user, const char *device)
{
	if (db_exec(e->st,
		    "UPDATE e2ee_devices SET key_changed = 1 WHERE user_id = "
		    "? AND device_id = ? AND key_changed = 0",
		    "tt", user, device) > 0)
		log_warnx("matrix e2ee: the keys of device %s of %s changed; "
			  "the device is refused",
			  device, user);
}

void
e2ee_devices_stale(struct e2ee *e, const char *user_id)
{
	if (user_id == NULL)
		return;
	db_exec(e->st,
		"INSERT INTO e2ee_device_lists (user_id, stale, updated_at) "
		"VALUES (?, 1, ?) ON CONFLICT(user_id) DO UPDATE SET stale = "
		"1, updated_at = excluded.updated_at",
		"ti", user_id, store_now(e->st));
}

json_t *
e2ee_query_body(struct e2ee *e, const char *const *users, size_t n)
{
	json_t *dk = json_object();
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t stale = 1;

		if (users[i] == NULL || json_object_get(dk, users[i]))
			continue;
		if (db_int(e->st, &stale,
			   "SELECT stale FROM e2ee_device_lists WHERE "
			   "user_id = ?",
			   "t", users[i]) != 1)
			stale = 1;
		if (stale)
			json_object_set_new(dk, users[i], json_array());
	}
	if (json_object_size(dk) == 0) {
		json_decref(dk);
		return NULL;
	}
	return json_pack("{s:o,s:i}", "device_keys", dk, "timeout",
			 E2EE_QUERY_TIMEOUT_MS);
}

/* One device from /keys/query: 0 stored or refused, -1 database error. */
static int
query_device(struct e2ee *e, const char *user, const char *device, json_t *d)
{
	const char *curve, *ed;
	char *kc, *ke, *old_c = NULL, *old_e = NULL;
	struct db_stmt *s;
	int found = 0, rc = 0;

	if (!json_is_object(d))
		return 0;
	kc = xasprintf("curve25519:%s", device);
	ke = xasprintf("ed25519:%s", device);
	curve = jstr(json_object_get(d, "keys"), kc);
	ed = jstr(json_object_get(d, "keys"), ke);
	if (strcmp(user, e->user_id) == 0 && strcmp(device, e->device_id) == 0)
		goto out; /* this device */
	if (!json_is_string(json_object_get(d, "user_id")) ||
	    strcmp(jstr(d, "user_id"), user) != 0 ||
	    !json_is_string(json_object_get(d, "device_id")) ||
	    strcmp(jstr(d, "device_id"), device) != 0) {
		log_warnx("matrix e2ee: device %s of %s is filed under other "
			  "ids; refused",
			  device, user);
		goto out;
	}
	if (curve == NULL || ed == NULL || !e2ee_verify(d, user, ke, ed)) {
		log_warnx("matrix e2ee: device %s of %s has no valid "
			  "self-signature; refused",
			  device, user);
		goto out;
	}
	s = db_prepare(e->st,
		       "SELECT curve25519, ed25519 FROM e2ee_devices WHERE "
		       "user_id = ? AND device_id = ?",
		       "tt", user, device);
	if (s == NULL) {
		rc = -1;
		goto out;
	}
	if (db_step(s) == DB_ROW) {
		found = 1;
		old_c = xstrdup(db_col(s, 0));
		old_e = xstrdup(db_col(s, 1));
	}
	db_finish(e->st, s);
	if (!found) {
		if (db_exec(e->st,
			    "INSERT INTO e2ee_devices (user_id, device_id, "
			    "curve25519, ed25519, first_seen) VALUES (?, ?, "
			    "?, ?, ?)",
			    "tttti", user, device, curve, ed,
			    store_now(e->st)) < 0)
			rc = -1;
	} else if (strcmp(old_c, curve) == 0 && strcmp(old_e, ed) == 0) {
		if (db_exec(e->st,
			    "UPDATE e2ee_devices SET deleted = 0 WHERE user_id "
			    "= ? AND device_id = ?",
			    "tt", user, device) < 0)
			rc = -1;
	} else {
		device_key_changed(e, user, device);
	}
out:
	free(old_c);
	free(old_e);
	free(kc);
	free(ke);
	return rc;
}

int
e2ee_query_done(struct e2ee *e, json_t *response)
{
	json_t *all = json_object_get(response, "device_keys"), *devs, *d;
	const char *user, *dev;
	int ok;

	if (!json_is_object(all))
		return -1;
	if (tx_begin(e) < 0)
		return -1;
	ok = 1;
	json_object_foreach(all, user, devs)
	{
		struct db_stmt *s;
		json_t *gone = json_array();
		size_t i;

		if (!json_is_object(devs)) {
			json_decref(gone);
			continue;
		}
		json_object_foreach(devs, dev, d)
		{
			if (query_device(e, user, dev, d) < 0)
				ok = 0;
		}
		/* devices no longer listed are kept (their keys) but unused */
		s = db_prepare(e->st,
			       "SELECT device_id FROM e2ee_devices WHERE "
			       "user_id = ? AND deleted = 0",
			       "t", user);
		while (s != NULL && db_step(s) == DB_ROW)
			if (json_object_get(devs, db_col(s, 0)) == NULL)
				json_array_append_new(
				    gone, json_string(db_col(s, 0)));
		db_finish(e->st, s);
		for (i = 0; i < json_array_size(gone); i++)
			if (db_exec(
				e->st,
				"UPDATE e2ee_devices SET deleted = 1 WHERE "
				"user_id = ? AND device_id = ?",
				"tt", user,
				json_string_value(json_array_get(gone, i))) < 0)
				ok = 0;
		json_decref(gone);
		if (db_exec(e->st,
			    "INSERT INTO e2ee_device_lists (user_id, stale, "
			    "updated_at) VALUES (?, 0, ?) ON CONFLICT(user_id) "
			    "DO UPDATE SET stale = 0, updated_at = "
			    "excluded.updated_at",
			    "ti", user, store_now(e->st)) < 0)
			ok = 0;
	}
	return tx_end(e, ok);
}

/*
 * The devices of users[0..n) this device may send keys to, sorted, as an
 * array of [user, device, curve25519, ed25519].
 */
static json_t *
trusted_devices(struct e2ee *e, const char *const *users, size_t n)
{
	json_t *out = json_array(), *seen = json_object();
	size_t i;

	for (i = 0; i < n; i++) {
		struct db_stmt *s;

		if (users[i] == NULL || json_object_get(seen, users[i]))
			continue;
		json_object_set_new(seen, users[i], json_true());
		s = db_prepare(e->st,
			       "SELECT device_id, curve25519, ed25519 FROM "
			       "e2ee_devices WHERE user_id = ? AND deleted = 0 "
			       "AND key_changed = 0 AND verified >= ? ORDER BY "
			       "device_id",
			       "ti", users[i],
			       (int64_t)(e->trust == E2EE_VERIFIED));
		while (s != NULL && db_step(s) == DB_ROW) {
			if (strcmp(users[i], e->user_id) == 0 &&
			    strcmp(db_col(s, 0), e->device_id) == 0)
				continue;
			json_array_append_new(
			    out, json_pack("[ssss]", users[i], db_col(s, 0),
					   db_col(s, 1), db_col(s, 2)));
		}
		db_finish(e->st, s);
	}
	json_decref(seen);
	return out;
}

/* The newest Olm session with curve: 1 (*s, *rowid set), 0 none, -1. */
static int
newest_session(struct e2ee *e, const char *curve, OlmSession **out,
	       int64_t *rowid)
{
	struct db_stmt *s;
	int rc = 0;

	*out = NULL;
	s = db_prepare(e->st,
		       "SELECT id, pickle FROM e2ee_olm_sessions WHERE "
		       "account_id = ? AND curve25519 = ? ORDER BY created_at "
		       "DESC, id DESC LIMIT 1",
		       "it", e->account_id, curve);
	if (s == NULL)
		return -1;
	if (db_step(s) == DB_ROW) {
		*rowid = db_col_int(s, 0);
		*out = unpickle_session(e, db_col(s, 1));
		rc = *out != NULL ? 1 : -1;
	}
	db_finish(e->st, s);
	return rc;
}

json_t *
e2ee_claim_body(struct e2ee *e, const char *const *users, size_t n)
{
	json_t *devs = trusted_devices(e, users, n), *otk = json_object();
	size_t i;

	for (i = 0; i < json_array_size(devs); i++) {
		json_t *d = json_array_get(devs, i), *u;
		const char *user = json_string_value(json_array_get(d, 0));
		int64_t x;

		if (db_int(e->st, &x,
			   "SELECT 1 FROM e2ee_olm_sessions WHERE account_id = "
			   "? AND curve25519 = ? LIMIT 1",
			   "it", e->account_id,
			   json_string_value(json_array_get(d, 2))) != 0)
			continue;
		u = json_object_get(otk, user);
		if (u == NULL) {
			u = json_object();
			json_object_set_new(otk, user, u);
		}
		json_object_set_new(u, json_string_value(json_array_get(d, 1)),
				    json_string("signed_curve25519"));
	}
	json_decref(devs);
	if (json_object_size(otk) == 0) {
		json_decref(otk);
		return NULL;
	}
	return json_pack("{s:o,s:i}", "one_time_keys", otk, "timeout",
			 E2EE_QUERY_TIMEOUT_MS);
}

/* A trusted device's keys: 1 found (new strings), 0 not trusted, -1. */
static int
device_lookup(struct e2ee *e, const char *user, const char *device,
	      char **curve, char **ed)
{
	struct db_stmt *s;
	int rc = 0;

	*curve = *ed = NULL;
	s = db_prepare(e->st,
		       "SELECT curve25519, ed25519 FROM e2ee_devices WHERE "
		       "user_id = ? AND device_id = ? AND deleted = 0 AND "
		       "key_changed = 0 AND verified >= ?",
		       "tti", user, device,
		       (int64_t)(e->trust == E2EE_VERIFIED));
	if (s == NULL)
		return -1;
	if (db_step(s) == DB_ROW) {
		*curve = xstrdup(db_col(s, 0));
		*ed = xstrdup(db_col(s, 1));
		rc = 1;
	}
	db_finish(e->st, s);
	return rc;
}

/* A session with one claimed key: 0 made or refused, -1 store error. */
static int
claim_one(struct e2ee *e, const char *user, const char *device, json_t *keys)
{
	char *curve = NULL, *ed = NULL, *kid = NULL;
	const char *id, *otk;
	json_t *k = NULL, *v;
	OlmSession *s = NULL;
	unsigned char *r = NULL;
	size_t rn = 0;
	int rc = 0;

	json_object_foreach(keys, id, v)
	{
		if (strncmp(id, "signed_curve25519:", 18) == 0 &&
		    json_is_object(v)) {
			k = v;
			break;
		}
	}
	if (k == NULL)
		return 0;
	rc = device_lookup(e, user, device, &curve, &ed);
	if (rc <= 0)
		goto out;
	rc = 0;
	otk = jstr(k, "key");
	kid = xasprintf("ed25519:%s", device);
	if (otk == NULL || !e2ee_verify(k, user, kid, ed)) {
		log_warnx("matrix e2ee: the one-time key of device %s of %s "
			  "has no valid signature; refused",
			  device, user);
		goto out;
	}
	s = olm_session(xmalloc(olm_session_size()));
	rn = olm_create_outbound_session_random_length(s);
	r = rnd(rn);
	if (r == NULL ||
	    olm_create_outbound_session(s, e->acct, curve, strlen(curve), otk,
					strlen(otk), r, rn) == olm_error()) {
		log_warnx("matrix e2ee: cannot start a session with device %s "
			  "of %s",
			  device, user);
		goto out;
	}
	rc = session_save(e, curve, s, 0);
out:
	wipe_free(r, rn);
	session_free(s);
	free(curve);
	free(ed);
	free(kid);
	return rc;
}

int
e2ee_claim_done(struct e2ee *e, json_t *response)
{
	json_t *all = json_object_get(response, "one_time_keys"), *devs, *keys;
	const char *user, *dev;
	int ok = 1;

	if (!json_is_object(all))
		return -1;
	if (tx_begin(e) < 0)
		return -1;
	json_object_foreach(all, user, devs)
	{
		json_object_foreach(devs, dev, keys)
		{
			if (json_is_object(keys) &&
			    claim_one(e, user, dev, keys) < 0)
				ok = 0;
		}
	}
	return tx_end(e, ok);
}

/* ---- Olm ---- */

/* Decrypts an Olm message with s: the plaintext (wipe it) or NULL. */
static char *
olm_dec(OlmSession *s, size_t type, const char *body, size_t *len)
{
	size_t bl = strlen(body), max, n;
	char *copy = xstrdup(body), *out;

	max = olm_decrypt_max_plaintext_length(s, type, copy, bl);
	free(copy);
	if (max == olm_error())
		return NULL;
	copy = xstrdup(body);
	out = xmalloc(max + 1);
	n = olm_decrypt(s, type, copy, bl, out, max);
	free(copy);
	if (n == olm_error()) {
		wipe_free(out, max + 1);
		return NULL;
	}
	out[n] = '\0';
	*len = n;
	return out;
}

/*
 * Decrypts an Olm message from the device with curve: with one of the
 * sessions with it, or a new inbound one for a pre-key message. The
 * plaintext (wipe it), *s the session used and *rowid its row (0: new).
 */
static char *
olm_receive(struct e2ee *e, const char *curve, size_t type, const char *body,
	    size_t *len, OlmSession **used, int64_t *rowid)
{
	struct db_stmt *st;
	char *plain = NULL;
	OlmSession *s;
	int n = 0;

	*used = NULL;
	*rowid = 0;
	st = db_prepare(e->st,
			"SELECT id, pickle FROM e2ee_olm_sessions WHERE "
			"account_id = ? AND curve25519 = ? ORDER BY "
			"last_used_at DESC, id DESC",
			"it", e->account_id, curve);
	while (st != NULL && plain == NULL && n < E2EE_SESSIONS_TRIED &&
	       db_step(st) == DB_ROW) {
		n++;
		s = unpickle_session(e, db_col(st, 1));
		if (s == NULL)
			continue;
		if (type == OLM_MESSAGE_TYPE_PRE_KEY) {
			char *copy = xstrdup(body);
			size_t m = olm_matches_inbound_session_from(
			    s, curve, strlen(curve), copy, strlen(copy));

			free(copy);
			if (m != 1) {
				session_free(s);
				continue;
			}
		}
		plain = olm_dec(s, type, body, len);
		if (plain != NULL) {
			*used = s;
			*rowid = db_col_int(st, 0);
		} else {
			session_free(s);
		}
	}
	db_finish(e->st, st);
	if (plain != NULL || type != OLM_MESSAGE_TYPE_PRE_KEY)
		return plain;
	s = olm_session(xmalloc(olm_session_size()));
	{
		char *copy = xstrdup(body);
		size_t r = olm_create_inbound_session_from(
		    s, e->acct, curve, strlen(curve), copy, strlen(copy));

		free(copy);
		if (r == olm_error()) {
			session_free(s);
			return NULL;
		}
	}
	plain = olm_dec(s, type, body, len);
	if (plain == NULL) {
		session_free(s);
		return NULL;
	}
	*used = s;
	return plain;
}

/*
 * Checks the sender of an Olm payload against the devices known: 0 fine
 * (an unknown device is recorded), -1 refused (err).
 */
static int
olm_check_sender(struct e2ee *e, const char *sender, const char *sdev,
		 const char *curve, const char *ed, char *err, size_t errlen)
{
	struct db_stmt *s;
	int found = 0, bad = 0;

	s = db_prepare(e->st,
		       "SELECT user_id, device_id, ed25519, key_changed FROM "
		       "e2ee_devices WHERE curve25519 = ?",
		       "t", curve);
	if (s == NULL)
		return -1;
	while (db_step(s) == DB_ROW) {
		found = 1;
		if (strcmp(db_col(s, 0), sender) != 0 ||
		    strcmp(db_col(s, 2), ed) != 0 || db_col_int(s, 3) != 0)
			bad = 1;
	}
	db_finish(e->st, s);
	if (bad) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message from %s carries keys "
			 "that do not match the device known for its sender "
			 "key; refused",
			 sender);
		return -1;
	}
	if (found)
		return 0;
	if (sdev == NULL || *sdev == '\0')
		return 0;
	if (db_int(e->st, &(int64_t){0},
		   "SELECT 1 FROM e2ee_devices WHERE user_id = ? AND device_id "
		   "= ?",
		   "tt", sender, sdev) == 1) {
		device_key_changed(e, sender, sdev);
		snprintf(err, errlen,
			 "matrix e2ee: device %s of %s sent an Olm message "
			 "with other keys than it has; refused",
			 sdev, sender);
		return -1;
	}
	/* trust on first use: Olm authenticated the curve25519 key */
	if (db_exec(e->st,
		    "INSERT INTO e2ee_devices (user_id, device_id, curve25519, "
		    "ed25519, first_seen) VALUES (?, ?, ?, ?, ?)",
		    "tttti", sender, sdev, curve, ed, store_now(e->st)) < 0)
		return -1;
	return 0;
}

/* Stores an m.room_key: 1 stored, 0 ignored, -1 refused or failed. */
static int
room_key(struct e2ee *e, const char *sender, const char *curve, const char *ed,
	 json_t *c, char **room_out, char **sid_out, char *err, size_t errlen)
{
	const char *room = jstr(c, "room_id"), *sid = jstr(c, "session_id");
	const char *skey = jstr(c, "session_key");
	OlmInboundGroupSession *in = NULL, *old = NULL;
	char *idbuf = NULL, *pickle = NULL, *oldp;
	size_t n;
	int rc = -1;

	if (!json_is_string(json_object_get(c, "algorithm")) ||
	    strcmp(jstr(c, "algorithm"), E2EE_MEGOLM) != 0)
		return 0;
	if (room == NULL || sid == NULL || skey == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: a room key from %s lacks its room, "
			 "session or key",
			 sender);
		return -1;
	}
	in = olm_inbound_group_session(
	    xmalloc(olm_inbound_group_session_size()));
	if (olm_init_inbound_group_session(in, (const uint8_t *)skey,
					   strlen(skey)) == olm_error()) {
		snprintf(err, errlen,
			 "matrix e2ee: the room key of session %s from %s is "
			 "malformed",
			 sid, sender);
		goto out;
	}
	n = olm_inbound_group_session_id_length(in);
	idbuf = xmalloc(n + 1);
	if (olm_inbound_group_session_id(in, (uint8_t *)idbuf, n) ==
	    olm_error())
		goto out;
	idbuf[n] = '\0';
	if (strcmp(idbuf, sid) != 0) {
		snprintf(err, errlen,
			 "matrix e2ee: a room key from %s does not match its "
			 "session id %s",
			 sender, sid);
		goto out;
	}
	/* a key we hold from an earlier index is kept */
	oldp = db_text(e->st,
		       "SELECT pickle FROM e2ee_megolm_in WHERE room_id = ? "
		       "AND sender_key = ? AND session_id = ?",
		       "ttt", room, curve, sid);
	if (oldp != NULL) {
		old = unpickle_in(e, oldp);
		free(oldp);
		if (old != NULL &&
		    olm_inbound_group_session_first_known_index(old) <=
			olm_inbound_group_session_first_known_index(in)) {
			rc = 0;
			goto out;
		}
	}
	pickle = pickle_in(e, in);
	if (pickle == NULL ||
	    db_exec(e->st,
		    "INSERT INTO e2ee_megolm_in (room_id, sender_key, "
		    "session_id, sender, signing_key, pickle, created_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(room_id, "
		    "sender_key, session_id) DO UPDATE SET sender = "
		    "excluded.sender, signing_key = excluded.signing_key, "
		    "pickle = excluded.pickle, created_at = "
		    "excluded.created_at",
		    "tttttti", room, curve, sid, sender, ed, pickle,
		    store_now(e->st)) < 0) {
		snprintf(err, errlen,
			 "matrix e2ee: cannot store the room key of session %s",
			 sid);
		goto out;
	}
	if (room_out != NULL)
		*room_out = xstrdup(room);
	if (sid_out != NULL)
		*sid_out = xstrdup(sid);
	rc = 1;
out:
	free(pickle);
	free(idbuf);
	in_free(in);
	in_free(old);
	return rc;
}

/*
 * 1 when key id is the account's current fallback key (its id in the
 * JSON is the base64 of the id's four bytes, big-endian).
 */
static int
current_fallback(struct e2ee *e, size_t id)
{
	unsigned char raw[4] = {(unsigned char)(id >> 24),
				(unsigned char)(id >> 16),
				(unsigned char)(id >> 8), (unsigned char)id};
	unsigned char b64[16];
	json_t *fb = fallback_keys(e, 0);
	char *eq;
	int cur;

	EVP_EncodeBlock(b64, raw, sizeof(raw));
	eq = strchr((char *)b64, '=');
	if (eq != NULL)
		*eq = '\0';
	cur = json_object_get(json_object_get(fb, "curve25519"),
			      (const char *)b64) != NULL;
	json_decref(fb);
	return cur;
}

int
e2ee_to_device(struct e2ee *e, json_t *event, char **room_id, char **session_id,
	       char *err, size_t errlen)
{
	json_t *c = json_object_get(event, "content"), *mine, *p = NULL;
	const char *sender = jstr(event, "sender"), *curve, *body, *ktype;
	const char *v;
	char *plain = NULL;
	size_t plen = 0;
	OlmSession *s = NULL;
	int64_t rowid = 0;
	json_int_t type;
	int rc = -1, ok;

	if (room_id != NULL)
		*room_id = NULL;
	if (session_id != NULL)
		*session_id = NULL;
	if (!json_is_string(json_object_get(event, "type")) ||
	    strcmp(jstr(event, "type"), "m.room.encrypted") != 0)
		return 0;
	if (!json_is_string(json_object_get(c, "algorithm")) ||
	    strcmp(jstr(c, "algorithm"), E2EE_OLM) != 0)
		return 0;
	curve = jstr(c, "sender_key");
	if (sender == NULL || curve == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message without sender or "
			 "sender key");
		return -1;
	}
	mine = json_object_get(json_object_get(c, "ciphertext"), e->curve);
	body = jstr(mine, "body");
	if (body == NULL || !json_is_integer(json_object_get(mine, "type"))) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message from %s is not "
			 "for this device",
			 sender);
		return -1;
	}
	type = json_integer_value(json_object_get(mine, "type"));
	if (type != 0 && type != 1) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message from %s has an unknown "
			 "type",
			 sender);
		return -1;
	}
	plain = olm_receive(e, curve, (size_t)type, body, &plen, &s, &rowid);
	if (plain == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: cannot decrypt an Olm message from %s "
			 "(no session with its device)",
			 sender);
		return -1;
	}
	p = json_loadb(plain, plen, 0, NULL);
	/* the payload must name us, our key, its sender and its key */
	v = jstr(p, "recipient");
	if (!json_is_object(p) || v == NULL || strcmp(v, e->user_id) != 0) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message from %s is addressed to "
			 "another user; refused",
			 sender);
		goto out;
	}
	v = jstr(json_object_get(p, "recipient_keys"), "ed25519");
	if (v == NULL || strcmp(v, e->ed) != 0) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message from %s names another "
			 "recipient key; refused",
			 sender);
		goto out;
	}
	v = jstr(p, "sender");
	if (v == NULL || strcmp(v, sender) != 0) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message from %s names another "
			 "sender; refused",
			 sender);
		goto out;
	}
	v = jstr(json_object_get(p, "keys"), "ed25519");
	ktype = jstr(p, "type");
	if (v == NULL || ktype == NULL ||
	    !json_is_object(json_object_get(p, "content"))) {
		snprintf(err, errlen,
			 "matrix e2ee: an Olm message from %s lacks its type, "
			 "content or keys; refused",
			 sender);
		goto out;
	}
	if (tx_begin(e) < 0) {
		snprintf(err, errlen, "matrix e2ee: the database is busy");
		goto out;
	}
	rc = olm_check_sender(e, sender, jstr(p, "sender_device"), curve, v,
			      err, errlen);
	if (rc == 0 && rowid == 0) {
		/*
		 * The one-time key is used up. A fallback key stays (libolm
		 * keeps it and "removes" it without a change): a new one is
		 * made for the next upload, the used one still accepted.
		 */
		size_t before = olm_pickle_account_length(e->acct);
		size_t id = olm_remove_one_time_keys(e->acct, s);

		if (id != olm_error() &&
		    olm_pickle_account_length(e->acct) == before &&
		    current_fallback(e, id))
			rc = new_fallback_key(e);
		if (rc == 0)
			rc = account_save(e);
	}
	if (rc == 0)
		rc = session_save(e, curve, s, rowid);
	if (rc == 0 && strcmp(ktype, "m.room_key") == 0)
		rc =
		    room_key(e, sender, curve, v, json_object_get(p, "content"),
			     room_id, session_id, err, errlen);
	ok = rc >= 0;
	if (tx_end(e, ok) < 0) {
		if (ok)
			snprintf(err, errlen,
				 "matrix e2ee: cannot store an Olm message's "
				 "outcome");
		if (room_id != NULL) {
			free(*room_id);
			*room_id = NULL;
		}
		if (session_id != NULL) {
			free(*session_id);
			*session_id = NULL;
		}
		rc = -1;
	}
out:
	wipe_json_key(json_object_get(p, "content"), "session_key");
	json_decref(p);
	wipe_free(plain, plen);
	session_free(s);
	return rc;
}

/* ---- Megolm receive ---- */

enum e2ee_dec
e2ee_decrypt(struct e2ee *e, const char *room_id, const char *event_id,
	     json_t *content, json_t **plain, char *err, size_t errlen)
{
	const char *ct = jstr(content, "ciphertext");
	const char *sid = jstr(content, "session_id");
	const char *skey = jstr(content, "sender_key"), *v;
	struct db_stmt *s;
	OlmInboundGroupSession *in = NULL;
	char *sender = NULL, *copy = NULL, *out = NULL, *seen = NULL;
	char *pickle = NULL;
	size_t max = 0, n;
	uint32_t idx = 0;
	json_t *p = NULL;
	enum e2ee_dec rc = E2EE_DEC_BAD;
	int found = 0;

	*plain = NULL;
	if (!json_is_string(json_object_get(content, "algorithm")) ||
	    strcmp(jstr(content, "algorithm"), E2EE_MEGOLM) != 0 ||
	    ct == NULL || sid == NULL || room_id == NULL || event_id == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: event %s is not a Megolm message",
			 event_id ? event_id : "?");
		return E2EE_DEC_BAD;
	}
	if (skey != NULL)
		s = db_prepare(e->st,
			       "SELECT pickle, sender FROM e2ee_megolm_in "
			       "WHERE room_id = ? AND sender_key = ? AND "
			       "session_id = ?",
			       "ttt", room_id, skey, sid);
	else
		s = db_prepare(e->st,
			       "SELECT pickle, sender FROM e2ee_megolm_in "
			       "WHERE room_id = ? AND session_id = ? LIMIT 1",
			       "tt", room_id, sid);
	if (s == NULL) {
		snprintf(err, errlen, "matrix e2ee: cannot read room keys");
		return E2EE_DEC_BAD;
	}
	if (db_step(s) == DB_ROW) {
		found = 1;
		in = unpickle_in(e, db_col(s, 0));
		sender = xstrdup(db_col(s, 1));
	}
	db_finish(e->st, s);
	if (!found) {
		snprintf(err, errlen,
			 "matrix e2ee: no key for session %s of event %s", sid,
			 event_id);
		return E2EE_DEC_NO_SESSION;
	}
	if (in == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: the key of session %s cannot be read",
			 sid);
		goto out;
	}
	copy = xstrdup(ct);
	max = olm_group_decrypt_max_plaintext_length(in, (uint8_t *)copy,
						     strlen(copy));
	free(copy);
	copy = NULL;
	if (max == olm_error()) {
		snprintf(err, errlen,
			 "matrix e2ee: event %s is a malformed Megolm message",
			 event_id);
		goto out;
	}
	copy = xstrdup(ct);
	out = xmalloc(max + 1);
	n = olm_group_decrypt(in, (uint8_t *)copy, strlen(copy), (uint8_t *)out,
			      max, &idx);
	if (n == olm_error()) {
		if (olm_inbound_group_session_last_error_code(in) ==
		    OLM_UNKNOWN_MESSAGE_INDEX) {
			snprintf(err, errlen,
				 "matrix e2ee: the key of session %s starts "
				 "after event %s",
				 sid, event_id);
			rc = E2EE_DEC_NO_SESSION;
		} else {
			snprintf(err, errlen,
				 "matrix e2ee: event %s does not decrypt with "
				 "the key of its session",
				 event_id);
		}
		n = 0;
		goto out;
	}
	out[n] = '\0';
	p = json_loadb(out, n, 0, NULL);
	v = jstr(p, "room_id");
	if (!json_is_object(p) || !json_is_string(json_object_get(p, "type")) ||
	    !json_is_object(json_object_get(p, "content"))) {
		snprintf(err, errlen,
			 "matrix e2ee: event %s decrypts to no event",
			 event_id);
		goto out;
	}
	if (v == NULL || strcmp(v, room_id) != 0) {
		snprintf(err, errlen,
			 "matrix e2ee: event %s was encrypted for another "
			 "room; refused",
			 event_id);
		goto out;
	}
	/* the replay guard and the advanced ratchet, in one transaction */
	if (tx_begin(e) < 0) {
		snprintf(err, errlen, "matrix e2ee: the database is busy");
		goto out;
	}
	seen = db_text(e->st,
		       "SELECT event_id FROM e2ee_megolm_seen WHERE "
		       "session_id = ? AND message_index = ?",
		       "ti", sid, (int64_t)idx);
	if (seen != NULL && strcmp(seen, event_id) != 0) {
		store_rollback(e->st);
		snprintf(err, errlen,
			 "matrix e2ee: event %s repeats message %u of session "
			 "%s (first seen in %s); refused as a replay",
			 event_id, (unsigned)idx, sid, seen);
		rc = E2EE_DEC_REPLAY;
		goto out;
	}
	pickle = pickle_in(e, in);
	found = pickle != NULL;
	if (found && seen == NULL)
		found = db_exec(e->st,
				"INSERT INTO e2ee_megolm_seen (session_id, "
				"message_index, event_id, seen_at) VALUES (?, "
				"?, ?, ?)",
				"titi", sid, (int64_t)idx, event_id,
				store_now(e->st)) == 1;
	if (found)
		found = db_exec(e->st,
				"UPDATE e2ee_megolm_in SET pickle = ? WHERE "
				"room_id = ? AND session_id = ?",
				"ttt", pickle, room_id, sid) >= 0;
	if (tx_end(e, found) < 0) {
		snprintf(err, errlen,
			 "matrix e2ee: cannot record event %s against replay",
			 event_id);
		goto out;
	}
	/* the user whose device shared the session, for the caller to match */
	json_object_set_new(p, "sender", json_string(sender));
	*plain = p;
	p = NULL;
	rc = E2EE_DEC_OK;
out:
	free(seen);
	free(pickle);
	free(copy);
	wipe_free(out, out ? max + 1 : 0);
	json_decref(p);
	free(sender);
	in_free(in);
	return rc;
}

json_t *
e2ee_key_request(struct e2ee *e, const char *room_id, json_t *encrypted_content)
{
	const char *sid = jstr(encrypted_content, "session_id");
	const char *skey = jstr(encrypted_content, "sender_key");
	int64_t now = store_now(e->st), last = 0;
	unsigned char r[8];
	char rid[17];
	json_t *body, *c;

	if (sid == NULL || room_id == NULL)
		return NULL;
	if (db_int(e->st, &last,
		   "SELECT requested_at FROM e2ee_key_requests WHERE "
		   "session_id = ?",
		   "t", sid) == 1 &&
	    now - last < E2EE_KEY_REQUEST_SECS && now >= last)
		return NULL;
	if (db_exec(e->st,
		    "INSERT INTO e2ee_key_requests (session_id, requested_at) "
		    "VALUES (?, ?) ON CONFLICT(session_id) DO UPDATE SET "
		    "requested_at = excluded.requested_at",
		    "ti", sid, now) < 0)
		return NULL;
	if (RAND_bytes(r, sizeof(r)) != 1)
		return NULL;
	hex_encode(r, sizeof(r), rid);
	body = json_pack("{s:s,s:s,s:s}", "algorithm", E2EE_MEGOLM, "room_id",
			 room_id, "session_id", sid);
	if (skey != NULL)
		json_object_set_new(body, "sender_key", json_string(skey));
	c = json_pack("{s:s,s:o,s:s,s:s}", "action", "request", "body", body,
		      "request_id", rid, "requesting_device_id", e->device_id);
	return c;
}

/* ---- Megolm send ---- */

/* SHA-256 (hex) of the sorted device set. */
static void
devices_hash(json_t *devs, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct buf b = {0};
	size_t i;

	for (i = 0; i < json_array_size(devs); i++) {
		json_t *d = json_array_get(devs, i);

		buf_printf(&b, "%s\t%s\t%s\n",
			   json_string_value(json_array_get(d, 0)),
			   json_string_value(json_array_get(d, 1)),
			   json_string_value(json_array_get(d, 2)));
	}
	SHA256((const unsigned char *)buf_str(&b), strlen(buf_str(&b)), md);
	hex_encode(md, sizeof(md), out);
	buf_free(&b);
}

static int
dev_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(json_string_value(json_array_get(x, 0)),
		       json_string_value(json_array_get(y, 0)));

	return c ? c
		 : strcmp(json_string_value(json_array_get(x, 1)),
			  json_string_value(json_array_get(y, 1)));
}

static void
sort_devices(json_t *devs)
{
	size_t n = json_array_size(devs), i;
	json_t **v = xcalloc(n + 1, sizeof(*v));

	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(devs, i));
	qsort(v, n, sizeof(*v), dev_cmp);
	json_array_clear(devs);
	for (i = 0; i < n; i++)
		json_array_append_new(devs, v[i]);
	free(v);
}

/* Makes a new outbound session for room: its key (wipe) or NULL. */
static char *
new_outbound(struct e2ee *e, const char *room, const char *hash, char **sid_out)
{
	OlmOutboundGroupSession *o = olm_outbound_group_session(
	    xmalloc(olm_outbound_group_session_size()));
	OlmInboundGroupSession *in = NULL;
	size_t rn = olm_init_outbound_group_session_random_length(o), n;
	unsigned char *r = rnd(rn);
	char *sid = NULL, *skey = NULL, *pk = NULL, *ipk = NULL;
	size_t klen = 0;
	int ok = 0;

	if (r == NULL ||
	    olm_init_outbound_group_session(o, r, rn) == olm_error())
		goto out;
	n = olm_outbound_group_session_id_length(o);
	sid = xmalloc(n + 1);
	if (olm_outbound_group_session_id(o, (uint8_t *)sid, n) == olm_error())
		goto out;
	sid[n] = '\0';
	klen = olm_outbound_group_session_key_length(o);
	skey = xmalloc(klen + 1);
	if (olm_outbound_group_session_key(o, (uint8_t *)skey, klen) ==
	    olm_error())
		goto out;
	skey[klen] = '\0';
	/* our own messages decrypt with the matching inbound session */
	in = olm_inbound_group_session(
	    xmalloc(olm_inbound_group_session_size()));
	if (olm_init_inbound_group_session(in, (const uint8_t *)skey,
					   strlen(skey)) == olm_error())
		goto out;
	pk = pickle_out(e, o);
	ipk = pickle_in(e, in);
	if (pk == NULL || ipk == NULL)
		goto out;
	if (db_exec(e->st,
		    "INSERT INTO e2ee_megolm_out (account_id, room_id, "
		    "session_id, pickle, created_at, messages, members_hash) "
		    "VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT(account_id, "
		    "room_id) DO UPDATE SET session_id = excluded.session_id, "
		    "pickle = excluded.pickle, created_at = "
		    "excluded.created_at, messages = excluded.messages, "
		    "members_hash = excluded.members_hash",
		    "itttit", e->account_id, room, sid, pk, store_now(e->st),
		    hash) < 0 ||
	    db_exec(e->st,
		    "INSERT INTO e2ee_megolm_in (room_id, sender_key, "
		    "session_id, sender, signing_key, pickle, created_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(room_id, "
		    "sender_key, session_id) DO UPDATE SET sender = "
		    "excluded.sender, signing_key = excluded.signing_key, "
		    "pickle = excluded.pickle, created_at = "
		    "excluded.created_at",
		    "tttttti", room, e->curve, sid, e->user_id, e->ed, ipk,
		    store_now(e->st)) < 0)
		goto out;
	ok = 1;
out:
	wipe_free(r, rn);
	free(pk);
	free(ipk);
	in_free(in);
	out_free(o);
	if (!ok) {
		free(sid);
		wipe_free(skey, klen + 1);
		return NULL;
	}
	*sid_out = sid;
	return skey;
}

/* The current key of room's outbound session (wipe) or NULL. */
static char *
outbound_key(struct e2ee *e, const char *room, char **sid_out)
{
	char *pk = db_text(e->st,
			   "SELECT pickle FROM e2ee_megolm_out WHERE "
			   "account_id = ? AND room_id = ?",
			   "it", e->account_id, room);
	OlmOutboundGroupSession *o = pk ? unpickle_out(e, pk) : NULL;
	char *key = NULL, *sid = NULL;
	size_t n;

	free(pk);
	if (o == NULL)
		return NULL;
	n = olm_outbound_group_session_key_length(o);
	key = xmalloc(n + 1);
	if (olm_outbound_group_session_key(o, (uint8_t *)key, n) ==
	    olm_error()) {
		wipe_free(key, n + 1);
		out_free(o);
		return NULL;
	}
	key[n] = '\0';
	n = olm_outbound_group_session_id_length(o);
	sid = xmalloc(n + 1);
	if (olm_outbound_group_session_id(o, (uint8_t *)sid, n) ==
	    olm_error()) {
		free(sid);
		str_free_secret(key);
		out_free(o);
		return NULL;
	}
	sid[n] = '\0';
	out_free(o);
	*sid_out = sid;
	return key;
}

/* Olm-encrypts payload for a device: the m.room.encrypted content. */
static json_t *
olm_encrypt_for(struct e2ee *e, OlmSession *s, const char *curve,
		const char *payload)
{
	size_t rn = olm_encrypt_random_length(s);
	size_t type = olm_encrypt_message_type(s);
	size_t mlen = olm_encrypt_message_length(s, strlen(payload));
	unsigned char *r = rnd(rn);
	char *msg = xmalloc(mlen + 1);
	json_t *c = NULL;

	if (r != NULL && olm_encrypt(s, payload, strlen(payload), r, rn, msg,
				     mlen) != olm_error()) {
		msg[mlen] = '\0';
		c = json_pack("{s:s,s:s,s:{s:{s:i,s:s}}}", "algorithm",
			      E2EE_OLM, "sender_key", e->curve, "ciphertext",
			      curve, "type", (int)type, "body", msg);
	}
	wipe_free(r, rn);
	free(msg);
	return c;
}

/* The Olm payload sharing a room key with one device, as JSON text. */
static char *
room_key_payload(struct e2ee *e, const char *user, const char *ed,
		 const char *room, const char *sid, const char *skey)
{
	json_t *p = json_pack(
	    "{s:s,s:{s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s},s:s,s:{s:s}}", "type",
	    "m.room_key", "content", "algorithm", E2EE_MEGOLM, "room_id", room,
	    "session_id", sid, "session_key", skey, "sender", e->user_id,
	    "sender_device", e->device_id, "keys", "ed25519", e->ed,
	    "recipient", user, "recipient_keys", "ed25519", ed);
	char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;

	wipe_json_key(json_object_get(p, "content"), "session_key");
	json_decref(p);
	return text;
}

json_t *
e2ee_share_body(struct e2ee *e, const char *room_id, const char *const *users,
		size_t n)
{
	json_t *devs = NULL, *msgs = NULL;
	char hash[65], *old_hash = NULL, *sid = NULL, *skey = NULL;
	int64_t now = store_now(e->st), created = 0, count = 0;
	struct db_stmt *s;
	int have = 0, rotate, ok = 0;
	size_t i;

	if (room_id == NULL)
		return NULL;
	devs = trusted_devices(e, users, n);
	sort_devices(devs);
	devices_hash(devs, hash);
	s = db_prepare(e->st,
		       "SELECT created_at, messages, members_hash FROM "
		       "e2ee_megolm_out WHERE account_id = ? AND room_id = ?",
		       "it", e->account_id, room_id);
	if (s == NULL)
		goto out;
	if (db_step(s) == DB_ROW) {
		have = 1;
		created = db_col_int(s, 0);
		count = db_col_int(s, 1);
		old_hash = xstrdup(db_col(s, 2));
	}
	db_finish(e->st, s);
	rotate = !have || count >= E2EE_ROTATE_MSGS ||
		 now - created >= E2EE_ROTATE_SECS || now < created ||
		 strcmp(old_hash, hash) != 0;
	if (tx_begin(e) < 0)
		goto out;
	if (rotate) {
		/* who had the replaced session no longer matters */
		if (db_exec(
			e->st,
			"DELETE FROM e2ee_megolm_shared WHERE session_id IN "
			"(SELECT session_id FROM e2ee_megolm_out WHERE "
			"account_id = ? AND room_id = ?)",
			"it", e->account_id, room_id) >= 0)
			skey = new_outbound(e, room_id, hash, &sid);
	} else
		skey = outbound_key(e, room_id, &sid);
	if (skey == NULL) {
		store_rollback(e->st);
		goto out;
	}
	msgs = json_object();
	ok = 1;
	for (i = 0; ok && i < json_array_size(devs); i++) {
		json_t *d = json_array_get(devs, i), *c, *um;
		const char *user = json_string_value(json_array_get(d, 0));
		const char *dev = json_string_value(json_array_get(d, 1));
		const char *curve = json_string_value(json_array_get(d, 2));
		const char *ed = json_string_value(json_array_get(d, 3));
		OlmSession *os = NULL;
		int64_t pending = 1, rowid = 0;
		char *payload;

		if (db_int(e->st, &pending,
			   "SELECT pending FROM e2ee_megolm_shared WHERE "
			   "session_id = ? AND user_id = ? AND device_id = ?",
			   "ttt", sid, user, dev) == 1 &&
		    pending == 0)
			continue;
		if (newest_session(e, curve, &os, &rowid) <= 0)
			continue; /* no Olm session: claim a key first */
		payload = room_key_payload(e, user, ed, room_id, sid, skey);
		c = payload ? olm_encrypt_for(e, os, curve, payload) : NULL;
		str_free_secret(payload);
		if (c == NULL || session_save(e, curve, os, rowid) < 0 ||
		    db_exec(e->st,
			    "INSERT INTO e2ee_megolm_shared (session_id, "
			    "user_id, device_id, pending) VALUES (?, ?, ?, 1) "
			    "ON CONFLICT(session_id, user_id, device_id) DO "
			    "UPDATE SET pending = excluded.pending",
			    "ttt", sid, user, dev) < 0) {
			json_decref(c);
			session_free(os);
			ok = 0;
			break;
		}
		session_free(os);
		um = json_object_get(msgs, user);
		if (um == NULL) {
			um = json_object();
			json_object_set_new(msgs, user, um);
		}
		json_object_set_new(um, dev, c);
	}
	if (tx_end(e, ok) < 0)
		ok = 0;
out:
	json_decref(devs);
	free(old_hash);
	free(sid);
	str_free_secret(skey);
	if (!ok || json_object_size(msgs) == 0) {
		if (!ok)
			log_error("matrix e2ee: cannot share the room key of "
				  "%s",
				  room_id ? room_id : "?");
		json_decref(msgs);
		return NULL;
	}
	return json_pack("{s:o}", "messages", msgs);
}

int
e2ee_share_done(struct e2ee *e, const char *room_id)
{
	return db_exec(e->st,
		       "UPDATE e2ee_megolm_shared SET pending = 0 WHERE "
		       "session_id = (SELECT session_id FROM e2ee_megolm_out "
		       "WHERE account_id = ? AND room_id = ?)",
		       "it", e->account_id, room_id) < 0
		   ? -1
		   : 0;
}

json_t *
e2ee_encrypt(struct e2ee *e, const char *room_id, const char *type,
	     json_t *content, char *err, size_t errlen)
{
	OlmOutboundGroupSession *o = NULL;
	json_t *payload = NULL, *c = NULL;
	char *pk = NULL, *text = NULL, *msg = NULL, *sid = NULL;
	size_t mlen = 0, n;
	int ok;

	if (room_id == NULL || type == NULL || !json_is_object(content)) {
		snprintf(err, errlen, "matrix e2ee: nothing to encrypt");
		return NULL;
	}
	pk = db_text(e->st,
		     "SELECT pickle FROM e2ee_megolm_out WHERE account_id = ? "
		     "AND room_id = ?",
		     "it", e->account_id, room_id);
	o = pk ? unpickle_out(e, pk) : NULL;
	free(pk);
	pk = NULL;
	if (o == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: no outbound session for room %s",
			 room_id);
		return NULL;
	}
	payload = json_pack("{s:s,s:O,s:s}", "type", type, "content", content,
			    "room_id", room_id);
	text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
	if (text == NULL) {
		snprintf(err, errlen,
			 "matrix e2ee: the event cannot be "
			 "encoded");
		goto out;
	}
	mlen = olm_group_encrypt_message_length(o, strlen(text));
	msg = xmalloc(mlen + 1);
	if (olm_group_encrypt(o, (const uint8_t *)text, strlen(text),
			      (uint8_t *)msg, mlen) == olm_error()) {
		snprintf(err, errlen, "matrix e2ee: encryption failed");
		goto out;
	}
	msg[mlen] = '\0';
	n = olm_outbound_group_session_id_length(o);
	sid = xmalloc(n + 1);
	if (olm_outbound_group_session_id(o, (uint8_t *)sid, n) ==
	    olm_error()) {
		snprintf(err, errlen, "matrix e2ee: encryption failed");
		goto out;
	}
	sid[n] = '\0';
	pk = pickle_out(e, o);
	ok = pk != NULL && tx_begin(e) == 0;
	if (ok) {
		ok = db_exec(e->st,
			     "UPDATE e2ee_megolm_out SET pickle = ?, messages "
			     "= messages + 1 WHERE account_id = ? AND room_id "
			     "= ?",
			     "tit", pk, e->account_id, room_id) == 1;
		ok = tx_end(e, ok) == 0;
	}
	if (!ok) {
		snprintf(err, errlen,
			 "matrix e2ee: cannot store the session of room %s",
			 room_id);
		goto out;
	}
	c = json_pack("{s:s,s:s,s:s,s:s,s:s}", "algorithm", E2EE_MEGOLM,
		      "sender_key", e->curve, "ciphertext", msg, "session_id",
		      sid, "device_id", e->device_id);
out:
	if (text != NULL)
		str_free_secret(text);
	json_decref(payload);
	free(msg);
	free(sid);
	free(pk);
	out_free(o);
	return c;
}
