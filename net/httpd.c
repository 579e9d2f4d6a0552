/*
 * httpd.c - minimal HTTP/1.1 server on libuv TCP: incremental request
 * parser, keep-alive, in-order pipelining, asynchronous responses.
 */
#include "httpd.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../base/log.h"
#include "../base/util.h"

#define STASH_MAX (64 * 1024) /* pipelined bytes kept while busy */
#define LINGER_MS 2000u
#define READ_BUF  (64 * 1024)

enum { P_HEAD, P_BODY, P_DONE, P_ERROR, P_HOLD };

/* ---- parser ---- */

static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

void
httpd_parser_init(struct httpd_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = P_HEAD;
	p->req.body = "";
}

void
httpd_parser_reset(struct httpd_parser *p)
{
	char *head = p->head;
	size_t cap = p->head_cap;
	int hold = p->hold_body;

	free(p->body);
	/* keep a small head buffer around for the next request */
	if (cap > 4096) {
		free(head);
		head = NULL;
		cap = 0;
	}
	httpd_parser_init(p);
	p->head = head;
	p->head_cap = cap;
	p->hold_body = hold;
}

void
httpd_parser_free(struct httpd_parser *p)
{
	int hold;

	if (p == NULL)
		return;
	hold = p->hold_body;
	free(p->body);
	free(p->head);
	httpd_parser_init(p);
	p->hold_body = hold;
}

void
httpd_parser_take_body(struct httpd_parser *p)
{
	if (p->state != P_HOLD)
		return;
	p->body = xmalloc(p->body_want + 1);
	p->state = P_BODY;
}

const char *
httpd_header(const struct httpd_request *r, const char *name)
{
	size_t i;

	if (r == NULL || name == NULL)
		return NULL;
	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static int
parse_request_line(struct httpd_request *r, char *line, size_t len)
{
	char *sp1, *target, *sp2, *ver;
	size_t mlen, tlen, vlen, i;

	sp1 = memchr(line, ' ', len);
	if (sp1 == NULL || sp1 == line)
		return 400;
	mlen = (size_t)(sp1 - line);
	for (i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)line[i]))
			return 400;
	if (mlen >= sizeof(r->method))
		return 501;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', len - mlen - 1);
	if (sp2 == NULL || sp2 == target)
		return 400;
	tlen = (size_t)(sp2 - target);
	for (i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 ||
		    (unsigned char)target[i] >= 0x7f)
			return 400;
	if (tlen >= sizeof(r->path))
		return 414;
	ver = sp2 + 1;
	vlen = len - (size_t)(ver - line);
	if (vlen != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[5] < '0' ||
	    ver[5] > '9' || ver[6] != '.' || ver[7] < '0' || ver[7] > '9')
		return 400;
	if (ver[5] != '1')
		return 505;
	r->version = ver[7] == '0' ? 10 : 11;
	memcpy(r->method, line, mlen);
	r->method[mlen] = '\0';
	memcpy(r->path, target, tlen);
	r->path[tlen] = '\0';
	return 0;
}

/* splits "name: value" in place; returns 0 or an HTTP status */
static int
parse_header_line(struct httpd_request *r, char *line, size_t len)
{
	char *colon, *v, *end;
	size_t i;

	colon = memchr(line, ':', len);
	if (colon == NULL || colon == line)
		return 400;
	for (i = 0; line + i < colon; i++)
		if (!is_tchar((unsigned char)line[i]))
			return 400; /* also catches obs-fold and "a :" */
	v = colon + 1;
	end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (i = 0; v + i < end; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 400;
	}
	if (r->nheaders >= HTTPD_MAX_HEADERS)
		return 431;
	*colon = '\0';
	*end = '\0';
	r->headers[r->nheaders].name = line;
	r->headers[r->nheaders].value = v;
	r->nheaders++;
	return 0;
}

static int
has_token(const char *list, const char *tok)
{
	size_t tl = strlen(tok);
	const char *s = list;

	while (*s) {
		size_t n;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		n = strcspn(s, ", \t");
		if (n == tl && strncasecmp(s, tok, tl) == 0)
			return 1;
		s += n;
	}
	return 0;
}

/* interprets the semantic headers; returns 0 or an HTTP status */
static int
check_headers(struct httpd_parser *p)
{
	struct httpd_request *r = &p->req;
	int hosts = 0, have_cl = 0, expect = 0, ka;
	size_t i, cl = 0;

	ka = r->version >= 11;
	for (i = 0; i < r->nheaders; i++) {
		const char *n = r->headers[i].name, *v = r->headers[i].value;

		if (!strcasecmp(n, "content-length")) {
			size_t val = 0;
			const char *d = v;

			if (!*d)
				return 400;
			for (; *d; d++) {
				if (*d < '0' || *d > '9')
					return 400;
				if (val <= HTTPD_MAX_BODY)
					val = val * 10 + (size_t)(*d - '0');
			}
			if (have_cl && val != cl)
				return 400;
			have_cl = 1;
			cl = val;
		} else if (!strcasecmp(n, "transfer-encoding")) {
			return 501;
		} else if (!strcasecmp(n, "host")) {
			hosts++;
		} else if (!strcasecmp(n, "connection")) {
			if (has_token(v, "close"))
				ka = 0;
			else if (has_token(v, "keep-alive"))
				ka = 1;
		} else if (!strcasecmp(n, "expect")) {
			if (strcasecmp(v, "100-continue") != 0)
				return 417;
			expect = 1;
		}
	}
	if (hosts > 1 || (r->version >= 11 && hosts != 1))
		return 400;
	if (cl > HTTPD_MAX_BODY)
		return 413;
	r->keep_alive = ka;
	p->body_want = cl;
	p->expect_continue = expect && r->version >= 11 && cl > 0;
	return 0;
}

