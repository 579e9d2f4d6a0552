/*
 * ws.c - WebSocket client on libwebsockets 4.1 running on the caller's
 * libuv loop (foreign loop); async DNS, send queue, message reassembly.
 */
#include "ws.h"

#include <ctype.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <libwebsockets.h>

#include "../base/log.h"
#include "../base/util.h"

#define PROTO_NAME	  "ismsd-ws"
#define TEARDOWN_MAX_MS	  10000u /* give lws this long to close its handles */
#define TEARDOWN_GRACE_MS 500u	 /* when they cannot be told apart */

enum { S_RESOLVING, S_CONNECTING, S_OPEN };

struct ws_msg {
	struct ws_msg *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then payload */
};

struct ws_conn {
	struct ws_ctx *x; /* not valid once orphaned */
	struct ws_cbs cbs;
	void *arg;
	struct lws *wsi;
	uv_getaddrinfo_t gai;
	int state;
	int resolving; /* the getaddrinfo request is outstanding */
	int close_requested;
	int in_connect;	 /* inside lws_client_connect_via_info() */
	int finished;	 /* on_close delivered (or due) */
	int orphan;	 /* ctx freed while resolving: gai cb frees */
	const char *why; /* reason to report when lws closes */
	char why_buf[96];
	char *host;    /* for DNS, no brackets */
	char *hosthdr; /* Host header / SNI: host[:port] */
	char *path;
	int port;
	int tls;
	char addr[64]; /* numeric address lws connects to */
	struct ws_msg *q_head, *q_tail;
	char *rx;
	size_t rx_len, rx_cap;
	int rx_in_msg;
	int rx_binary;
	int rx_overflow; /* a message exceeded WS_MAX_MESSAGE */
	struct ws_conn *prev, *next;
};

struct ws_ctx {
	uv_loop_t *loop;
	struct lws_context *lws;   /* NULL once fully destroyed */
	void *lws_id;		   /* the context pointer, for uv_walk */
	struct ws_conn *conns;	   /* live connections */
	struct ws_conn *graveyard; /* finished, freed at teardown */
	uv_timer_t teardown;
	int freed;
	int stage;     /* 0 idle, 1 destroying, 2 done */
	int found;     /* scratch for walk_cb */
	int trackable; /* lws' handles recognisable */
	uint64_t t0;
};

/* ---- connection bookkeeping ---- */

static void
conn_free_mem(struct ws_conn *c)
{
	struct ws_msg *m;

	if (c == NULL)
		return;
	while ((m = c->q_head)) {
		c->q_head = m->next;
		free(m);
	}
	free(c->rx);
	free(c->host);
	free(c->hosthdr);
	free(c->path);
	free(c);
}

static void
conn_unlink(struct ws_conn *c)
{
	struct ws_ctx *x = c->x;

	if (c->prev)
		c->prev->next = c->next;
	else if (x->conns == c)
		x->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
set_why(struct ws_conn *c, const char *why)
{
	snprintf(c->why_buf, sizeof(c->why_buf), "%s", why);
	c->why = c->why_buf;
}

/*
 * The connection is over: detach it from lws, report on_close and free it.
 * While lws_client_connect_via_info() is on the stack the report is left
 * to the caller of that function (see connect_resolved()).
 */
static void
conn_finish(struct ws_conn *c, const char *why)
{
	if (c->finished)
		return;
	c->finished = 1;
	if (c->wsi)
		lws_set_opaque_user_data(c->wsi, NULL);
	c->wsi = NULL;
	conn_unlink(c);
	if (c->close_requested)
		why = "closed"; /* the user asked for it */
	if (why != c->why_buf)
		set_why(c, why);
	if (c->in_connect)
		return;
	if (c->cbs.on_close)
		c->cbs.on_close(c->arg, c, c->why);
	conn_free_mem(c);
}

/* ---- lws protocol callback ---- */

static int
rx_append(struct ws_conn *c, const void *in, size_t len)
{
	size_t cap;

	if (c->rx_len + len > WS_MAX_MESSAGE)
		return -1;
	if (c->rx_len + len + 1 > c->rx_cap) {
		cap = c->rx_cap ? c->rx_cap : 4096;
		while (cap < c->rx_len + len + 1)
			cap *= 2;
		c->rx = xrealloc(c->rx, cap);
		c->rx_cap = cap;
	}
	if (len)
		memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	c->rx[c->rx_len] = '\0';
	return 0;
}

static int
on_receive(struct ws_conn *c, struct lws *wsi, void *in, size_t len)
{
	if (!c->rx_in_msg) {
		c->rx_in_msg = 1;
		c->rx_len = 0;
		c->rx_binary = lws_frame_is_binary(wsi);
	}
	if (c->rx_overflow)
		return 0; /* discard until the close goes out */
	if (rx_append(c, in, len) < 0) {
		/*
		 * Closing from inside the receive callback crashes lws 4.1;
		 * close (1009) from the writeable callback instead.
		 */
		c->rx_overflow = 1;
		free(c->rx);
		c->rx = NULL;
		c->rx_len = c->rx_cap = 0;
		set_why(c, "message too large");
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 5);
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!lws_is_final_fragment(wsi))
		return 0;
	c->rx_in_msg = 0;
	if (!c->rx_binary && c->cbs.on_text && !c->close_requested)
		c->cbs.on_text(c->arg, c, c->rx, c->rx_len);
	if (c->finished)
		return 0; /* ws_ctx_free() ran inside on_text */
	c->rx_len = 0;
	if (c->rx_cap > 65536) {
		free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
	return 0;
}

static int
on_writeable(struct ws_conn *c, struct lws *wsi)
{
	struct ws_msg *m;
	int n;

	if (c->rx_overflow) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				 (unsigned char *)"too large", 9);
		return -1;
	}
	if (c->close_requested) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	m = c->q_head;
	if (m == NULL)
		return 0;
	c->q_head = m->next;
	if (c->q_head == NULL)
		c->q_tail = NULL;
	n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
	if (n < 0 || (size_t)n < m->len) {
		free(m);
		set_why(c, "write failed");
		return -1;
	}
	free(m);
	if (c->q_head)
		lws_callback_on_writable(wsi);
	return 0;
}

