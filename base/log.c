/*
 * Logging to stderr: one line per event, UTC timestamp, level. Callers
 * never pass secrets; adapters log ids and error codes, not bodies.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level log_current = LOG_INFO;
static enum log_format log_fmt = LOG_TEXT;

void
log_set_level(enum log_level l)
{
	log_current = l;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	int i;

	for (i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_set_format(enum log_format f)
{
	log_fmt = f;
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcasecmp(s, "text") == 0)
		*out = LOG_TEXT;
	else if (strcasecmp(s, "json") == 0)
		*out = LOG_JSON;
	else
		return -1;
	return 0;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * A JSON string's contents (RFC 8259): quotes, backslashes and controls
 * escaped, a byte that is not UTF-8 written as U+FFFD.
 */
static void
json_text(struct buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t n;

		if (c >= 0x80) {
			n = utf8_len((const unsigned char *)s);
			if (n == 0) {
				buf_puts(out, "\\ufffd");
			} else {
				buf_add(out, s, n);
				s += n - 1;
			}
		} else if (c == '"' || c == '\\') {
			buf_putc(out, '\\');
			buf_putc(out, (char)c);
		} else if (c == '\n') {
			buf_puts(out, "\\n");
		} else if (c == '\t') {
			buf_puts(out, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(out, "\\u%04x", c);
		} else {
			buf_putc(out, (char)c);
		}
	}
}

void
log_format_line(struct buf *out, enum log_format f, time_t t, const char *level,
		const char *msg)
{
	char ts[32];
	struct tm tm;
	size_t n = strlen(msg);
	const char *p;

	/* trailing line breaks are the caller's habit, not content */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (f == LOG_JSON) {
		char *m = xcalloc(1, n + 1);

		memcpy(m, msg, n);
		buf_printf(out, "{\"time\":\"%s\",\"level\":\"", ts);
		json_text(out, level);
		buf_puts(out, "\",\"msg\":\"");
		json_text(out, m);
		buf_puts(out, "\"}\n");
		free(m);
		return;
	}
	buf_printf(out, "%s %s ", ts, level);
	for (p = msg; p < msg + n; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n')
			buf_puts(out, "; ");
		else if (c == '\r')
			continue;
		else if (c < 0x20 || c == 0x7f)
			buf_putc(out, ' ');
		else
			buf_putc(out, (char)c);
	}
	buf_putc(out, '\n');
}

static void log_vline(enum log_level l, const char *tag, int err,
		      const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void
log_vline(enum log_level l, const char *tag, int err, const char *fmt,
	  va_list ap)
{
	struct buf msg = {0}, line = {0};

	if (l > log_current)
		return;
	buf_vprintf(&msg, fmt, ap);
	if (err)
		buf_printf(&msg, ": %s", strerror(err));
	log_format_line(&line, log_fmt, time(NULL), tag, buf_str(&msg));
	/* one write per event, so lines of threads do not interleave */
	fwrite(line.data, 1, line.len, stderr);
	fflush(stderr);
	buf_free(&msg);
	buf_free(&line);
}

#define LOG_FN(name, level, tag, with_errno)                                   \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		int saved = errno;                                             \
		va_list ap;                                                    \
                                                                               \
		va_start(ap, fmt);                                             \
		log_vline(level, tag, with_errno ? saved : 0, fmt, ap);        \
		va_end(ap);                                                    \
		errno = saved;                                                 \
	}

LOG_FN(log_warnx, LOG_WARN, "warn", 0)
LOG_FN(log_error, LOG_ERROR, "error", 0)
LOG_FN(log_info, LOG_INFO, "info", 0)
LOG_FN(log_debug, LOG_DEBUG, "debug", 0)

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_ERROR, "fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