/* the head is complete in p->head[0..head_len); returns 0 or a status */
static int
parse_head(struct httpd_parser *p)
{
	char *s = p->head, *end = p->head + p->head_len, *nl, *line;
	size_t len;
	int first = 1, rc;

	if (memchr(s, '\0', p->head_len))
		return 400;
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			return 400; /* cannot happen: head ends in LF */
		line = s;
		len = (size_t)(nl - s);
		s = nl + 1;
		if (len && line[len - 1] == '\r')
			len--;
		if (memchr(line, '\r', len))
			return 400; /* bare CR */
		line[len] = '\0';
		if (!len)
			break; /* end of head */
		if (first) {
			rc = parse_request_line(&p->req, line, len);
			first = 0;
		} else {
			rc = parse_header_line(&p->req, line, len);
		}
		if (rc)
			return rc;
	}
	if (first)
		return 400;
	return check_headers(p);
}

static int
parse_fail(struct httpd_parser *p, int status, int *out)
{
	p->state = P_ERROR;
	p->status = status;
	p->expect_continue = 0;
	if (out)
		*out = status;
	return -1;
}

static void
head_append(struct httpd_parser *p, const char *d, size_t n)
{
	size_t cap;

	if (p->head_len + n + 1 > p->head_cap) {
		cap = p->head_cap ? p->head_cap : 1024;
		while (cap < p->head_len + n + 1)
			cap *= 2;
		p->head = xrealloc(p->head, cap);
		p->head_cap = cap;
	}
	memcpy(p->head + p->head_len, d, n);
	p->head_len += n;
	p->head[p->head_len] = '\0';
}

static void
body_done(struct httpd_parser *p)
{
	p->state = P_DONE;
	p->expect_continue = 0;
	if (p->body) {
		p->body[p->body_want] = '\0';
		p->req.body = p->body;
	} else {
		p->req.body = "";
	}
	p->req.body_len = p->body_want;
}

int
httpd_parser_feed(struct httpd_parser *p, const char *data, size_t len,
		  size_t *used, int *status)
{
	size_t i = 0, n;
	const char *nl;
	int rc = 0;

	*used = 0;
	if (p->state == P_ERROR) {
		if (status)
			*status = p->status;
		return -1;
	}
	if (p->state == P_DONE)
		return 1;
	if (p->state == P_HOLD)
		return 2;
	if (data == NULL)
		len = 0;

	while (i < len && p->state == P_HEAD) {
		/* tolerate empty lines before the request line */
		if (p->head_len == 0 && (data[i] == '\r' || data[i] == '\n')) {
			i++;
			if (++p->skipped > HTTPD_MAX_HEAD) {
				*used = i;
				return parse_fail(p, 431, status);
			}
			continue;
		}
		nl = memchr(data + i, '\n', len - i);
		n = nl ? (size_t)(nl - (data + i)) + 1 : len - i;
		if (p->head_len + n > HTTPD_MAX_HEAD) {
			*used = i;
			return parse_fail(p, 431, status);
		}
		head_append(p, data + i, n);
		i += n;
		if (nl == NULL)
			break;
		n = p->head_len - p->line_start; /* line incl. LF */
		if (n == 1 || (n == 2 && p->head[p->line_start] == '\r')) {
			rc = parse_head(p);
			if (rc) {
				*used = i;
				return parse_fail(p, rc, status);
			}
			if (p->body_want && p->hold_body) {
				p->state = P_HOLD;
				p->req.body_len = p->body_want;
				*used = i;
				return 2;
			} else if (p->body_want) {
				p->body = xmalloc(p->body_want + 1);
				p->state = P_BODY;
			} else {
				body_done(p);
			}
		} else {
			p->line_start = p->head_len;
		}
	}
	if (p->state == P_BODY && i < len) {
		n = len - i;
		if (n > p->body_want - p->body_have)
			n = p->body_want - p->body_have;
		memcpy(p->body + p->body_have, data + i, n);
		p->body_have += n;
		i += n;
		if (p->body_have == p->body_want)
			body_done(p);
	}
	*used = i;
	return p->state == P_DONE ? 1 : 0;
}

/* ---- server ---- */

enum { C_READING, C_HANDLING, C_WRITING, C_LINGER };
enum { T_IDLE, T_REQUEST, T_WRITE, T_LINGER };

#define ADDR_BUCKETS 1024
#define TRIM_AFTER   (1024 * 1024) /* body bytes freed before a trim */
#define TRIM_MS	     2000u	   /* a trim at most this often */
#define REPORT_FIRST 1000u	   /* the first line gathers a burst */
#define NOFILE_MAX   65536ul	   /* the soft limit is raised to this */
#define RETRY_AFTER  "Retry-After: 5\r\n"

/* Open connections from one client address. */
struct addr_slot {
	unsigned char key[17]; /* family, then the address */
	unsigned conns;
	struct addr_slot *next;
};

