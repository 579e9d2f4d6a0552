/*
 * Staff CSV import: parse, validate every row, upsert by handle, link
 * managers, one audit row, one transaction.
 */
#include "staff.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/tz.h"

#define STAFF_FIELDS   9
#define STAFF_MAX_ROWS 200000

int
csv_record(const char **pp, const char *end, char **fields, int max)
{
	const char *p = *pp;
	struct buf f = {0};
	int n = 0;

	for (;;) {
		buf_reset(&f);
		if (p < end && *p == '"') {
			p++;
			for (;;) {
				if (p >= end)
					goto bad;
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						buf_putc(&f, '"');
						p += 2;
						continue;
					}
					p++;
					break;
				}
				buf_putc(&f, *p++);
			}
			if (p < end && *p != ',' && *p != '\n' && *p != '\r')
				goto bad;
		} else {
			while (p < end && *p != ',' && *p != '\n' &&
			       *p != '\r') {
				if (*p == '"')
					goto bad;
				buf_putc(&f, *p++);
			}
		}
		if (n == max)
			goto bad;
		fields[n++] = buf_steal(&f);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
		break;
	}
	*pp = p;
	buf_free(&f);
	return n;
bad:
	buf_free(&f);
	while (n > 0)
		free(fields[--n]);
	return -1;
}

static int
valid_handle(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 32 || !isalnum((unsigned char)h[0]))
		return 0;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '.' && *h != '_' &&
		    *h != '-')
			return 0;
	return 1;
}

static int
valid_email(const char *e)
{
	const char *at = strchr(e, '@');
	size_t n = strlen(e);

	if (n == 0)
		return 1;
	if (n > 254 || at == NULL || at == e || strchr(at + 1, '@') ||
	    strchr(at, '.') == NULL || at[1] == '\0')
		return 0;
	for (; *e; e++)
		if (isspace((unsigned char)*e) || *e == ',' || *e == '<' ||
		    *e == '>')
			return 0;
	return 1;
}

