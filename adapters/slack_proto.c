/*
 * Slack wire formats without I/O: parsing what Slack sends (envelopes,
 * forms, interactivity, events) and rendering what we send (mrkdwn, Block
 * Kit, acks). Every json_t returned is a new reference.
 */
#include "slack_proto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../config/config.h"

#define SLACK_ID_MAX 256 /* envelope ids, event ids: generous */

/* A member's string value, or NULL; borrowed from o. */
static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *
jobj(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_object(v) ? v : NULL;
}

/* A member that is present and not null. */
static int
jhas(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v != NULL && !json_is_null(v);
}

/* Printable ASCII of a sane length: ids we store and echo back. */
static int
id_ok(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= SLACK_ID_MAX || s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

int
slack_envelope_parse(const char *text, size_t len, struct slack_envelope *env)
{
	json_t *v;

	memset(env, 0, sizeof(*env));
	env->root = json_loadb(text, len, 0, NULL);
	if (!json_is_object(env->root))
		goto fail;
	env->type = jstr(env->root, "type");
	if (env->type == NULL)
		goto fail;
	env->envelope_id = jstr(env->root, "envelope_id");
	if (env->envelope_id != NULL && !id_ok(env->envelope_id))
		goto fail;
	env->reason = jstr(env->root, "reason");
	env->payload = jobj(env->root, "payload");
	v = json_object_get(env->root, "retry_attempt");
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < 1000)
		env->retry_attempt = (int)json_integer_value(v);
	return 0;
fail:
	slack_envelope_free(env);
	return -1;
}

void
slack_envelope_free(struct slack_envelope *env)
{
	json_decref(env->root);
	memset(env, 0, sizeof(*env));
}

static int
is_dm(const char *channel, const char *channel_name)
{
	return (channel != NULL && channel[0] == 'D') ||
	       (channel_name != NULL &&
		strcmp(channel_name, "directmessage") == 0);
}

/* Does text begin with a mention of user ("<@U1>" or "<@U1|name>")? */
static size_t
mention_len(const char *text, const char *user)
{
	size_t n;

	if (user == NULL || *user == '\0' || strncmp(text, "<@", 2) != 0)
		return 0;
	n = strlen(user);
	if (strncmp(text + 2, user, n) != 0)
		return 0;
	if (text[2 + n] == '>')
		return n + 3;
	if (text[2 + n] == '|') {
		const char *e = strchr(text + 2 + n, '>');

		return e ? (size_t)(e - text) + 1 : 0;
	}
	return 0;
}

static int
parse_slash(json_t *p, struct slack_in *in)
{
	in->user = jstr(p, "user_id");
	in->channel = jstr(p, "channel_id");
	in->command = jstr(p, "command");
	in->text = jstr(p, "text");
	in->response_url = jstr(p, "response_url");
	in->trigger_id = jstr(p, "trigger_id");
	if (!id_ok(in->user) || in->command == NULL || in->command[0] != '/') {
		in->why = "slash command without user_id or command";
		return -1;
	}
	if (in->text == NULL)
		in->text = "";
	in->shared = !is_dm(in->channel, jstr(p, "channel_name"));
	in->kind = SLACK_IN_COMMAND;
	return 0;
}

static int
parse_interactive(json_t *p, struct slack_in *in)
{
	const char *type = jstr(p, "type");
	json_t *container = jobj(p, "container"), *msg = jobj(p, "message");
	json_t *actions = json_object_get(p, "actions"), *a0;

	if (type == NULL) {
		in->why = "interaction without a type";
		return -1;
	}
	if (strcmp(type, "block_actions") != 0) {
		in->why = "not a block action";
		return 0;
	}
	a0 = json_is_array(actions) ? json_array_get(actions, 0) : NULL;
	in->user = jstr(jobj(p, "user"), "id");
	in->channel = jstr(jobj(p, "channel"), "id");
	if (in->channel == NULL)
		in->channel = jstr(container, "channel_id");
	in->ts = jstr(container, "message_ts");
	if (in->ts == NULL)
		in->ts = jstr(msg, "ts");
	in->thread_ts = jstr(msg, "thread_ts");
	in->action_id = jstr(a0, "action_id");
	in->action_value = jstr(a0, "value");
	in->response_url = jstr(p, "response_url");
	in->trigger_id = jstr(p, "trigger_id");
	if (!id_ok(in->user) || in->action_id == NULL) {
		in->why = "block action without user or action";
		return -1;
	}
	in->shared = !is_dm(in->channel, jstr(jobj(p, "channel"), "name"));
	in->kind = SLACK_IN_ACTION;
	return 0;
}

