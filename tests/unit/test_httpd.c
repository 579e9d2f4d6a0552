/*
 * test_httpd.c - cmocka tests for net/httpd.c: the pure request parser,
 * and the server driven by libcurl easy and raw sockets from a helper thread.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <uv.h>

#include "../../net/httpd.h"
#include "netutil.h"

/* ---- helpers ---- */

static void
run_for(uv_loop_t *loop, unsigned ms)
{
	int never = 0;

	run_until(loop, &never, ms);
}

static int
feed_all(struct httpd_parser *p, const char *s, size_t len, size_t *used,
	 int *status)
{
	return httpd_parser_feed(p, s, len, used, status);
}

static int
parse_str(struct httpd_parser *p, const char *s, int *status)
{
	size_t used;

	return feed_all(p, s, strlen(s), &used, status);
}

/* ---- parser tests ---- */

static void
test_parse_good(void **state)
{
	static const char req[] = "GET /slack/events?x=1 HTTP/1.1\r\n"
				  "Host: example.org\r\n"
				  "X-Slack-Signature:  v0=abc \r\n"
				  "User-Agent: t\r\n"
				  "\r\n";
	struct httpd_parser p;
	size_t used;
	int status = 0;

	(void)state;
	httpd_parser_init(&p);
	assert_int_equal(feed_all(&p, req, sizeof(req) - 1, &used, &status), 1);
	assert_int_equal(used, sizeof(req) - 1);
	assert_string_equal(p.req.method, "GET");
	assert_string_equal(p.req.path, "/slack/events?x=1");
	assert_int_equal(p.req.version, 11);
	assert_int_equal(p.req.keep_alive, 1);
	assert_int_equal(p.req.nheaders, 3);
	assert_string_equal(httpd_header(&p.req, "host"), "example.org");
	assert_string_equal(httpd_header(&p.req, "X-SLACK-SIGNATURE"),
			    "v0=abc");
	assert_null(httpd_header(&p.req, "missing"));
	assert_string_equal(p.req.body, "");
	assert_int_equal(p.req.body_len, 0);
	/* stays complete until reset */
	assert_int_equal(feed_all(&p, "x", 1, &used, &status), 1);
	assert_int_equal(used, 0);
	httpd_parser_free(&p);
}

static void
test_parse_body_and_pipelined(void **state)
{
	static const char two[] =
	    "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
	    "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "Connection: close\r\n\r\nxyz"
	    "GET /c HTTP/1.1\r\n";
	struct httpd_parser p;
	size_t used, off = 0, len = sizeof(two) - 1;
	int status = 0;

	(void)state;
	httpd_parser_init(&p);
	assert_int_equal(feed_all(&p, two, len, &used, &status), 1);
	assert_string_equal(p.req.method, "POST");
	assert_string_equal(p.req.path, "/a");
	assert_int_equal(p.req.body_len, 5);
	assert_string_equal(p.req.body, "hello");
	off += used;
	httpd_parser_reset(&p);

	assert_int_equal(feed_all(&p, two + off, len - off, &used, &status), 1);
	assert_string_equal(p.req.method, "PUT");
	assert_string_equal(p.req.body, "xyz");
	assert_int_equal(p.req.keep_alive, 0);
	off += used;
	httpd_parser_reset(&p);

	assert_int_equal(feed_all(&p, two + off, len - off, &used, &status), 0);
	assert_int_equal(off + used, len);
	assert_int_equal(feed_all(&p, "Host: h\r\n\r\n", 11, &used, &status),
			 1);
	assert_string_equal(p.req.path, "/c");
	httpd_parser_free(&p);
}

static void
test_parse_split(void **state)
{
	static const char req[] =
	    "\r\nPOST /split HTTP/1.1\r\nHost: h\r\n"
	    "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n"
	    "{\"k\":\"v\"}\r\n";
	struct httpd_parser p;
	size_t i, used, len = sizeof(req) - 1, step;
	int rc = 0, status = 0;

	(void)state;
	for (step = 1; step <= 7; step += 3) {
		httpd_parser_init(&p);
		for (i = 0; i < len; i += step) {
			size_t n = len - i < step ? len - i : step;

			rc = httpd_parser_feed(&p, req + i, n, &used, &status);
			assert_int_equal(used, n);
			if (i + n < len)
				assert_int_equal(rc, 0);
		}
		assert_int_equal(rc, 1);
		assert_string_equal(p.req.path, "/split");
		assert_string_equal(httpd_header(&p.req, "content-type"),
				    "application/json");
		assert_int_equal(p.req.body_len, 11);
		assert_memory_equal(p.req.body, "{\"k\":\"v\"}\r\n", 11);
		httpd_parser_free(&p);
	}
}

