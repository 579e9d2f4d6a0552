/*
 * Staff CSV import: parse, validate every row, upsert by handle, link
 * managers, one audit row per person added or changed and one for the
 * import, one transaction.
 */
#include "staff.h"

#include <ctype.h>
#include <jansson.h>
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

int
staff_valid_handle(const char *h)
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

/* One import under way: the input, the statements, what was kept. */
struct import {
	struct store *st;
	const char *p, *end; /* the rest of the input */
	int line;	     /* the line last read */
	int rows;	     /* valid rows so far */
	int kept;	     /* handles[0..kept), managers[0..kept): owned */
	char **handles, **managers;
	struct db_stmt *q_exists, *q_upsert, *q_id, *q_manager, *q_line;
	int64_t now;
	int *created, *updated;
	char last_tz[64]; /* the last time zone found valid */
	char *err;
	size_t errlen;
};

/* "line N: database error: ..." into err. Returns -1. */
static int
import_db_error(struct import *im)
{
	snprintf(im->err, im->errlen, "line %d: database error: %s", im->line,
		 db_errmsg(im->st));
	return -1;
}

/*
 * The header check: UTF-8 text without NUL, a spreadsheet's byte-order
 * mark skipped, and line 1 exactly STAFF_HEADER (blanks around names
 * allowed). 0, or -1 with err.
 */
static int
import_header(struct import *im, size_t len)
{
	char *f[STAFF_FIELDS + 1];
	struct buf h = {0};
	int n, i;

	if (!str_valid_utf8(im->p, len) || memchr(im->p, '\0', len)) {
		snprintf(im->err, im->errlen,
			 "the file is not valid UTF-8 text");
		return -1;
	}
	if (len >= 3 && memcmp(im->p, "\xef\xbb\xbf", 3) == 0)
		im->p += 3; /* spreadsheet byte-order mark */
	n = csv_record(&im->p, im->end, f, STAFF_FIELDS + 1);
	if (n < 0) {
		snprintf(im->err, im->errlen, "line 1: malformed header");
		return -1;
	}
	for (i = 0; i < n; i++) {
		buf_printf(&h, "%s%s", i ? "," : "", str_trim(f[i]));
		free(f[i]);
	}
	if (strcmp(buf_str(&h), STAFF_HEADER) != 0) {
		snprintf(im->err, im->errlen,
			 "line 1: the header must be exactly: %s",
			 STAFF_HEADER);
		buf_free(&h);
		return -1;
	}
	buf_free(&h);
	return 0;
}

/*
 * Prepares the statements once: an import of 100,000 people reuses them.
 * 0, or -1 with err.
 */
static int
import_prepare(struct import *im)
{
	im->q_exists = db_prepare(
	    im->st, "SELECT COUNT(*) FROM people WHERE handle = ?", NULL);
	im->q_upsert = db_prepare(
	    im->st,
	    "INSERT INTO people(handle, name, email, slack_id, matrix_id, "
	    "team, timezone, roles, active, created_at, updated_at) VALUES "
	    "(?,?,?,?,?,?,?,?,1,?,?) ON CONFLICT(handle) DO UPDATE SET name = "
	    "excluded.name, email = excluded.email, slack_id = "
	    "excluded.slack_id, matrix_id = excluded.matrix_id, team = "
	    "excluded.team, timezone = excluded.timezone, roles = "
	    "excluded.roles, active = 1, updated_at = excluded.updated_at",
	    NULL);
	im->q_id =
	    db_prepare(im->st, "SELECT id FROM people WHERE handle = ?", NULL);
	im->q_manager = db_prepare(im->st,
				   "UPDATE people SET manager_id = NULLIF(?, "
				   "0) WHERE handle = ?",
				   NULL);
	im->q_line = db_prepare(im->st,
				"INSERT INTO staff_lines(handle, line) VALUES "
				"(?, ?) ON CONFLICT(handle) DO UPDATE SET "
				"handle = handle RETURNING line",
				NULL);
	if (!im->q_exists || !im->q_upsert || !im->q_id || !im->q_manager ||
	    !im->q_line)
		return import_db_error(im);
	return 0;
}

/*
 * The directory as it was before the import (to tell each person's
 * changes), and the lines that named each handle (to refuse one named
 * twice). 0, or -1 with err.
 */
