/*
 * Slack Web API calls through the shared libcurl client: a FIFO queue,
 * gates per method or channel (pacing and 429 pauses), a few in flight.
 * Everything runs on the loop thread.
 */
#include "slack_api.h"

#include <stdlib.h>
#include <string.h>

#include "../net/http.h"
#include "../base/log.h"

#define API_MAX_INFLIGHT    4
#define API_PACE_MS	    1000 /* chat.postMessage per channel */
#define API_TIMEOUT_MS	    10000L
#define API_FAST_TIMEOUT_MS 2000L
#define API_RETRIES	    3	/* transient failures, SLACK_API_RETRY */
#define API_MAX_LIMITED	    5	/* 429s waited out here, then reported */
#define API_MAX_WAIT_S	    120 /* longer Retry-After: reported at once */
#define API_DEFAULT_WAIT_S  5	/* a 429 without Retry-After */
#define API_KEY_MAX	    96

struct api_call {
	struct slack_api *a;
	char method[48];
	char key[API_KEY_MAX]; /* gate: method, or method|channel */
	char *url;
	char *body;
	const char *ctype;
	unsigned flags;
	int paced;
	int tries;   /* transient retries left */
	int limited; /* 429s so far */
	uint64_t not_before;
	slack_api_cb cb;
	void *arg;
	struct api_call *next;
};

/* A method or channel that must wait until a time (uv_now ms). */
struct api_gate {
	char key[API_KEY_MAX];
	uint64_t until;
	struct api_gate *next;
};

struct slack_api {
	struct http *http;
	uv_loop_t *loop;
	uv_timer_t timer;
	char *base;
	char *bot_auth; /* "Authorization: Bearer ..." */
	char *app_auth;
	struct api_call *head, *tail;
	struct api_gate *gates;
	int inflight;
	int stopped;
};

/* Methods sent as JSON (the others take forms), and the paced one. */
static const struct {
	const char *method;
	int paced;
} api_json_methods[] = {
    {"chat.postMessage", 1},
    {"chat.update", 0},
    {"chat.postEphemeral", 0},
};

static void api_pump(uv_timer_t *t);

struct slack_api *
slack_api_new(struct http *http, uv_loop_t *loop, const char *base,
	      const char *bot_token, const char *app_token)
{
	struct slack_api *a = xcalloc(1, sizeof(*a));
	size_t n;

	a->http = http;
	a->loop = loop;
	a->base = xstrdup(base);
	n = strlen(a->base);
	while (n > 0 && a->base[n - 1] == '/')
		a->base[--n] = '\0';
	a->bot_auth =
	    xasprintf("Authorization: Bearer %s", bot_token ? bot_token : "");
	a->app_auth =
	    xasprintf("Authorization: Bearer %s", app_token ? app_token : "");
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	return a;
}

static void
call_free(struct api_call *c)
{
	if (c == NULL)
		return;
	free(c->url);
	free(c->body);
	free(c);
}

static void
api_kick(struct slack_api *a, uint64_t delay_ms)
{
	if (!a->stopped)
		uv_timer_start(&a->timer, api_pump, delay_ms, 0);
}

static struct api_gate *
gate_find(struct slack_api *a, const char *key)
{
	struct api_gate *g;

	for (g = a->gates; g != NULL; g = g->next)
		if (strcmp(g->key, key) == 0)
			return g;
	return NULL;
}

static void
gate_set(struct slack_api *a, const char *key, uint64_t until)
{
	struct api_gate *g = gate_find(a, key);

	if (g == NULL) {
		g = xcalloc(1, sizeof(*g));
		snprintf(g->key, sizeof(g->key), "%s", key);
		g->next = a->gates;
		a->gates = g;
	}
	if (until > g->until)
		g->until = until;
}

/* Forgets gates that are open again. */
static void
gates_prune(struct slack_api *a, uint64_t now)
{
	struct api_gate **pp = &a->gates, *g;

	while ((g = *pp) != NULL) {
		if (g->until <= now) {
			*pp = g->next;
			free(g);
		} else {
			pp = &g->next;
		}
	}
}

static void
queue_push(struct slack_api *a, struct api_call *c, int front)
{
	if (front) {
		c->next = a->head;
		a->head = c;
		if (a->tail == NULL)
			a->tail = c;
		return;
	}
	c->next = NULL;
	if (a->tail != NULL)
		a->tail->next = c;
	else
		a->head = c;
	a->tail = c;
}