static int
parse_event(json_t *p, const char *bot, struct slack_in *in)
{
	const char *type = jstr(p, "type"), *etype, *ctype;
	json_t *ev;

	if (type == NULL) {
		in->why = "event without a type";
		return -1;
	}
	if (strcmp(type, "url_verification") == 0) {
		in->challenge = jstr(p, "challenge");
		if (in->challenge == NULL) {
			in->why = "url_verification without a challenge";
			return -1;
		}
		in->kind = SLACK_IN_CHALLENGE;
		return 0;
	}
	if (strcmp(type, "event_callback") != 0) {
		in->why = "not an event callback";
		return 0;
	}
	ev = jobj(p, "event");
	in->event_id = jstr(p, "event_id");
	if (ev == NULL || !id_ok(in->event_id)) {
		in->why = "event callback without event or event_id";
		return -1;
	}
	etype = jstr(ev, "type");
	if (etype == NULL || strcmp(etype, "message") != 0) {
		in->why = "not a message event";
		return 0;
	}
	/* edits, deletions, joins, thread_broadcast echoes, bot_message */
	if (jhas(ev, "subtype")) {
		in->why = "message with a subtype";
		return 0;
	}
	if (jhas(ev, "bot_id") || json_is_true(json_object_get(ev, "hidden"))) {
		in->why = "message from a bot";
		return 0;
	}
	in->user = jstr(ev, "user");
	if (!id_ok(in->user)) {
		in->why = "message without a user";
		return 0;
	}
	if (bot != NULL && strcmp(in->user, bot) == 0) {
		in->why = "our own message";
		return 0;
	}
	in->text = jstr(ev, "text");
	in->channel = jstr(ev, "channel");
	in->ts = jstr(ev, "ts");
	in->thread_ts = jstr(ev, "thread_ts");
	if (in->text == NULL) {
		in->why = "message without text";
		return 0;
	}
	if (!id_ok(in->channel) || !id_ok(in->ts) ||
	    (in->thread_ts != NULL && !id_ok(in->thread_ts))) {
		in->why = "message without channel or ts";
		return -1;
	}
	ctype = jstr(ev, "channel_type");
	in->shared =
	    ctype != NULL ? strcmp(ctype, "im") != 0 : in->channel[0] != 'D';
	in->mentioned = mention_len(in->text, bot) > 0;
	in->kind = SLACK_IN_MESSAGE;
	return 0;
}

int
slack_in_parse(const char *type, json_t *payload, const char *bot_user_id,
	       struct slack_in *in)
{
	memset(in, 0, sizeof(*in));
	in->kind = SLACK_IN_IGNORE;
	if (type == NULL || !json_is_object(payload)) {
		in->why = "payload is not an object";
		return -1;
	}
	if (strcmp(type, "slash_commands") == 0)
		return parse_slash(payload, in);
	if (strcmp(type, "interactive") == 0)
		return parse_interactive(payload, in);
	if (strcmp(type, "events_api") == 0)
		return parse_event(payload, bot_user_id, in);
	in->why = "unknown payload type";
	return 0;
}

/* "APR-12" (any case) as 12; -1 otherwise. */
static long
apr_value(const char *v)
{
	long id;

	if (v == NULL || strncasecmp(v, "APR-", 4) != 0 ||
	    !isdigit((unsigned char)v[4]) ||
	    parse_int(v + 4, 1, 999999999, &id) < 0)
		return -1;
	return id;
}

