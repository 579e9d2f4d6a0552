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

static void log_vline(enum log_level l, const char *tag, int err,
		      const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void
log_vline(enum log_level l, const char *tag, int err, const char *fmt,
	  va_list ap)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (l > log_current)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s ", ts, tag);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	fflush(stderr);
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
