/*
 * The portal's pages: URL and query parsing, who sees what, and the HTML.
 * Every value shown goes through portal_html; the registers come from the
 * exports (store/export.c), so the portal shows what an auditor's export
 * holds, filtered by the roles used in chat.
 */
#include "portal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../base/embedded.h"
#include "../base/log.h"
#include "../commands/cmd.h"
#include "../commands/delivery.h"
#include "../store/export.h"
#include "../store/pack.h"

/* ---- escaping ---- */

void
portal_html(struct buf *b, const char *s)
{
	struct buf clean = {0};

	/* control and bidi characters shown escaped, then HTML-escaped */
	buf_put_printable(&clean, s ? s : "", PRINT_KEEP_NL | PRINT_KEEP_TAB);
	buf_put_html(b, buf_str(&clean));
	buf_free(&clean);
}

/* ---- URLs ---- */

static const struct {
	const char *path;
	enum portal_page page;
} fixed_pages[] = {
    {"/", PAGE_DASHBOARD},	    {"/style.css", PAGE_STYLE},
    {"/login", PAGE_LOGIN},	    {"/logout", PAGE_LOGOUT},
    {"/risks", PAGE_RISKS},	    {"/soa", PAGE_SOA},
    {"/incidents", PAGE_INCIDENTS}, {"/actions", PAGE_ACTIONS},
    {"/documents", PAGE_DOCUMENTS}, {"/reviews", PAGE_REVIEWS},
    {"/suppliers", PAGE_SUPPLIERS}, {"/obligations", PAGE_OBLIGATIONS},
    {"/audit-log", PAGE_AUDIT_LOG}, {"/report", PAGE_REPORT},
    {"/audits", PAGE_AUDITS},
};

static const char *const themes[] = {"organizational", "people", "physical",
				     "technological"};
static const char *const statuses[] = {"not_started", "partial", "implemented"};

/* "%41" and "+" decoded into out (size len); -1 when malformed or long */
static int
pct_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= len)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* src into dst (size len) when it fits, else "-" (never valid) */
static void
copy_fit(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len) {
		src = "-";
		n = 1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* a link token as received when it may be one (base64url), else "-" */
static void
copy_token(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i]; i++)
		if (!isalnum((unsigned char)src[i]) && src[i] != '-' &&
		    src[i] != '_') {
			src = "-";
			break;
		}
	copy_fit(dst, len, src);
}

static int
in_list(const char *v, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return 1;
	return 0;
}

/* "RSK-12" (any case) after prefix: 1..999999999, else -1 */
static int64_t
parse_ref(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix), i;
	int64_t v = 0;

	if (strncasecmp(s, prefix, pl) != 0 || s[pl] != '-')
		return -1;
	s += pl + 1;
	for (i = 0; s[i]; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 9)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return i == 0 || v == 0 ? -1 : v;
}

static int
route_path(const char *path, struct portal_route *r)
{
	size_t i;
	const char *dot, *e;

	for (i = 0; i < ARRAY_LEN(fixed_pages); i++)
		if (strcmp(path, fixed_pages[i].path) == 0) {
			r->page = fixed_pages[i].page;
			return 0;
		}
	if (strncmp(path, "/l/", 3) == 0) {
		r->page = PAGE_LOGIN;
		copy_token(r->token, sizeof(r->token), path + 3);
		return 0;
	}
	if (strncmp(path, "/risks/", 7) == 0 &&
	    (r->id = parse_ref(path + 7, "RSK")) > 0) {
		r->page = PAGE_RISK;
		return 0;
	}
	if (strncmp(path, "/incidents/", 11) == 0 &&
	    (r->id = parse_ref(path + 11, "INC")) > 0) {
		r->page = PAGE_INCIDENT;
		return 0;
	}
	if (strncmp(path, "/audits/", 8) == 0 &&
	    (r->id = parse_ref(path + 8, "AUD")) > 0) {
		r->page = PAGE_AUDIT;
		return 0;
	}
	if (strncmp(path, "/reviews/", 9) == 0 &&
	    (r->id = parse_ref(path + 9, "MR")) > 0) {
		r->page = PAGE_REVIEW;
		return 0;
	}
	r->id = 0;
	if (strcmp(path, "/export/audit-pack.tar.gz") == 0) {
		r->page = PAGE_PACK;
		return 0;
	}
	if (strncmp(path, "/export/", 8) == 0) {
		const char *name = path + 8;

		dot = strrchr(name, '.');
		if (dot == NULL ||
		    (size_t)(dot - name) >= sizeof(r->export_name))
			return 0;
		e = dot + 1;
		if (strcmp(e, "csv") != 0 && strcmp(e, "json") != 0)
			return 0;
		for (i = 0; export_name(i) != NULL; i++)
			if (strlen(export_name(i)) == (size_t)(dot - name) &&
			    strncmp(export_name(i), name,
				    (size_t)(dot - name)) == 0 &&
			    strcmp(export_name(i), "mapping") != 0) {
				r->page = PAGE_EXPORT;
				snprintf(r->export_name, sizeof(r->export_name),
					 "%s", export_name(i));
				snprintf(r->export_format,
					 sizeof(r->export_format), "%s", e);
			}
	}
	return 0;
}

int
portal_route_parse(const char *target, struct portal_route *r, const char **why)
{
	char path[256], key[32], val[PORTAL_PARAM_MAX];
	const char *q, *p, *amp, *eq;
	unsigned seen = 0;
	size_t pl;

	memset(r, 0, sizeof(*r));
	*why = "";
	if (target == NULL || target[0] != '/') {
		r->page = PAGE_NONE;
		return 0;
	}
	q = strchr(target, '?');
	pl = q ? (size_t)(q - target) : strlen(target);
	if (pl >= sizeof(path)) {
		r->page = PAGE_NONE;
		return 0;
	}
	memcpy(path, target, pl);
	path[pl] = '\0';
	route_path(path, r);
	if (q == NULL || r->page == PAGE_NONE)
		return 0;
	for (p = q + 1; *p; p = amp ? amp + 1 : p + strlen(p)) {
		size_t n;
		unsigned bit;

		amp = strchr(p, '&');
		n = amp ? (size_t)(amp - p) : strlen(p);
		if (n == 0)
			continue;
		eq = memchr(p, '=', n);
		if (eq == NULL) {
			*why = "a query parameter without a value";
			return -1;
		}
		if (pct_decode(p, (size_t)(eq - p), key, sizeof(key)) < 0 ||
		    pct_decode(eq + 1, n - (size_t)(eq - p) - 1, val,
			       sizeof(val)) < 0) {
			/* a token too long is an invalid link, not a 400 */
			if (r->page == PAGE_LOGIN && (size_t)(eq - p) == 1 &&
			    p[0] == 't' && !(seen & 1)) {
				seen |= 1;
				snprintf(r->token, sizeof(r->token), "-");
				continue;
			}
			*why = "a malformed or too long query parameter";
			return -1;
		}
		if (r->page == PAGE_LOGIN && strcmp(key, "t") == 0) {
			bit = 1;
			copy_token(r->token, sizeof(r->token), val);
		} else if (r->page == PAGE_SOA && strcmp(key, "theme") == 0) {
			bit = 2;
			if (val[0] &&
			    !in_list(val, themes, ARRAY_LEN(themes))) {
				*why = "theme must be organizational, people, "
				       "physical or technological";
				return -1;
			}
			copy_fit(r->theme, sizeof(r->theme), val);
		} else if (r->page == PAGE_SOA &&
			   strcmp(key, "applicable") == 0) {
			bit = 4;
			if (val[0] && strcmp(val, "yes") != 0 &&
			    strcmp(val, "no") != 0) {
				*why = "applicable must be yes or no";
				return -1;
			}
			copy_fit(r->applicable, sizeof(r->applicable), val);
		} else if (r->page == PAGE_SOA && strcmp(key, "status") == 0) {
			bit = 8;
			if (val[0] &&
			    !in_list(val, statuses, ARRAY_LEN(statuses))) {
				*why = "status must be not_started, partial or "
				       "implemented";
				return -1;
			}
			copy_fit(r->status, sizeof(r->status), val);
		} else if (r->page == PAGE_SOA && strcmp(key, "version") == 0) {
			long v;

			bit = 16;
			if (val[0] && parse_int(val, 1, 1000000, &v) < 0) {
				*why = "version must be a number from 1";
				return -1;
			}
			r->version = val[0] ? v : 0;
		} else {
			*why = "an unknown query parameter";
			return -1;
		}
		if (seen & bit) {
			*why = "a query parameter given twice";
			return -1;
		}
		seen |= bit;
	}
	return 0;
}