static int
call_queue(struct slack_api *a, struct api_call *c)
{
	if (a->stopped) {
		call_free(c);
		return -1;
	}
	c->a = a;
	/* someone waits on a fast call: it goes before the bulk */
	queue_push(a, c, (c->flags & SLACK_API_FAST) != 0);
	api_kick(a, 0);
	return 0;
}

int
slack_api_call(struct slack_api *a, const char *method, json_t *args,
	       unsigned flags, slack_api_cb cb, void *arg)
{
	struct api_call *c = xcalloc(1, sizeof(*c));
	const char *channel;
	struct buf form = {0};
	size_t i;
	int json = 0;

	for (i = 0; i < ARRAY_LEN(api_json_methods); i++)
		if (strcmp(method, api_json_methods[i].method) == 0) {
			json = 1;
			c->paced = api_json_methods[i].paced;
		}
	snprintf(c->method, sizeof(c->method), "%s", method);
	channel = json_string_value(json_object_get(args, "channel"));
	if (c->paced && channel != NULL)
		snprintf(c->key, sizeof(c->key), "%s|%s", method, channel);
	else
		snprintf(c->key, sizeof(c->key), "%s", method);
	c->url = xasprintf("%s/%s", a->base, method);
	if (json) {
		c->body = args != NULL ? json_dumps(args, JSON_COMPACT) : NULL;
		if (c->body == NULL)
			c->body = xstrdup("{}");
		c->ctype = "Content-Type: application/json; charset=utf-8";
	} else {
		if (args != NULL)
			slack_form_encode(&form, args);
		c->body = buf_steal(&form);
		c->ctype = "Content-Type: application/x-www-form-urlencoded";
	}
	json_decref(args);
	c->flags = flags;
	c->tries = (flags & SLACK_API_RETRY) ? API_RETRIES : 0;
	c->cb = cb;
	c->arg = arg;
	return call_queue(a, c);
}

int
slack_api_respond(struct slack_api *a, const char *url, json_t *body,
		  slack_api_cb cb, void *arg)
{
	struct api_call *c = xcalloc(1, sizeof(*c));

	snprintf(c->method, sizeof(c->method), "response_url");
	snprintf(c->key, sizeof(c->key), "response_url");
	c->url = xstrdup(url);
	c->body = json_dumps(body, JSON_COMPACT);
	if (c->body == NULL)
		c->body = xstrdup("{}");
	json_decref(body);
	c->ctype = "Content-Type: application/json; charset=utf-8";
	c->flags = SLACK_API_RETRY;
	c->tries = API_RETRIES;
	c->cb = cb;
	c->arg = arg;
	return call_queue(a, c);
}

/* Reports the outcome and releases the call. */
static void
call_finish(struct api_call *c, struct slack_api_result *r)
{
	c->cb(c->arg, r);
	call_free(c);
}

static void
call_cancel(struct api_call *c)
{
	struct slack_api_result r = {.status = SLACK_API_CANCELLED,
				     .error = "cancelled"};

	call_finish(c, &r);
}

static long
retry_delay_ms(int attempt)
{
	long base = 1000L << (attempt < 5 ? attempt : 5);

	return base / 2 + random() % (base / 2 + 1);
}

