/*
 * MIME parsing of received mail into headers, UTF-8 text and attachment
 * notes, with hard limits so that hostile input ends in an error, not a
 * crash. Charsets: UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 built in,
 * others through iconv.
 */
#include "mime.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/util.h"

#define MIME_MAX_BOUNDARY 200
#define MIME_MAX_NAME	  200
#define MIME_MAX_ADDRS	  100

/* One entity's header section, while walking. */
struct fields {
	struct mime_header *v;
	size_t n;
};

struct walk {
	struct buf plain;   /* text/plain parts */
	struct buf html;    /* text/html parts, made into text */
	struct mime_msg *m; /* attachments and the report flag go here */
	size_t parts;
	char *err;
	size_t errlen;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- UTF-8 ---- */

static void
put_cp(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 4);
	}
}

/* Length of the valid UTF-8 sequence at s (0 when invalid). */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4;
	else
		return 0;
	if (n > len || !str_valid_utf8((const char *)s, n))
		return 0;
	return n;
}

/* Windows-1252 0x80..0x9f; the rest of the range is ISO-8859-1. */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
    0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

static uint32_t
cp1252(unsigned char c)
{
	return c >= 0x80 && c < 0xa0 ? cp1252_high[c - 0x80] : c;
}

enum charset { CS_UTF8, CS_ASCII, CS_LATIN1, CS_CP1252, CS_OTHER };

static enum charset
charset_kind(const char *cs)
{
	static const struct {
		const char *name;
		enum charset k;
	} names[] = {
	    {"utf-8", CS_UTF8},		  {"utf8", CS_UTF8},
	    {"us-ascii", CS_ASCII},	  {"ascii", CS_ASCII},
	    {"ansi_x3.4-1968", CS_ASCII}, {"iso-8859-1", CS_LATIN1},
	    {"iso8859-1", CS_LATIN1},	  {"iso_8859-1", CS_LATIN1},
	    {"latin1", CS_LATIN1},	  {"l1", CS_LATIN1},
	    {"windows-1252", CS_CP1252},  {"cp1252", CS_CP1252},
	    {"x-cp1252", CS_CP1252},
	};
	size_t i;

	if (cs == NULL || *cs == '\0')
		return CS_ASCII;
	for (i = 0; i < ARRAY_LEN(names); i++)
		if (strcasecmp(cs, names[i].name) == 0)
			return names[i].k;
	return CS_OTHER;
}

/*
 * Appends len bytes in charset cs to b as UTF-8. Invalid sequences become
 * U+FFFD; 8-bit bytes in a US-ASCII (unlabelled) text are read as UTF-8
 * when they are valid, else as Windows-1252. -1 for an unknown charset.
 */
static int
to_utf8(struct buf *b, const char *s, size_t len, const char *cs)
{
	const unsigned char *u = (const unsigned char *)s;
	enum charset k = charset_kind(cs);
	size_t i = 0;

	if (k == CS_ASCII)
		k = str_valid_utf8(s, len) ? CS_UTF8 : CS_CP1252;
	switch (k) {
	case CS_UTF8:
		while (i < len) {
			size_t n = utf8_seq(u + i, len - i);

			if (n == 0) {
				put_cp(b, 0xfffd);
				i++;
			} else {
				buf_add(b, s + i, n);
				i += n;
			}
		}
		return 0;
	case CS_LATIN1:
		for (; i < len; i++)
			put_cp(b, u[i]);
		return 0;
	case CS_CP1252:
		for (; i < len; i++)
			put_cp(b, cp1252(u[i]));
		return 0;
	default:
		break;
	}
	{
		char name[48], out[1024];
		iconv_t cd;
		char *in = (char *)(uintptr_t)s;
		size_t left = len;

		/* only plain charset names reach iconv (no "//" suffixes) */
		for (i = 0; i < sizeof(name) - 1 && cs[i]; i++) {
			if (!isalnum((unsigned char)cs[i]) &&
			    strchr("-_.:", cs[i]) == NULL)
				return -1;
			name[i] = cs[i];
		}
		if (cs[i] != '\0')
			return -1;
		name[i] = '\0';
		cd = iconv_open("UTF-8", name);
		if (cd == (iconv_t)-1)
			return -1;
		while (left > 0) {
			char *o = out;
			size_t room = sizeof(out);
			size_t r = iconv(cd, &in, &left, &o, &room);

			buf_add(b, out, (size_t)(o - out));
			if (r == (size_t)-1 && errno != E2BIG) {
				/* invalid or truncated input: mark, skip */
				put_cp(b, 0xfffd);
				in++;
				left--;
			}
		}
		iconv_close(cd);
	}
	return 0;
}

/* ---- transfer encodings ---- */

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 with line breaks and blanks; anything else is an error. */
static int
b64_decode(const char *s, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i], v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			buf_putc(out, (char)(acc >> (bits - 8)));
			bits -= 8;
			acc &= (1u << bits) - 1;
		}
	}
	/* one lone sextet cannot make a byte; padding at most two */
	if (bits == 6 || pad > 2)
		return -1;
	return 0;
}

