/*
 * Logging to stderr with levels: one line per event, as text ("TIME LEVEL
 * message") or as one JSON object per line ({"time", "level", "msg"}).
 * log_warnx does not append errno (callers name the cause in the text);
 * fatalx exits with 1, for start-up only.
 */
#ifndef ISMS_LOG_H
#define ISMS_LOG_H

#include <time.h>

#include "util.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT, LOG_JSON };

void log_set_level(enum log_level l);
int log_level_parse(const char *s, enum log_level *out);
void log_set_format(enum log_format f);
int log_format_parse(const char *s, enum log_format *out);

/*
 * One event as written: time t (UTC), level name, message; line breaks
 * and other control characters in msg never start a new line (text: a
 * line break becomes "; ", trailing ones are dropped; JSON: escaped).
 * Ends with a newline. Pure, for tests.
 */
void log_format_line(struct buf *out, enum log_format f, time_t t,
		     const char *level, const char *msg);

void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
