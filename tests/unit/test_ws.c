/*
 * test_ws.c - cmocka tests for net/ws.c against a hand-written asyncio
 * WebSocket peer (tests/unit/peers/ws_peer.py), plain and TLS.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "../../net/ws.h"
#include "netutil.h"

/* ---- fixtures ---- */

static struct peer g_peer;

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return peer_start(&g_peer, "ws_peer.py", NULL, NULL, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	peer_stop(&g_peer);
	return 0;
}

struct env {
	uv_loop_t loop;
	struct ws_ctx *x;
};

static void
env_init(struct env *e)
{
	assert_int_equal(uv_loop_init(&e->loop), 0);
	e->x = ws_ctx_new(&e->loop);
	assert_non_null(e->x);
}

static void
env_done(struct env *e)
{
	ws_ctx_free(e->x);
	assert_int_equal(drain(&e->loop, 5000), 0);
	assert_int_equal(uv_loop_close(&e->loop), 0);
}

/* what a connection saw */
struct rec {
	struct ws_conn *c;
	struct env *e;
	int opened, closed, texts;
	char first[256], last[256];
	size_t last_len;
	char why[128];
	char seq[64]; /* O = open, T = text, C = close */
	/* scripted reactions */
	const char *send_on_open;
	int close_on_text;
	int free_on_text;
	int in_connect; /* set while ws_connect runs */
};

static void
seq_add(struct rec *r, char ch)
{
	size_t n = strlen(r->seq);

	if (n + 1 < sizeof(r->seq)) {
		r->seq[n] = ch;
		r->seq[n + 1] = '\0';
	}
}

static void
on_open(void *arg, struct ws_conn *c)
{
	struct rec *r = arg;

	assert_false(r->in_connect);
	assert_ptr_equal(c, r->c);
	r->opened++;
	seq_add(r, 'O');
	if (r->send_on_open)
		assert_int_equal(
		    ws_send_text(c, r->send_on_open, strlen(r->send_on_open)),
		    0);
}

static void
on_text(void *arg, struct ws_conn *c, const char *msg, size_t len)
{
	struct rec *r = arg;

	assert_ptr_equal(c, r->c);
	assert_int_equal(msg[len], '\0');
	r->texts++;
	seq_add(r, 'T');
	if (r->texts == 1)
		snprintf(r->first, sizeof(r->first), "%s", msg);
	snprintf(r->last, sizeof(r->last), "%s", msg);
	r->last_len = len;
	if (r->close_on_text) {
		ws_close(c);
		ws_close(c); /* idempotent */
		assert_int_equal(ws_send_text(c, "x", 1), -1);
	}
	if (r->free_on_text) {
		ws_ctx_free(r->e->x);
		r->e->x = NULL;
		assert_int_equal(r->closed, 1); /* synchronous */
	}
}

static void
on_close(void *arg, struct ws_conn *c, const char *why)
{
	struct rec *r = arg;

	assert_false(r->in_connect);
	assert_ptr_equal(c, r->c);
	assert_non_null(why);
	r->closed++;
	seq_add(r, 'C');
	snprintf(r->why, sizeof(r->why), "%s", why);
	ws_close(c); /* harmless here */
}

static const struct ws_cbs cbs = {on_open, on_text, on_close};

/* runs the loop until r got n messages (or closed, or ms elapsed) */
static int
wait_texts(struct env *e, struct rec *r, int n, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (r->texts < n && !r->closed && now_ms() < end)
		run_until(&e->loop, &r->closed, 20);
	return r->texts >= n ? 0 : -1;
}