/* ---- who sees what ---- */

enum portal_scope
portal_scope_of(const struct person *p)
{
	if (has_role(p, ROLE_AUDITOR | ROLE_MANAGEMENT | ROLE_ISMS_MANAGER))
		return SCOPE_ALL;
	if (has_role(p, ROLE_MANAGER))
		return SCOPE_TEAM;
	return SCOPE_OWN;
}

int
portal_viewer_load(struct store *st, const struct person *who,
		   struct portal_viewer *v)
{
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	memset(v, 0, sizeof(*v));
	v->me = *who;
	v->scope = portal_scope_of(who);
	if (v->scope == SCOPE_ALL)
		return 0;
	/* a manager's team: who reports to them and who shares their team */
	s = db_prepare(
	    st,
	    "SELECT handle FROM people WHERE id = ?1 OR (?2 <> 0 AND "
	    "(manager_id = ?1 OR (?3 != '' AND team = ?3))) ORDER "
	    "BY handle",
	    "iit", who->id, (int64_t)(v->scope == SCOPE_TEAM), who->team);
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		if (v->nhandles == cap) {
			cap = cap ? cap * 2 : 8;
			v->handles =
			    xrealloc(v->handles, cap * sizeof(*v->handles));
		}
		v->handles[v->nhandles++] = xstrdup(db_col(s, 0));
	}
	db_finish(st, s);
	return rc == DB_DONE ? 0 : -1;
}

void
portal_viewer_free(struct portal_viewer *v)
{
	size_t i;

	for (i = 0; i < v->nhandles; i++)
		free(v->handles[i]);
	free(v->handles);
	v->handles = NULL;
	v->nhandles = 0;
}

int
portal_sees_person(const struct portal_viewer *v, const char *handle)
{
	size_t i;

	if (v->scope == SCOPE_ALL)
		return 1;
	if (handle == NULL || handle[0] == '\0')
		return 0;
	for (i = 0; i < v->nhandles; i++)
		if (strcasecmp(v->handles[i], handle) == 0)
			return 1;
	return 0;
}

int
portal_sees_incident(const struct portal_viewer *v, const char *reporter,
		     const char *handler)
{
	if (has_role(&v->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR))
		return 1;
	return (reporter && strcasecmp(reporter, v->me.handle) == 0) ||
	       (handler && handler[0] &&
		strcasecmp(handler, v->me.handle) == 0);
}

int
portal_may_open(const struct portal_viewer *v, enum portal_page page)
{
	switch (page) {
	case PAGE_AUDIT_LOG:
	case PAGE_EXPORT:
	case PAGE_PACK:
		/* the roles that run "export audit-pack" in chat */
		return has_role(&v->me, ROLE_AUDITOR | ROLE_ISMS_MANAGER);
	case PAGE_REVIEWS:
	case PAGE_REVIEW:
	case PAGE_SUPPLIERS:
	case PAGE_OBLIGATIONS:
	case PAGE_AUDITS:
	case PAGE_AUDIT:
	case PAGE_REPORT:
		return v->scope != SCOPE_OWN;
	default:
		return 1;
	}
}

/* ---- page frame ---- */

const char *
portal_css(void)
{
	const char *css = embedded_get("portal.css");

	return css ? css : "";
}

static const struct {
	enum portal_page page;
	const char *href, *label;
} nav[] = {
    {PAGE_DASHBOARD, "/", "Dashboard"},
    {PAGE_RISKS, "/risks", "Risks"},
    {PAGE_SOA, "/soa", "SoA"},
    {PAGE_INCIDENTS, "/incidents", "Incidents"},
    {PAGE_ACTIONS, "/actions", "Actions"},
    {PAGE_DOCUMENTS, "/documents", "Documents"},
    {PAGE_AUDITS, "/audits", "Audits"},
    {PAGE_REVIEWS, "/reviews", "Reviews"},
    {PAGE_SUPPLIERS, "/suppliers", "Suppliers"},
    {PAGE_OBLIGATIONS, "/obligations", "Obligations"},
    {PAGE_REPORT, "/report", "Report"},
    {PAGE_AUDIT_LOG, "/audit-log", "Audit log"},
};

static void
page_start(struct buf *b, const struct config *cfg,
	   const struct portal_viewer *v, enum portal_page cur,
	   const char *title)
{
	size_t i;

	buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
		    "charset=\"utf-8\"><meta name=\"viewport\" "
		    "content=\"width=device-width\"><title>");
	portal_html(b, title);
	buf_puts(b, " - ");
	portal_html(b, cfg->org_name);
	buf_puts(b, " ISMS</title><link rel=\"stylesheet\" "
		    "href=\"/style.css\"></head><body>\n<header><span "
		    "class=\"org\">");
	portal_html(b, cfg->org_name);
	buf_puts(b, " ISMS</span>");
	if (v != NULL) {
		buf_puts(b, "<nav>");
		for (i = 0; i < ARRAY_LEN(nav); i++)
			if (portal_may_open(v, nav[i].page))
				buf_printf(
				    b, "<a href=\"%s\"%s>%s</a>", nav[i].href,
				    nav[i].page == cur ? " class=\"here\"" : "",
				    nav[i].label);
		buf_puts(b, "</nav><form method=\"post\" action=\"/logout\" "
			    "class=\"who\"><span>");
		portal_html(b, v->me.name);
		buf_puts(b, " (");
		portal_html(b, v->me.handle);
		buf_puts(b, ")</span> <button type=\"submit\">Sign "
			    "out</button></form>");
	}
	buf_puts(b, "</header>\n<main>\n<h1>");
	portal_html(b, title);
	buf_puts(b, "</h1>\n");
}

static void
page_end(struct buf *b)
{
	buf_puts(b, "</main>\n<footer>Read-only view; changes are made in "
		    "chat or with ismsctl.</footer>\n</body></html>\n");
}

void
portal_message_page(struct portal_answer *a, int status, const char *title,
		    const char *text)
{
	struct config cfg = {.org_name = (char *)(a->org ? a->org : "")};

	a->status = status;
	a->ctype = "text/html; charset=utf-8";
	buf_reset(&a->body);
	page_start(&a->body, &cfg, NULL, PAGE_NONE, title);
	buf_puts(&a->body, "<p class=\"message\">");
	portal_html(&a->body, text);
	buf_puts(&a->body, "</p>\n");
	page_end(&a->body);
}