struct httpd {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t report; /* the limits' log line */
	uv_timer_t trim;   /* hands freed body memory back after a burst */
	httpd_handler handler;
	void *arg;
	struct httpd_limits lim;
	unsigned cap; /* lim.max_conns below the open-file limit */
	unsigned long nofile;
	int port;
	int refs; /* owner + listener, report, trim handles + one per conn */
	int closing;
	size_t nconns;
	size_t body_bytes;  /* reserved by the bodies held */
	size_t freed_bytes; /* body bytes freed since the last trim */
	struct httpd_conn *conns;
	struct httpd_conn *idle_head, *idle_tail; /* longest idle first */
	struct addr_slot *addrs[ADDR_BUCKETS];
	/* counts since start, and as of the last log line */
	unsigned long evicted, refused, addr_hits, timeouts, budget_503;
	unsigned long reports;
	unsigned long r_evicted, r_refused, r_addr, r_timeouts, r_budget;
	unsigned long tls_fails, r_tls_fails; /* handshakes that failed */
	uint64_t last_report;		      /* uv_now() of the last line */
	SSL_CTX *tls;			      /* NULL: plain HTTP */
	char rbuf[READ_BUF];
	char pbuf[16384]; /* plaintext out of one TLS record */
};

struct httpd_conn {
	struct httpd *srv;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shut;
	int refs; /* open tcp + open timer + pending request */
	int state;
	int tkind;  /* what the timer guards: T_* */
	int closed; /* uv_close() issued */
	int reading;
	int peer_eof;
	int close_after; /* linger-close once the response is out */
	int discard;	 /* drop further input */
	int sent_continue;
	int idle; /* on the idle list: no request under way */
	struct httpd_parser parser;
	size_t body_bytes;	/* reserved from the server's budget */
	struct addr_slot *addr; /* NULL when the peer is unknown */
	char *stash;		/* bytes received while not READING */
	size_t stash_len, stash_cap;
	struct httpd_conn *prev, *next;	  /* all connections */
	struct httpd_conn *iprev, *inext; /* idle ones */
	SSL *ssl;			  /* NULL on a plain HTTP server */
	BIO *rbio, *wbio;		  /* owned by ssl */
};

struct wreq {
	uv_write_t req;
	struct httpd_conn *c;
	int is_continue; /* or TLS records: no response completes */
	size_t len;
	char data[];
};

static void conn_feed(struct httpd_conn *c, const char *data, size_t len);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* ---- limits: accounting and the log line ---- */

void
httpd_limits_default(struct httpd_limits *l)
{
	l->max_conns = HTTPD_DEFAULT_MAX_CONNS;
	l->max_per_addr = HTTPD_DEFAULT_MAX_PER_ADDR;
	l->idle_ms = HTTPD_DEFAULT_IDLE_MS;
	l->header_ms = HTTPD_DEFAULT_HEADER_MS;
	l->body_budget = HTTPD_DEFAULT_BODY_BUDGET;
}

static void
report_flush(struct httpd *s)
{
	unsigned long ev = s->evicted - s->r_evicted,
		      rf = s->refused - s->r_refused,
		      ad = s->addr_hits - s->r_addr,
		      to = s->timeouts - s->r_timeouts,
		      bu = s->budget_503 - s->r_budget,
		      tf = s->tls_fails - s->r_tls_fails;
	char line[640];
	size_t n = 0;

#define PART(...)                                                              \
	do {                                                                   \
		if (n < sizeof(line))                                          \
			n += (size_t)snprintf(line + n, sizeof(line) - n,      \
					      __VA_ARGS__);                    \
	} while (0)
	if (!ev && !rf && !ad && !to && !bu && !tf)
		return;
	if (ev)
		PART("; %lu idle or slow connection%s closed to make room", ev,
		     ev == 1 ? "" : "s");
	if (rf)
		PART("; %lu new connection%s refused, all busy", rf,
		     rf == 1 ? "" : "s");
	if (ad)
		PART("; %lu over the limit of %u per client address", ad,
		     s->lim.max_per_addr);
	if (to)
		PART("; %lu request%s not complete within %u.%u s", to,
		     to == 1 ? "" : "s", s->lim.header_ms / 1000,
		     s->lim.header_ms % 1000 / 100);
	if (bu)
		PART("; %lu request%s answered 503, their bodies over the "
		     "%zu bytes allowed in flight",
		     bu, bu == 1 ? "" : "s", s->lim.body_budget);
#undef PART
	if (n)
		log_warnx("http: connection limits in force (at most %u "
			  "open)%s",
			  s->cap, line);
	if (tf)
		log_warnx("http: %lu TLS handshake%s failed (not TLS, or no "
			  "common version or cipher); connection%s closed",
			  tf, tf == 1 ? "" : "s", tf == 1 ? "" : "s");
	s->r_tls_fails = s->tls_fails;
	s->r_evicted = s->evicted;
	s->r_refused = s->refused;
	s->r_addr = s->addr_hits;
	s->r_timeouts = s->timeouts;
	s->r_budget = s->budget_503;
	s->reports++;
	s->last_report = uv_now(s->loop);
}

static void
on_report(uv_timer_t *t)
{
	report_flush(t->data);
}

/*
 * A limit bit: the counts go out in one line shortly (gathering the
 * burst), and never sooner than HTTPD_REPORT_MS after the last line.
 */
static void
limit_hit(struct httpd *s)
{
	uint64_t now = uv_now(s->loop), at = now + REPORT_FIRST;

	if (s->closing || uv_is_active((uv_handle_t *)&s->report))
		return;
	if (s->reports && s->last_report + HTTPD_REPORT_MS > at)
		at = s->last_report + HTTPD_REPORT_MS;
	uv_timer_start(&s->report, on_report, at - now, 0);
}

