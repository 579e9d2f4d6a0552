/*
 * Unit tests of the Matrix wire layer: /sync parsing, rendering, txnIds,
 * error classification, DM detection and message routing.
 */
#include "testutil.h"

#include "../../adapters/matrix_proto.h"

#define SELF "@isms:example.org"

static int
parse(const char *text, struct mx_sync *s)
{
	char err[128];

	return mx_sync_parse(text, strlen(text), SELF, "example.org, Other.NET",
			     s, err, sizeof(err));
}

static void
test_sync_timeline(void **state)
{
	static const char text[] =
	    "{\"next_batch\": \"s42\", \"rooms\": {\"join\": {"
	    " \"!a:example.org\":"
	    " {\"summary\": {\"m.joined_member_count\": 5,"
	    "   \"m.invited_member_count\": 0},"
	    "  \"state\": {\"events\": []},"
	    "  \"timeline\": {\"limited\": true, \"events\": ["
	    /* before the bot joined: skipped by position */
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$old\","
	    "    \"sender\": \"@alice:example.org\", \"origin_server_ts\": 900,"
	    " \"content\": {\"msgtype\": \"m.text\", \"body\": \"!isms old\"}},"
	    "   {\"type\": \"m.room.member\", \"event_id\": \"$join\","
	    "    \"sender\": \"" SELF "\", \"state_key\": \"" SELF "\","
	    "    \"origin_server_ts\": 1000,"
	    "    \"content\": {\"membership\": \"join\"}},"
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$cmd\","
	    "   \"sender\": \"@alice:example.org\", \"origin_server_ts\": 1001,"
	    "    \"content\": {\"msgtype\": \"m.text\","
	    "     \"body\": \"!incident Lost laptop\"}},"
	    /* own message, a notice, an edit, an image: not kept */
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$own\","
	    "    \"sender\": \"" SELF "\", \"origin_server_ts\": 1002,"
	    "    \"content\": {\"msgtype\": \"m.notice\", \"body\": \"hi\"}},"
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$notice\","
	    "    \"sender\": \"@bot:example.org\", \"origin_server_ts\": 1003,"
	    "   \"content\": {\"msgtype\": \"m.notice\", \"body\": \"!isms\"}},"
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$edit\","
	    "   \"sender\": \"@alice:example.org\", \"origin_server_ts\": 1004,"
	    "   \"content\": {\"msgtype\": \"m.text\", \"body\": \"* !isms x\","
	    "     \"m.relates_to\": {\"rel_type\": \"m.replace\","
	    "      \"event_id\": \"$cmd\"}}},"
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$img\","
	    "    \"sender\": \"@alice:example.org\","
	    "    \"content\": {\"msgtype\": \"m.image\", \"body\": \"a.png\"}},"
	    /* a reply, and a thread message whose in_reply_to is fallback */
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$reply\","
	    "   \"sender\": \"@carol:example.org\", \"origin_server_ts\": 1005,"
	    "    \"content\": {\"msgtype\": \"m.text\", \"body\": \"approve\","
	    "     \"m.relates_to\": {\"m.in_reply_to\":"
	    "      {\"event_id\": \"$apr\"}}}},"
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$thr\","
	    "   \"sender\": \"@carol:example.org\", \"origin_server_ts\": 1006,"
	    "    \"content\": {\"msgtype\": \"m.text\", \"body\": \"x\","
	    "     \"m.relates_to\": {\"rel_type\": \"m.thread\","
	    "      \"event_id\": \"$root\", \"is_falling_back\": true,"
	    "      \"m.in_reply_to\": {\"event_id\": \"$last\"}}}},"
	    /* malformed: no event_id, body not a string */
	    "   {\"type\": \"m.room.message\", \"sender\": \"@a:example.org\","
	    "    \"content\": {\"msgtype\": \"m.text\", \"body\": \"x\"}},"
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$num\","
	    "    \"sender\": \"@a:example.org\","
	    "    \"content\": {\"msgtype\": \"m.text\", \"body\": 7}}"
	    "  ]}}}}}";
	struct mx_sync s;
	struct mx_room *r;

	(void)state;
	assert_int_equal(parse(text, &s), 0);
	assert_string_equal(s.next_batch, "s42");
	assert_int_equal(s.njoin, 1);
	assert_int_equal(s.ninv, 0);
	r = &s.join[0];
	assert_string_equal(r->room_id, "!a:example.org");
	assert_int_equal(r->members, 5);
	assert_int_equal(r->invited, 0);
	assert_int_equal(r->limited, 1);
	assert_int_equal(r->encrypted, 0);
	assert_int_equal(r->joined_at, 1000);
	assert_int_equal(r->nev, 4);
	assert_string_equal(r->ev[0].event_id, "$old");
	assert_true(r->ev[0].before_join);
	assert_string_equal(r->ev[1].event_id, "$cmd");
	assert_false(r->ev[1].before_join);
	assert_string_equal(r->ev[1].body, "!incident Lost laptop");
	assert_string_equal(r->ev[1].sender, "@alice:example.org");
	assert_int_equal(r->ev[1].ts, 1001);
	assert_null(r->ev[1].in_reply_to);
	assert_string_equal(r->ev[2].event_id, "$reply");
	assert_string_equal(r->ev[2].in_reply_to, "$apr");
	assert_string_equal(r->ev[3].event_id, "$thr");
	assert_null(r->ev[3].in_reply_to);
	mx_sync_free(&s);
	mx_sync_free(&s); /* safe twice */
}