static void
test_parse_malformed(void **state)
{
	static const struct {
		const char *in;
		int status;
	} cases[] = {
	    {"GET\r\n\r\n", 400},
	    {"GET / \r\n\r\n", 400},
	    {"GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	    {" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	    {"GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n", 400},
	    {"GET / FTP/1.1\r\nHost: h\r\n\r\n", 400},
	    {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
	    {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	    {"ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: h\r\n\r\n", 501},
	    {"GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost h\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\n\r\n", 400},
	    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	    {"POST / HTTP/1.1\r\nHost: h\r\n"
	     "Content-Length: x\r\n\r\n",
	     400},
	    {"POST / HTTP/1.1\r\nHost: h\r\n"
	     "Content-Length: -1\r\n\r\n",
	     400},
	    {"POST / HTTP/1.1\r\nHost: h\r\n"
	     "Content-Length: 1, 1\r\n\r\n",
	     400},
	    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
	     "Content-Length: 2\r\n\r\n",
	     400},
	    {"POST / HTTP/1.1\r\nHost: h\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
	     501},
	    {"POST / HTTP/1.1\r\nHost: h\r\n"
	     "Content-Length: 2000000\r\n\r\n",
	     413},
	    {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
	     "99999999999999999999999999\r\n\r\n",
	     413},
	    {"GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", 417},
	};
	struct httpd_parser p;
	size_t i, used;
	int status;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		httpd_parser_init(&p);
		status = 0;
		if (parse_str(&p, cases[i].in, &status) != -1 ||
		    status != cases[i].status)
			fail_msg("case %zu: got status %d, want %d", i, status,
				 cases[i].status);
		/* sticky until reset */
		status = 0;
		assert_int_equal(feed_all(&p, "x", 1, &used, &status), -1);
		assert_int_equal(status, cases[i].status);
		httpd_parser_free(&p);
	}

	/* NUL inside the head */
	httpd_parser_init(&p);
	assert_int_equal(feed_all(&p, "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
				  29, &used, &status),
			 -1);
	assert_int_equal(status, 400);
	httpd_parser_free(&p);
}

static void
test_parse_oversized(void **state)
{
	struct httpd_parser p;
	char *big;
	size_t used, n;
	int status = 0, i, rc;

	(void)state;
	/* header block over 16 KiB, arriving in pieces */
	big = malloc(2 * HTTPD_MAX_HEAD);
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	memset(big + n, 'a', 2 * HTTPD_MAX_HEAD - n);
	httpd_parser_init(&p);
	rc = 0;
	for (i = 0; i < 2 * HTTPD_MAX_HEAD / 512 && rc == 0; i++)
		rc = httpd_parser_feed(&p, big + (size_t)i * 512, 512, &used,
				       &status);
	assert_int_equal(rc, -1);
	assert_int_equal(status, 431);
	httpd_parser_free(&p);

	/* a long path */
	n = (size_t)sprintf(big, "GET /");
	memset(big + n, 'p', 1100);
	sprintf(big + n + 1100, " HTTP/1.1\r\nHost: h\r\n\r\n");
	httpd_parser_init(&p);
	assert_int_equal(parse_str(&p, big, &status), -1);
	assert_int_equal(status, 414);
	httpd_parser_free(&p);

	/* too many headers */
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 0; i < HTTPD_MAX_HEADERS; i++)
		n += (size_t)sprintf(big + n, "X-%d: v\r\n", i);
	sprintf(big + n, "\r\n");
	httpd_parser_init(&p);
	assert_int_equal(parse_str(&p, big, &status), -1);
	assert_int_equal(status, 431);
	httpd_parser_free(&p);

	/* an endless stream of empty lines */
	memset(big, '\n', HTTPD_MAX_HEAD + 50);
	httpd_parser_init(&p);
	assert_int_equal(feed_all(&p, big, HTTPD_MAX_HEAD + 50, &used, &status),
			 -1);
	assert_int_equal(status, 431);
	httpd_parser_free(&p);
	free(big);

	/* exactly the largest body is fine */
	big = malloc(HTTPD_MAX_BODY + 200);
	n = (size_t)sprintf(big,
			    "POST / HTTP/1.1\r\nHost: h\r\n"
			    "Content-Length: %d\r\n\r\n",
			    HTTPD_MAX_BODY);
	memset(big + n, 'b', HTTPD_MAX_BODY);
	httpd_parser_init(&p);
	assert_int_equal(feed_all(&p, big, n + HTTPD_MAX_BODY, &used, &status),
			 1);
	assert_int_equal(p.req.body_len, HTTPD_MAX_BODY);
	httpd_parser_free(&p);
	free(big);
}

static void
test_parse_misc(void **state)
{
	struct httpd_parser p;
	int status = 0;

	(void)state;
	/* bare LF line endings, HTTP/1.0 without Host */
	httpd_parser_init(&p);
	assert_int_equal(parse_str(&p, "GET /x HTTP/1.0\n\n", &status), 1);
	assert_int_equal(p.req.version, 10);
	assert_int_equal(p.req.keep_alive, 0);
	httpd_parser_free(&p);

	httpd_parser_init(&p);
	assert_int_equal(parse_str(&p,
				   "GET /x HTTP/1.0\r\n"
				   "Connection: Keep-Alive\r\n\r\n",
				   &status),
			 1);
	assert_int_equal(p.req.keep_alive, 1);
	httpd_parser_free(&p);

	httpd_parser_init(&p);
	assert_int_equal(parse_str(&p,
				   "GET /x HTTP/1.1\r\nHost: h\r\n"
				   "Connection: upgrade, close\r\n\r\n",
				   &status),
			 1);
	assert_int_equal(p.req.keep_alive, 0);
	httpd_parser_free(&p);

	/* HTTP/1.9 is treated as 1.1 */
	httpd_parser_init(&p);
	assert_int_equal(
	    parse_str(&p, "OPTIONS * HTTP/1.9\r\nHost: h\r\n\r\n", &status), 1);
	assert_int_equal(p.req.version, 11);
	assert_string_equal(p.req.path, "*");
	httpd_parser_free(&p);

	/* Expect: 100-continue is flagged while the body is pending */
	httpd_parser_init(&p);
	assert_int_equal(parse_str(&p,
				   "POST / HTTP/1.1\r\nHost: h\r\n"
				   "Expect: 100-Continue\r\n"
				   "Content-Length: 2\r\n\r\n",
				   &status),
			 0);
	assert_int_equal(p.expect_continue, 1);
	assert_int_equal(parse_str(&p, "ok", &status), 1);
	assert_int_equal(p.expect_continue, 0);
	assert_string_equal(p.req.body, "ok");
	httpd_parser_free(&p);

	httpd_parser_free(NULL);
	assert_null(httpd_header(NULL, "x"));
}

/* ---- server fixtures ---- */

/* M_DEFER holds /first and /deferred only; M_HOLD holds everything */
enum mode { M_ECHO, M_DEFER, M_HOLD };

struct srv {
	uv_loop_t loop;
	struct httpd *h;
	int port;
	enum mode mode;
	int requests;
	struct httpd_conn *held[8];
	int nheld;
	uv_timer_t later;
	int later_fired;
	char last_path[1024];
};

static void
handler(void *arg, struct httpd_conn *c, const struct httpd_request *r)
{
	struct srv *s = arg;
	const char *ct;

	s->requests++;
	snprintf(s->last_path, sizeof(s->last_path), "%s", r->path);
	if (s->mode == M_ECHO ||
	    (s->mode == M_DEFER && strcmp(r->path, "/first") != 0 &&
	     strcmp(r->path, "/deferred") != 0)) {
		ct = httpd_header(r, "content-type");
		if (r->body_len)
			assert_int_equal(httpd_respond(c, 200,
						       ct ? ct : "text/plain",
						       r->body, r->body_len),
					 0);
		else
			assert_int_equal(httpd_respond(c, 200, "text/plain",
						       r->path,
						       strlen(r->path)),
					 0);
		return;
	}
	assert_true(s->nheld < 8);
	s->held[s->nheld++] = c;
}

