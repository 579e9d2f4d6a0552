/*
 * Received mail (RFC 5322 and MIME): headers, the readable text as UTF-8,
 * attachment names and sizes, addresses, and the first-line rule of
 * replies. Pure code without I/O or store; fuzzed by tests/fuzz/.
 */
#ifndef ISMS_MIME_H
#define ISMS_MIME_H

#include <stddef.h>

#define MIME_MAX_SIZE	      (2u * 1024 * 1024) /* bytes of one message */
#define MIME_MAX_HEADER_BYTES (256 * 1024)	 /* one header section */
#define MIME_MAX_HEADER_LINE  (64 * 1024)	 /* one unfolded field */
#define MIME_MAX_HEADERS      1000		 /* fields of one section */
#define MIME_MAX_DEPTH	      8			 /* nested multiparts */
#define MIME_MAX_PARTS	      256		 /* entities in one message */

struct mime_header {
	char *name;  /* as written */
	char *value; /* unfolded, not decoded, surrounding blanks trimmed */
};

struct mime_attachment {
	char *name;  /* UTF-8, decoded; "unnamed" when none was given */
	char *type;  /* lower case, e.g. "application/pdf" */
	size_t size; /* decoded bytes */
};

/* A parsed message; everything owned, released with mime_msg_free. */
struct mime_msg {
	struct mime_header *hdr; /* top-level fields in order */
	size_t nhdr;
	char *subject;	    /* decoded UTF-8 without controls; "" when none */
	char *from;	    /* the From address in lower case, or NULL */
	size_t nfrom;	    /* addresses in From (1 unless odd or forged) */
	char *message_id;   /* without angle brackets, or NULL */
	char *text;	    /* readable body: UTF-8, LF line ends, never NULL */
	int text_from_html; /* no text/plain: made from text/html */
	int report;	    /* a multipart/report (bounce, read receipt) */
	struct mime_attachment *att;
	size_t natt;
};

/*
 * Parses len bytes (need not be NUL-terminated). Returns 0, or -1 with a
 * one-line reason in err (hostile or broken input: no boundary, invalid
 * base64, NUL bytes, nesting too deep, oversized headers, ...). out is
 * zeroed first and must be released with mime_msg_free either way.
 */
int mime_parse(const char *data, size_t len, struct mime_msg *out, char *err,
	       size_t errlen);
void mime_msg_free(struct mime_msg *m);

/* First value of a field (case-insensitive name), or NULL; borrowed. */
const char *mime_get(const struct mime_msg *m, const char *name);

/*
 * Iterates over every field called name: start with *pos = 0; returns
 * NULL after the last. Borrowed.
 */
const char *mime_get_next(const struct mime_msg *m, const char *name,
			  size_t *pos);

/* RFC 2047 decoding of an unstructured value to UTF-8; caller frees. */
char *mime_decode_header(const char *value);

/*
 * The addr-specs of an address-list value ("A" <a@x>, b@y, group: c@z;),
 * lower case, at most 100. Returns the count; *out is a new array the
 * caller releases with mime_addrs_free.
 */
size_t mime_addresses(const char *value, char ***out);
void mime_addrs_free(char **v, size_t n);

/* Text of an HTML document: tags dropped, entities decoded, quoted
 * blocks prefixed with "> ". Caller frees. */
char *mime_html_to_text(const char *html, size_t len);

/*
 * The line a reply means: the first that is not empty, not quoted (">"),
 * not an "On ... wrote:" header; reading stops at a signature ("-- ") or
 * an "Original Message" separator. Trimmed, caller frees; NULL if none.
 */
char *mime_reply_line(const char *text);

#endif
