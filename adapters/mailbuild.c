/*
 * Composition of outgoing mail. Header values are cleaned of line breaks
 * (no header injection from subjects that quote user text) and encoded
 * per RFC 2047; bodies are quoted-printable, whose output never contains
 * the "=_" that starts our boundary.
 */
#include "mailbuild.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/util.h"

#define BOUNDARY    "=_isms-alternative"
#define QP_LINE	    76
#define WORD_BYTES  45	/* bytes per encoded word: 60 base64 characters */
#define SUBJECT_MAX 250 /* bytes of a subject before it is cut */
#define DNAME_MAX   120 /* bytes of a display name */

int
mailbuild_address_ok(const char *a)
{
	const char *at, *p;

	if (a == NULL || (at = strrchr(a, '@')) == NULL || at == a ||
	    at[1] == '\0' || strlen(a) > 254)
		return 0;
	for (p = a; *p; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127 ||
		    strchr("<>()[]\\,;:\"", *p) != NULL)
			return 0;
	return strchr(a, '@') == at;
}

const char *
mailbuild_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at ? at + 1 : "";
}

static int
plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s >= 127)
			return 0;
	return 1;
}

/*
 * Cleans a header value: controls become blanks, and a value longer than
 * max bytes is cut at a character boundary with "...".
 */
static char *
clean_value(const char *s, size_t max)
{
	char *c = xstrdup(s ? s : ""), *p;
	size_t n = strlen(c);

	for (p = c; *p; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			*p = ' ';
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)c[n] & 0xc0) == 0x80)
			n--;
		c = xrealloc(c, n + 4);
		memcpy(c + n, "...", 4);
	}
	return c;
}

/* Plain when printable ASCII, no "=?" and no word too long to fold. */
static int
fits_plain(const char *v)
{
	size_t run = 0;

	if (!plain_ascii(v) || strstr(v, "=?") != NULL)
		return 0;
	for (; *v; v++) {
		run = *v == ' ' ? 0 : run + 1;
		if (run > 900)
			return 0;
	}
	return 1;
}

/* RFC 2047 B-encoded words of s, split at character boundaries. */
static void
encode_words(struct buf *b, const char *s)
{
	size_t len = strlen(s), i = 0;
	int first = 1;

	while (i < len) {
		unsigned char out[4 * WORD_BYTES / 3 + 4];
		size_t n = len - i < WORD_BYTES ? len - i : WORD_BYTES;

		/* never split a UTF-8 sequence between two words */
		while (n > 1 && i + n < len &&
		       ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;
		EVP_EncodeBlock(out, (const unsigned char *)s + i, (int)n);
		buf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", out);
		first = 0;
		i += n;
	}
}

/* An unstructured value (Subject): plain when it can be, else encoded. */
static void
put_unstructured(struct buf *b, const char *name, const char *value)
{
	char *v = clean_value(value, SUBJECT_MAX);

	buf_printf(b, "%s: ", name);
	if (fits_plain(v)) {
		/* fold long plain values at blanks */
		size_t col = strlen(name) + 2;
		char *p = v;

		while (*p) {
			size_t w = strcspn(p + 1, " ") + 1;

			if (col + w > 78 && col > strlen(name) + 2 &&
			    *p == ' ') {
				buf_puts(b, "\r\n");
				col = 0;
			}
			buf_add(b, p, w);
			col += w;
			p += w;
		}
	} else {
		encode_words(b, v);
	}
	buf_puts(b, "\r\n");
	free(v);
}

/* "Name" <addr> or =?UTF-8?B?...?= <addr>; addr already checked. */
static void
put_mailbox(struct buf *b, const char *name, const char *dname,
	    const char *addr)
{
	char *n = dname ? clean_value(dname, DNAME_MAX) : NULL;

	buf_printf(b, "%s: ", name);
	if (n != NULL && !str_is_blank(n)) {
		if (fits_plain(n)) {
			const char *p;

			buf_putc(b, '"');
			for (p = n; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_putc(b, '\\');
				buf_putc(b, *p);
			}
			buf_putc(b, '"');
		} else {
			encode_words(b, n);
		}
		buf_putc(b, ' ');
	}
	buf_printf(b, "<%s>\r\n", addr);
	free(n);
}

static void
qp_put(struct buf *b, size_t *col, const char *tok, size_t n)
{
	if (*col + n > QP_LINE - 1) {
		buf_puts(b, "=\r\n");
		*col = 0;
	}
	buf_add(b, tok, n);
	*col += n;
}

/* Quoted-printable body with CRLF line ends. */
static void
put_qp(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tok[3];

		if (c == '\r')
			continue;
		if (c == '\n') {
			buf_puts(b, "\r\n");
			col = 0;
			continue;
		}
		if ((c == ' ' || c == '\t') && s[1] != '\n' && s[1] != '\r' &&
		    s[1] != '\0') {
			qp_put(b, &col, (const char *)&c, 1);
		} else if (c > 32 && c < 127 && c != '=' &&
			   !(c == '.' && col == 0)) {
			qp_put(b, &col, (const char *)&c, 1);
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			qp_put(b, &col, tok, 3);
		}
	}
	/* the line break before the next delimiter belongs to it */
}

static void
date_822(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
					   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};

	gmtime_r(&tt, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *
mailbuild_html(const char *text, const char *extra)
{
	struct buf b = {0};

	buf_puts(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		     "</head>\n<body><div style=\"font-family: sans-serif; "
		     "font-size: 14px;\">\n");
	buf_put_html_lines(&b, text ? text : "", "<br>\n");
	buf_puts(&b, "\n</div>\n");
	if (extra != NULL)
		buf_puts(&b, extra);
	buf_puts(&b, "</body></html>\n");
	return buf_steal(&b);
}

char *
mailbuild_message(const struct mailbuild *m)
{
	struct buf b = {0};
	char date[40], *html = NULL;

	date_822(m->date, date);
	buf_printf(&b, "Date: %s\r\n", date);
	put_mailbox(&b, "From", m->from_name, m->from);
	put_mailbox(&b, "To", m->to_name, m->to);
	if (m->reply_to != NULL)
		buf_printf(&b, "Reply-To: <%s>\r\n", m->reply_to);
	buf_printf(&b, "Message-ID: <%s>\r\n", m->message_id);
	if (m->in_reply_to != NULL) {
		buf_printf(&b, "In-Reply-To: <%s>\r\n", m->in_reply_to);
		buf_printf(&b, "References: <%s>\r\n", m->in_reply_to);
	}
	put_unstructured(&b, "Subject", m->subject);
	if (m->auto_submitted != NULL) {
		buf_printf(&b, "Auto-Submitted: %s\r\n", m->auto_submitted);
		buf_puts(&b, "X-Auto-Response-Suppress: All\r\n");
	}
	buf_puts(&b, "MIME-Version: 1.0\r\n"
		     "Content-Type: multipart/alternative; boundary=\"" BOUNDARY
		     "\"\r\n\r\n"
		     "--" BOUNDARY "\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	put_qp(&b, m->text ? m->text : "");
	buf_puts(&b, "\r\n--" BOUNDARY "\r\n"
		     "Content-Type: text/html; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	if (m->html == NULL)
		html = mailbuild_html(m->text, NULL);
	put_qp(&b, m->html ? m->html : html);
	buf_puts(&b, "\r\n--" BOUNDARY "--\r\n");
	free(html);
	return buf_steal(&b);
}