void
portal_signin_page(struct portal_answer *a, const struct person *who,
		   int64_t now, int64_t expires, const char *token)
{
	struct config cfg = {.org_name = (char *)(a->org ? a->org : "")};
	char until[40], iso[32], today[16], day[16];

	a->status = 200;
	a->ctype = "text/html; charset=utf-8";
	/* the button's POST carries this page's origin (not "null") */
	a->referrer = "same-origin";
	buf_reset(&a->body);
	time_date(now, today);
	time_date(expires, day);
	time_iso(expires, iso);
	/* "HH:MM UTC", with the date when not today */
	if (strcmp(today, day) == 0)
		snprintf(until, sizeof(until), "%.5s UTC", iso + 11);
	else
		snprintf(until, sizeof(until), "%s %.5s UTC", day, iso + 11);
	page_start(&a->body, &cfg, NULL, PAGE_LOGIN, "Sign in");
	buf_puts(&a->body, "<p class=\"message\">Sign in to the ");
	portal_html(&a->body, cfg.org_name);
	buf_puts(&a->body, " ISMS portal as <strong id=\"signin-as\">@");
	portal_html(&a->body, who->handle);
	buf_puts(&a->body, "</strong> (");
	portal_html(&a->body, who->name);
	buf_puts(&a->body, ") &mdash; valid until <span id=\"signin-until\">");
	portal_html(&a->body, until);
	buf_puts(&a->body, "</span>.</p>\n<form method=\"post\" "
			   "action=\"/l/");
	portal_html(&a->body, token);
	buf_puts(&a->body, "\" class=\"signin\"><button type=\"submit\" "
			   "id=\"signin\">Sign in</button></form>\n<p>The "
			   "link works once: signing in uses it up. If you "
			   "did not ask for it, close this page.</p>\n");
	page_end(&a->body);
}

/* ---- tables from exports ---- */

static const char *
col(int ncol, const char *const *names, const char *const *values,
    const char *name)
{
	int i;

	for (i = 0; i < ncol; i++)
		if (strcmp(names[i], name) == 0)
			return values[i];
	return "";
}

/* which rows a table shows */
enum filter {
	F_ALL,
	F_OWNER,    /* column owner */
	F_PERSON,   /* column person */
	F_INCIDENT, /* reporter, handler */
};

struct table {
	struct buf *b;
	const struct portal_viewer *v;
	enum filter filter;
	const char *const *cols; /* shown, NULL-terminated; NULL: all */
	int header_done, rows;
	/* /soa filters */
	const struct portal_route *r;
};

static int
row_visible(const struct table *t, int ncol, const char *const *names,
	    const char *const *values)
{
	switch (t->filter) {
	case F_OWNER:
		return portal_sees_person(t->v,
					  col(ncol, names, values, "owner"));
	case F_PERSON:
		return portal_sees_person(t->v,
					  col(ncol, names, values, "person"));
	case F_INCIDENT:
		return portal_sees_incident(
		    t->v, col(ncol, names, values, "reporter"),
		    col(ncol, names, values, "handler"));
	case F_ALL:
		break;
	}
	return 1;
}

static int
shown(const struct table *t, const char *name)
{
	size_t i;

	if (t->cols == NULL)
		return 1;
	for (i = 0; t->cols[i]; i++)
		if (strcmp(t->cols[i], name) == 0)
			return 1;
	return 0;
}

/* A cell; ids of risks and incidents link to their page. */
static void
cell(struct buf *b, const struct portal_viewer *v, const char *name,
     const char *value)
{
	buf_puts(b, "<td>");
	if (strcmp(name, "id") == 0 && parse_ref(value, "RSK") > 0) {
		buf_puts(b, "<a href=\"/risks/");
		portal_html(b, value);
		buf_puts(b, "\">");
		portal_html(b, value);
		buf_puts(b, "</a>");
	} else if ((strcmp(name, "id") == 0 || strcmp(name, "audit") == 0) &&
		   (parse_ref(value, "AUD") > 0 ||
		    parse_ref(value, "MR") > 0)) {
		buf_puts(b, value[0] == 'A' || value[0] == 'a'
				? "<a href=\"/audits/"
				: "<a href=\"/reviews/");
		portal_html(b, value);
		buf_puts(b, "\">");
		portal_html(b, value);
		buf_puts(b, "</a>");
	} else if (strcmp(name, "id") == 0 && parse_ref(value, "INC") > 0 &&
		   v != NULL) {
		buf_puts(b, "<a href=\"/incidents/");
		portal_html(b, value);
		buf_puts(b, "\">");
		portal_html(b, value);
		buf_puts(b, "</a>");
	} else {
		portal_html(b, value);
	}
	buf_puts(b, "</td>");
}

static int
soa_match(const struct portal_route *r, int ncol, const char *const *names,
	  const char *const *values)
{
	const char *app = col(ncol, names, values, "applicable");
	int yes = strcmp(app, "yes") == 0 || strcmp(app, "1") == 0;

	if (r == NULL)
		return 1;
	if (r->theme[0] && strcmp(col(ncol, names, values, "theme"), r->theme))
		return 0;
	if (r->status[0] &&
	    strcmp(col(ncol, names, values, "status"), r->status))
		return 0;
	if (r->applicable[0] && yes != (strcmp(r->applicable, "yes") == 0))
		return 0;
	return 1;
}

static int
table_row(void *arg, int ncol, const char *const *names,
	  const char *const *values)
{
	struct table *t = arg;
	int i;

	if (!row_visible(t, ncol, names, values) ||
	    !soa_match(t->r, ncol, names, values))
		return 0;
	if (!t->header_done) {
		buf_puts(t->b, "<table><thead><tr>");
		for (i = 0; i < ncol; i++)
			if (shown(t, names[i])) {
				buf_puts(t->b, "<th>");
				portal_html(t->b, names[i]);
				buf_puts(t->b, "</th>");
			}
		buf_puts(t->b, "</tr></thead><tbody>\n");
		t->header_done = 1;
	}
	buf_puts(t->b, "<tr>");
	for (i = 0; i < ncol; i++)
		if (shown(t, names[i]))
			cell(t->b, t->v, names[i], values[i]);
	buf_puts(t->b, "</tr>\n");
	t->rows++;
	return 0;
}

/* An export as a table: rows seen, or -1 */
static int
export_table(struct store *st, struct buf *b, const struct portal_viewer *v,
	     const char *name, int64_t version, enum filter f,
	     const char *const *cols, const struct portal_route *r)
{
	struct table t = {.b = b, .v = v, .filter = f, .cols = cols, .r = r};
	char err[256];

	if (export_each(st, name, version, table_row, &t, err, sizeof(err)) < 0)
		return -1;
	if (t.header_done)
		buf_puts(b, "</tbody></table>\n");
	else
		buf_puts(b, "<p class=\"empty\">Nothing to show.</p>\n");
	return t.rows;
}

/* ---- one record and its history ---- */

struct record {
	const char *id;
	const struct portal_viewer *v;
	enum filter filter;
	int found, visible;
	struct buf dl;
};

static int
record_row(void *arg, int ncol, const char *const *names,
	   const char *const *values)
{
	struct record *rec = arg;
	struct table t = {.v = rec->v, .filter = rec->filter};
	int i;

	if (strcasecmp(col(ncol, names, values, "id"), rec->id) != 0)
		return 0;
	rec->found = 1;
	rec->visible = row_visible(&t, ncol, names, values);
	if (!rec->visible)
		return 1;
	buf_puts(&rec->dl, "<dl class=\"record\">\n");
	for (i = 0; i < ncol; i++) {
		buf_puts(&rec->dl, "<dt>");
		portal_html(&rec->dl, names[i]);
		buf_puts(&rec->dl, "</dt><dd>");
		portal_html(&rec->dl, values[i]);
		buf_puts(&rec->dl, "</dd>\n");
	}
	buf_puts(&rec->dl, "</dl>\n");
	return 1;
}

