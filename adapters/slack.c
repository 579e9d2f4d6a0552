/*
 * The Slack transport: Socket Mode or HTTP mode in, the Web API out; slash
 * commands, clicks and messages become commands, outbox rows become DMs.
 */
#include "slack.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "../net/httpd.h"
#include "../base/log.h"
#include "../net/ws.h"
#include "slack_api.h"
#include "slack_proto.h"
#include "slack_refusals.h"
#include "slack_sig.h"

#define SLACK_PATH	     "/slack/events"
#define SLACK_LOOKUP_TTL     (24 * 3600) /* a directory look-up is redone after */
#define SLACK_LINK_FIRST_MS  1000
#define SLACK_LINK_EVERY_MS  (3600 * 1000)
#define SLACK_LINK_BATCH     100
#define SLACK_BACKOFF_MIN_MS 500
#define SLACK_BACKOFF_MAX_MS 30000
#define SLACK_CLOSE_GRACE_MS 100  /* acks and answers still being written */
#define SLACK_DRAIN_MS	     2000 /* a replaced connection lives on this long */
#define SLACK_BOT_TOKEN	     "bot token (slack.bot_token)"
#define SLACK_APP_TOKEN	     "app-level token (slack.app_token)"

struct slack;

/* One Socket Mode WebSocket. */
struct slack_link {
	struct slack *s;
	struct ws_conn *c;
	unsigned id;
	int hello;
	int draining; /* Slack asked us to move to a new connection */
	struct slack_link *next;
};

struct slack {
	struct host *host;
	struct slack_api *api;
	int http_mode;
	int stopped;
	char *signing_secret;
	char *bot_user_id; /* from auth.test; NULL until known */
	struct httpd *httpd;
	struct slack_refusals *refusals; /* HTTP mode: bad signatures */
	struct slack_link *links;
	unsigned link_ids;
	int opening; /* a new connection is being opened */
	int backoff; /* failed connection attempts in a row */
	uv_timer_t reconnect;
	uv_timer_t linker;  /* the directory linking pass */
	uv_timer_t closer;  /* closes the connections shortly after a stop */
	uv_timer_t drainer; /* closes replaced connections */
};

/* One inbound request, from arrival until it is answered. */
struct slack_job {
	struct slack *s;
	json_t *root; /* owns the payload in borrows from */
	struct slack_in in;
	char *envelope_id;     /* Socket Mode: acked with it */
	unsigned link_id;      /* ...preferably on the connection it came on */
	struct httpd_conn *hc; /* HTTP mode: answered on it */
	int acked;
	char *dedupe; /* the inbox id, or NULL */
	struct buf cmd;
};

/* One outbox delivery under way. */
struct slack_send {
	struct slack *s;
	int64_t delivery_id;
	int64_t person_id;
	char slack_id[64];
	enum msg_kind kind;
	char *subject, *body, *payload;
	char *channel;
	int opened; /* channel came from conversations.open just now */
};

/* A users.lookupByEmail of the linking pass. */
struct slack_lookup {
	struct slack *s;
	int64_t person_id;
};

static void slack_stop(void *state);