static int
valid_slack(const char *s)
{
	if (*s == '\0')
		return 1;
	if (strlen(s) > 32)
		return 0;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int
valid_matrix(const char *m)
{
	return *m == '\0' || (m[0] == '@' && strchr(m, ':') != NULL &&
			      strlen(m) <= 255 && strchr(m, ' ') == NULL);
}

static int
parse_roles(const char *s, unsigned *roles)
{
	char *copy = xstrdup(s), *tok, *save = NULL;
	int rc = 0;

	*roles = ROLE_STAFF;
	for (tok = strtok_r(copy, ";", &save); tok;
	     tok = strtok_r(NULL, ";", &save)) {
		enum role r;
		char *t = str_trim(tok);

		if (*t == '\0')
			continue;
		if (role_parse(t, &r) < 0) {
			rc = -1;
			break;
		}
		*roles |= (unsigned)r;
	}
	free(copy);
	return rc;
}

static const char *
nz(const char *s)
{
	return *s ? s : NULL;
}

int
staff_import(struct store *st, const char *text, size_t len, const char *actor,
	     int *created, int *updated, char *err, size_t errlen)
{
	return staff_import_missing(st, text, len, actor, created, updated,
				    NULL, NULL, err, errlen);
}

/* Active handles not among handles[0..n), into *out. 0 or -1. */
static int
missing_handles(struct store *st, char **handles, int n, char ***out,
		size_t *nout)
{
	struct db_stmt *s;
	int i;

	*out = NULL;
	*nout = 0;
	if (db_exec(st,
		    "CREATE TEMP TABLE IF NOT EXISTS staff_seen(handle TEXT "
		    "PRIMARY KEY COLLATE NOCASE)",
		    NULL) < 0 ||
	    db_exec(st, "DELETE FROM staff_seen", NULL) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (db_exec(st,
			    "INSERT OR IGNORE INTO staff_seen(handle) VALUES "
			    "(?)",
			    "t", handles[i]) < 0)
			return -1;
	s = db_prepare(st,
		       "SELECT handle FROM people WHERE active AND handle NOT "
		       "IN (SELECT handle FROM staff_seen) ORDER BY handle",
		       NULL);
	if (s == NULL)
		return -1;
	while (db_step(s) == DB_ROW) {
		*out = xrealloc(*out, (*nout + 1) * sizeof(**out));
		(*out)[(*nout)++] = xstrdup(db_col(s, 0));
	}
	db_finish(st, s);
	return db_exec(st, "DELETE FROM staff_seen", NULL) < 0 ? -1 : 0;
}

int
staff_import_missing(struct store *st, const char *text, size_t len,
		     const char *actor, int *created, int *updated,
		     char ***missing, size_t *nmissing, char *err,
		     size_t errlen)
{
	const char *p = text, *end = text + len;
	char *f[STAFF_FIELDS + 1];
	char **managers = NULL, **handles = NULL;
	struct db_stmt *q_exists = NULL, *q_upsert = NULL, *q_id = NULL;
	struct db_stmt *q_manager = NULL;
	int n, i, line = 1, rows = 0, kept = 0, rc = -1;
	int64_t now = store_now(st);

	*created = *updated = 0;
	if (missing != NULL) {
		*missing = NULL;
		*nmissing = 0;
	}
	if (!str_valid_utf8(text, len) || memchr(text, '\0', len)) {
		snprintf(err, errlen, "the file is not valid UTF-8 text");
		return -1;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* spreadsheet byte-order mark */
	n = csv_record(&p, end, f, STAFF_FIELDS + 1);
	if (n < 0) {
		snprintf(err, errlen, "line 1: malformed header");
		return -1;
	}
	{
		struct buf h = {0};

		for (i = 0; i < n; i++) {
			buf_printf(&h, "%s%s", i ? "," : "", str_trim(f[i]));
			free(f[i]);
		}
		if (strcmp(buf_str(&h), STAFF_HEADER) != 0) {
			snprintf(err, errlen,
				 "line 1: the header must be exactly: %s",
				 STAFF_HEADER);
			buf_free(&h);
			return -1;
		}
		buf_free(&h);
	}
	if (store_begin(st) < 0) {
		snprintf(err, errlen, "database busy");
		return -1;
	}
	/* prepared once: an import of 100,000 people reuses them */
	q_exists = db_prepare(
	    st, "SELECT COUNT(*) FROM people WHERE handle = ?", NULL);
	q_upsert = db_prepare(
	    st,
	    "INSERT INTO people(handle, name, email, slack_id, matrix_id, "
	    "team, "
	    "timezone, roles, active, created_at, updated_at) VALUES "
	    "(?,?,?,?,?,?,?,?,1,?,?) ON CONFLICT(handle) DO UPDATE SET name = "
	    "excluded.name, email = excluded.email, slack_id = "
	    "excluded.slack_id, matrix_id = excluded.matrix_id, team = "
	    "excluded.team, timezone = excluded.timezone, roles = "
	    "excluded.roles, active = 1, updated_at = excluded.updated_at",
	    NULL);
	q_id = db_prepare(st, "SELECT id FROM people WHERE handle = ?", NULL);
	q_manager = db_prepare(st,
			       "UPDATE people SET manager_id = NULLIF(?, 0) "
			       "WHERE handle = ?",
			       NULL);
	if (!q_exists || !q_upsert || !q_id || !q_manager)
		goto dberr;
	while (p < end) {
		int64_t existed = 0;
		unsigned roles;
		const char *why = NULL;

		line++;
		n = csv_record(&p, end, f, STAFF_FIELDS + 1);
		if (n < 0) {
			snprintf(err, errlen, "line %d: malformed quoting",
				 line);
			goto out;
		}
		if (n == 1 && f[0][0] == '\0') {
			free(f[0]);
			continue; /* blank line */
		}
		if (n != STAFF_FIELDS) {
			snprintf(err, errlen,
				 "line %d: expected %d fields, found %d", line,
				 STAFF_FIELDS, n);
			for (i = 0; i < n; i++)
				free(f[i]);
			goto out;
		}
		for (i = 0; i < n; i++) {
			char *t = str_trim(f[i]);

			memmove(f[i], t, strlen(t) + 1);
		}
		if (!valid_handle(f[0]))
			why = "handle must be 1-32 letters, digits, . _ -";
		else if (f[1][0] == '\0' || strlen(f[1]) > 120)
			why = "name is required (at most 120 characters)";
		else if (!valid_email(f[2]))
			why = "invalid e-mail address";
		else if (!valid_slack(f[3]))
			why = "invalid Slack user id (like U0123ABC)";
		else if (!valid_matrix(f[4]))
			why = "invalid Matrix id (like @alice:example.org)";
		else if (f[5][0] && !valid_handle(f[5]))
			why = "invalid manager handle";
		else if (strcasecmp(f[5], f[0]) == 0)
			why = "a person cannot be their own manager";
		else if (strlen(f[6]) > 60)
			why = "team is too long";
		else if (*f[7] != '\0' && !tz_valid(f[7]))
			why = "unknown time zone (use an IANA name like "
			      "Europe/Berlin)";
		else if (parse_roles(f[8], &roles) < 0)
			why = "unknown role (staff, manager, risk_owner, "
			      "isms_manager, auditor, admin, management)";
		else if (++rows > STAFF_MAX_ROWS)
			why = "too many rows";
		if (why == NULL) {
			if (db_rebind(q_exists, "t", f[0]) < 0 ||
			    db_step(q_exists) != DB_ROW ||
			    db_rebind(q_upsert, "tttttttiii", f[0], f[1],
				      nz(f[2]), nz(f[3]), nz(f[4]), nz(f[6]),
				      nz(f[7]), (int64_t)roles, now, now) < 0)
				why = "database error";
			else
				existed = db_col_int(q_exists, 0);
			if (why == NULL && db_step(q_upsert) != DB_DONE)
				why = "conflicts with another person (same "
				      "e-mail, "
				      "Slack id or Matrix id)";
		}
		if (why != NULL) {
			snprintf(err, errlen, "line %d (%.40s): %s", line, f[0],
				 why);
			for (i = 0; i < n; i++)
				free(f[i]);
			goto out;
		}
		if (existed)
			(*updated)++;
		else
			(*created)++;
		handles =
		    xrealloc(handles, (size_t)(kept + 1) * sizeof(*handles));
		managers =
		    xrealloc(managers, (size_t)(kept + 1) * sizeof(*managers));
		handles[kept] = f[0];
		managers[kept] = f[5];
		kept++;
		for (i = 1; i < n; i++)
			if (i != 5)
				free(f[i]);
	}
	/* second pass: managers may appear later in the file */
	for (i = 0; i < kept; i++) {
		int64_t mid = 0;

		if (managers[i][0] != '\0') {
			if (db_rebind(q_id, "t", managers[i]) < 0)
				goto dberr;
			if (db_step(q_id) != DB_ROW) {
				snprintf(
				    err, errlen,
				    "person %.40s: manager \"%.40s\" is not "
				    "in the file or the directory",
				    handles[i], managers[i]);
				goto out;
			}
			mid = db_col_int(q_id, 0);
		}
		if (db_rebind(q_manager, "it", mid, handles[i]) < 0 ||
		    db_step(q_manager) != DB_DONE)
			goto dberr;
	}
	if (missing != NULL &&
	    missing_handles(st, handles, kept, missing, nmissing) < 0)
		goto dberr;
	{
		char details[128];

		snprintf(details, sizeof(details),
			 "{\"created\":%d,\"updated\":%d}", *created, *updated);
		if (store_audit(st, actor, "staff.import", "directory",
				details) < 0 ||
		    store_commit(st) < 0) {
			snprintf(err, errlen, "database error");
			goto out;
		}
	}
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "line %d: database error: %s", line,
		 db_errmsg(st));
out:
	db_finish(st, q_exists);
	db_finish(st, q_upsert);
	db_finish(st, q_id);
	db_finish(st, q_manager);
	if (rc < 0) {
		store_rollback(st);
		*created = *updated = 0;
		if (missing != NULL) {
			size_t k;

			for (k = 0; k < *nmissing; k++)
				free((*missing)[k]);
			free(*missing);
			*missing = NULL;
			*nmissing = 0;
		}
	}
	for (i = 0; i < kept; i++) {
		free(handles[i]);
		free(managers[i]);
	}
	free(handles);
	free(managers);
	return rc;
}
