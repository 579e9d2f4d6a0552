/*
 * Unit tests of the Slack transport's pure parts: v0 signatures, envelope
 * and payload parsing, form coding, mrkdwn escaping, Block Kit rendering.
 */
#include "testutil.h"

#include "../../adapters/slack_proto.h"
#include "../../adapters/slack_sig.h"

/* Slack's documented example ("Verifying requests from Slack"). */
static const char doc_secret[] = "8f742231b10e8888abcd99yyyzzz85a5";
static const char doc_ts[] = "1531420618";
static const char doc_body[] =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain="
    "testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id="
    "U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015."
    "47445629121.803a0bc887a14d10d2c447fce8b6703c";
static const char doc_sig[] =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

static void
test_sig_documented_example(void **state)
{
	char sig[SLACK_SIG_LEN + 1];

	(void)state;
	slack_sig_compute(doc_secret, doc_ts, doc_body, strlen(doc_body), sig);
	assert_string_equal(sig, doc_sig);
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, doc_sig, doc_body,
					  strlen(doc_body), 1531420618),
			 SLACK_SIG_OK);
	/* within five minutes either way */
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, doc_sig, doc_body,
					  strlen(doc_body), 1531420618 + 300),
			 SLACK_SIG_OK);
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, doc_sig, doc_body,
					  strlen(doc_body), 1531420618 - 300),
			 SLACK_SIG_OK);
}

static void
test_sig_forged_and_stale(void **state)
{
	char forged[] = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd2751"
			"9666489c69b504";
	char v1[sizeof(doc_sig)];
	size_t n = strlen(doc_body);

	(void)state;
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, forged, doc_body,
					  n, 1531420618),
			 SLACK_SIG_BAD);
	/* a body changed by one byte */
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, doc_sig, doc_body,
					  n - 1, 1531420618),
			 SLACK_SIG_BAD);
	/* the wrong secret */
	assert_int_equal(slack_sig_verify("8f742231b10e8888abcd99yyyzzz85a6",
					  doc_ts, doc_sig, doc_body, n,
					  1531420618),
			 SLACK_SIG_BAD);
	/* truncated, empty, other versions */
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, "v0=a2114d57",
					  doc_body, n, 1531420618),
			 SLACK_SIG_BAD);
	assert_int_equal(
	    slack_sig_verify(doc_secret, doc_ts, "", doc_body, n, 1531420618),
	    SLACK_SIG_BAD);
	memcpy(v1, doc_sig, sizeof(doc_sig));
	v1[1] = '1';
	assert_int_equal(
	    slack_sig_verify(doc_secret, doc_ts, v1, doc_body, n, 1531420618),
	    SLACK_SIG_BAD);
	/* stale: more than five minutes off, both ways; today */
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, doc_sig, doc_body,
					  n, 1531420618 + 301),
			 SLACK_SIG_STALE);
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, doc_sig, doc_body,
					  n, 1531420618 - 301),
			 SLACK_SIG_STALE);
	assert_int_equal(slack_sig_verify(doc_secret, doc_ts, doc_sig, doc_body,
					  n, test_clock),
			 SLACK_SIG_STALE);
	/* malformed timestamps never verify */
	assert_int_equal(slack_sig_verify(doc_secret, "1531420618x", doc_sig,
					  doc_body, n, 1531420618),
			 SLACK_SIG_STALE);
	assert_int_equal(
	    slack_sig_verify(doc_secret, "", doc_sig, doc_body, n, 1531420618),
	    SLACK_SIG_STALE);
	assert_int_equal(slack_sig_verify(doc_secret, "-1531420618", doc_sig,
					  doc_body, n, 1531420618),
			 SLACK_SIG_STALE);
	assert_int_equal(slack_sig_verify(doc_secret, NULL, doc_sig, doc_body,
					  n, 1531420618),
			 SLACK_SIG_MISSING);
	assert_int_equal(
	    slack_sig_verify(doc_secret, doc_ts, NULL, doc_body, n, 1531420618),
	    SLACK_SIG_MISSING);
	assert_string_equal(slack_sig_reason(SLACK_SIG_BAD), "forged");
}