static void
on_trim(uv_timer_t *t)
{
	struct httpd *s = t->data;

	s->freed_bytes = 0;
	malloc_trim(0);
}

static void
body_release(struct httpd_conn *c)
{
	struct httpd *s = c->srv;

	if (!c->body_bytes)
		return;
	s->body_bytes -= c->body_bytes;
	s->freed_bytes += c->body_bytes;
	c->body_bytes = 0;
	if (s->freed_bytes >= TRIM_AFTER && !s->closing &&
	    !uv_is_active((uv_handle_t *)&s->trim))
		uv_timer_start(&s->trim, on_trim, TRIM_MS, 0);
}

static unsigned
addr_hash(const unsigned char *k)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 17; i++)
		h = (h ^ k[i]) * 16777619u;
	return h % ADDR_BUCKETS;
}

/* The slot of the peer's address, its count raised; NULL if unknown. */
static struct addr_slot *
addr_get(struct httpd *s, uv_tcp_t *tcp)
{
	struct sockaddr_storage ss;
	unsigned char key[17];
	struct addr_slot *a;
	int len = sizeof(ss);
	unsigned h;

	memset(key, 0, sizeof(key));
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0)
		return NULL;
	if (ss.ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	} else {
		return NULL;
	}
	h = addr_hash(key);
	for (a = s->addrs[h]; a; a = a->next)
		if (!memcmp(a->key, key, sizeof(key)))
			break;
	if (a == NULL) {
		a = xcalloc(1, sizeof(*a));
		memcpy(a->key, key, sizeof(key));
		a->next = s->addrs[h];
		s->addrs[h] = a;
	}
	a->conns++;
	return a;
}

static void
addr_put(struct httpd *s, struct addr_slot *a)
{
	struct addr_slot **pp;

	if (a == NULL || --a->conns > 0)
		return;
	for (pp = &s->addrs[addr_hash(a->key)]; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	free(a);
}

static void
idle_set(struct httpd_conn *c, int on)
{
	struct httpd *s = c->srv;

	if (on == c->idle || (on && c->closed))
		return;
	if (on) {
		c->inext = NULL;
		c->iprev = s->idle_tail;
		if (s->idle_tail)
			s->idle_tail->inext = c;
		else
			s->idle_head = c;
		s->idle_tail = c;
	} else {
		if (c->iprev)
			c->iprev->inext = c->inext;
		else
			s->idle_head = c->inext;
		if (c->inext)
			c->inext->iprev = c->iprev;
		else
			s->idle_tail = c->iprev;
		c->iprev = c->inext = NULL;
	}
	c->idle = on;
}

/* no byte of a request received yet */
static int
parser_empty(const struct httpd_parser *p)
{
	return p->state == P_HEAD && p->head_len == 0 && p->skipped == 0;
}

/* ---- connections ---- */

static void
srv_unref(struct httpd *s)
{
	size_t i;

	if (--s->refs > 0)
		return;
	SSL_CTX_free(s->tls);
	for (i = 0; i < ADDR_BUCKETS; i++)
		while (s->addrs[i]) {
			struct addr_slot *a = s->addrs[i];

			s->addrs[i] = a->next;
			free(a);
		}
	free(s);
}

static void
conn_unref(struct httpd_conn *c)
{
	if (--c->refs > 0)
		return;
	body_release(c);
	httpd_parser_free(&c->parser);
	SSL_free(c->ssl);
	free(c->stash);
	srv_unref(c->srv);
	free(c);
}

static void
on_conn_handle_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

static void
conn_close(struct httpd_conn *c)
{
	struct httpd *s = c->srv;

	if (c->closed)
		return;
	c->closed = 1;
	idle_set(c, 0);
	addr_put(s, c->addr);
	c->addr = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nconns--;
	uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void
on_timer(uv_timer_t *t)
{
	struct httpd_conn *c = t->data;

	if (c->tkind == T_REQUEST && c->state == C_READING) {
		c->srv->timeouts++;
		limit_hit(c->srv);
	}
	conn_close(c);
}

static void
arm(struct httpd_conn *c, int kind, unsigned ms)
{
	c->tkind = kind;
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Waiting for a request: idle until its first byte, then on the clock. */
static void
conn_wait(struct httpd_conn *c)
{
	c->state = C_READING;
	if (parser_empty(&c->parser)) {
		idle_set(c, 1);
		arm(c, T_IDLE, c->srv->lim.idle_ms);
	} else {
		idle_set(c, 0);
		arm(c, T_REQUEST, c->srv->lim.header_ms);
	}
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct httpd_conn *c = h->data;

	(void)suggested;
	/* one buffer per server: read_cb consumes it before the next alloc */
	buf->base = c->srv->rbuf;
	buf->len = sizeof(c->srv->rbuf);
}

static void
set_reading(struct httpd_conn *c, int on)
{
	if (c->closed || c->peer_eof)
		on = 0;
	if (on && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) ==
		    0)
			c->reading = 1;
	} else if (!on && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
}

static void
stash_append(struct httpd_conn *c, const char *d, size_t n)
{
	size_t cap;

	if (!n)
		return;
	if (c->stash_len + n > c->stash_cap) {
		cap = c->stash_cap ? c->stash_cap : 4096;
		while (cap < c->stash_len + n)
			cap *= 2;
		c->stash = xrealloc(c->stash, cap);
		c->stash_cap = cap;
	}
	memcpy(c->stash + c->stash_len, d, n);
	c->stash_len += n;
}

/* the stash holds the complete head of a next request */
static int
stash_has_head(const struct httpd_conn *c)
{
	return c->stash_len && (memmem(c->stash, c->stash_len, "\r\n\r\n", 4) ||
				memmem(c->stash, c->stash_len, "\n\n", 2));
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return status < 300   ? "OK"
		       : status < 400 ? "Redirect"
		       : status < 500 ? "Client Error"
				      : "Server Error";
	}
}

static void on_write(uv_write_t *w, int status);

/* queues wr as it is (on a TLS connection: records already made) */
static int
raw_write(struct httpd_conn *c, struct wreq *wr)
{
	uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);

	wr->c = c;
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		free(wr);
		conn_close(c);
		return -1;
	}
	return 0;
}

