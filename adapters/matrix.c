/*
 * Matrix transport: login, the /sync loop, invites, commands and answers,
 * DMs and outbox delivery with idempotent sends. Everything runs on the
 * loop thread; wire details live in matrix_proto.c.
 */
#include "matrix.h"

#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "../net/http.h"
#include "../base/log.h"
#include "matrix_proto.h"
#include "e2ee.h"

#define MX_SYNC_TIMEOUT_MS 30000L /* the server holds /sync this long */
#define MX_SYNC_SLACK_MS   30000L /* ... and we wait this much longer */
#define MX_REQ_TIMEOUT_MS  30000L
#define MX_TIMELINE_LIMIT  100
#define MX_REPLY_TRIES	   6	/* attempts for a direct answer */
#define MX_RELOGIN_GAP_MS  3000 /* at most one login per this interval */
#define MX_PENDING_MAX	   20
#define MX_SETTING_BATCH   "matrix.next_batch"
#define MX_API		   "/_matrix/client/v3"
#define MX_UPLOAD_ROUNDS   8 /* key uploads in a row before waiting */

/* A message to send: an outbox delivery or a direct answer. */
struct mx_job {
	struct mx_job *next;
	int64_t delivery_id; /* 0 for a direct answer */
	char *room;	     /* NULL until the DM with dm_user is known */
	char *dm_user;	     /* the person, for DMs */
	char *txn;
	json_t *content;
	int attempts;
	uint64_t not_before; /* loop time, ms */
	int enc_warning;     /* the "encryption is unsupported" notice */
	char **members;	     /* an encrypted send: the room's members */
	size_t nmembers;
	enum { ENC_QUERY, ENC_CLAIM, ENC_SHARE } enc_stage; /* its request */
	int enc_room; /* its room is known to be encrypted */
};

/* A Matrix user whose DM room is being created. */
struct mx_name {
	struct mx_name *next;
	char *user;
};

/* A DM room to add to m.direct. */
struct mx_pair {
	struct mx_pair *next;
	char *user, *room;
};

struct mx {
	struct host *host;
	/* copied at start: a reload must not pull them away */
	char *hs, *self, *token, *password, *allowed, *device;
	char *since;  /* saved next_batch, NULL before the first sync */
	uint64_t gen; /* bumped with each new token */
	int stopped;
	int need_login, login_busy, login_failures;
	uint64_t last_login;
	int sync_busy; /* a /sync or the batch it returned is in progress */
	int sync_failures;
	char *batch_next; /* next_batch of the batch in progress */
	int joins_pending, batch_failed;
	uint64_t rate_until;  /* no sends before this loop time */
	uv_timer_t timer;     /* next sync or login attempt */
	uv_timer_t job_timer; /* next send */
	struct mx_job *jobs;  /* queued, not in flight */
	struct mx_name *dm_busy;
	struct mx_pair *direct_pending; /* m.direct additions not yet written */
	int direct_busy;

	/* end-to-end encryption: NULL when matrix.pickle_key is not set */
	struct e2ee *e2e;
	int encrypt_dms;
	int device_ok;	 /* the token's device is ours (keys are per device) */
	int device_busy; /* /account/whoami in flight */
	int upload_busy; /* /keys/upload in flight */
	int upload_rounds; /* uploads since the last sync */
	long otk_count;	   /* one-time keys on the server, -1 unknown */
	int enc_busy;	   /* an encrypted send is between its steps */
	uint64_t txn_seq;  /* to-device transaction ids */
};

/* The outcome of one request, for the callbacks below. */
struct mx_res {
	struct mx_err e;
	long http;	 /* HTTP status, 0 when the transfer failed */
	json_t *body;	 /* parsed body or NULL; borrowed */
	const char *why; /* short text for logs, never a secret */
};

typedef void (*mx_cb)(struct mx *mx, void *arg, const struct mx_res *r);

struct mx_call {
	struct mx *mx;
	mx_cb cb;
	void *arg;
	uint64_t gen;
};

static void sync_start(struct mx *mx);
static void mx_login(struct mx *mx);
static void mx_later(struct mx *mx, long ms);
static void jobs_kick(struct mx *mx);
static void device_check(struct mx *mx);

static uint64_t
mx_now(const struct mx *mx)
{
	return uv_now(mx->host->loop);
}

static void
mx_fail(struct mx *mx, const char *why)
{
	if (!mx->stopped)
		host_failed(mx->host, "matrix", why);
}

/* ---- requests ---- */

static void
token_rejected(struct mx *mx)
{
	if (mx->password == NULL) {
		mx_fail(mx, "the homeserver rejected the access token "
			    "(M_UNKNOWN_TOKEN) and no matrix.password is set "
			    "to log in again; configure a new "
			    "matrix.access_token or a password and restart "
			    "ismsd");
		return;
	}
	if (mx->need_login)
		return; /* a login is on its way */
	log_warnx("matrix: the access token was rejected; logging in again "
		  "as %s",
		  mx->self);
	mx->need_login = 1;
	/* a homeserver that keeps rejecting fresh tokens is not hammered */
	if (mx->last_login != 0 &&
	    mx_now(mx) - mx->last_login < MX_RELOGIN_GAP_MS) {
		mx_later(mx, MX_RELOGIN_GAP_MS);
		return;
	}
	uv_timer_stop(&mx->timer);
	mx_login(mx);
}

static void
mx_http_done(void *arg, const struct http_res *res, const char *err)
{
	struct mx_call *c = arg;
	struct mx *mx = c->mx;
	struct mx_res r = {0};
	char why[160];

	r.http = err != NULL ? 0 : res->status;
	if (err == NULL && res->body_len > 0)
		r.body = json_loadb(res->body, res->body_len, 0, NULL);
	mx_classify(r.http, r.body, err != NULL ? -1 : res->retry_after_s,
		    &r.e);
	if (err != NULL)
		snprintf(why, sizeof(why), "%s", err);
	else if (r.e.errcode[0] != '\0')
		snprintf(why, sizeof(why), "HTTP %ld %s", r.http, r.e.errcode);
	else
		snprintf(why, sizeof(why), "HTTP %ld", r.http);
	r.why = why;
	/* only a token still in use sends us back to the login */
	if (r.e.status == MX_BADTOKEN && !mx->stopped && c->gen == mx->gen)
		token_rejected(mx);
	c->cb(mx, c->arg, &r);
	json_decref(r.body);
	free(c);
}

/*
 * Starts method on the homeserver's path (escaped by the caller) with an
 * optional JSON body (borrowed). 0, or -1 when it could not start (cb will
 * not run).
 */
static int
mx_call(struct mx *mx, const char *method, const char *path, json_t *body,
	long timeout_ms, mx_cb cb, void *arg)
{
	struct mx_call *c = xcalloc(1, sizeof(*c));
	struct http_req rq = {0};
	const char *hdrs[4] = {"Content-Type: application/json",
			       "Accept: application/json", NULL, NULL};
	char *url = xasprintf("%s%s", mx->hs, path), *auth = NULL;
	char *text = NULL;
	int rc;

	/* the login itself goes without the token it replaces */
	if (mx->token != NULL && strcmp(path, MX_API "/login") != 0) {
		auth = xasprintf("Authorization: Bearer %s", mx->token);
		hdrs[2] = auth;
	}
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL)
			fatalx("out of memory");
	}
	c->mx = mx;
	c->cb = cb;
	c->arg = arg;
	c->gen = mx->gen;
	rq.method = method;
	rq.url = url;
	rq.headers = hdrs;
	rq.body = text;
	rq.body_len = text != NULL ? strlen(text) : 0;
	rq.timeout_ms = timeout_ms;
	rc = http_request(mx->host->http, &rq, mx_http_done, c);
	if (rc < 0)
		free(c);
	if (auth != NULL) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	free(url);
	free(text);
	return rc;
}

