/*
 * test_http.c - cmocka tests for net/http.c against a loopback Python
 * peer (tests/unit/peers/http_peer.py).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "../../net/http.h"
#include "netutil.h"

/* runs the loop until *flag becomes non-zero or ms elapse; 0 if flag set */

/* runs the loop until nothing is left on it (bounded); 0 when drained */

/* ---- fixtures ---- */

static struct peer g_peer;

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return peer_start(&g_peer, "http_peer.py", NULL, NULL, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	peer_stop(&g_peer);
	return 0;
}

struct result {
	int done;
	long status;
	char *body;
	size_t body_len;
	long retry_after;
	char ctype[128];
	char err[256];
	int has_err;
	int calls;
	uint64_t at;
};

static void
collect(void *arg, const struct http_res *res, const char *err)
{
	struct result *r = arg;

	r->calls++;
	r->done = 1;
	r->at = now_ms();
	r->status = res->status;
	assert_non_null(res->body);
	assert_int_equal(res->body[res->body_len], '\0');
	r->body = malloc(res->body_len + 1);
	memcpy(r->body, res->body, res->body_len + 1);
	r->body_len = res->body_len;
	r->retry_after = res->retry_after_s;
	snprintf(r->ctype, sizeof(r->ctype), "%s",
		 res->content_type ? res->content_type : "");
	r->has_err = err != NULL;
	snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void
result_clear(struct result *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

struct env {
	uv_loop_t loop;
	struct http *h;
};

static void
env_init(struct env *e)
{
	assert_int_equal(uv_loop_init(&e->loop), 0);
	e->h = http_new(&e->loop);
	assert_non_null(e->h);
}

static void
env_done(struct env *e)
{
	http_free(e->h);
	assert_int_equal(drain(&e->loop, 3000), 0);
	assert_int_equal(uv_loop_close(&e->loop), 0);
}

static void
url(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "http://127.0.0.1:%d%s", g_peer.port, path);
}

static void
do_req(struct env *e, const char *method, const char *path,
       const char *const *hdrs, const char *body, long timeout_ms,
       struct result *r, unsigned wait_ms)
{
	char u[256];
	struct http_req req = {0};

	url(u, sizeof(u), path);
	req.method = method;
	req.url = u;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.timeout_ms = timeout_ms;
	assert_int_equal(http_request(e->h, &req, collect, r), 0);
	assert_int_equal(r->done, 0); /* never synchronous */
	assert_int_equal(run_until(&e->loop, &r->done, wait_ms), 0);
	assert_int_equal(r->calls, 1);
}

/* ---- tests ---- */

static void
test_get(void **state)
{
	struct env e;
	struct result r = {0};

	(void)state;
	env_init(&e);
	do_req(&e, "GET", "/hello", NULL, NULL, 0, &r, 3000);
	assert_false(r.has_err);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello world");
	assert_int_equal(r.body_len, 11);
	assert_int_equal(r.retry_after, -1);
	assert_string_equal(r.ctype, "text/plain");
	result_clear(&r);

	do_req(&e, "GET", "/nope", NULL, NULL, 0, &r, 3000);
	assert_false(r.has_err);
	assert_int_equal(r.status, 404);
	result_clear(&r);
	env_done(&e);
}

static void
test_post_put(void **state)
{
	static const char *const hdrs[] = {"Content-Type: application/json",
					   "X-Test: abc 123", NULL};
	struct env e;
	struct result r = {0};

	(void)state;
	env_init(&e);
	do_req(&e, "POST", "/echo", hdrs, "{\"a\":1}", 0, &r, 3000);
	assert_false(r.has_err);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"a\":1}");
	assert_string_equal(r.ctype, "application/json");
	result_clear(&r);

	do_req(&e, "PUT", "/echo", hdrs, "put-body", 0, &r, 3000);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "put-body");
	result_clear(&r);

	do_req(&e, "POST", "/echo", NULL, NULL, 0, &r, 3000);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	result_clear(&r);

	do_req(&e, "GET", "/hdr", hdrs, NULL, 0, &r, 3000);
	assert_string_equal(r.body, "abc 123");
	result_clear(&r);
	env_done(&e);
}