struct history {
	const char *object;
	struct buf *b;
	int rows;
};

static int
history_row(void *arg, int ncol, const char *const *names,
	    const char *const *values)
{
	struct history *h = arg;

	if (strcasecmp(col(ncol, names, values, "object"), h->object) != 0)
		return 0;
	if (h->rows++ == 0)
		buf_puts(h->b, "<table><thead><tr><th>seq</th><th>at</th>"
			       "<th>by</th><th>what</th><th>details</th>"
			       "</tr></thead><tbody>\n");
	buf_puts(h->b, "<tr><td>");
	portal_html(h->b, col(ncol, names, values, "seq"));
	buf_puts(h->b, "</td><td>");
	portal_html(h->b, col(ncol, names, values, "at"));
	buf_puts(h->b, "</td><td>");
	portal_html(h->b, col(ncol, names, values, "actor"));
	buf_puts(h->b, "</td><td>");
	portal_html(h->b, col(ncol, names, values, "action"));
	buf_puts(h->b, "</td><td class=\"details\">");
	portal_html(h->b, col(ncol, names, values, "details"));
	buf_puts(h->b, "</td></tr>\n");
	return 0;
}

static int
record_page(struct store *st, const struct config *cfg,
	    const struct portal_viewer *v, const struct portal_route *r,
	    struct portal_answer *a)
{
	int risk = r->page == PAGE_RISK;
	char id[32], err[256];
	struct record rec = {.id = id, .v = v};
	struct history h = {.object = id, .b = &a->body};

	snprintf(id, sizeof(id), "%s-%lld", risk ? "RSK" : "INC",
		 (long long)r->id);
	rec.filter = risk ? F_OWNER : F_INCIDENT;
	if (export_each(st, risk ? "risks" : "incidents", 0, record_row, &rec,
			err, sizeof(err)) < 0) {
		buf_free(&rec.dl);
		return -1;
	}
	if (!rec.found || !rec.visible) {
		char text[200];

		buf_free(&rec.dl);
		/* the same answer whether it exists or not, as in chat */
		snprintf(text, sizeof(text), "%s: no such %s that you may see.",
			 id, risk ? "risk" : "incident");
		portal_message_page(a, 404, "Not found", text);
		return 0;
	}
	page_start(&a->body, cfg, v, risk ? PAGE_RISKS : PAGE_INCIDENTS, id);
	buf_puts(&a->body, buf_str(&rec.dl));
	buf_free(&rec.dl);
	buf_puts(&a->body, risk ? "<h2>History</h2>\n" : "<h2>Timeline</h2>\n");
	if (export_each(st, "audit-log", 0, history_row, &h, err, sizeof(err)) <
	    0)
		return -1;
	if (h.rows)
		buf_puts(&a->body, "</tbody></table>\n");
	else
		buf_puts(&a->body, "<p class=\"empty\">No entries.</p>\n");
	page_end(&a->body);
	return 0;
}

/* ---- the dashboard ---- */

struct dash {
	const struct portal_viewer *v;
	const struct config *cfg;
	char today[16], soon[16];
	int heat[5][5], risks;
	int open_by_sev[4], incidents_open;
	struct buf breach, overdue, due;
	int nbreach, noverdue, ndue;
	/* quiz completion of the newest campaign, per team */
	char quiz[16];
	struct {
		char team[64];
		int people, done;
	} teams[32];
	int nteams;
};

static int
dash_risk(void *arg, int ncol, const char *const *names,
	  const char *const *values)
{
	struct dash *d = arg;
	long l, i;

	if (!portal_sees_person(d->v, col(ncol, names, values, "owner")))
		return 0;
	if (parse_int(col(ncol, names, values, "likelihood"), 1, 5, &l) < 0 ||
	    parse_int(col(ncol, names, values, "impact"), 1, 5, &i) < 0)
		return 0;
	d->heat[l - 1][i - 1]++;
	d->risks++;
	return 0;
}

static void
ref_link(struct buf *b, const char *base, const char *id, int link)
{
	if (link) {
		buf_printf(b, "<a href=\"%s", base);
		portal_html(b, id);
		buf_puts(b, "\">");
	}
	portal_html(b, id);
	if (link)
		buf_puts(b, "</a>");
}

static int
dash_incident(void *arg, int ncol, const char *const *names,
	      const char *const *values)
{
	static const char *const sev[] = {"low", "medium", "high", "critical"};
	struct dash *d = arg;
	const char *id = col(ncol, names, values, "id");
	int sees =
	    portal_sees_incident(d->v, col(ncol, names, values, "reporter"),
				 col(ncol, names, values, "handler"));
	size_t k;

	/* counts for who sees everything; rows for who sees details */
	if (!sees && d->v->scope != SCOPE_ALL)
		return 0;
	if (strcmp(col(ncol, names, values, "status"), "closed") == 0)
		return 0;
	d->incidents_open++;
	for (k = 0; k < 4; k++)
		if (strcmp(col(ncol, names, values, "severity"), sev[k]) == 0)
			d->open_by_sev[k]++;
	if ((strcmp(col(ncol, names, values, "personal_data"), "yes") == 0 &&
	     col(ncol, names, values, "breach_outcome")[0] == '\0') ||
	    (strcmp(col(ncol, names, values, "significant"), "yes") == 0 &&
	     col(ncol, names, values, "final_report")[0] == '\0')) {
		buf_puts(&d->breach, "<li>");
		ref_link(&d->breach, "/incidents/", id, sees);
		buf_puts(&d->breach,
			 strcmp(col(ncol, names, values, "personal_data"),
				"yes") == 0
			     ? " GDPR 72-hour clock"
			     : " NIS2 reports");
		buf_puts(&d->breach, ", reported ");
		portal_html(&d->breach, col(ncol, names, values, "created"));
		buf_puts(&d->breach, "</li>\n");
		d->nbreach++;
	}
	return 0;
}

static int
dash_action(void *arg, int ncol, const char *const *names,
	    const char *const *values)
{
	struct dash *d = arg;
	const char *due = col(ncol, names, values, "due");

	if (!portal_sees_person(d->v, col(ncol, names, values, "owner")) ||
	    strcmp(col(ncol, names, values, "status"), "open") != 0 ||
	    strcmp(due, d->today) >= 0)
		return 0;
	buf_puts(&d->overdue, "<li>");
	portal_html(&d->overdue, col(ncol, names, values, "id"));
	buf_puts(&d->overdue, " (");
	portal_html(&d->overdue, col(ncol, names, values, "owner"));
	buf_puts(&d->overdue, ", due ");
	portal_html(&d->overdue, due);
	buf_puts(&d->overdue, "): ");
	portal_html(&d->overdue, col(ncol, names, values, "text"));
	buf_puts(&d->overdue, "</li>\n");
	d->noverdue++;
	return 0;
}

static int
dash_quiz(void *arg, int ncol, const char *const *names,
	  const char *const *values)
{
	struct dash *d = arg;
	const char *quiz = col(ncol, names, values, "quiz");
	const char *team = col(ncol, names, values, "team");
	int k;

	if (!portal_sees_person(d->v, col(ncol, names, values, "person")))
		return 0;
	/* rows come by campaign: a newer one starts the count afresh */
	if (strcmp(quiz, d->quiz) != 0) {
		snprintf(d->quiz, sizeof(d->quiz), "%s", quiz);
		d->nteams = 0;
	}
	for (k = 0; k < d->nteams; k++)
		if (strcmp(d->teams[k].team, team) == 0)
			break;
	if (k == d->nteams) {
		if (d->nteams == (int)ARRAY_LEN(d->teams))
			return 0;
		snprintf(d->teams[k].team, sizeof(d->teams[k].team), "%s",
			 team);
		d->teams[k].people = d->teams[k].done = 0;
		d->nteams++;
	}
	d->teams[k].people++;
	if (col(ncol, names, values, "completed")[0] != '\0')
		d->teams[k].done++;
	return 0;
}

