/*
 * Every message the outbox can carry, rendered for Slack with ordinary,
 * at-the-limit, over-long, multi-byte and mention-laden texts, must pass
 * Slack's Block Kit rules: checked here by a validator of its own, written
 * from Slack's published limits, independent of the renderer's constants.
 */
#include "testutil.h"

#include "../../adapters/slack_proto.h"

/* Slack's published limits (characters as UTF-16 code units). */
enum {
	LIM_TEXT = 40000,
	LIM_BLOCKS = 50,
	LIM_ACTIONS = 25,
	LIM_CONTEXT = 10,
	LIM_SECTION = 3000,
	LIM_HEADER = 150,
	LIM_BUTTON_TEXT = 75,
	LIM_BUTTON_VALUE = 2000,
	LIM_ID = 255,
};

/* UTF-16 code units of valid UTF-8 s; -1 when s is not valid UTF-8. */
static long
units(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p != '\0') {
		int k = *p < 0x80   ? 1
			: *p < 0xc2 ? 0
			: *p < 0xe0 ? 2
			: *p < 0xf0 ? 3
			: *p < 0xf5 ? 4
				    : 0;
		int i;

		if (k == 0)
			return -1;
		for (i = 1; i < k; i++)
			if ((p[i] & 0xc0) != 0x80)
				return -1;
		n += k == 4 ? 2 : 1;
		p += k;
	}
	return n;
}

struct verdict {
	char why[256];
};

static int
bad(struct verdict *v, const char *what, const char *ptr)
{
	if (v->why[0] == '\0')
		snprintf(v->why, sizeof(v->why), "%s at %s", what, ptr);
	return -1;
}

/*
 * mrkdwn and the fallback text: nothing a person typed may become a
 * mention, a link or a broken entity, so there is no '<' at all and every
 * '&' starts &amp; &lt; or &gt;.
 */
static int
escaped(const char *s, struct verdict *v, const char *ptr)
{
	const char *p;

	if (strchr(s, '<') != NULL || strchr(s, '>') != NULL)
		return bad(v, "unescaped < or >", ptr);
	for (p = strchr(s, '&'); p != NULL; p = strchr(p + 1, '&'))
		if (strncmp(p, "&amp;", 5) != 0 && strncmp(p, "&lt;", 4) != 0 &&
		    strncmp(p, "&gt;", 4) != 0)
			return bad(v, "bare &", ptr);
	return 0;
}

static int
text_obj(json_t *t, long max, int plain_only, struct verdict *v,
	 const char *ptr)
{
	const char *type = json_string_value(json_object_get(t, "type"));
	const char *text = json_string_value(json_object_get(t, "text"));
	long n;

	if (!json_is_object(t) || type == NULL)
		return bad(v, "text object without a type", ptr);
	if (strcmp(type, "plain_text") != 0 &&
	    (plain_only || strcmp(type, "mrkdwn") != 0))
		return bad(v, "wrong text type", ptr);
	if (text == NULL || *text == '\0')
		return bad(v, "empty text", ptr);
	n = units(text);
	if (n < 0 || n > max)
		return bad(v, "text too long or not UTF-8", ptr);
	if (strcmp(type, "mrkdwn") == 0)
		return escaped(text, v, ptr);
	return 0;
}

/* A string id of 1..255 characters not in seen (then added to it). */
static int
ident(json_t *id, json_t *seen, struct verdict *v, const char *ptr)
{
	const char *s = json_string_value(id);

	if (s == NULL || *s == '\0' || units(s) > LIM_ID)
		return bad(v, "bad id", ptr);
	if (json_object_get(seen, s) != NULL)
		return bad(v, "id already exists", ptr);
	json_object_set_new(seen, s, json_true());
	return 0;
}

static int
element(json_t *el, json_t *action_ids, struct verdict *v, const char *ptr)
{
	const char *type = json_string_value(json_object_get(el, "type"));
	const char *value = json_string_value(json_object_get(el, "value"));
	const char *style = json_string_value(json_object_get(el, "style"));

	if (type == NULL || strcmp(type, "button") != 0)
		return bad(v, "unexpected element", ptr);
	if (ident(json_object_get(el, "action_id"), action_ids, v, ptr) < 0 ||
	    text_obj(json_object_get(el, "text"), LIM_BUTTON_TEXT, 1, v, ptr) <
		0)
		return -1;
	if (value == NULL || units(value) > LIM_BUTTON_VALUE)
		return bad(v, "button value", ptr);
	if (style != NULL && strcmp(style, "primary") != 0 &&
	    strcmp(style, "danger") != 0)
		return bad(v, "button style", ptr);
	return 0;
}