static void
test_sync_join_state(void **state)
{
	/* the join is in state (a limited timeline); a profile change is not
	 * a join; the room is encrypted */
	static const char text[] =
	    "{\"next_batch\": \"s9\", \"rooms\": {\"join\": {"
	    " \"!e:example.org\":"
	    " {\"state\": {\"events\": ["
	    "   {\"type\": \"m.room.member\", \"state_key\": \"" SELF "\","
	    "    \"sender\": \"" SELF "\", \"origin_server_ts\": 500,"
	    "    \"content\": {\"membership\": \"join\"}},"
	    "   {\"type\": \"m.room.encryption\", \"state_key\": \"\","
	    "    \"content\": {\"algorithm\": \"m.megolm.v1.aes-sha2\"}}]},"
	    "  \"timeline\": {\"events\": ["
	    "   {\"type\": \"m.room.message\", \"event_id\": \"$early\","
	    "    \"sender\": \"@alice:example.org\", \"origin_server_ts\": 400,"
	    "    \"content\": {\"msgtype\": \"m.text\", \"body\": \"x\"}},"
	    "   {\"type\": \"m.room.member\", \"state_key\": \"" SELF "\","
	    "    \"event_id\": \"$nick\", \"sender\": \"" SELF "\","
	    "    \"origin_server_ts\": 700, \"unsigned\": {\"prev_content\":"
	    "     {\"membership\": \"join\"}},"
	    " \"content\": {\"membership\": \"join\", \"displayname\": \"I\"}},"
	    "   {\"type\": \"m.room.encrypted\", \"event_id\": \"$enc\","
	    "    \"sender\": \"@alice:example.org\", \"origin_server_ts\": 600,"
	    "    \"content\": {\"algorithm\": \"m.megolm.v1.aes-sha2\","
	    "     \"ciphertext\": \"AwgA\"}}]}}}}}";
	struct mx_sync s;
	struct mx_room *r;

	(void)state;
	assert_int_equal(parse(text, &s), 0);
	r = &s.join[0];
	assert_int_equal(r->joined_at, 500);
	assert_int_equal(r->encrypted, 1);
	assert_int_equal(r->members, -1);
	assert_int_equal(r->invited, -1);
	assert_int_equal(r->nev, 2);
	assert_true(r->ev[0].before_join); /* ts 400 < join 500 */
	assert_true(r->ev[1].encrypted);
	assert_null(r->ev[1].body);
	assert_false(r->ev[1].before_join);
	/* the ciphertext is kept for the decryption */
	assert_string_equal(
	    json_string_value(json_object_get(r->ev[1].content, "ciphertext")),
	    "AwgA");
	assert_null(s.to_device);
	assert_int_equal(s.otk_count, -1);
	mx_sync_free(&s);
}

