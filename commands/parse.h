/*
 * The command grammar shared by every transport:
 *   /isms <object> <verb> [words] [key=value ...]
 * with quoting ("..." '...' and typographic quotes), the /incident and
 * /risk shortcuts and the !isms, !incident, !risk prefixes of Matrix.
 */
#ifndef ISMS_PARSE_H
#define ISMS_PARSE_H

#include <stddef.h>

#define CMD_MAX_TEXT   4000
#define CMD_MAX_TOKENS 128

struct cmd_kv {
	char *key; /* lower case */
	char *value;
};

struct cmdline {
	char *object; /* lower case; NULL when the text is empty */
	char *verb;   /* lower case; NULL when absent */
	char **pos;   /* positional words after object and verb, unquoted */
	char **raw;   /* the same words as typed */
	int *quoted;  /* whether each began with a quote */
	size_t npos;
	struct cmd_kv *kv;
	size_t nkv;
};

/*
 * Parses text (at most CMD_MAX_TEXT bytes of UTF-8). Control characters
 * other than newline and tab, and bidi override/isolate characters, are
 * removed first. Returns 0, or -1 with a one-line message for a person
 * in err. out must be released with cmdline_free either way.
 */
int cmdline_parse(const char *text, struct cmdline *out, char *err,
		  size_t errlen);
void cmdline_free(struct cmdline *cl);

/* Positional words from index from, joined by single spaces; caller frees. */
char *cmdline_join(const struct cmdline *cl, size_t from);

/* Makes the verb the first positional word (object-only commands). */
void cmdline_unshift_verb(struct cmdline *cl);

/* Value of key, or NULL; borrowed from cl. */
const char *cmdline_get(const struct cmdline *cl, const char *key);

#endif