/*
 * Queues the TLS records waiting in the write BIO; is_continue as for
 * the plaintext they carry.  0, or -1 when the connection was closed.
 */
static int
tls_flush(struct httpd_conn *c, int is_continue)
{
	size_t n = BIO_ctrl_pending(c->wbio);
	struct wreq *wr;

	if (n == 0) {
		if (is_continue)
			return 0;
		/* a response must complete through on_write */
		wr = xmalloc(sizeof(*wr));
		wr->len = 0;
	} else {
		wr = xmalloc(sizeof(*wr) + n);
		wr->len = (size_t)BIO_read(c->wbio, wr->data, (int)n);
		if ((int)wr->len < 0)
			wr->len = 0;
	}
	wr->is_continue = is_continue;
	return raw_write(c, wr);
}

static int
conn_write(struct httpd_conn *c, struct wreq *wr)
{
	int is_continue = wr->is_continue, n;

	if (c->ssl == NULL)
		return raw_write(c, wr);
	ERR_clear_error();
	n = SSL_write(c->ssl, wr->data, (int)wr->len);
	free(wr);
	if (n <= 0) {
		ERR_clear_error();
		conn_close(c);
		return -1;
	}
	return tls_flush(c, is_continue);
}

/* queues a complete response; the conn enters C_WRITING */
static int
send_response(struct httpd_conn *c, int status, const char *ctype,
	      const char *extra, const char *body, size_t len, int head_only,
	      int keep_alive)
{
	/* content types are <= 256 bytes, extra lines HTTPD_MAX_EXTRA */
	char hdr[768 + HTTPD_MAX_EXTRA], date[64];
	struct wreq *wr;
	struct tm tm;
	time_t now = time(NULL);
	int hl, with_len = status != 204 && status >= 200;

	if (status == 204 || status == 304)
		head_only = 1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	hl = snprintf(
	    hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s%s", status,
	    reason(status), date, ctype ? "Content-Type: " : "",
	    ctype ? ctype : "", ctype ? "\r\n" : "", extra ? extra : "");
	if (with_len)
		hl += snprintf(hdr + hl, sizeof(hdr) - (size_t)hl,
			       "Content-Length: %zu\r\n", len);
	hl += snprintf(hdr + hl, sizeof(hdr) - (size_t)hl,
		       "Connection: %s\r\n\r\n",
		       keep_alive ? "keep-alive" : "close");
	if ((size_t)hl >= sizeof(hdr))
		hl = (int)sizeof(hdr) - 1; /* cannot happen: lengths checked */
	if (head_only || body == NULL)
		len = 0;
	wr = xmalloc(sizeof(*wr) + (size_t)hl + len);
	wr->is_continue = 0;
	wr->len = (size_t)hl + len;
	memcpy(wr->data, hdr, (size_t)hl);
	if (len)
		memcpy(wr->data + hl, body, len);
	c->state = C_WRITING;
	c->close_after = !keep_alive;
	idle_set(c, 0);
	arm(c, T_WRITE, c->srv->lim.idle_ms);
	return conn_write(c, wr);
}

static void
send_error(struct httpd_conn *c, int status, const char *extra)
{
	const char *msg = reason(status);

	c->discard = 1;
	c->stash_len = 0;
	send_response(c, status, "text/plain", extra, msg, strlen(msg), 0, 0);
}

static void
send_continue(struct httpd_conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct wreq *wr = xmalloc(sizeof(*wr) + sizeof(cont) - 1);

	wr->is_continue = 1;
	wr->len = sizeof(cont) - 1;
	memcpy(wr->data, cont, sizeof(cont) - 1);
	conn_write(c, wr);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct httpd_conn *c = req->data;

	if (status < 0)
		conn_close(c);
}

/* half-close, then drain the peer's leftovers briefly before closing */
static void
linger_close(struct httpd_conn *c)
{
	if (c->closed)
		return;
	if (c->peer_eof) {
		conn_close(c);
		return;
	}
	c->state = C_LINGER;
	c->discard = 1;
	c->stash_len = 0;
	if (c->ssl && SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		SSL_shutdown(c->ssl); /* close_notify */
		ERR_clear_error();
		if (tls_flush(c, 1) != 0)
			return;
	}
	c->shut.data = c;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
		conn_close(c);
		return;
	}
	arm(c, T_LINGER,
	    c->srv->lim.idle_ms < LINGER_MS ? c->srv->lim.idle_ms : LINGER_MS);
	set_reading(c, 1);
}

