/*
 * libFuzzer harness for the Slack wire formats: Socket Mode envelopes,
 * HTTP-mode bodies (forms, interactivity, events), the commands they turn
 * into, and rendering arbitrary text into valid Block Kit JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../adapters/slack_proto.h"
#include "../../base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Parses payload as type and derives its command, checking invariants. */
static void
inbound(const char *type, json_t *payload)
{
	struct slack_in in;
	struct buf cmd = {0}, d = {0};
	int rc;

	rc = slack_in_parse(type, payload, "U0BOT", &in);
	check(rc == 0 || in.why != NULL);
	if (rc == 0 && in.kind == SLACK_IN_MESSAGE)
		check(in.user != NULL && in.text != NULL &&
		      in.channel != NULL && strcmp(in.user, "U0BOT") != 0);
	rc = slack_in_command(&in, "U0BOT", &cmd);
	check(rc >= -1 && rc <= 1);
	if (rc >= 0) {
		check(strlen(buf_str(&cmd)) == cmd.len);
		if (slack_decision_text(buf_str(&cmd), 42, &d) == 1)
			check(strncmp(buf_str(&d), "approve", 7) == 0 ||
			      strncmp(buf_str(&d), "reject", 6) == 0);
	}
	buf_free(&cmd);
	buf_free(&d);
}

/* Any text renders into JSON that dumps and loads back equal. */
static void
render(const char *text)
{
	json_t *m = slack_render_post("D1", "1.1", MSG_APPROVAL, text, text,
				      text),
	       *again;
	char *dump;

	check(m != NULL);
	/* within Slack's limit, and nothing typed becomes a mention */
	check(slack_text_len(json_string_value(json_object_get(m, "text"))) <=
	      SLACK_TEXT_MAX);
	check(strchr(json_string_value(json_object_get(m, "text")), '<') ==
	      NULL);
	dump = json_dumps(m, JSON_COMPACT);
	check(dump != NULL);
	again = json_loads(dump, 0, NULL);
	check(again != NULL && json_equal(m, again));
	json_decref(again);
	free(dump);
	json_decref(m);
	m = slack_render_post("D1", NULL, MSG_QUIZ, "q", "b", text);
	check(m != NULL);
	json_decref(m);
	m = slack_render_ephemeral(text, 1);
	check(m != NULL);
	json_decref(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = {
	    "application/json", "application/x-www-form-urlencoded"};
	const char *body = (const char *)data, *type;
	struct slack_envelope env;
	char *text = xstrndup(body, size);
	struct buf b = {0};
	json_t *p;
	size_t i;

	if (slack_envelope_parse(body, size, &env) == 0) {
		check(env.type != NULL);
		if (env.payload != NULL)
			inbound(env.type, env.payload);
		slack_envelope_free(&env);
	}
	for (i = 0; i < ARRAY_LEN(ctypes); i++) {
		p = slack_http_payload(ctypes[i], body, size, &type);
		if (p != NULL) {
			check(type != NULL && json_is_object(p));
			inbound(type, p);
			json_decref(p);
		}
	}
	slack_unformat(text, &b);
	check(b.len <= strlen(text) + 1);
	buf_reset(&b);
	slack_escape(&b, text);
	check(strchr(buf_str(&b), '<') == NULL);
	buf_free(&b);
	render(text);
	free(text);
	return 0;
}
