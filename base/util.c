/*
 * Small shared helpers: aborting allocators, the growable buffer, strings
 * and UTC time arithmetic.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
oom(void)
{
	fputs("fatal: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom();
	return q;
}

char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_steal(&b);
}

static void
buf_grow(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		oom(); /* no size_t holds it: as if memory ran out */
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
	b->data = xrealloc(b->data, b->cap);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap) { /* room for c and the NUL */
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return;
	}
	buf_add(b, &c, 1);
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *
buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* HTML-escapes s; with br set, a newline becomes br and CR is dropped. */
static void
html_escape(struct buf *b, const char *s, const char *br)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		case '\n':
			if (br != NULL)
				buf_puts(b, br);
			else
				buf_putc(b, '\n');
			break;
		case '\r':
			if (br == NULL)
				buf_putc(b, '\r');
			break;
		default:
			buf_putc(b, *s);
		}
	}
}

void
buf_put_json(struct buf *b, const char *s, size_t n)
{
	static const char esc[] = "btn\0fr";
	const char *run = s, *end = s + n;

	buf_putc(b, '"');
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c >= '\b' && c <= '\r' && esc[c - '\b']) {
			buf_putc(b, '\\');
			buf_putc(b, esc[c - '\b']);
		} else {
			buf_printf(b, "\\u%04X", c);
		}
	}
	buf_add(b, run, (size_t)(end - run));
	buf_putc(b, '"');
}

void
buf_put_html(struct buf *b, const char *s)
{
	html_escape(b, s, NULL);
}

void
buf_put_html_lines(struct buf *b, const char *s, const char *br)
{
	html_escape(b, s, br);
}

int
str_casecmp_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

char *
str_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
str_is_blank(const char *s)
{
	if (s == NULL)
		return 1;
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

int
utf8_decode(const char *str, size_t len, uint32_t *out)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c;
	size_t n, k;
	uint32_t cp;

	if (len == 0)
		return -1;
	c = s[0];
	if (c < 0x80) {
		*out = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 1;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3;
		cp = c & 0x07;
	} else {
		return -1;
	}
	for (k = 1; k <= n; k++) {
		if (k >= len || (s[k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
	    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*out = cp;
	return (int)n + 1;
}

int
str_valid_utf8(const char *str, size_t len)
{
	size_t i = 0;
	uint32_t cp;
	int n;

	while (i < len) {
		n = utf8_decode(str + i, len - i, &cp);
		if (n < 0)
			return 0;
		i += (size_t)n;
	}
	return 1;
}

size_t
str_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * Characters a terminal or a text renderer acts on instead of showing:
 * C0 controls (tab and newline are judged by the caller), DEL, C1
 * controls, and the bidi embedding, override and isolate characters
 * that reorder what is shown around them.
 */
static int
cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
str_strip_unsafe(char *s)
{
	size_t len = strlen(s), i = 0, o = 0, removed = 0;
	uint32_t cp;
	int n;

	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n < 0) { /* not UTF-8: left for the caller to refuse */
			s[o++] = s[i++];
			continue;
		}
		if (cp_unsafe(cp) && cp != '\n' && cp != '\t') {
			removed++;
		} else {
			memmove(s + o, s + i, (size_t)n);
			o += (size_t)n;
		}
		i += (size_t)n;
	}
	s[o] = '\0';
	return removed;
}

void
buf_put_printable(struct buf *b, const char *s, unsigned keep)
{
	size_t len = strlen(s), i = 0;
	uint32_t cp;
	int n;

	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n < 0) {
			buf_printf(b, "\\x%02x", (unsigned char)s[i]);
			i++;
			continue;
		}
		if (!cp_unsafe(cp) || (cp == '\n' && (keep & PRINT_KEEP_NL)) ||
		    (cp == '\t' && (keep & PRINT_KEEP_TAB)))
			buf_add(b, s + i, (size_t)n);
		else if (cp < 0x80)
			buf_printf(b, "\\x%02x", (unsigned)cp);
		else
			buf_printf(b, "\\u%04x", (unsigned)cp);
		i += (size_t)n;
	}
}

void
fput_printable(FILE *fp, const char *s, unsigned keep)
{
	struct buf b = {0};

	buf_put_printable(&b, s, keep);
	fwrite(buf_str(&b), 1, b.len, fp);
	buf_free(&b);
}

int
parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void
str_free_secret(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

void
time_iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
time_date(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

int
time_parse_date(const char *s, int64_t *out)
{
	struct tm tm = {0};
	int y, m, d, n = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || s[10] != '\0')
		return -1;
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*out = (int64_t)timegm(&tm);
	/* reject 2026-02-31 and friends: timegm normalises them */
	{
		char back[16];

		time_date(*out, back);
		if (strcmp(back, s) != 0)
			return -1;
	}
	return 0;
}

int64_t
time_add_months(int64_t t, int months)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int mday;

	gmtime_r(&tt, &tm);
	mday = tm.tm_mday;
	tm.tm_mon += months;
	tm.tm_mday = 1;
	tt = timegm(&tm);
	gmtime_r(&tt, &tm);
	/* clamp 31 Jan + 1 month to the end of February */
	{
		static const int days[] = {31, 28, 31, 30, 31, 30,
					   31, 31, 30, 31, 30, 31};
		int y = tm.tm_year + 1900;
		int last = days[tm.tm_mon];

		if (tm.tm_mon == 1 &&
		    ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
			last = 29;
		tm.tm_mday = mday > last ? last : mday;
	}
	return (int64_t)timegm(&tm);
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}
