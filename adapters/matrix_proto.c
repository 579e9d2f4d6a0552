/*
 * Matrix wire format without I/O: /sync parsing, rendering of m.notice
 * messages, transaction ids, error classification and message routing.
 */
#include "matrix_proto.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/log.h"

#define MX_TEXT_MAX	    16000 /* bytes of message text sent; the rest is cut */
#define MX_BATCH_MAX	    4096 /* longest next_batch token accepted */
#define MX_RETRY_DEFAULT_MS 5000
#define MX_RETRY_MAX_MS	    3600000L

static const char *const mx_prefixes[] = {
    "!isms", "!incident", "!risk", "/isms", "/incident", "/risk",
};

/* ---- small JSON accessors (borrowed results) ---- */

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
valid_id(const char *s)
{
	return s != NULL && *s != '\0' && strlen(s) <= MX_ID_MAX;
}

static int64_t
jts(json_t *ev)
{
	json_t *t = json_object_get(ev, "origin_server_ts");

	return json_is_integer(t) ? (int64_t)json_integer_value(t) : 0;
}

static int
is_type(json_t *ev, const char *type)
{
	const char *t = jstr(ev, "type");

	return t != NULL && strcmp(t, type) == 0;
}

/* An m.room.member event of self with the given membership. */
static int
own_membership(json_t *ev, const char *self, const char *membership)
{
	const char *sk = jstr(ev, "state_key");
	const char *m = jstr(json_object_get(ev, "content"), "membership");

	return is_type(ev, "m.room.member") && sk != NULL &&
	       strcmp(sk, self) == 0 && m != NULL && strcmp(m, membership) == 0;
}

/* Self joining, not a profile change of a member already joined. */
static int
own_join(json_t *ev, const char *self)
{
	json_t *prev =
	    json_object_get(json_object_get(ev, "unsigned"), "prev_content");
	const char *pm = jstr(prev, "membership");

	return own_membership(ev, self, "join") &&
	       (pm == NULL || strcmp(pm, "join") != 0);
}

/* ---- /sync ---- */

static void
event_free(struct mx_event *e)
{
	free(e->event_id);
	free(e->sender);
	free(e->body);
	free(e->in_reply_to);
	json_decref(e->content);
}

static const char *
reply_target(json_t *content)
{
	json_t *rel = json_object_get(content, "m.relates_to");
	const char *rt = jstr(rel, "rel_type");
	const char *id;

	/* a thread's in_reply_to is only a fallback for old clients */
	if (rt != NULL && strcmp(rt, "m.thread") == 0 &&
	    json_is_true(json_object_get(rel, "is_falling_back")))
		return NULL;
	id = jstr(json_object_get(rel, "m.in_reply_to"), "event_id");
	return valid_id(id) ? id : NULL;
}

/*
 * The text and reply target of an m.room.message content when it is one
 * we act on (m.text, not an edit): 1 with e->body set, 0 not.
 */
static int
message_parse(json_t *content, struct mx_event *e)
{
	const char *msgtype = jstr(content, "msgtype");
	const char *body = jstr(content, "body");
	const char *rt =
	    jstr(json_object_get(content, "m.relates_to"), "rel_type");

	if (msgtype == NULL || strcmp(msgtype, "m.text") != 0 || body == NULL)
		return 0;
	/* an edit would run the command a second time */
	if (rt != NULL && strcmp(rt, "m.replace") == 0)
		return 0;
	e->body = xstrdup(body);
	e->in_reply_to = xstrdup(reply_target(content));
	return 1;
}

/* Fills e from a timeline event when it is one we keep; 1 kept, 0 not. */
static int
event_parse(json_t *ev, const char *self, struct mx_event *e)
{
	const char *id = jstr(ev, "event_id"), *sender = jstr(ev, "sender");
	json_t *content = json_object_get(ev, "content");

	if (!valid_id(id) || !valid_id(sender) || strcmp(sender, self) == 0 ||
	    !json_is_object(content))
		return 0;
	memset(e, 0, sizeof(*e));
	if (is_type(ev, "m.room.encrypted")) {
		e->encrypted = 1;
		e->content = json_incref(content);
	} else if (!is_type(ev, "m.room.message") ||
		   !message_parse(content, e)) {
		return 0;
	}
	e->event_id = xstrdup(id);
	e->sender = xstrdup(sender);
	e->ts = jts(ev);
	return 1;
}