static void
test_sync_e2ee_sections(void **state)
{
	/* to-device messages, device list changes and the key count */
	static const char text[] =
	    "{\"next_batch\": \"s4\","
	    " \"to_device\": {\"events\": ["
	    "  {\"type\": \"m.room.encrypted\", \"sender\": \"@a:example.org\","
	    "   \"content\": {\"algorithm\": "
	    "\"m.olm.v1.curve25519-aes-sha2\"}},"
	    "  {\"type\": \"m.room_key_request\", \"sender\": \"@b:x.org\","
	    "   \"content\": {}}]},"
	    " \"device_lists\": {\"changed\": [\"@a:example.org\", \"bad\", 7],"
	    "  \"left\": [\"@c:example.org\"]},"
	    " \"device_one_time_keys_count\": {\"signed_curve25519\": 12}}";
	static const char plain_text[] =
	    "{\"type\": \"m.room.message\", \"room_id\": \"!r:example.org\","
	    " \"content\": {\"msgtype\": \"m.text\", \"body\": \"> <@b> "
	    "q\\n\\n1\","
	    "  \"m.relates_to\": {\"m.in_reply_to\": {\"event_id\": \"$q\"}}}}";
	struct mx_sync s;
	struct mx_event e = {0};
	json_t *plain;

	(void)state;
	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(json_array_size(s.to_device), 2);
	assert_int_equal(json_array_size(s.changed), 1);
	assert_string_equal(json_string_value(json_array_get(s.changed, 0)),
			    "@a:example.org");
	assert_int_equal(json_array_size(s.left), 1);
	assert_int_equal(s.otk_count, 12);
	mx_sync_free(&s);

	/* a decrypted message takes the rules of a plaintext one */
	e.encrypted = 1;
	plain = json_loads(plain_text, 0, NULL);
	assert_int_equal(mx_event_decrypted(plain, &e), 1);
	assert_false(e.encrypted);
	assert_string_equal(e.body, "> <@b> q\n\n1");
	assert_string_equal(e.in_reply_to, "$q");
	json_decref(plain);
	/* an edit, a notice or another type is not acted on */
	plain = json_pack("{s:s, s:{s:s, s:s, s:{s:s}}}", "type",
			  "m.room.message", "content", "msgtype", "m.text",
			  "body", "x", "m.relates_to", "rel_type", "m.replace");
	assert_int_equal(mx_event_decrypted(plain, &e), 0);
	json_decref(plain);
	plain = json_pack("{s:s, s:{s:s, s:s}}", "type", "m.room.message",
			  "content", "msgtype", "m.notice", "body", "x");
	assert_int_equal(mx_event_decrypted(plain, &e), 0);
	json_decref(plain);
	plain = json_pack("{s:s, s:{}}", "type", "m.reaction", "content");
	assert_int_equal(mx_event_decrypted(plain, &e), 0);
	json_decref(plain);
	/* the reply relation in the clear part of the event counts ... */
	e.content =
	    json_pack("{s:s, s:{s:{s:s}}}", "algorithm", "m.megolm.v1.aes-sha2",
		      "m.relates_to", "m.in_reply_to", "event_id", "$apr");
	plain = json_pack("{s:s, s:{s:s, s:s}}", "type", "m.room.message",
			  "content", "msgtype", "m.text", "body", "approve");
	assert_int_equal(mx_event_decrypted(plain, &e), 1);
	assert_string_equal(e.in_reply_to, "$apr");
	json_decref(plain);
	/* ... and so does an edit marked there */
	json_object_set_new(
	    e.content, "m.relates_to",
	    json_pack("{s:s, s:s}", "rel_type", "m.replace", "event_id", "$x"));
	plain = json_pack("{s:s, s:{s:s, s:s}}", "type", "m.room.message",
			  "content", "msgtype", "m.text", "body", "* again");
	assert_int_equal(mx_event_decrypted(plain, &e), 0);
	json_decref(plain);
	json_decref(e.content);
	free(e.body);
	free(e.in_reply_to);
}