static int
block(json_t *b, json_t *block_ids, struct verdict *v, const char *ptr)
{
	const char *type = json_string_value(json_object_get(b, "type"));
	json_t *els = json_object_get(b, "elements"), *e, *action_ids;
	json_t *bid = json_object_get(b, "block_id");
	size_t i;
	int rc = 0;

	if (type == NULL)
		return bad(v, "block without a type", ptr);
	if (bid != NULL && ident(bid, block_ids, v, ptr) < 0)
		return -1;
	if (strcmp(type, "section") == 0)
		return text_obj(json_object_get(b, "text"), LIM_SECTION, 0, v,
				ptr);
	if (strcmp(type, "header") == 0)
		return text_obj(json_object_get(b, "text"), LIM_HEADER, 1, v,
				ptr);
	if (strcmp(type, "context") == 0) {
		if (!json_is_array(els) || json_array_size(els) == 0 ||
		    json_array_size(els) > LIM_CONTEXT)
			return bad(v, "context elements", ptr);
		json_array_foreach(els, i, e)
		{
			if (rc == 0)
				rc = text_obj(e, LIM_SECTION, 0, v, ptr);
		}
		return rc;
	}
	if (strcmp(type, "actions") != 0)
		return bad(v, "unexpected block type", ptr);
	if (!json_is_array(els) || json_array_size(els) == 0 ||
	    json_array_size(els) > LIM_ACTIONS)
		return bad(v, "actions elements", ptr);
	action_ids = json_object(); /* unique within the block */
	json_array_foreach(els, i, e)
	{
		if (rc == 0)
			rc = element(e, action_ids, v, ptr);
	}
	json_decref(action_ids);
	return rc;
}

/* The message passes every rule; 0, or -1 with v->why. */
static int
validate(json_t *m, struct verdict *v)
{
	json_t *blocks, *b, *block_ids;
	const char *text;
	size_t i;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	if (!json_is_object(m))
		return bad(v, "no message (rendering failed)", "/");
	text = json_string_value(json_object_get(m, "text"));
	if (text == NULL || *text == '\0')
		return bad(v, "no fallback text", "/");
	if (units(text) < 0 || units(text) > LIM_TEXT)
		return bad(v, "fallback text too long", "/");
	if (escaped(text, v, "/text") < 0)
		return -1;
	blocks = json_object_get(m, "blocks");
	if (blocks == NULL)
		return 0;
	if (!json_is_array(blocks) || json_array_size(blocks) > LIM_BLOCKS)
		return bad(v, "too many blocks", "/");
	block_ids = json_object(); /* unique within the message */
	json_array_foreach(blocks, i, b)
	{
		char ptr[32];

		snprintf(ptr, sizeof(ptr), "/blocks/%zu", i);
		if (rc == 0)
			rc = block(b, block_ids, v, ptr);
	}
	json_decref(block_ids);
	return rc;
}

/* ---------------------------------------------------------------- inputs */

/* Texts a person may have typed, or long records. Built once. */
enum {
	T_PLAIN,
	T_MENTIONS,
	T_AT_LIMIT,   /* the section exactly full */
	T_OVER_LIMIT, /* one character more */
	T_EMOJI_CUT,  /* a 4-byte emoji across the section's limit */
	T_EMOJI_LONG, /* over the message limit in emoji */
	T_ACCENTS,    /* 2-byte characters beyond every limit */
	T_ENTITIES,   /* an entity across the cut point */
	T_BAD_UTF8,
	T_COUNT
};

static char *texts[T_COUNT];

static char *
repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
	struct buf b = {0};
	size_t i;

	buf_puts(&b, prefix);
	for (i = 0; i < n; i++)
		buf_puts(&b, unit);
	buf_puts(&b, suffix);
	return buf_steal(&b);
}

/*
 * The section holds "*<subject>*\n<body>"; with the subject "S INC-3" (7
 * characters) the body has 3000 - 10 = 2990 characters of room.
 */
#define SUBJ   "S INC-3"
#define ROOM   (LIM_SECTION - 10)
#define EMOJI  "\xf0\x9f\x98\x80" /* U+1F600, two UTF-16 units */
#define ACCENT "\xc3\xa9"