static void
test_form_decode(void **state)
{
	json_t *f;
	struct buf b = {0};

	(void)state;
	f = slack_form_decode(doc_body, strlen(doc_body));
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "command")),
			    "/webhook-collect");
	assert_string_equal(json_string_value(json_object_get(f, "text")), "");
	assert_string_equal(
	    json_string_value(json_object_get(f, "response_url")),
	    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/"
	    "96rGlfmibIGlgcZRskXaIFfN");
	json_decref(f);
	f = slack_form_decode("text=a+b%20c%C3%A9&x&y=1&y=2&&", 29);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "text")),
			    "a b c\xc3\xa9");
	assert_string_equal(json_string_value(json_object_get(f, "x")), "");
	assert_string_equal(json_string_value(json_object_get(f, "y")), "1");
	/* round trip */
	slack_form_encode(&b, f);
	assert_string_equal(buf_str(&b), "text=a%20b%20c%C3%A9&x=&y=1");
	json_decref(f);
	buf_free(&b);
	/* bad escapes, NUL, invalid UTF-8 */
	assert_null(slack_form_decode("a=%zz", 5));
	assert_null(slack_form_decode("a=%4", 4));
	assert_null(slack_form_decode("a=%00", 5));
	assert_null(slack_form_decode("a=%ff", 5));
	assert_null(slack_form_decode("a=b\0c", 5));
	f = slack_form_decode("", 0);
	assert_int_equal(json_object_size(f), 0);
	json_decref(f);
}

static void
test_envelopes(void **state)
{
	struct slack_envelope env;
	static const char hello[] =
	    "{\"type\":\"hello\",\"num_connections\":1,\"connection_info\":"
	    "{\"app_id\":\"A1\"}}";
	static const char disc[] = "{\"type\":\"disconnect\",\"reason\":"
				   "\"refresh_requested\"}";
	static const char slash[] =
	    "{\"envelope_id\":\"e-1\",\"type\":\"slash_commands\","
	    "\"accepts_response_payload\":true,\"retry_attempt\":2,"
	    "\"payload\":{\"user_id\":\"U0ALICE\",\"channel_id\":\"C1\","
	    "\"command\":\"/incident\",\"text\":\"Phishing &amp; more\","
	    "\"response_url\":\"http://x/response/1\"}}";

	(void)state;
	assert_int_equal(slack_envelope_parse(hello, strlen(hello), &env), 0);
	assert_string_equal(env.type, "hello");
	assert_null(env.envelope_id);
	slack_envelope_free(&env);
	assert_int_equal(slack_envelope_parse(disc, strlen(disc), &env), 0);
	assert_string_equal(env.reason, "refresh_requested");
	slack_envelope_free(&env);
	assert_int_equal(slack_envelope_parse(slash, strlen(slash), &env), 0);
	assert_string_equal(env.envelope_id, "e-1");
	assert_int_equal(env.retry_attempt, 2);
	assert_non_null(env.payload);
	slack_envelope_free(&env);
	assert_int_equal(slack_envelope_parse("[]", 2, &env), -1);
	assert_int_equal(slack_envelope_parse("{}", 2, &env), -1);
	assert_int_equal(slack_envelope_parse("{\"type\":1}", 10, &env), -1);
	assert_int_equal(slack_envelope_parse("{\"type\":\"x\",\"envelope_id\""
					      ":\"a b\"}",
					      34, &env),
			 -1);
	assert_int_equal(slack_envelope_parse("{", 1, &env), -1);
}

/* Parses a payload of type from JSON text, returns the loaded root. */
static json_t *
parse(const char *type, const char *text, struct slack_in *in, int want)
{
	json_t *p = json_loads(text, 0, NULL);

	assert_non_null(p);
	assert_int_equal(slack_in_parse(type, p, "U0BOT", in), want);
	return p;
}