static void
srv_start(struct srv *s, const char *host, enum mode mode)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(uv_loop_init(&s->loop), 0);
	s->mode = mode;
	s->h = httpd_new(&s->loop, host, 0, handler, s);
	assert_non_null(s->h);
	s->port = httpd_port(s->h);
	assert_true(s->port > 0);
}

static void
srv_stop(struct srv *s)
{
	httpd_free(s->h);
	assert_int_equal(drain(&s->loop, 3000), 0);
	assert_int_equal(uv_loop_close(&s->loop), 0);
}

/* a function run on a helper thread while the main thread runs the loop */
struct job {
	uv_async_t async;
	pthread_t th;
	int done;
	struct srv *s;
	void (*fn)(struct job *j);
	/* results, checked on the main thread */
	int ok;
	long status[4];
	char body[4][256];
	long new_conns[4];
	char raw[8192];
	size_t raw_len;
	char note[256];
};

static void
job_wake(uv_async_t *a)
{
	((struct job *)a->data)->done = 1;
}

static void *
job_main(void *arg)
{
	struct job *j = arg;

	j->fn(j);
	uv_async_send(&j->async);
	return NULL;
}

static void
job_run(struct srv *s, struct job *j, void (*fn)(struct job *), unsigned ms)
{
	j->s = s;
	j->fn = fn;
	j->done = 0;
	uv_async_init(&s->loop, &j->async, job_wake);
	j->async.data = j;
	assert_int_equal(pthread_create(&j->th, NULL, job_main, j), 0);
	run_until(&s->loop, &j->done, ms);
	pthread_join(j->th, NULL);
	uv_close((uv_handle_t *)&j->async, NULL);
	uv_run(&s->loop, UV_RUN_NOWAIT);
	assert_int_equal(j->done, 1);
}

struct sink {
	char *buf;
	size_t len, cap;
};

static size_t
sink_write(char *d, size_t sz, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t len = sz * n;

	if (k->len + len + 1 > k->cap) {
		k->cap = (k->len + len + 1) * 2;
		k->buf = realloc(k->buf, k->cap);
	}
	memcpy(k->buf + k->len, d, len);
	k->len += len;
	k->buf[k->len] = '\0';
	return len;
}

static void
curl_one(struct job *j, CURL *e, int i, const char *path, const char *body)
{
	char url[256];
	struct sink k = {0};
	long nc = -1;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", j->s->port, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 4000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body));
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(e) == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &j->status[i]);
		curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nc);
	}
	j->new_conns[i] = nc;
	snprintf(j->body[i], sizeof(j->body[i]), "%s", k.buf ? k.buf : "");
	free(k.buf);
}

static void
job_curl_basic(struct job *j)
{
	CURL *e = curl_easy_init();
	struct curl_slist *hl;

	curl_one(j, e, 0, "/hello?q=1", NULL);
	hl = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	curl_one(j, e, 1, "/echo", "{\"text\":\"hi\"}");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_one(j, e, 2, "/again", NULL);
	curl_easy_cleanup(e);
	curl_slist_free_all(hl);
}

static void
test_server_curl(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_curl_basic, 8000);
	assert_int_equal(j.status[0], 200);
	assert_string_equal(j.body[0], "/hello?q=1");
	assert_int_equal(j.status[1], 200);
	assert_string_equal(j.body[1], "{\"text\":\"hi\"}");
	assert_int_equal(j.status[2], 200);
	assert_int_equal(j.new_conns[0], 1);
	assert_int_equal(j.new_conns[1], 0); /* keep-alive reuse */
	assert_int_equal(j.new_conns[2], 0);
	assert_int_equal(s.requests, 3);
	srv_stop(&s);
}

static void
job_curl_v6(struct job *j)
{
	CURL *e = curl_easy_init();
	char url[128];
	struct sink k = {0};

	snprintf(url, sizeof(url), "http://[::1]:%d/six", j->s->port);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 4000L);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &j->status[0]);
	snprintf(j->body[0], sizeof(j->body[0]), "%s", k.buf ? k.buf : "");
	free(k.buf);
	curl_easy_cleanup(e);
}

static void
test_server_ipv6(void **state)
{
	struct srv s;
	struct job j;
	uv_loop_t probe;
	uv_tcp_t t;
	struct sockaddr_in6 a;
	int have6;

	(void)state;
	/* skip quietly where the host has no IPv6 loopback */
	uv_loop_init(&probe);
	uv_tcp_init(&probe, &t);
	uv_ip6_addr("::1", 0, &a);
	have6 = uv_tcp_bind(&t, (struct sockaddr *)&a, 0) == 0;
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&probe, UV_RUN_DEFAULT);
	uv_loop_close(&probe);
	if (!have6)
		skip();

	srv_start(&s, "::1", M_ECHO);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_curl_v6, 8000);
	assert_int_equal(j.status[0], 200);
	assert_string_equal(j.body[0], "/six");
	srv_stop(&s);
}

/* responds to every held request, oldest first */
static void
later_cb(uv_timer_t *t)
{
	struct srv *s = t->data;
	char body[64];
	int i;

	for (i = 0; i < s->nheld; i++) {
		snprintf(body, sizeof(body), "late %d", i);
		assert_int_equal(httpd_respond(s->held[i], 202, "text/plain",
					       body, strlen(body)),
				 0);
	}
	s->nheld = 0;
	s->later_fired = 1;
}

static void
job_curl_async(struct job *j)
{
	CURL *e = curl_easy_init();
	uint64_t t0 = now_ms();

	curl_one(j, e, 0, "/deferred", NULL);
	snprintf(j->note, sizeof(j->note), "%llu",
		 (unsigned long long)(now_ms() - t0));
	curl_easy_cleanup(e);
}

static void
test_server_async(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	srv_start(&s, "127.0.0.1", M_DEFER);
	uv_timer_init(&s.loop, &s.later);
	s.later.data = &s;
	uv_timer_start(&s.later, later_cb, 150, 0);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_curl_async, 8000);
	assert_int_equal(s.later_fired, 1);
	assert_int_equal(j.status[0], 202);
	assert_string_equal(j.body[0], "late 0");
	assert_true(atoi(j.note) >= 100);
	uv_close((uv_handle_t *)&s.later, NULL);
	srv_stop(&s);
}

/* ---- raw socket client helpers (helper thread) ---- */