static void
test_sync_invites(void **state)
{
	static const char text[] =
	    "{\"next_batch\": \"s3\", \"rooms\": {\"invite\": {"
	    " \"!ok:example.org\": {\"invite_state\": {\"events\": ["
	    "  {\"type\": \"m.room.name\", \"state_key\": \"\","
	    " \"sender\": \"@alice:example.org\","
	    " \"content\": {\"name\": \"S\"}},"
	    "  {\"type\": \"m.room.member\", \"state_key\": \"" SELF "\","
	    "   \"sender\": \"@alice:example.org\", \"event_id\": \"$i1\","
	    " \"content\": {\"membership\": \"invite\","
	    "  \"is_direct\": true}}]}},"
	    " \"!case:other.net\": {\"invite_state\": {\"events\": ["
	    "  {\"type\": \"m.room.encryption\", \"state_key\": \"\","
	    "   \"sender\": \"@bob:OTHER.net\", \"content\": {}},"
	    "  {\"type\": \"m.room.member\", \"state_key\": \"" SELF "\","
	    "   \"sender\": \"@bob:OTHER.net\","
	    "   \"content\": {\"membership\": \"invite\"}}]}},"
	    " \"!bad:evil.org\": {\"invite_state\": {\"events\": ["
	    "  {\"type\": \"m.room.member\", \"state_key\": \"" SELF "\","
	    "   \"sender\": \"@mallory:evil.org\","
	    "   \"content\": {\"membership\": \"invite\"}}]}},"
	    " \"!sub:sub.example.org\": {\"invite_state\": {\"events\": ["
	    "  {\"type\": \"m.room.member\", \"state_key\": \"" SELF "\","
	    "   \"sender\": \"@eve:example.org.evil.org\","
	    "   \"content\": {\"membership\": \"invite\"}}]}},"
	    " \"!other:example.org\": {\"invite_state\": {\"events\": ["
	    "  {\"type\": \"m.room.member\", \"state_key\": \"@x:example.org\","
	    "   \"sender\": \"@alice:example.org\","
	    "   \"content\": {\"membership\": \"invite\"}}]}},"
	    " \"!empty:example.org\": {}"
	    "}, \"leave\": {\"!gone:example.org\": {}}},"
	    " \"account_data\": {\"events\": ["
	    "  {\"type\": \"m.push_rules\", \"content\": {}},"
	    "  {\"type\": \"m.direct\", \"content\":"
	    "   {\"@carol:example.org\": [\"!dm:example.org\"]}}]}}";
	struct mx_sync s;
	size_t i;
	int seen = 0;

	(void)state;
	assert_int_equal(parse(text, &s), 0);
	assert_int_equal(s.njoin, 0);
	assert_int_equal(s.ninv, 6);
	for (i = 0; i < s.ninv; i++) {
		struct mx_invite *v = &s.inv[i];

		if (strcmp(v->room_id, "!ok:example.org") == 0) {
			assert_string_equal(v->inviter, "@alice:example.org");
			assert_true(v->allowed);
			assert_true(v->is_direct);
			assert_false(v->encrypted);
			seen++;
		} else if (strcmp(v->room_id, "!case:other.net") == 0) {
			assert_true(v->allowed); /* server names: any case */
			assert_true(v->encrypted);
			assert_false(v->is_direct);
			seen++;
		} else if (strcmp(v->room_id, "!bad:evil.org") == 0 ||
			   strcmp(v->room_id, "!sub:sub.example.org") == 0) {
			assert_non_null(v->inviter);
			assert_false(v->allowed);
			seen++;
		} else {
			/* no invite for us in it: never joined */
			assert_null(v->inviter);
			assert_false(v->allowed);
			seen++;
		}
	}
	assert_int_equal(seen, 6);
	assert_int_equal(s.nleave, 1);
	assert_string_equal(s.leave[0], "!gone:example.org");
	assert_non_null(s.direct);
	assert_string_equal(
	    json_string_value(json_array_get(
		json_object_get(s.direct, "@carol:example.org"), 0)),
	    "!dm:example.org");
	mx_sync_free(&s);
}