/* A string member of a member, or NULL; borrowed from o. */
static const char *
jstr2(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

/*
 * Slack refused a token: stop this transport for good, with one clear
 * log line, while the others keep running.
 */
static void
slack_fail(struct slack *s, const char *what, const char *error)
{
	char why[256];

	if (s->stopped)
		return;
	snprintf(why, sizeof(why),
		 "Slack refused the %s (%s); fix it and restart ismsd", what,
		 error ? error : "?");
	host_failed(s->host, "slack", why);
	slack_stop(s); /* no-op when gw_adapter_failed stopped it */
}

/* 1 when r means a refused token (and the transport was stopped). */
static int
auth_failed(struct slack *s, const struct slack_api_result *r, const char *what)
{
	if (r->status != SLACK_API_AUTH)
		return 0;
	slack_fail(s, what, r->error);
	return 1;
}

/* Completion of calls nobody waits for: replies, updates. */
static void
on_api_logged(void *arg, const struct slack_api_result *r)
{
	struct slack *s = arg;

	if (r->status == SLACK_API_OK || r->status == SLACK_API_CANCELLED ||
	    auth_failed(s, r, SLACK_BOT_TOKEN))
		return;
	log_warnx("slack: a reply or update failed: %s",
		  r->error ? r->error : "?");
}

/* ---- the store: DM cache, look-up bookkeeping, linking people ---- */

static char *
dm_cached(struct slack *s, int64_t person_id, const char *slack_id)
{
	return db_text(s->host->st,
		       "SELECT channel FROM slack_dm WHERE person_id = ? AND "
		       "slack_id = ?",
		       "it", person_id, slack_id);
}

static void
dm_remember(struct slack *s, int64_t person_id, const char *slack_id,
	    const char *channel)
{
	if (db_exec(s->host->st,
		    "INSERT INTO slack_dm(person_id, slack_id, channel, "
		    "opened_at) VALUES (?,?,?,?) ON CONFLICT(person_id) DO "
		    "UPDATE SET slack_id = excluded.slack_id, channel = "
		    "excluded.channel, opened_at = excluded.opened_at",
		    "itti", person_id, slack_id, channel,
		    store_now(s->host->st)) < 0)
		log_warnx("slack: cannot cache a DM channel");
}

static void
dm_forget(struct slack *s, int64_t person_id)
{
	db_exec(s->host->st, "DELETE FROM slack_dm WHERE person_id = ?", "i",
		person_id);
}

/* "email:<lower-case address>" or "user:<id>"; caller frees. */
static char *
lookup_key(const char *kind, const char *value)
{
	char *k = xasprintf("%s:%s", kind, value);
	char *p;

	for (p = k; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

/* Was this looked up within SLACK_LOOKUP_TTL? */
static int
lookup_recent(struct slack *s, const char *kind, const char *value)
{
	struct store *st = s->host->st;
	char *key = lookup_key(kind, value);
	int64_t n = 0;

	db_int(st, &n,
	       "SELECT COUNT(*) FROM slack_lookup WHERE key = ? AND "
	       "checked_at > ?",
	       "ti", key, store_now(st) - SLACK_LOOKUP_TTL);
	free(key);
	return n > 0;
}

static void
lookup_note(struct slack *s, const char *kind, const char *value)
{
	struct store *st = s->host->st;
	char *key = lookup_key(kind, value);

	db_exec(st,
		"INSERT INTO slack_lookup(key, checked_at) VALUES (?, ?) "
		"ON CONFLICT(key) DO UPDATE SET checked_at = "
		"excluded.checked_at",
		"ti", key, store_now(st));
	free(key);
}

/*
 * Fills people.slack_id where it is missing, in one transaction with its
 * audit row. how names the Web API method that found the match.
 */
static void
link_person(struct slack *s, int64_t person_id, const char *slack_id,
	    const char *how)
{
	struct store *st = s->host->st;
	char *handle = NULL, *details = NULL;
	json_t *d = NULL;
	int rc;

	if (slack_id == NULL || store_begin(st) < 0)
		return;
	rc = db_exec(
	    st,
	    "UPDATE people SET slack_id = ?, updated_at = ? WHERE "
	    "id = ? AND active <> 0 AND COALESCE(slack_id, '') = '' AND "
	    "NOT EXISTS (SELECT 1 FROM people WHERE slack_id = ?)",
	    "tiit", slack_id, store_now(st), person_id, slack_id);
	if (rc != 1)
		goto out;
	handle = db_text(st, "SELECT handle FROM people WHERE id = ?", "i",
			 person_id);
	d = json_pack("{s:s,s:s,s:s}", "slack_id", slack_id, "source", how,
		      "via", "slack");
	details = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	if (handle == NULL ||
	    store_audit(st, "system", "person.slack_link", handle, details) <
		0 ||
	    store_commit(st) < 0) {
		rc = -1;
		goto out;
	}
	log_info("slack: linked %s to Slack user %s (%s)", handle, slack_id,
		 how);
out:
	if (rc != 1)
		store_rollback(st);
	json_decref(d);
	free(details);
	free(handle);
}

/* The APR id of the approval message at channel/ts, or 0. */
static int64_t
approval_of_message(struct slack *s, const char *channel, const char *ts)
{
	return store_outbox_approval_at(s->host->st, "slack", channel, ts);
}

/* ---- answering inbound requests ---- */

static void
job_free(struct slack_job *j)
{
	if (j->hc != NULL)
		httpd_respond(j->hc, 503, "text/plain; charset=utf-8",
			      "try again\n", 10);
	json_decref(j->root);
	free(j->envelope_id);
	free(j->dedupe);
	buf_free(&j->cmd);
	free(j);
}

static int
link_send(struct slack_link *l, const char *text)
{
	return l != NULL && l->hello ? ws_send_text(l->c, text, strlen(text))
				     : -1;
}

/*
 * Acknowledges the request: on the connection it came on when that is
 * still open, else on the newest one; in HTTP mode as the response.
 * payload (stolen, may be NULL) is the immediate answer.
 */
static void
job_ack(struct slack_job *j, json_t *payload)
{
	struct slack_link *l, *same = NULL, *newest = NULL;
	char *text = NULL;

	if (j->acked)
		goto out;
	j->acked = 1;
	if (j->hc != NULL) {
		text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
		httpd_respond(j->hc, 200,
			      text ? "application/json; charset=utf-8"
				   : "text/plain; charset=utf-8",
			      text ? text : "", text ? strlen(text) : 0);
		j->hc = NULL;
		goto out;
	}
	if (j->envelope_id == NULL)
		goto out;
	for (l = j->s->links; l != NULL; l = l->next) {
		if (l->id == j->link_id)
			same = l;
		if (l->hello && (newest == NULL || l->id > newest->id))
			newest = l;
	}
	text = slack_render_ack(j->envelope_id, payload);
	payload = NULL; /* stolen by slack_render_ack */
	if (link_send(same, text) < 0 && link_send(newest, text) < 0)
		log_warnx("slack: no connection to ack an envelope on; Slack "
			  "will redeliver it");
out:
	json_decref(payload);
	free(text);
}

/* Acknowledges without more to say, and forgets the request. */
static void
job_done(struct slack_job *j, json_t *payload)
{
	job_ack(j, payload);
	job_free(j);
}

/*
 * Posts an answer for the person who sent in: through a click's
 * response_url, ephemerally (private in a channel), or in the thread.
 */
static void
job_reply(struct slack_job *j, const char *text, int error, int private)
{
	struct slack *s = j->s;
	const struct slack_in *in = &j->in;
	struct buf b = {0};
	json_t *args;

	if (in->kind == SLACK_IN_ACTION && in->response_url != NULL) {
		args = slack_render_ephemeral(text, error);
		json_object_set_new(args, "replace_original", json_false());
		slack_api_respond(s->api, in->response_url, args, on_api_logged,
				  s);
		return;
	}
	if (in->channel == NULL)
		return;
	slack_reply_text(&b, text, error);
	if (private || in->kind == SLACK_IN_ACTION) {
		args = json_pack("{s:s,s:s,s:s}", "channel", in->channel,
				 "user", in->user, "text", buf_str(&b));
		if (args != NULL && in->thread_ts != NULL)
			json_object_set_new(args, "thread_ts",
					    json_string(in->thread_ts));
		slack_api_call(s->api, "chat.postEphemeral", args,
			       SLACK_API_RETRY, on_api_logged, s);
	} else {
		args = json_pack("{s:s,s:s,s:s?}", "channel", in->channel,
				 "text", buf_str(&b), "thread_ts",
				 in->thread_ts ? in->thread_ts : in->ts);
		slack_api_call(s->api, "chat.postMessage", args,
			       SLACK_API_RETRY, on_api_logged, s);
	}
	buf_free(&b);
}

/* Acks (with a slash command's answer) and replies; frees j. */
static void
job_answer(struct slack_job *j, const struct isms_reply *rp)
{
	int error = rp->error && !rp->unknown;
	/* in a channel, details and refusals are for the sender's eyes */
	int private = j->in.shared && (rp->confidential || rp->error);

	if (rp->duplicate) {
		log_debug("slack: %s was redelivered: acked, ignored",
			  j->dedupe ? j->dedupe : "a request");
		job_done(j, NULL);
	} else if (j->in.kind == SLACK_IN_COMMAND) {
		job_done(j, slack_render_ephemeral(buf_str(&rp->text), error));
	} else {
		job_ack(j, NULL);
		job_reply(j, buf_str(&rp->text), error, private);
		job_free(j);
	}
}

/*
 * Runs the command, then acknowledges, then replies. So nothing Slack
 * considers delivered is lost or applied twice: gw_request commits the
 * change together with the inbox row that de-duplicates it (event id, or
 * envelope id, or trigger id). A crash before the commit leaves the
 * envelope unacked and Slack redelivers it; a redelivery after the commit
 * finds the inbox row and is acked and otherwise ignored.
 */
static void
on_job_done(void *arg, const struct isms_reply *rp, int rc)
{
	(void)rc;
	job_answer(arg, rp);
}

/*
 * The command joins the loop iteration's group commit (gateway/submit.c):
 * requests that arrive together share one durable COMMIT, and each is
 * answered only after it.
 */
static void
job_run(struct slack_job *j)
{
	struct isms_request rq = {.via = "slack", .id_kind = "slack"};

	rq.id = j->in.user;
	rq.text = buf_str(&j->cmd);
	rq.shared = j->in.shared;
	rq.event_id = j->dedupe;
	if (host_submit(j->s->host, &rq, on_job_done, j) < 0)
		job_free(j); /* stopping: unanswered, Slack retries */
}

/* users.info of an unknown sender: link them by e-mail, then run. */
static void
on_sender_info(void *arg, const struct slack_api_result *r)
{
	struct slack_job *j = arg;
	struct slack *s = j->s;
	const char *email;
	struct person p;

	if (s->stopped || r->status == SLACK_API_CANCELLED ||
	    auth_failed(s, r, SLACK_BOT_TOKEN)) {
		job_free(j); /* unacked: Slack redelivers it */
		return;
	}
	email = r->status == SLACK_API_OK
		    ? json_string_value(json_object_get(
			  json_object_get(json_object_get(r->body, "user"),
					  "profile"),
			  "email"))
		    : NULL;
	if (email != NULL &&
	    store_person_find(s->host->st, "email", email, &p) == 1 &&
	    p.slack_id[0] == '\0')
		link_person(s, p.id, j->in.user, "users.info");
	job_run(j);
}

/* A Reject click: a reason is needed, asked for in the thread. */
static void
job_reject_prompt(struct slack_job *j)
{
	struct store *st = j->s->host->st;
	char *text;
	int seen = 0;

	if (j->dedupe != NULL && store_begin(st) == 0) {
		seen = store_inbox_seen(st, "slack", j->dedupe);
		if (seen < 0 || store_commit(st) < 0)
			store_rollback(st);
	}
	job_ack(j, NULL);
	if (seen == 0) {
		text = xasprintf("To reject %s, reply in this message's thread "
				 "with: reject <reason>",
				 buf_str(&j->cmd));
		job_reply(j, text, 0, 1);
		free(text);
	}
	job_free(j);
}

/*
 * The command line for j into j->cmd: 0 to run it, 1 for a Reject click,
 * -1 when there is nothing to run (chatter in a channel, unknown action).
 */
static int
job_command(struct slack_job *j)
{
	struct slack_in *in = &j->in;
	struct buf d = {0};
	int64_t apr;
	int rc = slack_in_command(in, j->s->bot_user_id, &j->cmd);

	if (rc != 0 || in->kind != SLACK_IN_MESSAGE)
		return rc;
	/* a reply in an approval's thread decides it */
	if (in->thread_ts != NULL &&
	    (apr = approval_of_message(j->s, in->channel, in->thread_ts)) > 0 &&
	    slack_decision_text(buf_str(&j->cmd), apr, &d) == 1) {
		buf_reset(&j->cmd);
		buf_puts(&j->cmd, d.data);
		buf_free(&d);
		return 0;
	}
	buf_free(&d);
	return in->shared && !in->mentioned ? -1 : 0;
}

static void
job_start(struct slack_job *j)
{
	struct slack *s = j->s;
	struct person p;
	json_t *args;
	int rc;

	if (j->in.kind == SLACK_IN_IGNORE) {
		log_debug("slack: ignored: %s", j->in.why ? j->in.why : "?");
		job_done(j, NULL);
		return;
	}
	if (j->in.kind == SLACK_IN_CHALLENGE) {
		job_done(j, json_pack("{s:s}", "challenge", j->in.challenge));
		return;
	}
	rc = job_command(j);
	if (rc < 0) {
		job_done(j, NULL);
		return;
	}
	if (rc == 1) {
		job_reject_prompt(j);
		return;
	}
	/* a sender not in the directory may be linked by e-mail first */
	if (store_person_find(s->host->st, "slack", j->in.user, &p) == 0 &&
	    !lookup_recent(s, "user", j->in.user)) {
		lookup_note(s, "user", j->in.user);
		args = json_pack("{s:s}", "user", j->in.user);
		if (slack_api_call(s->api, "users.info", args, SLACK_API_FAST,
				   on_sender_info, j) == 0)
			return;
	}
	job_run(j);
}

/* Takes over payload (a new reference) and answers it in time. */
static void
job_new(struct slack *s, const char *type, json_t *payload,
	const char *envelope_id, unsigned link_id, struct httpd_conn *hc)
{
	struct slack_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->root = payload;
	j->envelope_id = xstrdup(envelope_id);
	j->link_id = link_id;
	j->hc = hc;
	if (slack_in_parse(type, payload, s->bot_user_id, &j->in) < 0) {
		log_warnx("slack: ignored a malformed %.20s payload: %s", type,
			  j->in.why);
		if (hc != NULL) {
			httpd_respond(hc, 400, "text/plain; charset=utf-8",
				      "malformed payload\n", 18);
			j->hc = NULL;
		}
		j->in.kind = SLACK_IN_IGNORE;
	}
	host_count_request(s->host, "slack",
			   j->in.kind == SLACK_IN_IGNORE ? "ignored"
							 : "accepted");
	/* event ids survive redelivery on any connection and in HTTP mode */
	if (j->in.event_id != NULL)
		j->dedupe = xasprintf("ev:%s", j->in.event_id);
	else if (envelope_id != NULL)
		j->dedupe = xasprintf("env:%s", envelope_id);
	else if (j->in.trigger_id != NULL)
		j->dedupe = xasprintf("trg:%.200s", j->in.trigger_id);
	job_start(j);
}

/* ---- Socket Mode ---- */

static uint64_t
backoff_ms(int n)
{
	uint64_t base = (uint64_t)SLACK_BACKOFF_MIN_MS << (n < 8 ? n : 8);

	if (base > SLACK_BACKOFF_MAX_MS)
		base = SLACK_BACKOFF_MAX_MS;
	return base / 2 + (uint64_t)random() % (base / 2 + 1);
}

/* Connections that got their hello and were not asked to move. */
static int
links_live(struct slack *s)
{
	struct slack_link *l;
	int n = 0;

	for (l = s->links; l != NULL; l = l->next)
		n += l->hello && !l->draining;
	return n;
}

static void on_reconnect(uv_timer_t *t);

static void
sock_open_soon(struct slack *s, uint64_t delay_ms)
{
	if (s->stopped || s->opening)
		return;
	s->opening = 1;
	if (delay_ms > 0)
		log_info("slack: reconnecting in %llu ms",
			 (unsigned long long)delay_ms);
	uv_timer_start(&s->reconnect, on_reconnect, delay_ms, 0);
}

/* Opening a connection failed: try again later unless one is live. */
static void
sock_open_failed(struct slack *s, const char *why)
{
	s->opening = 0;
	if (!s->stopped && links_live(s) == 0)
		host_state(s->host, "slack", TRANSPORT_CONNECTING, why);
	if (!s->stopped && links_live(s) == 0)
		sock_open_soon(s, backoff_ms(s->backoff++));
}

/* Closes every connection but the newest live one. */
static void
on_drained(uv_timer_t *t)
{
	struct slack *s = t->data;
	struct slack_link *l, *newest = NULL;

	for (l = s->links; l != NULL; l = l->next)
		if (l->hello && !l->draining &&
		    (newest == NULL || l->id > newest->id))
			newest = l;
	for (l = s->links; l != NULL; l = l->next)
		if (l != newest && l->hello)
			ws_close(l->c);
}

static void
link_hello(struct slack *s, struct slack_link *link)
{
	struct slack_link *l;

	link->hello = 1;
	s->opening = 0;
	s->backoff = 0;
	log_info("slack: connected (Socket Mode, connection %u)", link->id);
	host_state(s->host, "slack", TRANSPORT_CONNECTED, NULL);
	/*
	 * The new connection replaces the older ones; they are closed a
	 * little later (if Slack has not closed them already), since closing
	 * drops acks still queued on them.
	 */
	for (l = s->links; l != NULL; l = l->next)
		if (l != link)
			l->draining = 1;
	uv_timer_start(&s->drainer, on_drained, SLACK_DRAIN_MS, 0);
}

static void
on_ws_text(void *arg, struct ws_conn *c, const char *msg, size_t len)
{
	struct slack_link *link = arg;
	struct slack *s = link->s;
	struct slack_envelope env;

	(void)c;
	if (s->stopped)
		return;
	if (slack_envelope_parse(msg, len, &env) < 0) {
		log_warnx("slack: ignored a malformed Socket Mode message "
			  "(%zu bytes)",
			  len);
		return;
	}
	if (strcmp(env.type, "hello") == 0) {
		link_hello(s, link);
	} else if (strcmp(env.type, "disconnect") == 0) {
		log_info("slack: Slack asks to reconnect (%.40s)",
			 env.reason ? env.reason : "no reason given");
		link->draining = 1;
		sock_open_soon(s, 0);
	} else if (env.envelope_id != NULL) {
		if (env.retry_attempt > 0)
			log_debug("slack: envelope redelivered (attempt %d)",
				  env.retry_attempt);
		job_new(s, env.type, json_incref(env.payload), env.envelope_id,
			link->id, NULL);
	} else {
		log_debug("slack: ignored a %.40s message", env.type);
	}
	slack_envelope_free(&env);
}

static void
on_ws_close(void *arg, struct ws_conn *c, const char *why)
{
	struct slack_link *link = arg, **pp;
	struct slack *s = link->s;

	(void)c;
	for (pp = &s->links; *pp != NULL; pp = &(*pp)->next)
		if (*pp == link) {
			*pp = link->next;
			break;
		}
	if (!s->stopped && !link->hello) {
		log_warnx("slack: Socket Mode connection %u failed: %s",
			  link->id, why);
		sock_open_failed(s, why);
	} else if (!s->stopped) {
		log_info("slack: Socket Mode connection %u closed: %s",
			 link->id, why);
		if (links_live(s) == 0) {
			host_state(s->host, "slack", TRANSPORT_CONNECTING, why);
			sock_open_soon(s, backoff_ms(s->backoff++));
		}
	}
	free(link);
}

static void
on_connections_open(void *arg, const struct slack_api_result *r)
{
	static const struct ws_cbs cbs = {NULL, on_ws_text, on_ws_close};
	struct slack *s = arg;
	struct slack_link *link;
	const char *url;

	if (s->stopped) {
		s->opening = 0;
		return;
	}
	if (auth_failed(s, r, SLACK_APP_TOKEN))
		return;
	url = r->status == SLACK_API_OK ? jstr2(r->body, "url", NULL) : NULL;
	if (url == NULL ||
	    (strncmp(url, "wss://", 6) != 0 && strncmp(url, "ws://", 5) != 0)) {
		log_warnx("slack: apps.connections.open failed: %s",
			  r->error ? r->error : "no WebSocket URL");
		sock_open_failed(s, r->error ? r->error : "no WebSocket URL");
		return;
	}
	link = xcalloc(1, sizeof(*link));
	link->s = s;
	link->id = ++s->link_ids;
	link->c = ws_connect(s->host->ws, url, &cbs, link);
	if (link->c == NULL) {
		free(link);
		log_warnx("slack: cannot open the Socket Mode WebSocket");
		sock_open_failed(s, "cannot open the WebSocket");
		return;
	}
	link->next = s->links;
	s->links = link;
}

static void
on_reconnect(uv_timer_t *t)
{
	struct slack *s = t->data;

	if (slack_api_call(s->api, "apps.connections.open", NULL,
			   SLACK_API_APP_TOKEN, on_connections_open, s) < 0)
		s->opening = 0;
}

/* ---- HTTP mode ---- */

static void
http_plain(struct httpd_conn *c, int status, const char *text)
{
	httpd_respond(c, status, "text/plain; charset=utf-8", text,
		      strlen(text));
}

static void
on_http(void *arg, struct httpd_conn *c, const struct httpd_request *r)
{
	struct slack *s = arg;
	size_t plen = strcspn(r->path, "?");
	enum slack_sig_result sig;
	const char *type, *ts, *mac;
	json_t *payload;
	int64_t now;

	if (plen != strlen(SLACK_PATH) || strncmp(r->path, SLACK_PATH, plen)) {
		http_plain(c, 404, "not found\n");
		return;
	}
	if (strcmp(r->method, "POST") != 0) {
		http_plain(c, 405, "POST only\n");
		return;
	}
	if (s->stopped) {
		http_plain(c, 503, "stopping\n");
		return;
	}
	ts = httpd_header(r, "X-Slack-Request-Timestamp");
	mac = httpd_header(r, "X-Slack-Signature");
	now = store_now(s->host->st);
	sig = slack_sig_verify(s->signing_secret, ts, mac, r->body, r->body_len,
			       now);
	if (sig != SLACK_SIG_OK) {
		/* counted; one line a minute at most */
		slack_refusals_note(s->refusals, sig, s->signing_secret, ts,
				    mac, r->body, r->body_len, now);
		host_count_request(s->host, "slack", "refused");
		http_plain(c, 401, "invalid signature\n");
		return;
	}
	payload = slack_http_payload(httpd_header(r, "Content-Type"), r->body,
				     r->body_len, &type);
	if (payload == NULL) {
		log_warnx("slack: a signed request had an unreadable body");
		http_plain(c, 400, "unreadable body\n");
		return;
	}
	job_new(s, type, payload, NULL, 0, c);
}

/* ---- outbox delivery ---- */

static void
send_free(struct slack_send *x)
{
	free(x->subject);
	free(x->body);
	free(x->payload);
	free(x->channel);
	free(x);
}

/* Reports a Web API outcome for the delivery and frees x. */
static void
send_finish(struct slack_send *x, const struct slack_api_result *r,
	    const char *ts)
{
	struct slack *s = x->s;
	enum send_result res;

	switch (r->status) {
	case SLACK_API_OK:
		res = SEND_OK;
		/* HTTP mode has no connection of its own: the Web API is it */
		if (s->http_mode)
			host_state(s->host, "slack", TRANSPORT_CONNECTED, NULL);
		break;
	case SLACK_API_FAILED:
		res = SEND_FAIL;
		break;
	case SLACK_API_AUTH:
		slack_fail(s, SLACK_BOT_TOKEN, r->error);
		res = SEND_RETRY; /* delivered once the token is fixed */
		break;
	case SLACK_API_CANCELLED:
		/* the daemon's stop is no attempt; this transport's own is */
		res = s->host->stopping ? SEND_CANCELLED : SEND_RETRY;
		break;
	default:
		res = SEND_RETRY;
		break;
	}
	host_delivery_done(s->host, x->delivery_id, res, x->channel, ts,
			   r->retry_after_s, r->error);
	send_free(x);
}

/* A decision: every Slack copy of the approval request shows it. */
static void
send_decided(struct slack_send *x)
{
	struct slack *s = x->s;
	json_t *pl = json_loads(x->payload, 0, NULL);
	json_t *apr = json_object_get(pl, "approval");
	const char *outcome =
	    json_string_value(json_object_get(pl, "decision"));
	struct db_stmt *st;

	if (!json_is_integer(apr))
		goto out;
	st = db_prepare(
	    s->host->st,
	    "SELECT d.channel, d.external_id, o.subject FROM "
	    "outbox_delivery d JOIN outbox o ON o.id = d.outbox_id "
	    "WHERE d.transport = 'slack' AND d.status = 'sent' AND "
	    "o.kind = 'approval' AND d.channel IS NOT NULL AND "
	    "d.external_id IS NOT NULL AND "
	    "CAST(json_extract(o.payload, '$.approval') AS INTEGER) = ?",
	    "i", (int64_t)json_integer_value(apr));
	if (st == NULL)
		goto out;
	while (db_step(st) == DB_ROW)
		slack_api_call(
		    s->api, "chat.update",
		    slack_render_decided(db_col(st, 0), db_col(st, 1),
					 db_col(st, 2), x->subject, outcome),
		    SLACK_API_RETRY, on_api_logged, s);
	db_finish(s->host->st, st);
out:
	json_decref(pl);
}

static void
on_posted(void *arg, const struct slack_api_result *r)
{
	struct slack_send *x = arg;
	const char *err = r->error;

	if (r->status == SLACK_API_OK) {
		if ((msg_kind_flags(x->kind) & MSGK_SHOWS_DECISION) &&
		    !x->s->stopped)
			send_decided(x);
		send_finish(x, r, jstr2(r->body, "ts", NULL));
		return;
	}
	if (r->status == SLACK_API_FAILED && err != NULL && !x->opened &&
	    (strcmp(err, "channel_not_found") == 0 ||
	     strcmp(err, "is_archived") == 0)) {
		/* a stale cached DM: open it again next time; refused in a
		 * DM opened just now, it is for good (the next transport) */
		struct slack_api_result retry = *r;

		dm_forget(x->s, x->person_id);
		retry.status = SLACK_API_TRANSIENT;
		send_finish(x, &retry, NULL);
		return;
	}
	send_finish(x, r, NULL);
}

static void
send_post(struct slack_send *x)
{
	json_t *args = slack_render_post(x->channel, NULL, x->kind, x->subject,
					 x->body, x->payload);
	struct slack_api_result r = {.status = SLACK_API_CANCELLED,
				     .error = "stopping"};

	if (args == NULL) {
		r.status = SLACK_API_FAILED;
		r.error = "cannot render the message";
		send_finish(x, &r, NULL);
		return;
	}
	if (slack_api_call(x->s->api, "chat.postMessage", args, 0, on_posted,
			   x) < 0)
		send_finish(x, &r, NULL);
}

static void
on_dm_open(void *arg, const struct slack_api_result *r)
{
	struct slack_send *x = arg;
	const char *channel = jstr2(r->body, "channel", "id");

	if (r->status != SLACK_API_OK || x->s->stopped || channel == NULL) {
		struct slack_api_result res = *r;

		if (res.status == SLACK_API_OK) {
			res.status = x->s->stopped ? SLACK_API_CANCELLED
						   : SLACK_API_TRANSIENT;
			res.error = "conversations.open gave no channel";
		}
		send_finish(x, &res, NULL);
		return;
	}
	dm_remember(x->s, x->person_id, x->slack_id, channel);
	x->channel = xstrdup(channel);
	x->opened = 1;
	send_post(x);
}

static int
slack_reaches(void *state, const struct person *p, const char *address)
{
	(void)state;
	(void)address;
	return p != NULL && p->slack_id[0] != '\0';
}

static void
slack_send(void *state, const struct outmsg *m)
{
	struct slack *s = state;
	struct slack_send *x;
	struct slack_api_result r = {.status = SLACK_API_CANCELLED,
				     .error = "stopping"};

	if (!slack_reaches(s, m->to, m->address)) {
		host_delivery_done(s->host, m->delivery_id, SEND_SKIP, NULL,
				   NULL, 0, "no Slack user id");
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->delivery_id = m->delivery_id;
	x->person_id = m->to->id;
	snprintf(x->slack_id, sizeof(x->slack_id), "%s", m->to->slack_id);
	x->kind = m->kind;
	x->subject = xstrdup(m->subject);
	x->body = xstrdup(m->body);
	x->payload = xstrdup(m->payload ? m->payload : "{}");
	x->channel = dm_cached(s, x->person_id, x->slack_id);
	if (x->channel != NULL) {
		send_post(x);
		return;
	}
	if (slack_api_call(s->api, "conversations.open",
			   json_pack("{s:s}", "users", x->slack_id), 0,
			   on_dm_open, x) < 0)
		send_finish(x, &r, NULL);
}

/* ---- linking the directory ---- */

static void
on_lookup_email(void *arg, const struct slack_api_result *r)
{
	struct slack_lookup *x = arg;

	if (!x->s->stopped && !auth_failed(x->s, r, SLACK_BOT_TOKEN) &&
	    r->status == SLACK_API_OK)
		link_person(x->s, x->person_id, jstr2(r->body, "user", "id"),
			    "users.lookupByEmail");
	free(x);
}

/* People with an e-mail address but no Slack id, looked up by e-mail. */
static void
link_pass(uv_timer_t *t)
{
	struct slack *s = t->data;
	struct store *st = s->host->st;
	struct db_stmt *q;
	int64_t ids[SLACK_LINK_BATCH];
	char *emails[SLACK_LINK_BATCH];
	size_t n = 0, i;

	q = db_prepare(st,
		       "SELECT id, email FROM people p WHERE active <> 0 AND "
		       "COALESCE(slack_id, '') = '' AND COALESCE(email, '') "
		       "!= '' AND NOT EXISTS (SELECT 1 FROM slack_lookup l "
		       "WHERE l.key = 'email:' || lower(p.email) AND "
		       "l.checked_at > ?) ORDER BY id LIMIT ?",
		       "ii", store_now(st) - SLACK_LOOKUP_TTL,
		       (int64_t)SLACK_LINK_BATCH);
	while (q != NULL && n < SLACK_LINK_BATCH && db_step(q) == DB_ROW) {
		ids[n] = db_col_int(q, 0);
		emails[n++] = xstrdup(db_col(q, 1));
	}
	db_finish(st, q);
	for (i = 0; i < n; i++) {
		struct slack_lookup *x = xcalloc(1, sizeof(*x));

		x->s = s;
		x->person_id = ids[i];
		lookup_note(s, "email", emails[i]);
		if (slack_api_call(s->api, "users.lookupByEmail",
				   json_pack("{s:s}", "email", emails[i]),
				   SLACK_API_RETRY, on_lookup_email, x) < 0)
			free(x);
		free(emails[i]);
	}
	if (n > 0)
		log_info("slack: looking up %zu people by e-mail", n);
	if (!s->stopped)
		uv_timer_start(&s->linker, link_pass, SLACK_LINK_EVERY_MS, 0);
}

/* ---- the adapter ---- */

static void
on_auth_test(void *arg, const struct slack_api_result *r)
{
	struct slack *s = arg;

	if (s->stopped || auth_failed(s, r, SLACK_BOT_TOKEN))
		return;
	if (r->status != SLACK_API_OK) {
		log_warnx("slack: auth.test failed (%s); carrying on",
			  r->error ? r->error : "?");
		/* HTTP mode has no connection of its own: the Web API is it */
		if (s->http_mode)
			host_state(s->host, "slack", TRANSPORT_CONNECTING,
				   r->error ? r->error : "auth.test failed");
		return;
	}
	if (s->http_mode)
		host_state(s->host, "slack", TRANSPORT_CONNECTED, NULL);
	free(s->bot_user_id);
	s->bot_user_id = xstrdup(jstr2(r->body, "user_id", NULL));
	log_info(
	    "slack: the bot is %.80s (%.40s) in %.80s",
	    jstr2(r->body, "user", NULL) ? jstr2(r->body, "user", NULL) : "?",
	    s->bot_user_id ? s->bot_user_id : "?",
	    jstr2(r->body, "team", NULL) ? jstr2(r->body, "team", NULL) : "?");
	uv_timer_start(&s->linker, link_pass, SLACK_LINK_FIRST_MS, 0);
}

/* The [http] section's limits for the HTTP mode server. */
static void
slack_http_limits(struct httpd *h, const struct config *cfg)
{
	adapter_http_limits(h, cfg,
			    (size_t)cfg->http_max_unauthenticated_bytes);
	if (httpd_max_conns(h) < (unsigned)cfg->http_max_connections)
		log_warnx("slack: http.max_connections lowered to %u to stay "
			  "below the open-file limit",
			  httpd_max_conns(h));
}

static int
slack_enabled(const struct config *cfg)
{
	return cfg->slack_enabled;
}

static int
slack_start(struct host *host, void **state)
{
	const struct config *cfg = host->cfg;
	struct slack *s = xcalloc(1, sizeof(*s));
	char addr[128];
	int port;

	s->host = host;
	s->http_mode = strcmp(cfg->slack_mode, "http") == 0;
	if (s->http_mode) {
		if (slack_parse_listen(cfg->slack_listen, addr, sizeof(addr),
				       &port) < 0) {
			log_error("slack: slack.listen must be host:port, "
				  "e.g. 127.0.0.1:3000 or [::1]:3000");
			free(s);
			return -1;
		}
		s->httpd = httpd_new(host->loop, addr, port, on_http, s);
		if (s->httpd == NULL) {
			free(s);
			return -1;
		}
		slack_http_limits(s->httpd, cfg);
		s->refusals = slack_refusals_new(host->loop);
		s->signing_secret = xstrdup(cfg->slack_signing_secret);
		log_info("slack: HTTP mode: listening on http://%s%s%s:%d%s",
			 strchr(addr, ':') ? "[" : "", addr,
			 strchr(addr, ':') ? "]" : "", httpd_port(s->httpd),
			 SLACK_PATH);
	} else if (host->ws == NULL) {
		log_error("slack: Socket Mode needs the WebSocket client");
		free(s);
		return -1;
	}
	s->api = slack_api_new(host->http, host->loop, cfg->slack_api_base,
			       cfg->slack_bot_token, cfg->slack_app_token);
	uv_timer_init(host->loop, &s->reconnect);
	uv_timer_init(host->loop, &s->linker);
	uv_timer_init(host->loop, &s->closer);
	uv_timer_init(host->loop, &s->drainer);
	s->reconnect.data = s->linker.data = s->closer.data = s;
	s->drainer.data = s;
	if (!s->http_mode)
		sock_open_soon(s, 0);
	slack_api_call(s->api, "auth.test", NULL, SLACK_API_RETRY, on_auth_test,
		       s);
	*state = s;
	return 0;
}

/*
 * Closing a connection drops what is still queued on it, so the last acks
 * and answers get a moment to go out first (the daemon's own grace after
 * SIGTERM is longer). Nothing new is taken in meanwhile.
 */
static void
on_closer(uv_timer_t *t)
{
	struct slack *s = t->data;
	struct slack_link *l;

	for (l = s->links; l != NULL; l = l->next)
		ws_close(l->c);
	httpd_free(s->httpd);
	s->httpd = NULL;
	uv_close((uv_handle_t *)t, NULL);
}

static void
slack_stop(void *state)
{
	struct slack *s = state;

	if (s->stopped)
		return;
	s->stopped = 1;
	uv_timer_stop(&s->reconnect);
	uv_close((uv_handle_t *)&s->reconnect, NULL);
	uv_timer_stop(&s->linker);
	uv_close((uv_handle_t *)&s->linker, NULL);
	uv_timer_stop(&s->drainer);
	uv_close((uv_handle_t *)&s->drainer, NULL);
	slack_refusals_stop(s->refusals);
	s->refusals = NULL;
	uv_timer_start(&s->closer, on_closer, SLACK_CLOSE_GRACE_MS, 0);
	slack_api_stop(s->api);
}

static void
slack_free(void *state)
{
	struct slack *s = state;
	struct slack_link *l;

	while ((l = s->links) != NULL) {
		s->links = l->next;
		free(l);
	}
	slack_api_free(s->api);
	str_free_secret(s->signing_secret);
	free(s->bot_user_id);
	free(s);
}

/* HTTP mode serves Slack's requests on every gateway; Socket Mode is one
 * connection, the leader's */
static int
slack_on_standby(const struct config *cfg)
{
	return strcmp(cfg->slack_mode, "http") == 0;
}

const struct adapter_ops slack_ops = {
    .name = "slack",
    .enabled = slack_enabled,
    .on_standby = slack_on_standby,
    .start = slack_start,
    .reaches = slack_reaches,
    .send = slack_send,
    .stop = slack_stop,
    .free = slack_free,
};
