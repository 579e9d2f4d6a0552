/*
 * Tokeniser and shape of a command line. Knows the prefixes and shortcuts
 * but nothing of what objects and verbs mean (that is cmd.c's table).
 */
#include "parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/util.h"

/* Typographic quotes that chat clients substitute for ASCII ones. */
static size_t
open_quote(const char *p, char *close, size_t *close_len)
{
	if (*p == '"' || *p == '\'') {
		*close = *p;
		*close_len = 0;
		return 1;
	}
	if (strncmp(p, "\xe2\x80\x9c", 3) == 0) { /* “ ... ” */
		*close = 0;
		*close_len = 3;
		return 3;
	}
	return 0;
}

/* Where the quote opened at p closes, or NULL when it never does. */
static const char *
find_close(const char *p, char close, size_t close_len, size_t *len)
{
	for (; *p; p++) {
		if (close_len == 0 && *p == close) {
			*len = 1;
			return p;
		}
		if (close_len != 0 && (strncmp(p, "\xe2\x80\x9d", 3) == 0 ||
				       strncmp(p, "\xe2\x80\x9c", 3) == 0)) {
			*len = 3;
			return p;
		}
	}
	return NULL;
}

struct token {
	char *text; /* quotes removed */
	char *raw;  /* as typed */
	int quoted; /* began with a quote */
};

/*
 * Splits into words. A quote opens only at the start of a word or right
 * after '=' (key="a b"); elsewhere, and when it never closes, it is an
 * ordinary character, so "can't" and a stray " stay as typed.
 */