static void
test_slash_payload(void **state)
{
	struct slack_in in;
	struct buf cmd = {0};
	json_t *p;

	(void)state;
	p = parse("slash_commands",
		  "{\"user_id\":\"U0ALICE\",\"channel_id\":\"C1\",\"command\":"
		  "\"/incident\",\"text\":\"Mail from <mailto:x@evil.example|"
		  "x@evil.example> &lt;urgent&gt; \",\"response_url\":\"u\","
		  "\"trigger_id\":\"t1\"}",
		  &in, 0);
	assert_int_equal(in.kind, SLACK_IN_COMMAND);
	assert_true(in.shared);
	assert_string_equal(in.user, "U0ALICE");
	assert_string_equal(in.trigger_id, "t1");
	assert_int_equal(slack_in_command(&in, "U0BOT", &cmd), 0);
	assert_string_equal(buf_str(&cmd),
			    "/incident Mail from x@evil.example <urgent>");
	json_decref(p);
	/* a DM, no text */
	p = parse("slash_commands",
		  "{\"user_id\":\"U0ALICE\",\"channel_id\":\"D1\",\"command\":"
		  "\"/isms\"}",
		  &in, 0);
	assert_false(in.shared);
	assert_int_equal(slack_in_command(&in, "U0BOT", &cmd), 0);
	assert_string_equal(buf_str(&cmd), "/isms ");
	json_decref(p);
	p = parse("slash_commands", "{\"command\":\"/isms\"}", &in, -1);
	json_decref(p);
	buf_free(&cmd);
}

static void
test_block_actions(void **state)
{
	struct slack_in in;
	struct buf cmd = {0};
	json_t *p;
	static const char fmt[] =
	    "{\"type\":\"block_actions\",\"user\":{\"id\":\"U0CAROL\"},"
	    "\"container\":{\"type\":\"message\",\"message_ts\":\"1.2\","
	    "\"channel_id\":\"D9\"},\"channel\":{\"id\":\"D9\"},"
	    "\"response_url\":\"http://r\",\"actions\":[{\"action_id\":"
	    "\"%s\",\"value\":\"%s\"}]}";
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), fmt, "isms_approve", "APR-7");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(in.kind, SLACK_IN_ACTION);
	assert_false(in.shared);
	assert_string_equal(in.ts, "1.2");
	assert_string_equal(in.channel, "D9");
	assert_int_equal(slack_in_command(&in, NULL, &cmd), 0);
	assert_string_equal(buf_str(&cmd), "approve APR-7");
	json_decref(p);
	snprintf(text, sizeof(text), fmt, "isms_reject", "apr-7");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), 1);
	assert_string_equal(buf_str(&cmd), "APR-7");
	json_decref(p);
	snprintf(text, sizeof(text), fmt, "isms_quiz", "3:q12:2");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), 0);
	assert_string_equal(buf_str(&cmd), "quiz answer QZ-3 q12 2");
	json_decref(p);
	/* the numbered action ids of the buttons are routed by prefix */
	snprintf(text, sizeof(text), fmt, "isms_quiz:2", "3:q12:2");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), 0);
	assert_string_equal(buf_str(&cmd), "quiz answer QZ-3 q12 2");
	json_decref(p);
	/* a button whose id and value disagree, or another id, runs nothing */
	snprintf(text, sizeof(text), fmt, "isms_quiz:3", "3:q12:2");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), -1);
	json_decref(p);
	snprintf(text, sizeof(text), fmt, "isms_quizzes", "3:q12:2");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), -1);
	json_decref(p);
	/* malformed values run nothing */
	snprintf(text, sizeof(text), fmt, "isms_approve", "APR-x; drop");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), -1);
	json_decref(p);
	snprintf(text, sizeof(text), fmt, "isms_quiz", "3:q 1:2");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), -1);
	json_decref(p);
	snprintf(text, sizeof(text), fmt, "other_app", "APR-1");
	p = parse("interactive", text, &in, 0);
	assert_int_equal(slack_in_command(&in, NULL, &cmd), -1);
	json_decref(p);
	/* other interaction types are ignored */
	p = parse("interactive", "{\"type\":\"view_submission\"}", &in, 0);
	assert_int_equal(in.kind, SLACK_IN_IGNORE);
	json_decref(p);
	buf_free(&cmd);
}