/* Quoted-printable; a malformed '=' stays as written (RFC 2045 6.7). */
static void
qp_decode(const char *s, size_t len, int header, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		char c = s[i];

		if (c == '_' && header) {
			buf_putc(out, ' ');
			i++;
		} else if (c == '=' && i + 2 < len &&
			   hex_digit(s[i + 1]) >= 0 &&
			   hex_digit(s[i + 2]) >= 0) {
			buf_putc(out, (char)(hex_digit(s[i + 1]) * 16 +
					     hex_digit(s[i + 2])));
			i += 3;
		} else if (c == '=' && !header) {
			/* soft line break, possibly after trailing blanks */
			size_t j = i + 1;

			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j < len && s[j] == '\r')
				j++;
			if (j < len && s[j] == '\n') {
				i = j + 1;
			} else if (j == len) {
				i = j;
			} else {
				buf_putc(out, '=');
				i++;
			}
		} else {
			buf_putc(out, c);
			i++;
		}
	}
}

/* ---- RFC 2047 ---- */

/* "=?charset?B|Q?text?=" at s; returns its length or 0. */
static size_t
encoded_word(const char *s, char *cs, size_t cslen, char *enc,
	     const char **text, size_t *textlen)
{
	const char *p = s + 2, *q;
	size_t n;

	if (strncmp(s, "=?", 2) != 0)
		return 0;
	q = strchr(p, '?');
	if (q == NULL || q == p || (size_t)(q - p) >= cslen)
		return 0;
	for (n = 0; p + n < q; n++)
		if (isspace((unsigned char)p[n]) || p[n] == '"')
			return 0;
	memcpy(cs, p, (size_t)(q - p));
	cs[q - p] = '\0';
	/* RFC 2231 language suffix: charset*lang */
	if (strchr(cs, '*') != NULL)
		*strchr(cs, '*') = '\0';
	if ((q[1] != 'B' && q[1] != 'b' && q[1] != 'Q' && q[1] != 'q') ||
	    q[2] != '?')
		return 0;
	*enc = (char)toupper((unsigned char)q[1]);
	p = q + 3;
	q = strstr(p, "?=");
	if (q == NULL)
		return 0;
	for (n = 0; p + n < q; n++)
		if (isspace((unsigned char)p[n]))
			return 0;
	*text = p;
	*textlen = (size_t)(q - p);
	return (size_t)(q + 2 - s);
}

/* Replaces control characters by spaces (header text for people). */
static char *
no_controls(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* Converts the pending encoded-word bytes and empties them. */
static void
flush_words(struct buf *out, struct buf *pend, const char *cs)
{
	if (pend->len == 0)
		return;
	if (to_utf8(out, pend->data, pend->len, cs) < 0)
		to_utf8(out, pend->data, pend->len, "windows-1252");
	buf_reset(pend);
}

char *
mime_decode_header(const char *value)
{
	struct buf out = {0}, pend = {0};
	char pend_cs[48] = "";
	const char *p = value, *q;

	while (*p) {
		char cs[48], enc;
		const char *text;
		size_t tl,
		    n = encoded_word(p, cs, sizeof(cs), &enc, &text, &tl);

		if (n > 0) {
			struct buf raw = {0};
			int ok = 1;

			if (enc == 'B')
				ok = b64_decode(text, tl, &raw) == 0;
			else
				qp_decode(text, tl, 1, &raw);
			if (ok) {
				/* adjacent words of one charset join first,
				 * so a character split between them survives */
				if (strcasecmp(cs, pend_cs) != 0)
					flush_words(&out, &pend, pend_cs);
				snprintf(pend_cs, sizeof(pend_cs), "%s", cs);
				buf_add(&pend, buf_str(&raw), raw.len);
				buf_free(&raw);
				p += n;
				/* blanks between two encoded words go */
				for (q = p; isspace((unsigned char)*q); q++)
					;
				if (q != p &&
				    encoded_word(q, cs, sizeof(cs), &enc, &text,
						 &tl) > 0)
					p = q;
				continue;
			}
			buf_free(&raw);
		}
		flush_words(&out, &pend, pend_cs);
		/* a run of ordinary text, raw UTF-8 or 8-bit */
		for (q = p + 1; *q && strncmp(q, "=?", 2) != 0; q++)
			;
		to_utf8(&out, p, (size_t)(q - p), "us-ascii");
		p = q;
	}
	flush_words(&out, &pend, pend_cs);
	buf_free(&pend);
	return no_controls(buf_steal(&out));
}

/* ---- headers ---- */

static void
fields_free(struct fields *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static const char *
fields_get(const struct fields *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcasecmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	return NULL;
}

/* End of the line at p (at its '\n' or at end); *next past it. */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl ? nl : end;

	*next = nl ? nl + 1 : end;
	if (e > p && e[-1] == '\r')
		e--;
	return e;
}

static int
valid_field_name(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > 100)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127 ||
		    p[i] == ':')
			return 0;
	return 1;
}

static void
add_field(struct fields *f, const char *name, size_t nl, struct buf *v)
{
	char *val = buf_steal(v);

	f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	f->v[f->n].name = xstrndup(name, nl);
	f->v[f->n].value = xstrdup(str_trim(val));
	f->n++;
	free(val);
}

/*
 * Reads the header section at [p, end). *body is where the body starts.
 * top: the message's own header (strict; an mbox "From " line is
 * skipped); a part whose first line is no field has no header at all.
 */