static int
raw_connect(int port)
{
	struct sockaddr_in a;
	struct timeval tv = {3, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* number of complete responses at the start of buf */
static int
count_responses(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *he, *cl;
	int n = 0;
	size_t body;

	while (p < end) {
		he = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!he)
			break;
		cl = memmem(p, (size_t)(he - p), "Content-Length: ", 16);
		body = cl ? (size_t)strtoul(cl + 16, NULL, 10) : 0;
		if ((size_t)(end - (he + 4)) < body)
			break;
		p = he + 4 + body;
		n++;
	}
	return n;
}

/* reads until want responses arrived, EOF or timeout; 1 if EOF seen */
static int
raw_read(struct job *j, int fd, int want)
{
	ssize_t n;

	for (;;) {
		if (want > 0 && count_responses(j->raw, j->raw_len) >= want)
			return 0;
		n = read(fd, j->raw + j->raw_len,
			 sizeof(j->raw) - 1 - j->raw_len);
		if (n <= 0)
			return n == 0;
		j->raw_len += (size_t)n;
		j->raw[j->raw_len] = '\0';
	}
}

static void
job_pipelined(struct job *j)
{
	static const char reqs[] =
	    "GET /first HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /now HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /third HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
	    "Connection: close\r\n\r\nbody";
	int fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	if (write(fd, reqs, sizeof(reqs) - 1) == (ssize_t)(sizeof(reqs) - 1))
		j->ok = raw_read(j, fd, -1); /* until the server closes */
	close(fd);
}

static void
test_server_pipelined(void **state)
{
	struct srv s;
	struct job j;
	char *a, *b, *c;

	(void)state;
	srv_start(&s, "127.0.0.1", M_DEFER);
	uv_timer_init(&s.loop, &s.later);
	s.later.data = &s;
	uv_timer_start(&s.later, later_cb, 100, 0);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_pipelined, 8000);
	assert_int_equal(j.ok, 1);
	assert_int_equal(count_responses(j.raw, j.raw_len), 3);
	/* in order, although the first one was answered last */
	a = strstr(j.raw, "late 0");
	b = strstr(j.raw, "/now");
	c = strstr(j.raw, "body");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	assert_non_null(strstr(j.raw, "HTTP/1.1 202 Accepted\r\n"));
	assert_non_null(strstr(c - 60, "Connection: close"));
	assert_int_equal(s.requests, 3);
	uv_close((uv_handle_t *)&s.later, NULL);
	srv_stop(&s);
}

static void
job_malformed(struct job *j)
{
	static const char bad[] = "GET / HTTP/1.1\r\nNoColon\r\n\r\n";
	int fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	if (write(fd, bad, sizeof(bad) - 1) > 0)
		j->ok = raw_read(j, fd, -1);
	close(fd);
}

static void
job_too_big(struct job *j)
{
	static const char big[] = "POST / HTTP/1.1\r\nHost: h\r\n"
				  "Content-Length: 5000000\r\n\r\nsome";
	int fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	if (write(fd, big, sizeof(big) - 1) > 0)
		j->ok = raw_read(j, fd, -1);
	close(fd);
}

static void
job_continue(struct job *j)
{
	static const char head[] = "POST /c HTTP/1.1\r\nHost: h\r\n"
				   "Expect: 100-continue\r\n"
				   "Content-Length: 3\r\n\r\n";
	int fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	if (write(fd, head, sizeof(head) - 1) > 0) {
		ssize_t n = read(fd, j->raw, sizeof(j->raw) - 1);

		if (n > 0) {
			j->raw_len = (size_t)n;
			if (strstr(j->raw, "HTTP/1.1 100 Continue\r\n\r\n") &&
			    write(fd, "abc", 3) == 3) {
				j->raw_len = 0;
				raw_read(j, fd, 1);
				j->ok = 1;
			}
		}
	}
	close(fd);
}

static void
test_server_errors(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_malformed, 8000);
	assert_int_equal(j.ok, 1); /* server closed the connection */
	assert_memory_equal(j.raw, "HTTP/1.1 400 Bad Request\r\n", 26);
	assert_non_null(strstr(j.raw, "Connection: close\r\n"));

	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_too_big, 8000);
	assert_int_equal(j.ok, 1);
	assert_memory_equal(j.raw, "HTTP/1.1 413 ", 13);

	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_continue, 8000);
	assert_int_equal(j.ok, 1);
	assert_non_null(strstr(j.raw, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(j.raw, "\r\n\r\nabc"));
	assert_int_equal(s.requests, 1);
	srv_stop(&s);
}

/* one request dribbled out in 7-byte writes: many reads on the server */
static void
job_trickle(struct job *j)
{
	static const char req[] = "POST /t HTTP/1.1\r\nHost: h\r\n"
				  "Content-Type: text/x-trickle\r\n"
				  "Content-Length: 26\r\n\r\n"
				  "abcdefghijklmnopqrstuvwxyz";
	size_t off, n;
	int fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	for (off = 0; off < sizeof(req) - 1; off += n) {
		n = sizeof(req) - 1 - off < 7 ? sizeof(req) - 1 - off : 7;
		if (write(fd, req + off, n) != (ssize_t)n)
			break;
		usleep(2000);
	}
	raw_read(j, fd, 1);
	j->ok = count_responses(j->raw, j->raw_len) == 1;
	close(fd);
}

static void
test_server_trickle(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_trickle, 8000);
	assert_int_equal(j.ok, 1);
	assert_non_null(strstr(j.raw, "Content-Type: text/x-trickle\r\n"));
	assert_non_null(strstr(j.raw, "\r\n\r\nabcdefghijklmnopqrstuvwxyz"));
	assert_int_equal(s.requests, 1);
	srv_stop(&s);
}

static void
job_idle(struct job *j)
{
	uint64_t t0 = now_ms();
	int fd = raw_connect(j->s->port);
	char c;

	if (fd < 0)
		return;
	/* send half a request line, then nothing */
	if (write(fd, "GET /", 5) == 5 && read(fd, &c, 1) == 0)
		j->ok = 1;
	snprintf(j->note, sizeof(j->note), "%llu",
		 (unsigned long long)(now_ms() - t0));
	close(fd);
}

static void
job_silent(struct job *j)
{
	uint64_t t0 = now_ms();
	int fd = raw_connect(j->s->port);
	char c;

	if (fd < 0)
		return;
	if (read(fd, &c, 1) == 0)
		j->ok = 1;
	snprintf(j->note, sizeof(j->note), "%llu",
		 (unsigned long long)(now_ms() - t0));
	close(fd);
}