/* "/_matrix/client/v3" followed by fixed parts and escaped ids. */
static char *
mx_path(const char *a, const char *id1, const char *b, const char *id2)
{
	struct buf p = {0};

	buf_puts(&p, MX_API);
	buf_puts(&p, a);
	if (id1 != NULL)
		mx_url_escape(&p, id1);
	if (b != NULL)
		buf_puts(&p, b);
	if (id2 != NULL)
		mx_url_escape(&p, id2);
	return buf_steal(&p);
}

/* ---- login and the sync loop ---- */

static void
timer_fired(uv_timer_t *t)
{
	struct mx *mx = t->data;

	if (mx->need_login)
		mx_login(mx);
	else
		sync_start(mx);
}

/* Tries the login or the sync again after ms. */
static void
mx_later(struct mx *mx, long ms)
{
	if (!mx->stopped)
		uv_timer_start(&mx->timer, timer_fired, (uint64_t)ms, 0);
}

/* After a login: sync and send what waited. */
static void
mx_resume(struct mx *mx)
{
	uv_timer_stop(&mx->timer);
	if (mx->need_login)
		mx_login(mx);
	else if (!mx->sync_busy)
		sync_start(mx);
	device_check(mx);
	jobs_kick(mx);
}

static void
login_done(struct mx *mx, void *arg, const struct mx_res *r)
{
	const char *tok =
	    json_string_value(json_object_get(r->body, "access_token"));
	const char *dev =
	    json_string_value(json_object_get(r->body, "device_id"));
	char why[256];

	(void)arg;
	mx->login_busy = 0;
	if (mx->stopped)
		return;
	if (r->e.status == MX_OK && tok != NULL && *tok != '\0') {
		free(mx->token);
		mx->token = xstrdup(tok);
		mx->gen++;
		mx->need_login = 0;
		mx->login_failures = 0;
		mx->last_login = mx_now(mx);
		log_info("matrix: logged in as %s (device %s)", mx->self,
			 dev != NULL ? dev : "?");
		if (dev != NULL && strcmp(dev, mx->device) != 0)
			log_warnx("matrix: the homeserver chose device %s, not "
				  "%s; a send retried across logins may repeat",
				  dev, mx->device);
		mx->device_ok = 0; /* asked again for the new token */
		mx_resume(mx);
		return;
	}
	switch (r->e.status) {
	case MX_LIMITED:
		mx_later(mx, r->e.retry_ms);
		break;
	case MX_OK:
	case MX_TRANSIENT: {
		long wait = mx_backoff_ms(++mx->login_failures, random());

		log_warnx("matrix: login failed (%s); retrying in %ld ms",
			  r->why, wait);
		host_state(mx->host, "matrix", TRANSPORT_CONNECTING, r->why);
		mx_later(mx, wait);
		break;
	}
	case MX_BADTOKEN:
	case MX_FATAL:
		snprintf(why, sizeof(why),
			 "login as %s refused (%s): check matrix.user_id and "
			 "matrix.password",
			 mx->self, r->why);
		mx_fail(mx, why);
		break;
	}
}

static void
mx_login(struct mx *mx)
{
	json_t *body;

	if (mx->stopped || mx->login_busy)
		return;
	if (uv_is_active((uv_handle_t *)&mx->timer))
		return; /* a delayed attempt is already planned */
	body =
	    json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "type",
		      "m.login.password", "identifier", "type", "m.id.user",
		      "user", mx->self, "password", mx->password, "device_id",
		      mx->device, "initial_device_display_name", "ismsd");
	if (body == NULL) {
		mx_fail(mx, "matrix.user_id, matrix.password or "
			    "matrix.device_id is not valid UTF-8");
		return;
	}
	mx->login_busy = 1;
	if (mx_call(mx, "POST", MX_API "/login", body, MX_REQ_TIMEOUT_MS,
		    login_done, NULL) < 0) {
		mx->login_busy = 0;
		mx_later(mx, mx_backoff_ms(++mx->login_failures, random()));
	}
	json_decref(body);
}

static void
sync_later(struct mx *mx, long ms)
{
	mx->sync_busy = 0;
	mx_later(mx, ms);
}

static void
sync_retry(struct mx *mx, const char *what, const char *why)
{
	long wait = mx_backoff_ms(++mx->sync_failures, random());

	log_warnx("matrix: %s (%s); retrying in %ld ms", what, why, wait);
	host_state(mx->host, "matrix", TRANSPORT_CONNECTING, why);
	sync_later(mx, wait);
}

/* ---- rooms in the store ---- */

struct mx_roomrow {
	int64_t joined_at;
	int encrypted, warned, members, direct;
};

static void
room_get(struct mx *mx, const char *room, struct mx_roomrow *out)
{
	struct db_stmt *s = db_prepare(
	    mx->host->st,
	    "SELECT joined_at, encrypted, warned, members, "
	    "direct_user IS NOT NULL OR EXISTS (SELECT 1 FROM matrix_dm d "
	    "WHERE d.room_id = r.room_id) FROM matrix_rooms r "
	    "WHERE room_id = ?",
	    "t", room);

	memset(out, 0, sizeof(*out));
	out->members = -1;
	if (s == NULL)
		return;
	if (db_step(s) == DB_ROW) {
		out->joined_at = db_col_int(s, 0);
		out->encrypted = (int)db_col_int(s, 1);
		out->warned = (int)db_col_int(s, 2);
		out->members = (int)db_col_int(s, 3);
		out->direct = (int)db_col_int(s, 4);
	}
	db_finish(mx->host->st, s);
}

static void
room_record(struct mx *mx, const char *room, int64_t joined_at, int encrypted,
	    int members)
{
	db_exec(mx->host->st,
		"INSERT INTO matrix_rooms(room_id, joined_at, encrypted, "
		"members) VALUES (?, ?, ?, ?) ON CONFLICT(room_id) DO UPDATE "
		"SET joined_at = CASE WHEN excluded.joined_at > "
		"matrix_rooms.joined_at THEN excluded.joined_at ELSE "
		"matrix_rooms.joined_at END, encrypted = CASE WHEN "
		"excluded.encrypted > matrix_rooms.encrypted THEN "
		"excluded.encrypted ELSE matrix_rooms.encrypted END, "
		"members = CASE WHEN excluded.members >= 0 THEN "
		"excluded.members ELSE matrix_rooms.members END",
		"tiii", room, joined_at, (int64_t)encrypted, (int64_t)members);
}

/* The DM room with user, or NULL; caller frees. */
static char *
dm_room(struct mx *mx, const char *user)
{
	return db_text(
	    mx->host->st,
	    "SELECT d.room_id FROM matrix_dm d LEFT JOIN "
	    "matrix_rooms r ON r.room_id = d.room_id WHERE "
	    "d.user_id = ? AND (COALESCE(r.encrypted, 0) = 0 OR ? <> 0)",
	    "ti", user, (int64_t)(mx->e2e != NULL));
}

static void
dm_forget(struct mx *mx, const char *room)
{
	db_exec(mx->host->st, "DELETE FROM matrix_dm WHERE room_id = ?", "t",
		room);
	db_exec(mx->host->st,
		"UPDATE matrix_rooms SET direct_user = NULL WHERE room_id = ?",
		"t", room);
}

/* ---- sending ---- */

static struct mx_job *
job_new(const char *room, const char *dm_user, json_t *content, char *txn,
	int64_t delivery_id)
{
	struct mx_job *j = xcalloc(1, sizeof(*j));

	j->room = xstrdup(room);
	j->dm_user = xstrdup(dm_user);
	j->content = content; /* stolen */
	j->txn = txn;	      /* stolen */
	j->delivery_id = delivery_id;
	return j;
}

/* The member list of an encrypted send. */
static void
members_free(struct mx_job *j)
{
	size_t i;

	for (i = 0; i < j->nmembers; i++)
		free(j->members[i]);
	free(j->members);
	j->members = NULL;
	j->nmembers = 0;
}

static void
job_free(struct mx_job *j)
{
	free(j->room);
	free(j->dm_user);
	free(j->txn);
	json_decref(j->content);
	members_free(j);
	free(j);
}

static void
job_queue(struct mx *mx, struct mx_job *j)
{
	struct mx_job **pp = &mx->jobs;

	while (*pp != NULL)
		pp = &(*pp)->next;
	j->next = NULL;
	*pp = j;
	jobs_kick(mx);
}

