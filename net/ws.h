/*
 * ws.h - WebSocket client (ws:// and wss://, system CA store) built on
 * libwebsockets sharing the caller's libuv loop (lws foreign loop).
 */
#ifndef ISMSD_GATEWAY_WS_H
#define ISMSD_GATEWAY_WS_H

#include <stddef.h>
#include <uv.h>

#define WS_MAX_MESSAGE (4u * 1024u * 1024u) /* per message, both ways */

struct ws_ctx;
struct ws_conn;

/*
 * Creates the lws context on loop (borrowed).  NULL on failure.  Sets the
 * process-wide lws log level to errors only (printed to stderr with a
 * "ws: lws: " prefix).  Caller frees with ws_ctx_free.  One context per
 * daemon is the intended use.  While it exists lws keeps active handles on
 * the loop, so uv_run(UV_RUN_DEFAULT) only returns after ws_ctx_free.
 */
struct ws_ctx *ws_ctx_new(uv_loop_t *loop);

/*
 * Closes every connection (each gets on_close with why "context freed",
 * synchronously, from inside ws_ctx_free) and starts tearing lws down.  The
 * teardown completes from loop callbacks, so keep running the loop, e.g.
 * uv_run(loop, UV_RUN_DEFAULT) until it returns, before uv_loop_close().
 * Accepts NULL.  May be called from inside a ws callback.  Do not use x
 * (or any of its connections) afterwards.
 */
void ws_ctx_free(struct ws_ctx *x);

struct ws_cbs {
	/* the handshake completed; sending is possible (it was before too) */
	void (*on_open)(void *arg, struct ws_conn *c);
	/* one whole text message, reassembled from fragments; msg is
	 * NUL-terminated and borrowed for the duration of the call.  Binary
	 * messages are dropped. */
	void (*on_text)(void *arg, struct ws_conn *c, const char *msg,
			size_t len);
	/* exactly once per connection that ws_connect returned; why is a
	 * short reason (borrowed, never contains the URL); c is gone after */
	void (*on_close)(void *arg, struct ws_conn *c, const char *why);
};

/*
 * Starts connecting to url ("ws://host[:port]/path?query" or "wss://...").
 * The host name is resolved asynchronously (uv_getaddrinfo), then lws
 * connects; the TLS certificate is verified against the system CA store
 * and the host name.  cbs is copied; arg is passed back to every callback.
 * Returns NULL on immediate failure (bad URL, x being freed), in which case
 * no callback runs; later failures arrive as on_close.  Any callback may be
 * NULL.  No callback runs from inside ws_connect.  The connection object is
 * owned by x and released right after on_close returns.
 */
struct ws_conn *ws_connect(struct ws_ctx *x, const char *url,
			   const struct ws_cbs *cbs, void *arg);

/*
 * Queues a text message (copied) of up to WS_MAX_MESSAGE bytes; it is
 * written when the socket is writable (also when called before on_open).
 * Returns 0, or -1 if the message is too large or c is closing.
 */
int ws_send_text(struct ws_conn *c, const char *msg, size_t len);

/*
 * Starts a normal close (close frame, status 1000; a connection not yet
 * open is just dropped); on_close follows later, never from inside
 * ws_close, with why "closed".  Idempotent, also a no-op inside on_close;
 * safe from inside any callback.  c must not be used after on_close
 * returned.  Messages still queued may be dropped.  NULL is ignored.
 */
void ws_close(struct ws_conn *c);

#endif /* ISMSD_GATEWAY_WS_H */
