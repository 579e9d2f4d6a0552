/*
 * Staff CSV import: parse, validate every row, upsert by handle, link
 * managers, one audit row per person added or changed and one for the
 * import, one transaction.
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

/* A person the file names, in the order of its lines. */
struct kept {
	char *handle;  /* as written on the line */
	char *manager; /* a manager named later in the file, else NULL */
	int64_t id;
	int line;
};

/* One import under way: the input, the statements, what was kept. */
struct import {
	struct store *st;
	const char *p, *end; /* the rest of the input */
	int line;	     /* the line last read */
	int rows;	     /* valid rows so far */
	struct kept *kept;   /* kept[0..nkept) */
	int nkept, capkept;
	/*
	 * The handles named so far, case-insensitively (as the directory
	 * compares them): open addressing, each slot 0 or 1 + an index
	 * into kept; nslots a power of two at least twice nkept.
	 */
	int *slots;
	size_t nslots;
	struct db_stmt *q_upsert, *q_id, *q_manager;
	int64_t max_id; /* ids above it are people this import added */
	int64_t now;
	int *created, *updated;
	char last_tz[64]; /* the last time zone found valid */
	char *err;
	size_t errlen;
};

static size_t
handle_hash(const char *h)
{
	size_t x = 2166136261u;

	for (; *h; h++)
		x = (x ^ (unsigned char)tolower((unsigned char)*h)) * 16777619u;
	return x;
}

/* The index into kept of handle h named earlier in the file, or -1. */
static int
kept_find(const struct import *im, const char *h)
{
	size_t i;

	if (im->nslots == 0)
		return -1;
	for (i = handle_hash(h) & (im->nslots - 1); im->slots[i] != 0;
	     i = (i + 1) & (im->nslots - 1))
		if (strcasecmp(im->kept[im->slots[i] - 1].handle, h) == 0)
			return im->slots[i] - 1;
	return -1;
}

static void
slot_put(struct import *im, int k)
{
	size_t i = handle_hash(im->kept[k].handle) & (im->nslots - 1);

	while (im->slots[i] != 0)
		i = (i + 1) & (im->nslots - 1);
	im->slots[i] = k + 1;
}

/* Keeps a person (handle owned from now on) and names their handle. */
static void
kept_add(struct import *im, char *handle, char *manager, int64_t id)
{
	int k;

	if (im->nkept == im->capkept) {
		im->capkept = im->capkept ? im->capkept * 2 : 256;
		im->kept =
		    xrealloc(im->kept, (size_t)im->capkept * sizeof(*im->kept));
	}
	k = im->nkept++;
	im->kept[k] = (struct kept){handle, manager, id, im->line};
	if ((size_t)im->nkept * 2 > im->nslots) {
		int j;

		free(im->slots);
		im->nslots = im->nslots ? im->nslots * 2 : 1024;
		im->slots = xcalloc(im->nslots, sizeof(*im->slots));
		for (j = 0; j < im->nkept; j++)
			slot_put(im, j);
	} else {
		slot_put(im, k);
	}
}

/* Active people the file does not name, into *out. 0 or -1. */
static int
missing_handles(struct import *im, char ***out, size_t *nout)
{
	struct db_stmt *s;

	*out = NULL;
	*nout = 0;
	s = db_prepare(
	    im->st,
	    "SELECT handle FROM people WHERE active <> 0 ORDER BY handle",
	    NULL);
	if (s == NULL)
		return -1;
	while (db_step(s) == DB_ROW) {
		const char *h = db_col(s, 0);

		if (kept_find(im, h) >= 0)
			continue;
		*out = xrealloc(*out, (*nout + 1) * sizeof(**out));
		(*out)[(*nout)++] = xstrdup(h);
	}
	db_finish(im->st, s);
	return 0;
}

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
	im->q_upsert = db_prepare(
	    im->st,
	    "INSERT INTO people(handle, name, email, slack_id, matrix_id, "
	    "team, timezone, roles, manager_id, active, created_at, "
	    "updated_at) VALUES (?,?,?,?,?,?,?,?,NULLIF(?, 0),1,?,?) ON "
	    "CONFLICT(handle) DO UPDATE SET name = excluded.name, email = "
	    "excluded.email, slack_id = excluded.slack_id, matrix_id = "
	    "excluded.matrix_id, team = excluded.team, timezone = "
	    "excluded.timezone, roles = excluded.roles, manager_id = "
	    "excluded.manager_id, active = 1, updated_at = "
	    "excluded.updated_at RETURNING id",
	    NULL);
	im->q_id =
	    db_prepare(im->st, "SELECT id FROM people WHERE handle = ?", NULL);
	im->q_manager = db_prepare(
	    im->st, "UPDATE people SET manager_id = ? WHERE id = ?", NULL);
	if (!im->q_upsert || !im->q_id || !im->q_manager ||
	    db_int(im->st, &im->max_id,
		   "SELECT COALESCE(MAX(id), 0) FROM people", NULL) < 0)
		return import_db_error(im);
	return 0;
}