int
mx_event_decrypted(json_t *plain, struct mx_event *e)
{
	json_t *content = json_object_get(plain, "content"), *merged;
	json_t *rel = json_object_get(e->content, "m.relates_to");
	int ok;

	if (!is_type(plain, "m.room.message") || !json_is_object(content))
		return 0;
	free(e->body);
	free(e->in_reply_to);
	e->body = e->in_reply_to = NULL;
	/*
	 * Clients keep the relation (a reply, an edit) in the clear part of
	 * the encrypted event for the server to see; it counts unless the
	 * ciphertext carries one of its own.
	 */
	merged = json_copy(content);
	if (merged == NULL)
		fatalx("out of memory");
	if (json_is_object(rel) &&
	    json_object_get(merged, "m.relates_to") == NULL)
		json_object_set(merged, "m.relates_to", rel);
	ok = message_parse(merged, e);
	json_decref(merged);
	if (ok)
		e->encrypted = 0;
	return ok;
}

/* A member count from the room summary, -1 when absent. */
static int
count_of(json_t *summary, const char *key)
{
	json_t *c = json_object_get(summary, key);

	if (!json_is_integer(c) || json_integer_value(c) < 0 ||
	    json_integer_value(c) > INT_MAX)
		return -1;
	return (int)json_integer_value(c);
}

static void
room_parse(const char *room_id, json_t *jr, const char *self, struct mx_room *r)
{
	json_t *summary, *state, *tl, *events, *ev;
	size_t i, join_at = 0;
	int joined_here = 0;

	memset(r, 0, sizeof(*r));
	r->room_id = xstrdup(room_id);
	summary = json_object_get(jr, "summary");
	r->members = count_of(summary, "m.joined_member_count");
	r->invited = count_of(summary, "m.invited_member_count");
	state = json_object_get(json_object_get(jr, "state"), "events");
	json_array_foreach(state, i, ev)
	{
		if (is_type(ev, "m.room.encryption"))
			r->encrypted = 1;
		if (own_join(ev, self) && jts(ev) > r->joined_at)
			r->joined_at = jts(ev);
	}
	tl = json_object_get(jr, "timeline");
	r->limited = json_is_true(json_object_get(tl, "limited"));
	events = json_object_get(tl, "events");
	json_array_foreach(events, i, ev)
	{
		if (is_type(ev, "m.room.encryption"))
			r->encrypted = 1;
		if (own_join(ev, self)) {
			join_at = i;
			joined_here = 1;
			if (jts(ev) > r->joined_at)
				r->joined_at = jts(ev);
		}
	}
	json_array_foreach(events, i, ev)
	{
		struct mx_event e;

		if (!event_parse(ev, self, &e))
			continue;
		e.before_join = (joined_here && i < join_at) ||
				(r->joined_at > 0 && e.ts < r->joined_at);
		r->ev = xrealloc(r->ev, (r->nev + 1) * sizeof(*r->ev));
		r->ev[r->nev++] = e;
	}
}

static void
invite_parse(const char *room_id, json_t *ji, const char *self,
	     const char *allowed, struct mx_invite *v)
{
	json_t *events, *ev;
	size_t i;

	memset(v, 0, sizeof(*v));
	v->room_id = xstrdup(room_id);
	events = json_object_get(json_object_get(ji, "invite_state"), "events");
	json_array_foreach(events, i, ev)
	{
		if (is_type(ev, "m.room.encryption"))
			v->encrypted = 1;
		if (own_membership(ev, self, "invite") &&
		    valid_id(jstr(ev, "sender"))) {
			free(v->inviter);
			v->inviter = xstrdup(jstr(ev, "sender"));
			v->is_direct = json_is_true(json_object_get(
			    json_object_get(ev, "content"), "is_direct"));
		}
	}
	v->allowed = v->inviter != NULL &&
		     mx_server_allowed(allowed, mx_server_of(v->inviter));
}