static int
parse_fields(const char *p, const char *end, int top, struct fields *f,
	     const char **body, char *err, size_t errlen)
{
	const char *start = p, *name = NULL, *next;
	struct buf v = {0};
	size_t nl = 0;
	int rc = -1, lineno = 0;

	if (top && end - p > 5 && memcmp(p, "From ", 5) == 0)
		line_end(p, end, &p);
	while (p < end) {
		const char *e = line_end(p, end, &next);

		lineno++;
		if ((size_t)(p - start) > MIME_MAX_HEADER_BYTES) {
			fail(err, errlen, "header section larger than %d bytes",
			     MIME_MAX_HEADER_BYTES);
			goto out;
		}
		if (e == p) { /* the blank line */
			p = next;
			break;
		}
		if (*p == ' ' || *p == '\t') {
			if (name == NULL) {
				if (!top)
					goto no_header;
				fail(err, errlen,
				     "the message starts with a "
				     "folded line");
				goto out;
			}
			if (v.len + (size_t)(e - p) > MIME_MAX_HEADER_LINE) {
				fail(err, errlen,
				     "header field %.*s longer than %d bytes",
				     (int)(nl < 40 ? nl : 40), name,
				     MIME_MAX_HEADER_LINE);
				goto out;
			}
			buf_add(&v, p, (size_t)(e - p));
			p = next;
			continue;
		}
		{
			const char *colon = memchr(p, ':', (size_t)(e - p));
			const char *ne = colon;

			while (ne != NULL && ne > p &&
			       (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			if (colon == NULL ||
			    !valid_field_name(p, (size_t)(ne - p))) {
				if (!top && name == NULL)
					goto no_header;
				/* no quote: the line may be someone's text */
				fail(err, errlen,
				     "malformed header (line %d is no field)",
				     lineno);
				goto out;
			}
			if (name != NULL)
				add_field(f, name, nl, &v);
			if (f->n >= MIME_MAX_HEADERS) {
				fail(err, errlen, "more than %d header fields",
				     MIME_MAX_HEADERS);
				goto out;
			}
			name = p;
			nl = (size_t)(ne - p);
			if ((size_t)(e - colon - 1) > MIME_MAX_HEADER_LINE) {
				fail(err, errlen,
				     "header field %.*s longer than %d bytes",
				     (int)(nl < 40 ? nl : 40), name,
				     MIME_MAX_HEADER_LINE);
				goto out;
			}
			buf_reset(&v);
			buf_add(&v, colon + 1, (size_t)(e - colon - 1));
			p = next;
		}
	}
	if (name != NULL)
		add_field(f, name, nl, &v);
	*body = p;
	rc = 0;
	goto out;
no_header:
	fields_free(f);
	*body = start;
	rc = 0;
out:
	buf_free(&v);
	return rc;
}

/* ---- parameters ---- */

/* The value's main token ("text/plain"), lower case; caller frees. */
static char *
main_token(const char *v)
{
	size_t n;
	char *t, *p;

	if (v == NULL)
		return xstrdup("");
	while (isspace((unsigned char)*v))
		v++;
	n = strcspn(v, ";( \t");
	t = xstrndup(v, n);
	for (p = t; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return t;
}

/* Skips a (nested) comment at p; returns the position after it. */
static const char *
skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '(')
			return p;
		p = skip_comment(p);
	}
}

/* A quoted string at p ('"') into b; returns the position after it. */
static const char *
quoted(const char *p, struct buf *b)
{
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		buf_putc(b, *p);
	}
	return *p == '"' ? p + 1 : p;
}

static void
pct_decode(const char *s, struct buf *b)
{
	for (; *s; s++) {
		if (*s == '%' && hex_digit(s[1]) >= 0 && hex_digit(s[2]) >= 0) {
			buf_putc(
			    b, (char)(hex_digit(s[1]) * 16 + hex_digit(s[2])));
			s += 2;
		} else {
			buf_putc(b, *s);
		}
	}
}

#define PARAM_SEGMENTS 32

/*
 * Parameter name of a Content-Type or Content-Disposition value, decoded
 * (RFC 2231 continuations and charsets, RFC 2047 words that mailers put
 * in quoted names). Caller frees; NULL when absent.
 */
