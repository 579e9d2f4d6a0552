/*
 * Logging to stderr with levels. log_warnx does not append errno (callers
 * name the cause in the text); fatalx exits with 1, for start-up only.
 */
#ifndef ISMS_LOG_H
#define ISMS_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level l);
int log_level_parse(const char *s, enum log_level *out);
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
