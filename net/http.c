/*
 * http.c - asynchronous HTTP client: curl multi-socket API on a libuv loop
 * (uv_poll_t per curl socket, one uv_timer_t for curl's timeout).
 */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "../base/util.h"

struct http_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http *h;
	struct http_sock *prev, *next; /* h->socks while open */
};

struct http_pending {
	struct http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body; /* request body copy */
	char *resp; /* response body */
	size_t resp_len, resp_cap;
	long retry_after_s;
	int too_big;
	http_cb cb;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct http_pending *prev, *next;
};

struct http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct http_pending *reqs;
	struct http_sock *socks;
	int depth; /* nesting of dispatch from the loop */
	int closing;
	int torn_down;
};

static char *
xmemdup(const char *s, size_t len)
{
	char *p = xcalloc(1, len + 1);

	if (len)
		memcpy(p, s, len);
	return p;
}

/* ---- request bookkeeping ---- */

static void
req_link(struct http *h, struct http_pending *r)
{
	r->prev = NULL;
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
}

static void
req_unlink(struct http *h, struct http_pending *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void
req_destroy(struct http_pending *r)
{
	if (r == NULL)
		return;
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r->resp);
	free(r);
}

/*
 * Detaches r from h and from the multi handle, runs the callback and frees
 * r.  err NULL means the transfer itself succeeded.
 */
static void
req_complete(struct http_pending *r, const char *err)
{
	struct http *h = r->h;
	struct http_res res;
	char *ctype = NULL;
	long status = 0;

	req_unlink(h, r);
	curl_multi_remove_handle(h->multi, r->easy);

	memset(&res, 0, sizeof(res));
	res.body = "";
	res.retry_after_s = -1;
	if (err == NULL) {
		/* ctype stays owned by the easy handle until req_destroy */
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
		res.status = status;
		if (r->resp) {
			res.body = r->resp;
			res.body_len = r->resp_len;
		}
		res.retry_after_s = r->retry_after_s;
		res.content_type = ctype;
	}
	r->cb(r->arg, &res, err);
	req_destroy(r);
}

static const char *
req_error(struct http_pending *r, CURLcode rc)
{
	if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return "response body too large";
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return "timed out";
	/* curl's own messages name hosts at most, never URL paths */
	if (r->errbuf[0])
		return r->errbuf;
	return curl_easy_strerror(rc);
}

static void
check_multi_info(struct http *h)
{
	struct http_pending *r;
	CURLMsg *msg;
	void *priv;
	int left;

	/* the callbacks may add requests or free h (then h->closing is set) */
	while (!h->closing) {
		msg = curl_multi_info_read(h->multi, &left);
		if (msg == NULL)
			break;
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		r = priv;
		if (r == NULL)
			continue;
		req_complete(r, msg->data.result == CURLE_OK
				    ? NULL
				    : req_error(r, msg->data.result));
	}
}

/* ---- teardown ---- */

static void
on_timer_closed(uv_handle_t *hd)
{
	free(hd->data);
}

static void
on_sock_closed(uv_handle_t *hd)
{
	free(hd->data);
}

static void
sock_close(struct http *h, struct http_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void
teardown(struct http *h)
{
	if (h->torn_down)
		return;
	h->torn_down = 1;
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	while (h->socks)
		sock_close(h, h->socks);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, on_timer_closed);
	curl_global_cleanup();
}

static void
dispatch_leave(struct http *h)
{
	h->depth--;
	if (h->closing && h->depth == 0)
		teardown(h);
}

/* ---- libuv <-> curl glue ---- */

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct http_sock *s = p->data;
	struct http *h = s->h;
	int flags = 0, running;

	if (h->closing)
		return;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	h->depth++;
	/* s may be closed by the socket callback from here on */
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_multi_info(h);
	dispatch_leave(h);
}