static void connect_rec(struct env *e, struct rec *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
connect_rec(struct env *e, struct rec *r, const char *fmt, ...)
{
	char url[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(url, sizeof(url), fmt, ap);
	va_end(ap);
	r->e = e;
	r->in_connect = 1;
	r->c = ws_connect(e->x, url, &cbs, r);
	r->in_connect = 0;
	assert_non_null(r->c);
	assert_int_equal(r->closed, 0);
}

/* ---- tests ---- */

static void
test_echo_and_close(void **state)
{
	struct env e;
	struct rec r;

	(void)state;
	env_init(&e);
	memset(&r, 0, sizeof(r));
	r.send_on_open = "hello";
	connect_rec(&e, &r, "ws://127.0.0.1:%d/echo", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r.texts, 3000), 0);
	assert_string_equal(r.last, "hello");
	assert_int_equal(ws_send_text(r.c, "", 0), 0); /* empty message */
	assert_int_equal(ws_send_text(r.c, "second", 6), 0);
	assert_int_equal(wait_texts(&e, &r, 3, 3000), 0);
	assert_string_equal(r.last, "second");
	ws_close(r.c);
	assert_int_equal(r.closed, 0); /* not synchronous */
	assert_int_equal(run_until(&e.loop, &r.closed, 3000), 0);
	assert_string_equal(r.why, "closed");
	assert_string_equal(r.seq, "OTTTC");
	env_done(&e);
}

static void
test_path_query_and_early_send(void **state)
{
	struct env e;
	struct rec r;

	(void)state;
	env_init(&e);
	memset(&r, 0, sizeof(r));
	connect_rec(&e, &r, "ws://localhost:%d/p?greet=1&ticket=T0K#frag",
		    g_peer.port);
	/* queued before the handshake completes */
	assert_int_equal(ws_send_text(r.c, "early", 5), 0);
	assert_int_equal(wait_texts(&e, &r, 2, 3000), 0);
	assert_int_equal(r.closed, 0);
	assert_int_equal(r.texts, 2);
	assert_string_equal(r.first, "hello /p?greet=1&ticket=T0K");
	assert_string_equal(r.last, "early");
	env_done(&e);
	assert_int_equal(r.closed, 1);
	assert_string_equal(r.why, "context freed");
}

static void
test_fragmented_and_large(void **state)
{
	struct env e;
	struct rec r;
	char *big;
	size_t n = 1024 * 1024 + 7;

	(void)state;
	env_init(&e);
	memset(&r, 0, sizeof(r));
	r.send_on_open = "frag:7:hello fragmented world, in seven pieces";
	connect_rec(&e, &r, "ws://127.0.0.1:%d/", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r.texts, 3000), 0);
	assert_int_equal(r.texts, 1);
	assert_string_equal(r.last, "hello fragmented world, in seven pieces");

	/* 1 MiB round trip: partial writes and many receive callbacks */
	big = malloc(n + 1);
	memset(big, 'q', n);
	big[n] = '\0';
	assert_int_equal(ws_send_text(r.c, big, n), 0);
	assert_int_equal(wait_texts(&e, &r, 2, 5000), 0);
	assert_int_equal(r.texts, 2);
	assert_int_equal(r.last_len, n);
	free(big);

	/* sending more than the cap is refused */
	assert_int_equal(ws_send_text(r.c, "x", WS_MAX_MESSAGE + 1), -1);
	env_done(&e);
}

static void
test_server_close_and_drop(void **state)
{
	struct env e;
	struct rec r1, r2;

	(void)state;
	env_init(&e);
	memset(&r1, 0, sizeof(r1));
	r1.send_on_open = "close";
	connect_rec(&e, &r1, "ws://127.0.0.1:%d/", g_peer.port);
	memset(&r2, 0, sizeof(r2));
	r2.send_on_open = "drop";
	connect_rec(&e, &r2, "ws://127.0.0.1:%d/", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r1.closed, 4000), 0);
	assert_int_equal(run_until(&e.loop, &r2.closed, 4000), 0);
	assert_string_equal(r1.why, "closed by peer (1000)");
	assert_string_equal(r1.seq, "OC");
	assert_string_equal(r2.seq, "OC");
	assert_int_equal(r2.closed, 1);
	env_done(&e);
	assert_int_equal(r1.closed, 1);
	assert_int_equal(r2.closed, 1);
}

static void
test_ping_binary_cap(void **state)
{
	struct env e;
	struct rec r1, r2, r3;

	(void)state;
	env_init(&e);
	memset(&r1, 0, sizeof(r1));
	r1.send_on_open = "ping";
	connect_rec(&e, &r1, "ws://127.0.0.1:%d/", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r1.texts, 3000), 0);
	assert_string_equal(r1.last, "pong-ok"); /* lws answered */
	assert_int_equal(ws_send_text(r1.c, "binary", 6), 0);
	assert_int_equal(run_until(&e.loop, &r1.closed, 300), -1);
	assert_int_equal(r1.texts, 2);
	assert_string_equal(r1.last, "after-binary");

	/* a message over WS_MAX_MESSAGE closes the connection */
	memset(&r2, 0, sizeof(r2));
	r2.send_on_open = "big:5000000";
	connect_rec(&e, &r2, "ws://127.0.0.1:%d/", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r2.closed, 5000), 0);
	assert_int_equal(r2.texts, 0);
	assert_string_equal(r2.why, "message too large");

	/* invalid UTF-8 in a text frame is a protocol error, never a text */
	memset(&r3, 0, sizeof(r3));
	r3.send_on_open = "badutf8";
	connect_rec(&e, &r3, "ws://127.0.0.1:%d/", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r3.closed, 5000), 0);
	assert_int_equal(r3.texts, 0);
	env_done(&e);
}

