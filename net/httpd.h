/*
 * httpd.h - minimal HTTP/1.1 server on libuv TCP (keep-alive, pipelining,
 * Content-Length bodies only), plus its pure incremental request parser.
 */
#ifndef ISMSD_GATEWAY_HTTPD_H
#define ISMSD_GATEWAY_HTTPD_H

#include <stddef.h>
#include <uv.h>

#define HTTPD_MAX_HEAD	      (16 * 1024) /* request line + headers */
#define HTTPD_MAX_BODY	      (1024 * 1024)
#define HTTPD_MAX_HEADERS     64
#define HTTPD_DEFAULT_IDLE_MS 30000u
/* defaults of struct httpd_limits */
#define HTTPD_DEFAULT_MAX_CONNS	   1024u
#define HTTPD_DEFAULT_MAX_PER_ADDR 256u
#define HTTPD_DEFAULT_HEADER_MS	   10000u
#define HTTPD_DEFAULT_BODY_BUDGET  (8u * 1024 * 1024)
#define HTTPD_FD_RESERVE	   64u	  /* descriptors kept for the rest */
#define HTTPD_REPORT_MS		   60000u /* limit log lines at most this often */

/* ---- parser (pure: no I/O, no globals; usable from fuzzers) ---- */

struct httpd_hdr {
	const char *name;  /* NUL-terminated, as received */
	const char *value; /* NUL-terminated, surrounding blanks trimmed */
};

struct httpd_request {
	char method[16]; /* token, case preserved */
	char path[1024]; /* request-target as received (path?query) */
	int version;	 /* 10 or 11 (HTTP/1.2+ counts as 11) */
	int keep_alive;	 /* from version and Connection header */
	size_t nheaders;
	struct httpd_hdr headers[HTTPD_MAX_HEADERS]; /* point into parser */
	const char *body; /* NUL-terminated, never NULL once complete */
	size_t body_len;
};

/*
 * Incremental parser for one request at a time.  Stack- or heap-allocate,
 * httpd_parser_init(), feed bytes; after a complete request (or an error)
 * call httpd_parser_reset() before feeding the next one.  Only .req and
 * .expect_continue are meant to be read by users.
 */
struct httpd_parser {
	struct httpd_request req; /* valid once feed returned 1 */
	int expect_continue;	  /* head done, body pending, client
				   * sent "Expect: 100-continue" */
	int hold_body;		  /* set by the user: stop after the head
				   * of a request with a body (returns 2) */
	/* private */
	int state;
	int status;
	char *head;
	size_t head_len, head_cap, line_start, skipped;
	char *body;
	size_t body_want, body_have;
};

void httpd_parser_init(struct httpd_parser *p);

/*
 * Feeds len bytes.  *used is set to the number of bytes consumed: the rest
 * belongs to the next (pipelined) request.  Returns 1 when p->req holds a
 * complete request, 0 when more bytes are needed (all were consumed), -1
 * when the request is malformed, with *status set to the HTTP status to
 * answer with (400, 413, 414, 417, 431, 501, 505).  Once 1 or -1 has been
 * returned, further calls return the same until httpd_parser_reset().
 *
 * With p->hold_body set, a request whose head declares a body stops after
 * the head: 2 is returned (and again on further calls, consuming nothing)
 * with the head's fields in p->req and the declared length in
 * p->req.body_len, and no body buffer allocated; httpd_parser_take_body()
 * then lets the body in.
 */
int httpd_parser_feed(struct httpd_parser *p, const char *data, size_t len,
		      size_t *used, int *status);

/* After feed returned 2: allocates the body buffer; feeding goes on. */
void httpd_parser_take_body(struct httpd_parser *p);

/* Forgets the current request (invalidating p->req's pointers). */
void httpd_parser_reset(struct httpd_parser *p);

/* Releases the parser's buffers; p may then be re-initialised.  NULL ok. */
void httpd_parser_free(struct httpd_parser *p);

/* First header named name (case-insensitive); borrowed from r, or NULL. */
const char *httpd_header(const struct httpd_request *r, const char *name);

/* ---- server ---- */

struct httpd;
struct httpd_conn;

/*
 * Called on the loop thread for each complete request.  r and everything
 * it points to are borrowed until httpd_respond(c, ...) is called.  Each
 * call must eventually be answered by exactly one httpd_respond(c, ...),
 * either from inside the handler or later (e.g. after a DB commit).  The
 * next pipelined request on the same connection is dispatched only after
 * this response has been written.
 */
typedef void (*httpd_handler)(void *arg, struct httpd_conn *c,
			      const struct httpd_request *r);

/*
 * Listens on host (an IPv4 or IPv6 literal: "127.0.0.1", "::1", "0.0.0.0",
 * "::") and port (0 = ephemeral).  On error, prints one line to stderr and
 * returns NULL; a handle may then still be closing on the loop, so run the
 * loop before uv_loop_close().  loop is borrowed.  Caller frees with
 * httpd_free.  The process must ignore SIGPIPE (libuv writes with write()).
 */
struct httpd *httpd_new(uv_loop_t *loop, const char *host, int port,
			httpd_handler h, void *arg);

/* The bound port (useful with port 0). */
int httpd_port(const struct httpd *s);