/* A send cut off by a stop: the daemon's is no attempt, ours is. */
static enum send_result
mx_stop_result(const struct mx *mx)
{
	return mx->host->stopping ? SEND_CANCELLED : SEND_RETRY;
}

/* Final word on a job: the gateway hears about deliveries. */
static void
job_report(struct mx *mx, struct mx_job *j, enum send_result r,
	   const char *event_id, const char *why)
{
	if (j->delivery_id != 0)
		host_delivery_done(mx->host, j->delivery_id, r, j->room,
				   event_id, 0, why);
	else if (r != SEND_OK)
		log_warnx("matrix: an answer to %s was not sent: %s",
			  j->room != NULL ? j->room : j->dm_user,
			  why != NULL ? why : "?");
	job_free(j);
}

/*
 * Tries again after ms: a delivery goes back to the outbox (which waits
 * at least that long), a direct answer waits in our queue.
 */
static void
job_retry(struct mx *mx, struct mx_job *j, long ms, const char *why)
{
	j->attempts++;
	if (j->delivery_id != 0) {
		host_delivery_done(mx->host, j->delivery_id, SEND_RETRY, NULL,
				   NULL, (ms + 999) / 1000, why);
		job_free(j);
		return;
	}
	if (mx->stopped || j->attempts >= MX_REPLY_TRIES) {
		job_report(mx, j, SEND_FAIL, NULL, why);
		return;
	}
	j->not_before = mx_now(mx) + (uint64_t)ms;
	job_queue(mx, j);
}

/* What a failed send or DM creation means for the job. */
static void
job_failed(struct mx *mx, struct mx_job *j, const struct mx_res *r)
{
	if (mx->stopped) {
		job_report(mx, j, mx_stop_result(mx), NULL,
			   "matrix adapter stopped");
		return;
	}
	switch (r->e.status) {
	case MX_LIMITED:
		mx->rate_until = mx_now(mx) + (uint64_t)r->e.retry_ms;
		log_info("matrix: rate limited (M_LIMIT_EXCEEDED); no sends "
			 "for %ld ms",
			 r->e.retry_ms);
		job_retry(mx, j, r->e.retry_ms, r->why);
		break;
	case MX_BADTOKEN:
		job_queue(mx, j); /* waits for the new login */
		break;
	case MX_OK:
	case MX_TRANSIENT:
		job_retry(mx, j, mx_backoff_ms(j->attempts + 1, random()),
			  r->why);
		break;
	case MX_FATAL:
		job_report(mx, j, SEND_FAIL, NULL, r->why);
		break;
	}
}

static void
job_sent(struct mx *mx, void *arg, const struct mx_res *r)
{
	struct mx_job *j = arg;

	if (r->e.status == MX_OK) {
		if (j->enc_warning)
			db_exec(mx->host->st,
				"UPDATE matrix_rooms SET warned = 1 WHERE "
				"room_id = ?",
				"t", j->room);
		job_report(
		    mx, j, SEND_OK,
		    json_string_value(json_object_get(r->body, "event_id")),
		    NULL);
		return;
	}
	/* the person left our DM: open a new one next time */
	if (!mx->stopped && r->e.status == MX_FATAL && r->http == 403 &&
	    j->dm_user != NULL) {
		log_info("matrix: cannot write to the DM %s with %s any more; "
			 "a new one will be opened",
			 j->room, j->dm_user);
		dm_forget(mx, j->room);
		free(j->room);
		j->room = NULL;
		j->enc_room = 0;
		job_retry(mx, j, 1000, r->why);
		return;
	}
	job_failed(mx, j, r);
}

static void
job_send(struct mx *mx, struct mx_job *j)
{
	char *path =
	    mx_path("/rooms/", j->room, "/send/m.room.message/", j->txn);

	if (mx_call(mx, "PUT", path, j->content, MX_REQ_TIMEOUT_MS, job_sent,
		    j) < 0)
		job_retry(mx, j, 5000, "cannot start the request");
	free(path);
}

/* ---- end-to-end encryption: sending ---- */

/*
 * An encrypted send runs in steps, one request each: the room's members,
 * their devices (/keys/query), Olm sessions with new devices
 * (/keys/claim), the Megolm key to every device that lacks it
 * (/sendToDevice), then the encrypted event. One encrypted send runs at
 * a time, so two never share a session key half way.
 */
static void enc_step(struct mx *mx, struct mx_job *j);

/* The encrypted send of j ends here: the next may start. */
static void
enc_end(struct mx *mx, struct mx_job *j, const struct mx_res *r)
{
	mx->enc_busy = 0;
	members_free(j);
	if (r != NULL)
		job_failed(mx, j, r);
	jobs_kick(mx);
}

static void
enc_sent(struct mx *mx, void *arg, const struct mx_res *r)
{
	struct mx_job *j = arg;

	mx->enc_busy = 0;
	members_free(j);
	job_sent(mx, j, r);
	jobs_kick(mx);
}

/* A step the module could not take (a database error, say). */
static void
enc_local_failure(struct mx *mx, struct mx_job *j, const char *why)
{
	mx->enc_busy = 0;
	members_free(j);
	log_warnx("matrix: cannot encrypt for %s: %s", j->room, why);
	job_retry(mx, j, 5000, why);
	jobs_kick(mx);
}

static void
enc_members_got(struct mx *mx, void *arg, const struct mx_res *r)
{
	struct mx_job *j = arg;
	json_t *joined = json_object_get(r->body, "joined"), *v;
	const char *user;

	if (mx->stopped || r->e.status != MX_OK || !json_is_object(joined)) {
		enc_end(mx, j, r);
		return;
	}
	members_free(j);
	json_object_foreach(joined, user, v)
	{
		if (mx_server_of(user) == NULL || strlen(user) > MX_ID_MAX)
			continue;
		j->members = xrealloc(j->members,
				      (j->nmembers + 1) * sizeof(*j->members));
		j->members[j->nmembers++] = xstrdup(user);
	}
	enc_step(mx, j);
}

/*
 * The answer to a key request of j's send (its enc_stage): stored, then
 * the next step.
 */
static void
enc_answered(struct mx *mx, void *arg, const struct mx_res *r)
{
	struct mx_job *j = arg;
	const char *why = NULL;

	if (mx->stopped || r->e.status != MX_OK) {
		enc_end(mx, j, r);
		return;
	}
	switch (j->enc_stage) {
	case ENC_QUERY:
		if (e2ee_query_done(mx->e2e, r->body) < 0)
			why = "the device keys could not be stored";
		break;
	case ENC_CLAIM:
		if (e2ee_claim_done(mx->e2e, r->body) < 0)
			why = "the Olm sessions could not be stored";
		break;
	case ENC_SHARE:
		if (e2ee_share_done(mx->e2e, j->room) < 0)
			why = "the room key could not be recorded";
		break;
	}
	if (why != NULL)
		enc_local_failure(mx, j, why);
	else
		enc_step(mx, j);
}

/* A fresh transaction id for a to-device message. */
static char *
todevice_txn(struct mx *mx, const char *tag)
{
	return xasprintf("isms-%s-%llu-%llu", tag,
			 (unsigned long long)store_now(mx->host->st),
			 (unsigned long long)++mx->txn_seq);
}

/* PUT /sendToDevice/TYPE/TXN with body; 0 or -1. */
static int
todevice_send(struct mx *mx, const char *type, json_t *body, mx_cb cb,
	      void *arg)
{
	char *txn = todevice_txn(mx, "td");
	char *path = mx_path("/sendToDevice/", type, "/", txn);
	int rc = mx_call(mx, "PUT", path, body, MX_REQ_TIMEOUT_MS, cb, arg);

	free(path);
	free(txn);
	return rc;
}

