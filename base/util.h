/*
 * Small shared helpers: allocation that aborts on exhaustion, a growable
 * byte buffer, string and time utilities. No state of its own.
 */
#ifndef ISMS_UTIL_H
#define ISMS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocators: never return NULL; abort with a message when memory is out. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL stays NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable buffer, always NUL-terminated once anything was added. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_add(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
const char *buf_str(const struct buf *b); /* "" when empty; borrowed */
char *buf_steal(struct buf *b);		  /* caller frees; b is reset */
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Appends s with & < > " ' escaped for HTML text and attributes. */
void buf_put_html(struct buf *b, const char *s);
/*
 * Appends s[0..n) as a quoted JSON string, escaped byte for byte as
 * jansson's json_dumps escapes it (UTF-8 passed through).
 */
void buf_put_json(struct buf *b, const char *s, size_t n);
/* The same with each newline written as br (e.g. "<br>") and CR dropped. */
void buf_put_html_lines(struct buf *b, const char *s, const char *br);

/* Strings. */
int str_casecmp_prefix(const char *s, const char *prefix); /* 1 if match */
char *str_trim(char *s);				   /* in place */
int str_is_blank(const char *s);
int str_valid_utf8(const char *s, size_t len);
/*
 * One UTF-8 character from s (len bytes available): its length (1-4) and
 * code point in *out, or -1 when the bytes are not well-formed UTF-8.
 */
int utf8_decode(const char *s, size_t len, uint32_t *out);
size_t str_utf8_chars(const char *s); /* characters, not bytes */
/*
 * Input cleaning, in place: removes C0 controls other than newline and
 * tab, DEL, C1 controls and bidi override/isolate characters. Returns
 * how many were removed. Bytes that are not UTF-8 are left alone.
 */
size_t str_strip_unsafe(char *s);
/*
 * Output escaping: appends s with those characters (and bytes that are
 * not UTF-8) written visibly as \xNN or \uNNNN, so nothing stored can
 * move a terminal's cursor, change its title or reorder a line.
 */
#define PRINT_KEEP_NL  1u
#define PRINT_KEEP_TAB 2u
void buf_put_printable(struct buf *b, const char *s, unsigned keep);
void fput_printable(FILE *fp, const char *s, unsigned keep);
int parse_int(const char *s, long min, long max, long *out); /* 0 / -1 */
void str_free_secret(char *s); /* wipes, then frees; NULL is ignored */

/* Time: UTC seconds since the epoch. */
void time_iso(int64_t t, char out[32]);		  /* 2026-01-31T09:00:00Z */
void time_date(int64_t t, char out[16]);	  /* 2026-01-31 */
int time_parse_date(const char *s, int64_t *out); /* YYYY-MM-DD, 00:00 UTC */
int64_t time_add_months(int64_t t, int months);

/* Hex encoding of bytes; out needs 2 * n + 1. */
void hex_encode(const unsigned char *in, size_t n, char *out);
int hex_digit(int c); /* 0-15 for 0-9, a-f, A-F; else -1 */

#endif