static void
test_sync_sections_missing(void **state)
{
	struct mx_sync s;

	(void)state;
	/* an empty long-poll, as Synapse sends it */
	assert_int_equal(parse("{\"next_batch\": \"s5\", "
			       "\"device_one_time_keys_count\": {}}",
			       &s),
			 0);
	assert_string_equal(s.next_batch, "s5");
	assert_int_equal(s.njoin + s.ninv + s.nleave, 0);
	assert_null(s.direct);
	mx_sync_free(&s);
	/* sections of the wrong type are skipped, not fatal */
	assert_int_equal(parse("{\"next_batch\": \"s6\", \"rooms\": {\"join\": "
			       "[], \"invite\": {\"!r:x\": 3}, \"leave\": 1}, "
			       "\"account_data\": {\"events\": {}}}",
			       &s),
			 0);
	assert_int_equal(s.njoin + s.ninv + s.nleave, 0);
	mx_sync_free(&s);
	assert_int_equal(parse("{\"rooms\": {}}", &s), -1);
	mx_sync_free(&s);
	assert_int_equal(parse("{\"next_batch\": 5}", &s), -1);
	mx_sync_free(&s);
	assert_int_equal(parse("[1, 2]", &s), -1);
	mx_sync_free(&s);
	assert_int_equal(parse("{\"next_batch\": \"s1\"", &s), -1);
	mx_sync_free(&s);
}

static void
test_servers(void **state)
{
	(void)state;
	assert_string_equal(mx_server_of("@a:example.org"), "example.org");
	assert_string_equal(mx_server_of("@a:h.example:8448"),
			    "h.example:8448");
	assert_null(mx_server_of("a:example.org"));
	assert_null(mx_server_of("@a"));
	assert_null(mx_server_of("@a:"));
	assert_null(mx_server_of(NULL));
	assert_true(mx_server_allowed("example.org", "example.org"));
	assert_true(mx_server_allowed(" a.net ,example.org ", "EXAMPLE.org"));
	assert_false(mx_server_allowed("example.org", "example.org.evil"));
	assert_false(mx_server_allowed("example.org", "ample.org"));
	assert_false(mx_server_allowed("", "example.org"));
	assert_false(mx_server_allowed(",,", "example.org"));
	assert_false(mx_server_allowed("example.org", NULL));
}

static void
test_dm_detection(void **state)
{
	(void)state;
	assert_true(mx_is_dm(2, 0));
	assert_true(mx_is_dm(7, 1));
	assert_true(mx_is_dm(-1, 1));
	assert_false(mx_is_dm(3, 0));
	assert_false(mx_is_dm(-1, 0));
	assert_false(mx_is_dm(1, 0));
}

static void
test_txn_and_paths(void **state)
{
	char txn[32], *s;
	struct buf b = {0};

	(void)state;
	mx_txn_delivery(42, txn);
	assert_string_equal(txn, "isms-d42");
	mx_txn_delivery(9007199254740993LL, txn);
	assert_string_equal(txn, "isms-d9007199254740993");
	s = mx_txn_event("r", "$abc:x");
	assert_string_equal(s, "isms-r-$abc:x");
	free(s);
	mx_url_escape(&b, "!room:example.org/..?&= x~");
	assert_string_equal(buf_str(&b),
			    "%21room%3Aexample.org%2F..%3F%26%3D%20x~");
	buf_free(&b);
	s = mx_sync_path("s1_2 3", 30000, 100);
	assert_non_null(strstr(s, "/_matrix/client/v3/sync?timeout=30000&"));
	assert_non_null(strstr(s, "&since=s1_2%203"));
	assert_non_null(strstr(s, "%22limit%22%3A100"));
	assert_null(strchr(s, '{'));
	free(s);
	s = mx_sync_path(NULL, 30000, 1);
	assert_null(strstr(s, "since"));
	free(s);
	s = mx_filter_json(1);
	assert_non_null(strstr(s, "\"lazy_load_members\":true"));
	assert_non_null(strstr(s, "m.direct"));
	free(s);
}

static const char *
jget(json_t *c, const char *key)
{
	return json_string_value(json_object_get(c, key));
}

