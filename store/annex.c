/*
 * Reference data: the ISO/IEC 27001:2022 Annex A controls, loaded from the
 * embedded annex-a.tsv into the controls table right after the migrations.
 */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/embedded.h"

/* Inserts the controls of one "id<TAB>theme<TAB>title" line; 1/0/-1. */
static int
annex_line(struct store *st, char *line, int seq)
{
	char *theme, *title;

	theme = strchr(line, '\t');
	if (theme == NULL)
		return -1;
	*theme++ = '\0';
	title = strchr(theme, '\t');
	if (title == NULL)
		return -1;
	*title++ = '\0';
	return db_exec(st,
		       "INSERT INTO controls(id, seq, theme, title) VALUES "
		       "(?,?,?,?) ON CONFLICT(id) DO NOTHING",
		       "titt", line, (int64_t)seq, theme, title);
}

int
store_annex_load(struct store *st, char *err, size_t errlen)
{
	const char *text = embedded_get("annex-a.tsv");
	char *copy = NULL, *line, *save = NULL, details[64];
	int64_t have = 0;
	int want = 0, lineno = 0, added = 0, n, rc = -1;

	if (text == NULL) {
		snprintf(err, errlen, "annex-a.tsv is not embedded");
		return -1;
	}
	/* one control per line after the header */
	for (line = strchr(text, '\n'); line && line[1];
	     line = strchr(line + 1, '\n'))
		want++;
	/* the organisation's own (custom) controls are not Annex A's */
	if (db_int(st, &have, "SELECT COUNT(*) FROM controls WHERE custom = 0",
		   NULL) < 0)
		goto out;
	if (have >= want)
		return 0;
	if (store_begin(st) < 0)
		goto out;
	copy = xstrdup(text);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (lineno++ == 0)
			continue; /* header */
		n = annex_line(st, line, lineno - 1);
		if (n < 0)
			goto out;
		added += n;
	}
	/* another process may have loaded them meanwhile */
	snprintf(details, sizeof(details), "{\"controls\":%d}", added);
	if ((added > 0 && store_audit(st, "system", "soa.load", "annex-a.tsv",
				      details) < 0) ||
	    store_commit(st) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		snprintf(err, errlen,
			 "%s: cannot load the Annex A controls (line %d): %s",
			 st->path, lineno, db_errmsg(st));
		store_rollback(st);
	}
	free(copy);
	return rc;
}
