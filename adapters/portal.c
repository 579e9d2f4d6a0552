/*
 * The portal's server: the login by one-time link, the session cookie,
 * the security headers on every answer, and the dispatch to the pages
 * (portal_pages.c). Runs on the daemon's loop; pages are rendered with
 * the store query-only, and only login and logout write (their session
 * row and an audit row).
 */
#include "portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/log.h"
#include "../commands/portal.h"
#include "../config/config.h"
#include "../net/httpd.h"
#include "../store/portal.h"

#define COOKIE_NAME   "isms_session"
#define TOUCH_SECONDS 60 /* last_seen is written at most this often */

struct portal {
	struct host *host;
	struct httpd *httpd;
	char origin[512]; /* scheme://host[:port] of [portal] url */
	int https;	  /* [portal] url is https: cookies are Secure */
	struct portal_verified verified; /* the audit log page's */
	struct portal_refusals refusals; /* audited at most once a minute */
};

static const char *const security_headers[] = {
    "Content-Security-Policy: default-src 'none'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options: nosniff",
    "Cache-Control: no-store",
};

#define INVALID_TITLE "Link expired or invalid"
#define INVALID_TEXT                                                           \
	"This link or session has expired or is not valid. Ask for a new "     \
	"link: /isms portal in chat, or your ISMS team."

/* Answers with the security headers and up to two more lines. */
static void
respond(struct httpd_conn *c, struct portal_answer *a, const char *extra1,
	const char *extra2)
{
	const char *h[ARRAY_LEN(security_headers) + 5];
	char disp[192], ref[64];
	size_t n = 0, i;

	for (i = 0; i < ARRAY_LEN(security_headers); i++)
		h[n++] = security_headers[i];
	snprintf(ref, sizeof(ref), "Referrer-Policy: %s",
		 a->referrer ? a->referrer : "no-referrer");
	h[n++] = ref;
	if (a->disposition[0]) {
		snprintf(disp, sizeof(disp), "Content-Disposition: %s",
			 a->disposition);
		h[n++] = disp;
	}
	if (extra1 != NULL)
		h[n++] = extra1;
	if (extra2 != NULL)
		h[n++] = extra2;
	h[n] = NULL;
	httpd_respond_headers(c, a->status, a->ctype, h, a->body.data,
			      a->body.len);
}

static void
message(const struct portal *p, struct httpd_conn *c, int status,
	const char *title, const char *text, const char *extra1,
	const char *extra2)
{
	struct portal_answer a = {.org = p->host->cfg->org_name};

	portal_message_page(&a, status, title, text);
	respond(c, &a, extra1, extra2);
	buf_free(&a.body);
}

/* The database could not answer: 503, try again shortly. */
static void
busy(const struct portal *p, struct httpd_conn *c)
{
	message(p, c, 503, "Busy", store_error_reply(p->host->st),
		"Retry-After: 2", NULL);
}

/* The Set-Cookie line that ends the session cookie in the browser. */
static const char *
cookie_clear(char *out, size_t len, int https)
{
	snprintf(out, len,
		 "Set-Cookie: " COOKIE_NAME "=; Max-Age=0; Path=/; HttpOnly; "
		 "SameSite=Strict%s",
		 https ? "; Secure" : "");
	return out;
}

/* Secure when the portal is reached over TLS (a proxy on loopback says) */
static int
is_https(const struct portal *p, struct httpd_conn *c,
	 const struct httpd_request *r)
{
	const char *xfp = httpd_header(r, "X-Forwarded-Proto");

	if (p->https)
		return 1;
	return xfp != NULL && strcasecmp(xfp, "https") == 0 &&
	       httpd_peer_loopback(c);
}