static void
test_render(void **state)
{
	json_t *c;
	const char *html;

	(void)state;
	c = mx_render_text("<b>x</b> & \"q\" 'a'\nline 2", "$ev");
	assert_string_equal(jget(c, "msgtype"), "m.notice");
	assert_string_equal(jget(c, "body"), "<b>x</b> & \"q\" 'a'\nline 2");
	assert_string_equal(jget(c, "format"), "org.matrix.custom.html");
	assert_string_equal(jget(c, "formatted_body"),
			    "&lt;b&gt;x&lt;/b&gt; &amp; &quot;q&quot; "
			    "&#39;a&#39;"
			    "<br>line 2");
	assert_string_equal(
	    jget(json_object_get(json_object_get(c, "m.relates_to"),
				 "m.in_reply_to"),
		 "event_id"),
	    "$ev");
	json_decref(c);
	c = mx_render_text("plain", NULL);
	assert_null(json_object_get(c, "m.relates_to"));
	json_decref(c);
	/* invalid UTF-8 (a cut multi-byte character) never breaks JSON */
	c = mx_render_text("caf\xc3 ok \xff", NULL);
	assert_non_null(c);
	assert_string_equal(jget(c, "body"), "caf? ok ?");
	json_decref(c);
	/* an outbox message: subject in bold, body escaped */
	c = mx_render_outmsg("Approval needed APR-1: close <INC-1>",
			     "bob asks you to approve\nReply approve",
			     MSG_APPROVAL, "{\"approval\": 1}");
	assert_string_equal(jget(c, "body"),
			    "Approval needed APR-1: close <INC-1>\n\n"
			    "bob asks you to approve\nReply approve");
	html = jget(c, "formatted_body");
	assert_string_equal(html, "<strong>Approval needed APR-1: close "
				  "&lt;INC-1&gt;</strong><br><br>bob asks you "
				  "to approve<br>Reply approve");
	json_decref(c);
	/* a body that starts with the subject does not repeat it */
	c = mx_render_outmsg("New incident", "New incident INC-2", MSG_INCIDENT,
			     "{}");
	assert_string_equal(jget(c, "body"), "New incident INC-2");
	json_decref(c);
}

static void
test_render_quiz_and_limits(void **state)
{
	static const char payload[] =
	    "{\"quiz\": \"QZ-3\", \"question\": \"phish-1\","
	    " \"options\": [\"Click <it>\", \"Report it\"]}";
	struct buf big = {0};
	json_t *c;
	size_t i;

	(void)state;
	c = mx_render_outmsg("Quiz QZ-3", "Which is right?", MSG_QUIZ, payload);
	assert_string_equal(jget(c, "body"),
			    "Quiz QZ-3\n\nWhich is right?\n\n1. Click <it>\n"
			    "2. Report it\n\nReply with the number of your "
			    "answer.");
	assert_non_null(strstr(jget(c, "formatted_body"),
			       "<br>1. Click &lt;it&gt;<br>2. Report it"));
	json_decref(c);
	/* options already in the body (the scheduler numbers them) */
	c = mx_render_outmsg("Quiz", "Which?\n1) Click <it>\n2) Report it",
			     MSG_QUIZ, payload);
	assert_null(strstr(jget(c, "body"), "Reply with the number"));
	json_decref(c);
	/* very long text is cut on a character boundary */
	for (i = 0; i < 9000; i++)
		buf_puts(&big, "\xc3\xa9");
	c = mx_render_text(buf_str(&big), NULL);
	assert_true(strlen(jget(c, "body")) <= 16000 + 6);
	assert_non_null(strstr(jget(c, "body"), "\xc3\xa9 [...]"));
	json_decref(c);
	buf_free(&big);
}

static void
test_reply_fallback(void **state)
{
	char *s;

	(void)state;
	s = mx_strip_reply_fallback("> <@isms:example.org> Approval needed\n"
				    "> second line\n\napprove fine");
	assert_string_equal(s, "approve fine");
	free(s);
	s = mx_strip_reply_fallback("approve");
	assert_string_equal(s, "approve");
	free(s);
	s = mx_strip_reply_fallback("> only a quote");
	assert_string_equal(s, "");
	free(s);
}