static int
inputs_setup(void **state)
{
	(void)state;
	texts[T_PLAIN] = xstrdup("Phishing mail asking for my VPN password");
	texts[T_MENTIONS] =
	    xstrdup("<!channel> <!here> <!everyone> <@U0BOB> <#C0GEN|general> "
		    "<https://evil.example|click> &amp; a & b < c > d");
	texts[T_AT_LIMIT] = repeat("", "x", ROOM, "");
	texts[T_OVER_LIMIT] = repeat("", "x", ROOM + 1, "");
	texts[T_EMOJI_CUT] = repeat("", "x", ROOM - 40, "");
	{
		char *tail = repeat(texts[T_EMOJI_CUT], EMOJI, 100, "");

		free(texts[T_EMOJI_CUT]);
		texts[T_EMOJI_CUT] = tail;
	}
	texts[T_EMOJI_LONG] = repeat("", EMOJI, 25000, "");
	texts[T_ACCENTS] = repeat("", ACCENT, 45000, "");
	texts[T_ENTITIES] = repeat("", "&", 3000, "");
	texts[T_BAD_UTF8] =
	    xstrdup("broken \xff\xfe bytes \xc3 and \xed\xa0\x80 "
		    "a surrogate");
	return 0;
}

static int
inputs_teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < T_COUNT; i++)
		free(texts[i]);
	return 0;
}

/* Every kind the outbox carries, with the payload its producer attaches. */
static const struct {
	enum msg_kind kind;
	const char *subject, *payload;
} kinds[] = {
    {MSG_INCIDENT, "New incident INC-3 [high]", NULL},
    {MSG_APPROVAL, "Approval needed APR-2: close INC-3",
     "{\"approval\":2,\"object\":\"INC-3\"}"},
    {MSG_DECISION, "APR-2 approved by erik: close INC-3",
     "{\"approval\":2,\"decision\":\"approved\"}"},
    {MSG_QUIZ, "Security quiz QZ-4, question 1 of 3",
     "{\"quiz\":\"QZ-4\",\"question\":\"phish-02\",\"options\":"
     "[\"Report it\",\"Click\",\"Forward\",\"Ignore\"],\"answer_token\":\"t\","
     "\"number\":1,\"total\":3}"},
    {MSG_QUIZ, "Reminder: QZ-4 waits for your answers",
     "{\"quiz\":\"QZ-4\",\"question\":\"phish-02\",\"options\":"
     "[\"Report it\",\"Click\",\"Forward\",\"Ignore\"]}"},
    {MSG_APPROVAL, "Reminder: APR-2 waits for your decision",
     "{\"approval\":2,\"object\":\"INC-3\"}"},
    {MSG_NUDGE, "Risk review due on 2026-12-01: RSK-4 Office flooding", NULL},
    {MSG_NUDGE, "Action overdue (due 2026-11-30): ACT-2 Roll out MFA", NULL},
    {MSG_NUDGE, "Please read and acknowledge DOC-1: Acceptable use", NULL},
    {MSG_NUDGE, "Overdue action of bob (due 2026-11-30): ACT-2", NULL},
    {MSG_NUDGE, "Management review MR-1 is planned for 2026-12-10", NULL},
    {MSG_NUDGE, "Audit plan: no audit planned for 2027", NULL},
    {MSG_NOTICE, "APR-2 is still waiting; escalated to dana", NULL},
    {MSG_REGISTER, "RSK-4 assigned to you: Office flooding", NULL},
    {MSG_REPORT, "ISMS report for December 2026", "{}"},
    {MSG_REPLY, "Re: your mail", NULL},
};

static void
expect_valid(json_t *m, const char *what, size_t kind, int t_subj, int t_body)
{
	struct verdict v;

	if (validate(m, &v) < 0)
		fail_msg(
		    "%s of kind %zu (%s), subject text %d, body text %d: %s",
		    what, kind, msg_kind_name(kinds[kind].kind), t_subj, t_body,
		    v.why);
}

/* The section's text of a rendered post, or NULL. */
static const char *
section_text(json_t *m)
{
	json_t *b0 = json_array_get(json_object_get(m, "blocks"), 0);

	return json_string_value(
	    json_object_get(json_object_get(b0, "text"), "text"));
}

