/*
 * The Slack Web API client: one queue of calls over the daemon's shared
 * HTTP client, chat.postMessage paced per channel, a method (or channel)
 * paused after a 429 for its Retry-After, transient failures retried.
 */
#ifndef ISMS_SLACK_API_H
#define ISMS_SLACK_API_H

#include <jansson.h>
#include <uv.h>

#include "slack_proto.h"

struct http;
struct slack_api;

#define SLACK_API_APP_TOKEN 0x1 /* authenticate with the app-level token */
#define SLACK_API_RETRY	    0x2 /* retry transient failures a few times */
#define SLACK_API_FAST	    0x4 /* a short timeout: someone is waiting */

struct slack_api_result {
	enum slack_api_status status;
	json_t *body;	    /* the parsed response, or NULL; borrowed */
	const char *error;  /* Slack's error code or a short word; NULL if OK */
	long retry_after_s; /* for SLACK_API_RATELIMITED */
};

/* Runs exactly once per accepted call, on the loop thread. */
typedef void (*slack_api_cb)(void *arg, const struct slack_api_result *r);

/*
 * A client on http and loop (borrowed) for the Web API at base, e.g.
 * "https://slack.com/api". The tokens are copied. Caller frees with
 * slack_api_free once the loop has drained.
 */
struct slack_api *slack_api_new(struct http *http, uv_loop_t *loop,
				const char *base, const char *bot_token,
				const char *app_token);

/*
 * Queues a call of method with args (stolen; NULL for none). cb never runs
 * from inside this function. Returns 0, or -1 once the client is stopped
 * (cb will not run).
 */
int slack_api_call(struct slack_api *a, const char *method, json_t *args,
		   unsigned flags, slack_api_cb cb, void *arg);

/*
 * POSTs body (stolen) as JSON to a slash command's or an interaction's
 * response_url, without a token; otherwise like slack_api_call.
 */
int slack_api_respond(struct slack_api *a, const char *url, json_t *body,
		      slack_api_cb cb, void *arg);

/*
 * Stops: queued calls get SLACK_API_CANCELLED at once (from inside this
 * function); calls on the wire complete later as they end (or with
 * SLACK_API_CANCELLED when the HTTP client is freed). Idempotent.
 */
void slack_api_stop(struct slack_api *a);

/* Releases a stopped client after the loop drained. NULL is ignored. */
void slack_api_free(struct slack_api *a);

#endif