static char *
param_get(const char *v, const char *name)
{
	struct buf plain = {0}, seg[PARAM_SEGMENTS] = {{0}};
	int have_plain = 0, ext[PARAM_SEGMENTS] = {0}, have_seg = 0;
	size_t nlen = strlen(name), i;
	char *res = NULL;
	const char *p;

	if (v == NULL)
		return NULL;
	p = strchr(v, ';');
	while (p != NULL && *p == ';') {
		const char *k;
		size_t kl;
		struct buf val = {0};

		p = skip_cfws(p + 1);
		k = p;
		while (*p && *p != '=' && *p != ';' &&
		       !isspace((unsigned char)*p))
			p++;
		kl = (size_t)(p - k);
		p = skip_cfws(p);
		if (*p != '=') {
			p = strchr(p, ';');
			continue;
		}
		p = skip_cfws(p + 1);
		if (*p == '"')
			p = quoted(p, &val);
		else
			while (*p && *p != ';' && !isspace((unsigned char)*p))
				buf_putc(&val, *p++);
		p = skip_cfws(p);
		if (*p != ';')
			p = strchr(p, ';');
		if (kl == nlen && strncasecmp(k, name, nlen) == 0) {
			buf_free(&plain);
			plain = val;
			have_plain = 1;
			continue;
		}
		if (kl > nlen && strncasecmp(k, name, nlen) == 0 &&
		    k[nlen] == '*') {
			const char *r = k + nlen + 1;
			long idx = 0;
			int star = 0;

			if (r == k + kl) { /* name*=charset'lang'value */
				star = 1;
			} else {
				char digits[8];
				size_t dl = 0;

				while (r < k + kl &&
				       isdigit((unsigned char)*r) &&
				       dl < sizeof(digits) - 1)
					digits[dl++] = *r++;
				digits[dl] = '\0';
				if (r < k + kl && *r == '*' && r + 1 == k + kl)
					star = 1;
				else if (r != k + kl)
					dl = 0;
				if (dl == 0 ||
				    parse_int(digits, 0, PARAM_SEGMENTS - 1,
					      &idx) < 0) {
					buf_free(&val);
					continue;
				}
			}
			buf_free(&seg[idx]);
			seg[idx] = val;
			ext[idx] = star;
			have_seg = 1;
			continue;
		}
		buf_free(&val);
	}
	if (have_seg && seg[0].len) {
		struct buf raw = {0}, out = {0};
		char cs[48] = "us-ascii";
		const char *first = buf_str(&seg[0]);

		for (i = 0; i < PARAM_SEGMENTS && (i == 0 || seg[i].data);
		     i++) {
			const char *s = buf_str(&seg[i]);

			if (i == 0 && ext[0]) {
				const char *q1 = strchr(first, '\''), *q2;

				if (q1 != NULL &&
				    (q2 = strchr(q1 + 1, '\'')) != NULL) {
					if ((size_t)(q1 - first) < sizeof(cs) &&
					    q1 > first) {
						memcpy(cs, first,
						       (size_t)(q1 - first));
						cs[q1 - first] = '\0';
					}
					s = q2 + 1;
				}
			}
			if (ext[i])
				pct_decode(s, &raw);
			else
				buf_puts(&raw, s);
		}
		if (to_utf8(&out, buf_str(&raw), raw.len, cs) < 0)
			to_utf8(&out, buf_str(&raw), raw.len, "windows-1252");
		res = buf_steal(&out);
		buf_free(&raw);
	} else if (have_plain) {
		res = mime_decode_header(buf_str(&plain));
	}
	buf_free(&plain);
	for (i = 0; i < PARAM_SEGMENTS; i++)
		buf_free(&seg[i]);
	return res;
}

/* ---- addresses ---- */

static int
plausible_address(const char *a)
{
	const char *at = strchr(a, '@');
	const char *p;

	if (at == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || strlen(a) > 254)
		return 0;
	for (p = a; *p; p++)
		if ((unsigned char)*p <= 32 || *p == 127 ||
		    strchr("<>()[]\\,;:\"", *p) != NULL)
			return 0;
	return 1;
}