static void
test_retry_after(void **state)
{
	struct env e;
	struct result r = {0};

	(void)state;
	env_init(&e);
	do_req(&e, "GET", "/retry", NULL, NULL, 0, &r, 3000);
	assert_false(r.has_err);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_after, 7);
	assert_string_equal(r.body, "slow down");
	result_clear(&r);

	do_req(&e, "GET", "/retrydate", NULL, NULL, 0, &r, 3000);
	assert_int_equal(r.status, 503);
	assert_in_range(r.retry_after, 95, 101);
	result_clear(&r);
	env_done(&e);
}

static void
test_body_cap(void **state)
{
	char path[64];
	struct env e;
	struct result r = {0};

	(void)state;
	env_init(&e);
	/* exactly at the cap is fine */
	snprintf(path, sizeof(path), "/big?n=%u", HTTP_MAX_BODY);
	do_req(&e, "GET", path, NULL, NULL, 0, &r, 5000);
	assert_false(r.has_err);
	assert_int_equal(r.body_len, HTTP_MAX_BODY);
	result_clear(&r);

	/* Content-Length above the cap: rejected before reading */
	snprintf(path, sizeof(path), "/big?n=%u", HTTP_MAX_BODY + 1);
	do_req(&e, "GET", path, NULL, NULL, 0, &r, 5000);
	assert_true(r.has_err);
	assert_string_equal(r.err, "response body too large");
	assert_int_equal(r.status, 0);
	result_clear(&r);

	/* chunked, no length known: stopped by the write callback */
	snprintf(path, sizeof(path), "/bigchunked?n=%u",
		 HTTP_MAX_BODY + 100000);
	do_req(&e, "GET", path, NULL, NULL, 0, &r, 5000);
	assert_true(r.has_err);
	assert_string_equal(r.err, "response body too large");
	result_clear(&r);
	env_done(&e);
}

static void
test_timeout(void **state)
{
	struct env e;
	struct result r = {0};
	uint64_t t0;

	(void)state;
	env_init(&e);
	t0 = now_ms();
	do_req(&e, "GET", "/slow?s=3", NULL, NULL, 300, &r, 3000);
	assert_true(r.has_err);
	assert_string_equal(r.err, "timed out");
	assert_int_equal(r.status, 0);
	assert_in_range(r.at - t0, 250, 1500);
	result_clear(&r);
	env_done(&e);
}

static void
test_refused(void **state)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct http_req req = {0};
	struct result r = {0};
	struct env e;
	char u[128];
	int fd;

	(void)state;
	/* grab a free port, then close it so nothing listens there */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);

	env_init(&e);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x?token=SECRET",
		 ntohs(sa.sin_port));
	req.method = "GET";
	req.url = u;
	assert_int_equal(http_request(e.h, &req, collect, &r), 0);
	assert_int_equal(run_until(&e.loop, &r.done, 3000), 0);
	assert_true(r.has_err);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "SECRET"));
	result_clear(&r);

	/* unsupported scheme fails asynchronously too */
	req.url = "ftp://127.0.0.1/x";
	assert_int_equal(http_request(e.h, &req, collect, &r), 0);
	assert_int_equal(run_until(&e.loop, &r.done, 3000), 0);
	assert_true(r.has_err);
	result_clear(&r);
	env_done(&e);
}

static void
test_invalid(void **state)
{
	static const char *const bad_hdrs[] = {"X-A: b\r\nX-Evil: 1", NULL};
	struct http_req req = {0};
	struct env e;
	struct result r = {0};

	(void)state;
	env_init(&e);
	req.url = "http://127.0.0.1:1/";
	req.method = "get";
	assert_int_equal(http_request(e.h, &req, collect, &r), -1);
	req.method = NULL;
	assert_int_equal(http_request(e.h, &req, collect, &r), -1);
	req.method = "GET";
	req.body = "x";
	req.body_len = 1;
	assert_int_equal(http_request(e.h, &req, collect, &r), -1);
	req.body = NULL;
	req.body_len = 0;
	req.headers = bad_hdrs;
	assert_int_equal(http_request(e.h, &req, collect, &r), -1);
	req.headers = NULL;
	req.timeout_ms = -5;
	assert_int_equal(http_request(e.h, &req, collect, &r), -1);
	req.timeout_ms = 0;
	assert_int_equal(http_request(e.h, &req, NULL, &r), -1);
	assert_int_equal(http_request(NULL, &req, collect, &r), -1);
	assert_int_equal(r.calls, 0);
	env_done(&e);
}

/* the callback chains a second request */
struct chain {
	struct env *e;
	struct result first, second;
};