/*
 * Serves TLS (1.2 or later) on s from now on, with the PEM certificate
 * chain in cert_file and the PEM private key in key_file.  Call before the
 * first connection comes.  On error, -1 with a line in err (naming the
 * file and OpenSSL's reason, never key material) and s unchanged.  A
 * client whose handshake fails, or that does not speak TLS, is
 * disconnected and counted in the rate-limited log line.
 */
int httpd_set_tls(struct httpd *s, const char *cert_file, const char *key_file,
		  char *err, size_t errlen);

/* 1 when s serves TLS. */
int httpd_is_tls(const struct httpd *s);

/*
 * Sets the idle deadline (default 30 s): a connection without a request
 * under way is closed after ms, and a response must be written within ms
 * of being queued.
 */
void httpd_set_idle_timeout(struct httpd *s, unsigned ms);

/*
 * Limits against connection floods, slow clients and large bodies.  When
 * max_conns connections are open, the one idle longest (no request under
 * way) is closed to make room for a new one, else the oldest one already
 * answered and closing, else the oldest one still sending its request;
 * when all are busy with requests being handled or answered, the new one
 * is refused.  The same holds per client address with max_per_addr.  A
 * request's head and body must arrive within header_ms of its first byte.
 * Bodies being received or awaiting their answer may hold body_budget
 * bytes in all; a request whose Content-Length does not fit is answered
 * 503 with Retry-After before its body is read.  When limits bite, one log
 * line with the counts is written a second later (gathering the burst),
 * and then at most every HTTPD_REPORT_MS.
 */
struct httpd_limits {
	unsigned max_conns;    /* 0: HTTPD_DEFAULT_MAX_CONNS */
	unsigned max_per_addr; /* 0: no per-address limit */
	unsigned idle_ms;      /* 0: HTTPD_DEFAULT_IDLE_MS */
	unsigned header_ms;    /* 0: HTTPD_DEFAULT_HEADER_MS */
	size_t body_budget;    /* 0: HTTPD_DEFAULT_BODY_BUDGET */
};

void httpd_limits_default(struct httpd_limits *l);

/*
 * Applies l.  max_conns is lowered to stay HTTPD_FD_RESERVE below the
 * open-file limit (whose soft value httpd_new raised to the hard one).
 */
void httpd_set_limits(struct httpd *s, const struct httpd_limits *l);

/* The connection cap in force (after lowering to the open-file limit). */
unsigned httpd_max_conns(const struct httpd *s);

/* Counters since start, for tests and logs. */
struct httpd_stats {
	size_t conns;		  /* open now */
	size_t body_bytes;	  /* body bytes held now */
	unsigned long evicted;	  /* idle or slow ones closed for room */
	unsigned long refused;	  /* new connections refused */
	unsigned long timeouts;	  /* requests not complete in time */
	unsigned long budget_503; /* bodies refused for the budget */
	unsigned long reports;	  /* limit log lines written */
	unsigned long tls_fails;  /* TLS handshakes failed */
};

void httpd_get_stats(const struct httpd *s, struct httpd_stats *st);

/*
 * Answers the request dispatched with c.  Copies content_type (may be NULL:
 * no Content-Type header) and body (len bytes; may be NULL when len is 0).
 * Must be called exactly once per dispatched request; c must not be used
 * afterwards, whatever the result.  Returns 0 when the response was queued,
 * -1 when the client is already gone (or httpd_free() ran), or when the
 * status (must be 200..599) or content_type (<= 256 bytes, no control
 * characters) is invalid, in which case a bare 500 is sent instead.  HEAD
 * requests get the headers only; 204 and 304 never carry a body.
 *
 * Lifetime: a connection object is reference counted: one reference per
 * open uv handle (released in their close callbacks) and one per request
 * handed to the handler (released by httpd_respond).  A client disconnect
 * or httpd_free() closes the socket but the object, and the request r it
 * carries, stay valid until httpd_respond() is called.
 */
int httpd_respond(struct httpd_conn *c, int status, const char *content_type,
		  const char *body, size_t len);

/* Extra header lines of one response together, CRLFs counted. */
#define HTTPD_MAX_EXTRA 4096

/*
 * httpd_respond with extra header lines: headers is NULL or a
 * NULL-terminated list of "Name: value" lines without line ends. A line
 * whose name is not a token, or that holds CR, LF or another control
 * character (but TAB), or lines longer than HTTPD_MAX_EXTRA together,
 * make it answer a bare 500 instead and return -1, as a bad content type
 * does.
 */
int httpd_respond_headers(struct httpd_conn *c, int status,
			  const char *content_type, const char *const *headers,
			  const char *body, size_t len);

/* 1 when line is a valid extra header line for httpd_respond_headers. */
int httpd_header_line_valid(const char *line);

/* 1 when the connection's peer is a loopback address (127/8, ::1). */
int httpd_peer_loopback(const struct httpd_conn *c);

/*
 * Stops listening and closes every connection (responses being written are
 * dropped).  Requests still awaiting httpd_respond() stay valid and must
 * still be answered (httpd_respond then returns -1).  Memory is released
 * from uv close callbacks: keep running the loop (uv_run(UV_RUN_DEFAULT)
 * returns once everything is closed).  Accepts NULL.  May be called from
 * inside the handler.  Do not use s afterwards.
 */
void httpd_free(struct httpd *s);

#endif /* ISMSD_GATEWAY_HTTPD_H */