static int
tokenize(const char *s, struct token **out, size_t *n, char *err, size_t errlen)
{
	struct buf w = {0};
	struct token *v = NULL;
	size_t count = 0;

	for (;;) {
		const char *begin;
		int quoted = 0;

		while (*s && isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		begin = s;
		buf_reset(&w);
		while (*s && !isspace((unsigned char)*s)) {
			char close;
			size_t cl, ol = 0, endlen = 0;
			const char *e = NULL;

			if (s == begin || s[-1] == '=')
				ol = open_quote(s, &close, &cl);
			if (ol)
				e = find_close(s + ol, close, cl, &endlen);
			if (e == NULL) {
				buf_putc(&w, *s++);
				continue;
			}
			if (s == begin)
				quoted = 1;
			buf_add(&w, s + ol, (size_t)(e - s - (ptrdiff_t)ol));
			s = e + endlen;
		}
		if (count == CMD_MAX_TOKENS) {
			snprintf(err, errlen, "too many words (at most %d)",
				 CMD_MAX_TOKENS);
			goto fail;
		}
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count].text = xstrdup(buf_str(&w));
		v[count].raw = xstrndup(begin, (size_t)(s - begin));
		v[count].quoted = quoted;
		count++;
	}
	buf_free(&w);
	*out = v;
	*n = count;
	return 0;
fail:
	buf_free(&w);
	while (count > 0) {
		count--;
		free(v[count].text);
		free(v[count].raw);
	}
	free(v);
	return -1;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* key=value when the word starts with an identifier and '='. */
static int
split_kv(const char *word, int quoted_start, char **key, char **value)
{
	const char *p = word;

	if (quoted_start || !(islower((unsigned char)*p) ||
			      isupper((unsigned char)*p) || *p == '_'))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (*p != '=' || p - word > 32)
		return 0;
	*key = xstrndup(word, (size_t)(p - word));
	lower(*key);
	*value = xstrdup(p + 1);
	return 1;
}

void
cmdline_free(struct cmdline *cl)
{
	size_t i;

	if (cl == NULL)
		return;
	free(cl->object);
	free(cl->verb);
	for (i = 0; i < cl->npos; i++) {
		free(cl->pos[i]);
		free(cl->raw[i]);
	}
	free(cl->pos);
	free(cl->raw);
	free(cl->quoted);
	for (i = 0; i < cl->nkv; i++) {
		free(cl->kv[i].key);
		free(cl->kv[i].value);
	}
	free(cl->kv);
	memset(cl, 0, sizeof(*cl));
}

static void
push_pos(struct cmdline *cl, size_t at, char *text, char *raw, int quoted)
{
	size_t n = cl->npos;

	cl->pos = xrealloc(cl->pos, (n + 1) * sizeof(*cl->pos));
	cl->raw = xrealloc(cl->raw, (n + 1) * sizeof(*cl->raw));
	cl->quoted = xrealloc(cl->quoted, (n + 1) * sizeof(*cl->quoted));
	memmove(cl->pos + at + 1, cl->pos + at, (n - at) * sizeof(*cl->pos));
	memmove(cl->raw + at + 1, cl->raw + at, (n - at) * sizeof(*cl->raw));
	memmove(cl->quoted + at + 1, cl->quoted + at,
		(n - at) * sizeof(*cl->quoted));
	cl->pos[at] = text;
	cl->raw[at] = raw;
	cl->quoted[at] = quoted;
	cl->npos++;
}

void
cmdline_unshift_verb(struct cmdline *cl)
{
	if (cl->verb == NULL)
		return;
	push_pos(cl, 0, cl->verb, xstrdup(cl->verb), 0);
	cl->verb = NULL;
}

int
cmdline_parse(const char *raw, struct cmdline *cl, char *err, size_t errlen)
{
	struct token *w = NULL;
	size_t n = 0, i, start = 0;
	const char *shortcut = NULL;
	char *text = NULL;
	int rc = -1;

	memset(cl, 0, sizeof(*cl));
	if (strlen(raw) > CMD_MAX_TEXT) {
		snprintf(err, errlen, "command too long (at most %d bytes)",
			 CMD_MAX_TEXT);
		return -1;
	}
	if (!str_valid_utf8(raw, strlen(raw))) {
		snprintf(err, errlen, "command is not valid UTF-8");
		return -1;
	}
	/*
	 * Whatever the transport, control characters and bidi overrides
	 * never reach a record: they could rewrite a terminal that shows
	 * the record later, or make it read differently from what it is.
	 */
	text = xstrdup(raw);
	str_strip_unsafe(text);
	if (tokenize(text, &w, &n, err, errlen) < 0)
		goto out;
	if (n > 0) {
		const char *h = w[0].text;

		if (strcasecmp(h, "/isms") == 0 || strcasecmp(h, "!isms") == 0)
			start = 1;
		else if (strcasecmp(h, "/incident") == 0 ||
			 strcasecmp(h, "!incident") == 0)
			shortcut = "incident";
		else if (strcasecmp(h, "/risk") == 0 ||
			 strcasecmp(h, "!risk") == 0)
			shortcut = "risk";
		else if (h[0] == '/' || h[0] == '!') {
			snprintf(err, errlen,
				 "unknown command %.40s; try /isms help", h);
			goto out;
		}
	}
	if (shortcut) {
		cl->object = xstrdup(shortcut);
		start = 1;
		if (strcmp(shortcut, "incident") == 0) {
			/* /incident <text> reports; /incident list still lists
			 */
			static const char *verbs[] = {
			    "report",	"list",	      "show", "assign",
			    "severity", "status",     "note", "close",
			    "notified", "notifiable", "help"};
			size_t k;

			cl->verb = xstrdup("report");
			if (n > 1 && !w[1].quoted)
				for (k = 0; k < ARRAY_LEN(verbs); k++)
					if (strcasecmp(w[1].text, verbs[k]) ==
					    0) {
						free(cl->verb);
						cl->verb = xstrdup(verbs[k]);
						start = 2;
						break;
					}
		}
	} else if (start < n) {
		cl->object = xstrdup(w[start++].text);
		lower(cl->object);
	}
	if (cl->verb == NULL && start < n && !w[start].quoted &&
	    strchr(w[start].text, '=') == NULL) {
		cl->verb = xstrdup(w[start++].text);
		lower(cl->verb);
	}
	for (i = start; i < n; i++) {
		char *k, *v;

		if (split_kv(w[i].raw, w[i].quoted, &k, &v)) {
			size_t j;

			free(v);
			v = xstrdup(strchr(w[i].text, '=') + 1);
			for (j = 0; j < cl->nkv; j++)
				if (strcmp(cl->kv[j].key, k) == 0)
					break;
			if (j < cl->nkv) {
				snprintf(err, errlen, "%s= given twice", k);
				free(k);
				free(v);
				goto out;
			}
			cl->kv =
			    xrealloc(cl->kv, (cl->nkv + 1) * sizeof(*cl->kv));
			cl->kv[cl->nkv].key = k;
			cl->kv[cl->nkv].value = v;
			cl->nkv++;
			continue;
		}
		push_pos(cl, cl->npos, w[i].text, w[i].raw, w[i].quoted);
		w[i].text = w[i].raw = NULL;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		free(w[i].text);
		free(w[i].raw);
	}
	free(w);
	free(text);
	return rc;
}

char *
cmdline_join(const struct cmdline *cl, size_t from)
{
	struct buf b = {0};
	size_t i;

	/* one quoted word is taken without its quotes; free text as typed */
	if (from + 1 == cl->npos && cl->quoted[from])
		return xstrdup(cl->pos[from]);
	for (i = from; i < cl->npos; i++) {
		if (b.len)
			buf_putc(&b, ' ');
		buf_puts(&b, cl->raw[i]);
	}
	return buf_steal(&b);
}

const char *
cmdline_get(const struct cmdline *cl, const char *key)
{
	size_t i;

	for (i = 0; i < cl->nkv; i++)
		if (strcmp(cl->kv[i].key, key) == 0)
			return cl->kv[i].value;
	return NULL;
}