/* Every kind, with every text as the body and as the subject. */
static void
test_every_kind_every_text(void **state)
{
	size_t k;
	int t;

	(void)state;
	for (k = 0; k < ARRAY_LEN(kinds); k++)
		for (t = 0; t < T_COUNT; t++) {
			json_t *m = slack_render_post(
			    "D0CAROL", t % 2 ? "1.2" : NULL, kinds[k].kind,
			    kinds[k].subject, texts[t], kinds[k].payload);

			expect_valid(m, "post", k, -1, t);
			json_decref(m);
			m = slack_render_post(
			    "D0CAROL", NULL, kinds[k].kind, texts[t],
			    texts[(t + 3) % T_COUNT], kinds[k].payload);
			expect_valid(m, "post", k, t, (t + 3) % T_COUNT);
			json_decref(m);
		}
}

/* Approvals and quizzes do get their buttons, with unique action ids. */
static void
test_buttons_present(void **state)
{
	json_t *m, *els;

	(void)state;
	m = slack_render_post("D1", NULL, MSG_QUIZ, kinds[3].subject, "Which?",
			      kinds[3].payload);
	els = json_object_get(json_array_get(json_object_get(m, "blocks"), 1),
			      "elements");
	assert_int_equal(json_array_size(els), 4);
	json_decref(m);
	m = slack_render_post("D1", NULL, MSG_APPROVAL, kinds[1].subject, "Why",
			      kinds[1].payload);
	els = json_object_get(json_array_get(json_object_get(m, "blocks"), 1),
			      "elements");
	assert_int_equal(json_array_size(els), 2);
	json_decref(m);
}

/* Quiz options beyond the limits: too many, too long, emoji at the cut. */
static void
test_quiz_options_at_limits(void **state)
{
	struct buf pl = {0};
	struct verdict v;
	json_t *m, *els, *label;
	size_t i;
	char *longopt = repeat("", EMOJI, 60, "");

	(void)state;
	buf_puts(&pl, "{\"quiz\":\"QZ-12345678\",\"question\":\"");
	for (i = 0; i < 64; i++)
		buf_putc(&pl, 'q');
	buf_puts(&pl, "\",\"options\":[");
	for (i = 0; i < 40; i++)
		buf_printf(&pl, "%s\"%s <!channel> & %zu\"", i ? "," : "",
			   longopt, i);
	buf_puts(&pl, "]}");
	m = slack_render_post("D1", NULL, MSG_QUIZ, texts[T_MENTIONS],
			      texts[T_EMOJI_LONG], pl.data);
	if (validate(m, &v) < 0)
		fail_msg("quiz with 40 long options: %s", v.why);
	els = json_object_get(json_array_get(json_object_get(m, "blocks"), 1),
			      "elements");
	assert_int_equal(json_array_size(els), LIM_ACTIONS);
	label = json_object_get(json_array_get(els, 0), "text");
	assert_non_null(
	    strstr(json_string_value(json_object_get(label, "text")), "..."));
	json_decref(m);
	buf_free(&pl);
	free(longopt);
}

/* Up to the limit nothing is cut; past it "..." and the record's pointer. */
static void
test_cut_visible_with_pointer(void **state)
{
	json_t *m;
	const char *s;
	size_t n;

	(void)state;
	m = slack_render_post("D1", NULL, MSG_APPROVAL, SUBJ, texts[T_AT_LIMIT],
			      "{\"approval\":2}");
	s = section_text(m);
	assert_int_equal(units(s), LIM_SECTION);
	assert_null(strstr(s, "..."));
	json_decref(m);
	m = slack_render_post("D1", NULL, MSG_APPROVAL, SUBJ,
			      texts[T_OVER_LIMIT], "{\"approval\":2}");
	s = section_text(m);
	assert_true(units(s) <= LIM_SECTION);
	n = strlen(s);
	assert_true(n > 40);
	assert_string_equal(s + n -
				strlen("x... see /isms incident show INC-3"),
			    "x... see /isms incident show INC-3");
	/* the fallback text had room for all of it */
	assert_null(
	    strstr(json_string_value(json_object_get(m, "text")), "..."));
	json_decref(m);
	/* an emoji across the limit is dropped whole, never halved */
	m = slack_render_post("D1", NULL, MSG_APPROVAL, SUBJ,
			      texts[T_EMOJI_CUT], "{\"approval\":2}");
	s = section_text(m);
	assert_true(units(s) >= 0 && units(s) <= LIM_SECTION);
	assert_non_null(strstr(s, EMOJI "... see /isms incident show INC-3"));
	json_decref(m);
	/* an entity across the limit is dropped whole */
	m = slack_render_post("D1", NULL, MSG_APPROVAL, SUBJ, texts[T_ENTITIES],
			      "{\"approval\":2}");
	s = section_text(m);
	assert_non_null(strstr(s, "&amp;... see /isms incident show INC-3"));
	json_decref(m);
	/* the message limit too, counted in characters, not bytes */
	m = slack_render_post("D1", NULL, MSG_INCIDENT, SUBJ, texts[T_ACCENTS],
			      NULL);
	s = json_string_value(json_object_get(m, "text"));
	assert_true(units(s) <= LIM_TEXT);
	assert_true(units(s) > LIM_TEXT - 2000);
	assert_non_null(strstr(s, ACCENT "... see /isms incident show INC-3"));
	json_decref(m);
}