static int
word_ok(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/*
 * "<campaign>:<question>:<n>" as "quiz answer QZ-c q n". suffix is what
 * follows the action id's prefix: "" or ":<n>", which must then agree.
 */
static int
quiz_command(const char *suffix, const char *v, struct buf *out)
{
	const char *c1, *c2, *camp = v;
	size_t cl, ql;
	long n;

	if (v == NULL || (c1 = strchr(v, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		return -1;
	if (strncasecmp(camp, "QZ-", 3) == 0)
		camp += 3;
	cl = (size_t)(c1 - camp);
	ql = (size_t)(c2 - c1 - 1);
	if (!word_ok(camp, cl, 12) || strspn(camp, "0123456789") != cl ||
	    !word_ok(c1 + 1, ql, 64) || parse_int(c2 + 1, 1, 99, &n) < 0)
		return -1;
	if (*suffix != '\0' &&
	    (suffix[0] != ':' || strcmp(suffix + 1, c2 + 1) != 0))
		return -1;
	buf_printf(out, "quiz answer QZ-%.*s %.*s %ld", (int)cl, camp, (int)ql,
		   c1 + 1, n);
	return 0;
}

static int
action_command(const struct slack_in *in, struct buf *out)
{
	size_t ql = strlen(SLACK_ACTION_QUIZ);
	long id;

	/* routed by prefix: "isms_quiz" and "isms_quiz:<n>" */
	if (strncmp(in->action_id, SLACK_ACTION_QUIZ, ql) == 0 &&
	    (in->action_id[ql] == '\0' || in->action_id[ql] == ':'))
		return quiz_command(in->action_id + ql, in->action_value, out);
	id = apr_value(in->action_value);
	if (id < 0)
		return -1;
	if (strcmp(in->action_id, SLACK_ACTION_APPROVE) == 0) {
		buf_printf(out, "approve APR-%ld", id);
		return 0;
	}
	if (strcmp(in->action_id, SLACK_ACTION_REJECT) == 0) {
		buf_printf(out, "APR-%ld", id);
		return 1;
	}
	return -1;
}

/* Appends the trimmed, unformatted text. */
static void
put_unformatted(struct buf *out, const char *text)
{
	struct buf tmp = {0};

	slack_unformat(text, &tmp);
	if (tmp.data != NULL)
		buf_puts(out, str_trim(tmp.data));
	buf_free(&tmp);
}

int
slack_in_command(const struct slack_in *in, const char *bot_user_id,
		 struct buf *out)
{
	const char *text;

	buf_reset(out);
	switch (in->kind) {
	case SLACK_IN_COMMAND:
		buf_printf(out, "%s ", in->command);
		put_unformatted(out, in->text);
		return 0;
	case SLACK_IN_MESSAGE:
		text = in->text + mention_len(in->text, bot_user_id);
		while (*text == ':' || *text == ',' ||
		       isspace((unsigned char)*text))
			text++;
		put_unformatted(out, text);
		return out->len > 0 ? 0 : -1;
	case SLACK_IN_ACTION:
		return action_command(in, out);
	default:
		return -1;
	}
}

int
slack_decision_text(const char *text, int64_t apr, struct buf *out)
{
	const char *p = text, *rest;
	size_t n = 0;
	int approve;

	while (isspace((unsigned char)*p))
		p++;
	while (isalpha((unsigned char)p[n]))
		n++;
	if (n == 7 && strncasecmp(p, "approve", 7) == 0)
		approve = 1;
	else if (n == 6 && strncasecmp(p, "reject", 6) == 0)
		approve = 0;
	else
		return 0;
	rest = p + n;
	if (*rest != '\0' && !isspace((unsigned char)*rest) &&
	    strchr(".,:;!", *rest) == NULL)
		return 0; /* "approved", "rejection", "approve-ish" */
	while (*rest != '\0' &&
	       (isspace((unsigned char)*rest) || strchr(".,:;!", *rest)))
		rest++;
	buf_reset(out);
	buf_puts(out, approve ? "approve" : "reject");
	if (strncasecmp(rest, "APR-", 4) != 0 ||
	    !isdigit((unsigned char)rest[4]))
		buf_printf(out, " APR-%lld", (long long)apr);
	if (*rest != '\0')
		buf_printf(out, " %s", rest);
	return 1;
}

/* Appends s[0..n) with &amp; &lt; &gt; decoded. */
static void
put_entities(struct buf *out, const char *s, size_t n)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}};
	size_t i = 0, k;

	while (i < n) {
		int done = 0;

		if (s[i] == '&')
			for (k = 0; k < ARRAY_LEN(ents) && !done; k++) {
				size_t el = strlen(ents[k].ent);

				if (i + el <= n &&
				    strncmp(s + i, ents[k].ent, el) == 0) {
					buf_putc(out, ents[k].c);
					i += el;
					done = 1;
				}
			}
		if (!done)
			buf_putc(out, s[i++]);
	}
}

void
slack_unformat(const char *text, struct buf *out)
{
	const char *p = text;

	if (out->data == NULL)
		buf_puts(out, "");
	while (*p != '\0') {
		const char *close, *bar, *start;
		size_t n = strcspn(p, "<");

		put_entities(out, p, n);
		p += n;
		if (*p == '\0')
			break;
		close = strchr(p, '>');
		if (close == NULL) {
			put_entities(out, p, strlen(p));
			break;
		}
		if (p[1] == '@' || p[1] == '#' || p[1] == '!') {
			/* mentions stay for the command parser */
			buf_add(out, p, (size_t)(close - p) + 1);
		} else {
			start = p + 1;
			bar = memchr(start, '|', (size_t)(close - start));
			if (strncmp(start, "mailto:", 7) == 0)
				start += 7;
			put_entities(out, start,
				     (size_t)((bar ? bar : close) - start));
		}
		p = close + 1;
	}
}

void
slack_escape(struct buf *b, const char *s)
{
	if (b->data == NULL)
		buf_puts(b, "");
	for (; *s != '\0'; s++) {
		if (*s == '&')
			buf_puts(b, "&amp;");
		else if (*s == '<')
			buf_puts(b, "&lt;");
		else if (*s == '>')
			buf_puts(b, "&gt;");
		else
			buf_putc(b, *s);
	}
}

/* Decodes one form component; -1 on a bad escape or a NUL byte. */
static int
form_unescape(const char *s, size_t n, struct buf *out)
{
	size_t i;

	buf_reset(out);
	buf_puts(out, "");
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '+') {
			buf_putc(out, ' ');
			continue;
		}
		if (s[i] != '%') {
			buf_putc(out, s[i]);
			continue;
		}
		if (i + 2 >= n)
			return -1;
		hi = hex_digit((unsigned char)s[i + 1]);
		lo = hex_digit((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -1;
		buf_putc(out, (char)(hi << 4 | lo));
		i += 2;
	}
	return str_valid_utf8(out->data, out->len) ? 0 : -1;
}

json_t *
slack_form_decode(const char *body, size_t len)
{
	json_t *obj = json_object();
	struct buf k = {0}, v = {0};
	size_t i = 0;

	while (i < len) {
		const char *pair = body + i, *eq;
		size_t n = 0;

		while (i + n < len && body[i + n] != '&')
			n++;
		i += n + 1;
		if (n == 0)
			continue;
		eq = memchr(pair, '=', n);
		if (form_unescape(pair, eq ? (size_t)(eq - pair) : n, &k) < 0 ||
		    form_unescape(eq ? eq + 1 : pair + n,
				  eq ? n - (size_t)(eq - pair) - 1 : 0,
				  &v) < 0 ||
		    memchr(pair, '\0', n) != NULL) {
			json_decref(obj);
			obj = NULL;
			break;
		}
		if (json_object_get(obj, k.data) == NULL)
			json_object_set_new(obj, k.data, json_string(v.data));
	}
	buf_free(&k);
	buf_free(&v);
	return obj;
}

static void
form_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
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

void
slack_form_encode(struct buf *b, json_t *obj)
{
	const char *key;
	json_t *v;
	int first = 1;

	if (b->data == NULL)
		buf_puts(b, "");
	json_object_foreach(obj, key, v)
	{
		if (!json_is_string(v))
			continue;
		if (!first)
			buf_putc(b, '&');
		first = 0;
		form_escape(b, key);
		buf_putc(b, '=');
		form_escape(b, json_string_value(v));
	}
}

json_t *
slack_http_payload(const char *content_type, const char *body, size_t len,
		   const char **type)
{
	json_t *form, *p = NULL;
	const char *inner;

	*type = NULL;
	if (content_type == NULL)
		return NULL;
	if (strncasecmp(content_type, "application/json", 16) == 0) {
		p = json_loadb(body, len, 0, NULL);
		if (!json_is_object(p)) {
			json_decref(p);
			return NULL;
		}
		*type = "events_api";
		return p;
	}
	if (strncasecmp(content_type, "application/x-www-form-urlencoded",
			33) != 0)
		return NULL;
	form = slack_form_decode(body, len);
	if (form == NULL)
		return NULL;
	inner = jstr(form, "payload");
	if (inner == NULL) {
		*type = "slash_commands";
		return form;
	}
	p = json_loads(inner, 0, NULL);
	json_decref(form);
	if (!json_is_object(p)) {
		json_decref(p);
		return NULL;
	}
	*type = "interactive";
	return p;
}

/*
 * The byte length of the UTF-8 character at s[0..n), with its width in
 * UTF-16 units in *units; 0 when the bytes there are not valid UTF-8.
 */
static size_t
u8char(const char *s, size_t n, size_t *units)
{
	unsigned char c = (unsigned char)s[0];
	size_t k = 1;

	*units = 1;
	if (c < 0x80)
		return 1;
	while (k < 4 && k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
		k++;
	if (!str_valid_utf8(s, k))
		return 0;
	*units = k == 4 ? 2 : 1;
	return k;
}

size_t
slack_text_len(const char *s)
{
	size_t i = 0, n = strlen(s), total = 0, u, k;

	while (i < n) {
		k = u8char(s + i, n - i, &u);
		total += u;
		i += k ? k : 1;
	}
	return total;
}

void
slack_fit(struct buf *b, size_t max, const char *more)
{
	struct buf clean = {0}, tail = {0};
	size_t i = 0, n = b->len, used = 0, budget, cut, amp, u, k;
	const char *s = b->data;

	buf_puts(&clean, "");
	for (i = 0; i < n; i += k) {
		k = u8char(s + i, n - i, &u);
		if (k == 0 || (k == 1 && s[i] == '\0')) {
			buf_putc(&clean, '?');
			k = 1;
			u = 1;
		} else {
			buf_add(&clean, s + i, k);
		}
		used += u;
	}
	if (used > max) {
		buf_puts(&tail, "...");
		if (more != NULL && *more != '\0')
			buf_printf(&tail, " %s", more);
		budget = slack_text_len(tail.data);
		budget = budget < max ? max - budget : 0;
		used = cut = 0;
		while (cut < clean.len) {
			k = u8char(clean.data + cut, clean.len - cut, &u);
			if (used + u > budget)
				break;
			used += u;
			cut += k;
		}
		/* never leave half an entity such as "&am" */
		for (amp = cut; amp > 0 && cut - amp < 5; amp--)
			if (clean.data[amp - 1] == '&' ||
			    clean.data[amp - 1] == ';')
				break;
		if (amp > 0 && cut - amp < 5 && clean.data[amp - 1] == '&')
			cut = amp - 1;
		clean.len = cut;
		clean.data[cut] = '\0';
		if (slack_text_len(tail.data) > max) {
			buf_reset(&tail);
			buf_puts(&tail, "...");
		}
		buf_puts(&clean, tail.data);
	}
	buf_reset(b);
	buf_add(b, clean.data, clean.len);
	buf_puts(b, "");
	buf_free(&clean);
	buf_free(&tail);
}

/* A JSON string of s fitted into max characters (see slack_fit). */
static json_t *
jfit(const char *s, size_t max, const char *more)
{
	struct buf b = {0};
	json_t *j;

	buf_puts(&b, s);
	slack_fit(&b, max, more);
	j = json_string(b.data);
	buf_free(&b);
	return j;
}

static json_t *
jtext(const char *s, size_t max)
{
	return jfit(s, max, NULL);
}

/* Record prefixes and the command that shows the full record. */
static const struct {
	const char *prefix, *show;
} record_shows[] = {
    {"INC", "/isms incident show"}, {"RSK", "/isms risk show"},
    {"AST", "/isms asset show"},    {"ACT", "/isms action show"},
    {"DOC", "/isms doc show"},	    {"AUD", "/isms audit show"},
    {"MR", "/isms review show"},
};

/* The first "XYZ-n" id in s with a show command; 1 and out set, or 0. */
static int
find_record(const char *s, char *out, size_t len)
{
	const char *p;
	size_t i, pl, d;

	for (p = s; p != NULL && *p != '\0'; p++) {
		if (p != s && isalnum((unsigned char)p[-1]))
			continue;
		for (i = 0; i < ARRAY_LEN(record_shows); i++) {
			pl = strlen(record_shows[i].prefix);
			if (strncmp(p, record_shows[i].prefix, pl) != 0 ||
			    p[pl] != '-')
				continue;
			d = strspn(p + pl + 1, "0123456789");
			if (d == 0 || d > 12 ||
			    isalnum((unsigned char)p[pl + 1 + d]))
				continue;
			snprintf(out, len, "see %s %.*s", record_shows[i].show,
				 (int)(pl + 1 + d), p);
			return 1;
		}
	}
	return 0;
}

void
slack_record_pointer(enum msg_kind kind, const char *subject, const char *body,
		     char *out, size_t len)
{
	const char *see = msg_kind_info(kind)->see;

	if (find_record(subject, out, len) || find_record(body, out, len))
		return;
	if (see != NULL)
		snprintf(out, len, "see /isms %s", see);
	else
		snprintf(out, len, "the full text is in the ISMS record");
}

static json_t *
mrkdwn_section(const char *text, const char *more)
{
	return json_pack("{s:s,s:{s:s,s:o}}", "type", "section", "text", "type",
			 "mrkdwn", "text", jfit(text, SLACK_SECTION_MAX, more));
}

static json_t *
button(const char *action_id, const char *label, const char *value,
       const char *style)
{
	json_t *b = json_pack(
	    "{s:s,s:s,s:{s:s,s:o,s:b},s:s}", "type", "button", "action_id",
	    action_id, "text", "type", "plain_text", "text",
	    jtext(label, SLACK_BUTTON_TEXT_MAX), "emoji", 1, "value", value);

	if (b != NULL && style != NULL)
		json_object_set_new(b, "style", json_string(style));
	return b;
}

/* A payload member as text: strings as they are, integers in decimal. */
static int
jword(json_t *o, const char *key, char *out, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
	else
		return -1;
	return word_ok(out, strlen(out), 64) ? 0 : -1;
}

static json_t *
approval_actions(json_t *payload)
{
	json_t *v = json_object_get(payload, "approval");
	char value[32];

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return NULL;
	snprintf(value, sizeof(value), "APR-%lld",
		 (long long)json_integer_value(v));
	return json_pack(
	    "{s:s,s:s,s:[o,o]}", "type", "actions", "block_id", "isms_approval",
	    "elements",
	    button(SLACK_ACTION_APPROVE, "Approve", value, "primary"),
	    button(SLACK_ACTION_REJECT, "Reject", value, "danger"));
}

static json_t *
quiz_actions(json_t *payload)
{
	json_t *opts = json_object_get(payload, "options"), *els, *o;
	char camp[72], q[72], value[160], action[32];
	struct buf label = {0};
	size_t i;

	/* the scheduler names the campaign "quiz": "QZ-n" */
	if (!json_is_array(opts) || json_array_size(opts) == 0 ||
	    (jword(payload, "quiz", camp, sizeof(camp)) < 0 &&
	     jword(payload, "campaign", camp, sizeof(camp)) < 0) ||
	    jword(payload, "question", q, sizeof(q)) < 0)
		return NULL;
	els = json_array();
	json_array_foreach(opts, i, o)
	{
		if (i >= SLACK_BUTTONS_MAX || !json_is_string(o))
			break;
		snprintf(value, sizeof(value), "%s:%s:%zu",
			 strncasecmp(camp, "QZ-", 3) == 0 ? camp + 3 : camp, q,
			 i + 1);
		/* unique within the block, as Slack requires */
		snprintf(action, sizeof(action), "%s:%zu", SLACK_ACTION_QUIZ,
			 i + 1);
		buf_reset(&label);
		buf_printf(&label, "%zu. %s", i + 1, json_string_value(o));
		json_array_append_new(els,
				      button(action, label.data, value, NULL));
	}
	buf_free(&label);
	return json_pack("{s:s,s:s,s:o}", "type", "actions", "block_id",
			 "isms_quiz", "elements", els);
}

json_t *
slack_render_post(const char *channel, const char *thread_ts,
		  enum msg_kind kind, const char *subject, const char *body,
		  const char *payload)
{
	struct buf text = {0};
	json_t *msg, *pl = NULL, *actions = NULL;
	char more[96];

	slack_record_pointer(kind, subject, body, more, sizeof(more));
	buf_puts(&text, "*");
	slack_escape(&text, subject);
	buf_puts(&text, "*");
	if (body != NULL && *body != '\0') {
		buf_puts(&text, "\n");
		slack_escape(&text, body);
	}
	msg = json_pack("{s:s,s:o,s:b,s:b}", "channel", channel, "text",
			jfit(text.data, SLACK_TEXT_MAX, more), "unfurl_links",
			0, "unfurl_media", 0);
	if (msg == NULL)
		goto out;
	if (thread_ts != NULL)
		json_object_set_new(msg, "thread_ts", json_string(thread_ts));
	if (payload != NULL)
		pl = json_loads(payload, 0, NULL);
	if (msg_kind_flags(kind) & MSGK_ASKS_DECISION)
		actions = approval_actions(pl);
	else if (msg_kind_flags(kind) & MSGK_ASKS_ANSWER)
		actions = quiz_actions(pl);
	if (actions != NULL)
		json_object_set_new(msg, "blocks",
				    json_pack("[o,o]",
					      mrkdwn_section(text.data, more),
					      actions));
out:
	json_decref(pl);
	buf_free(&text);
	return msg;
}

json_t *
slack_render_decided(const char *channel, const char *ts,
		     const char *approval_subject, const char *decision,
		     const char *outcome)
{
	struct buf head = {0}, line = {0}, text = {0};
	json_t *msg;
	char more[96];

	slack_record_pointer(MSG_DECISION, approval_subject, decision, more,
			     sizeof(more));
	buf_puts(&head, "*");
	slack_escape(&head, approval_subject);
	buf_puts(&head, "*");
	buf_puts(&line, outcome != NULL && strcmp(outcome, "approved") == 0
			    ? ":white_check_mark: "
			    : ":x: ");
	slack_escape(&line, decision);
	buf_printf(&text, "%s\n%s", head.data, line.data);
	msg = json_pack(
	    "{s:s,s:s,s:o,s:[o,{s:s,s:[{s:s,s:o}]}]}", "channel", channel, "ts",
	    ts, "text", jfit(text.data, SLACK_TEXT_MAX, more), "blocks",
	    mrkdwn_section(head.data, more), "type", "context", "elements",
	    "type", "mrkdwn", "text", jfit(line.data, SLACK_SECTION_MAX, more));
	buf_free(&head);
	buf_free(&line);
	buf_free(&text);
	return msg;
}

void
slack_reply_text(struct buf *b, const char *text, int error)
{
	if (error)
		buf_puts(b, ":warning: ");
	slack_escape(b, text);
	slack_fit(b, SLACK_TEXT_MAX,
		  "(the rest did not fit in one Slack message)");
}

json_t *
slack_render_ephemeral(const char *text, int error)
{
	struct buf b = {0};
	json_t *j;

	slack_reply_text(&b, text, error);
	j = json_pack("{s:s,s:s}", "response_type", "ephemeral", "text",
		      b.data);
	buf_free(&b);
	return j;
}

char *
slack_render_ack(const char *envelope_id, json_t *payload)
{
	json_t *ack = json_pack("{s:s}", "envelope_id", envelope_id);
	char *text;

	if (payload != NULL)
		json_object_set_new(ack, "payload", payload);
	text = json_dumps(ack, JSON_COMPACT);
	json_decref(ack);
	return text;
}

static const char *const auth_errors[] = {
    "token_revoked", "invalid_auth",	"account_inactive",
    "not_authed",    "token_expired",	"not_allowed_token_type",
    "team_disabled", "app_uninstalled",
};

static const char *const transient_errors[] = {
    "internal_error",  "fatal_error",	    "service_unavailable",
    "request_timeout", "team_added_to_org",
};

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

enum slack_api_status
slack_api_classify(long http_status, json_t *body, const char **error)
{
	const char *e = jstr(body, "error");

	if (http_status == 0) {
		*error = "transfer failed";
		return SLACK_API_TRANSIENT;
	}
	if (http_status == 429 ||
	    (e != NULL && strcmp(e, "ratelimited") == 0)) {
		*error = "ratelimited";
		return SLACK_API_RATELIMITED;
	}
	if (http_status >= 500) {
		*error = e != NULL ? e : "server error";
		return SLACK_API_TRANSIENT;
	}
	if (e != NULL && in_list(e, auth_errors, ARRAY_LEN(auth_errors))) {
		*error = e;
		return SLACK_API_AUTH;
	}
	if (http_status != 200) {
		*error = e != NULL ? e : "unexpected HTTP status";
		return SLACK_API_FAILED;
	}
	if (!json_is_object(body)) {
		*error = "malformed response";
		return SLACK_API_TRANSIENT;
	}
	if (json_is_true(json_object_get(body, "ok"))) {
		*error = NULL;
		return SLACK_API_OK;
	}
	*error = e != NULL ? e : "unknown_error";
	return in_list(*error, transient_errors, ARRAY_LEN(transient_errors))
		   ? SLACK_API_TRANSIENT
		   : SLACK_API_FAILED;
}

int
slack_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	return config_parse_listen(s, host, hostlen, port);
}