/* The valid user ids of a device_lists array, as a new array or NULL. */
static json_t *
users_of(json_t *list)
{
	json_t *out = NULL, *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		if (!valid_id(json_string_value(v)) ||
		    mx_server_of(json_string_value(v)) == NULL)
			continue;
		if (out == NULL)
			out = json_array();
		json_array_append(out, v);
	}
	return out;
}

int
mx_sync_parse_json(json_t *root, const char *self, const char *allowed,
		   struct mx_sync *out, char *err, size_t errlen)
{
	json_t *rooms, *section, *jr, *events, *ev;
	const char *nb, *room_id;
	size_t i;

	memset(out, 0, sizeof(*out));
	nb = jstr(root, "next_batch");
	if (!json_is_object(root) || nb == NULL || *nb == '\0' ||
	    strlen(nb) > MX_BATCH_MAX) {
		snprintf(err, errlen, "sync response without a next_batch");
		return -1;
	}
	out->next_batch = xstrdup(nb);
	rooms = json_object_get(root, "rooms");
	section = json_object_get(rooms, "join");
	json_object_foreach(section, room_id, jr)
	{
		if (!valid_id(room_id) || !json_is_object(jr))
			continue;
		out->join =
		    xrealloc(out->join, (out->njoin + 1) * sizeof(*out->join));
		room_parse(room_id, jr, self, &out->join[out->njoin++]);
	}
	section = json_object_get(rooms, "invite");
	json_object_foreach(section, room_id, jr)
	{
		if (!valid_id(room_id) || !json_is_object(jr))
			continue;
		out->inv =
		    xrealloc(out->inv, (out->ninv + 1) * sizeof(*out->inv));
		invite_parse(room_id, jr, self, allowed,
			     &out->inv[out->ninv++]);
	}
	section = json_object_get(rooms, "leave");
	json_object_foreach(section, room_id, jr)
	{
		if (!valid_id(room_id))
			continue;
		out->leave = xrealloc(out->leave,
				      (out->nleave + 1) * sizeof(*out->leave));
		out->leave[out->nleave++] = xstrdup(room_id);
	}
	events =
	    json_object_get(json_object_get(root, "account_data"), "events");
	json_array_foreach(events, i, ev)
	{
		json_t *content = json_object_get(ev, "content");

		if (!is_type(ev, "m.direct") || !json_is_object(content))
			continue;
		json_decref(out->direct);
		out->direct = json_incref(content);
	}
	events = json_object_get(json_object_get(root, "to_device"), "events");
	if (json_is_array(events))
		out->to_device = json_incref(events);
	section = json_object_get(root, "device_lists");
	out->changed = users_of(json_object_get(section, "changed"));
	out->left = users_of(json_object_get(section, "left"));
	ev =
	    json_object_get(json_object_get(root, "device_one_time_keys_count"),
			    "signed_curve25519");
	out->otk_count = json_is_integer(ev) && json_integer_value(ev) >= 0
			     ? (long)json_integer_value(ev)
			     : -1;
	return 0;
}

int
mx_sync_parse(const char *text, size_t len, const char *self,
	      const char *allowed, struct mx_sync *out, char *err,
	      size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je);
	int rc;

	if (root == NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(err, errlen, "sync response is not JSON: %s", je.text);
		return -1;
	}
	rc = mx_sync_parse_json(root, self, allowed, out, err, errlen);
	json_decref(root);
	return rc;
}