/* reviews planned, and documents, suppliers, obligations due soon */
static int
dash_due(void *arg, int ncol, const char *const *names,
	 const char *const *values)
{
	struct dash *d = arg;
	const char *id = col(ncol, names, values, "id");
	const char *when = col(ncol, names, values, "next_review");

	if (strncmp(id, "MR-", 3) == 0) {
		if (strcmp(col(ncol, names, values, "status"), "planned") != 0)
			return 0;
		when = col(ncol, names, values, "planned");
	} else if (!portal_sees_person(d->v,
				       col(ncol, names, values, "owner"))) {
		return 0;
	}
	if (when[0] == '\0' || strcmp(when, d->soon) > 0)
		return 0;
	buf_puts(&d->due, "<li>");
	portal_html(&d->due, id);
	buf_puts(&d->due, " ");
	portal_html(&d->due, col(ncol, names, values, "title")[0]
				 ? col(ncol, names, values, "title")
				 : col(ncol, names, values, "name"));
	buf_puts(&d->due,
		 strcmp(when, d->today) < 0 ? " (overdue since " : " (due ");
	portal_html(&d->due, when);
	buf_puts(&d->due, ")</li>\n");
	d->ndue++;
	return 0;
}

static void
heat_map(struct buf *b, const struct config *cfg, int heat[5][5])
{
	int l, i;

	buf_puts(b, "<svg class=\"heat\" viewBox=\"0 0 300 300\" "
		    "role=\"img\" aria-label=\"Risk heat map: likelihood "
		    "by impact\" xmlns=\"http://www.w3.org/2000/svg\">\n");
	for (l = 5; l >= 1; l--)
		for (i = 1; i <= 5; i++) {
			int x = 40 + (i - 1) * 50, y = 10 + (5 - l) * 50;

			buf_printf(b,
				   "<rect x=\"%d\" y=\"%d\" width=\"48\" "
				   "height=\"48\" class=\"lv-%s\"/>"
				   "<text x=\"%d\" y=\"%d\" class=\"n\">%d"
				   "</text>\n",
				   x, y, config_risk_level(cfg, l * i), x + 24,
				   y + 30, heat[l - 1][i - 1]);
		}
	for (l = 1; l <= 5; l++)
		buf_printf(b,
			   "<text x=\"28\" y=\"%d\" class=\"ax\">%d</text>"
			   "<text x=\"%d\" y=\"275\" class=\"ax\">%d</text>\n",
			   10 + (5 - l) * 50 + 30, l, 40 + (l - 1) * 50 + 24,
			   l);
	buf_puts(b, "<text x=\"165\" y=\"295\" class=\"ax\">impact</text>"
		    "<text x=\"10\" y=\"140\" class=\"ax\" "
		    "transform=\"rotate(-90 10 140)\">likelihood</text>"
		    "</svg>\n");
}

static int
dashboard(struct store *st, const struct config *cfg,
	  const struct portal_viewer *v, struct portal_answer *a)
{
	static const char *const sev[] = {"low", "medium", "high", "critical"};
	static const char *const mine_cols[] = {"id",	  "title",   "severity",
						"status", "created", NULL};
	struct dash d = {.v = v, .cfg = cfg};
	struct buf *b = &a->body;
	char err[256];
	int64_t now = store_now(st);
	int k, rc = 0;

	time_date(now, d.today);
	time_date(now + 30 * 86400, d.soon);
	if (export_each(st, "risks", 0, dash_risk, &d, err, sizeof(err)) < 0 ||
	    export_each(st, "incidents", 0, dash_incident, &d, err,
			sizeof(err)) < 0 ||
	    export_each(st, "actions", 0, dash_action, &d, err, sizeof(err)) <
		0 ||
	    export_each(st, "quiz-results", 0, dash_quiz, &d, err,
			sizeof(err)) < 0)
		rc = -1;
	if (rc == 0 && v->scope != SCOPE_OWN &&
	    (export_each(st, "reviews", 0, dash_due, &d, err, sizeof(err)) <
		 0 ||
	     export_each(st, "documents", 0, dash_due, &d, err, sizeof(err)) <
		 0 ||
	     export_each(st, "suppliers", 0, dash_due, &d, err, sizeof(err)) <
		 0 ||
	     export_each(st, "obligations", 0, dash_due, &d, err, sizeof(err)) <
		 0))
		rc = -1;
	if (rc < 0)
		goto out;
	page_start(b, cfg, v, PAGE_DASHBOARD, "Dashboard");
	buf_printf(b, "<p class=\"scope\">As of %s; you see %s.</p>\n", d.today,
		   v->scope == SCOPE_ALL    ? "the whole ISMS"
		   : v->scope == SCOPE_TEAM ? "your own and your team's items"
					    : "your own items");
	buf_puts(b, "<div class=\"grid\">\n<section><h2>Risks</h2>\n");
	heat_map(b, cfg, d.heat);
	buf_printf(b,
		   "<p><span id=\"risk-count\">%d</span> risk%s; "
		   "<a href=\"/risks\">the register</a></p></section>\n",
		   d.risks, d.risks == 1 ? "" : "s");
	buf_printf(b, "<section><h2>Open incidents</h2>\n<table "
		      "class=\"counts\"><tbody>\n");
	for (k = 3; k >= 0; k--)
		buf_printf(b, "<tr><th>%s</th><td id=\"inc-%s\">%d</td></tr>\n",
			   sev[k], sev[k], d.open_by_sev[k]);
	buf_printf(b, "</tbody></table>\n<h3>Breach and NIS2 clocks "
		      "running</h3>\n");
	if (d.nbreach)
		buf_printf(b, "<ul>%s</ul>\n", buf_str(&d.breach));
	else
		buf_puts(b, "<p class=\"empty\">None.</p>\n");
	buf_puts(b, "</section>\n<section><h2>Overdue actions</h2>\n");
	if (d.noverdue)
		buf_printf(b, "<ul>%s</ul>\n", buf_str(&d.overdue));
	else
		buf_puts(b, "<p class=\"empty\">None.</p>\n");
	buf_puts(b, "</section>\n<section><h2>Awareness quiz</h2>\n");
	if (d.nteams) {
		buf_puts(b, "<p>");
		portal_html(b, d.quiz);
		buf_puts(b, ", completed by team:</p><table class=\"counts\">"
			    "<tbody>\n");
		for (k = 0; k < d.nteams; k++) {
			buf_puts(b, "<tr><th>");
			portal_html(b, d.teams[k].team[0] ? d.teams[k].team
							  : "(no team)");
			buf_printf(b, "</th><td>%d of %d</td></tr>\n",
				   d.teams[k].done, d.teams[k].people);
		}
		buf_puts(b, "</tbody></table>\n");
	} else {
		buf_puts(b, "<p class=\"empty\">No campaign yet.</p>\n");
	}
	buf_puts(b, "</section>\n");
	if (v->scope != SCOPE_OWN) {
		buf_puts(b, "<section><h2>Reviews due (30 days)</h2>\n");
		if (d.ndue)
			buf_printf(b, "<ul>%s</ul>\n", buf_str(&d.due));
		else
			buf_puts(b, "<p class=\"empty\">None.</p>\n");
		buf_puts(b, "</section>\n");
	}
	if (v->scope == SCOPE_ALL)
		buf_printf(b,
			   "<section><h2>Undelivered messages</h2><p "
			   "id=\"undelivered\">%lld</p></section>\n",
			   (long long)delivery_undelivered_count(st));
	if (v->scope == SCOPE_OWN) {
		buf_puts(b, "<section><h2>Your incidents</h2>\n");
		if (export_table(st, b, v, "incidents", 0, F_INCIDENT,
				 mine_cols, NULL) < 0)
			rc = -1;
		buf_puts(b, "</section>\n<section><h2>Your "
			    "acknowledgements</h2>\n");
		if (rc == 0 && export_table(st, b, v, "acknowledgements", 0,
					    F_PERSON, NULL, NULL) < 0)
			rc = -1;
		buf_puts(b, "</section>\n<section><h2>Your quiz "
			    "results</h2>\n");
		if (rc == 0 && export_table(st, b, v, "quiz-results", 0,
					    F_PERSON, NULL, NULL) < 0)
			rc = -1;
		buf_puts(b, "</section>\n");
	}
	buf_puts(b, "</div>\n");
	page_end(b);
out:
	buf_free(&d.breach);
	buf_free(&d.overdue);
	buf_free(&d.due);
	return rc;
}