static void
chain_cb(void *arg, const struct http_res *res, const char *err)
{
	struct chain *c = arg;
	struct http_req req = {0};
	char u[128];

	collect(&c->first, res, err);
	url(u, sizeof(u), "/echo");
	req.method = "POST";
	req.url = u;
	req.body = "chained";
	req.body_len = 7;
	assert_int_equal(http_request(c->e->h, &req, collect, &c->second), 0);
}

static void
test_chain_and_many(void **state)
{
	struct http_req req = {0};
	struct result many[40];
	struct chain c;
	struct env e;
	char u[128];
	int all, i, n;

	(void)state;
	env_init(&e);
	memset(&c, 0, sizeof(c));
	c.e = &e;
	url(u, sizeof(u), "/hello");
	req.method = "GET";
	req.url = u;
	assert_int_equal(http_request(e.h, &req, chain_cb, &c), 0);
	assert_int_equal(run_until(&e.loop, &c.second.done, 3000), 0);
	assert_int_equal(c.first.status, 200);
	assert_string_equal(c.second.body, "chained");
	result_clear(&c.first);
	result_clear(&c.second);

	memset(many, 0, sizeof(many));
	for (i = 0; i < 40; i++)
		assert_int_equal(http_request(e.h, &req, collect, &many[i]), 0);
	all = 0;
	for (n = 0; n < 500 && !all; n++) {
		uv_run(&e.loop, UV_RUN_ONCE);
		all = 1;
		for (i = 0; i < 40; i++)
			all &= many[i].done;
	}
	for (i = 0; i < 40; i++) {
		assert_int_equal(many[i].status, 200);
		assert_string_equal(many[i].body, "hello world");
		result_clear(&many[i]);
	}
	env_done(&e);
}

static void
test_free_cancels(void **state)
{
	struct http_req req = {0};
	struct result r1 = {0}, r2 = {0};
	struct env e;
	char u[128];
	int never = 0;

	(void)state;
	env_init(&e);
	url(u, sizeof(u), "/slow?s=2");
	req.method = "GET";
	req.url = u;
	assert_int_equal(http_request(e.h, &req, collect, &r1), 0);
	assert_int_equal(http_request(e.h, &req, collect, &r2), 0);
	run_until(&e.loop, &never, 100); /* connections in flight */
	http_free(e.h);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r2.calls, 1);
	assert_string_equal(r1.err, "cancelled");
	assert_string_equal(r2.err, "cancelled");
	assert_int_equal(drain(&e.loop, 3000), 0);
	assert_int_equal(uv_loop_close(&e.loop), 0);
	result_clear(&r1);
	result_clear(&r2);
}

/* http_free from inside a completion callback */
struct selfkill {
	struct env *e;
	struct result slow;
	int done;
};

static void
selfkill_cb(void *arg, const struct http_res *res, const char *err)
{
	struct selfkill *s = arg;
	struct http_req req = {0};

	(void)res;
	assert_null(err);
	s->done = 1;
	http_free(s->e->h);
	assert_int_equal(s->slow.calls, 1); /* cancelled synchronously */
	assert_string_equal(s->slow.err, "cancelled");
	req.method = "GET";
	req.url = "http://127.0.0.1:1/";
	assert_int_equal(http_request(s->e->h, &req, collect, &s->slow), -1);
}

static void
test_free_in_callback(void **state)
{
	struct http_req req = {0};
	struct selfkill s;
	struct env e;
	char u[128], u2[128];

	(void)state;
	env_init(&e);
	memset(&s, 0, sizeof(s));
	s.e = &e;
	url(u, sizeof(u), "/slow?s=2");
	url(u2, sizeof(u2), "/hello");
	req.method = "GET";
	req.url = u;
	assert_int_equal(http_request(e.h, &req, collect, &s.slow), 0);
	req.url = u2;
	assert_int_equal(http_request(e.h, &req, selfkill_cb, &s), 0);
	assert_int_equal(run_until(&e.loop, &s.done, 3000), 0);
	assert_int_equal(drain(&e.loop, 3000), 0);
	assert_int_equal(uv_loop_close(&e.loop), 0);
	result_clear(&s.slow);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get),
	    cmocka_unit_test(test_post_put),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_body_cap),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_chain_and_many),
	    cmocka_unit_test(test_free_cancels),
	    cmocka_unit_test(test_free_in_callback),
	};

	return cmocka_run_group_tests_name("http", tests, group_setup,
					   group_teardown);
}