/* Takes the next step of j's encrypted send. */
static void
enc_step(struct mx *mx, struct mx_job *j)
{
	const char *const *users = (const char *const *)j->members;
	json_t *body, *content, *rel;
	char *path;
	char err[160];
	int rc;

	if ((body = e2ee_query_body(mx->e2e, users, j->nmembers)) != NULL) {
		j->enc_stage = ENC_QUERY;
		rc = mx_call(mx, "POST", MX_API "/keys/query", body,
			     MX_REQ_TIMEOUT_MS, enc_answered, j);
	} else if ((body = e2ee_claim_body(mx->e2e, users, j->nmembers)) !=
		   NULL) {
		j->enc_stage = ENC_CLAIM;
		rc = mx_call(mx, "POST", MX_API "/keys/claim", body,
			     MX_REQ_TIMEOUT_MS, enc_answered, j);
	} else if ((body = e2ee_share_body(mx->e2e, j->room, users,
					   j->nmembers)) != NULL) {
		j->enc_stage = ENC_SHARE;
		rc = todevice_send(mx, "m.room.encrypted", body, enc_answered,
				   j);
	} else {
		content = e2ee_encrypt(mx->e2e, j->room, "m.room.message",
				       j->content, err, sizeof(err));
		if (content == NULL) {
			enc_local_failure(mx, j, err);
			return;
		}
		/* the relation stays readable to the server, as clients do */
		rel = json_object_get(j->content, "m.relates_to");
		if (rel != NULL)
			json_object_set(content, "m.relates_to", rel);
		path = mx_path("/rooms/", j->room, "/send/m.room.encrypted/",
			       j->txn);
		rc = mx_call(mx, "PUT", path, content, MX_REQ_TIMEOUT_MS,
			     enc_sent, j);
		free(path);
		json_decref(content);
		if (rc < 0)
			enc_local_failure(mx, j, "cannot start the request");
		return;
	}
	json_decref(body);
	if (rc < 0)
		enc_local_failure(mx, j, "cannot start the request");
}

/* Starts the encrypted send of j into its (encrypted) room. */
static void
enc_start(struct mx *mx, struct mx_job *j)
{
	char *path = mx_path("/rooms/", j->room, "/joined_members", NULL);

	mx->enc_busy = 1;
	if (mx_call(mx, "GET", path, NULL, MX_REQ_TIMEOUT_MS, enc_members_got,
		    j) < 0)
		enc_local_failure(mx, j, "cannot start the request");
	free(path);
}

/*
 * 1 when j goes into a room we must encrypt for. A room never becomes
 * unencrypted, so a yes is kept on the job: jobs waiting for the
 * encrypted send in progress are not looked up again at every pass.
 */
static int
job_encrypted(struct mx *mx, struct mx_job *j)
{
	struct mx_roomrow row;

	if (mx->e2e == NULL || j->enc_room)
		return j->enc_room;
	room_get(mx, j->room, &row);
	j->enc_room = row.encrypted != 0;
	return j->enc_room;
}

static int
busy_has(struct mx *mx, const char *user)
{
	struct mx_name *n;

	for (n = mx->dm_busy; n != NULL; n = n->next)
		if (strcmp(n->user, user) == 0)
			return 1;
	return 0;
}

static void
busy_del(struct mx *mx, const char *user)
{
	struct mx_name **pp, *n;

	for (pp = &mx->dm_busy; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->user, user) == 0) {
			n = *pp;
			*pp = n->next;
			free(n->user);
			free(n);
			return;
		}
}

static void direct_update(struct mx *mx, const char *user, const char *room);

/* Records room as the DM with user (kept when one is known already). */
static void
dm_remember(struct mx *mx, const char *user, const char *room)
{
	struct store *st = mx->host->st;

	db_exec(st,
		"INSERT INTO matrix_dm(user_id, room_id, created_at) VALUES "
		"(?, ?, ?) ON CONFLICT(user_id) DO NOTHING",
		"tti", user, room, store_now(st));
	db_exec(st,
		"INSERT INTO matrix_rooms(room_id, direct_user) VALUES (?, ?) "
		"ON CONFLICT(room_id) DO UPDATE SET direct_user = "
		"excluded.direct_user",
		"tt", room, user);
	direct_update(mx, user, room);
}

/* The DM room with user is open: its waiting jobs may go. */
static void
dm_opened(struct mx *mx, const char *user, const char *room, int encrypted)
{
	log_info("matrix: opened the %sdirect chat %s with %s",
		 encrypted ? "encrypted " : "", room, user);
	if (encrypted)
		room_record(mx, room, 0, 1, -1);
	dm_remember(mx, user, room);
	jobs_kick(mx);
}

struct mx_dmarg {
	char *user, *room;
};

/* Whether the server made the new DM encrypted by its own default. */
static void
dm_checked(struct mx *mx, void *arg, const struct mx_res *r)
{
	struct mx_dmarg *a = arg;

	busy_del(mx, a->user);
	if (!mx->stopped) {
		/* in doubt, encrypt: the person's client reads either */
		if (r->e.status != MX_OK &&
		    strcmp(r->e.errcode, "M_NOT_FOUND") != 0)
			log_warnx("matrix: cannot tell whether the direct chat "
				  "%s is encrypted (%s); encrypting",
				  a->room, r->why);
		dm_opened(mx, a->user, a->room,
			  strcmp(r->e.errcode, "M_NOT_FOUND") != 0);
	}
	free(a->user);
	free(a->room);
	free(a);
}

static void
dm_created(struct mx *mx, void *arg, const struct mx_res *r)
{
	char *user = arg;
	const char *room =
	    json_string_value(json_object_get(r->body, "room_id"));
	struct mx_job **pp, *j, *failed = NULL;
	struct mx_dmarg *a;
	char *path;

	if (mx->stopped) {
		busy_del(mx, user);
		free(user); /* stop already released the waiting jobs */
		return;
	}
	if (r->e.status == MX_OK && room != NULL && *room != '\0' &&
	    strlen(room) <= MX_ID_MAX) {
		if (mx->e2e == NULL || mx->encrypt_dms) {
			busy_del(mx, user);
			dm_opened(mx, user, room, mx->e2e != NULL);
			free(user);
			return;
		}
		/* a server may encrypt new chats by default: ask it */
		a = xcalloc(1, sizeof(*a));
		a->user = user;
		a->room = xstrdup(room);
		path =
		    mx_path("/rooms/", room, "/state/m.room.encryption/", NULL);
		if (mx_call(mx, "GET", path, NULL, MX_REQ_TIMEOUT_MS,
			    dm_checked, a) < 0) {
			busy_del(mx, user);
			free(a->room);
			free(a);
			free(user);
		}
		free(path);
		return;
	}
	busy_del(mx, user);
	log_warnx("matrix: cannot open a direct chat with %s (%s)", user,
		  r->why);
	/* the jobs that waited for this room share the failure */
	pp = &mx->jobs;
	while (*pp != NULL) {
		j = *pp;
		if (j->room == NULL && strcmp(j->dm_user, user) == 0) {
			*pp = j->next;
			j->next = failed;
			failed = j;
		} else {
			pp = &j->next;
		}
	}
	while (failed != NULL) {
		j = failed;
		failed = j->next;
		job_failed(mx, j, r);
	}
	free(user);
}

/* 0 when the createRoom request started. */
static int
dm_create(struct mx *mx, const char *user)
{
	json_t *body = json_pack("{s:b, s:s, s:[s]}", "is_direct", 1, "preset",
				 "trusted_private_chat", "invite", user);
	char *arg = xstrdup(user);
	struct mx_name *n;
	int rc;

	if (body != NULL && mx->e2e != NULL && mx->encrypt_dms)
		json_object_set_new(body, "initial_state",
				    json_pack("[{s:s, s:s, s:{s:s}}]", "type",
					      "m.room.encryption", "state_key",
					      "", "content", "algorithm",
					      E2EE_MEGOLM));
	rc = body == NULL ? -1
			  : mx_call(mx, "POST", MX_API "/createRoom", body,
				    MX_REQ_TIMEOUT_MS, dm_created, arg);
	json_decref(body);
	if (rc < 0) {
		free(arg);
		return -1;
	}
	n = xcalloc(1, sizeof(*n));
	n->user = xstrdup(user);
	n->next = mx->dm_busy;
	mx->dm_busy = n;
	return 0;
}