static void
push_addr(char ***v, size_t *n, struct buf *b)
{
	char *a = str_trim(b->data ? b->data : (char *)"");
	char *p;

	if (*n < MIME_MAX_ADDRS && plausible_address(a)) {
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[*n] = xstrdup(a);
		for (p = (*v)[*n]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		(*n)++;
	}
	buf_reset(b);
}

size_t
mime_addresses(const char *value, char ***out)
{
	struct buf bare = {0}, angle = {0}, junk = {0};
	const char *p = value ? value : "";
	int have_angle = 0;
	char **v = NULL;
	size_t n = 0;

	for (;;) {
		if (*p == '\0' || *p == ',' || *p == ';') {
			push_addr(&v, &n, have_angle ? &angle : &bare);
			buf_reset(&bare);
			buf_reset(&angle);
			have_angle = 0;
			if (*p == '\0')
				break;
			p++;
		} else if (*p == '"') {
			p = quoted(p, &junk);
			buf_reset(&junk);
		} else if (*p == '(') {
			p = skip_comment(p);
		} else if (*p == ':') { /* a group's display name */
			buf_reset(&bare);
			p++;
		} else if (*p == '<') {
			const char *e = strchr(p, '>');
			const char *s = p + 1;

			if (e == NULL)
				e = p + strlen(p);
			/* obsolete source route: <@a,@b:user@host> */
			if (*s == '@' && memchr(s, ':', (size_t)(e - s)))
				s = (const char *)memchr(s, ':',
							 (size_t)(e - s)) +
				    1;
			buf_reset(&angle);
			buf_add(&angle, s, (size_t)(e - s));
			have_angle = 1;
			p = *e ? e + 1 : e;
		} else {
			if (!isspace((unsigned char)*p))
				buf_putc(&bare, *p);
			p++;
		}
	}
	buf_free(&bare);
	buf_free(&angle);
	buf_free(&junk);
	*out = v;
	return n;
}

void
mime_addrs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- HTML ---- */

struct html_out {
	struct buf *b;
	int space;  /* a blank is pending */
	int lines;  /* newlines pending (at most 2) */
	int quote;  /* blockquote depth */
	int at_bol; /* nothing written on this line yet */
};

static void
html_newline(struct html_out *o, int n)
{
	if (o->b->len == 0)
		return;
	if (o->lines < n)
		o->lines = n;
	o->space = 0;
}

static void
html_text(struct html_out *o, const char *s, size_t n)
{
	int i;

	if (o->lines) {
		for (i = 0; i < o->lines; i++)
			buf_putc(o->b, '\n');
		o->lines = 0;
		o->at_bol = 1;
	} else if (o->space && !o->at_bol) {
		buf_putc(o->b, ' ');
	}
	o->space = 0;
	if (o->at_bol && o->quote > 0) {
		for (i = 0; i < o->quote && i < 20; i++)
			buf_putc(o->b, '>');
		buf_putc(o->b, ' ');
	}
	o->at_bol = 0;
	buf_add(o->b, s, n);
}

/* An entity at s ('&'); appends it and returns its length, or 0. */
static size_t
html_entity(struct html_out *o, const char *s, const char *end)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} names[] = {
	    {"amp", '&'},      {"lt", '<'},	  {"gt", '>'},
	    {"quot", '"'},     {"apos", '\''},	  {"nbsp", ' '},
	    {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026},
	    {"rsquo", 0x2019}, {"lsquo", 0x2018}, {"ldquo", 0x201c},
	    {"rdquo", 0x201d}, {"laquo", 0xab},	  {"raquo", 0xbb},
	    {"bull", 0x2022},  {"middot", 0xb7},  {"euro", 0x20ac},
	    {"copy", 0xa9},    {"reg", 0xae},	  {"trade", 0x2122},
	    {"deg", 0xb0},     {"times", 0xd7},	  {"szlig", 0xdf},
	    {"auml", 0xe4},    {"ouml", 0xf6},	  {"uuml", 0xfc},
	    {"Auml", 0xc4},    {"Ouml", 0xd6},	  {"Uuml", 0xdc},
	    {"aacute", 0xe1},  {"agrave", 0xe0},  {"acirc", 0xe2},
	    {"eacute", 0xe9},  {"egrave", 0xe8},  {"ecirc", 0xea},
	    {"iacute", 0xed},  {"oacute", 0xf3},  {"uacute", 0xfa},
	    {"ccedil", 0xe7},  {"ntilde", 0xf1},  {"aring", 0xe5},
	    {"oslash", 0xf8},  {"aelig", 0xe6},	  {"Eacute", 0xc9},
	};
	const char *semi =
	    memchr(s, ';', (size_t)(end - s) < 12 ? (size_t)(end - s) : 12);
	struct buf tmp = {0};
	uint32_t cp = 0;
	size_t i, n;

	if (semi == NULL)
		return 0;
	n = (size_t)(semi - s - 1);
	if (n >= 2 && s[1] == '#') {
		char num[12];
		int hex = s[2] == 'x' || s[2] == 'X';
		size_t d = hex ? 3 : 2;
		char *e;
		unsigned long v;

		if ((size_t)(semi - s) - d == 0 ||
		    (size_t)(semi - s) - d >= sizeof(num))
			return 0;
		memcpy(num, s + d, (size_t)(semi - s) - d);
		num[semi - s - d] = '\0';
		v = strtoul(num, &e, hex ? 16 : 10);
		if (*e != '\0' || !isxdigit((unsigned char)num[0]))
			return 0;
		cp = v > 0x10ffff ? 0xfffd : (uint32_t)v;
	} else {
		for (i = 0; i < ARRAY_LEN(names); i++)
			if (strlen(names[i].name) == n &&
			    strncmp(s + 1, names[i].name, n) == 0)
				cp = names[i].cp;
		if (cp == 0)
			return 0;
	}
	if (cp == ' ') {
		o->space = 1;
	} else {
		put_cp(&tmp, cp);
		html_text(o, tmp.data, tmp.len);
		buf_free(&tmp);
	}
	return (size_t)(semi - s + 1);
}

static int
tag_is(const char *t, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(t, name, n) == 0;
}