static void
dispatch(struct httpd_conn *c)
{
	c->state = C_HANDLING;
	c->sent_continue = 0;
	idle_set(c, 0);
	uv_timer_stop(&c->timer);
	c->refs++; /* the request: released by httpd_respond */
	c->refs++; /* held across the handler call */
	c->srv->handler(c->srv->arg, c, &c->parser.req);
	conn_unref(c);
}

/*
 * The head declared a body: reserve its size from the budget, or answer
 * 503 without reading it.  Returns 1 when the body may come in.
 */
static int
body_reserve(struct httpd_conn *c)
{
	struct httpd *s = c->srv;
	size_t want = c->parser.req.body_len;

	if (want > s->lim.body_budget ||
	    s->body_bytes > s->lim.body_budget - want) {
		s->budget_503++;
		limit_hit(s);
		send_error(c, 503, RETRY_AFTER);
		return 0;
	}
	s->body_bytes += want;
	c->body_bytes = want;
	return 1;
}

static void
conn_feed(struct httpd_conn *c, const char *data, size_t len)
{
	size_t used = 0;
	int status = 500, rc;

	for (;;) {
		rc = httpd_parser_feed(&c->parser, data, len, &used, &status);
		if (rc != 2)
			break;
		if (!body_reserve(c))
			return;
		httpd_parser_take_body(&c->parser);
		data += used;
		len -= used;
	}
	if (rc == 1) {
		stash_append(c, data + used, len - used);
		dispatch(c);
	} else if (rc == 0) {
		if (c->parser.expect_continue && !c->sent_continue) {
			c->sent_continue = 1;
			send_continue(c);
		}
	} else {
		send_error(c, status, NULL);
	}
}

static void conn_input(struct httpd_conn *c, const char *data, size_t len);

/*
 * TLS records from the peer: the handshake goes on, and the plaintext
 * they carry goes to conn_input.  A failed handshake closes the
 * connection (counted for the log line); so does a broken record.
 */
static void
tls_read(struct httpd_conn *c, const char *data, size_t len)
{
	struct httpd *s = c->srv;
	int n, err, was_init = SSL_is_init_finished(c->ssl);

	if (c->state == C_READING && c->idle) {
		/* the handshake, or a request, starts: on the clock */
		idle_set(c, 0);
		arm(c, T_REQUEST, s->lim.header_ms);
	}
	if (BIO_write(c->rbio, data, (int)len) != (int)len) {
		conn_close(c);
		return;
	}
	for (;;) {
		ERR_clear_error();
		n = SSL_read(c->ssl, s->pbuf, (int)sizeof(s->pbuf));
		if (n <= 0)
			break;
		if (!c->discard)
			conn_input(c, s->pbuf, (size_t)n);
		if (c->closed)
			return;
	}
	err = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	if (err == SSL_ERROR_ZERO_RETURN) {
		/* close_notify: no more requests come */
		set_reading(c, 0);
		c->peer_eof = 1;
		if (c->state == C_READING || c->state == C_LINGER)
			conn_close(c);
		return;
	}
	if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
		if (!SSL_is_init_finished(c->ssl)) {
			s->tls_fails++;
			limit_hit(s);
		}
		conn_close(c);
		return;
	}
	/* handshake messages (or alerts) to send */
	if (BIO_ctrl_pending(c->wbio) && tls_flush(c, 1) != 0)
		return;
	if (!was_init && SSL_is_init_finished(c->ssl) &&
	    c->state == C_READING && parser_empty(&c->parser))
		conn_wait(c); /* handshake done, no request yet: idle */
}

static void
on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct httpd_conn *c = st->data;

	if (nread == 0 || c->closed)
		return;
	if (nread < 0) {
		if (nread != UV_EOF) {
			conn_close(c);
			return;
		}
		set_reading(c, 0);
		c->peer_eof = 1;
		/*
		 * A half-close: requests already received are still
		 * answered, in order, then the connection is closed.
		 */
		if (c->state == C_READING || c->state == C_LINGER)
			conn_close(c);
		return;
	}
	if (c->discard)
		return;
	if (c->ssl) {
		tls_read(c, buf->base, (size_t)nread);
		return;
	}
	conn_input(c, buf->base, (size_t)nread);
}

/* plaintext from the peer */
static void
conn_input(struct httpd_conn *c, const char *data, size_t len)
{
	switch (c->state) {
	case C_READING:
		if (c->idle) {
			/* a request starts: it must be complete in time */
			idle_set(c, 0);
			arm(c, T_REQUEST, c->srv->lim.header_ms);
		}
		conn_feed(c, data, len);
		break;
	case C_HANDLING:
	case C_WRITING:
		stash_append(c, data, len);
		if (c->stash_len > STASH_MAX)
			set_reading(c, 0);
		break;
	default:
		break;
	}
}

static void
on_write(uv_write_t *w, int status)
{
	struct wreq *wr = (struct wreq *)w;
	struct httpd_conn *c = wr->c;
	int is_continue = wr->is_continue;
	char *pending;
	size_t plen;

	free(wr);
	if (c->closed)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (is_continue)
		return;
	if (c->close_after || c->srv->closing) {
		linger_close(c);
		return;
	}
	conn_wait(c);
	/* what arrived meanwhile (pipelined requests) is parsed at once */
	if (c->stash_len) {
		pending = c->stash;
		plen = c->stash_len;
		c->stash = NULL;
		c->stash_len = c->stash_cap = 0;
		idle_set(c, 0);
		arm(c, T_REQUEST, c->srv->lim.header_ms);
		conn_feed(c, pending, plen);
		free(pending);
	}
	if (c->closed)
		return;
	if (c->state == C_READING && c->peer_eof) {
		conn_close(c); /* all answered; nothing more can come */
		return;
	}
	if (c->state != C_HANDLING || c->stash_len <= STASH_MAX)
		set_reading(c, 1);
}