static const char event_fmt[] =
    "{\"type\":\"event_callback\",\"event_id\":\"Ev1\",\"event\":{"
    "\"type\":\"message\",\"channel\":\"%s\",\"user\":\"U0ALICE\","
    "\"text\":\"%s\",\"ts\":\"5.6\",\"channel_type\":\"%s\"%s}}";

static void
test_events(void **state)
{
	struct slack_in in;
	struct buf cmd = {0};
	char text[512];
	json_t *p;

	(void)state;
	snprintf(text, sizeof(text), event_fmt, "D1", "incident list", "im",
		 ",\"thread_ts\":\"1.0\"");
	p = parse("events_api", text, &in, 0);
	assert_int_equal(in.kind, SLACK_IN_MESSAGE);
	assert_false(in.shared);
	assert_string_equal(in.event_id, "Ev1");
	assert_string_equal(in.thread_ts, "1.0");
	assert_int_equal(slack_in_command(&in, "U0BOT", &cmd), 0);
	assert_string_equal(buf_str(&cmd), "incident list");
	json_decref(p);
	/* a mention of the app in a channel */
	snprintf(text, sizeof(text), event_fmt, "C1",
		 "<@U0BOT>: incident show INC-1", "channel", "");
	p = parse("events_api", text, &in, 0);
	assert_true(in.shared);
	assert_true(in.mentioned);
	assert_int_equal(slack_in_command(&in, "U0BOT", &cmd), 0);
	assert_string_equal(buf_str(&cmd), "incident show INC-1");
	json_decref(p);
	/* subtypes, bots, our own messages, other events: ignored */
	snprintf(text, sizeof(text), event_fmt, "D1", "x", "im",
		 ",\"subtype\":\"message_changed\"");
	json_decref(parse("events_api", text, &in, 0));
	assert_int_equal(in.kind, SLACK_IN_IGNORE);
	snprintf(text, sizeof(text), event_fmt, "D1", "x", "im",
		 ",\"subtype\":\"thread_broadcast\"");
	json_decref(parse("events_api", text, &in, 0));
	assert_int_equal(in.kind, SLACK_IN_IGNORE);
	snprintf(text, sizeof(text), event_fmt, "D1", "x", "im",
		 ",\"bot_id\":\"B1\"");
	json_decref(parse("events_api", text, &in, 0));
	assert_int_equal(in.kind, SLACK_IN_IGNORE);
	assert_string_equal(in.why, "message from a bot");
	p = parse("events_api",
		  "{\"type\":\"event_callback\",\"event_id\":\"Ev2\",\"event\":"
		  "{\"type\":\"message\",\"channel\":\"D1\",\"user\":\"U0BOT\","
		  "\"text\":\"hi\",\"ts\":\"1.1\"}}",
		  &in, 0);
	assert_int_equal(in.kind, SLACK_IN_IGNORE);
	assert_string_equal(in.why, "our own message");
	json_decref(p);
	p = parse("events_api",
		  "{\"type\":\"event_callback\",\"event_id\":\"Ev3\",\"event\":"
		  "{\"type\":\"reaction_added\"}}",
		  &in, 0);
	assert_int_equal(in.kind, SLACK_IN_IGNORE);
	json_decref(p);
	p = parse("events_api",
		  "{\"type\":\"url_verification\",\"challenge\":\"abc\"}", &in,
		  0);
	assert_int_equal(in.kind, SLACK_IN_CHALLENGE);
	assert_string_equal(in.challenge, "abc");
	json_decref(p);
	/* malformed */
	json_decref(
	    parse("events_api", "{\"type\":\"event_callback\"}", &in, -1));
	json_decref(parse("events_api",
			  "{\"type\":\"event_callback\",\"event_id\":\"E\","
			  "\"event\":{\"type\":\"message\",\"user\":\"U1\","
			  "\"text\":\"x\"}}",
			  &in, -1));
	assert_int_equal(slack_in_parse("events_api", NULL, NULL, &in), -1);
	buf_free(&cmd);
}