/* Delays every job waiting for a DM with user. */
static void
jobs_delay(struct mx *mx, const char *user, uint64_t until)
{
	struct mx_job *j;

	for (j = mx->jobs; j != NULL; j = j->next)
		if (j->room == NULL && strcmp(j->dm_user, user) == 0)
			j->not_before = until;
}

/* Starts every job that may go now; re-arms the timer for the rest. */
static void
jobs_pump(uv_timer_t *t)
{
	struct mx *mx = t->data;
	struct mx_job **pp, *j;
	uint64_t now = mx_now(mx), next = 0, at;

	if (mx->stopped || mx->need_login)
		return;
again:
	for (pp = &mx->jobs; *pp != NULL; pp = &(*pp)->next) {
		j = *pp;
		at = j->not_before > mx->rate_until ? j->not_before
						    : mx->rate_until;
		if (at > now) {
			if (next == 0 || at < next)
				next = at;
			continue;
		}
		if (j->room == NULL) {
			j->room = dm_room(mx, j->dm_user);
			if (j->room == NULL) {
				if (busy_has(mx, j->dm_user))
					continue;
				if (dm_create(mx, j->dm_user) == 0)
					continue;
				jobs_delay(mx, j->dm_user, now + 5000);
				goto again;
			}
		}
		if (job_encrypted(mx, j)) {
			if (mx->enc_busy)
				continue;
			*pp = j->next;
			j->next = NULL;
			enc_start(mx, j);
			goto again;
		}
		*pp = j->next;
		j->next = NULL;
		job_send(mx, j);
		goto again;
	}
	if (next != 0)
		uv_timer_start(&mx->job_timer, jobs_pump, next - now, 0);
}

static void
jobs_kick(struct mx *mx)
{
	if (!mx->stopped)
		uv_timer_start(&mx->job_timer, jobs_pump, 0, 0);
}

/* Queues text into room, replying to event_id (may be NULL). */
static void
say(struct mx *mx, const char *room, const char *event_id, const char *text,
    const char *tag)
{
	char *txn = mx_txn_event(tag, event_id != NULL ? event_id : room);

	job_queue(mx,
		  job_new(room, NULL, mx_render_text(text, event_id), txn, 0));
}

/* ---- m.direct account data ---- */

/*
 * The bot's m.direct lists its DM rooms. Updates are read-modify-write of
 * one document, so they run one at a time: additions queue in
 * mx->direct_pending and the next round merges all of them.
 */
static void direct_sync(struct mx *mx);

static void
pairs_free(struct mx_pair *p)
{
	struct mx_pair *next;

	for (; p != NULL; p = next) {
		next = p->next;
		free(p->user);
		free(p->room);
		free(p);
	}
}

static char *
direct_path(struct mx *mx)
{
	return mx_path("/user/", mx->self, "/account_data/m.direct", NULL);
}

static void
direct_put(struct mx *mx, void *arg, const struct mx_res *r)
{
	(void)arg;
	mx->direct_busy = 0;
	if (mx->stopped)
		return;
	if (r->e.status != MX_OK)
		log_warnx("matrix: cannot update m.direct (%s)", r->why);
	direct_sync(mx);
}

/* Adds room to content's list for user; 1 when it was missing. */
static int
direct_add(json_t *content, const char *user, const char *room)
{
	json_t *list = json_object_get(content, user), *v;
	size_t i;

	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(content, user, list);
	}
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), room) == 0)
			return 0;
	}
	json_array_append_new(list, json_string(room));
	return 1;
}

static void
direct_got(struct mx *mx, void *arg, const struct mx_res *r)
{
	json_t *content = NULL;
	struct mx_pair *p, *batch;
	char *path = NULL;
	int changed = 0;

	(void)arg;
	if (mx->stopped)
		return;
	if (r->e.status == MX_OK && json_is_object(r->body)) {
		content = json_deep_copy(r->body);
	} else if (strcmp(r->e.errcode, "M_NOT_FOUND") == 0) {
		content = json_object();
	} else {
		/* the additions stay queued for the next round */
		log_warnx("matrix: cannot read m.direct (%s)", r->why);
		mx->direct_busy = 0;
		return;
	}
	batch = mx->direct_pending;
	mx->direct_pending = NULL;
	for (p = batch; p != NULL; p = p->next)
		changed |= direct_add(content, p->user, p->room);
	pairs_free(batch);
	path = direct_path(mx);
	if (!changed || mx_call(mx, "PUT", path, content, MX_REQ_TIMEOUT_MS,
				direct_put, NULL) < 0)
		mx->direct_busy = 0;
	json_decref(content);
	free(path);
}

static void
direct_sync(struct mx *mx)
{
	char *path;

	if (mx->stopped || mx->direct_busy || mx->direct_pending == NULL)
		return;
	path = direct_path(mx);
	mx->direct_busy = mx_call(mx, "GET", path, NULL, MX_REQ_TIMEOUT_MS,
				  direct_got, NULL) == 0;
	free(path);
}

/* Adds room to the bot's m.direct list for user. */
static void
direct_update(struct mx *mx, const char *user, const char *room)
{
	struct mx_pair *p = xcalloc(1, sizeof(*p));

	p->user = xstrdup(user);
	p->room = xstrdup(room);
	p->next = mx->direct_pending;
	mx->direct_pending = p;
	direct_sync(mx);
}

/* m.direct from the sync: rooms we know become DMs of their users. */
static void
direct_import(struct mx *mx, json_t *direct)
{
	struct store *st = mx->host->st;
	const char *user;
	json_t *rooms, *v;
	size_t i;

	json_object_foreach(direct, user, rooms)
	{
		if (mx_server_of(user) == NULL || strlen(user) > MX_ID_MAX)
			continue;
		json_array_foreach(rooms, i, v)
		{
			const char *room = json_string_value(v);

			if (room == NULL)
				continue;
			db_exec(st,
				"UPDATE matrix_rooms SET direct_user = ? WHERE "
				"room_id = ? AND direct_user IS NULL",
				"tt", user, room);
			db_exec(
			    st,
			    "INSERT INTO matrix_dm(user_id, room_id, "
			    "created_at) SELECT ?, room_id, ? FROM "
			    "matrix_rooms WHERE room_id = ? AND "
			    "(encrypted = 0 OR ? <> 0) ON CONFLICT(user_id) "
			    "DO NOTHING",
			    "titi", user, store_now(st), room,
			    (int64_t)(mx->e2e != NULL));
		}
	}
}

/* ---- end-to-end encryption: keys and receiving ---- */

static void keys_upload(struct mx *mx);

static void
keys_uploaded(struct mx *mx, void *arg, const struct mx_res *r)
{
	json_t *c;

	(void)arg;
	mx->upload_busy = 0;
	if (mx->stopped)
		return;
	if (r->e.status != MX_OK) {
		/* the next sync tries again */
		log_warnx("matrix: cannot publish the encryption keys (%s)",
			  r->why);
		return;
	}
	if (e2ee_upload_done(mx->e2e) < 0) {
		log_warnx("matrix: the published keys could not be recorded");
		return;
	}
	c = json_object_get(json_object_get(r->body, "one_time_key_counts"),
			    "signed_curve25519");
	mx->otk_count = json_is_integer(c) ? (long)json_integer_value(c) : -1;
	keys_upload(mx);
}

/* Publishes the device keys and tops up one-time keys when due. */
static void
keys_upload(struct mx *mx)
{
	json_t *body;

	if (mx->e2e == NULL || !mx->device_ok || mx->upload_busy ||
	    mx->stopped || mx->need_login)
		return;
	if (mx->upload_rounds >= MX_UPLOAD_ROUNDS)
		return; /* a server that never counts up is not hammered */
	body = e2ee_upload_body(mx->e2e, mx->otk_count);
	if (body == NULL)
		return;
	mx->upload_rounds++;
	mx->upload_busy = mx_call(mx, "POST", MX_API "/keys/upload", body,
				  MX_REQ_TIMEOUT_MS, keys_uploaded, NULL) == 0;
	json_decref(body);
}