/* The session cookie's value from the Cookie header, or NULL. */
static const char *
cookie_value(const struct httpd_request *r, char *out, size_t len)
{
	size_t i, nl = strlen(COOKIE_NAME);

	for (i = 0; i < r->nheaders; i++) {
		const char *v = r->headers[i].value;

		if (strcasecmp(r->headers[i].name, "Cookie") != 0)
			continue;
		while (*v) {
			const char *end;
			size_t n;

			while (*v == ' ' || *v == ';')
				v++;
			end = strchr(v, ';');
			n = end ? (size_t)(end - v) : strlen(v);
			if (n > nl &&
			    strncmp(v, COOKIE_NAME "=", nl + 1) == 0) {
				n -= nl + 1;
				if (n >= len)
					n = len - 1;
				memcpy(out, v + nl + 1, n);
				out[n] = '\0';
				return out;
			}
			v += n;
		}
	}
	return NULL;
}

/* An audit row of its own: 0 or -1. */
static int
audit_now(struct store *st, const char *actor, const char *action,
	  const char *object, const char *details)
{
	if (store_begin(st) < 0)
		return -1;
	if (store_audit(st, actor, action, object, details) < 0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
portal_refusal_due(struct portal_refusals *g, const char *what, int why,
		   int64_t person, int64_t now, unsigned *skipped)
{
	size_t i, k = 0;

	*skipped = 0;
	for (i = 0; i < PORTAL_REFUSAL_SLOTS; i++) {
		if (g->slot[i].what[0] == '\0' || g->slot[i].at < g->slot[k].at)
			k = i; /* a free one, else the oldest */
		if (g->slot[i].what[0] == '\0' ||
		    strcmp(g->slot[i].what, what) != 0 ||
		    g->slot[i].why != why || g->slot[i].person != person)
			continue;
		if (now >= g->slot[i].at &&
		    now - g->slot[i].at < PORTAL_REFUSAL_WINDOW) {
			g->slot[i].skipped++;
			return 0;
		}
		*skipped = g->slot[i].skipped;
		g->slot[i].skipped = 0;
		g->slot[i].at = now;
		return 1;
	}
	if (g->slot[k].what[0] && g->slot[k].skipped)
		log_info(
		    "portal: %u refused %s (%s) were not audited",
		    g->slot[k].skipped, g->slot[k].what,
		    portal_refusal_name((enum portal_refusal)g->slot[k].why));
	snprintf(g->slot[k].what, sizeof(g->slot[k].what), "%s", what);
	g->slot[k].why = why;
	g->slot[k].person = person;
	g->slot[k].at = now;
	g->slot[k].skipped = 0;
	return 1;
}

static void
refused(struct portal *p, struct httpd_conn *c, const char *what,
	enum portal_refusal why, int64_t person_id, int clear, int https)
{
	struct person who;
	char details[160], clear_cookie[128];
	unsigned skipped;

	if (portal_refusal_due(&p->refusals, what, (int)why, person_id,
			       store_now(p->host->st), &skipped)) {
		if (skipped)
			snprintf(details, sizeof(details),
				 "{\"what\":\"%s\",\"why\":\"%s\","
				 "\"unaudited\":%u}",
				 what, portal_refusal_name(why), skipped);
		else
			snprintf(details, sizeof(details),
				 "{\"what\":\"%s\",\"why\":\"%s\"}", what,
				 portal_refusal_name(why));
		if (audit_now(p->host->st,
			      person_id > 0 &&
				      store_person_by_id(p->host->st, person_id,
							 &who) == 1
				  ? who.handle
				  : "portal",
			      "portal.refused", what, details) < 0)
			log_warnx("portal: a refused %s could not be audited",
				  what);
	}
	message(p, c, 403, INVALID_TITLE, INVALID_TEXT,
		clear ? cookie_clear(clear_cookie, sizeof(clear_cookie), https)
		      : NULL,
		NULL);
}

/* the scheme://host[:port] that url starts with into out, or "" */
static void
url_origin(const char *url, char *out, size_t len)
{
	const char *rest = strstr(url, "://"), *end;

	out[0] = '\0';
	if (rest == NULL)
		return;
	end = strchr(rest + 3, '/');
	snprintf(out, len, "%.*s", end ? (int)(end - url) : (int)strlen(url),
		 url);
}

static int
origin_is(const char *origin, const char *expected, const char *host)
{
	const char *rest;

	if (origin == NULL || origin[0] == '\0')
		return 0;
	if (expected != NULL && strcmp(origin, expected) == 0)
		return 1;
	rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
	       : strncmp(origin, "https://", 8) == 0 ? origin + 8
						     : NULL;
	return rest != NULL && host != NULL && strcasecmp(rest, host) == 0;
}

int
portal_post_same_origin(const char *origin, const char *host,
			const char *hdr_origin, const char *referer,
			const char *fetch_site)
{
	char from[512];

	if (fetch_site != NULL && strcmp(fetch_site, "same-origin") != 0)
		return 0;
	if (hdr_origin != NULL && strcmp(hdr_origin, "null") != 0)
		return origin_is(hdr_origin, origin, host);
	if (referer == NULL)
		return 0;
	url_origin(referer, from, sizeof(from));
	return origin_is(from, origin, host);
}

/*
 * GET /l/TOKEN (or /login?t=): the sign-in page of a valid link, writing
 * nothing, so a link preview or a mail scanner does not use it up; an
 * invalid link gets the refusal page and an audit row.
 */
static void
signin_page(struct portal *p, struct httpd_conn *c,
	    const struct httpd_request *r, const struct portal_route *rt)
{
	struct store *st = p->host->st;
	struct portal_answer a = {.org = p->host->cfg->org_name};
	enum portal_refusal why;
	int64_t token_id, person_id, expires, now = store_now(st);
	struct person who;
	int rc;

	/* a HEAD says nothing of the link */
	if (strcmp(r->method, "HEAD") == 0) {
		message(p, c, 200, "Sign in", "Open this link in a browser.",
			NULL, NULL);
		return;
	}
	rc = portal_token_check(st, rt->token, now, &token_id, &person_id,
				&expires, &why);
	if (rc == 1 && store_person_by_id(st, person_id, &who) != 1)
		rc = -1;
	if (rc < 0) {
		busy(p, c);
		return;
	}
	if (rc == 0) {
		refused(p, c, "link", why, person_id, 0, is_https(p, c, r));
		return;
	}
	portal_signin_page(&a, &who, now, expires, rt->token);
	respond(c, &a, NULL, NULL);
	buf_free(&a.body);
}

/* POST /l/TOKEN from the sign-in page: uses the link, opens a session. */
static void
login(struct portal *p, struct httpd_conn *c, const struct httpd_request *r,
      const struct portal_route *rt)
{
	struct store *st = p->host->st;
	char secret[PORTAL_SECRET_LEN + 1], cookie[256], details[128];
	enum portal_refusal why;
	int64_t token_id, person_id, sid = -1, now = store_now(st);
	struct person who;
	int https = is_https(p, c, r), rc;

	/* the button of the portal's own sign-in page, not another site */
	if (!portal_post_same_origin(p->origin, httpd_header(r, "Host"),
				     httpd_header(r, "Origin"),
				     httpd_header(r, "Referer"),
				     httpd_header(r, "Sec-Fetch-Site"))) {
		log_warnx("portal: a sign-in from another origin was refused");
		message(p, c, 403, "Refused",
			"Signing in is only accepted from the portal's own "
			"sign-in page: open the link again.",
			NULL, NULL);
		return;
	}
	if (store_begin(st) < 0) {
		busy(p, c);
		return;
	}
	rc = portal_token_use(st, rt->token, now, &token_id, &person_id, &why);
	if (rc == 1 && store_person_by_id(st, person_id, &who) == 1)
		sid = portal_session_add(st, person_id, token_id, now, secret);
	if (sid > 0) {
		snprintf(details, sizeof(details),
			 "{\"session\":%lld,\"via\":\"portal\"}",
			 (long long)sid);
		if (store_audit(st, who.handle, "portal.login", who.handle,
				details) < 0)
			sid = -1;
	}
	if (rc == 1 && sid < 0) {
		store_rollback(st);
		busy(p, c);
		return;
	}
	if (store_commit(st) < 0) {
		store_rollback(st);
		busy(p, c);
		return;
	}
	if (rc != 1) {
		refused(p, c, "link", rc < 0 ? PORTAL_UNKNOWN : why, person_id,
			0, https);
		return;
	}
	log_info("portal: %s signed in (session %lld)", who.handle,
		 (long long)sid);
	snprintf(cookie, sizeof(cookie),
		 "Set-Cookie: " COOKIE_NAME "=%s; Max-Age=%d; Path=/; "
		 "HttpOnly; SameSite=Strict%s",
		 secret, PORTAL_SESSION_SECONDS, https ? "; Secure" : "");
	memset(secret, 0, sizeof(secret));
	{
		struct portal_answer a = {.status = 303,
					  .ctype = "text/plain; charset=utf-8"};

		buf_puts(&a.body, "Signed in; go to /\n");
		respond(c, &a, cookie, "Location: /");
		buf_free(&a.body);
	}
	memset(cookie, 0, sizeof(cookie));
}

/*
 * Signing out must come from the portal's own pages: the browser says so
 * (Sec-Fetch-Site: same-origin), or, for one that does not send it, its
 * Origin is the configured one or names the Host it was sent to. (With
 * Referrer-Policy: no-referrer, browsers send "Origin: null" on forms.)
 */
static int
same_origin(const struct portal *p, const struct httpd_request *r)
{
	const char *origin = httpd_header(r, "Origin");
	const char *site = httpd_header(r, "Sec-Fetch-Site");

	if (site != NULL)
		return strcmp(site, "same-origin") == 0;
	if (origin == NULL || strcmp(origin, "null") == 0)
		return 0;
	return origin_is(origin, p->origin, httpd_header(r, "Host"));
}

static void
on_http(void *arg, struct httpd_conn *c, const struct httpd_request *r)
{
	struct portal *p = arg;
	struct store *st = p->host->st;
	struct portal_route rt;
	struct portal_viewer v;
	struct portal_answer a = {0};
	struct person who;
	enum portal_refusal why;
	const char *bad, *cv;
	char cbuf[128];
	int64_t sid, person_id, last_seen, now;
	int rc, post = strcmp(r->method, "POST") == 0;
	int https = is_https(p, c, r);

	if (portal_route_parse(r->path, &rt, &bad) < 0) {
		char text[160];

		snprintf(text, sizeof(text), "Bad request: %s.", bad);
		message(p, c, 400, "Bad request", text, NULL, NULL);
		return;
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
	    !(post && (rt.page == PAGE_LOGOUT || rt.page == PAGE_LOGIN))) {
		message(p, c, 405, "Method not allowed",
			"The portal is read-only: it answers GET and HEAD "
			"(and POST to sign in and out).",
			rt.page == PAGE_LOGOUT	? "Allow: POST"
			: rt.page == PAGE_LOGIN ? "Allow: GET, HEAD, POST"
						: "Allow: GET, HEAD",
			NULL);
		return;
	}
	if (rt.page == PAGE_LOGOUT && !post) {
		message(p, c, 405, "Method not allowed",
			"Sign out with the button on any page.", "Allow: POST",
			NULL);
		return;
	}
	if (rt.page == PAGE_NONE) {
		message(p, c, 404, "Not found", "There is no such page.", NULL,
			NULL);
		return;
	}
	if (rt.page == PAGE_STYLE) {
		a.status = 200;
		a.ctype = "text/css; charset=utf-8";
		buf_puts(&a.body, portal_css());
		respond(c, &a, NULL, NULL);
		buf_free(&a.body);
		return;
	}
	if (rt.page == PAGE_LOGIN) {
		if (post)
			login(p, c, r, &rt);
		else
			signin_page(p, c, r, &rt);
		return;
	}
	if (post && !same_origin(p, r)) {
		message(p, c, 403, "Refused",
			"Signing out is only accepted from the portal's own "
			"pages.",
			NULL, NULL);
		return;
	}
	now = store_now(st);
	cv = cookie_value(r, cbuf, sizeof(cbuf));
	if (cv == NULL) {
		message(p, c, 403, "Sign in",
			"Sign in with a link: type /isms portal in chat, or "
			"ask your ISMS team for one.",
			NULL, NULL);
		return;
	}
	rc = portal_session_find(st, cv, now, &sid, &person_id, &last_seen,
				 &why);
	if (rc == 1 && store_person_by_id(st, person_id, &who) != 1)
		rc = -1;
	if (rc < 0) {
		busy(p, c);
		return;
	}
	if (rc == 0) {
		refused(p, c, "session", why, person_id, 1, https);
		return;
	}
	if (rt.page == PAGE_LOGOUT) {
		char details[64], clear[128];

		snprintf(details, sizeof(details), "{\"session\":%lld}",
			 (long long)sid);
		if (store_begin(st) < 0 ||
		    portal_session_revoke(st, sid, 0, now) < 0 ||
		    store_audit(st, who.handle, "portal.logout", who.handle,
				details) < 0 ||
		    store_commit(st) < 0) {
			store_rollback(st);
			busy(p, c);
			return;
		}
		message(
		    p, c, 200, "Signed out",
		    "You are signed out. A new link is needed to come back.",
		    cookie_clear(clear, sizeof(clear), https), NULL);
		return;
	}
	if (now - last_seen >= TOUCH_SECONDS) {
		if (store_begin(st) < 0 ||
		    portal_session_touch(st, sid, now) < 0 ||
		    store_commit(st) < 0)
			store_rollback(st); /* not worth refusing the page */
	}
	if (portal_viewer_load(st, &who, &v) < 0) {
		busy(p, c);
		return;
	}
	/* nothing a page does can write */
	store_query_only(st, 1);
	portal_render(st, p->host->cfg, &v, &rt, &p->verified, &a);
	store_query_only(st, 0);
	portal_viewer_free(&v);
	respond(c, &a, NULL, NULL);
	buf_free(&a.body);
}

int
portal_start(struct host *host, struct portal **out)
{
	const struct config *cfg = host->cfg;
	struct portal *p;
	char addr[256], base[512];
	int port;

	*out = NULL;
	if (!portal_enabled(cfg))
		return 0;
	if (config_parse_listen(cfg->portal_listen, addr, sizeof(addr), &port) <
	    0) {
		log_error("portal: bad listen address %s", cfg->portal_listen);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->host = host;
	portal_base_url(cfg, base, sizeof(base));
	p->https = strncmp(base, "https://", 8) == 0;
	url_origin(base, p->origin, sizeof(p->origin));
	p->httpd = httpd_new(host->loop, addr, port, on_http, p);
	if (p->httpd == NULL) {
		log_error("portal: cannot listen on %s", cfg->portal_listen);
		free(p);
		return -1;
	}
	if (cfg->portal_tls_cert != NULL && cfg->portal_tls_cert[0] != '\0') {
		char err[512];

		if (httpd_set_tls(p->httpd, cfg->portal_tls_cert,
				  cfg->portal_tls_key, err, sizeof(err)) != 0) {
			log_error("portal: TLS: %s", err);
			httpd_free(p->httpd);
			free(p);
			return -1;
		}
		p->https = 1; /* cookies are Secure */
	}
	/* only the sign-in and sign-out POSTs have a body */
	adapter_http_limits(p->httpd, cfg, 1024 * 1024);
	log_info("portal: listening on %s%s%s%s:%d (links to %s)",
		 httpd_is_tls(p->httpd) ? "https " : "",
		 strchr(addr, ':') ? "[" : "", addr,
		 strchr(addr, ':') ? "]" : "", httpd_port(p->httpd), base);
	*out = p;
	return 0;
}

void
portal_free(struct portal *p)
{
	if (p == NULL)
		return;
	httpd_free(p->httpd);
	portal_verified_free(&p->verified);
	free(p);
}
