/*
 * http.h - asynchronous HTTP(S) client: libcurl multi-socket interface
 * driven by a caller-supplied libuv loop.  Single-threaded: every call and
 * every callback happens on the loop thread.
 */
#ifndef ISMSD_GATEWAY_HTTP_H
#define ISMSD_GATEWAY_HTTP_H

#include <stddef.h>
#include <uv.h>

#define HTTP_MAX_BODY		(8u * 1024u * 1024u) /* response body cap */
#define HTTP_DEFAULT_TIMEOUT_MS 30000L

struct http; /* one per daemon */

/*
 * Creates a client bound to loop (borrowed; must outlive the client's
 * closing, see http_free).  Returns NULL on failure.  Caller frees with
 * http_free.
 */
struct http *http_new(uv_loop_t *loop);

/*
 * Cancels every pending request (each callback runs once, synchronously
 * from inside http_free, with err "cancelled"), then starts closing the uv
 * handles.  The memory is released from uv close callbacks, so the caller
 * must keep running the loop afterwards, e.g. uv_run(loop, UV_RUN_DEFAULT)
 * until it returns, before uv_loop_close().  Accepts NULL.  May be called
 * from inside an http_cb (the rest of the teardown is then deferred until
 * that callback returns).  Do not use h afterwards, except that calling
 * http_free(h) again from a callback it runs is a harmless no-op.
 */
void http_free(struct http *h);

/* Redirects are not followed; only http:// and https:// are allowed. */
struct http_req {
	const char *method; /* "GET", "HEAD", "POST", "PUT", ...        */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" list,
				     * may be NULL; no CR/LF in entries */
	const char *body; /* may be NULL; refused with GET and HEAD   */
	size_t body_len;
	long timeout_ms; /* whole transfer; 0 = 30000                */
};

struct http_res {
	long status;	  /* 0 when the transfer failed               */
	const char *body; /* NUL-terminated, never NULL; borrowed for
			   * the callback's duration                 */
	size_t body_len;
	long retry_after_s;	  /* Retry-After (delta seconds or HTTP-date)
				   * in seconds, -1 if absent or invalid     */
	const char *content_type; /* borrowed, may be NULL                */
};

/*
 * Completion callback, runs exactly once per accepted request, on the loop
 * thread, never from inside http_request().  err is NULL on transport
 * success (whatever the HTTP status), otherwise a short human-readable
 * message (borrowed; it may name the host, never the path, query or header
 * values).  The callback may start new requests and may call http_free().
 */
typedef void (*http_cb)(void *arg, const struct http_res *res, const char *err);

/*
 * Starts a request.  Everything needed is copied from req, so req and its
 * strings may be released as soon as this returns.  Returns 0 (cb will run
 * later) or -1 (invalid request, or h is being freed; cb will not run).
 */
int http_request(struct http *h, const struct http_req *req, http_cb cb,
		 void *arg);

#endif /* ISMSD_GATEWAY_HTTP_H */