static int
import_snapshot(struct import *im)
{
	if (db_exec(im->st,
		    "CREATE TEMP TABLE IF NOT EXISTS staff_before(handle TEXT "
		    "PRIMARY KEY COLLATE NOCASE, name TEXT, email TEXT, "
		    "slack_id TEXT, matrix_id TEXT, team TEXT, timezone TEXT, "
		    "manager TEXT, roles INTEGER, active INTEGER)",
		    NULL) < 0 ||
	    db_exec(im->st,
		    "CREATE TEMP TABLE IF NOT EXISTS staff_lines(handle TEXT "
		    "PRIMARY KEY COLLATE NOCASE, line INTEGER NOT NULL)",
		    NULL) < 0 ||
	    db_exec(im->st, "DELETE FROM staff_before", NULL) < 0 ||
	    db_exec(im->st, "DELETE FROM staff_lines", NULL) < 0 ||
	    db_exec(im->st,
		    "INSERT INTO staff_before SELECT p.handle, p.name, "
		    "COALESCE(p.email, ''), COALESCE(p.slack_id, ''), "
		    "COALESCE(p.matrix_id, ''), COALESCE(p.team, ''), "
		    "COALESCE(p.timezone, ''), COALESCE(m.handle, ''), "
		    "p.roles, p.active FROM people p LEFT JOIN people m ON "
		    "m.id = p.manager_id",
		    NULL) < 0)
		return import_db_error(im);
	return 0;
}

/*
 * A handle already named on an earlier line of the file: that line, 0
 * when it is the first, -1 on a database error.
 */
static int
import_line_seen(struct import *im, const char *handle)
{
	int64_t line;

	if (db_rebind(im->q_line, "ti", handle, (int64_t)im->line) < 0 ||
	    db_step(im->q_line) != DB_ROW)
		return -1;
	line = db_col_int(im->q_line, 0);
	db_rebind(im->q_line, NULL);
	return line == im->line ? 0 : (int)line;
}

/*
 * Row validation: what is wrong with the trimmed fields f of a row, or
 * NULL, with its roles in *roles. A valid row counts towards
 * STAFF_MAX_ROWS.
 */
static const char *
row_problem(struct import *im, char **f, unsigned *roles)
{
	if (!staff_valid_handle(f[0]))
		return "handle must be 1-32 letters, digits, . _ -";
	if (f[1][0] == '\0' || strlen(f[1]) > 120)
		return "name is required (at most 120 characters)";
	if (!valid_email(f[2]))
		return "invalid e-mail address";
	if (!valid_slack(f[3]))
		return "invalid Slack user id (like U0123ABC)";
	if (!valid_matrix(f[4]))
		return "invalid Matrix id (like @alice:example.org)";
	if (f[5][0] && !staff_valid_handle(f[5]))
		return "invalid manager handle";
	if (strcasecmp(f[5], f[0]) == 0)
		return "a person cannot be their own manager";
	if (strlen(f[6]) > 60)
		return "team is too long";
	/* rows of one office share a zone: looked up once in a run */
	if (*f[7] != '\0' && strcmp(f[7], im->last_tz) != 0) {
		if (!tz_valid(f[7]))
			return "unknown time zone (use an IANA name like "
			       "Europe/Berlin)";
		snprintf(im->last_tz, sizeof(im->last_tz), "%s", f[7]);
	}
	if (parse_roles(f[8], roles) < 0)
		return "unknown role (staff, manager, risk_owner, "
		       "isms_manager, auditor, admin, management)";
	if (++im->rows > STAFF_MAX_ROWS)
		return "too many rows";
	return NULL;
}

/*
 * The upsert: the person of a valid row inserted, or updated by handle
 * (and made active again); counted as created or updated. What went
 * wrong, or NULL.
 */
static const char *
row_upsert(struct import *im, char **f, unsigned roles)
{
	int64_t existed;

	if (db_rebind(im->q_exists, "t", f[0]) < 0 ||
	    db_step(im->q_exists) != DB_ROW ||
	    db_rebind(im->q_upsert, "tttttttiii", f[0], f[1], nz(f[2]),
		      nz(f[3]), nz(f[4]), nz(f[6]), nz(f[7]), (int64_t)roles,
		      im->now, im->now) < 0)
		return "database error";
	existed = db_col_int(im->q_exists, 0);
	if (db_step(im->q_upsert) != DB_DONE)
		return "conflicts with another person (same e-mail, "
		       "Slack id or Matrix id)";
	if (existed)
		(*im->updated)++;
	else
		(*im->created)++;
	return NULL;
}

/*
 * The rows after the header, each validated and upserted (blank lines
 * skipped); handles and managers kept for the manager pass. 0, or -1
 * with "line N (handle): problem" in err.
 */