static void
test_close_in_callback(void **state)
{
	struct env e;
	struct rec r;

	(void)state;
	env_init(&e);
	memset(&r, 0, sizeof(r));
	r.send_on_open = "bye";
	r.close_on_text = 1;
	connect_rec(&e, &r, "ws://127.0.0.1:%d/", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r.closed, 3000), 0);
	assert_string_equal(r.why, "closed");
	assert_string_equal(r.seq, "OTC");
	env_done(&e);
}

static void
test_ctx_free_in_callback(void **state)
{
	struct env e;
	struct rec r, other;

	(void)state;
	env_init(&e);
	memset(&r, 0, sizeof(r));
	memset(&other, 0, sizeof(other));
	r.send_on_open = "x";
	r.free_on_text = 1;
	connect_rec(&e, &r, "ws://127.0.0.1:%d/", g_peer.port);
	connect_rec(&e, &other, "ws://127.0.0.1:%d/", g_peer.port);
	assert_int_equal(run_until(&e.loop, &r.closed, 3000), 0);
	assert_string_equal(r.why, "context freed");
	assert_int_equal(other.closed, 1);
	assert_string_equal(other.why, "context freed");
	assert_null(e.x);
	assert_int_equal(drain(&e.loop, 5000), 0);
	assert_int_equal(uv_loop_close(&e.loop), 0);
	assert_int_equal(r.closed, 1);
}

static void
test_failures(void **state)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct env e;
	struct rec r1, r2, r3, r4, r5;
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);

	env_init(&e);
	/* nothing listening */
	memset(&r1, 0, sizeof(r1));
	connect_rec(&e, &r1, "ws://127.0.0.1:%d/?ticket=SECRET",
		    ntohs(sa.sin_port));
	/* handshake refused by the server */
	memset(&r2, 0, sizeof(r2));
	connect_rec(&e, &r2, "ws://127.0.0.1:%d/reject", g_peer.port);
	/* TLS spoken to a plain server */
	memset(&r3, 0, sizeof(r3));
	connect_rec(&e, &r3, "wss://127.0.0.1:%d/", g_peer.port);
	/* unresolvable name (.invalid never resolves) */
	memset(&r4, 0, sizeof(r4));
	connect_rec(&e, &r4, "ws://no-such-host.invalid/");
	/* closed while still resolving / connecting */
	memset(&r5, 0, sizeof(r5));
	connect_rec(&e, &r5, "ws://127.0.0.1:%d/", g_peer.port);
	ws_close(r5.c);
	assert_int_equal(r5.closed, 0);

	assert_int_equal(run_until(&e.loop, &r1.closed, 4000), 0);
	assert_int_equal(run_until(&e.loop, &r2.closed, 4000), 0);
	assert_int_equal(run_until(&e.loop, &r3.closed, 4000), 0);
	assert_int_equal(run_until(&e.loop, &r4.closed, 6000), 0);
	assert_int_equal(run_until(&e.loop, &r5.closed, 4000), 0);
	assert_string_equal(r1.seq, "C");
	assert_string_equal(r2.seq, "C");
	assert_string_equal(r3.seq, "C");
	assert_string_equal(r4.seq, "C");
	assert_string_equal(r5.seq, "C");
	assert_null(strstr(r1.why, "SECRET"));
	assert_string_equal(r4.why, "name resolution failed");
	assert_string_equal(r5.why, "closed");

	/* immediate failures: no callback at all */
	assert_null(ws_connect(e.x, "http://127.0.0.1/", &cbs, &r1));
	assert_null(ws_connect(e.x, "ws://", &cbs, &r1));
	assert_null(ws_connect(e.x, "ws://h:0/", &cbs, &r1));
	assert_null(ws_connect(e.x, "ws://h:65536/", &cbs, &r1));
	assert_null(ws_connect(e.x, "ws://user:pw@h/", &cbs, &r1));
	assert_null(ws_connect(e.x, "ws://h/a b", &cbs, &r1));
	assert_null(ws_connect(e.x, "ws://h\r\nX: y/", &cbs, &r1));
	assert_null(ws_connect(e.x, "ws://[::1/", &cbs, &r1));
	assert_null(ws_connect(NULL, "ws://h/", &cbs, &r1));
	assert_int_equal(ws_send_text(NULL, "x", 1), -1);
	ws_close(NULL);
	assert_int_equal(r1.closed, 1);
	env_done(&e);
	ws_ctx_free(NULL);
}

