/*
 * Outgoing mail: a complete RFC 5322 message, multipart/alternative with
 * text/plain and text/html in UTF-8 quoted-printable, RFC 2047 subjects
 * and names. Pure code; the mail adapter hands the result to libesmtp.
 */
#ifndef ISMS_MAILBUILD_H
#define ISMS_MAILBUILD_H

#include <stdint.h>

/* What goes into one message; every pointer borrowed. */
struct mailbuild {
	const char *from;	 /* address */
	const char *from_name;	 /* display name (UTF-8) or NULL */
	const char *to;		 /* address */
	const char *to_name;	 /* display name or NULL */
	const char *reply_to;	 /* address or NULL */
	const char *subject;	 /* UTF-8; controls become blanks */
	const char *text;	 /* UTF-8 body */
	const char *html;	 /* UTF-8 HTML document, or NULL: from text */
	const char *message_id;	 /* without angle brackets */
	const char *in_reply_to; /* Message-ID answered, or NULL */
	const char *auto_submitted; /* "auto-generated", "auto-replied", NULL */
	int64_t date;		    /* UTC seconds */
};

/* The message with CRLF line ends, NUL-terminated; caller frees. */
char *mailbuild_message(const struct mailbuild *m);

/*
 * An HTML document showing text (escaped, line breaks kept) followed by
 * extra, trusted HTML (may be NULL). Caller frees.
 */
char *mailbuild_html(const char *text, const char *extra);

/* Whether addr is a plain addr-spec safe to put in a header. */
int mailbuild_address_ok(const char *addr);

/* The domain of an address (after the last '@'), borrowed, or "". */
const char *mailbuild_domain(const char *addr);

#endif