static void
on_done(void *arg, const struct http_res *res, const char *err)
{
	struct api_call *c = arg;
	struct slack_api *a = c->a;
	struct slack_api_result r = {0};
	uint64_t now;
	json_t *body = NULL;

	/*
	 * The loop's clock is read once per iteration; on a busy machine it
	 * can be milliseconds behind, and a pause of Retry-After seconds
	 * counted from it would end early. Count from now.
	 */
	uv_update_time(a->loop);
	now = uv_now(a->loop);
	a->inflight--;
	if (err != NULL && strcmp(err, "cancelled") == 0) {
		call_cancel(c);
		return;
	}
	if (err == NULL)
		body = json_loadb(res->body, res->body_len, 0, NULL);
	if (c->url != NULL && strcmp(c->method, "response_url") == 0 &&
	    err == NULL && res->status >= 200 && res->status < 300)
		r.status = SLACK_API_OK; /* response_url answers "ok" */
	else
		r.status =
		    slack_api_classify(err ? 0 : res->status, body, &r.error);
	if (err != NULL)
		r.error = err; /* names a host at most, never a path */
	if (r.status == SLACK_API_RATELIMITED) {
		long wait = err == NULL && res->retry_after_s > 0
				? res->retry_after_s
				: API_DEFAULT_WAIT_S;

		gate_set(a, c->key, now + (uint64_t)wait * 1000);
		log_info("slack: %s is rate-limited; pausing it for %ld s",
			 c->method, wait);
		if (!a->stopped && ++c->limited <= API_MAX_LIMITED &&
		    wait <= API_MAX_WAIT_S) {
			queue_push(a, c, 1);
			api_kick(a, (uint64_t)wait * 1000);
			json_decref(body);
			return;
		}
		r.retry_after_s = wait;
	} else if (r.status == SLACK_API_TRANSIENT && c->tries > 0 &&
		   !a->stopped) {
		long d = retry_delay_ms(API_RETRIES - c->tries);

		c->tries--;
		c->not_before = now + (uint64_t)d;
		log_info("slack: %s failed (%s); retrying in %ld ms", c->method,
			 r.error ? r.error : "?", d);
		queue_push(a, c, 1);
		api_kick(a, (uint64_t)d);
		json_decref(body);
		return;
	}
	r.body = body;
	call_finish(c, &r);
	json_decref(body);
	api_kick(a, 0);
}

static int
call_start(struct slack_api *a, struct api_call *c)
{
	const char *hdrs[3] = {NULL, NULL, NULL};
	struct http_req rq = {0};
	size_t n = 0;

	if (strcmp(c->method, "response_url") != 0)
		hdrs[n++] = (c->flags & SLACK_API_APP_TOKEN) ? a->app_auth
							     : a->bot_auth;
	hdrs[n] = c->ctype;
	rq.method = "POST";
	rq.url = c->url;
	rq.headers = hdrs;
	rq.body = c->body;
	rq.body_len = strlen(c->body);
	rq.timeout_ms =
	    (c->flags & SLACK_API_FAST) ? API_FAST_TIMEOUT_MS : API_TIMEOUT_MS;
	if (http_request(a->http, &rq, on_done, c) < 0)
		return -1;
	a->inflight++;
	if (c->paced)
		gate_set(a, c->key, uv_now(a->loop) + API_PACE_MS);
	return 0;
}

/* A key already held back in this pass keeps its later calls waiting. */
static int
key_held(char held[][API_KEY_MAX], size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(held[i], key) == 0)
			return 1;
	return 0;
}

static void
api_pump(uv_timer_t *t)
{
	struct slack_api *a = t->data;
	char held[16][API_KEY_MAX];
	struct api_call **pp = &a->head, *c, *prev = NULL;
	uint64_t now = uv_now(a->loop), next = UINT64_MAX;
	size_t nheld = 0;

	gates_prune(a, now);
	while ((c = *pp) != NULL && a->inflight < API_MAX_INFLIGHT &&
	       !a->stopped) {
		struct api_gate *g = gate_find(a, c->key);
		uint64_t at = c->not_before;

		if (g != NULL && g->until > at)
			at = g->until;
		if (at > now || key_held(held, nheld, c->key)) {
			if (at > now && at < next)
				next = at;
			if (!key_held(held, nheld, c->key)) {
				if (nheld == ARRAY_LEN(held))
					break;
				snprintf(held[nheld++], API_KEY_MAX, "%s",
					 c->key);
			}
			prev = c;
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		if (a->tail == c)
			a->tail = prev;
		c->next = NULL;
		if (call_start(a, c) < 0) {
			log_warnx("slack: cannot start %s", c->method);
			call_cancel(c);
		}
	}
	if (a->head != NULL && next != UINT64_MAX && !a->stopped &&
	    a->inflight < API_MAX_INFLIGHT)
		uv_timer_start(&a->timer, api_pump, next - now, 0);
}

void
slack_api_stop(struct slack_api *a)
{
	struct api_call *c;

	if (a == NULL || a->stopped)
		return;
	a->stopped = 1;
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, NULL);
	while ((c = a->head) != NULL) {
		a->head = c->next;
		if (a->head == NULL)
			a->tail = NULL;
		call_cancel(c);
	}
}

void
slack_api_free(struct slack_api *a)
{
	struct api_gate *g;

	if (a == NULL)
		return;
	while ((g = a->gates) != NULL) {
		a->gates = g->next;
		free(g);
	}
	free(a->base);
	str_free_secret(a->bot_auth);
	str_free_secret(a->app_auth);
	free(a);
}