/* ---- the SoA ---- */

static void
select_box(struct buf *b, const char *name, const char *cur,
	   const char *const *opts, size_t n)
{
	size_t i;

	buf_printf(b,
		   "<label>%s <select name=\"%s\"><option value=\"\">any"
		   "</option>",
		   name, name);
	for (i = 0; i < n; i++)
		buf_printf(b, "<option%s>%s</option>",
			   strcmp(cur, opts[i]) == 0 ? " selected" : "",
			   opts[i]);
	buf_puts(b, "</select></label>\n");
}

struct soa_sum {
	int draft;
	char approved[32];
};

static int
soa_summary(void *arg, int ncol, const char *const *names,
	    const char *const *values)
{
	struct soa_sum *s = arg;
	const char *v = col(ncol, names, values, "soa");

	if (strcmp(v, "draft") == 0)
		s->draft++;
	else if (strcmp(v, s->approved) > 0 || strlen(v) > strlen(s->approved))
		snprintf(s->approved, sizeof(s->approved), "%s", v);
	return 0;
}

/* The approved versions, newest first, each a link to its page. */
static int
soa_versions(struct store *st, struct buf *b, int64_t cur)
{
	struct db_stmt *s =
	    db_prepare(st,
		       "SELECT v.id, date(v.approved_at, 'unixepoch'), "
		       "p.handle, v.controls, v.changes, COALESCE(v.note, '') "
		       "FROM soa_versions v JOIN people p ON p.id = "
		       "v.approved_by ORDER BY v.id DESC",
		       NULL);
	int rc, n = 0;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		int64_t id = db_col_int(s, 0);

		if (n++ == 0)
			buf_printf(b,
				   "<section class=\"versions\"><h2>"
				   "Approved versions</h2>\n<ul "
				   "id=\"soa-versions\">\n%s",
				   cur > 0 ? "<li><a href=\"/soa\">The current "
					     "SoA (with draft changes)</a>"
					     "</li>\n"
					   : "");
		buf_puts(b, "<li>");
		if (id != cur)
			buf_printf(b, "<a href=\"/soa?version=%lld\">",
				   (long long)id);
		buf_printf(b, "v%lld", (long long)id);
		if (id != cur)
			buf_puts(b, "</a>");
		buf_puts(b, " approved ");
		portal_html(b, db_col(s, 1));
		buf_puts(b, " by ");
		portal_html(b, db_col(s, 2));
		buf_printf(b, ": %lld controls, %lld new or changed",
			   (long long)db_col_int(s, 3),
			   (long long)db_col_int(s, 4));
		if (*db_col(s, 5)) {
			buf_puts(b, "; ");
			portal_html(b, db_col(s, 5));
		}
		buf_puts(b, "</li>\n");
	}
	db_finish(st, s);
	if (n > 0)
		buf_puts(b, "</ul></section>\n");
	return rc == DB_DONE ? n : -1;
}

static int
soa_page(struct store *st, const struct config *cfg,
	 const struct portal_viewer *v, const struct portal_route *r,
	 struct portal_answer *a)
{
	static const char *const yn[] = {"yes", "no"};
	struct soa_sum sum = {0};
	struct buf *b = &a->body;
	char err[256], title[64];
	int n;

	if (r->version > 0)
		snprintf(title, sizeof(title),
			 "Statement of Applicability, version %lld",
			 (long long)r->version);
	else
		snprintf(title, sizeof(title), "Statement of Applicability");
	if (export_each(st, "soa", r->version, soa_summary, &sum, err,
			sizeof(err)) <= 0 &&
	    r->version > 0) {
		portal_message_page(a, 404, "Not found",
				    "No such version of the Statement of "
				    "Applicability.");
		return 0;
	}
	page_start(b, cfg, v, PAGE_SOA, title);
	if (r->version > 0)
		buf_puts(b, "<p class=\"version\">As approved.</p>\n");
	else if (sum.approved[0] == '\0')
		buf_puts(b, "<p class=\"version\">No version approved yet "
			    "(soa approve): every control is a draft.</p>\n");
	else
		buf_printf(b,
			   "<p class=\"version\">Version: %s; %d control%s "
			   "changed since (draft).</p>\n",
			   sum.approved, sum.draft, sum.draft == 1 ? "" : "s");
	if (soa_versions(st, b, r->version) < 0)
		return -1;
	buf_puts(b, "<form method=\"get\" action=\"/soa\" class=\"filters\">");
	select_box(b, "theme", r->theme, themes, ARRAY_LEN(themes));
	select_box(b, "applicable", r->applicable, yn, 2);
	select_box(b, "status", r->status, statuses, ARRAY_LEN(statuses));
	if (r->version > 0)
		buf_printf(b,
			   "<input type=\"hidden\" name=\"version\" "
			   "value=\"%lld\">",
			   (long long)r->version);
	buf_puts(b, "<button type=\"submit\">Filter</button></form>\n");
	n = export_table(st, b, v, "soa", r->version, F_ALL, NULL, r);
	if (n < 0)
		return -1;
	buf_printf(b,
		   "<p class=\"count\"><span id=\"soa-count\">%d</span> "
		   "control%s shown.</p>\n",
		   n, n == 1 ? "" : "s");
	page_end(b);
	return 0;
}

/* ---- the audit log ---- */

/*
 * What "ismsctl audit verify" says of the log and the records, in its
 * words: 0 when both verify, 1 when not, -1 on a database error.
 */
static int
verify_text(struct store *st, struct buf *out)
{
	struct buf records = {0};
	int64_t rows = 0, broken, changed;

	broken = store_audit_verify(st, &rows);
	changed = broken < 0 ? 0 : store_records_verify(st, &records);
	if (broken < 0 || changed < 0) {
		buf_puts(out, "the audit log could not be read\n");
		buf_free(&records);
		return -1;
	}
	if (broken > 0)
		buf_printf(
		    out,
		    "audit log BROKEN at sequence %lld: the row was "
		    "altered, removed or inserted after it was written\n",
		    (long long)broken);
	else
		buf_printf(out,
			   "audit log intact: %lld entries, hash chain "
			   "verified\n",
			   (long long)rows);
	if (changed > 0)
		buf_printf(out, "records changed outside ismsd: %lld\n%s",
			   (long long)changed, buf_str(&records));
	else
		buf_puts(out,
			 "records intact: every record matches its hash\n");
	buf_free(&records);
	return broken > 0 || changed > 0;
}