static int
import_rows(struct import *im)
{
	char *f[STAFF_FIELDS + 1];
	int n, i;

	while (im->p < im->end) {
		unsigned roles;
		const char *why;

		im->line++;
		n = csv_record(&im->p, im->end, f, STAFF_FIELDS + 1);
		if (n < 0) {
			snprintf(im->err, im->errlen,
				 "line %d: malformed quoting", im->line);
			return -1;
		}
		if (n == 1 && f[0][0] == '\0') {
			free(f[0]);
			continue; /* blank line */
		}
		if (n != STAFF_FIELDS) {
			snprintf(im->err, im->errlen,
				 "line %d: expected %d fields, found %d",
				 im->line, STAFF_FIELDS, n);
			for (i = 0; i < n; i++)
				free(f[i]);
			return -1;
		}
		for (i = 0; i < n; i++) {
			char *t = str_trim(f[i]);

			memmove(f[i], t, strlen(t) + 1);
		}
		why = row_problem(im, f, &roles);
		if (why == NULL) {
			int first = import_line_seen(im, f[0]);

			if (first != 0) {
				if (first < 0)
					snprintf(im->err, im->errlen,
						 "line %d: database error: %s",
						 im->line, db_errmsg(im->st));
				else
					snprintf(im->err, im->errlen,
						 "line %d: handle @%.40s "
						 "already on line %d",
						 im->line, f[0], first);
				for (i = 0; i < n; i++)
					free(f[i]);
				return -1;
			}
			why = row_upsert(im, f, roles);
		}
		if (why != NULL) {
			snprintf(im->err, im->errlen, "line %d (%.40s): %s",
				 im->line, f[0], why);
			for (i = 0; i < n; i++)
				free(f[i]);
			return -1;
		}
		im->handles = xrealloc(im->handles, (size_t)(im->kept + 1) *
							sizeof(*im->handles));
		im->managers =
		    xrealloc(im->managers,
			     (size_t)(im->kept + 1) * sizeof(*im->managers));
		im->handles[im->kept] = f[0];
		im->managers[im->kept] = f[5];
		im->kept++;
		for (i = 1; i < n; i++)
			if (i != 5)
				free(f[i]);
	}
	return 0;
}

/*
 * The manager pass, after all rows because managers may appear later in
 * the file: each kept person's manager set from a handle in the file or
 * the directory, or cleared when the row names none. 0, or -1 with err.
 */
static int
import_managers(struct import *im)
{
	int i;

	for (i = 0; i < im->kept; i++) {
		int64_t mid = 0;

		if (im->managers[i][0] != '\0') {
			if (db_rebind(im->q_id, "t", im->managers[i]) < 0)
				return import_db_error(im);
			if (db_step(im->q_id) != DB_ROW) {
				snprintf(im->err, im->errlen,
					 "person %.40s: manager \"%.40s\" is "
					 "not in the file or the directory",
					 im->handles[i], im->managers[i]);
				return -1;
			}
			mid = db_col_int(im->q_id, 0);
		}
		if (db_rebind(im->q_manager, "it", mid, im->handles[i]) < 0 ||
		    db_step(im->q_manager) != DB_DONE)
			return import_db_error(im);
	}
	return 0;
}

/* The fields compared before and after, as the columns below name them. */
static const char *const person_fields[] = {
    "name",	"email",   "slack_id", "matrix_id", "team",
    "timezone", "manager", "roles",    "active",
};

/* Field k of a person's row from column col on, as JSON. */
static json_t *
person_field(struct db_stmt *s, int col, size_t k)
{
	char roles[256];

	if (k == 7) {
		roles_format((unsigned)db_col_int(s, col + 7), roles,
			     sizeof(roles));
		return json_string(roles);
	}
	if (k == 8)
		return json_boolean(db_col_int(s, col + 8) != 0);
	return json_string(db_col(s, col + (int)k));
}

/*
 * One audit row per person the file added ("staff.add", what they are)
 * or changed ("staff.update", the changed fields before and after); none
 * for a person it left as they were. 0, or -1 with err.
 */