static void
test_classify(void **state)
{
	struct mx_err e;
	json_t *b;

	(void)state;
	mx_classify(200, NULL, -1, &e);
	assert_int_equal(e.status, MX_OK);
	b = json_pack("{s:s, s:s, s:i}", "errcode", "M_LIMIT_EXCEEDED", "error",
		      "Too many requests", "retry_after_ms", 1500);
	mx_classify(429, b, -1, &e);
	assert_int_equal(e.status, MX_LIMITED);
	assert_int_equal(e.retry_ms, 1500);
	assert_string_equal(e.errcode, "M_LIMIT_EXCEEDED");
	/* the Retry-After header wins */
	mx_classify(429, b, 3, &e);
	assert_int_equal(e.retry_ms, 3000);
	json_decref(b);
	mx_classify(429, NULL, -1, &e);
	assert_int_equal(e.status, MX_LIMITED);
	assert_int_equal(e.retry_ms, 5000);
	b = json_pack("{s:s, s:b}", "errcode", "M_UNKNOWN_TOKEN", "soft_logout",
		      0);
	mx_classify(401, b, -1, &e);
	assert_int_equal(e.status, MX_BADTOKEN);
	json_decref(b);
	mx_classify(502, NULL, -1, &e);
	assert_int_equal(e.status, MX_TRANSIENT);
	mx_classify(0, NULL, -1, &e);
	assert_int_equal(e.status, MX_TRANSIENT);
	b = json_pack("{s:s}", "errcode", "M_FORBIDDEN");
	mx_classify(403, b, -1, &e);
	assert_int_equal(e.status, MX_FATAL);
	assert_string_equal(e.errcode, "M_FORBIDDEN");
	json_decref(b);
}

static void
test_backoff(void **state)
{
	int f;

	(void)state;
	assert_int_equal(mx_backoff_ms(1, 0), 1000);
	assert_int_equal(mx_backoff_ms(2, 0), 2000);
	assert_true(mx_backoff_ms(1, 123456) <= 1250);
	for (f = 0; f < 100; f++) {
		long v = mx_backoff_ms(f, random());

		assert_true(v >= 1000 && v <= 75000);
	}
}

static enum mx_action
route(const char *body, int dm, enum msg_kind reply_kind,
      const char *reply_payload, size_t npending, const char *quiz,
      struct buf *out)
{
	static const int64_t pending[] = {4, 7};
	struct mx_route_in in = {.body = body,
				 .dm = dm,
				 .reply_kind = reply_kind,
				 .reply_payload = reply_payload,
				 .pending = pending,
				 .npending = npending,
				 .quiz_payload = quiz};

	buf_reset(out);
	return mx_route(&in, out);
}

static void
test_route_commands(void **state)
{
	struct buf b = {0};

	(void)state;
	/* shared room: only with a prefix */
	assert_int_equal(route("hello all", 0, MSG_NOTICE, NULL, 0, NULL, &b),
			 MX_IGNORE);
	assert_int_equal(
	    route("incident list", 0, MSG_NOTICE, NULL, 0, NULL, &b),
	    MX_IGNORE);
	assert_int_equal(
	    route("  !incident Phish", 0, MSG_NOTICE, NULL, 0, NULL, &b),
	    MX_RUN);
	assert_string_equal(buf_str(&b), "!incident Phish");
	assert_int_equal(route("!ISMS help", 0, MSG_NOTICE, NULL, 0, NULL, &b),
			 MX_RUN);
	assert_int_equal(
	    route("/isms risk list", 0, MSG_NOTICE, NULL, 0, NULL, &b), MX_RUN);
	assert_int_equal(route("!risky", 0, MSG_NOTICE, NULL, 0, NULL, &b),
			 MX_IGNORE);
	assert_int_equal(route("approve", 0, MSG_NOTICE, NULL, 1, NULL, &b),
			 MX_IGNORE);
	assert_int_equal(route("   ", 1, MSG_NOTICE, NULL, 0, NULL, &b),
			 MX_IGNORE);
	/* DM: any text */
	assert_int_equal(
	    route("incident list", 1, MSG_NOTICE, NULL, 0, NULL, &b), MX_RUN);
	assert_string_equal(buf_str(&b), "incident list");
	buf_free(&b);
}