#define LOG_SHOWN 500

struct logrows {
	char *rows[LOG_SHOWN];
	int n, total;
};

static int
log_row(void *arg, int ncol, const char *const *names,
	const char *const *values)
{
	struct logrows *l = arg;
	struct buf b = {0};
	int slot = l->total % LOG_SHOWN;

	buf_puts(&b, "<tr><td>");
	portal_html(&b, col(ncol, names, values, "seq"));
	buf_puts(&b, "</td><td>");
	portal_html(&b, col(ncol, names, values, "at"));
	buf_puts(&b, "</td><td>");
	portal_html(&b, col(ncol, names, values, "actor"));
	buf_puts(&b, "</td><td>");
	portal_html(&b, col(ncol, names, values, "action"));
	buf_puts(&b, "</td><td>");
	portal_html(&b, col(ncol, names, values, "object"));
	buf_puts(&b, "</td><td class=\"details\">");
	portal_html(&b, col(ncol, names, values, "details"));
	buf_puts(&b, "</td></tr>\n");
	free(l->rows[slot]);
	l->rows[slot] = buf_steal(&b);
	l->total++;
	return 0;
}

void
portal_verified_free(struct portal_verified *pv)
{
	buf_free(&pv->text);
	pv->valid = 0;
}

/*
 * The verification shown on the audit-log page: pv's when the log's head
 * has not moved since and it is recent, else computed again into pv.
 * 0 or 1 as verify_text, -1 on a database error.
 */
static int
verified(struct store *st, struct portal_verified *pv, struct buf *out)
{
	char hash[65] = "";
	int64_t seq = 0, now = store_now(st);
	int rc;

	if (pv == NULL)
		return verify_text(st, out);
	if (store_audit_head(st, &seq, hash) < 0)
		return verify_text(st, out);
	if (!pv->valid || pv->seq != seq || strcmp(pv->hash, hash) != 0 ||
	    now - pv->at >= PORTAL_VERIFY_MAX_AGE || now < pv->at) {
		buf_reset(&pv->text);
		rc = verify_text(st, &pv->text);
		pv->computed++;
		if (rc < 0) {
			pv->valid = 0;
			buf_puts(out, buf_str(&pv->text));
			return -1;
		}
		pv->valid = 1;
		pv->seq = seq;
		memcpy(pv->hash, hash, sizeof(pv->hash));
		pv->at = now;
		pv->rc = rc;
	}
	buf_puts(out, buf_str(&pv->text));
	return pv->rc;
}

/*
 * Every download this page's readers may take: each register as CSV and
 * JSON (the mapping export takes arguments, so it is not one file), and
 * the audit pack.
 */
static void
downloads(struct buf *b)
{
	const char *name;
	size_t i;

	buf_puts(b,
		 "<h2 id=\"downloads\">Downloads</h2>\n<ul class=\"downloads\">"
		 "<li><a href=\"/export/audit-pack.tar.gz\">The audit "
		 "pack</a> (every register, the SoA versions, the audit "
		 "log, its verification and MANIFEST.sha256)</li>\n");
	for (i = 0; (name = export_name(i)) != NULL; i++) {
		if (strcmp(name, "mapping") == 0)
			continue;
		buf_puts(b, "<li>");
		portal_html(b, name);
		buf_printf(b,
			   ": <a href=\"/export/%s.csv\">CSV</a>, "
			   "<a href=\"/export/%s.json\">JSON</a></li>\n",
			   name, name);
	}
	buf_puts(b, "</ul>\n");
}

static int
audit_log_page(struct store *st, const struct config *cfg,
	       const struct portal_viewer *v, struct portal_verified *pv,
	       struct portal_answer *a)
{
	struct logrows *l = xcalloc(1, sizeof(*l));
	struct buf *b = &a->body, ver = {0};
	char err[256], hash[65], when[32];
	int64_t seq = 0;
	int i, rc = 0, vrc;

	vrc = verified(st, pv, &ver);
	if (store_audit_head(st, &seq, hash) < 0)
		hash[0] = '\0';
	page_start(b, cfg, v, PAGE_AUDIT_LOG, "Audit log");
	buf_printf(b, "<pre class=\"verify %s\" id=\"verify\">",
		   vrc == 0 ? "ok" : "bad");
	portal_html(b, buf_str(&ver));
	buf_puts(b, "</pre>\n");
	buf_free(&ver);
	if (pv != NULL && pv->valid) {
		time_iso(pv->at, when);
		buf_printf(b,
			   "<p class=\"verified\">Checked at %s, again when "
			   "the log grows (and every %d minutes).</p>\n",
			   when, PORTAL_VERIFY_MAX_AGE / 60);
	}
	if (seq > 0)
		buf_printf(b, "<p>Head: <code>%lld:%s</code></p>\n",
			   (long long)seq, hash);
	if (export_each(st, "audit-log", 0, log_row, l, err, sizeof(err)) < 0) {
		rc = -1;
		goto out;
	}
	buf_printf(b,
		   "<p>The newest %d of %d entries, newest first; the "
		   "whole log: <a href=\"/export/audit-log.csv\">CSV</a>, "
		   "<a href=\"/export/audit-log.json\">JSON</a>.</p>\n",
		   l->total < LOG_SHOWN ? l->total : LOG_SHOWN, l->total);
	buf_puts(b, "<table><thead><tr><th>seq</th><th>at</th><th>by</th>"
		    "<th>action</th><th>object</th><th>details</th></tr>"
		    "</thead><tbody>\n");
	for (i = 0; i < LOG_SHOWN && i < l->total; i++)
		buf_puts(b, l->rows[(l->total - 1 - i) % LOG_SHOWN]);
	buf_puts(b, "</tbody></table>\n");
	downloads(b);
	page_end(b);
out:
	for (i = 0; i < LOG_SHOWN; i++)
		free(l->rows[i]);
	free(l);
	return rc;
}

/* ---- downloads ---- */

static int
export_download(struct store *st, const struct portal_route *r,
		struct portal_answer *a)
{
	char *data = NULL, err[256];
	size_t len = 0;
	FILE *fp = open_memstream(&data, &len);
	int rc;

	if (fp == NULL)
		return -1;
	rc = export_write(st, r->export_name, r->export_format, fp, err,
			  sizeof(err));
	fclose(fp);
	if (rc < 0) {
		free(data);
		return -1;
	}
	a->status = 200;
	a->ctype = strcmp(r->export_format, "csv") == 0
		       ? "text/csv; charset=utf-8"
		       : "application/json";
	snprintf(a->disposition, sizeof(a->disposition),
		 "attachment; filename=\"%s.%s\"", r->export_name,
		 r->export_format);
	buf_reset(&a->body);
	buf_add(&a->body, data, len);
	free(data);
	return 0;
}

/* ---- pages made by chat commands, with their role rules ---- */

static int
command_page(struct store *st, const struct config *cfg,
	     const struct portal_viewer *v, enum portal_page cur,
	     const char *title, const char *text, const char *then_export,
	     struct portal_answer *a)
{
	struct isms_reply rp = {0};
	int rc = cmd_run_as(st, cfg, &v->me, text, &rp);