static int
lws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
       size_t len)
{
	struct ws_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	const unsigned char *p = in;
	char buf[64];

	(void)user;
	if (c == NULL)
		return 0; /* not ours (any more) */
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->wsi = wsi;
		c->state = S_OPEN;
		if (c->close_requested) {
			lws_callback_on_writable(wsi);
			break;
		}
		if (c->cbs.on_open)
			c->cbs.on_open(c->arg, c);
		if (!c->finished && c->wsi && (c->q_head || c->close_requested))
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_receive(c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(c, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c->close_requested || c->rx_overflow)
			break;
		if (len >= 2 && p) {
			snprintf(buf, sizeof(buf), "closed by peer (%u)",
				 (unsigned)(p[0] << 8 | p[1]));
			set_why(c, buf);
		} else {
			set_why(c, "closed by peer");
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		/* lws' reason strings name no URL; keep them short */
		if (in) {
			snprintf(buf, sizeof(buf), "connect failed: %.40s",
				 (const char *)in);
			conn_finish(c, buf);
		} else {
			conn_finish(c, "connect failed");
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		conn_finish(c, c->why ? c->why : "connection lost");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		conn_finish(c, c->why ? c->why : "connection lost");
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
    {PROTO_NAME, lws_cb, 0, 0, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ping after 30 s of silence, give up after 75 s without a valid frame */
static const lws_retry_bo_t retry_policy = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 75,
};

/* ---- connecting ---- */

static void
connect_resolved(struct ws_conn *c)
{
	struct lws_client_connect_info i;
	struct lws *wsi;

	memset(&i, 0, sizeof(i));
	i.context = c->x->lws;
	i.address = c->addr;
	i.port = c->port;
	i.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
	i.path = c->path;
	i.host = c->hosthdr; /* also used for SNI and cert name check */
	i.origin = NULL;
	i.protocol = NULL;
	i.ietf_version_or_minus_one = -1;
	i.local_protocol_name = PROTO_NAME;
	i.alpn = "http/1.1";
	i.opaque_user_data = c;
	i.retry_and_idle_policy = &retry_policy;

	c->state = S_CONNECTING;
	c->in_connect = 1;
	wsi = lws_client_connect_via_info(&i);
	c->in_connect = 0;
	if (c->finished) {
		/* failed synchronously: report now, we are on the loop */
		if (c->cbs.on_close)
			c->cbs.on_close(c->arg, c, c->why);
		conn_free_mem(c);
		return;
	}
	if (wsi == NULL) {
		conn_finish(c, "connect failed");
		return;
	}
	c->wsi = wsi;
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct ws_conn *c = req->data;
	int rc = -1;

	c->resolving = 0;
	if (c->orphan) {
		/* the context is gone; on_close was already delivered */
		uv_freeaddrinfo(res);
		conn_free_mem(c);
		return;
	}
	if (c->close_requested) {
		uv_freeaddrinfo(res);
		conn_finish(c, "closed");
		return;
	}
	if (status == 0 && res) {
		if (res->ai_family == AF_INET)
			rc = uv_ip4_name((struct sockaddr_in *)res->ai_addr,
					 c->addr, sizeof(c->addr));
		else if (res->ai_family == AF_INET6)
			rc = uv_ip6_name((struct sockaddr_in6 *)res->ai_addr,
					 c->addr, sizeof(c->addr));
	}
	uv_freeaddrinfo(res);
	if (rc != 0) {
		conn_finish(c, "name resolution failed");
		return;
	}
	connect_resolved(c);
}

static int
host_char_ok(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '.' || ch == '_';
}

/* splits a ws:// or wss:// URL; 0 or -1 */
static int
parse_url(struct ws_conn *c, const char *url)
{
	const char *p, *auth, *auth_end, *h, *h_end, *port_s = NULL;
	size_t i, hl;
	char buf[300];
	long port;

	if (!strncasecmp(url, "wss://", 6)) {
		c->tls = 1;
		c->port = 443;
		auth = url + 6;
	} else if (!strncasecmp(url, "ws://", 5)) {
		c->tls = 0;
		c->port = 80;
		auth = url + 5;
	} else {
		return -1;
	}
	auth_end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(auth_end - auth)))
		return -1; /* no credentials in URLs */
	if (*auth == '[') {
		h = auth + 1;
		h_end = memchr(h, ']', (size_t)(auth_end - h));
		if (h_end == NULL)
			return -1;
		for (p = h; p < h_end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' &&
			    *p != '.')
				return -1;
		if (h_end + 1 < auth_end) {
			if (h_end[1] != ':')
				return -1;
			port_s = h_end + 2;
		}
	} else {
		h = auth;
		h_end = memchr(auth, ':', (size_t)(auth_end - auth));
		if (h_end)
			port_s = h_end + 1;
		else
			h_end = auth_end;
		for (p = h; p < h_end; p++)
			if (!host_char_ok((unsigned char)*p))
				return -1;
	}
	hl = (size_t)(h_end - h);
	if (hl == 0 || hl > 253)
		return -1;
	if (port_s) {
		if (port_s == auth_end || auth_end - port_s > 5)
			return -1;
		port = 0;
		for (p = port_s; p < auth_end; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			return -1;
		c->port = (int)port;
	}
	c->host = xstrndup(h, hl);
	if (c->port == (c->tls ? 443 : 80))
		snprintf(buf, sizeof(buf), *auth == '[' ? "[%s]" : "%s",
			 c->host);
	else
		snprintf(buf, sizeof(buf), *auth == '[' ? "[%s]:%d" : "%s:%d",
			 c->host, c->port);
	c->hosthdr = xstrndup(buf, strlen(buf));

	/* path and query, without any fragment */
	p = auth_end;
	hl = strcspn(p, "#");
	for (i = 0; i < hl; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return -1;
	if (hl == 0 || *p != '/') {
		c->path = xmalloc(hl + 2);
		c->path[0] = '/';
		memcpy(c->path + 1, p, hl);
		c->path[hl + 1] = '\0';
	} else {
		c->path = xstrndup(p, hl);
	}
	return 0;
}

/* ---- public API ---- */

static int lws_handles_remain(struct ws_ctx *x);

static void
log_emit(int level, const char *line)
{
	/* lws ends its lines with a newline: log.c drops it */
	if (level & LLL_ERR)
		log_error("ws: lws: %s", line);
	else
		log_warnx("ws: lws: %s", line);
}

struct ws_ctx *
ws_ctx_new(uv_loop_t *loop)
{
	struct lws_context_creation_info info;
	struct ws_ctx *x;
	void *loops[1];

	if (loop == NULL)
		return NULL;
	lws_set_log_level(LLL_ERR, log_emit);
	x = xcalloc(1, sizeof(*x));
	x->loop = loop;
	loops[0] = loop;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBUV |
		       LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.foreign_loops = loops; /* only read during creation */
	info.gid = -1;
	info.uid = -1;
	x->lws = lws_create_context(&info);
	if (x->lws == NULL) {
		free(x);
		return NULL;
	}
	x->lws_id = x->lws;
	uv_timer_init(loop, &x->teardown);
	x->teardown.data = x;
	/* see walk_cb(); without such handles fall back to a grace period */
	x->trackable = lws_handles_remain(x);
	return x;
}

/*
 * lws 4.1 marks the uv handles it owns (idle, timers) with the context
 * pointer in handle->data and closes them only after all its per-socket
 * handles are closed.  Once none is left on the loop, the second
 * lws_context_destroy() can free the context without dangling callbacks.
 */
static void
walk_cb(uv_handle_t *h, void *arg)
{
	struct ws_ctx *x = arg;

	if (h->data == x->lws_id && h != (uv_handle_t *)&x->teardown)
		x->found = 1;
}

static int
lws_handles_remain(struct ws_ctx *x)
{
	x->found = 0;
	uv_walk(x->loop, walk_cb, x);
	return x->found;
}

static void
on_teardown_closed(uv_handle_t *h)
{
	struct ws_ctx *x = h->data;
	struct ws_conn *c;

	while ((c = x->graveyard)) {
		x->graveyard = c->next;
		conn_free_mem(c);
	}
	free(x);
}

static void
on_teardown(uv_timer_t *t)
{
	struct ws_ctx *x = t->data;

	if (x->stage == 0) {
		/* first call: lws starts closing its sockets and handles */
		x->stage = 1;
		x->t0 = uv_now(x->loop);
		lws_context_destroy(x->lws);
		return;
	}
	if (!x->trackable && uv_now(x->loop) - x->t0 < TEARDOWN_GRACE_MS)
		return;
	if (lws_handles_remain(x)) {
		if (uv_now(x->loop) - x->t0 < TEARDOWN_MAX_MS)
			return;
		/* better a leak than a use-after-free */
		log_warnx("ws: lws did not release the loop in time");
	} else {
		lws_context_destroy(x->lws); /* second call: frees it */
		x->lws = NULL;
	}
	x->stage = 2;
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, on_teardown_closed);
}

void
ws_ctx_free(struct ws_ctx *x)
{
	struct ws_conn *c;

	if (x == NULL || x->freed)
		return;
	x->freed = 1;
	while ((c = x->conns)) {
		conn_unlink(c);
		c->finished = 1;
		if (c->wsi)
			lws_set_opaque_user_data(c->wsi, NULL);
		c->wsi = NULL;
		if (c->resolving) {
			c->orphan = 1; /* on_resolved() frees it */
			uv_cancel((uv_req_t *)&c->gai);
		} else {
			c->next = x->graveyard;
			x->graveyard = c;
		}
		if (c->cbs.on_close)
			c->cbs.on_close(c->arg, c, "context freed");
	}
	/* lws is never destroyed from inside its own callbacks */
	uv_timer_start(&x->teardown, on_teardown, 0, 1);
}

struct ws_conn *
ws_connect(struct ws_ctx *x, const char *url, const struct ws_cbs *cbs,
	   void *arg)
{
	struct addrinfo hints;
	struct ws_conn *c;

	if (x == NULL || x->freed || url == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->x = x;
	if (cbs)
		c->cbs = *cbs;
	c->arg = arg;
	if (parse_url(c, url) < 0) {
		conn_free_mem(c);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	c->gai.data = c;
	c->state = S_RESOLVING;
	if (uv_getaddrinfo(x->loop, &c->gai, on_resolved, c->host, NULL,
			   &hints) != 0) {
		conn_free_mem(c);
		return NULL;
	}
	c->resolving = 1;
	c->next = x->conns;
	if (x->conns)
		x->conns->prev = c;
	x->conns = c;
	return c;
}

int
ws_send_text(struct ws_conn *c, const char *msg, size_t len)
{
	struct ws_msg *m;

	if (c == NULL || c->finished || c->close_requested ||
	    len > WS_MAX_MESSAGE || (msg == NULL && len))
		return -1;
	m = xmalloc(sizeof(*m) + LWS_PRE + len);
	m->next = NULL;
	m->len = len;
	if (len)
		memcpy(m->buf + LWS_PRE, msg, len);
	if (c->q_tail)
		c->q_tail->next = m;
	else
		c->q_head = m;
	c->q_tail = m;
	if (c->state == S_OPEN && c->wsi)
		lws_callback_on_writable(c->wsi);
	return 0;
}

void
ws_close(struct ws_conn *c)
{
	if (c == NULL || c->finished || c->close_requested)
		return;
	c->close_requested = 1;
	set_why(c, "closed");
	if (c->resolving) {
		uv_cancel((uv_req_t *)&c->gai); /* on_resolved reports */
		return;
	}
	if (c->wsi == NULL)
		return; /* inside connect: handled when it returns */
	if (c->state == S_OPEN) {
		/* close frame from the writeable callback; 5 s backstop */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
		lws_callback_on_writable(c->wsi);
	} else {
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
				LWS_TO_KILL_ASYNC);
	}
	/*
	 * Outside lws' own callbacks nothing re-arms its uv timer for the
	 * timeout just set: wake lws so that it services it.
	 */
	lws_cancel_service(c->x->lws);
}