static void
test_route_approvals(void **state)
{
	struct buf b = {0};

	(void)state;
	/* a reply to the approval message, in any room */
	assert_int_equal(route("Approve, looks fine", 0, MSG_APPROVAL,
			       "{\"approval\": 12, \"object\": \"INC-3\"}", 0,
			       NULL, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "approve APR-12 looks fine");
	assert_int_equal(route("REJECT not yet", 1, MSG_APPROVAL,
			       "{\"approval\": 12}", 2, NULL, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "reject APR-12 not yet");
	/* a reply to something else is an ordinary message */
	assert_int_equal(route("approve", 0, MSG_INCIDENT, "{}", 0, NULL, &b),
			 MX_IGNORE);
	/* in the DM: the one pending request */
	assert_int_equal(route("approve ok", 1, MSG_NOTICE, NULL, 1, NULL, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "approve APR-4 ok");
	assert_int_equal(route("approve", 1, MSG_NOTICE, NULL, 1, NULL, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "approve APR-4");
	/* none, or several: say so */
	assert_int_equal(route("approve", 1, MSG_NOTICE, NULL, 0, NULL, &b),
			 MX_SAY);
	assert_string_equal(buf_str(&b),
			    "Nothing is waiting for your approval.");
	assert_int_equal(
	    route("reject too risky", 1, MSG_NOTICE, NULL, 2, NULL, &b),
	    MX_SAY);
	assert_non_null(strstr(buf_str(&b), "APR-4, APR-7"));
	assert_non_null(strstr(buf_str(&b), "reject APR-n <reason>"));
	/* a named request is taken as typed */
	assert_int_equal(
	    route("approve APR-7 ok", 1, MSG_NOTICE, NULL, 2, NULL, &b),
	    MX_RUN);
	assert_string_equal(buf_str(&b), "approve APR-7 ok");
	assert_int_equal(route("approve apr-7", 1, MSG_APPROVAL,
			       "{\"approval\": 4}", 2, NULL, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "approve apr-7");
	/* approved is not approve */
	assert_int_equal(route("approved?", 1, MSG_NOTICE, NULL, 1, NULL, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "approved?");
	buf_free(&b);
}

static void
test_route_quiz(void **state)
{
	static const char sched[] =
	    "{\"quiz\": \"QZ-3\", \"question\": \"pw-2\", \"options\": "
	    "[\"a\", \"b\", \"c\", \"d\"], \"answer_command\": "
	    "\"quiz answer QZ-3 pw-2\"}";
	static const char plain[] =
	    "{\"quiz\": 5, \"question\": 17, \"options\": [\"a\", \"b\"]}";
	struct buf b = {0};

	(void)state;
	assert_int_equal(route(" 2 ", 1, MSG_NOTICE, NULL, 0, sched, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "quiz answer QZ-3 pw-2 2");
	assert_int_equal(route("1", 1, MSG_NOTICE, NULL, 0, plain, &b), MX_RUN);
	assert_string_equal(buf_str(&b), "quiz answer QZ-5 17 1");
	assert_int_equal(route("3", 1, MSG_NOTICE, NULL, 0, plain, &b), MX_SAY);
	assert_string_equal(buf_str(&b),
			    "Please answer with a number from 1 to 2.");
	/* a reply to the quiz message uses that question */
	assert_int_equal(route("4", 0, MSG_QUIZ, sched, 0, plain, &b), MX_RUN);
	assert_string_equal(buf_str(&b), "quiz answer QZ-3 pw-2 4");
	/* no quiz, or not a bare number: an ordinary message */
	assert_int_equal(route("2", 1, MSG_NOTICE, NULL, 0, NULL, &b), MX_RUN);
	assert_string_equal(buf_str(&b), "2");
	assert_int_equal(route("2 apples", 1, MSG_NOTICE, NULL, 0, plain, &b),
			 MX_RUN);
	assert_string_equal(buf_str(&b), "2 apples");
	assert_int_equal(
	    route("2", 1, MSG_NOTICE, NULL, 0, "{\"options\": 3}", &b), MX_RUN);
	assert_int_equal(route("2", 0, MSG_NOTICE, NULL, 0, plain, &b),
			 MX_IGNORE);
	assert_int_equal(mx_quiz_command("not json", 1, &b), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sync_timeline),
	    cmocka_unit_test(test_sync_join_state),
	    cmocka_unit_test(test_sync_e2ee_sections),
	    cmocka_unit_test(test_sync_invites),
	    cmocka_unit_test(test_sync_sections_missing),
	    cmocka_unit_test(test_servers),
	    cmocka_unit_test(test_dm_detection),
	    cmocka_unit_test(test_txn_and_paths),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_render_quiz_and_limits),
	    cmocka_unit_test(test_reply_fallback),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_route_commands),
	    cmocka_unit_test(test_route_approvals),
	    cmocka_unit_test(test_route_quiz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
