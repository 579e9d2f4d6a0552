/*
 * The web portal: HTML escaping, URL and query parsing, who sees what,
 * link tokens (hash only, single use, expiry, leavers) and sessions
 * (revocation, expiry), the response header check, and the pages
 * rendered read-only.
 */
#include <sys/stat.h>

#include "testutil.h"

#include "../../adapters/portal.h"
#include "../../commands/portal.h"
#include "../../net/httpd.h"
#include "../../store/portal.h"

static void
test_escape(void **state)
{
	struct buf b = {0};

	(void)state;
	portal_html(&b, "<script>alert('x') & \"y\"</script>");
	assert_string_equal(buf_str(&b),
			    "&lt;script&gt;alert(&#39;x&#39;) &amp; "
			    "&quot;y&quot;&lt;/script&gt;");
	buf_reset(&b);
	/* control and bidi characters are shown escaped, never passed */
	portal_html(&b, "a\x1b[31mb\xe2\x80\xae");
	assert_null(strchr(buf_str(&b), '\x1b'));
	assert_null(strstr(buf_str(&b), "\xe2\x80\xae"));
	buf_reset(&b);
	portal_html(&b, NULL);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void
test_routes(void **state)
{
	struct portal_route r;
	const char *why;

	(void)state;
	assert_int_equal(portal_route_parse("/", &r, &why), 0);
	assert_int_equal(r.page, PAGE_DASHBOARD);
	assert_int_equal(portal_route_parse("/risks/RSK-12", &r, &why), 0);
	assert_int_equal(r.page, PAGE_RISK);
	assert_int_equal(r.id, 12);
	assert_int_equal(portal_route_parse("/incidents/inc-3", &r, &why), 0);
	assert_int_equal(r.page, PAGE_INCIDENT);
	assert_int_equal(r.id, 3);
	/* not an id: unknown pages, never a guess */
	assert_int_equal(portal_route_parse("/risks/RSK-0", &r, &why), 0);
	assert_int_equal(r.page, PAGE_NONE);
	assert_int_equal(portal_route_parse("/risks/RSK-1x", &r, &why), 0);
	assert_int_equal(r.page, PAGE_NONE);
	assert_int_equal(portal_route_parse("/risks/RSK-1234567890", &r, &why),
			 0);
	assert_int_equal(r.page, PAGE_NONE);
	assert_int_equal(portal_route_parse("/../etc/passwd", &r, &why), 0);
	assert_int_equal(r.page, PAGE_NONE);
	assert_int_equal(portal_route_parse("risks", &r, &why), 0);
	assert_int_equal(r.page, PAGE_NONE);
	assert_int_equal(portal_route_parse("/soa?theme=people&applicable=no"
					    "&status=partial&version=2",
					    &r, &why),
			 0);
	assert_int_equal(r.page, PAGE_SOA);
	assert_string_equal(r.theme, "people");
	assert_string_equal(r.applicable, "no");
	assert_string_equal(r.status, "partial");
	assert_int_equal(r.version, 2);
	/* empty values mean "any"; %-encoding is decoded */
	assert_int_equal(
	    portal_route_parse("/soa?theme=&status=not%5Fstarted", &r, &why),
	    0);
	assert_string_equal(r.theme, "");
	assert_string_equal(r.status, "not_started");
	/* bad input: 400 with a reason */
	assert_int_equal(portal_route_parse("/soa?theme=evil", &r, &why), -1);
	assert_int_equal(portal_route_parse("/soa?x=1", &r, &why), -1);
	assert_int_equal(portal_route_parse("/soa?version=0", &r, &why), -1);
	assert_int_equal(portal_route_parse("/soa?version=1;2", &r, &why), -1);
	assert_int_equal(
	    portal_route_parse("/soa?theme=people&theme=people", &r, &why), -1);
	assert_int_equal(portal_route_parse("/soa?theme", &r, &why), -1);
	assert_int_equal(portal_route_parse("/soa?theme=%zz", &r, &why), -1);
	assert_int_equal(portal_route_parse("/soa?theme=%00", &r, &why), -1);
	assert_int_equal(portal_route_parse("/risks?a=b", &r, &why), -1);
	/* tokens */
	assert_int_equal(portal_route_parse("/l/abc", &r, &why), 0);
	assert_int_equal(r.page, PAGE_LOGIN);
	assert_string_equal(r.token, "abc");
	assert_int_equal(portal_route_parse("/login?t=xyz", &r, &why), 0);
	assert_int_equal(r.page, PAGE_LOGIN);
	assert_string_equal(r.token, "xyz");
	assert_int_equal(
	    portal_route_parse("/login?t=012345678901234567890123456789012345"
			       "67890123456789",
			       &r, &why),
	    0);
	assert_string_equal(r.token, "-");
	/* downloads */
	assert_int_equal(portal_route_parse("/export/risks.csv", &r, &why), 0);
	assert_int_equal(r.page, PAGE_EXPORT);
	assert_string_equal(r.export_name, "risks");
	assert_string_equal(r.export_format, "csv");
	assert_int_equal(portal_route_parse("/export/soa.json", &r, &why), 0);
	assert_int_equal(r.page, PAGE_EXPORT);
	assert_int_equal(portal_route_parse("/export/risks.exe", &r, &why), 0);
	assert_int_equal(r.page, PAGE_NONE);
	assert_int_equal(portal_route_parse("/export/nope.csv", &r, &why), 0);
	assert_int_equal(r.page, PAGE_NONE);
	assert_int_equal(portal_route_parse("/export/mapping.csv", &r, &why),
			 0);
	assert_int_equal(r.page, PAGE_NONE);
}

static void
viewer(struct tenv *t, const char *handle, struct portal_viewer *v)
{
	struct person p;

	assert_int_equal(store_person_find(t->st, "handle", handle, &p), 1);
	assert_int_equal(portal_viewer_load(t->st, &p, v), 0);
}

static void
test_roles(void **state)
{
	struct tenv *t = tenv_new();
	struct portal_viewer v;

	(void)state;
	viewer(t, "grace", &v); /* auditor: everything */
	assert_int_equal(v.scope, SCOPE_ALL);
	assert_true(portal_sees_person(&v, "frank"));
	assert_true(portal_sees_incident(&v, "alice", ""));
	assert_true(portal_may_open(&v, PAGE_AUDIT_LOG));
	assert_true(portal_may_open(&v, PAGE_EXPORT));
	portal_viewer_free(&v);
	viewer(t, "bob", &v); /* manager: his team */
	assert_int_equal(v.scope, SCOPE_TEAM);
	assert_true(portal_sees_person(&v, "alice"));
	assert_true(portal_sees_person(&v, "bob"));
	assert_false(portal_sees_person(&v, "carol"));
	/* incidents follow the chat rule: not his team's */
	assert_false(portal_sees_incident(&v, "alice", ""));
	assert_true(portal_sees_incident(&v, "alice", "bob"));
	assert_false(portal_may_open(&v, PAGE_AUDIT_LOG));
	assert_true(portal_may_open(&v, PAGE_SUPPLIERS));
	portal_viewer_free(&v);
	viewer(t, "alice", &v); /* staff: her own */
	assert_int_equal(v.scope, SCOPE_OWN);
	assert_true(portal_sees_person(&v, "alice"));
	assert_false(portal_sees_person(&v, "frank"));
	assert_false(portal_sees_person(&v, ""));
	assert_true(portal_sees_incident(&v, "alice", ""));
	assert_false(portal_sees_incident(&v, "frank", "carol"));
	assert_false(portal_may_open(&v, PAGE_EXPORT));
	assert_false(portal_may_open(&v, PAGE_REVIEWS));
	assert_true(portal_may_open(&v, PAGE_SOA));
	portal_viewer_free(&v);
	tenv_free(t);
}

static int64_t
person_id(struct tenv *t, const char *handle)
{
	struct person p;

	assert_int_equal(store_person_find(t->st, "handle", handle, &p), 1);
	return p.id;
}

static void
test_tokens(void **state)
{
	struct tenv *t = tenv_new();
	char secret[PORTAL_SECRET_LEN + 1], other[PORTAL_SECRET_LEN + 1];
	char hash[65], *stored;
	enum portal_refusal why;
	int64_t tid, pid, alice = person_id(t, "alice");
	unsigned char zero[32] = {0};
	char b64[48];

	(void)state;
	portal_b64url(zero, 32, b64);
	assert_string_equal(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_true(portal_secret_wellformed(b64));
	assert_false(portal_secret_wellformed("AAAA"));
	assert_false(portal_secret_wellformed(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")); /* padding bits */
	assert_false(portal_secret_wellformed(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A"));
	assert_int_equal(store_begin(t->st), 0);
	assert_true(portal_token_add(t->st, alice, "test", test_clock,
				     test_clock + 900, secret) > 0);
	assert_true(portal_token_add(t->st, alice, "test", test_clock,
				     test_clock + 900, other) > 0);
	assert_int_equal(store_commit(t->st), 0);
	assert_true(portal_secret_wellformed(secret));
	assert_string_not_equal(secret, other);
	/* only the hash is stored */
	portal_secret_hash(secret, hash);
	stored =
	    db_text(t->st, "SELECT hash FROM portal_tokens WHERE id = 1", NULL);
	assert_string_equal(stored, hash);
	free(stored);
	{
		int64_t n = -1;

		assert_int_equal(db_int(t->st, &n,
					"SELECT COUNT(*) FROM portal_tokens "
					"WHERE instr(hash, ?) > 0",
					"t", secret),
				 1);
		assert_int_equal(n, 0);
	}
	/* tampered: one character changed */
	{
		char bad[PORTAL_SECRET_LEN + 1];

		memcpy(bad, secret, sizeof(bad));
		bad[5] = bad[5] == 'A' ? 'B' : 'A';
		assert_int_equal(
		    portal_token_use(t->st, bad, test_clock, &tid, &pid, &why),
		    0);
		assert_int_equal(why, PORTAL_UNKNOWN);
	}
	assert_int_equal(
	    portal_token_use(t->st, "short", test_clock, &tid, &pid, &why), 0);
	assert_int_equal(why, PORTAL_MALFORMED);
	/* looking at a link (its sign-in page) does not use it */
	{
		int64_t until = 0;

		assert_int_equal(portal_token_check(t->st, secret, test_clock,
						    &tid, &pid, &until, &why),
				 1);
		assert_int_equal(pid, alice);
		assert_int_equal(until, test_clock + 900);
		assert_int_equal(portal_token_check(t->st, secret, test_clock,
						    &tid, &pid, &until, &why),
				 1);
		assert_int_equal(count(t, "SELECT COUNT(*) FROM portal_tokens "
					  "WHERE used_at IS NOT NULL"),
				 0);
		assert_int_equal(portal_token_check(t->st, "short", test_clock,
						    &tid, &pid, &until, &why),
				 0);
		assert_int_equal(why, PORTAL_MALFORMED);
		assert_int_equal(portal_token_check(t->st, other,
						    test_clock + 900, &tid,
						    &pid, &until, &why),
				 0);
		assert_int_equal(why, PORTAL_EXPIRED);
	}
	/* used once, then refused as replayed */
	assert_int_equal(
	    portal_token_use(t->st, secret, test_clock + 10, &tid, &pid, &why),
	    1);
	assert_int_equal(pid, alice);
	assert_int_equal(
	    portal_token_use(t->st, secret, test_clock + 11, &tid, &pid, &why),
	    0);
	assert_int_equal(why, PORTAL_USED);
	{
		int64_t until;

		assert_int_equal(portal_token_check(t->st, secret,
						    test_clock + 12, &tid, &pid,
						    &until, &why),
				 0);
		assert_int_equal(why, PORTAL_USED);
		assert_int_equal(pid, alice);
	}
	/* expired */
	assert_int_equal(
	    portal_token_use(t->st, other, test_clock + 900, &tid, &pid, &why),
	    0);
	assert_int_equal(why, PORTAL_EXPIRED);
	/* a leaver's link opens nothing */
	assert_int_equal(store_begin(t->st), 0);
	assert_true(portal_token_add(t->st, alice, "test", test_clock,
				     test_clock + 900, other) > 0);
	assert_int_equal(store_commit(t->st), 0);
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET active = 0 WHERE id = ?",
				 "i", alice),
			 1);
	assert_int_equal(
	    portal_token_use(t->st, other, test_clock, &tid, &pid, &why), 0);
	assert_int_equal(why, PORTAL_LEAVER);
	tenv_free(t);
}

static void
test_sessions(void **state)
{
	struct tenv *t = tenv_new();
	char s1[PORTAL_SECRET_LEN + 1], s2[PORTAL_SECRET_LEN + 1];
	enum portal_refusal why;
	int64_t sid, pid, seen, bob = person_id(t, "bob");

	(void)state;
	assert_true(portal_session_add(t->st, bob, 0, test_clock, s1) > 0);
	assert_true(portal_session_add(t->st, bob, 0, test_clock, s2) > 0);
	assert_int_equal(portal_session_find(t->st, s1, test_clock + 5, &sid,
					     &pid, &seen, &why),
			 1);
	assert_int_equal(pid, bob);
	assert_int_equal(portal_session_touch(t->st, sid, test_clock + 100), 0);
	assert_int_equal(portal_session_find(t->st, s1, test_clock + 101, &sid,
					     &pid, &seen, &why),
			 1);
	assert_int_equal(seen, test_clock + 100);
	/* 8 hours */
	assert_int_equal(
	    portal_session_find(t->st, s1, test_clock + PORTAL_SESSION_SECONDS,
				&sid, &pid, &seen, &why),
	    0);
	assert_int_equal(why, PORTAL_EXPIRED);
	/* revoked one by one */
	assert_int_equal(portal_session_revoke(t->st, sid, 0, test_clock + 1),
			 1);
	assert_int_equal(portal_session_find(t->st, s1, test_clock + 2, &sid,
					     &pid, &seen, &why),
			 0);
	assert_int_equal(why, PORTAL_REVOKED);
	assert_int_equal(portal_session_find(t->st, s2, test_clock + 2, &sid,
					     &pid, &seen, &why),
			 1);
	/* a leaver's sessions stop working */
	assert_int_equal(db_exec(t->st,
				 "UPDATE people SET active = 0 WHERE id = ?",
				 "i", bob),
			 1);
	assert_int_equal(portal_session_find(t->st, s2, test_clock + 3, &sid,
					     &pid, &seen, &why),
			 0);
	assert_int_equal(why, PORTAL_LEAVER);
	/* all at once */
	assert_int_equal(portal_session_revoke(t->st, 0, 0, test_clock + 4), 1);
	assert_int_equal(portal_session_revoke(t->st, 0, 0, test_clock + 5), 0);
	tenv_free(t);
}

static void
test_links(void **state)
{
	struct tenv *t = tenv_new();
	struct person p;
	char url[768], err[160];
	const char *out;
	int ok;

	(void)state;
	/* off by default */
	out = as(t, "alice", "portal", &ok);
	assert_false(ok);
	assert_non_null(strstr(out, "not enabled"));
	free(t->cfg.portal_listen);
	t->cfg.portal_listen = xstrdup("127.0.0.1:8080");
	out = as(t, "alice", "portal", &ok);
	assert_true(ok);
	assert_non_null(strstr(out, "http://127.0.0.1:8080/l/"));
	assert_int_equal(count(t, "SELECT COUNT(*) FROM audit_log WHERE "
				  "action = 'portal.link'"),
			 1);
	free(t->cfg.portal_url);
	t->cfg.portal_url = xstrdup("https://isms.example.org/");
	assert_int_equal(store_person_find(t->st, "handle", "grace", &p), 1);
	assert_int_equal(store_begin(t->st), 0);
	assert_int_equal(portal_link_make(t->st, &t->cfg, "ismsctl", "ismsctl",
					  &p, test_clock, 8 * 3600, url,
					  sizeof(url), err, sizeof(err)),
			 0);
	assert_int_equal(strncmp(url, "https://isms.example.org/l/", 27), 0);
	assert_int_equal(strlen(url), 27 + PORTAL_SECRET_LEN);
	/* at most 24 hours */
	assert_int_equal(portal_link_make(t->st, &t->cfg, "ismsctl", "ismsctl",
					  &p, test_clock, 25 * 3600, url,
					  sizeof(url), err, sizeof(err)),
			 -1);
	p.active = 0;
	assert_int_equal(portal_link_make(t->st, &t->cfg, "ismsctl", "ismsctl",
					  &p, test_clock, 3600, url,
					  sizeof(url), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "has left"));
	assert_int_equal(store_commit(t->st), 0);
	tenv_free(t);
}

static void
test_header_lines(void **state)
{
	(void)state;
	assert_true(httpd_header_line_valid("X-Content-Type-Options: nosniff"));
	assert_true(httpd_header_line_valid("Set-Cookie: a=b; Path=/"));
	assert_false(httpd_header_line_valid("Set-Cookie: a\r\nX-Evil: 1"));
	assert_false(httpd_header_line_valid("Set-Cookie: a\nb"));
	assert_false(httpd_header_line_valid("No colon"));
	assert_false(httpd_header_line_valid(": empty name"));
	assert_false(httpd_header_line_valid("Bad Name: x"));
	assert_false(httpd_header_line_valid(NULL));
}

/* Renders a page as handle; the answer's status and body. */
static int
render(struct tenv *t, const char *handle, const char *target,
       struct portal_answer *a)
{
	struct portal_route r;
	struct portal_viewer v;
	const char *why;
	int64_t before = count(t, "SELECT total_changes()");

	viewer(t, handle, &v);
	assert_int_equal(portal_route_parse(target, &r, &why), 0);
	assert_int_equal(store_query_only(t->st, 1), 0);
	portal_render(t->st, &t->cfg, &v, &r, NULL, a);
	assert_int_equal(store_query_only(t->st, 0), 0);
	portal_viewer_free(&v);
	/* nothing a page does writes */
	assert_int_equal(count(t, "SELECT total_changes()"), before);
	return a->status;
}

static void
test_pages(void **state)
{
	struct tenv *t = tenv_new();
	struct portal_answer a = {0};
	int ok;

	(void)state;
	as(t, "alice", "incident report <b>Phish</b> & co severity=high", &ok);
	assert_true(ok);
	as(t, "frank", "incident report Frank's laptop stolen", &ok);
	assert_true(ok);
	as(t, "bob", "risk add Laptop <theft> likelihood=3 impact=4", &ok);
	assert_true(ok);
	/* escaped everywhere */
	assert_int_equal(render(t, "carol", "/incidents", &a), 200);
	assert_non_null(strstr(buf_str(&a.body), "&lt;b&gt;Phish&lt;/b&gt;"));
	assert_null(strstr(buf_str(&a.body), "<b>Phish"));
	assert_int_equal(render(t, "carol", "/risks/RSK-1", &a), 200);
	assert_non_null(strstr(buf_str(&a.body), "Laptop &lt;theft&gt;"));
	assert_non_null(strstr(buf_str(&a.body), "risk.add"));
	/* staff: their own incident, not another's, the same 404 as none */
	assert_int_equal(render(t, "alice", "/incidents/INC-1", &a), 200);
	assert_int_equal(render(t, "alice", "/incidents/INC-2", &a), 404);
	assert_non_null(strstr(buf_str(&a.body), "no such incident"));
	assert_int_equal(render(t, "alice", "/incidents/INC-99", &a), 404);
	assert_int_equal(render(t, "alice", "/incidents", &a), 200);
	assert_null(strstr(buf_str(&a.body), "laptop stolen"));
	/* a manager sees his team's risks, not incidents of his team */
	assert_int_equal(render(t, "bob", "/incidents/INC-1", &a), 404);
	assert_int_equal(render(t, "bob", "/risks/RSK-1", &a), 200);
	assert_int_equal(render(t, "alice", "/risks/RSK-1", &a), 404);
	/* roles */
	assert_int_equal(render(t, "alice", "/audit-log", &a), 403);
	assert_int_equal(render(t, "grace", "/audit-log", &a), 200);
	assert_non_null(strstr(buf_str(&a.body), "hash chain verified"));
	/* the downloads are linked from the page their readers open */
	assert_non_null(
	    strstr(buf_str(&a.body), "href=\"/export/audit-pack.tar.gz\""));
	assert_non_null(strstr(buf_str(&a.body), "href=\"/export/risks.csv\""));
	assert_null(strstr(buf_str(&a.body), "/export/mapping."));
	assert_int_equal(render(t, "alice", "/export/risks.csv", &a), 403);
	assert_int_equal(render(t, "grace", "/export/risks.csv", &a), 200);
	assert_string_equal(a.ctype, "text/csv; charset=utf-8");
	assert_non_null(strstr(a.disposition, "risks.csv"));
	/* the SoA with filters; a version that does not exist */
	assert_int_equal(render(t, "alice", "/soa?theme=people", &a), 200);
	assert_non_null(strstr(buf_str(&a.body), "id=\"soa-count\">8<"));
	assert_int_equal(render(t, "alice", "/soa?version=7", &a), 404);
	/* the dashboard's heat map counts the risk at 3 x 4 */
	assert_int_equal(render(t, "grace", "/", &a), 200);
	assert_non_null(strstr(buf_str(&a.body), "<svg"));
	assert_non_null(strstr(buf_str(&a.body), "id=\"inc-high\">1<"));
	assert_int_equal(render(t, "grace", "/nope", &a), 404);
	/* pages made by chat commands keep their role rules */
	assert_int_equal(render(t, "carol", "/report", &a), 200);
	assert_int_equal(render(t, "alice", "/report", &a), 403);
	assert_int_equal(render(t, "bob", "/audits", &a), 200);
	assert_int_equal(render(t, "bob", "/reviews/MR-9", &a), 404);
	assert_non_null(strstr(buf_str(&a.body), "MR-9"));
	/* the audit pack, read-only too */
	assert_int_equal(render(t, "alice", "/export/audit-pack.tar.gz", &a),
			 403);
	assert_int_equal(render(t, "grace", "/export/audit-pack.tar.gz", &a),
			 200);
	assert_string_equal(a.ctype, "application/gzip");
	assert_true(a.body.len > 100 && (unsigned char)a.body.data[0] == 0x1f &&
		    (unsigned char)a.body.data[1] == 0x8b);
	assert_int_equal(store_tx_depth(t->st), 0);
	buf_free(&a.body);
	tenv_free(t);
}

static void
test_signin_page(void **state)
{
	struct portal_answer a = {.org = "Acme <Ltd>"};
	struct person p = {0};
	const char *b;

	(void)state;
	snprintf(p.handle, sizeof(p.handle), "grace");
	snprintf(p.name, sizeof(p.name), "Grace <i>H</i>");
	/* 2026-11-18T11:06:40Z; valid 15 minutes */
	portal_signin_page(&a, &p, test_clock, test_clock + 900,
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	b = buf_str(&a.body);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.referrer, "same-origin");
	assert_non_null(strstr(b, "Sign in to the Acme &lt;Ltd&gt; ISMS "
				  "portal as <strong id=\"signin-as\">@grace"
				  "</strong> (Grace &lt;i&gt;H&lt;/i&gt;)"));
	assert_non_null(strstr(b, "valid until <span id=\"signin-until\">"
				  "11:21 UTC</span>"));
	/* one button posting back to the link; nothing runs */
	assert_non_null(strstr(b, "<form method=\"post\" action=\"/l/"
				  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				  "\""));
	assert_null(strstr(b, "<script"));
	assert_null(strstr(b, "<i>"));
	/* a link of ismsctl valid past today says the day */
	portal_signin_page(&a, &p, test_clock, test_clock + 20 * 3600, "x");
	assert_non_null(strstr(buf_str(&a.body), "2026-11-19 07:06 UTC"));
	buf_free(&a.body);
}

static void
test_post_origin(void **state)
{
	const char *portal = "https://isms.example.org";

	(void)state;
	/* Chromium on the sign-in page (Referrer-Policy: same-origin) */
	assert_true(portal_post_same_origin(
	    portal, "127.0.0.1:8080", "https://isms.example.org",
	    "https://isms.example.org/l/abc", "same-origin"));
	/* the Host it was sent to (the portal reached by another name) */
	assert_true(portal_post_same_origin(
	    portal, "127.0.0.1:8080", "http://127.0.0.1:8080", NULL, NULL));
	/* no Origin (or "null"): the Referer's origin decides */
	assert_true(portal_post_same_origin(
	    portal, "x", NULL, "https://isms.example.org/l/abc", NULL));
	assert_true(portal_post_same_origin(portal, "x", "null",
					    "https://isms.example.org", NULL));
	/* another site, or nothing to tell: refused */
	assert_false(portal_post_same_origin(
	    portal, "isms.example.org", "https://evil.example", NULL, NULL));
	assert_false(portal_post_same_origin(
	    portal, "isms.example.org", "https://evil.example",
	    "https://isms.example.org/l/abc", NULL));
	assert_false(portal_post_same_origin(portal, "isms.example.org", NULL,
					     NULL, NULL));
	assert_false(portal_post_same_origin(portal, "isms.example.org", "null",
					     NULL, "same-origin"));
	assert_false(portal_post_same_origin(
	    portal, "isms.example.org", NULL,
	    "https://isms.example.org.evil.example/l/abc", NULL));
	assert_false(portal_post_same_origin(portal, "isms.example.org",
					     "https://isms.example.org", NULL,
					     "cross-site"));
	assert_false(portal_post_same_origin(
	    portal, NULL, "https://isms.example.org:444", NULL, NULL));
}

static void
test_refusal_rows(void **state)
{
	struct portal_refusals *g = calloc(1, sizeof(*g));
	unsigned skipped = 99;
	int64_t now = test_clock, i;

	(void)state;
	assert_non_null(g);
	/* the first of a kind is audited, the same again within a minute not */
	assert_true(
	    portal_refusal_due(g, "link", PORTAL_UNKNOWN, 0, now, &skipped));
	assert_int_equal(skipped, 0);
	for (i = 1; i <= 5; i++)
		assert_false(portal_refusal_due(g, "link", PORTAL_UNKNOWN, 0,
						now + i, &skipped));
	/* another kind, or another person, is a row of its own */
	assert_true(
	    portal_refusal_due(g, "link", PORTAL_USED, 7, now + 6, &skipped));
	assert_true(
	    portal_refusal_due(g, "link", PORTAL_USED, 8, now + 6, &skipped));
	assert_true(portal_refusal_due(g, "session", PORTAL_UNKNOWN, 0, now + 6,
				       &skipped));
	/* a minute on: audited again, saying how many were not */
	assert_false(portal_refusal_due(g, "link", PORTAL_UNKNOWN, 0,
					now + PORTAL_REFUSAL_WINDOW - 1,
					&skipped));
	assert_true(portal_refusal_due(g, "link", PORTAL_UNKNOWN, 0,
				       now + PORTAL_REFUSAL_WINDOW, &skipped));
	assert_int_equal(skipped, 6);
	assert_false(portal_refusal_due(g, "link", PORTAL_UNKNOWN, 0,
					now + PORTAL_REFUSAL_WINDOW + 1,
					&skipped));
	/* many people: the table forgets its oldest, never refuses a row */
	for (i = 0; i < 3 * PORTAL_REFUSAL_SLOTS; i++)
		assert_true(portal_refusal_due(g, "link", PORTAL_EXPIRED,
					       100 + i, now + 100 + i,
					       &skipped));
	free(g);
}

/* Renders the audit-log page as grace with the cache pv. */
static const char *
audit_page(struct tenv *t, struct portal_verified *pv, struct portal_answer *a)
{
	struct portal_route r;
	struct portal_viewer v;
	const char *why;

	viewer(t, "grace", &v);
	assert_int_equal(portal_route_parse("/audit-log", &r, &why), 0);
	assert_int_equal(store_query_only(t->st, 1), 0);
	assert_int_equal(portal_render(t->st, &t->cfg, &v, &r, pv, a), 0);
	assert_int_equal(store_query_only(t->st, 0), 0);
	portal_viewer_free(&v);
	assert_int_equal(a->status, 200);
	return buf_str(&a->body);
}

static void
test_verify_cache(void **state)
{
	struct tenv *t = tenv_new();
	struct portal_verified pv = {0};
	struct portal_answer a = {0};
	int64_t clock = test_clock;
	int ok;

	(void)state;
	as(t, "alice", "incident report Phish", &ok);
	assert_true(ok);
	assert_non_null(strstr(audit_page(t, &pv, &a), "hash chain verified"));
	assert_int_equal(pv.computed, 1);
	/* the head has not moved: the result is reused */
	assert_non_null(strstr(audit_page(t, &pv, &a), "hash chain verified"));
	assert_int_equal(pv.computed, 1);
	/* a new audit row moves the head: verified again, and it counts it */
	as(t, "bob", "risk add Laptop theft likelihood=3 impact=4", &ok);
	assert_true(ok);
	assert_non_null(strstr(audit_page(t, &pv, &a), "hash chain verified"));
	assert_int_equal(pv.computed, 2);
	assert_int_equal(pv.seq, count(t, "SELECT MAX(seq) FROM audit_log"));
	/* a row altered: shown once the head moves */
	assert_int_equal(db_exec(t->st,
				 "UPDATE audit_log SET actor = 'mallory' "
				 "WHERE seq = 1",
				 NULL),
			 1);
	audit_page(t, &pv, &a);
	assert_int_equal(pv.computed, 2);
	as(t, "alice", "incident report Another", &ok);
	assert_true(ok);
	assert_non_null(strstr(audit_page(t, &pv, &a), "BROKEN at sequence 1"));
	assert_int_equal(pv.computed, 3);
	assert_int_equal(pv.rc, 1);
	/* and at least every PORTAL_VERIFY_MAX_AGE seconds */
	test_clock += PORTAL_VERIFY_MAX_AGE;
	audit_page(t, &pv, &a);
	assert_int_equal(pv.computed, 4);
	test_clock = clock;
	/* without a cache every page verifies */
	assert_non_null(strstr(audit_page(t, NULL, &a), "BROKEN"));
	portal_verified_free(&pv);
	buf_free(&a.body);
	tenv_free(t);
}

static void
test_soa_versions(void **state)
{
	struct tenv *t = tenv_new();
	struct portal_answer a = {0};
	int ok;

	(void)state;
	assert_int_equal(render(t, "alice", "/soa", &a), 200);
	assert_null(strstr(buf_str(&a.body), "soa-versions"));
	as(t, "dana", "soa approve First <b>SoA</b>", &ok);
	assert_true(ok);
	as(t, "carol", "control set 8.7 status=implemented", &ok);
	assert_true(ok);
	as(t, "dana", "soa approve Second", &ok);
	assert_true(ok);
	assert_int_equal(render(t, "alice", "/soa", &a), 200);
	assert_non_null(strstr(buf_str(&a.body), "id=\"soa-versions\""));
	assert_non_null(strstr(buf_str(&a.body),
			       "<a href=\"/soa?version=2\">v2</a> approved"));
	assert_non_null(strstr(buf_str(&a.body),
			       "<a href=\"/soa?version=1\">v1</a> approved"));
	assert_non_null(strstr(buf_str(&a.body), "First &lt;b&gt;SoA"));
	/* on a version's page: the others link, itself does not */
	assert_int_equal(render(t, "alice", "/soa?version=1", &a), 200);
	assert_non_null(strstr(buf_str(&a.body), "<li>v1 approved"));
	assert_non_null(strstr(buf_str(&a.body), "href=\"/soa\">The current"));
	assert_non_null(strstr(buf_str(&a.body), "/soa?version=2"));
	buf_free(&a.body);
	tenv_free(t);
}

static int
load(const char *text, struct config *cfg, struct buf *errors)
{
	struct config_errors e = {0};
	int rc;

	config_defaults(cfg);
	rc = config_load_string(cfg, "t.conf", text, &e);
	buf_reset(errors);
	buf_puts(errors, buf_str(&e.text));
	buf_free(&e.text);
	buf_free(&e.shared);
	return rc;
}

static void
test_config(void **state)
{
	struct config cfg;
	struct buf e = {0};
	char base[256];

	(void)state;
	/* off by default */
	assert_int_equal(load("", &cfg, &e), 0);
	assert_false(portal_enabled(&cfg));
	config_free(&cfg);
	assert_int_equal(load("[portal]\nlisten = 127.0.0.1:8080\n", &cfg, &e),
			 0);
	assert_true(portal_enabled(&cfg));
	portal_base_url(&cfg, base, sizeof(base));
	assert_string_equal(base, "http://127.0.0.1:8080");
	config_free(&cfg);
	assert_int_equal(load("[portal]\nlisten = [::1]:8080\nurl = "
			      "https://isms.example.org/\n",
			      &cfg, &e),
			 0);
	portal_base_url(&cfg, base, sizeof(base));
	assert_string_equal(base, "https://isms.example.org");
	config_free(&cfg);
	/* TLS: both files or neither; the key not shared */
	assert_int_equal(load("[portal]\nlisten = 127.0.0.1:8080\ntls_cert = "
			      "/nonexistent/c.pem\n",
			      &cfg, &e),
			 -1);
	assert_non_null(strstr(buf_str(&e), "go together"));
	assert_non_null(strstr(buf_str(&e), "cannot read /nonexistent/c.pem"));
	config_free(&cfg);
	{
		char dir[] = "/tmp/test_portal_tls.XXXXXX", cert[64], key[64];
		char text[256];
		FILE *fp;

		assert_non_null(mkdtemp(dir));
		snprintf(cert, sizeof(cert), "%s/c.pem", dir);
		snprintf(key, sizeof(key), "%s/k.pem", dir);
		fp = fopen(cert, "w");
		assert_non_null(fp);
		fclose(fp);
		fp = fopen(key, "w");
		assert_non_null(fp);
		fclose(fp);
		assert_int_equal(chmod(key, 0644), 0);
		snprintf(text, sizeof(text),
			 "[portal]\nlisten = 127.0.0.1:8443\ntls_cert = "
			 "%s\ntls_key = %s\n",
			 cert, key);
		assert_int_equal(load(text, &cfg, &e), -1);
		assert_non_null(
		    strstr(buf_str(&e), "readable by group or others"));
		config_free(&cfg);
		assert_int_equal(chmod(key, 0600), 0);
		assert_int_equal(load(text, &cfg, &e), 0);
		portal_base_url(&cfg, base, sizeof(base));
		assert_string_equal(base, "https://127.0.0.1:8443");
		config_free(&cfg);
		unlink(cert);
		unlink(key);
		rmdir(dir);
	}
	assert_int_equal(
	    load("[portal]\nurl = javascript:alert(1)\n", &cfg, &e), -1);
	config_free(&cfg);
	assert_int_equal(load("[portal]\nurl = http://a/\"><x\n", &cfg, &e),
			 -1);
	config_free(&cfg);
	assert_int_equal(load("[portal]\nlisten = nonsense\n", &cfg, &e), -1);
	config_free(&cfg);
	buf_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_sessions),
	    cmocka_unit_test(test_links),
	    cmocka_unit_test(test_header_lines),
	    cmocka_unit_test(test_pages),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_signin_page),
	    cmocka_unit_test(test_post_origin),
	    cmocka_unit_test(test_verify_cache),
	    cmocka_unit_test(test_soa_versions),
	    cmocka_unit_test(test_refusal_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