char *
mime_html_to_text(const char *html, size_t len)
{
	static const char *const blocks[] = {
	    "p",       "div",	  "br",	    "li",     "tr",	   "h1",
	    "h2",      "h3",	  "h4",	    "h5",     "h6",	   "table",
	    "ul",      "ol",	  "pre",    "hr",     "dd",	   "dt",
	    "section", "article", "header", "footer", "blockquote"};
	struct buf b = {0};
	struct html_out o = {.b = &b, .at_bol = 1};
	const char *p = html, *end = html + len;

	while (p < end) {
		if (*p == '<') {
			const char *t = p + 1, *q;
			int closing = 0;
			size_t tl, i;

			if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
				const char *c = p + 4;

				while (c + 3 <= end && memcmp(c, "-->", 3) != 0)
					c++;
				p = c + 3 <= end ? c + 3 : end;
				continue;
			}
			if (t < end && *t == '/') {
				closing = 1;
				t++;
			}
			for (q = t; q < end && (isalnum((unsigned char)*q));
			     q++)
				;
			tl = (size_t)(q - t);
			if (tl == 0 && !(t < end && (*t == '!' || *t == '?'))) {
				html_text(&o, p, 1); /* a lone '<' */
				p++;
				continue;
			}
			/* to the tag's end, across quoted attributes */
			{
				char quote = 0;

				while (q < end && (quote || *q != '>')) {
					if (quote && *q == quote)
						quote = 0;
					else if (!quote &&
						 (*q == '"' || *q == '\''))
						quote = *q;
					q++;
				}
			}
			p = q < end ? q + 1 : end;
			if (!closing &&
			    (tag_is(t, tl, "script") ||
			     tag_is(t, tl, "style") || tag_is(t, tl, "head") ||
			     tag_is(t, tl, "title"))) {
				/* skip to the matching end tag */
				char endtag[16];
				size_t el =
				    (size_t)snprintf(endtag, sizeof(endtag),
						     "</%.*s", (int)tl, t);

				while (p < end &&
				       !((size_t)(end - p) >= el &&
					 strncasecmp(p, endtag, el) == 0))
					p++;
				continue;
			}
			if (tag_is(t, tl, "blockquote")) {
				if (closing && o.quote > 0)
					o.quote--;
				else if (!closing)
					o.quote++;
			}
			for (i = 0; i < ARRAY_LEN(blocks); i++)
				if (tag_is(t, tl, blocks[i])) {
					html_newline(
					    &o, tag_is(t, tl, "br") ||
							tag_is(t, tl, "li") ||
							tag_is(t, tl, "tr")
						    ? 1
						    : 2);
					break;
				}
			continue;
		}
		if (*p == '&') {
			size_t n = html_entity(&o, p, end);

			if (n > 0) {
				p += n;
				continue;
			}
		}
		if (isspace((unsigned char)*p)) {
			o.space = 1;
			p++;
			continue;
		}
		{
			const char *q = p;

			/* at least one byte: a '&' that is no entity too */
			q++;
			while (q < end && *q != '<' && *q != '&' &&
			       !isspace((unsigned char)*q))
				q++;
			html_text(&o, p, (size_t)(q - p));
			p = q;
		}
	}
	return buf_steal(&b);
}

/* ---- reply lines ---- */

static int
ends_with_wrote(const char *s, size_t n)
{
	static const char w[] = "wrote:";

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return n >= sizeof(w) - 1 &&
	       strncasecmp(s + n - (sizeof(w) - 1), w, sizeof(w) - 1) == 0;
}

char *
mime_reply_line(const char *text)
{
	const char *p = text ? text : "";
	int skip_wrote = 0;

	while (*p) {
		size_t n = strcspn(p, "\n");
		const char *next = p[n] ? p + n + 1 : p + n;
		char *line = xstrndup(p, n), *l;

		/* a byte-order mark or no-break spaces lead some replies */
		l = line;
		for (;;) {
			if (strncmp(l, "\xef\xbb\xbf", 3) == 0)
				l += 3;
			else if (strncmp(l, "\xc2\xa0", 2) == 0)
				l += 2;
			else
				break;
		}
		if (strncmp(l, "--", 2) == 0 && str_is_blank(l + 2)) {
			free(line);
			return NULL; /* the signature: nothing above it */
		}
		l = str_trim(l);
		if (*l == '\0' || *l == '>') {
			free(line);
			p = next;
			continue;
		}
		if (str_casecmp_prefix(l, "-----Original Message") ||
		    strncmp(l, "________________", 16) == 0) {
			free(line);
			return NULL;
		}
		if (skip_wrote) {
			skip_wrote = 0;
			if (ends_with_wrote(l, strlen(l))) {
				free(line);
				p = next;
				continue;
			}
		}
		if (str_casecmp_prefix(l, "On ")) {
			if (ends_with_wrote(l, strlen(l))) {
				free(line);
				p = next;
				continue;
			}
			/* "On <date>, <name>" wrapped before "wrote:" */
			{
				const char *q = next;

				while (*q == '\n' || *q == '\r' || *q == ' ')
					q++;
				if (ends_with_wrote(q, strcspn(q, "\n"))) {
					free(line);
					skip_wrote = 1;
					p = next;
					continue;
				}
			}
		}
		{
			char *r = xstrdup(l);

			free(line);
			return r;
		}
	}
	return NULL;
}

/* ---- walk ---- */

/* Normalises line ends to LF and appends; a NUL is refused. */
static int
add_text(struct buf *dst, const char *s, size_t n)
{
	size_t i;

	if (memchr(s, '\0', n) != NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			buf_putc(dst, '\n');
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
		} else {
			buf_putc(dst, s[i]);
		}
	}
	return 0;
}

/* Decodes the body by its Content-Transfer-Encoding into out. */
static int
transfer_decode(struct walk *w, const struct fields *f, const char *p, size_t n,
		struct buf *out)
{
	char *cte = main_token(fields_get(f, "Content-Transfer-Encoding"));
	int rc = 0;

	if (strcmp(cte, "base64") == 0) {
		if (b64_decode(p, n, out) < 0)
			rc = fail(w->err, w->errlen,
				  "invalid base64 in part %zu", w->parts);
	} else if (strcmp(cte, "quoted-printable") == 0) {
		qp_decode(p, n, 0, out);
	} else if (*cte == '\0' || strcmp(cte, "7bit") == 0 ||
		   strcmp(cte, "8bit") == 0 || strcmp(cte, "binary") == 0) {
		buf_add(out, p, n);
	} else {
		rc = fail(w->err, w->errlen,
			  "unknown Content-Transfer-Encoding \"%.40s\" in part "
			  "%zu",
			  cte, w->parts);
		no_controls(w->err);
	}
	free(cte);
	return rc;
}