static void
test_decision_text(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(slack_decision_text("Approve", 3, &b), 1);
	assert_string_equal(buf_str(&b), "approve APR-3");
	assert_int_equal(
	    slack_decision_text("  REJECT: not enough detail", 3, &b), 1);
	assert_string_equal(buf_str(&b), "reject APR-3 not enough detail");
	assert_int_equal(slack_decision_text("approve apr-9 fine", 3, &b), 1);
	assert_string_equal(buf_str(&b), "approve apr-9 fine");
	assert_int_equal(slack_decision_text("approved already?", 3, &b), 0);
	assert_int_equal(slack_decision_text("incident list", 3, &b), 0);
	assert_int_equal(slack_decision_text("", 3, &b), 0);
	buf_free(&b);
}

static void
test_unformat_and_escape(void **state)
{
	struct buf b = {0};

	(void)state;
	slack_unformat("a &amp; b &lt;c&gt; <@U1|al> <#C1|gen> "
		       "<https://x.example/?a=1&amp;b=2|x> <mailto:a@b.c> "
		       "<oops",
		       &b);
	assert_string_equal(buf_str(&b), "a & b <c> <@U1|al> <#C1|gen> "
					 "https://x.example/?a=1&b=2 a@b.c "
					 "<oops");
	buf_reset(&b);
	slack_escape(&b, "x < y && z > 1 <@U1>");
	assert_string_equal(buf_str(&b),
			    "x &lt; y &amp;&amp; z &gt; 1 &lt;@U1&gt;");
	buf_reset(&b);
	slack_reply_text(&b, "usage: reject APR-1 <reason>", 1);
	assert_string_equal(buf_str(&b),
			    ":warning: usage: reject APR-1 &lt;reason&gt;");
	buf_free(&b);
}

/* The block of type in blocks, or NULL. */
static json_t *
block(json_t *msg, const char *type)
{
	json_t *blocks = json_object_get(msg, "blocks"), *b;
	size_t i;

	for (i = 0; i < json_array_size(blocks); i++) {
		b = json_array_get(blocks, i);
		if (strcmp(json_string_value(json_object_get(b, "type")),
			   type) == 0)
			return b;
	}
	return NULL;
}

static void
test_render_approval(void **state)
{
	json_t *m, *acts, *el, *again;
	char *text;

	(void)state;
	m = slack_render_post(
	    "D1", NULL, MSG_APPROVAL, "Approval needed APR-4: Close INC-1",
	    "bob asks <you> & carol", "{\"approval\":4,\"object\":\"INC-1\"}");
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "channel")),
			    "D1");
	assert_string_equal(json_string_value(json_object_get(m, "text")),
			    "*Approval needed APR-4: Close INC-1*\nbob asks "
			    "&lt;you&gt; &amp; carol");
	acts = block(m, "actions");
	assert_non_null(acts);
	assert_int_equal(json_array_size(json_object_get(acts, "elements")), 2);
	el = json_array_get(json_object_get(acts, "elements"), 0);
	assert_string_equal(json_string_value(json_object_get(el, "action_id")),
			    "isms_approve");
	assert_string_equal(json_string_value(json_object_get(el, "value")),
			    "APR-4");
	el = json_array_get(json_object_get(acts, "elements"), 1);
	assert_string_equal(json_string_value(json_object_get(el, "action_id")),
			    "isms_reject");
	assert_string_equal(json_string_value(json_object_get(el, "style")),
			    "danger");
	assert_non_null(block(m, "section"));
	/* valid JSON that survives a round trip */
	text = json_dumps(m, JSON_COMPACT);
	again = json_loads(text, 0, NULL);
	assert_non_null(again);
	assert_true(json_equal(m, again));
	json_decref(again);
	free(text);
	json_decref(m);
	/* a notice: text only, in a thread */
	m = slack_render_post("D1", "9.9", MSG_NOTICE, "Hello", "", NULL);
	assert_null(json_object_get(m, "blocks"));
	assert_string_equal(json_string_value(json_object_get(m, "thread_ts")),
			    "9.9");
	assert_string_equal(json_string_value(json_object_get(m, "text")),
			    "*Hello*");
	json_decref(m);
	/* an approval whose payload lacks the id gets no buttons */
	m = slack_render_post("D1", NULL, MSG_APPROVAL, "x", "y", "{}");
	assert_null(json_object_get(m, "blocks"));
	json_decref(m);
}