/*
 * The directory as it was before the import, to tell each person's
 * changes. 0, or -1 with err.
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
	    db_exec(im->st, "DELETE FROM staff_before", NULL) < 0 ||
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
 * The manager a row names: 0 for none, the id of a person on an earlier
 * line or in the directory, else 0 with *later set (a person named
 * further down, or nobody: the manager pass tells). -1 on a database
 * error.
 */
static int64_t
row_manager(struct import *im, const char *manager, int *later)
{
	int k;

	*later = 0;
	if (*manager == '\0')
		return 0;
	k = kept_find(im, manager);
	if (k >= 0)
		return im->kept[k].id;
	if (db_rebind(im->q_id, "t", manager) < 0)
		return -1;
	switch (db_step(im->q_id)) {
	case DB_ROW:
		return db_col_int(im->q_id, 0);
	case DB_DONE:
		*later = 1;
		return 0;
	default:
		return -1;
	}
}

/*
 * The upsert: the person of a valid row inserted, or updated by handle
 * (and made active again), with their manager; counted as created or
 * updated, their id in *id. What went wrong, or NULL.
 */
static const char *
row_upsert(struct import *im, char **f, unsigned roles, int64_t manager,
	   int64_t *id)
{
	if (db_rebind(im->q_upsert, "tttttttiiii", f[0], f[1], nz(f[2]),
		      nz(f[3]), nz(f[4]), nz(f[6]), nz(f[7]), (int64_t)roles,
		      manager, im->now, im->now) < 0)
		return "database error";
	if (db_step(im->q_upsert) != DB_ROW)
		return "conflicts with another person (same e-mail, "
		       "Slack id or Matrix id)";
	/* an insert makes an id above every other, an update keeps its own */
	*id = db_col_int(im->q_upsert, 0);
	if (db_step(im->q_upsert) != DB_DONE)
		return "database error";
	if (*id > im->max_id)
		(*im->created)++;
	else
		(*im->updated)++;
	return NULL;
}

static void
fields_free(char **f, int n)
{
	while (n > 0)
		free(f[--n]);
}

/*
 * One valid row: refused when its handle was on an earlier line, else
 * upserted and kept. 0, or -1 with err.
 */
static int
import_row(struct import *im, char **f, unsigned roles)
{
	int first = kept_find(im, f[0]), later;
	int64_t manager, id;
	const char *why;

	if (first >= 0) {
		snprintf(im->err, im->errlen,
			 "line %d: handle @%.40s already on line %d", im->line,
			 f[0], im->kept[first].line);
		return -1;
	}
	manager = row_manager(im, f[5], &later);
	if (manager < 0)
		return import_db_error(im);
	why = row_upsert(im, f, roles, manager, &id);
	if (why != NULL) {
		snprintf(im->err, im->errlen, "line %d (%.40s): %s", im->line,
			 f[0], why);
		return -1;
	}
	kept_add(im, f[0], later ? f[5] : NULL, id);
	f[0] = NULL;
	if (later)
		f[5] = NULL;
	return 0;
}

/*
 * The rows after the header, each validated and upserted (blank lines
 * skipped). 0, or -1 with "line N (handle): problem" in err.
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
			fields_free(f, n);
			return -1;
		}
		for (i = 0; i < n; i++) {
			char *t = str_trim(f[i]);

			memmove(f[i], t, strlen(t) + 1);
		}
		why = row_problem(im, f, &roles);
		if (why != NULL) {
			snprintf(im->err, im->errlen, "line %d (%.40s): %s",
				 im->line, f[0], why);
			fields_free(f, n);
			return -1;
		}
		i = import_row(im, f, roles);
		fields_free(f, n);
		if (i < 0)
			return -1;
	}
	return 0;
}

/*
 * The manager pass, after all rows, for the people whose manager is on a
 * later line: set from the file, or the import refused. 0, or -1 with
 * err.
 */