static void
on_timeout(uv_timer_t *t)
{
	struct http *h = t->data;
	int running;

	if (h->closing)
		return;
	h->depth++;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(h);
	dispatch_leave(h);
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct http_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(h->multi, fd, NULL);
			sock_close(h, s);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->h = h;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->next = h->socks;
		if (h->socks)
			h->socks->prev = s;
		h->socks = s;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	if (uv_poll_start(&s->poll, events, on_poll) != 0)
		return -1;
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_timeout, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- curl easy callbacks ---- */

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_pending *r = userp;
	size_t n = size * nmemb, cap;

	if (n > HTTP_MAX_BODY || r->resp_len + n > HTTP_MAX_BODY) {
		r->too_big = 1;
		return 0; /* aborts with CURLE_WRITE_ERROR */
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		cap = r->resp_cap ? r->resp_cap : 4096;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		if (cap > HTTP_MAX_BODY + 1)
			cap = HTTP_MAX_BODY + 1;
		r->resp = xrealloc(r->resp, cap);
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

static long
parse_retry_after(const char *v, size_t len)
{
	char buf[128];
	long secs = 0;
	time_t t, now;
	size_t i;

	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	if (!len || len >= sizeof(buf))
		return -1;
	if (isdigit((unsigned char)v[0])) {
		for (i = 0; i < len; i++) {
			if (!isdigit((unsigned char)v[i]))
				return -1;
			if (secs > 100000000L) /* ~3 years: clamp */
				continue;
			secs = secs * 10 + (v[i] - '0');
		}
		return secs;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	t = curl_getdate(buf, NULL);
	if (t == -1)
		return -1;
	now = time(NULL);
	return t > now ? (long)(t - now) : 0;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	static const char name[] = "retry-after:";
	struct http_pending *r = userp;
	size_t n = size * nmemb;

	/* a new status line (redirect, 1xx) starts a new header set */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
		r->retry_after_s = -1;
	else if (n > sizeof(name) - 1 &&
		 strncasecmp(data, name, sizeof(name) - 1) == 0)
		r->retry_after_s = parse_retry_after(data + sizeof(name) - 1,
						     n - (sizeof(name) - 1));
	return n;
}

/* ---- public API ---- */

struct http *
http_new(uv_loop_t *loop)
{
	struct http *h;

	if (loop == NULL)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		free(h);
		curl_global_cleanup();
		return NULL;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void
http_free(struct http *h)
{
	if (h == NULL || h->closing)
		return;
	h->closing = 1;
	/* the callbacks below may not start requests: h->closing is set */
	while (h->reqs)
		req_complete(h->reqs, "cancelled");
	if (h->depth == 0)
		teardown(h);
}

static int
valid_method(const char *m)
{
	size_t i, n;

	if (m == NULL)
		return 0;
	n = strlen(m);
	if (n == 0 || n > 15)
		return 0;
	for (i = 0; i < n; i++)
		if (!isupper((unsigned char)m[i]) && m[i] != '-' && m[i] != '_')
			return 0;
	return 1;
}

static int
valid_header(const char *s)
{
	return s && !strpbrk(s, "\r\n") && strchr(s, ':') != s && *s;
}

int
http_request(struct http *h, const struct http_req *req, http_cb cb, void *arg)
{
	struct http_pending *r = NULL;
	const char *const *hp;
	long timeout;
	int bodyless, ret = -1;

	if (h == NULL || h->closing || req == NULL || cb == NULL ||
	    req->url == NULL || !*req->url || !valid_method(req->method) ||
	    (req->body_len && req->body == NULL) || req->timeout_ms < 0)
		goto out;
	bodyless = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
	if (bodyless && req->body)
		goto out;
	if (req->headers)
		for (hp = req->headers; *hp; hp++)
			if (!valid_header(*hp))
				goto out;

	r = xcalloc(1, sizeof(*r));
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->retry_after_s = -1;
	r->easy = curl_easy_init();
	if (r->easy == NULL)
		goto out;
	if (req->headers != NULL)
		for (hp = req->headers; *hp != NULL; hp++) {
			r->hdrs = curl_slist_append(r->hdrs, *hp);
			if (r->hdrs == NULL)
				abort();
		}
	/* never wait for "100 Continue" */
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	if (r->hdrs == NULL)
		abort();

	timeout = req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	if (curl_easy_setopt(r->easy, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https") !=
		CURLE_OK)
		goto out;
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "ismsd");
	curl_easy_setopt(r->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)HTTP_MAX_BODY);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);

	if (!strcmp(req->method, "GET")) {
		curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(r->easy, CURLOPT_NOBODY, 1L);
	} else {
		r->body = xmemdup(req->body ? req->body : "", req->body_len);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST,
					 req->method);
	}

	req_link(h, r);
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		req_unlink(h, r);
		goto out;
	}
	r = NULL;
	ret = 0;
out:
	req_destroy(r);
	return ret;
}