static void
test_server_idle_timeout(void **state)
{
	struct srv s;
	struct job j;
	struct httpd_limits l;
	struct httpd_stats st;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	httpd_limits_default(&l);
	l.header_ms = 200;
	httpd_set_limits(s.h, &l);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_idle, 8000);
	assert_int_equal(j.ok, 1);
	assert_in_range(atoi(j.note), 150, 2000);
	assert_int_equal(s.requests, 0);
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.timeouts, 1);

	/* a connection that never sends a byte: the idle timeout */
	httpd_set_idle_timeout(s.h, 200);
	l.header_ms = 5000;
	l.idle_ms = 200;
	httpd_set_limits(s.h, &l);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_silent, 8000);
	assert_int_equal(j.ok, 1);
	assert_in_range(atoi(j.note), 150, 2000);
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.timeouts, 1); /* idle is no request timing out */
	srv_stop(&s);
}

/* a header line every 100 ms: still cut at the header timeout */
static void
job_slowloris(struct job *j)
{
	uint64_t t0 = now_ms();
	int fd = raw_connect(j->s->port), i;
	char c;

	if (fd < 0)
		return;
	if (write(fd, "GET / HTTP/1.1\r\nHost: h\r\n", 25) != 25)
		goto out;
	for (i = 0; i < 40; i++) {
		usleep(100 * 1000);
		if (write(fd, "X-A: b\r\n", 8) != 8)
			break;
	}
	if (i < 40 || read(fd, &c, 1) == 0)
		j->ok = 1;
out:
	snprintf(j->note, sizeof(j->note), "%llu",
		 (unsigned long long)(now_ms() - t0));
	close(fd);
}

static void
test_server_slowloris(void **state)
{
	struct srv s;
	struct job j;
	struct httpd_limits l;
	struct httpd_stats st;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	httpd_limits_default(&l);
	l.header_ms = 400;
	httpd_set_limits(s.h, &l);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_slowloris, 8000);
	assert_int_equal(j.ok, 1);
	assert_in_range(atoi(j.note), 300, 2500);
	assert_int_equal(s.requests, 0);
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.conns, 0);
	srv_stop(&s);
}

#define MANY 200

static void
job_many(struct job *j)
{
	static const char req[] = "GET /m HTTP/1.1\r\nHost: h\r\n\r\n";
	int fds[MANY], i, good = 0;
	char buf[512];
	ssize_t n;

	for (i = 0; i < MANY; i++)
		fds[i] = raw_connect(j->s->port);
	for (i = 0; i < MANY; i++)
		if (fds[i] >= 0 && write(fds[i], req, sizeof(req) - 1) < 0)
			fds[i] = -1;
	for (i = 0; i < MANY; i++) {
		if (fds[i] < 0)
			continue;
		n = read(fds[i], buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, "200 OK") && strstr(buf, "\r\n\r\n/m"))
				good++;
		}
		close(fds[i]);
	}
	j->ok = good;
}

static void
test_server_many(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_many, 10000);
	assert_int_equal(j.ok, MANY);
	assert_int_equal(s.requests, MANY);
	srv_stop(&s);
}

/* client goes away while the handler still owns the request */
static void
test_server_disconnect(void **state)
{
	static const char req[] = "GET /gone HTTP/1.1\r\nHost: h\r\n\r\n";
	struct linger lg = {1, 0};
	struct srv s;
	int fd;

	(void)state;
	srv_start(&s, "127.0.0.1", M_HOLD);

	/* orderly close (FIN): the response is still attempted */
	fd = raw_connect(s.port);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	close(fd);
	run_for(&s.loop, 200);
	assert_int_equal(s.nheld, 1);
	assert_string_equal(s.last_path, "/gone");
	httpd_respond(s.held[0], 200, "text/plain", "x", 1);
	s.nheld = 0;
	run_for(&s.loop, 100);

	/* reset (RST): the connection is closed, respond reports -1 */
	fd = raw_connect(s.port);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	run_for(&s.loop, 100);
	assert_int_equal(s.nheld, 1);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	run_for(&s.loop, 200);
	assert_int_equal(httpd_respond(s.held[0], 200, NULL, NULL, 0), -1);
	s.nheld = 0;

	/* httpd_free while a request is held: respond afterwards is safe */
	fd = raw_connect(s.port);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	run_for(&s.loop, 100);
	assert_int_equal(s.nheld, 1);
	httpd_free(s.h);
	run_for(&s.loop, 50);
	assert_string_equal(s.last_path, "/gone");
	assert_int_equal(httpd_respond(s.held[0], 200, NULL, NULL, 0), -1);
	close(fd);
	assert_int_equal(drain(&s.loop, 3000), 0);
	assert_int_equal(uv_loop_close(&s.loop), 0);
}

static void
test_server_bad_args(void **state)
{
	struct srv s;
	uv_loop_t loop;
	struct httpd *h;

	(void)state;
	uv_loop_init(&loop);
	assert_null(httpd_new(&loop, "localhost", 0, handler, NULL));
	assert_null(httpd_new(&loop, "127.0.0.1", 70000, handler, NULL));
	assert_null(httpd_new(&loop, "127.0.0.1", 0, NULL, NULL));
	h = httpd_new(&loop, "0.0.0.0", 0, handler, NULL);
	assert_non_null(h);
	httpd_free(h);
	httpd_free(NULL);
	assert_int_equal(drain(&loop, 1000), 0);
	assert_int_equal(uv_loop_close(&loop), 0);

	/* port already taken */
	srv_start(&s, "127.0.0.1", M_ECHO);
	assert_null(httpd_new(&s.loop, "127.0.0.1", s.port, handler, NULL));
	srv_stop(&s);
}

/* invalid arguments to httpd_respond still produce an answer (500) */
static void
job_get_one(struct job *j)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	int fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	if (write(fd, req, sizeof(req) - 1) > 0)
		j->ok = raw_read(j, fd, -1);
	close(fd);
}

static void
bad_respond_cb(uv_timer_t *t)
{
	struct srv *s = t->data;

	if (!s->nheld) {
		uv_timer_start(t, bad_respond_cb, 10, 0);
		return;
	}
	assert_int_equal(httpd_respond(s->held[0], 99, "text/plain", "x", 1),
			 -1);
	s->nheld = 0;
	s->later_fired = 1;
}