static void
test_render_quiz_and_limits(void **state)
{
	json_t *m, *els;
	struct buf big = {0};
	size_t i;

	(void)state;
	m = slack_render_post("D1", NULL, MSG_QUIZ, "Quiz QZ-2, question 1",
			      "Which is safest?",
			      "{\"campaign\":2,\"question\":\"q7\",\"options\":"
			      "[\"A long passphrase\",\"Post-it\",\"1234\"]}");
	els = json_object_get(block(m, "actions"), "elements");
	assert_int_equal(json_array_size(els), 3);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(els, 1), "value")),
	    "2:q7:2");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(els, 1), "action_id")),
			    "isms_quiz:2");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_array_get(els, 0), "text"), "text")),
	    "1. A long passphrase");
	json_decref(m);
	/* the scheduler's own payload shape: "quiz": "QZ-n" */
	m = slack_render_post(
	    "D1", NULL, MSG_QUIZ, "Security quiz QZ-4", "Which?",
	    "{\"quiz\":\"QZ-4\",\"question\":\"phish-02\","
	    "\"options\":[\"a\",\"b\",\"c\",\"d\"],"
	    "\"answer_token\":\"t\",\"number\":1,\"total\":2}");
	els = json_object_get(block(m, "actions"), "elements");
	assert_int_equal(json_array_size(els), 4);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(els, 3), "value")),
	    "4:phish-02:4");
	json_decref(m);
	/* long text is cut at a character boundary; invalid UTF-8 repaired */
	for (i = 0; i < 30000; i++)
		buf_puts(&big, "\xc3\xa9");
	buf_puts(&big, "\xff");
	m = slack_render_post("D1", NULL, MSG_APPROVAL, "s", big.data,
			      "{\"approval\":1}");
	assert_non_null(m);
	assert_true(slack_text_len(json_string_value(
			json_object_get(m, "text"))) <= SLACK_TEXT_MAX);
	assert_true(slack_text_len(json_string_value(json_object_get(
			json_object_get(block(m, "section"), "text"),
			"text"))) <= SLACK_SECTION_MAX);
	assert_non_null(
	    strstr(json_string_value(json_object_get(
		       json_object_get(block(m, "section"), "text"), "text")),
		   "\xc3\xa9... see /isms approvals"));
	assert_non_null(
	    strstr(json_string_value(json_object_get(m, "text")), "?"));
	json_decref(m);
	buf_free(&big);
}

static void
test_render_decided_ack_ephemeral(void **state)
{
	json_t *m, *j;
	char *ack;

	(void)state;
	m = slack_render_decided("D1", "1.5", "Approval needed APR-1: x",
				 "APR-1 approved by carol: x", "approved");
	assert_string_equal(json_string_value(json_object_get(m, "ts")), "1.5");
	assert_null(block(m, "actions"));
	assert_non_null(strstr(json_string_value(json_object_get(m, "text")),
			       "approved by carol"));
	json_decref(m);
	ack = slack_render_ack("env-1", slack_render_ephemeral("a<b", 0));
	j = json_loads(ack, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(j, "envelope_id")), "env-1");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(j, "payload"), "text")),
			    "a&lt;b");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "payload"),
					      "response_type")),
	    "ephemeral");
	json_decref(j);
	free(ack);
	ack = slack_render_ack("env-2", NULL);
	assert_string_equal(ack, "{\"envelope_id\":\"env-2\"}");
	free(ack);
}