static void
add_attachment(struct walk *w, const char *name, const char *type, size_t size)
{
	struct mime_msg *m = w->m;
	struct mime_attachment *a;
	struct buf b = {0};
	size_t n;

	m->att = xrealloc(m->att, (m->natt + 1) * sizeof(*m->att));
	a = &m->att[m->natt++];
	/* a name for people: no controls, no path, bounded */
	if (name != NULL) {
		const char *base = strrchr(name, '/');

		if (base != NULL && base[1] != '\0')
			name = base + 1;
		base = strrchr(name, '\\');
		if (base != NULL && base[1] != '\0')
			name = base + 1;
	}
	buf_puts(&b, name != NULL && !str_is_blank(name) ? name : "unnamed");
	n = b.len;
	if (n > MIME_MAX_NAME) {
		n = MIME_MAX_NAME;
		while (n > 0 && ((unsigned char)b.data[n] & 0xc0) == 0x80)
			n--;
		b.data[n] = '\0';
		b.len = n;
	}
	no_controls(b.data);
	a->name = xstrdup(str_trim(b.data));
	buf_free(&b);
	if (*a->name == '\0') {
		free(a->name);
		a->name = xstrdup("unnamed");
	}
	a->type = xstrdup(type);
	a->size = size;
}

static int walk_entity(struct walk *w, const char *p, const char *end, int top,
		       int depth);

/* Splits a multipart body at its boundary and walks each part. */
static int
walk_multipart(struct walk *w, const char *boundary, const char *p,
	       const char *end, int depth)
{
	size_t bl = strlen(boundary);
	const char *part = NULL, *next;
	int found = 0;

	if (bl == 0 || bl > MIME_MAX_BOUNDARY)
		return fail(w->err, w->errlen,
			    "multipart boundary of %zu characters", bl);
	while (p < end) {
		const char *e = line_end(p, end, &next);
		int delim = 0, close = 0;

		if ((size_t)(e - p) >= bl + 2 && p[0] == '-' && p[1] == '-' &&
		    memcmp(p + 2, boundary, bl) == 0) {
			const char *r = p + 2 + bl;

			if (e - r >= 2 && r[0] == '-' && r[1] == '-') {
				close = 1;
				r += 2;
			}
			delim = 1;
			for (; r < e; r++)
				if (*r != ' ' && *r != '\t')
					delim = 0;
		}
		if (delim) {
			if (part != NULL) {
				/* the line break before a delimiter is its own
				 */
				const char *pe = p;

				if (pe > part && pe[-1] == '\n')
					pe--;
				if (pe > part && pe[-1] == '\r')
					pe--;
				if (walk_entity(w, part, pe, 0, depth + 1) < 0)
					return -1;
			}
			found = 1;
			part = close ? NULL : next;
			if (close)
				return 0; /* the epilogue is ignored */
		}
		p = next;
	}
	if (!found)
		return fail(w->err, w->errlen,
			    "multipart body without its boundary");
	/* no closing delimiter: the last part runs to the end */
	if (part != NULL && walk_entity(w, part, end, 0, depth + 1) < 0)
		return -1;
	return 0;
}

static int
walk_leaf(struct walk *w, const struct fields *f, const char *type,
	  const char *p, const char *end)
{
	const char *ct = fields_get(f, "Content-Type");
	const char *cd = fields_get(f, "Content-Disposition");
	char *disp = main_token(cd), *name = param_get(cd, "filename");
	struct buf raw = {0};
	int text, rc = -1;

	if (name == NULL)
		name = param_get(ct, "name");
	text = (strcmp(type, "text/plain") == 0 ||
		strcmp(type, "text/html") == 0) &&
	       strcmp(disp, "attachment") != 0 && name == NULL;
	if (transfer_decode(w, f, p, (size_t)(end - p), &raw) < 0)
		goto out;
	if (!text) {
		add_attachment(w, name, type, raw.len);
		rc = 0;
		goto out;
	}
	{
		char *cs = param_get(ct, "charset");
		struct buf u = {0};
		int bad = to_utf8(&u, buf_str(&raw), raw.len, cs);

		if (bad < 0) {
			fail(w->err, w->errlen, "unsupported charset \"%.40s\"",
			     cs);
			no_controls(w->err);
		} else if (memchr(buf_str(&u), '\0', u.len) != NULL) {
			bad = fail(w->err, w->errlen,
				   "NUL character in the text of part %zu",
				   w->parts);
		} else if (strcmp(type, "text/html") == 0) {
			char *t = mime_html_to_text(buf_str(&u), u.len);

			if (w->html.len)
				buf_putc(&w->html, '\n');
			add_text(&w->html, t, strlen(t));
			free(t);
		} else {
			if (w->plain.len)
				buf_putc(&w->plain, '\n');
			add_text(&w->plain, buf_str(&u), u.len);
		}
		free(cs);
		buf_free(&u);
		if (bad < 0)
			goto out;
	}
	rc = 0;
out:
	free(disp);
	free(name);
	buf_free(&raw);
	return rc;
}