/* The token's device must be ours: keys belong to one device. */
static void
device_checked(struct mx *mx, void *arg, const struct mx_res *r)
{
	const char *dev =
	    json_string_value(json_object_get(r->body, "device_id"));
	char why[512];

	(void)arg;
	mx->device_busy = 0;
	if (mx->stopped || r->e.status == MX_BADTOKEN)
		return;
	if (r->e.status != MX_OK) {
		log_warnx("matrix: cannot ask which device the token is for "
			  "(%s); asking again after the next sync",
			  r->why);
		return;
	}
	if (dev == NULL || strcmp(dev, mx->device) != 0) {
		snprintf(why, sizeof(why),
			 "the access token belongs to device %s, not to "
			 "matrix.device_id %s; encryption keys are kept per "
			 "device: set matrix.device_id = %s, or log in with "
			 "matrix.password",
			 dev != NULL ? dev : "(none)", mx->device,
			 dev != NULL ? dev : "?");
		mx_fail(mx, why);
		return;
	}
	mx->device_ok = 1;
	keys_upload(mx);
}

static void
device_check(struct mx *mx)
{
	if (mx->e2e == NULL || mx->device_ok || mx->device_busy ||
	    mx->need_login || mx->stopped)
		return;
	mx->device_busy = mx_call(mx, "GET", MX_API "/account/whoami", NULL,
				  MX_REQ_TIMEOUT_MS, device_checked, NULL) == 0;
}

/* Device list changes and to-device messages of one sync batch. */
static void
e2ee_batch(struct mx *mx, const struct mx_sync *s)
{
	json_t *v;
	size_t i;
	char err[160];

	json_array_foreach(s->changed, i, v)
	{
		e2ee_devices_stale(mx->e2e, json_string_value(v));
	}
	json_array_foreach(s->left, i, v)
	{
		e2ee_devices_stale(mx->e2e, json_string_value(v));
	}
	json_array_foreach(s->to_device, i, v)
	{
		const char *type =
		    json_string_value(json_object_get(v, "type"));
		const char *sender =
		    json_string_value(json_object_get(v, "sender"));

		if (e2ee_to_device(mx->e2e, v, NULL, NULL, err, sizeof(err)) <
		    0)
			log_warnx("matrix: refused a to-device %s from %s: %s",
				  type != NULL ? type : "message",
				  sender != NULL ? sender : "?", err);
	}
	if (s->otk_count >= 0)
		mx->otk_count = s->otk_count;
	mx->upload_rounds = 0;
	device_check(mx);
	keys_upload(mx);
}

static void
keyreq_sent(struct mx *mx, void *arg, const struct mx_res *r)
{
	(void)arg;
	if (!mx->stopped && r->e.status != MX_OK)
		log_warnx("matrix: cannot ask for a room key (%s)", r->why);
}

/*
 * An event we hold no key for: one answer asking to send it again, and
 * a key request to the sender's devices (the module rate-limits it).
 */
static void
undecryptable(struct mx *mx, const char *room, const struct mx_event *ev)
{
	json_t *content = e2ee_key_request(mx->e2e, room, ev->content);
	json_t *body;

	log_info("matrix: no key for %s from %s in %s", ev->event_id,
		 ev->sender, room);
	say(mx, room, ev->event_id,
	    "I could not decrypt that message; please send it again.", "u");
	if (content == NULL)
		return;
	body = json_pack("{s:{s:{s:o}}}", "messages", ev->sender, "*", content);
	if (body != NULL && todevice_send(mx, "m.room_key_request", body,
					  keyreq_sent, NULL) < 0)
		log_warnx("matrix: cannot ask for a room key");
	json_decref(body);
}

/*
 * Decrypts an encrypted event in place: 1 when ev now holds a message
 * to act on, 0 when it was answered, refused or is not for us.
 */
static int
event_decrypt(struct mx *mx, const char *room, struct mx_event *ev)
{
	json_t *plain = NULL;
	const char *owner;
	char err[160];
	int ok;

	switch (e2ee_decrypt(mx->e2e, room, ev->event_id, ev->content, &plain,
			     err, sizeof(err))) {
	case E2EE_DEC_OK:
		/* a session shared by one person cannot speak for another */
		owner = json_string_value(json_object_get(plain, "sender"));
		if (owner == NULL || strcmp(owner, ev->sender) != 0) {
			log_warnx("matrix: %s in %s claims sender %s but its "
				  "key came from %s; ignored",
				  ev->event_id, room, ev->sender,
				  owner != NULL ? owner : "?");
			json_decref(plain);
			return 0;
		}
		ok = mx_event_decrypted(plain, ev);
		json_decref(plain);
		return ok;
	case E2EE_DEC_NO_SESSION:
		undecryptable(mx, room, ev);
		return 0;
	case E2EE_DEC_REPLAY:
		log_warnx("matrix: %s from %s in %s repeats an earlier "
			  "encrypted message; ignored",
			  ev->event_id, ev->sender, room);
		return 0;
	case E2EE_DEC_BAD:
		break;
	}
	log_warnx("matrix: cannot decrypt %s from %s in %s: %s", ev->event_id,
		  ev->sender, room, err);
	return 0;
}

/* ---- inbound ---- */

/* Says once that the room's encryption keeps us out; forgets it as DM. */
static void
room_encrypted(struct mx *mx, const char *room)
{
	struct mx_roomrow row;
	struct mx_job *j;

	room_record(mx, room, 0, 1, -1);
	dm_forget(mx, room);
	room_get(mx, room, &row);
	if (row.warned)
		return;
	/* the fixed txnId makes a repeat of this notice a no-op */
	j = job_new(room, NULL,
		    mx_render_text("This room is end-to-end encrypted. The "
				   "ISMS bot does not support encrypted "
				   "rooms: it cannot read what is written "
				   "here and will not answer. Please use an "
				   "unencrypted room or direct chat.",
				   NULL),
		    mx_txn_event("enc", room), 0);
	j->enc_warning = 1;
	job_queue(mx, j);
}

/*
 * The kind and payload (caller frees) of our message event_id. The kind
 * stays MSG_NOTICE for none, or a name this version does not know: such
 * a reply is read as any other message, not as an answer.
 */
static void
reply_lookup(struct mx *mx, const char *event_id, enum msg_kind *kind,
	     char **payload)
{
	char *name = NULL;

	*kind = MSG_NOTICE;
	*payload = NULL;
	if (store_outbox_delivered(mx->host->st, "matrix", event_id, &name,
				   payload) == 1)
		(void)msg_kind_parse(name, kind);
	free(name);
}

/* Approvals person p may decide, at most MX_PENDING_MAX. */
static size_t
approvals_pending(struct mx *mx, const struct person *p, int64_t *ids)
{
	int n = approval_pending_for(mx->host->st, p, ids, MX_PENDING_MAX);

	return n < 0 ? 0 : (size_t)n;
}

/* Payload of the latest quiz question delivered to p here; caller frees. */
static char *
quiz_latest(struct mx *mx, const struct person *p)
{
	return store_outbox_last_sent(mx->host->st, "matrix", p->id,
				      msg_kind_name(MSG_QUIZ));
}

/* Sends the engine's answer: privately when it must not be shared. */
static void
answer(struct mx *mx, const char *room, const struct mx_event *ev,
       const struct isms_reply *rp, int shared)
{
	char *text;

	if (rp->duplicate || rp->text.len == 0)
		return;
	text = rp->error && !rp->unknown
		   ? xasprintf("error: %s", buf_str(&rp->text))
		   : xstrdup(buf_str(&rp->text));
	if (shared && rp->confidential) {
		job_queue(mx,
			  job_new(NULL, ev->sender, mx_render_text(text, NULL),
				  mx_txn_event("p", ev->event_id), 0));
		say(mx, room, ev->event_id, "I answered you privately.", "r");
	} else {
		say(mx, room, ev->event_id, text, "r");
	}
	free(text);
}