static int
import_managers(struct import *im)
{
	int i;

	for (i = 0; i < im->nkept; i++) {
		const struct kept *p = &im->kept[i];
		int m;

		if (p->manager == NULL)
			continue;
		m = kept_find(im, p->manager);
		if (m < 0) {
			snprintf(im->err, im->errlen,
				 "person %.40s: manager \"%.40s\" is not in "
				 "the file or the directory",
				 p->handle, p->manager);
			return -1;
		}
		if (db_rebind(im->q_manager, "ii", im->kept[m].id, p->id) < 0 ||
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

/* The order of their names, the order the details list them in. */
static const int person_fields_sorted[] = {8, 1, 6, 3, 0, 7, 2, 4, 5};

/* One side of a person (from column col on): each field as text. */
struct side {
	const char *v[ARRAY_LEN(person_fields)];
	char roles[256];
};

static void
side_read(struct side *d, struct db_stmt *s, int col)
{
	size_t k;

	for (k = 0; k < 7; k++)
		d->v[k] = db_col(s, col + (int)k);
	roles_format((unsigned)db_col_int(s, col + 7), d->roles,
		     sizeof(d->roles));
	d->v[7] = d->roles;
	d->v[8] = db_col_int(s, col + 8) != 0 ? "true" : "false";
}

/*
 * The details of one person's audit row into b: the fields the file
 * changed, before and after, or (a person added) each field that has a
 * value; compact JSON with sorted keys, active as true or false. b is
 * left empty when nothing changed.
 */
static void
person_details(struct buf *b, struct db_stmt *s, int existed)
{
	struct side now, was;
	int changed[ARRAY_LEN(person_fields)], any = 0, pass;
	size_t i, k;

	buf_reset(b);
	side_read(&now, s, 1);
	if (existed)
		side_read(&was, s, 11);
	for (k = 0; k < ARRAY_LEN(person_fields); k++) {
		if (existed)
			changed[k] = strcmp(now.v[k], was.v[k]) != 0;
		else
			changed[k] = k != 8 && now.v[k][0] != '\0';
		any |= changed[k];
	}
	if (!any)
		return;
	for (pass = 0; pass < (existed ? 2 : 1); pass++) {
		const struct side *d = pass ? &was : &now;
		char sep = '{';

		buf_add(b,
			pass ? ",\"before\":" : "{\"after\":", pass ? 10 : 9);
		for (i = 0; i < ARRAY_LEN(person_fields_sorted); i++) {
			k = (size_t)person_fields_sorted[i];
			if (!changed[k])
				continue;
			buf_putc(b, sep);
			buf_putc(b, '"');
			buf_add(b, person_fields[k], strlen(person_fields[k]));
			buf_add(b, "\":", 2);
			if (k == 8)
				buf_add(b, d->v[k], strlen(d->v[k]));
			else
				buf_put_json(b, d->v[k], strlen(d->v[k]));
			sep = ',';
		}
		buf_putc(b, '}');
	}
	buf_putc(b, '}');
}

/*
 * One audit row per person the file added ("staff.add", what they are)
 * or changed ("staff.update", the changed fields before and after), in
 * the order of the file; none for a person it left as they were. 0, or
 * -1 with err.
 */
static int
staff_audit_changes(struct import *im, const char *actor)
{
	struct db_stmt *s = db_prepare(
	    im->st,
	    "SELECT p.handle, p.name, COALESCE(p.email, ''), "
	    "COALESCE(p.slack_id, ''), COALESCE(p.matrix_id, ''), "
	    "COALESCE(p.team, ''), COALESCE(p.timezone, ''), "
	    "COALESCE(m.handle, ''), p.roles, p.active, b.handle IS NOT "
	    "NULL, b.name, b.email, b.slack_id, b.matrix_id, b.team, "
	    "b.timezone, b.manager, b.roles, b.active FROM people p LEFT "
	    "JOIN people m ON m.id = p.manager_id LEFT JOIN staff_before b "
	    "ON b.handle = p.handle WHERE p.id = ?",
	    NULL);
	struct buf d = {0};
	int i, rc = 0;

	if (s == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < im->nkept; i++) {
		int existed;

		if (db_rebind(s, "i", im->kept[i].id) < 0 ||
		    db_step(s) != DB_ROW) {
			rc = -1;
			break;
		}
		existed = db_col_int(s, 10) != 0;
		person_details(&d, s, existed);
		if (d.len > 0 &&
		    store_audit(im->st, actor,
				existed ? "staff.update" : "staff.add",
				db_col(s, 0), buf_str(&d)) < 0)
			rc = -1;
	}
	if (rc < 0)
		snprintf(im->err, im->errlen, "database error: %s",
			 db_errmsg(im->st));
	buf_free(&d);
	db_finish(im->st, s);
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
	    import_rows(&im) < 0 || import_managers(&im) < 0 ||
	    staff_audit_changes(&im, actor) < 0)
		goto out;
	if (missing != NULL && missing_handles(&im, missing, nmissing) < 0) {
		import_db_error(&im);
		goto out;
	}
	if (import_commit(&im, actor) < 0)
		goto out;
	rc = 0;
out:
	db_finish(st, im.q_upsert);
	db_finish(st, im.q_id);
	db_finish(st, im.q_manager);
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
	for (i = 0; i < im.nkept; i++) {
		free(im.kept[i].handle);
		free(im.kept[i].manager);
	}
	free(im.kept);
	free(im.slots);
	return rc;
}