static int
walk_entity(struct walk *w, const char *p, const char *end, int top, int depth)
{
	struct fields f = {0};
	const char *body;
	char *type = NULL;
	int rc = -1;

	if (++w->parts > MIME_MAX_PARTS) {
		fail(w->err, w->errlen, "more than %d MIME parts",
		     MIME_MAX_PARTS);
		goto out;
	}
	if (parse_fields(p, end, top, &f, &body, w->err, w->errlen) < 0) {
		fields_free(&f);
		goto out;
	}
	if (top) {
		/* the message's own fields are kept; f now owns nothing */
		w->m->hdr = f.v;
		w->m->nhdr = f.n;
	}
	type = main_token(top ? mime_get(w->m, "Content-Type")
			      : fields_get(&f, "Content-Type"));
	if (strchr(type, '/') == NULL) {
		free(type);
		type = xstrdup("text/plain");
	}
	if (strncmp(type, "multipart/", 10) == 0) {
		const char *ct = top ? mime_get(w->m, "Content-Type")
				     : fields_get(&f, "Content-Type");
		char *boundary = param_get(ct, "boundary");

		if (depth >= MIME_MAX_DEPTH) {
			fail(w->err, w->errlen,
			     "MIME parts nested deeper "
			     "than %d",
			     MIME_MAX_DEPTH);
		} else if (boundary == NULL) {
			fail(w->err, w->errlen, "%.40s without a boundary",
			     type);
			no_controls(w->err);
		} else {
			if (strcmp(type, "multipart/report") == 0)
				w->m->report = 1;
			rc = walk_multipart(w, boundary, body, end, depth);
		}
		free(boundary);
		goto out;
	}
	{
		struct fields view = {top ? w->m->hdr : f.v,
				      top ? w->m->nhdr : f.n};

		rc = walk_leaf(w, &view, type, body, end);
	}
out:
	if (!top)
		fields_free(&f);
	free(type);
	return rc;
}

/* ---- the message ---- */

static char *
message_id(const char *v)
{
	const char *s, *e;
	size_t n, i;

	if (v == NULL)
		return NULL;
	s = strchr(v, '<');
	if (s != NULL) {
		s++;
		e = strchr(s, '>');
		if (e == NULL)
			return NULL;
	} else {
		s = skip_cfws(v);
		e = s + strcspn(s, " \t(");
	}
	n = (size_t)(e - s);
	if (n == 0 || n > 250)
		return NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 ||
		    s[i] == '<' || s[i] == '>')
			return NULL;
	return xstrndup(s, n);
}

int
mime_parse(const char *data, size_t len, struct mime_msg *m, char *err,
	   size_t errlen)
{
	struct walk w = {.m = m, .err = err, .errlen = errlen};
	const char *v;
	char **from = NULL, *t;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (errlen > 0)
		err[0] = '\0';
	if (len > MIME_MAX_SIZE) {
		fail(err, errlen, "message of %zu bytes (at most %u)", len,
		     MIME_MAX_SIZE);
		goto out;
	}
	if (len == 0) {
		fail(err, errlen, "empty message");
		goto out;
	}
	if (memchr(data, '\0', len) != NULL) {
		fail(err, errlen, "NUL byte in the message");
		goto out;
	}
	if (memchr(data, '\n', len) == NULL) {
		fail(err, errlen, "no line breaks: not a mail message");
		goto out;
	}
	if (walk_entity(&w, data, data + len, 1, 0) < 0)
		goto out;
	if (m->nhdr == 0) {
		fail(err, errlen, "no header fields");
		goto out;
	}
	v = mime_get(m, "Subject");
	m->subject = mime_decode_header(v ? v : "");
	t = str_trim(m->subject);
	memmove(m->subject, t, strlen(t) + 1);
	m->nfrom = mime_addresses(mime_get(m, "From"), &from);
	if (m->nfrom > 0)
		m->from = xstrdup(from[0]);
	mime_addrs_free(from, m->nfrom);
	m->message_id = message_id(mime_get(m, "Message-ID"));
	if (w.plain.len > 0 && !str_is_blank(w.plain.data)) {
		m->text = buf_steal(&w.plain);
	} else if (w.html.len > 0) {
		m->text = buf_steal(&w.html);
		m->text_from_html = 1;
	} else {
		m->text = xstrdup("");
	}
	rc = 0;
out:
	buf_free(&w.plain);
	buf_free(&w.html);
	if (rc < 0) {
		mime_msg_free(m);
		if (errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "unreadable message");
	}
	return rc;
}

void
mime_msg_free(struct mime_msg *m)
{
	struct fields f;
	size_t i;

	if (m == NULL)
		return;
	f.v = m->hdr;
	f.n = m->nhdr;
	fields_free(&f);
	free(m->subject);
	free(m->from);
	free(m->message_id);
	free(m->text);
	for (i = 0; i < m->natt; i++) {
		free(m->att[i].name);
		free(m->att[i].type);
	}
	free(m->att);
	memset(m, 0, sizeof(*m));
}

const char *
mime_get(const struct mime_msg *m, const char *name)
{
	size_t pos = 0;

	return mime_get_next(m, name, &pos);
}

const char *
mime_get_next(const struct mime_msg *m, const char *name, size_t *pos)
{
	for (; *pos < m->nhdr; (*pos)++)
		if (strcasecmp(m->hdr[*pos].name, name) == 0)
			return m->hdr[(*pos)++].value;
	return NULL;
}