static void
run_command(struct mx *mx, const char *room, const struct mx_event *ev,
	    const char *text, int shared)
{
	struct isms_request rq = {.via = "matrix",
				  .id_kind = "matrix",
				  .id = ev->sender,
				  .text = text,
				  .shared = shared,
				  .event_id = ev->event_id};
	struct isms_reply rp = {0};

	host_count_request(mx->host, "matrix", "accepted");
	host_request(mx->host, &rq, &rp);
	answer(mx, room, ev, &rp, shared);
	reply_free(&rp);
}

static void
event_handle(struct mx *mx, const char *room, struct mx_event *ev)
{
	struct mx_route_in in = {0};
	struct mx_roomrow row;
	struct person p;
	struct buf out = {0};
	char *body, *payload = NULL, *quiz = NULL;
	enum msg_kind kind = MSG_NOTICE;
	int64_t pending[MX_PENDING_MAX];
	enum mx_action a;

	room_get(mx, room, &row);
	if (ev->before_join || (row.joined_at > 0 && ev->ts < row.joined_at)) {
		log_debug("matrix: %s predates our join of %s", ev->event_id,
			  room);
		return;
	}
	if (ev->encrypted && mx->e2e != NULL && !event_decrypt(mx, room, ev))
		return;
	if (mx->e2e == NULL && (ev->encrypted || row.encrypted)) {
		room_encrypted(mx, room);
		return;
	}
	body = ev->in_reply_to != NULL ? mx_strip_reply_fallback(ev->body)
				       : xstrdup(ev->body);
	in.body = body;
	in.dm = mx_is_dm(row.members, row.direct);
	if (ev->in_reply_to != NULL)
		reply_lookup(mx, ev->in_reply_to, &kind, &payload);
	in.reply_kind = kind;
	in.reply_payload = payload;
	if (store_person_find(mx->host->st, "matrix", ev->sender, &p) == 1) {
		if (in.dm) {
			in.npending = approvals_pending(mx, &p, pending);
			in.pending = pending;
			in.quiz_payload = quiz = quiz_latest(mx, &p);
		}
		a = mx_route(&in, &out);
	} else {
		/* a stranger gets the engine's refusal, if anything */
		a = mx_route(&in, &out);
		if (a != MX_IGNORE) {
			buf_reset(&out);
			buf_puts(&out, body);
			a = MX_RUN;
		}
	}
	log_debug("matrix: %s from %s in %s: %s", ev->event_id, ev->sender,
		  room,
		  a == MX_RUN	? "command"
		  : a == MX_SAY ? "answered"
				: "ignored");
	if (a == MX_RUN)
		run_command(mx, room, ev, buf_str(&out), !in.dm);
	else if (a == MX_SAY)
		say(mx, room, ev->event_id, buf_str(&out), "r");
	buf_free(&out);
	free(body);
	free(payload);
	free(quiz);
}

/* ---- invites ---- */

struct mx_joinarg {
	char *room, *inviter;
	int is_direct, encrypted;
};

static void batch_finish(struct mx *mx);

static void
join_done(struct mx *mx, void *arg, const struct mx_res *r)
{
	struct mx_joinarg *ja = arg;

	if (mx->stopped)
		goto out;
	if (r->e.status == MX_OK) {
		log_info("matrix: joined %s (invited by %s)", ja->room,
			 ja->inviter);
		room_record(mx, ja->room, 0, ja->encrypted, -1);
		if (ja->is_direct)
			dm_remember(mx, ja->inviter, ja->room);
		if (ja->encrypted && mx->e2e == NULL)
			room_encrypted(mx, ja->room);
	} else if (r->e.status == MX_FATAL) {
		log_warnx("matrix: cannot join %s (%s)", ja->room, r->why);
	} else {
		/* the batch is fetched again, with this invite in it */
		log_warnx("matrix: joining %s failed (%s)", ja->room, r->why);
		mx->batch_failed = 1;
	}
	if (--mx->joins_pending == 0)
		batch_finish(mx);
out:
	free(ja->room);
	free(ja->inviter);
	free(ja);
}

static void
invite_handle(struct mx *mx, const struct mx_invite *v)
{
	struct mx_joinarg *ja;
	json_t *body;
	char *path;

	if (!v->allowed) {
		log_info("matrix: ignoring the invite to %s from %s: its "
			 "server is not in matrix.allowed_servers",
			 v->room_id, v->inviter != NULL ? v->inviter : "?");
		return;
	}
	ja = xcalloc(1, sizeof(*ja));
	ja->room = xstrdup(v->room_id);
	ja->inviter = xstrdup(v->inviter);
	ja->is_direct = v->is_direct;
	ja->encrypted = v->encrypted;
	body = json_object();
	path = mx_path("/join/", v->room_id, NULL, NULL);
	mx->joins_pending++;
	if (mx_call(mx, "POST", path, body, MX_REQ_TIMEOUT_MS, join_done, ja) <
	    0) {
		mx->joins_pending--;
		mx->batch_failed = 1;
		free(ja->room);
		free(ja->inviter);
		free(ja);
	}
	json_decref(body);
	free(path);
}

/* ---- one sync batch ---- */

/* Saves next_batch once everything in the batch is done, then syncs. */
static void
batch_finish(struct mx *mx)
{
	struct store *st = mx->host->st;
	char *next = mx->batch_next;

	mx->batch_next = NULL;
	if (mx->stopped) {
		free(next);
		return;
	}
	if (mx->batch_failed) {
		free(next);
		sync_retry(mx, "a sync batch was not fully processed",
			   "it is fetched again");
		return;
	}
	if (store_begin(st) < 0 ||
	    store_set_setting(st, MX_SETTING_BATCH, next) < 0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		free(next);
		sync_retry(mx, "cannot save the sync position",
			   "the batch is fetched again");
		return;
	}
	free(mx->since);
	mx->since = next;
	mx->sync_busy = 0;
	mx->sync_failures = 0;
	sync_start(mx);
}

static void
batch_run(struct mx *mx, struct mx_sync *s)
{
	int initial = mx->since == NULL;
	size_t i, k;

	mx->batch_next = xstrdup(s->next_batch);
	mx->batch_failed = 0;
	mx->joins_pending = 0;
	/* keys first: a message may come with the key that opens it */
	if (mx->e2e != NULL)
		e2ee_batch(mx, s);
	for (i = 0; i < s->njoin; i++) {
		const struct mx_room *r = &s->join[i];

		room_record(mx, r->room_id, r->joined_at, r->encrypted,
			    r->members);
		if (r->encrypted && mx->e2e == NULL)
			room_encrypted(mx, r->room_id);
		/* alone in a DM: the person left; the next message opens a
		 * new one */
		if (r->members == 1 && r->invited == 0)
			dm_forget(mx, r->room_id);
	}
	for (i = 0; i < s->nleave; i++)
		dm_forget(mx, s->leave[i]);
	if (s->direct != NULL)
		direct_import(mx, s->direct);
	/* the first sync only learns the rooms: history is not replayed */
	for (i = 0; i < s->njoin && !initial; i++) {
		struct mx_room *r = &s->join[i];

		if (r->limited && r->joined_at == 0)
			log_warnx("matrix: more than %d new events in %s; the "
				  "older ones were skipped",
				  MX_TIMELINE_LIMIT, r->room_id);
		for (k = 0; k < r->nev; k++)
			event_handle(mx, r->room_id, &r->ev[k]);
	}
	if (initial)
		log_info("matrix: first sync: %zu room%s, %zu invite%s; "
			 "earlier messages are not replayed",
			 s->njoin, s->njoin == 1 ? "" : "s", s->ninv,
			 s->ninv == 1 ? "" : "s");
	for (i = 0; i < s->ninv; i++)
		invite_handle(mx, &s->inv[i]);
	if (mx->joins_pending == 0)
		batch_finish(mx);
}