void
mx_sync_free(struct mx_sync *s)
{
	size_t i, k;

	if (s == NULL)
		return;
	for (i = 0; i < s->njoin; i++) {
		for (k = 0; k < s->join[i].nev; k++)
			event_free(&s->join[i].ev[k]);
		free(s->join[i].ev);
		free(s->join[i].room_id);
	}
	free(s->join);
	for (i = 0; i < s->ninv; i++) {
		free(s->inv[i].room_id);
		free(s->inv[i].inviter);
	}
	free(s->inv);
	for (i = 0; i < s->nleave; i++)
		free(s->leave[i]);
	free(s->leave);
	free(s->next_batch);
	json_decref(s->direct);
	json_decref(s->to_device);
	json_decref(s->changed);
	json_decref(s->left);
	memset(s, 0, sizeof(*s));
}

/* ---- identities, URLs, ids ---- */

const char *
mx_server_of(const char *user_id)
{
	const char *c;

	if (user_id == NULL || user_id[0] != '@')
		return NULL;
	c = strchr(user_id, ':');
	return c != NULL && c[1] != '\0' ? c + 1 : NULL;
}

int
mx_server_allowed(const char *list, const char *server)
{
	size_t sl;

	if (list == NULL || server == NULL || *server == '\0')
		return 0;
	sl = strlen(server);
	while (*list) {
		size_t n;

		while (*list == ',' || *list == ' ' || *list == '\t')
			list++;
		n = strcspn(list, ",");
		/* the entry without trailing blanks */
		while (n > 0 && (list[n - 1] == ' ' || list[n - 1] == '\t'))
			n--;
		if (n > 0 && n == sl && strncasecmp(list, server, n) == 0)
			return 1;
		list += strcspn(list, ",");
	}
	return 0;
}

int
mx_is_dm(int members, int listed_direct)
{
	return listed_direct || members == 2;
}