static void
test_server_bad_respond(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	srv_start(&s, "127.0.0.1", M_HOLD);
	uv_timer_init(&s.loop, &s.later);
	s.later.data = &s;
	uv_timer_start(&s.later, bad_respond_cb, 10, 0);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_get_one, 8000);
	assert_int_equal(s.later_fired, 1);
	assert_int_equal(j.ok, 1);
	assert_memory_equal(j.raw, "HTTP/1.1 500 ", 13);
	uv_close((uv_handle_t *)&s.later, NULL);
	srv_stop(&s);
}

/* ---- limits ---- */

/* a connection from a given loopback address (127.0.0.x) */
static int
raw_connect_from(int port, const char *src)
{
	struct sockaddr_in a, b;
	struct timeval tv = {3, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&b, 0, sizeof(b));
	b.sin_family = AF_INET;
	inet_pton(AF_INET, src, &b.sin_addr);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* one GET on a new connection from src: 1 when answered 200 */
static int
get_from(int port, const char *src, const char *path, uint64_t *ms)
{
	char req[256], buf[1024];
	uint64_t t0 = now_ms();
	int fd = raw_connect_from(port, src), n, ok = 0;
	size_t got = 0;

	if (fd < 0)
		return 0;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n",
		     path);
	if (write(fd, req, (size_t)n) == n) {
		while (got < sizeof(buf) - 1 && count_responses(buf, got) < 1) {
			ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);

			if (r <= 0)
				break;
			got += (size_t)r;
			buf[got] = '\0';
		}
		ok = got > 12 && !memcmp(buf, "HTTP/1.1 200 ", 13) &&
		     strstr(buf, path) != NULL;
	}
	if (ms)
		*ms = now_ms() - t0;
	close(fd);
	return ok;
}

/* 1 when the server has closed fd (EOF without blocking) */
static int
closed_by_server(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

#define FLOOD 600

static void
job_flood(struct job *j)
{
	static int fds[FLOOD];
	uint64_t ms = 0;
	int i, shut = 0;

	for (i = 0; i < FLOOD; i++)
		fds[i] = raw_connect_from(j->s->port, "127.0.0.2");
	usleep(300 * 1000);
	/* legitimate traffic on new connections is answered at once */
	j->status[0] = get_from(j->s->port, "127.0.0.1", "/legit", &ms);
	j->new_conns[0] = (long)ms;
	j->status[1] = get_from(j->s->port, "127.0.0.1", "/again", &ms);
	j->new_conns[1] = (long)ms;
	usleep(100 * 1000);
	for (i = 0; i < FLOOD; i++)
		if (fds[i] >= 0) {
			shut += closed_by_server(fds[i]);
			close(fds[i]);
		} else {
			shut++; /* refused outright counts as closed */
		}
	j->ok = shut;
}

static void
test_server_flood(void **state)
{
	struct srv s;
	struct job j;
	struct httpd_limits l;
	struct httpd_stats st;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	httpd_limits_default(&l);
	l.max_conns = 200;
	l.max_per_addr = 0;
	httpd_set_limits(s.h, &l);
	assert_int_equal(httpd_max_conns(s.h), 200);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_flood, 20000);
	assert_int_equal(j.status[0], 1);
	assert_int_equal(j.status[1], 1);
	assert_true(j.new_conns[0] < 1000);
	assert_true(j.new_conns[1] < 1000);
	/* the oldest idle ones made room: at least FLOOD - 200 closed */
	assert_true(j.ok >= FLOOD - 200);
	httpd_get_stats(s.h, &st);
	assert_true(st.evicted >= FLOOD - 200);
	assert_true(st.conns <= 200);
	/* one log line for the whole burst, not one per connection */
	run_for(&s.loop, 1500);
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.reports, 1);
	srv_stop(&s);
}

static void
job_per_addr(struct job *j)
{
	static const char held[] = "GET /deferred HTTP/1.1\r\nHost: h\r\n\r\n";
	int fds[30], busy[4], slow[4], i, shut = 0;

	for (i = 0; i < 30; i++)
		fds[i] = raw_connect_from(j->s->port, "127.0.0.2");
	usleep(200 * 1000);
	j->status[0] = get_from(j->s->port, "127.0.0.1", "/other", NULL);
	/* the flooding address itself still gets in, at its idle ones' cost */
	j->status[1] = get_from(j->s->port, "127.0.0.2", "/same", NULL);
	usleep(100 * 1000);
	for (i = 0; i < 30; i++) {
		if (fds[i] < 0 || closed_by_server(fds[i]))
			shut++;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	j->ok = shut;
	/* four requests being handled from one address: a fifth is refused */
	for (i = 0; i < 4; i++) {
		busy[i] = raw_connect_from(j->s->port, "127.0.0.3");
		if (busy[i] < 0 ||
		    write(busy[i], held, sizeof(held) - 1) != sizeof(held) - 1)
			j->note[0] = 'w';
	}
	usleep(200 * 1000);
	j->status[2] = get_from(j->s->port, "127.0.0.3", "/fifth", NULL);
	for (i = 0; i < 4; i++)
		if (busy[i] >= 0 && !closed_by_server(busy[i]))
			j->status[3]++;
	/* four slow senders: a fifth request gets in, the oldest is cut */
	for (i = 0; i < 4; i++) {
		slow[i] = raw_connect_from(j->s->port, "127.0.0.4");
		if (slow[i] < 0 || write(slow[i], "GET /", 5) != 5)
			j->note[0] = 'w';
		usleep(20 * 1000);
	}
	usleep(100 * 1000);
	j->new_conns[0] = get_from(j->s->port, "127.0.0.4", "/quick", NULL);
	usleep(100 * 1000);
	for (i = 0; i < 4; i++) {
		if (slow[i] >= 0 && closed_by_server(slow[i]))
			j->new_conns[1] |= 1 << i;
		if (slow[i] >= 0)
			close(slow[i]);
	}
	for (i = 0; i < 4; i++)
		if (busy[i] >= 0)
			close(busy[i]);
}

static void
test_server_per_addr(void **state)
{
	struct srv s;
	struct job j;
	struct httpd_limits l;
	struct httpd_stats st;
	int i;

	(void)state;
	srv_start(&s, "127.0.0.1", M_DEFER);
	httpd_limits_default(&l);
	l.max_per_addr = 4;
	httpd_set_limits(s.h, &l);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_per_addr, 20000);
	assert_int_equal(j.status[0], 1);
	assert_int_equal(j.status[1], 1);
	assert_true(j.ok >= 27); /* 30 + 1 from .2, at most 4 stay */
	assert_int_equal(j.status[2], 0);
	assert_int_equal(j.status[3], 4); /* the busy ones were kept */
	assert_int_equal(j.new_conns[0], 1);
	assert_int_equal(j.new_conns[1], 1); /* only the oldest slow one */
	assert_int_equal(j.note[0], '\0');
	assert_int_equal(s.nheld, 4);
	for (i = 0; i < s.nheld; i++)
		httpd_respond(s.held[i], 200, NULL, NULL, 0);
	s.nheld = 0;
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.refused, 1);
	assert_true(st.evicted >= 28);
	srv_stop(&s);
}