	/* a read-only command ends query-only mode: on again */
	store_query_only(st, 1);
	if (rc < 0 || rp.error) {
		int denied = strstr(buf_str(&rp.text), "not allowed") != NULL;

		portal_message_page(a, denied ? 403 : 404,
				    denied ? "Not for your role" : "Not found",
				    buf_str(&rp.text));
		reply_free(&rp);
		return 0;
	}
	page_start(&a->body, cfg, v, cur, title);
	buf_puts(&a->body, "<pre class=\"report\">");
	portal_html(&a->body, buf_str(&rp.text));
	buf_puts(&a->body, "</pre>\n");
	reply_free(&rp);
	if (then_export != NULL) {
		buf_puts(&a->body, "<h2>Findings</h2>\n");
		if (export_table(st, &a->body, v, then_export, 0, F_ALL, NULL,
				 NULL) < 0)
			return -1;
	}
	page_end(&a->body);
	return 0;
}

/* The audit pack as "ismsctl export audit-pack" makes it. */
static int
pack_download(struct store *st, struct portal_answer *a)
{
	char dir[] = "/tmp/isms-portal-pack-XXXXXX", path[64], err[256];
	struct buf ver = {0};
	FILE *fp;
	int n = -1, rc;

	err[0] = '\0';
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/audit-pack.tar.gz", dir);
	/*
	 * One snapshot, as ismsctl reads it: BEGIN is refused in query-only
	 * mode, which is back on before anything is read
	 */
	store_query_only(st, 0);
	rc = store_begin(st);
	store_query_only(st, 1);
	if (rc < 0)
		snprintf(err, sizeof(err), "%s", db_errmsg(st));
	else {
		if (verify_text(st, &ver) >= 0)
			n = pack_write(st, path, buf_str(&ver), 0, err,
				       sizeof(err));
		store_rollback(st);
	}
	buf_free(&ver);
	buf_reset(&a->body);
	if (n > 0 && (fp = fopen(path, "rb")) != NULL) {
		char chunk[16384];
		size_t got;

		while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			buf_add(&a->body, chunk, got);
		fclose(fp);
	} else {
		n = -1;
	}
	unlink(path);
	rmdir(dir);
	if (n < 0) {
		log_warnx("portal: the audit pack could not be made: %s", err);
		return -1;
	}
	a->status = 200;
	a->ctype = "application/gzip";
	snprintf(a->disposition, sizeof(a->disposition),
		 "attachment; filename=\"audit-pack.tar.gz\"");
	return 0;
}

/* ---- pages ---- */

static const struct {
	enum portal_page page;
	const char *title, *export;
	enum filter filter;
	const char *intro;
} lists[] = {
    {PAGE_RISKS, "Risks", "risks", F_OWNER,
     "The risk register: score = likelihood x impact."},
    {PAGE_ACTIONS, "Actions", "actions", F_OWNER,
     "Corrective and treatment actions."},
    {PAGE_DOCUMENTS, "Documents", "documents", F_ALL,
     "Policies and procedures, their version in force and "
     "acknowledgements (acknowledged / active staff)."},
    {PAGE_REVIEWS, "Management reviews", "reviews", F_ALL,
     "Management reviews (clause 9.3); the compiled inputs of one are "
     "shown in chat with review show MR-n."},
    {PAGE_SUPPLIERS, "Suppliers", "suppliers", F_ALL,
     "Suppliers (A.5.19-5.23)."},
    {PAGE_OBLIGATIONS, "Obligations", "obligations", F_ALL,
     "Legal, regulatory and contractual obligations (A.5.31, A.5.34)."},
};

static int
incidents_page(struct store *st, const struct config *cfg,
	       const struct portal_viewer *v, struct portal_answer *a)
{
	static const char *const cols[] = {
	    "id",	"title",	 "severity",	"status",
	    "category", "reporter",	 "handler",	"created",
	    "closed",	"personal_data", "significant", NULL};
	static const char *const counts[] = {
	    "id", "severity", "status", "category", "created", "closed", NULL};
	struct buf *b = &a->body;

	page_start(b, cfg, v, PAGE_INCIDENTS, "Incidents");
	if (has_role(&v->me, ROLE_ISMS_MANAGER | ROLE_AUDITOR)) {
		if (export_table(st, b, v, "incidents", 0, F_ALL, cols, NULL) <
		    0)
			return -1;
	} else {
		buf_puts(b, "<p>Incident details are shown to their reporter, "
			    "their handler, isms_managers and auditors.</p>\n"
			    "<h2>Yours</h2>\n");
		if (export_table(st, b, v, "incidents", 0, F_INCIDENT, cols,
				 NULL) < 0)
			return -1;
		if (v->scope == SCOPE_ALL) {
			/* management: every incident, without its details */
			buf_puts(b, "<h2>All (without details)</h2>\n");
			if (export_table(st, b, NULL, "incidents", 0, F_ALL,
					 counts, NULL) < 0)
				return -1;
		}
	}
	page_end(b);
	return 0;
}

int
portal_render(struct store *st, const struct config *cfg,
	      const struct portal_viewer *v, const struct portal_route *r,
	      struct portal_verified *pv, struct portal_answer *a)
{
	size_t i;
	int rc = 0;

	a->status = 200;
	a->ctype = "text/html; charset=utf-8";
	a->disposition[0] = '\0';
	a->org = cfg->org_name;
	buf_reset(&a->body);
	if (!portal_may_open(v, r->page)) {
		portal_message_page(a, 403, "Not for your role",
				    "This page is for auditors and "
				    "isms_managers (or for managers).");
		return 0;
	}
	switch (r->page) {
	case PAGE_DASHBOARD:
		rc = dashboard(st, cfg, v, a);
		break;
	case PAGE_SOA:
		rc = soa_page(st, cfg, v, r, a);
		break;
	case PAGE_RISK:
	case PAGE_INCIDENT:
		rc = record_page(st, cfg, v, r, a);
		break;
	case PAGE_INCIDENTS:
		rc = incidents_page(st, cfg, v, a);
		break;
	case PAGE_AUDIT_LOG:
		rc = audit_log_page(st, cfg, v, pv, a);
		break;
	case PAGE_EXPORT:
		rc = export_download(st, r, a);
		break;
	case PAGE_PACK:
		rc = pack_download(st, a);
		break;
	case PAGE_REPORT:
		rc = command_page(st, cfg, v, PAGE_REPORT, "Management report",
				  "report", NULL, a);
		break;
	case PAGE_AUDITS:
		rc = command_page(st, cfg, v, PAGE_AUDITS, "Audits",
				  "audit list", "findings", a);
		break;
	case PAGE_AUDIT:
	case PAGE_REVIEW: {
		char text[64], title[32];

		snprintf(title, sizeof(title), "%s-%lld",
			 r->page == PAGE_AUDIT ? "AUD" : "MR",
			 (long long)r->id);
		snprintf(text, sizeof(text), "%s show %s",
			 r->page == PAGE_AUDIT ? "audit" : "review", title);
		rc = command_page(st, cfg, v,
				  r->page == PAGE_AUDIT ? PAGE_AUDITS
							: PAGE_REVIEWS,
				  title, text, NULL, a);
		break;
	}
	default:
		for (i = 0; i < ARRAY_LEN(lists); i++)
			if (lists[i].page == r->page)
				break;
		if (i == ARRAY_LEN(lists)) {
			portal_message_page(a, 404, "Not found",
					    "There is no such page.");
			return 0;
		}
		page_start(&a->body, cfg, v, r->page, lists[i].title);
		buf_puts(&a->body, "<p>");
		portal_html(&a->body, lists[i].intro);
		buf_puts(&a->body, "</p>\n");
		rc = export_table(st, &a->body, v, lists[i].export, 0,
				  lists[i].filter, NULL, NULL) < 0
			 ? -1
			 : 0;
		page_end(&a->body);
	}
	if (rc < 0)
		portal_message_page(a, 500, "Error",
				    "The database could not be read; nothing "
				    "is shown. Please try again.");
	return rc;
}