static void
test_http_payload(void **state)
{
	const char *type;
	json_t *p;
	static const char inter[] =
	    "payload=%7B%22type%22%3A%22block_actions%22%7D";
	static const char challenge[] = "{\"type\":\"url_verification\"}";

	(void)state;
	p = slack_http_payload("application/x-www-form-urlencoded", doc_body,
			       strlen(doc_body), &type);
	assert_string_equal(type, "slash_commands");
	json_decref(p);
	p = slack_http_payload("application/x-www-form-urlencoded", inter,
			       strlen(inter), &type);
	assert_string_equal(type, "interactive");
	assert_string_equal(json_string_value(json_object_get(p, "type")),
			    "block_actions");
	json_decref(p);
	p = slack_http_payload("application/json; charset=utf-8", challenge,
			       strlen(challenge), &type);
	assert_string_equal(type, "events_api");
	json_decref(p);
	assert_null(slack_http_payload("text/plain", "x", 1, &type));
	assert_null(slack_http_payload("application/json", "[1]", 3, &type));
	assert_null(slack_http_payload(NULL, "", 0, &type));
}

static void
test_classify_and_listen(void **state)
{
	const char *e;
	json_t *b;
	char host[64];
	int port;

	(void)state;
	b = json_loads("{\"ok\":true}", 0, NULL);
	assert_int_equal(slack_api_classify(200, b, &e), SLACK_API_OK);
	json_decref(b);
	b = json_loads("{\"ok\":false,\"error\":\"token_revoked\"}", 0, NULL);
	assert_int_equal(slack_api_classify(200, b, &e), SLACK_API_AUTH);
	assert_string_equal(e, "token_revoked");
	json_decref(b);
	b = json_loads("{\"ok\":false,\"error\":\"internal_error\"}", 0, NULL);
	assert_int_equal(slack_api_classify(200, b, &e), SLACK_API_TRANSIENT);
	json_decref(b);
	b = json_loads("{\"ok\":false,\"error\":\"channel_not_found\"}", 0,
		       NULL);
	assert_int_equal(slack_api_classify(200, b, &e), SLACK_API_FAILED);
	assert_string_equal(e, "channel_not_found");
	json_decref(b);
	assert_int_equal(slack_api_classify(429, NULL, &e),
			 SLACK_API_RATELIMITED);
	assert_int_equal(slack_api_classify(503, NULL, &e),
			 SLACK_API_TRANSIENT);
	assert_int_equal(slack_api_classify(0, NULL, &e), SLACK_API_TRANSIENT);
	assert_int_equal(slack_api_classify(404, NULL, &e), SLACK_API_FAILED);

	assert_int_equal(
	    slack_parse_listen("127.0.0.1:3000", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 3000);
	assert_int_equal(
	    slack_parse_listen("[::1]:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(
	    slack_parse_listen("::1:3000", host, sizeof(host), &port), -1);
	assert_int_equal(slack_parse_listen("host", host, sizeof(host), &port),
			 -1);
	assert_int_equal(slack_parse_listen(":80", host, sizeof(host), &port),
			 -1);
	assert_int_equal(
	    slack_parse_listen("a:99999", host, sizeof(host), &port), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sig_documented_example),
	    cmocka_unit_test(test_sig_forged_and_stale),
	    cmocka_unit_test(test_form_decode),
	    cmocka_unit_test(test_envelopes),
	    cmocka_unit_test(test_slash_payload),
	    cmocka_unit_test(test_block_actions),
	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_decision_text),
	    cmocka_unit_test(test_unformat_and_escape),
	    cmocka_unit_test(test_render_approval),
	    cmocka_unit_test(test_render_quiz_and_limits),
	    cmocka_unit_test(test_render_decided_ack_ephemeral),
	    cmocka_unit_test(test_http_payload),
	    cmocka_unit_test(test_classify_and_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