static void
sync_done(struct mx *mx, void *arg, const struct mx_res *r)
{
	struct mx_sync s;
	char err[128];

	(void)arg;
	if (mx->stopped)
		return;
	switch (r->e.status) {
	case MX_OK:
		if (mx_sync_parse_json(r->body, mx->self, mx->allowed, &s, err,
				       sizeof(err)) < 0) {
			mx_sync_free(&s);
			sync_retry(mx, "unusable /sync response", err);
			return;
		}
		host_state(mx->host, "matrix", TRANSPORT_CONNECTED, NULL);
		batch_run(mx, &s);
		mx_sync_free(&s);
		break;
	case MX_LIMITED:
		log_info("matrix: /sync rate limited; again in %ld ms",
			 r->e.retry_ms);
		sync_later(mx, r->e.retry_ms);
		break;
	case MX_BADTOKEN:
		/* the login started by the rejection syncs again */
		mx->sync_busy = 0;
		if (!mx->need_login)
			sync_start(mx);
		break;
	case MX_TRANSIENT:
		sync_retry(mx, "/sync failed", r->why);
		break;
	case MX_FATAL:
		if (mx->since != NULL && r->http == 400) {
			log_warnx("matrix: the homeserver refused the saved "
				  "sync position (%s); starting afresh without "
				  "replaying history",
				  r->why);
			free(mx->since);
			mx->since = NULL;
		}
		sync_retry(mx, "/sync refused", r->why);
		break;
	}
}

static void
sync_start(struct mx *mx)
{
	char *path;
	int rc;

	if (mx->stopped || mx->sync_busy)
		return;
	if (mx->need_login) {
		mx_login(mx);
		return;
	}
	path = mx_sync_path(mx->since, MX_SYNC_TIMEOUT_MS,
			    mx->since != NULL ? MX_TIMELINE_LIMIT : 1);
	mx->sync_busy = 1;
	rc = mx_call(mx, "GET", path, NULL,
		     MX_SYNC_TIMEOUT_MS + MX_SYNC_SLACK_MS, sync_done, NULL);
	free(path);
	if (rc < 0)
		sync_retry(mx, "cannot start /sync", "request refused");
}

/* ---- the adapter ---- */

static char *
secret_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

static void matrix_free(void *state);

static int
matrix_start(struct host *host, void **state)
{
	const struct config *cfg = host->cfg;
	struct mx *mx;
	size_t n;

	/* matrix_check has vouched for homeserver and user_id */
	mx = xcalloc(1, sizeof(*mx));
	mx->host = host;
	mx->hs = xstrdup(cfg->matrix_homeserver);
	n = strlen(mx->hs);
	while (n > 0 && mx->hs[n - 1] == '/')
		mx->hs[--n] = '\0';
	mx->self = xstrdup(cfg->matrix_user_id);
	mx->token = secret_or_null(cfg->matrix_access_token);
	mx->password = secret_or_null(cfg->matrix_password);
	mx->allowed = xstrdup(
	    cfg->matrix_allowed_servers ? cfg->matrix_allowed_servers : "");
	mx->device = xstrdup(cfg->matrix_device_id && *cfg->matrix_device_id
				 ? cfg->matrix_device_id
				 : "ISMSD");
	if (mx->token == NULL && mx->password == NULL) {
		log_error("matrix: set matrix.access_token or matrix.password");
		matrix_free(mx);
		return -1;
	}
	mx->need_login = mx->token == NULL;
	mx->otk_count = -1;
	if (cfg->matrix_pickle_key != NULL && *cfg->matrix_pickle_key != '\0') {
		char err[256];

		mx->e2e = e2ee_open(
		    host->st, mx->self, mx->device, cfg->matrix_pickle_key,
		    strlen(cfg->matrix_pickle_key),
		    strcmp(cfg->matrix_trust, "verified") == 0 ? E2EE_VERIFIED
							       : E2EE_TOFU,
		    err, sizeof(err));
		if (mx->e2e == NULL) {
			log_error("%s", err);
			matrix_free(mx);
			return -1;
		}
		mx->encrypt_dms = cfg->matrix_encrypt_dms;
		log_info("matrix: end-to-end encryption on for device %s "
			 "(trust: %s)",
			 mx->device, cfg->matrix_trust);
	}
	mx->since = store_setting(host->st, MX_SETTING_BATCH);
	uv_timer_init(host->loop, &mx->timer);
	uv_timer_init(host->loop, &mx->job_timer);
	mx->timer.data = mx->job_timer.data = mx;
	log_info("matrix: %s on %s, %s", mx->self, mx->hs,
		 mx->since != NULL ? "resuming from the saved sync position"
				   : "first start: history is not replayed");
	*state = mx;
	mx_resume(mx);
	return 0;
}

static int
matrix_reaches(void *state, const struct person *p, const char *address)
{
	struct mx *mx = state;

	(void)address;
	return p != NULL && mx_server_of(p->matrix_id) != NULL &&
	       strcmp(p->matrix_id, mx->self) != 0;
}

static void
matrix_send(void *state, const struct outmsg *msg)
{
	struct mx *mx = state;
	char txn[32];

	if (msg->to == NULL || mx_server_of(msg->to->matrix_id) == NULL) {
		host_delivery_done(mx->host, msg->delivery_id, SEND_SKIP, NULL,
				   NULL, 0, "the recipient has no Matrix id");
		return;
	}
	if (mx->stopped) {
		host_delivery_done(mx->host, msg->delivery_id, SEND_RETRY, NULL,
				   NULL, 0, "matrix adapter stopped");
		return;
	}
	mx_txn_delivery(msg->delivery_id, txn);
	job_queue(mx, job_new(NULL, msg->to->matrix_id,
			      mx_render_outmsg(msg->subject, msg->body,
					       msg->kind, msg->payload),
			      xstrdup(txn), msg->delivery_id));
}

static void
matrix_stop(void *state)
{
	struct mx *mx = state;
	struct mx_job *j;

	if (mx->stopped)
		return;
	mx->stopped = 1;
	uv_close((uv_handle_t *)&mx->timer, NULL);
	uv_close((uv_handle_t *)&mx->job_timer, NULL);
	/* requests in flight call back later and see stopped */
	for (j = mx->jobs; j != NULL; j = mx->jobs) {
		mx->jobs = j->next;
		job_report(mx, j, mx_stop_result(mx), NULL,
			   "matrix adapter stopped");
	}
}

static void
matrix_free(void *state)
{
	struct mx *mx = state;
	struct mx_name *n;

	if (mx == NULL)
		return;
	for (n = mx->dm_busy; n != NULL; n = mx->dm_busy) {
		mx->dm_busy = n->next;
		free(n->user);
		free(n);
	}
	pairs_free(mx->direct_pending);
	free(mx->hs);
	free(mx->self);
	free(mx->token);
	free(mx->password);
	free(mx->allowed);
	free(mx->device);
	free(mx->since);
	free(mx->batch_next);
	e2ee_free(mx->e2e);
	free(mx);
}

static int
matrix_enabled(const struct config *cfg)
{
	return cfg->matrix_enabled;
}

static int
matrix_check(const struct config *cfg, struct buf *out)
{
	const char *hs = cfg->matrix_homeserver;
	int n = 0;

	if (hs != NULL && *hs != '\0' && strncmp(hs, "https://", 8) != 0 &&
	    strncmp(hs, "http://", 7) != 0) {
		buf_printf(out,
			   "matrix.homeserver \"%s\" must start with https:// "
			   "(or http:// on a trusted network)\n",
			   hs);
		n++;
	}
	if (cfg->matrix_encrypt_dms && (cfg->matrix_pickle_key == NULL ||
					*cfg->matrix_pickle_key == '\0')) {
		buf_puts(out, "matrix.encrypt_dms needs matrix.pickle_key: "
			      "without it the bot cannot read or write in "
			      "encrypted rooms\n");
		n++;
	}
	if (mx_server_of(cfg->matrix_user_id) == NULL) {
		buf_printf(out,
			   "matrix.user_id \"%s\" must be a Matrix id, "
			   "@name:server\n",
			   cfg->matrix_user_id ? cfg->matrix_user_id : "");
		n++;
	}
	return n;
}

const struct adapter_ops matrix_ops = {
    .name = "matrix",
    .enabled = matrix_enabled,
    .check = matrix_check,
    .start = matrix_start,
    .reaches = matrix_reaches,
    .send = matrix_send,
    .stop = matrix_stop,
    .free = matrix_free,
};