void
mx_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || strchr("-._~", c) != NULL) {
			buf_putc(b, (char)c);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

char *
mx_filter_json(int timeline_limit)
{
	json_t *f = json_pack(
	    "{s:{s:[s]}, s:{s:[]}, s:{s:{s:[]}, s:{s:[]}, s:{s:[s,s], s:b},"
	    " s:{s:[s,s,s,s], s:i}}}",
	    "account_data", "types", "m.direct", "presence", "types", "room",
	    "account_data", "types", "ephemeral", "types", "state", "types",
	    "m.room.member", "m.room.encryption", "lazy_load_members", 1,
	    "timeline", "types", "m.room.message", "m.room.encrypted",
	    "m.room.member", "m.room.encryption", "limit", timeline_limit);
	char *s = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(f);
	if (s == NULL)
		fatalx("out of memory");
	return s;
}

char *
mx_sync_path(const char *since, long timeout_ms, int timeline_limit)
{
	struct buf b = {0};
	char *filter = mx_filter_json(timeline_limit);

	buf_printf(&b,
		   "/_matrix/client/v3/sync?timeout=%ld&filter=", timeout_ms);
	mx_url_escape(&b, filter);
	if (since != NULL) {
		buf_puts(&b, "&since=");
		mx_url_escape(&b, since);
	}
	free(filter);
	return buf_steal(&b);
}

void
mx_txn_delivery(int64_t delivery_id, char out[32])
{
	snprintf(out, 32, "isms-d%lld", (long long)delivery_id);
}

char *
mx_txn_event(const char *tag, const char *id)
{
	return xasprintf("isms-%s-%s", tag, id);
}

/* ---- rendering ---- */

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t
utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/*
 * Appends at most max bytes of s as valid UTF-8 without NULs (invalid
 * bytes become '?'); returns 1 when s was cut.
 */
static int
utf8_add(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0;

	while (*p) {
		size_t n = utf8_seq(p);

		if (used + (n ? n : 1) > max)
			return 1;
		if (n == 0) {
			buf_putc(b, '?');
			n = 1;
		} else {
			buf_add(b, p, n);
		}
		p += n;
		used += n;
	}
	return 0;
}

void
mx_html_escape(struct buf *b, const char *text)
{
	buf_put_html_lines(b, text, "<br>");
}

/* A message built as plain text and HTML side by side. */
struct mx_msg {
	struct buf text;
	struct buf html;
	size_t room; /* text bytes still allowed */
	int cut;     /* the text was too long */
};

/* Adds s to both forms; html_open/close wrap the escaped copy. */
static void
msg_add(struct mx_msg *m, const char *s, const char *html_open,
	const char *html_close)
{
	struct buf clean = {0};

	if (m->cut)
		return;
	m->cut = utf8_add(&clean, s, m->room);
	m->room -= clean.len;
	buf_puts(&m->text, buf_str(&clean));
	buf_puts(&m->html, html_open);
	mx_html_escape(&m->html, buf_str(&clean));
	buf_puts(&m->html, html_close);
	if (m->cut) {
		buf_puts(&m->text, " [...]");
		buf_puts(&m->html, " [...]");
	}
	buf_free(&clean);
}

/* The m.notice content; releases m. New reference. */
static json_t *
msg_content(struct mx_msg *m, const char *in_reply_to)
{
	json_t *c =
	    json_pack("{s:s, s:s, s:s, s:s}", "msgtype", "m.notice", "body",
		      buf_str(&m->text), "format", "org.matrix.custom.html",
		      "formatted_body", buf_str(&m->html));

	if (c == NULL)
		fatalx("out of memory");
	if (in_reply_to != NULL)
		json_object_set_new(c, "m.relates_to",
				    json_pack("{s:{s:s}}", "m.in_reply_to",
					      "event_id", in_reply_to));
	buf_free(&m->text);
	buf_free(&m->html);
	return c;
}

json_t *
mx_render_text(const char *text, const char *in_reply_to)
{
	struct mx_msg m = {.room = MX_TEXT_MAX};

	msg_add(&m, text, "", "");
	return msg_content(&m, in_reply_to);
}

/* The options of a quiz payload, or NULL (borrowed from root). */
static json_t *
quiz_options(json_t *root)
{
	json_t *opts = json_object_get(root, "options"), *o;
	size_t i;

	if (!json_is_array(opts) || json_array_size(opts) == 0)
		return NULL;
	json_array_foreach(opts, i, o)
	{
		if (!json_is_string(o))
			return NULL;
	}
	return opts;
}

json_t *
mx_render_outmsg(const char *subject, const char *body, enum msg_kind kind,
		 const char *payload)
{
	struct mx_msg m = {.room = MX_TEXT_MAX};
	json_t *root = NULL, *opts = NULL, *o;
	size_t i;

	if (subject != NULL && *subject != '\0' &&
	    strncmp(body, subject, strlen(subject)) != 0) {
		msg_add(&m, subject, "<strong>", "</strong>");
		msg_add(&m, "\n\n", "", "");
	}
	msg_add(&m, body, "", "");
	if ((msg_kind_flags(kind) & MSGK_ASKS_ANSWER) && payload != NULL) {
		root = json_loads(payload, 0, NULL);
		opts = quiz_options(root);
	}
	/* the scheduler may have numbered them in the body already */
	if (opts != NULL &&
	    strstr(body, json_string_value(json_array_get(opts, 0))) == NULL) {
		msg_add(&m, "\n", "", "");
		json_array_foreach(opts, i, o)
		{
			char *line =
			    xasprintf("\n%zu. %s", i + 1, json_string_value(o));

			msg_add(&m, line, "", "");
			free(line);
		}
		msg_add(&m, "\n\nReply with the number of your answer.", "",
			"");
	}
	json_decref(root);
	return msg_content(&m, NULL);
}

char *
mx_strip_reply_fallback(const char *body)
{
	const char *p = body;

	if (*p != '>')
		return xstrdup(body);
	while (*p == '>') {
		p = strchr(p, '\n');
		if (p == NULL)
			return xstrdup("");
		p++;
	}
	if (*p == '\n')
		p++;
	return xstrdup(p);
}

/* ---- errors ---- */

void
mx_classify(long status, json_t *body, long retry_after_s, struct mx_err *out)
{
	const char *code = jstr(body, "errcode");
	json_t *ms = json_object_get(body, "retry_after_ms");

	memset(out, 0, sizeof(*out));
	if (code != NULL)
		snprintf(out->errcode, sizeof(out->errcode), "%s", code);
	if (status >= 200 && status < 300) {
		out->status = MX_OK;
	} else if (status == 429 ||
		   (code != NULL && strcmp(code, "M_LIMIT_EXCEEDED") == 0)) {
		out->status = MX_LIMITED;
		if (retry_after_s >= 0)
			out->retry_ms = retry_after_s * 1000;
		else if (json_is_integer(ms) && json_integer_value(ms) >= 0)
			out->retry_ms = json_integer_value(ms) > MX_RETRY_MAX_MS
					    ? MX_RETRY_MAX_MS
					    : (long)json_integer_value(ms);
		else
			out->retry_ms = MX_RETRY_DEFAULT_MS;
		if (out->retry_ms > MX_RETRY_MAX_MS)
			out->retry_ms = MX_RETRY_MAX_MS;
	} else if (status == 401 ||
		   (code != NULL && (strcmp(code, "M_UNKNOWN_TOKEN") == 0 ||
				     strcmp(code, "M_MISSING_TOKEN") == 0))) {
		out->status = MX_BADTOKEN;
	} else if (status == 0 || status == 408 || status >= 500) {
		out->status = MX_TRANSIENT;
	} else {
		out->status = MX_FATAL;
	}
}

long
mx_backoff_ms(int failures, long rnd)
{
	long base;

	if (failures < 1)
		failures = 1;
	base = 1000L << (failures > 7 ? 6 : failures - 1);
	if (base > 60000)
		base = 60000;
	if (rnd < 0)
		rnd = -rnd;
	return base + rnd % (base / 4 + 1);
}

/* ---- routing ---- */

static const char *
skip_space(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

static size_t
word_len(const char *s)
{
	size_t n = 0;

	while (s[n] && !isspace((unsigned char)s[n]))
		n++;
	return n;
}

/* "approve" or "reject" (any case, trailing punctuation allowed), or NULL. */
static const char *
decision_word(const char *w, size_t n)
{
	while (n > 0 && strchr(".,!:;", w[n - 1]) != NULL)
		n--;
	if (n == 7 && strncasecmp(w, "approve", 7) == 0)
		return "approve";
	if (n == 6 && strncasecmp(w, "reject", 6) == 0)
		return "reject";
	return NULL;
}

/* APR-n or a bare number: the person named the request. */
static int
names_request(const char *w, size_t n)
{
	size_t i = 0;

	if (n > 4 && strncasecmp(w, "apr-", 4) == 0)
		i = 4;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (!isdigit((unsigned char)w[i]))
			return 0;
	return 1;
}

/* The whole text is a number 1..999; else -1. */
static long
bare_number(const char *s)
{
	long v = 0;
	size_t n = 0;

	s = skip_space(s);
	while (n < 4 && isdigit((unsigned char)s[n]))
		v = v * 10 + (s[n++] - '0');
	if (n == 0 || n > 3 || *skip_space(s + n) != '\0' || v < 1)
		return -1;
	return v;
}

static int
has_prefix(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(mx_prefixes); i++)
		if (strlen(mx_prefixes[i]) == n &&
		    strncasecmp(w, mx_prefixes[i], n) == 0)
			return 1;
	return 0;
}

static int64_t
payload_approval(const char *payload)
{
	json_t *root = payload ? json_loads(payload, 0, NULL) : NULL;
	json_t *a = json_object_get(root, "approval");
	int64_t id = json_is_integer(a) ? (int64_t)json_integer_value(a) : 0;

	json_decref(root);
	return id > 0 ? id : 0;
}

/* "approve APR-n rest" into out. */
static void
decision_command(struct buf *out, const char *verb, int64_t apr,
		 const char *rest)
{
	buf_printf(out, "%s APR-%lld", verb, (long long)apr);
	if (*rest != '\0')
		buf_printf(out, " %s", rest);
}

int
mx_quiz_command(const char *payload, long n, struct buf *out)
{
	json_t *root = payload ? json_loads(payload, 0, NULL) : NULL;
	json_t *opts = quiz_options(root), *quiz, *q;
	const char *cmd = jstr(root, "answer_command");
	int rc = -1;

	if (opts == NULL)
		goto out;
	if (n < 1 || (size_t)n > json_array_size(opts)) {
		buf_printf(out, "%zu", json_array_size(opts));
		rc = 1;
		goto out;
	}
	if (cmd != NULL && *cmd != '\0' && strpbrk(cmd, "\r\n") == NULL) {
		buf_printf(out, "%s %ld", cmd, n);
		rc = 0;
		goto out;
	}
	quiz = json_object_get(root, "quiz");
	q = json_object_get(root, "question");
	if (!(json_is_string(quiz) || json_is_integer(quiz)) ||
	    !(json_is_string(q) || json_is_integer(q)))
		goto out;
	buf_puts(out, "quiz answer ");
	if (json_is_integer(quiz))
		buf_printf(out, "QZ-%lld", (long long)json_integer_value(quiz));
	else
		buf_puts(out, json_string_value(quiz));
	if (json_is_integer(q))
		buf_printf(out, " %lld", (long long)json_integer_value(q));
	else
		buf_printf(out, " %s", json_string_value(q));
	buf_printf(out, " %ld", n);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* A bare number answering a quiz question; MX_IGNORE when it is not. */
static enum mx_action
route_quiz(const char *payload, long n, struct buf *out)
{
	struct buf tmp = {0};
	enum mx_action a = MX_IGNORE;

	if (n < 1 || payload == NULL)
		return MX_IGNORE;
	switch (mx_quiz_command(payload, n, &tmp)) {
	case 0:
		buf_puts(out, buf_str(&tmp));
		a = MX_RUN;
		break;
	case 1:
		buf_printf(out, "Please answer with a number from 1 to %s.",
			   buf_str(&tmp));
		a = MX_SAY;
		break;
	default:
		break;
	}
	buf_free(&tmp);
	return a;
}

enum mx_action
mx_route(const struct mx_route_in *in, struct buf *out)
{
	const char *text = skip_space(in->body), *verb, *rest;
	size_t wl = word_len(text), rl, i;
	long number = bare_number(text);
	unsigned reply = msg_kind_flags(in->reply_kind);
	enum mx_action a = MX_IGNORE;
	int64_t apr = 0;

	if (*text == '\0')
		return MX_IGNORE;
	verb = decision_word(text, wl);
	rest = skip_space(text + wl);
	rl = word_len(rest);
	/* an answer to the approval request or quiz it replies to */
	if (verb != NULL && !names_request(rest, rl) &&
	    (reply & MSGK_ASKS_DECISION))
		apr = payload_approval(in->reply_payload);
	if (apr > 0) {
		decision_command(out, verb, apr, rest);
		return MX_RUN;
	}
	if (reply & MSGK_ASKS_ANSWER)
		a = route_quiz(in->reply_payload, number, out);
	if (a != MX_IGNORE)
		return a;
	if (!in->dm) {
		if (!has_prefix(text, wl))
			return MX_IGNORE;
		buf_puts(out, text);
		return MX_RUN;
	}
	if (verb != NULL && !names_request(rest, rl)) {
		if (in->npending == 1) {
			decision_command(out, verb, in->pending[0], rest);
			return MX_RUN;
		}
		if (in->npending == 0) {
			buf_puts(out, "Nothing is waiting for your approval.");
			return MX_SAY;
		}
		buf_puts(out, "Several requests wait for your decision:");
		for (i = 0; i < in->npending; i++)
			buf_printf(out, "%s APR-%lld", i ? "," : "",
				   (long long)in->pending[i]);
		buf_printf(out,
			   ". Reply to the request's message, or type "
			   "%s APR-n %s.",
			   verb,
			   strcmp(verb, "approve") == 0 ? "[comment]"
							: "<reason>");
		return MX_SAY;
	}
	a = route_quiz(in->quiz_payload, number, out);
	if (a != MX_IGNORE)
		return a;
	buf_puts(out, text);
	return MX_RUN;
}