/* reads one response into buf (NUL-terminated); its length */
static size_t
read_response(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap - 1 && count_responses(buf, got) < 1) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
	}
	buf[got] = '\0';
	return got;
}

static void
job_budget(struct job *j)
{
	static char body[6000], buf[8192];
	char head[256];
	int a, b, n;

	memset(body, 'x', sizeof(body));
	n = snprintf(
	    head, sizeof(head),
	    "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n",
	    sizeof(body));
	a = raw_connect(j->s->port);
	b = raw_connect(j->s->port);
	if (a < 0 || b < 0)
		return;
	/* a holds 6000 of the 10000 bytes allowed while its body trickles */
	if (write(a, head, (size_t)n) != n || write(a, body, 100) != 100)
		return;
	usleep(100 * 1000);
	/* b's 6000 do not fit: 503 before its body is sent at all */
	if (write(b, head, (size_t)n) != n)
		return;
	read_response(b, buf, sizeof(buf));
	snprintf(j->body[0], sizeof(j->body[0]), "%.255s", buf);
	j->ok = read(b, buf, sizeof(buf)) == 0; /* then closed */
	close(b);
	/* a completes and is answered */
	if (write(a, body + 100, sizeof(body) - 100) !=
	    (ssize_t)(sizeof(body) - 100))
		return;
	read_response(a, buf, sizeof(buf));
	j->status[0] = strstr(buf, "HTTP/1.1 200 ") == buf &&
		       strstr(buf, "\r\n\r\nxxxx") != NULL;
	close(a);
	/* once a is answered, the same request fits */
	b = raw_connect(j->s->port);
	if (b < 0 || write(b, head, (size_t)n) != n ||
	    write(b, body, sizeof(body)) != (ssize_t)sizeof(body))
		return;
	read_response(b, buf, sizeof(buf));
	j->status[1] = strstr(buf, "HTTP/1.1 200 ") == buf;
	close(b);
	/* a declared body larger than the whole budget never fits */
	b = raw_connect(j->s->port);
	n = snprintf(head, sizeof(head),
		     "POST /big HTTP/1.1\r\nHost: h\r\n"
		     "Content-Length: 1048576\r\n\r\n");
	if (b < 0 || write(b, head, (size_t)n) != n)
		return;
	read_response(b, buf, sizeof(buf));
	j->status[2] = strstr(buf, "HTTP/1.1 503 ") == buf;
	close(b);
}

static void
test_server_budget(void **state)
{
	struct srv s;
	struct job j;
	struct httpd_limits l;
	struct httpd_stats st;

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	httpd_limits_default(&l);
	l.body_budget = 10000;
	httpd_set_limits(s.h, &l);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_budget, 10000);
	assert_memory_equal(j.body[0], "HTTP/1.1 503 ", 13);
	assert_non_null(strstr(j.body[0], "\r\nRetry-After: 5\r\n"));
	assert_non_null(strstr(j.body[0], "\r\nConnection: close\r\n"));
	assert_int_equal(j.ok, 1);
	assert_int_equal(j.status[0], 1);
	assert_int_equal(j.status[1], 1);
	assert_int_equal(j.status[2], 1);
	assert_int_equal(s.requests, 2);
	run_for(&s.loop, 100);
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.budget_503, 2);
	assert_int_equal(st.body_bytes, 0);
	srv_stop(&s);
}

/* eight pipelined requests, then shutdown(SHUT_WR): all eight answered */
static void
job_halfclose(struct job *j)
{
	char reqs[1024];
	size_t len = 0;
	int i, fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	for (i = 0; i < 8; i++)
		if (i == 0)
			len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
						"GET /first HTTP/1.1\r\n"
						"Host: h\r\n\r\n");
		else
			len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
						"GET /p%d HTTP/1.1\r\n"
						"Host: h\r\n\r\n",
						i);
	if (write(fd, reqs, len) == (ssize_t)len && shutdown(fd, SHUT_WR) == 0)
		j->ok = raw_read(j, fd, -1); /* until the server closes */
	close(fd);
}

static void
check_halfclose(struct job *j, const char *first)
{
	char want[32];
	const char *p = j->raw;
	int i;

	assert_int_equal(j->ok, 1);
	assert_int_equal(count_responses(j->raw, j->raw_len), 8);
	for (i = 0; i < 8; i++) {
		if (i == 0)
			snprintf(want, sizeof(want), "%s", first);
		else
			snprintf(want, sizeof(want), "/p%d", i);
		p = strstr(p, want);
		assert_non_null(p);
	}
}

static void
test_server_halfclose(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	/* answered as they come */
	srv_start(&s, "127.0.0.1", M_ECHO);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_halfclose, 8000);
	check_halfclose(&j, "/first");
	assert_int_equal(s.requests, 8);
	srv_stop(&s);

	/* the first answered later, after the half-close arrived */
	srv_start(&s, "127.0.0.1", M_DEFER);
	uv_timer_init(&s.loop, &s.later);
	s.later.data = &s;
	uv_timer_start(&s.later, later_cb, 200, 0);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_halfclose, 8000);
	check_halfclose(&j, "late 0");
	assert_int_equal(s.requests, 8);
	uv_close((uv_handle_t *)&s.later, NULL);
	srv_stop(&s);
}

/* ---- TLS ---- */

struct tls_files {
	char dir[64], cert[128], key[128], other_key[128];
};

static EVP_PKEY *
write_key(const char *path)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *fp;

	assert_non_null(k);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(fp);
	return k;
}