/* What a person typed is shown as typed and pings nobody. */
static void
test_mentions_escaped(void **state)
{
	json_t *m;
	const char *s;

	(void)state;
	m = slack_render_post("D1", NULL, MSG_INCIDENT, "New incident INC-3",
			      texts[T_MENTIONS], NULL);
	s = json_string_value(json_object_get(m, "text"));
	assert_non_null(strstr(s, "&lt;!channel&gt; &lt;!here&gt;"));
	assert_non_null(strstr(s, "&lt;@U0BOB&gt;"));
	assert_non_null(strstr(s, "&amp;amp; a &amp; b &lt; c &gt; d"));
	json_decref(m);
}

/* The decided update, replies and ephemeral answers obey the same rules. */
static void
test_decided_and_replies(void **state)
{
	struct verdict v;
	struct buf b = {0};
	json_t *m;
	int t;

	(void)state;
	for (t = 0; t < T_COUNT; t++) {
		m = slack_render_decided("D1", "1.5", texts[t],
					 texts[(t + 1) % T_COUNT], "approved");
		if (validate(m, &v) < 0)
			fail_msg("decided, texts %d/%d: %s", t,
				 (t + 1) % T_COUNT, v.why);
		json_decref(m);
		m = slack_render_ephemeral(texts[t], t % 2);
		if (validate(m, &v) < 0)
			fail_msg("ephemeral, text %d: %s", t, v.why);
		json_decref(m);
		buf_reset(&b);
		slack_reply_text(&b, texts[t], 1);
		m = json_pack("{s:s}", "text", b.data);
		if (validate(m, &v) < 0)
			fail_msg("reply, text %d: %s", t, v.why);
		json_decref(m);
	}
	buf_free(&b);
}

/* The validator itself refuses what Slack refuses. */
static void
test_validator_refuses(void **state)
{
	struct verdict v;
	json_t *m;

	(void)state;
	m = json_loads(
	    "{\"text\":\"t\",\"blocks\":[{\"type\":\"actions\",\"block_id\":"
	    "\"isms_quiz\",\"elements\":[{\"type\":\"button\",\"action_id\":"
	    "\"isms_quiz\",\"value\":\"1\",\"text\":{\"type\":\"plain_text\","
	    "\"text\":\"1\"}},{\"type\":\"button\",\"action_id\":\"isms_quiz\","
	    "\"value\":\"2\",\"text\":{\"type\":\"plain_text\",\"text\":\"2\"}}"
	    "]"
	    "}]}",
	    0, NULL);
	assert_int_equal(validate(m, &v), -1);
	assert_non_null(strstr(v.why, "id already exists"));
	json_decref(m);
	m = json_pack("{s:s,s:[{s:s,s:{s:s,s:s}}]}", "text", "t", "blocks",
		      "type", "section", "text", "type", "mrkdwn", "text",
		      texts[T_OVER_LIMIT]);
	assert_int_equal(validate(m, &v), 0); /* 2991 characters: fine */
	json_decref(m);
	m = json_pack("{s:s,s:[{s:s,s:{s:s,s:s}}]}", "text", "t", "blocks",
		      "type", "section", "text", "type", "mrkdwn", "text",
		      texts[T_EMOJI_LONG]);
	assert_int_equal(validate(m, &v), -1);
	json_decref(m);
	m = json_pack("{s:s}", "text", "<!channel> hi");
	assert_int_equal(validate(m, &v), -1);
	json_decref(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validator_refuses),
	    cmocka_unit_test(test_every_kind_every_text),
	    cmocka_unit_test(test_buttons_present),
	    cmocka_unit_test(test_quiz_options_at_limits),
	    cmocka_unit_test(test_cut_visible_with_pointer),
	    cmocka_unit_test(test_mentions_escaped),
	    cmocka_unit_test(test_decided_and_replies),
	};

	return cmocka_run_group_tests(tests, inputs_setup, inputs_teardown);
}
