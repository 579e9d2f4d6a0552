/*
 * Framework mappings: the embedded TSV files, one article per line as
 * "article<TAB>title<TAB>controls<TAB>rationale" after a header, the
 * controls separated by spaces. The rationale is for the people reading
 * the file (config/mappings/README.md cites the texts); it is not shown.
 */
#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/embedded.h"
#include "../base/util.h"

static const struct {
	const char *name, *label, *file;
} frameworks[] = {
    {"nis2", "NIS2", "nis2.tsv"},
    {"gdpr", "GDPR", "gdpr.tsv"},
};

const char *
mapping_framework(int i)
{
	if (i < 0 || (size_t)i >= ARRAY_LEN(frameworks))
		return NULL;
	return frameworks[i].name;
}

const char *
mapping_framework_names(void)
{
	static char names[64];
	size_t i, len = 0;

	if (names[0] == '\0')
		for (i = 0; i < ARRAY_LEN(frameworks); i++)
			len += (size_t)snprintf(
			    names + len, sizeof(names) - len, "%s%s",
			    i ? "|" : "", frameworks[i].name);
	return names;
}

/* The fields of one line, split in place; 0, or -1 when malformed. */
static int
mapping_split(char *line, char **article, char **title, char **controls)
{
	char *rationale;

	*article = line;
	if ((*title = strchr(line, '\t')) == NULL)
		return -1;
	*(*title)++ = '\0';
	if ((*controls = strchr(*title, '\t')) == NULL)
		return -1;
	*(*controls)++ = '\0';
	/* a rationale is required: every mapping says why */
	if ((rationale = strchr(*controls, '\t')) == NULL ||
	    rationale[1] == '\0')
		return -1;
	*rationale = '\0';
	if (**article == '\0' || **title == '\0' ||
	    strspn(*controls, " ") == strlen(*controls))
		return -1;
	return 0;
}

int
mapping_each(const char *framework,
	     int (*fn)(void *arg, const struct mapping_row *r), void *arg,
	     char *err, size_t errlen)
{
	struct mapping_row r;
	const char *text = NULL;
	char *copy = NULL, *line, *next, *article, *title, *controls, *tok,
	     *save;
	size_t i;
	int rc = 0;

	for (i = 0; i < ARRAY_LEN(frameworks); i++)
		if (strcasecmp(framework, frameworks[i].name) == 0)
			break;
	if (i == ARRAY_LEN(frameworks)) {
		snprintf(err, errlen,
			 "unknown framework \"%.20s\" (expected %s)", framework,
			 mapping_framework_names());
		return -1;
	}
	text = embedded_get(frameworks[i].file);
	if (text == NULL) {
		snprintf(err, errlen, "%s is not embedded", frameworks[i].file);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.framework = frameworks[i].name;
	r.label = frameworks[i].label;
	copy = xstrdup(text);
	for (line = copy; rc == 0 && line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (r.line++ == 0)
			continue; /* header */
		if (mapping_split(line, &article, &title, &controls) < 0) {
			snprintf(err, errlen,
				 "%s line %d: expected article, title, "
				 "controls and rationale separated by tabs",
				 frameworks[i].file, r.line);
			rc = -1;
			break;
		}
		r.article = article;
		r.title = title;
		save = NULL;
		for (tok = strtok_r(controls, " ", &save);
		     rc == 0 && tok != NULL; tok = strtok_r(NULL, " ", &save)) {
			r.control = tok;
			rc = fn(arg, &r);
		}
	}
	free(copy);
	return rc;
}