static int
valid_ctype(const char *s)
{
	if (s == NULL)
		return 1;
	if (strlen(s) > 256)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

int
httpd_header_line_valid(const char *line)
{
	const char *colon;
	size_t i;

	if (line == NULL || (colon = strchr(line, ':')) == NULL ||
	    colon == line)
		return 0;
	for (i = 0; line + i < colon; i++)
		if (!is_tchar((unsigned char)line[i]))
			return 0;
	for (i = 0; line[i]; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    (unsigned char)line[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * The extra lines joined with CRLF into out (size HTTPD_MAX_EXTRA + 1):
 * 0, or -1 when one is malformed or they are too long together.
 */
static int
join_extra(const char *const *headers, char *out)
{
	size_t n = 0, l;

	out[0] = '\0';
	for (; headers != NULL && *headers != NULL; headers++) {
		if (!httpd_header_line_valid(*headers))
			return -1;
		l = strlen(*headers);
		if (n + l + 2 > HTTPD_MAX_EXTRA)
			return -1;
		memcpy(out + n, *headers, l);
		memcpy(out + n + l, "\r\n", 3);
		n += l + 2;
	}
	return 0;
}

int
httpd_respond(struct httpd_conn *c, int status, const char *content_type,
	      const char *body, size_t len)
{
	return httpd_respond_headers(c, status, content_type, NULL, body, len);
}

int
httpd_respond_headers(struct httpd_conn *c, int status,
		      const char *content_type, const char *const *headers,
		      const char *body, size_t len)
{
	char extra[HTTPD_MAX_EXTRA + 1];
	int ok, head_only, ka, ret = -1;

	if (c == NULL || c->state != C_HANDLING)
		return -1;
	ok = status >= 200 && status <= 599 && valid_ctype(content_type) &&
	     (body || !len) && join_extra(headers, extra) == 0;
	if (c->closed)
		goto out;
	head_only = !strcmp(c->parser.req.method, "HEAD");
	/* after a half-close, kept open only for requests already here */
	ka = c->parser.req.keep_alive && !c->srv->closing &&
	     (!c->peer_eof || stash_has_head(c));
	if (!ok) {
		send_response(c, 500, NULL, NULL, NULL, 0, head_only, 0);
		goto out;
	}
	if (send_response(c, status, content_type, extra[0] ? extra : NULL,
			  body, len, head_only, ka))
		goto out;
	ret = 0;
out:
	if (!c->closed) {
		body_release(c);
		httpd_parser_reset(&c->parser);
	}
	if (c->state == C_HANDLING)
		c->state = C_WRITING; /* never answerable twice */
	conn_unref(c);		      /* the request reference */
	return ret;
}

/*
 * Makes room for self (among a's connections, when given): closes the
 * connection idle longest, else the oldest one already answered and
 * closing, else the oldest one still sending its request (a slow client;
 * requests being handled or answered are never cut).  1 if one was closed.
 */
static int
evict_idle(struct httpd *s, const struct addr_slot *a,
	   const struct httpd_conn *self)
{
	struct httpd_conn *c, *slow = NULL, *done = NULL;

	for (c = s->idle_head; c; c = c->inext)
		if (a == NULL || c->addr == a)
			break;
	if (c == NULL) {
		/* the list runs newest first: the last match is the oldest */
		for (c = s->conns; c; c = c->next) {
			if (c == self || (a && c->addr != a))
				continue;
			if (c->state == C_LINGER)
				done = c;
			else if (c->state == C_READING && !c->idle)
				slow = c;
		}
		c = done ? done : slow;
	}
	if (c == NULL)
		return 0;
	conn_close(c);
	s->evicted++;
	return 1;
}

static int
tls_conn_init(struct httpd_conn *c)
{
	c->ssl = SSL_new(c->srv->tls);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		c->rbio = c->wbio = NULL;
		ERR_clear_error();
		return -1;
	}
	BIO_set_mem_eof_return(c->rbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	return 0;
}

static void
on_connection(uv_stream_t *ls, int status)
{
	struct httpd *s = ls->data;
	struct httpd_conn *c;

	if (status < 0 || s->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	s->refs++;
	c->refs = 2;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	httpd_parser_init(&c->parser);
	c->parser.hold_body = 1;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	c->addr = addr_get(s, &c->tcp);
	if (s->lim.max_per_addr && c->addr &&
	    c->addr->conns > s->lim.max_per_addr) {
		s->addr_hits++;
		limit_hit(s);
		if (!evict_idle(s, c->addr, c)) {
			s->refused++;
			conn_close(c);
			return;
		}
	}
	if (s->nconns > s->cap) {
		limit_hit(s);
		if (!evict_idle(s, NULL, c)) {
			s->refused++;
			conn_close(c);
			return;
		}
	}
	if (s->tls && tls_conn_init(c) != 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	conn_wait(c);
	set_reading(c, 1);
}

static void
on_srv_handle_closed(uv_handle_t *h)
{
	srv_unref(h->data);
}

/* The open-file limit, its soft value raised towards the hard one. */
static unsigned long
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_MAX
		   ? NOFILE_MAX
		   : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > NOFILE_MAX
		   ? NOFILE_MAX
		   : (unsigned long)rl.rlim_cur;
}

struct httpd *
httpd_new(uv_loop_t *loop, const char *host, int port, httpd_handler h,
	  void *arg)
{
	struct sockaddr_storage ss;
	struct httpd *s;
	int namelen = sizeof(ss), rc;

	if (loop == NULL || host == NULL || h == NULL || port < 0 ||
	    port > 65535) {
		log_error("httpd: invalid arguments");
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
		log_error("httpd: %s is not an IP address literal", host);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->handler = h;
	s->arg = arg;
	s->nofile = raise_nofile();
	s->refs = 2; /* owner + listener */
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
	if (rc == 0)
		rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss,
					&namelen);
	if (rc != 0) {
		log_error("httpd: cannot listen on %s port %d: %s", host, port,
			  uv_strerror(rc));
		s->closing = 1;
		uv_close((uv_handle_t *)&s->listener, on_srv_handle_closed);
		srv_unref(s);
		return NULL;
	}
	if (ss.ss_family == AF_INET)
		s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	uv_timer_init(loop, &s->report);
	uv_timer_init(loop, &s->trim);
	s->report.data = s;
	s->trim.data = s;
	s->refs += 2;
	{
		struct httpd_limits l;

		httpd_limits_default(&l);
		httpd_set_limits(s, &l);
	}
	return s;
}

int
httpd_port(const struct httpd *s)
{
	return s ? s->port : -1;
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	    const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	unsigned char *o = NULL;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&o, outlen, h11, sizeof(h11) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

static void
tls_error(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_peek_last_error();
	char detail[256] = "";

	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	snprintf(err, errlen, "%s%s%s%s%s", what, file ? " " : "",
		 file ? file : "", detail[0] ? ": " : "", detail);
	ERR_clear_error();
}

int
httpd_set_tls(struct httpd *s, const char *cert_file, const char *key_file,
	      char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (s == NULL || cert_file == NULL || key_file == NULL) {
		snprintf(err, errlen, "no certificate or key file given");
		return -1;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_error(err, errlen, "cannot make a TLS context", NULL);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(
	    ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
		     SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_error(err, errlen, "cannot load the certificate chain",
			  cert_file);
		SSL_CTX_free(ctx);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		tls_error(err, errlen, "cannot load the private key", key_file);
		SSL_CTX_free(ctx);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen,
			  "the private key does not match the certificate in",
			  cert_file);
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_free(s->tls);
	s->tls = ctx;
	return 0;
}

int
httpd_is_tls(const struct httpd *s)
{
	return s != NULL && s->tls != NULL;
}

void
httpd_set_idle_timeout(struct httpd *s, unsigned ms)
{
	if (s)
		s->lim.idle_ms = ms ? ms : HTTPD_DEFAULT_IDLE_MS;
}

void
httpd_set_limits(struct httpd *s, const struct httpd_limits *l)
{
	unsigned long room;

	if (s == NULL || l == NULL)
		return;
	s->lim = *l;
	if (!s->lim.max_conns)
		s->lim.max_conns = HTTPD_DEFAULT_MAX_CONNS;
	if (!s->lim.idle_ms)
		s->lim.idle_ms = HTTPD_DEFAULT_IDLE_MS;
	if (!s->lim.header_ms)
		s->lim.header_ms = HTTPD_DEFAULT_HEADER_MS;
	if (!s->lim.body_budget)
		s->lim.body_budget = HTTPD_DEFAULT_BODY_BUDGET;
	room = s->nofile > 2 * HTTPD_FD_RESERVE ? s->nofile - HTTPD_FD_RESERVE
						: s->nofile / 2;
	s->cap = s->lim.max_conns < room ? s->lim.max_conns : (unsigned)room;
}

unsigned
httpd_max_conns(const struct httpd *s)
{
	return s ? s->cap : 0;
}

void
httpd_get_stats(const struct httpd *s, struct httpd_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s == NULL)
		return;
	st->conns = s->nconns;
	st->body_bytes = s->body_bytes;
	st->evicted = s->evicted;
	st->refused = s->refused;
	st->timeouts = s->timeouts;
	st->budget_503 = s->budget_503;
	st->reports = s->reports;
	st->tls_fails = s->tls_fails;
}

void
httpd_free(struct httpd *s)
{
	if (s == NULL || s->closing)
		return;
	uv_timer_stop(&s->report);
	report_flush(s);
	s->closing = 1;
	uv_close((uv_handle_t *)&s->listener, on_srv_handle_closed);
	uv_close((uv_handle_t *)&s->report, on_srv_handle_closed);
	uv_close((uv_handle_t *)&s->trim, on_srv_handle_closed);
	while (s->conns)
		conn_close(s->conns);
	srv_unref(s);
}

int
httpd_peer_loopback(const struct httpd_conn *c)
{
	static const unsigned char v6lo[16] = {[15] = 1};
	static const unsigned char v4map[12] = {[10] = 0xff, [11] = 0xff};
	struct sockaddr_storage ss;
	const unsigned char *a;
	int len = sizeof(ss);

	if (c == NULL || c->closed ||
	    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		a = (const unsigned char *)&((struct sockaddr_in *)&ss)
			->sin_addr;
		return a[0] == 127;
	}
	if (ss.ss_family != AF_INET6)
		return 0;
	a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
	return memcmp(a, v6lo, 16) == 0 ||
	       (memcmp(a, v4map, 12) == 0 && a[12] == 127);
}