/* ---- TLS: a throw-away CA-less self-signed cert made trusted through
 * SSL_CERT_FILE, which OpenSSL's default verify paths honour ---- */

static int
make_cert(const char *dir)
{
	char subj[64], cmd[1024];

	snprintf(subj, sizeof(subj), "/CN=localhost");
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
		 "-keyout %s/key.pem -out %s/cert.pem -subj %s "
		 "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
		 dir, dir, subj);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_wss(void **state)
{
	char dir[] = "/tmp/ws_tls_XXXXXX", cert[128], key[128];
	struct peer tp = {0};
	struct env e;
	struct rec r, bad;

	(void)state;
	if (!mkdtemp(dir) || make_cert(dir) < 0)
		skip();
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	assert_int_equal(peer_start(&tp, "ws_peer.py", "--tls", cert, key), 0);
	setenv("SSL_CERT_FILE", cert, 1);
	env_init(&e);
	unsetenv("SSL_CERT_FILE");

	memset(&r, 0, sizeof(r));
	r.send_on_open = "over tls";
	connect_rec(&e, &r, "wss://localhost:%d/secure", tp.port);
	/* the name in the certificate does not match an IP literal */
	memset(&bad, 0, sizeof(bad));
	connect_rec(&e, &bad, "wss://127.0.0.1:%d/secure", tp.port);
	assert_int_equal(run_until(&e.loop, &r.texts, 4000), 0);
	assert_string_equal(r.last, "over tls");
	assert_int_equal(run_until(&e.loop, &bad.closed, 4000), 0);
	assert_int_equal(bad.opened, 0);
	ws_close(r.c);
	assert_int_equal(run_until(&e.loop, &r.closed, 3000), 0);
	assert_string_equal(r.why, "closed");
	env_done(&e);
	peer_stop(&tp);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* a context with nothing on it, and create/free cycles */
static void
test_ctx_cycles(void **state)
{
	struct env e;
	struct rec r;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		env_init(&e);
		env_done(&e);
	}

	/* freed while a connection is still resolving */
	env_init(&e);
	memset(&r, 0, sizeof(r));
	connect_rec(&e, &r, "ws://localhost:%d/", g_peer.port);
	ws_ctx_free(e.x);
	e.x = NULL;
	assert_int_equal(r.closed, 1);
	assert_string_equal(r.why, "context freed");
	assert_int_equal(drain(&e.loop, 5000), 0);
	assert_int_equal(uv_loop_close(&e.loop), 0);
	assert_string_equal(r.seq, "C");
}

/* a handshake that never completes: ws_close and ws_ctx_free cut it */
static void
test_close_while_connecting(void **state)
{
	struct env e;
	struct rec r1, r2;
	int never = 0;

	(void)state;
	env_init(&e);
	memset(&r1, 0, sizeof(r1));
	connect_rec(&e, &r1, "ws://127.0.0.1:%d/hang", g_peer.port);
	memset(&r2, 0, sizeof(r2));
	connect_rec(&e, &r2, "ws://127.0.0.1:%d/hang", g_peer.port);
	assert_int_equal(ws_send_text(r1.c, "queued", 6), 0);
	run_until(&e.loop, &never, 300); /* TCP up, no 101 yet */
	assert_int_equal(r1.opened + r1.closed + r2.opened + r2.closed, 0);
	ws_close(r1.c);
	assert_int_equal(run_until(&e.loop, &r1.closed, 3000), 0);
	assert_string_equal(r1.why, "closed");
	assert_int_equal(r2.closed, 0);
	env_done(&e);
	assert_string_equal(r2.why, "context freed");
	assert_string_equal(r2.seq, "C");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctx_cycles),
	    cmocka_unit_test(test_close_while_connecting),
	    cmocka_unit_test(test_echo_and_close),
	    cmocka_unit_test(test_path_query_and_early_send),
	    cmocka_unit_test(test_fragmented_and_large),
	    cmocka_unit_test(test_server_close_and_drop),
	    cmocka_unit_test(test_ping_binary_cap),
	    cmocka_unit_test(test_close_in_callback),
	    cmocka_unit_test(test_ctx_free_in_callback),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_wss),
	};

	return cmocka_run_group_tests_name("ws", tests, group_setup,
					   group_teardown);
}
