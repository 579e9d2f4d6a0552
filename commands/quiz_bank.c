/*
 * The awareness quiz question bank: the questions.tsv format parsed and
 * validated, the bank built into the binaries, lookup by question id.
 */
#include "quiz_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/embedded.h"
#include "../base/log.h"

#define QUIZ_FIELDS 9

static const char *const quiz_topics[] = {
    "phishing",		  "passwords_mfa",	"classification",
    "clean_desk",	  "incident_reporting", "remote_work",
    "social_engineering", "physical_security"};

static const char quiz_header[] = "id\ttopic\tquestion\toption1\toption2\t"
				  "option3\toption4\tanswer\texplanation";

/* prefix-NN: lower-case words joined by '_', a dash, 2 or 3 digits */
static int
valid_qid(const char *id)
{
	const char *dash = strrchr(id, '-'), *p;
	size_t digits;

	if (dash == NULL || dash == id || id[0] == '_' || dash[-1] == '_')
		return 0;
	digits = strlen(dash + 1);
	if (digits < 2 || digits > 3)
		return 0;
	for (p = dash + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	for (p = id; p < dash; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p == '_' && p[1] != '_'))
			return 0;
	return 1;
}

static int bank_err(char *err, size_t errlen, int line, const char *id,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
bank_err(char *err, size_t errlen, int line, const char *id, const char *fmt,
	 ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "line %d%s%.40s%s: ", line, id ? " (" : "",
		     id ? id : "", id ? ")" : "");
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A field: not empty, no surrounding blanks, fewer than max characters. */
static const char *
field_problem(const char *f, size_t max)
{
	size_t len = strlen(f);

	if (len == 0 || isspace((unsigned char)f[0]) ||
	    isspace((unsigned char)f[len - 1]))
		return "is empty or has surrounding blanks";
	if (max > 0 && str_utf8_chars(f) >= max)
		return "is too long";
	return NULL;
}

static int
bank_question(struct quiz_bank *b, char **f, int line, char *err, size_t errlen)
{
	static const struct {
		int field;
		size_t max;
		const char *name;
	} limits[] = {
	    {2, 200, "question"}, {3, 80, "option1"}, {4, 80, "option2"},
	    {5, 80, "option3"},	  {6, 80, "option4"}, {8, 300, "explanation"},
	};
	struct quiz_question *q;
	size_t i, j;

	if (!valid_qid(f[0]))
		return bank_err(err, errlen, line, f[0],
				"id must look like phish-01");
	for (i = 0; i < b->n; i++)
		if (strcmp(b->q[i].id, f[0]) == 0)
			return bank_err(err, errlen, line, f[0],
					"duplicate id");
	for (i = 0; i < ARRAY_LEN(quiz_topics); i++)
		if (strcmp(quiz_topics[i], f[1]) == 0)
			break;
	if (i == ARRAY_LEN(quiz_topics))
		return bank_err(err, errlen, line, f[0],
				"unknown topic \"%.40s\"", f[1]);
	for (i = 0; i < ARRAY_LEN(limits); i++) {
		const char *why =
		    field_problem(f[limits[i].field], limits[i].max);

		if (why != NULL)
			return bank_err(err, errlen, line, f[0], "%s %s",
					limits[i].name, why);
	}
	for (i = 3; i < 7; i++)
		for (j = i + 1; j < 7; j++)
			if (strcasecmp(f[i], f[j]) == 0)
				return bank_err(err, errlen, line, f[0],
						"options are not distinct");
	if (strlen(f[7]) != 1 || f[7][0] < '1' || f[7][0] > '4')
		return bank_err(err, errlen, line, f[0],
				"answer must be 1, 2, 3 or 4");
	q = &b->q[b->n++];
	q->id = f[0];
	q->topic = f[1];
	q->text = f[2];
	for (i = 0; i < 4; i++)
		q->options[i] = f[3 + i];
	q->answer = f[7][0] - '0';
	q->explanation = f[8];
	return 0;
}

int
quiz_bank_parse(const char *text, struct quiz_bank *b, char *err, size_t errlen)
{
	char *line, *next;
	size_t cap = 0;
	int lineno = 0;

	memset(b, 0, sizeof(*b));
	if (text == NULL) {
		snprintf(err, errlen, "no question bank");
		return -1;
	}
	b->text = xstrdup(text);
	if (!str_valid_utf8(b->text, strlen(b->text))) {
		snprintf(err, errlen, "not UTF-8 text");
		return -1;
	}
	for (line = b->text; line != NULL; line = next) {
		char *f[QUIZ_FIELDS], *p;
		int nf = 0;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else if (*line == '\0')
			break; /* after the last newline */
		lineno++;
		if (strchr(line, '\r') != NULL)
			return bank_err(err, errlen, lineno, NULL,
					"CR character (use LF line endings)");
		if (lineno == 1) {
			if (strcmp(line, quiz_header) != 0)
				return bank_err(err, errlen, 1, NULL,
						"the header must be the tab-"
						"separated names id, topic, "
						"question, option1..option4, "
						"answer, explanation");
			continue;
		}
		for (p = line;;) {
			if (nf == QUIZ_FIELDS) {
				nf++;
				break;
			}
			f[nf++] = p;
			p = strchr(p, '\t');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (nf != QUIZ_FIELDS)
			return bank_err(
			    err, errlen, lineno, NULL, "%s fields, want %d",
			    nf > QUIZ_FIELDS ? "too many" : "too few",
			    QUIZ_FIELDS);
		if (b->n == cap) {
			cap = cap ? cap * 2 : 64;
			b->q = xrealloc(b->q, cap * sizeof(*b->q));
		}
		if (bank_question(b, f, lineno, err, errlen) < 0)
			return -1;
	}
	if (b->n == 0) {
		snprintf(err, errlen, "no questions after the header");
		return -1;
	}
	return 0;
}

int
quiz_bank_load(struct quiz_bank *b, char *err, size_t errlen)
{
	char why[256];

	if (quiz_bank_parse(embedded_get("questions.tsv"), b, why,
			    sizeof(why)) < 0) {
		snprintf(err, errlen,
			 "the quiz bank questions.tsv is broken: %s", why);
		return -1;
	}
	return 0;
}

void
quiz_bank_free(struct quiz_bank *b)
{
	if (b == NULL)
		return;
	free(b->q);
	free(b->text);
	memset(b, 0, sizeof(*b));
}

const struct quiz_question *
quiz_bank_find(const struct quiz_bank *b, const char *id)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcasecmp(b->q[i].id, id) == 0)
			return &b->q[i];
	return NULL;
}

/* Loads the bank for a command, or answers with the problem. */
int
quiz_bank_for(struct cmd_ctx *ctx, struct quiz_bank *b)
{
	char err[320];

	if (quiz_bank_load(b, err, sizeof(err)) == 0)
		return 0;
	log_error("%s", err);
	return cmd_error(ctx, "%s", err);
}