static int
staff_audit_changes(struct store *st, const char *actor, char *err,
		    size_t errlen)
{
	struct db_stmt *s = db_prepare(
	    st,
	    "SELECT p.handle, p.name, COALESCE(p.email, ''), "
	    "COALESCE(p.slack_id, ''), COALESCE(p.matrix_id, ''), "
	    "COALESCE(p.team, ''), COALESCE(p.timezone, ''), "
	    "COALESCE(m.handle, ''), p.roles, p.active, b.handle IS NOT "
	    "NULL, b.name, b.email, b.slack_id, b.matrix_id, b.team, "
	    "b.timezone, b.manager, b.roles, b.active FROM staff_lines l "
	    "JOIN people p ON p.handle = l.handle LEFT JOIN people m ON m.id "
	    "= p.manager_id LEFT JOIN staff_before b ON b.handle = p.handle "
	    "ORDER BY l.line",
	    NULL);
	int rc = 0, step;

	if (s == NULL) {
		snprintf(err, errlen, "database error: %s", db_errmsg(st));
		return -1;
	}
	while (rc == 0 && (step = db_step(s)) == DB_ROW) {
		json_t *before = json_object(), *after = json_object(), *d;
		int existed = db_col_int(s, 10) != 0;
		size_t k;
		char *text;

		for (k = 0; k < ARRAY_LEN(person_fields); k++) {
			json_t *now = person_field(s, 1, k);
			json_t *was = existed ? person_field(s, 11, k) : NULL;

			if (was != NULL && json_equal(now, was)) {
				json_decref(now);
				json_decref(was);
				continue;
			}
			if (!existed && ((json_is_string(now) &&
					  json_string_length(now) == 0) ||
					 k == 8)) {
				json_decref(now);
				continue;
			}
			json_object_set_new(after, person_fields[k], now);
			if (was != NULL)
				json_object_set_new(before, person_fields[k],
						    was);
		}
		if (json_object_size(after) == 0) {
			json_decref(before);
			json_decref(after);
			continue;
		}
		d = existed ? json_pack("{s:o,s:o}", "before", before, "after",
					after)
			    : json_pack("{s:o}", "after", after);
		if (!existed)
			json_decref(before);
		text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(d);
		if (store_audit(st, actor,
				existed ? "staff.update" : "staff.add",
				db_col(s, 0), text) < 0) {
			snprintf(err, errlen, "database error: %s",
				 db_errmsg(st));
			rc = -1;
		}
		free(text);
	}
	if (rc == 0 && step != DB_DONE) {
		snprintf(err, errlen, "database error: %s", db_errmsg(st));
		rc = -1;
	}
	db_finish(st, s);
	return rc;
}

/* The audit row with the counts, and the commit. 0, or -1 with err. */
static int
import_commit(struct import *im, const char *actor)
{
	char details[128];

	snprintf(details, sizeof(details), "{\"created\":%d,\"updated\":%d}",
		 *im->created, *im->updated);
	if (store_audit(im->st, actor, "staff.import", "directory", details) <
		0 ||
	    store_commit(im->st) < 0) {
		snprintf(im->err, im->errlen, "database error");
		return -1;
	}
	return 0;
}

int
staff_import_missing(struct store *st, const char *text, size_t len,
		     const char *actor, int *created, int *updated,
		     char ***missing, size_t *nmissing, char *err,
		     size_t errlen)
{
	struct import im = {
	    .st = st,
	    .p = text,
	    .end = text + len,
	    .line = 1,
	    .now = store_now(st),
	    .created = created,
	    .updated = updated,
	    .err = err,
	    .errlen = errlen,
	};
	int i, rc = -1;

	*created = *updated = 0;
	if (missing != NULL) {
		*missing = NULL;
		*nmissing = 0;
	}
	if (import_header(&im, len) < 0)
		return -1;
	if (store_begin(st) < 0) {
		snprintf(err, errlen, "database busy");
		return -1;
	}
	if (len > 1024 * 1024)
		store_large_tx(st);
	if (import_snapshot(&im) < 0 || import_prepare(&im) < 0 ||
	    import_rows(&im) < 0 || import_managers(&im) < 0)
		goto out;
	if (staff_audit_changes(st, actor, err, errlen) < 0)
		goto out;
	if (missing != NULL &&
	    missing_handles(st, im.handles, im.kept, missing, nmissing) < 0) {
		import_db_error(&im);
		goto out;
	}
	if (import_commit(&im, actor) < 0)
		goto out;
	rc = 0;
out:
	db_finish(st, im.q_exists);
	db_finish(st, im.q_upsert);
	db_finish(st, im.q_id);
	db_finish(st, im.q_manager);
	db_finish(st, im.q_line);
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
	for (i = 0; i < im.kept; i++) {
		free(im.handles[i]);
		free(im.managers[i]);
	}
	free(im.handles);
	free(im.managers);
	return rc;
}
