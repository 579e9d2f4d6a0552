/*
 * Reply tokens: HMAC-SHA256 over (kind, object, person, expiry), truncated
 * and base32-encoded in lower case so that case-folding mail systems keep
 * them intact.
 */
#include "mailtoken.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "../base/util.h"

#define TOKEN_VERSION 1
#define TOKEN_HEAD    14 /* version, kind code, object, person, expiry */
#define TOKEN_MAC     10 /* 80 bits of HMAC-SHA256 */
#define TOKEN_BYTES   (TOKEN_HEAD + TOKEN_MAC)
#define TOKEN_LABEL   "isms-gateway reply token"

/*
 * Kind codes. Append, never renumber: a code keeps its meaning while its
 * tokens can come back.
 */
static const struct {
	unsigned char code;
	const char *name;
} mailtoken_kinds[] = {
    {'a', "approval"},
    {'q', "quiz"},
};

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static const char *
kind_by_code(unsigned char code)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(mailtoken_kinds); i++)
		if (mailtoken_kinds[i].code == code)
			return mailtoken_kinds[i].name;
	return NULL;
}

static int
code_by_kind(const char *kind, unsigned char *code)
{
	size_t i;

	for (i = 0; kind != NULL && i < ARRAY_LEN(mailtoken_kinds); i++)
		if (strcmp(mailtoken_kinds[i].name, kind) == 0) {
			*code = mailtoken_kinds[i].code;
			return 0;
		}
	return -1;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The MAC covers a label, the kind's full name and the head bytes. */
static int
token_mac(const char *secret, const char *kind,
	  const unsigned char head[TOKEN_HEAD], unsigned char mac[TOKEN_MAC])
{
	unsigned char in[sizeof(TOKEN_LABEL) + 64 + TOKEN_HEAD];
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int flen = 0;
	size_t n = 0, kl = strlen(kind);

	if (kl >= 64 || secret == NULL || *secret == '\0')
		return -1;
	memcpy(in, TOKEN_LABEL, sizeof(TOKEN_LABEL)); /* with its NUL */
	n += sizeof(TOKEN_LABEL);
	memcpy(in + n, kind, kl + 1);
	n += kl + 1;
	memcpy(in + n, head, TOKEN_HEAD);
	n += TOKEN_HEAD;
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), in, n, full,
		 &flen) == NULL ||
	    flen < TOKEN_MAC)
		return -1;
	memcpy(mac, full, TOKEN_MAC);
	OPENSSL_cleanse(full, sizeof(full));
	return 0;
}

static void
b32_encode(const unsigned char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

/* Exactly n bytes from text, canonical (unused trailing bits zero). */
static int
b32_decode(const char *text, unsigned char *out, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; text[i] != '\0'; i++) {
		char c = text[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a';
		else if (c >= '2' && c <= '7')
			v = c - '2' + 26;
		else
			return -1;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			if (o == n)
				return -1;
			out[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	if (o != n || bits >= 5 || acc != 0)
		return -1;
	return 0;
}

int
mailtoken_make(const char *secret, const struct mailtoken *t,
	       char out[MAILTOKEN_LEN + 1])
{
	unsigned char raw[TOKEN_BYTES];
	unsigned char code;

	out[0] = '\0';
	if (code_by_kind(t->kind, &code) < 0 || t->object_id < 1 ||
	    t->object_id > UINT32_MAX || t->person_id < 1 ||
	    t->person_id > UINT32_MAX || t->expires < 0 ||
	    t->expires > UINT32_MAX)
		return -1;
	raw[0] = TOKEN_VERSION;
	raw[1] = code;
	put32(raw + 2, (uint32_t)t->object_id);
	put32(raw + 6, (uint32_t)t->person_id);
	put32(raw + 10, (uint32_t)t->expires);
	if (token_mac(secret, t->kind, raw, raw + TOKEN_HEAD) < 0)
		return -1;
	b32_encode(raw, sizeof(raw), out);
	return 0;
}

enum mailtoken_status
mailtoken_check(const char *secret, const char *text, int64_t now,
		struct mailtoken *out)
{
	unsigned char raw[TOKEN_BYTES], mac[TOKEN_MAC];
	const char *kind;
	int64_t expires;

	memset(out, 0, sizeof(*out));
	if (text == NULL || strlen(text) != MAILTOKEN_LEN ||
	    b32_decode(text, raw, sizeof(raw)) < 0 || raw[0] != TOKEN_VERSION)
		return MAILTOKEN_MALFORMED;
	kind = kind_by_code(raw[1]);
	if (kind == NULL)
		return MAILTOKEN_MALFORMED;
	if (token_mac(secret, kind, raw, mac) < 0 ||
	    CRYPTO_memcmp(mac, raw + TOKEN_HEAD, TOKEN_MAC) != 0)
		return MAILTOKEN_FORGED;
	expires = get32(raw + 10);
	out->kind = kind;
	out->object_id = get32(raw + 2);
	out->person_id = get32(raw + 6);
	out->expires = expires;
	return now > expires ? MAILTOKEN_EXPIRED : MAILTOKEN_OK;
}

const char *
mailtoken_status_str(enum mailtoken_status s)
{
	switch (s) {
	case MAILTOKEN_OK:
		return "valid";
	case MAILTOKEN_MALFORMED:
		return "not a reply token";
	case MAILTOKEN_FORGED:
		return "invalid reply token";
	case MAILTOKEN_EXPIRED:
		return "expired reply token";
	}
	return "?";
}