/* a self-signed certificate for 127.0.0.1 and its key, made now */
static void
tls_files_make(struct tls_files *f)
{
	X509 *x = X509_new();
	X509_NAME *n;
	EVP_PKEY *k, *other;
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_httpd_tls.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
	snprintf(f->other_key, sizeof(f->other_key), "%s/other.pem", f->dir);
	k = write_key(f->key);
	other = write_key(f->other_key);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"127.0.0.1", -1, -1,
				   0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	fp = fopen(f->cert, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void
tls_files_remove(struct tls_files *f)
{
	unlink(f->cert);
	unlink(f->key);
	unlink(f->other_key);
	rmdir(f->dir);
}

static struct tls_files tls_f;

/* GET over TLS, verifying the server's certificate; raw gets the reply */
static void
job_tls_get(struct job *j)
{
	static const char req[] = "GET /over-tls HTTP/1.1\r\nHost: h\r\n"
				  "Connection: close\r\n\r\n";
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	const unsigned char *sel = NULL;
	unsigned sel_len = 0;
	int fd = raw_connect(j->s->port), n;

	if (fd < 0 || ctx == NULL)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, tls_f.cert, NULL) != 1)
		goto out;
	ssl = SSL_new(ctx);
	SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		goto out;
	SSL_get0_alpn_selected(ssl, &sel, &sel_len);
	snprintf(j->note, sizeof(j->note), "%s %.*s", SSL_get_version(ssl),
		 (int)sel_len, sel ? (const char *)sel : "");
	if (SSL_write(ssl, req, sizeof(req) - 1) != (int)sizeof(req) - 1)
		goto out;
	while ((n = SSL_read(ssl, j->raw + j->raw_len,
			     (int)(sizeof(j->raw) - 1 - j->raw_len))) > 0)
		j->raw_len += (size_t)n;
	j->raw[j->raw_len] = '\0';
	/* the server said close_notify before closing */
	j->ok = SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
}

static void
tls_srv_start(struct srv *s)
{
	char err[512] = "";

	srv_start(s, "127.0.0.1", M_ECHO);
	assert_int_equal(httpd_is_tls(s->h), 0);
	assert_int_equal(
	    httpd_set_tls(s->h, tls_f.cert, tls_f.key, err, sizeof(err)), 0);
	assert_int_equal(httpd_is_tls(s->h), 1);
}

static void
test_tls_get(void **state)
{
	struct srv s;
	struct job j;

	(void)state;
	tls_srv_start(&s);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_tls_get, 8000);
	assert_string_equal(j.note, "TLSv1.3 http/1.1");
	assert_non_null(strstr(j.raw, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(j.raw, "\r\n\r\n/over-tls"));
	assert_int_equal(j.ok, 1);
	assert_int_equal(s.requests, 1);
	srv_stop(&s);
}

/* plain HTTP to the TLS port: closed without an HTTP answer */
static void
job_tls_plain(struct job *j)
{
	static const char req[] = "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n";
	int fd = raw_connect(j->s->port);

	if (fd < 0)
		return;
	if (write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1))
		j->ok = raw_read(j, fd, -1);
	close(fd);
}

static void
test_tls_plain_refused(void **state)
{
	struct srv s;
	struct job j;
	struct httpd_stats st;

	(void)state;
	tls_srv_start(&s);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_tls_plain, 8000);
	assert_int_equal(j.ok, 1); /* EOF */
	assert_null(strstr(j.raw, "HTTP/"));
	assert_int_equal(s.requests, 0);
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.tls_fails, 1);
	assert_int_equal(st.conns, 0);
	srv_stop(&s);
}

/* the start of a ClientHello, then nothing: closed after header_ms */
static void
job_tls_truncated(struct job *j)
{
	static const char part[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03"
				   "\x03\x01\x02\x03";
	int fd = raw_connect(j->s->port);
	char c;

	if (fd < 0)
		return;
	if (write(fd, part, sizeof(part) - 1) == (ssize_t)(sizeof(part) - 1))
		j->ok = read(fd, &c, 1) == 0;
	close(fd);
}

static void
test_tls_truncated(void **state)
{
	struct srv s;
	struct job j;
	struct httpd_limits l;
	struct httpd_stats st;

	(void)state;
	tls_srv_start(&s);
	httpd_limits_default(&l);
	l.header_ms = 400;
	httpd_set_limits(s.h, &l);
	memset(&j, 0, sizeof(j));
	job_run(&s, &j, job_tls_truncated, 8000);
	assert_int_equal(j.ok, 1);
	httpd_get_stats(s.h, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.tls_fails, 0);
	assert_int_equal(st.conns, 0);
	assert_int_equal(s.requests, 0);
	srv_stop(&s);
}

static void
test_tls_bad_files(void **state)
{
	struct srv s;
	char err[512] = "", missing[160];

	(void)state;
	srv_start(&s, "127.0.0.1", M_ECHO);
	snprintf(missing, sizeof(missing), "%s/none.pem", tls_f.dir);
	assert_int_equal(
	    httpd_set_tls(s.h, missing, tls_f.key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "none.pem"));
	assert_int_equal(
	    httpd_set_tls(s.h, tls_f.cert, tls_f.other_key, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "other.pem"));
	/* a key file is not a certificate */
	assert_int_equal(
	    httpd_set_tls(s.h, tls_f.key, tls_f.key, err, sizeof(err)), -1);
	assert_int_equal(httpd_is_tls(s.h), 0);
	srv_stop(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_body_and_pipelined),
	    cmocka_unit_test(test_parse_split),
	    cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_parse_oversized),
	    cmocka_unit_test(test_parse_misc),
	    cmocka_unit_test(test_server_curl),
	    cmocka_unit_test(test_server_ipv6),
	    cmocka_unit_test(test_server_async),
	    cmocka_unit_test(test_server_pipelined),
	    cmocka_unit_test(test_server_errors),
	    cmocka_unit_test(test_server_trickle),
	    cmocka_unit_test(test_server_idle_timeout),
	    cmocka_unit_test(test_server_slowloris),
	    cmocka_unit_test(test_server_flood),
	    cmocka_unit_test(test_server_per_addr),
	    cmocka_unit_test(test_server_budget),
	    cmocka_unit_test(test_server_halfclose),
	    cmocka_unit_test(test_server_many),
	    cmocka_unit_test(test_server_disconnect),
	    cmocka_unit_test(test_server_bad_args),
	    cmocka_unit_test(test_server_bad_respond),
	    cmocka_unit_test(test_tls_get),
	    cmocka_unit_test(test_tls_plain_refused),
	    cmocka_unit_test(test_tls_truncated),
	    cmocka_unit_test(test_tls_bad_files),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	tls_files_make(&tls_f);
	rc = cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
	tls_files_remove(&tls_f);
	return rc;
}
