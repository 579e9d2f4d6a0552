/*
 * Unit tests of Matrix end-to-end encryption: devices in stores of their
 * own talk to each other through the request and response bodies a
 * homeserver would carry (upload, query, claim, share, encrypt,
 * to-device, decrypt); pickles survive reopening; rotation, the replay
 * guard, forged signatures and misaddressed Olm payloads.
 */
#include "testutil.h"

#include <olm/olm.h>

#include "../../adapters/e2ee.h"

#define ROOM  "!room:example.org"
#define ROOM2 "!other:example.org"

static const char pickle_key[] = "a pickle key for the tests only";

struct dev {
	char dir[64];
	char path[128];
	const char *user;
	const char *device;
	struct store *st;
	struct e2ee *e;
	json_t *keys;	  /* the signed device_keys as uploaded */
	json_t *otks;	  /* the server's one-time keys of the device */
	json_t *fallback; /* and its fallback key */
};

static void
dev_open(struct dev *d, enum e2ee_trust trust)
{
	char err[256];

	d->st = store_open(d->path, err, sizeof(err));
	assert_non_null(d->st);
	store_set_clock(d->st, test_now, NULL);
	d->e = e2ee_open(d->st, d->user, d->device, pickle_key,
			 strlen(pickle_key), trust, err, sizeof(err));
	if (d->e == NULL)
		fail_msg("%s", err);
}

static void
dev_close(struct dev *d)
{
	e2ee_free(d->e);
	d->e = NULL;
	store_close(d->st);
	d->st = NULL;
}

static struct dev *
dev_new(const char *user, const char *device)
{
	struct dev *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->user = user;
	d->device = device;
	snprintf(d->dir, sizeof(d->dir), "/tmp/isms-e2ee-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/t.db", d->dir);
	d->otks = json_object();
	dev_open(d, E2EE_TOFU);
	return d;
}

static void
dev_free(struct dev *d)
{
	char p[400];
	struct dirent *de;
	DIR *dir;

	if (d->e != NULL)
		dev_close(d);
	json_decref(d->keys);
	json_decref(d->otks);
	json_decref(d->fallback);
	dir = opendir(d->dir);
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", d->dir, de->d_name);
		unlink(p);
	}
	if (dir != NULL)
		closedir(dir);
	rmdir(d->dir);
	free(d);
}

/* POST /keys/upload as the server keeps it. */
static void
dev_upload(struct dev *d)
{
	json_t *body = e2ee_upload_body(d->e, (long)json_object_size(d->otks));

	if (body == NULL)
		return;
	if (json_object_get(body, "device_keys") != NULL) {
		json_decref(d->keys);
		d->keys = json_incref(json_object_get(body, "device_keys"));
	}
	json_object_update(d->otks, json_object_get(body, "one_time_keys"));
	if (json_object_size(json_object_get(body, "fallback_keys")) > 0) {
		json_decref(d->fallback);
		d->fallback =
		    json_incref(json_object_get(body, "fallback_keys"));
	}
	json_decref(body);
	assert_int_equal(e2ee_upload_done(d->e), 0);
}

/* A /keys/query response listing the devices given. */
static json_t *
query_response(struct dev **devs, size_t n)
{
	json_t *all = json_object();
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *u = json_object_get(all, devs[i]->user);

		if (u == NULL) {
			u = json_object();
			json_object_set_new(all, devs[i]->user, u);
		}
		/* servers add what is not signed */
		json_object_set_new(u, devs[i]->device,
				    json_deep_copy(devs[i]->keys));
		json_object_set_new(
		    json_object_get(u, devs[i]->device), "unsigned",
		    json_pack("{s:s}", "device_display_name", "Phone"));
	}
	return json_pack("{s:o,s:{}}", "device_keys", all, "failures");
}

/*
 * A /keys/claim response for one device: its first one-time key (used
 * up), or its fallback key when none is left.
 */
static json_t *
claim_response(struct dev *d)
{
	void *it = json_object_iter(d->otks);
	json_t *r;
	char *id;

	if (it == NULL) {
		assert_non_null(d->fallback);
		return json_pack("{s:{s:{s:O}}}", "one_time_keys", d->user,
				 d->device, d->fallback);
	}
	id = strdup(json_object_iter_key(it));
	r = json_pack("{s:{s:{s:{s:O}}}}", "one_time_keys", d->user, d->device,
		      id, json_object_iter_value(it));
	json_object_del(d->otks, id);
	free(id);
	return r;
}

/* a learns the devices of devs and claims a key for each new one */
static void
introduce(struct dev *a, struct dev **devs, size_t n)
{
	const char *users[8] = {0};
	json_t *q, *r, *c;
	size_t i;

	for (i = 0; i < n; i++) {
		users[i] = devs[i]->user;
		e2ee_devices_stale(a->e, devs[i]->user);
	}
	q = e2ee_query_body(a->e, users, n);
	assert_non_null(q);
	json_decref(q);
	r = query_response(devs, n);
	assert_int_equal(e2ee_query_done(a->e, r), 0);
	json_decref(r);
	assert_null(e2ee_query_body(a->e, users, n));
	c = e2ee_claim_body(a->e, users, n);
	if (c == NULL)
		return;
	for (i = 0; i < n; i++) {
		json_t *want = json_object_get(
		    json_object_get(json_object_get(c, "one_time_keys"),
				    devs[i]->user),
		    devs[i]->device);

		if (want == NULL)
			continue;
		assert_string_equal(json_string_value(want),
				    "signed_curve25519");
		r = claim_response(devs[i]);
		assert_int_equal(e2ee_claim_done(a->e, r), 0);
		json_decref(r);
	}
	json_decref(c);
}

/* The to-device event a recipient gets for a share body entry. */
static json_t *
to_device_event(struct dev *from, json_t *content)
{
	return json_pack("{s:s,s:s,s:O}", "type", "m.room.encrypted", "sender",
			 from->user, "content", content);
}

/*
 * a shares its room session with every device in to[] (members users
 * are their users); returns the session id (static).
 */
static const char *
share(struct dev *a, const char *room, struct dev **to, size_t n)
{
	static char sid[128];
	const char *users[8] = {0};
	json_t *body;
	size_t i;

	for (i = 0; i < n; i++)
		users[i] = to[i]->user;
	body = e2ee_share_body(a->e, room, users, n);
	assert_non_null(body);
	sid[0] = '\0';
	for (i = 0; i < n; i++) {
		json_t *c = json_object_get(
		    json_object_get(json_object_get(body, "messages"),
				    to[i]->user),
		    to[i]->device);
		json_t *ev;
		char err[256], *room_out = NULL, *sid_out = NULL;
		int rc;

		if (c == NULL)
			continue;
		assert_string_equal(
		    json_string_value(json_object_get(c, "algorithm")),
		    E2EE_OLM);
		assert_string_equal(
		    json_string_value(json_object_get(c, "sender_key")),
		    e2ee_curve25519(a->e));
		ev = to_device_event(a, c);
		rc = e2ee_to_device(to[i]->e, ev, &room_out, &sid_out, err,
				    sizeof(err));
		if (rc != 1)
			fail_msg("to_device: %d %s", rc, err);
		assert_string_equal(room_out, room);
		snprintf(sid, sizeof(sid), "%s", sid_out);
		free(room_out);
		free(sid_out);
		json_decref(ev);
	}
	json_decref(body);
	assert_int_equal(e2ee_share_done(a->e, room), 0);
	return sid;
}

static json_t *
encrypt_text(struct dev *a, const char *room, const char *text)
{
	char err[256];
	json_t *content =
	    json_pack("{s:s,s:s}", "msgtype", "m.text", "body", text);
	json_t *c = e2ee_encrypt(a->e, room, "m.room.message", content, err,
				 sizeof(err));

	if (c == NULL)
		fail_msg("encrypt: %s", err);
	json_decref(content);
	assert_string_equal(json_string_value(json_object_get(c, "algorithm")),
			    E2EE_MEGOLM);
	assert_string_equal(json_string_value(json_object_get(c, "device_id")),
			    a->device);
	return c;
}

static void
expect_text(struct dev *b, const char *room, const char *event_id,
	    json_t *content, const char *text, const char *sender)
{
	char err[256];
	json_t *plain = NULL;
	enum e2ee_dec rc = e2ee_decrypt(b->e, room, event_id, content, &plain,
					err, sizeof(err));

	if (rc != E2EE_DEC_OK)
		fail_msg("decrypt %s: %d %s", event_id, rc, err);
	assert_string_equal(json_string_value(json_object_get(plain, "type")),
			    "m.room.message");
	assert_string_equal(
	    json_string_value(json_object_get(plain, "room_id")), room);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(plain, "content"), "body")),
			    text);
	assert_string_equal(json_string_value(json_object_get(plain, "sender")),
			    sender);
	json_decref(plain);
}

/* The bot and Alice, with keys uploaded and known to each other. */
static void
pair(struct dev **bot, struct dev **alice)
{
	struct dev *b = dev_new("@bot:example.org", "BOTDEV");
	struct dev *a = dev_new("@alice:example.org", "ALICEDEV");

	dev_upload(b);
	dev_upload(a);
	introduce(b, &a, 1);
	introduce(a, &b, 1);
	*bot = b;
	*alice = a;
}

static void
test_canonical(void **state)
{
	json_t *o;
	char *c;

	(void)state;
	o = json_loads("{\"b\":\"2\",\"a\":{\"d\":[1,true,null],\"c\":"
		       "\"\\u65e5\\u001f\\n\"},\"signatures\":{},"
		       "\"unsigned\":{\"x\":1}}",
		       0, NULL);
	assert_non_null(o);
	c = e2ee_canonical(o);
	assert_string_equal(c, "{\"a\":{\"c\":\"\xe6\x97\xa5\\u001f\\n\","
			       "\"d\":[1,true,null]},\"b\":\"2\"}");
	free(c);
	json_decref(o);
	/* fractions have no canonical form */
	o = json_pack("{s:f}", "x", 1.5);
	assert_null(e2ee_canonical(o));
	json_decref(o);
}

static void
test_upload_body(void **state)
{
	struct dev *d = dev_new("@bot:example.org", "BOTDEV");
	json_t *body, *dk, *otk, *fb, *v;
	const char *id;
	char kc[64];

	(void)state;
	body = e2ee_upload_body(d->e, -1);
	assert_non_null(body);
	dk = json_object_get(body, "device_keys");
	assert_string_equal(json_string_value(json_object_get(dk, "user_id")),
			    "@bot:example.org");
	assert_string_equal(json_string_value(json_object_get(dk, "device_id")),
			    "BOTDEV");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(dk, "algorithms"), 0)),
			    E2EE_OLM);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(dk, "algorithms"), 1)),
			    E2EE_MEGOLM);
	snprintf(kc, sizeof(kc), "curve25519:BOTDEV");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(dk, "keys"), kc)),
	    e2ee_curve25519(d->e));
	assert_true(e2ee_verify(dk, "@bot:example.org", "ed25519:BOTDEV",
				e2ee_ed25519(d->e)));
	/* the signature covers the content */
	json_object_set_new(dk, "device_id", json_string("OTHER"));
	assert_false(e2ee_verify(dk, "@bot:example.org", "ed25519:BOTDEV",
				 e2ee_ed25519(d->e)));
	otk = json_object_get(body, "one_time_keys");
	assert_int_equal(json_object_size(otk), 50);
	json_object_foreach(otk, id, v)
	{
		assert_true(strncmp(id, "signed_curve25519:", 18) == 0);
		assert_true(e2ee_verify(v, "@bot:example.org", "ed25519:BOTDEV",
					e2ee_ed25519(d->e)));
	}
	fb = json_object_get(body, "fallback_keys");
	assert_int_equal(json_object_size(fb), 1);
	json_object_foreach(fb, id, v)
	{
		assert_true(json_is_true(json_object_get(v, "fallback")));
		assert_true(e2ee_verify(v, "@bot:example.org", "ed25519:BOTDEV",
					e2ee_ed25519(d->e)));
	}
	json_decref(body);
	assert_int_equal(e2ee_upload_done(d->e), 0);
	/* nothing is due while the server holds half of what fits */
	assert_null(e2ee_upload_body(d->e, 50));
	assert_null(e2ee_upload_body(d->e, -1));
	/* five used: five new keys and no device keys */
	body = e2ee_upload_body(d->e, 45);
	assert_non_null(body);
	assert_null(json_object_get(body, "device_keys"));
	assert_int_equal(
	    json_object_size(json_object_get(body, "one_time_keys")), 5);
	json_decref(body);
	dev_free(d);
}

static void
test_round_trip(void **state)
{
	struct dev *bot, *alice, *to[1];
	json_t *c;
	const char *users[] = {"@alice:example.org", "@bot:example.org"};
	const char *sid;
	char s1[128];

	(void)state;
	pair(&bot, &alice);
	/* the bot to Alice: a new Olm session (pre-key), then Megolm */
	to[0] = alice;
	sid = share(bot, ROOM, to, 1);
	assert_true(*sid != '\0');
	snprintf(s1, sizeof(s1), "%s", sid);
	/* all devices have it now */
	assert_null(e2ee_share_body(bot->e, ROOM, users, 2));
	c = encrypt_text(bot, ROOM, "hello alice");
	assert_string_equal(json_string_value(json_object_get(c, "session_id")),
			    s1);
	expect_text(alice, ROOM, "$e1", c, "hello alice", "@bot:example.org");
	/* the bot reads its own message */
	expect_text(bot, ROOM, "$e1", c, "hello alice", "@bot:example.org");
	json_decref(c);
	/* Alice answers over the Olm session the bot started */
	assert_null(e2ee_claim_body(alice->e, users, 2));
	to[0] = bot;
	share(alice, ROOM, to, 1);
	c = encrypt_text(alice, ROOM, "/incident laptop lost");
	expect_text(bot, ROOM, "$e2", c, "/incident laptop lost",
		    "@alice:example.org");
	json_decref(c);
	/* an event encrypted for one room does not decrypt in another */
	c = encrypt_text(bot, ROOM, "only here");
	{
		json_t *plain = NULL;
		char err[256];

		assert_int_not_equal(e2ee_decrypt(alice->e, ROOM2, "$e3", c,
						  &plain, err, sizeof(err)),
				     E2EE_DEC_OK);
		assert_null(plain);
	}
	json_decref(c);
	/* a room whose key never came */
	{
		json_t *plain = NULL, *fake;
		char err[256];

		fake = json_pack(
		    "{s:s,s:s,s:s,s:s,s:s}", "algorithm", E2EE_MEGOLM,
		    "sender_key", e2ee_curve25519(bot->e), "ciphertext", "AAAA",
		    "session_id", "nosuchsession", "device_id", "BOTDEV");
		assert_int_equal(e2ee_decrypt(alice->e, ROOM, "$e4", fake,
					      &plain, err, sizeof(err)),
				 E2EE_DEC_NO_SESSION);
		assert_non_null(strstr(err, "nosuchsession"));
		json_decref(fake);
	}
	dev_free(bot);
	dev_free(alice);
}

static void
test_pickling(void **state)
{
	struct dev *bot, *alice, *to[1];
	char curve[64], ed[64], err[256];
	json_t *c, *c_old;
	struct e2ee *e;

	(void)state;
	pair(&bot, &alice);
	to[0] = alice;
	share(bot, ROOM, to, 1);
	c_old = encrypt_text(bot, ROOM, "before");
	snprintf(curve, sizeof(curve), "%s", e2ee_curve25519(bot->e));
	snprintf(ed, sizeof(ed), "%s", e2ee_ed25519(bot->e));
	dev_close(bot);
	dev_close(alice);
	dev_open(bot, E2EE_TOFU);
	dev_open(alice, E2EE_TOFU);
	assert_string_equal(e2ee_curve25519(bot->e), curve);
	assert_string_equal(e2ee_ed25519(bot->e), ed);
	/* the device keys stay published */
	assert_null(e2ee_upload_body(bot->e, 50));
	/* the same outbound session goes on; Alice still has its key */
	{
		const char *users[] = {"@alice:example.org"};

		assert_null(e2ee_share_body(bot->e, ROOM, users, 1));
	}
	c = encrypt_text(bot, ROOM, "after a restart");
	expect_text(alice, ROOM, "$p2", c, "after a restart",
		    "@bot:example.org");
	expect_text(alice, ROOM, "$p1", c_old, "before", "@bot:example.org");
	json_decref(c);
	json_decref(c_old);
	/* Alice's answer goes over the Olm session kept in her store */
	to[0] = bot;
	share(alice, ROOM, to, 1);
	c = encrypt_text(alice, ROOM, "reply");
	expect_text(bot, ROOM, "$p3", c, "reply", "@alice:example.org");
	json_decref(c);

	/* another pickle key is refused, and the message says so */
	dev_close(bot);
	bot->st = store_open(bot->path, err, sizeof(err));
	assert_non_null(bot->st);
	e = e2ee_open(bot->st, bot->user, bot->device, "wrong key", 9,
		      E2EE_TOFU, err, sizeof(err));
	assert_null(e);
	assert_non_null(strstr(err, "pickle key"));
	assert_non_null(strstr(err, "BOTDEV"));
	assert_null(strstr(err, pickle_key));
	assert_null(strstr(err, "wrong key"));
	store_close(bot->st);
	bot->st = NULL;
	dev_free(bot);
	dev_free(alice);
}

static void
test_rotation(void **state)
{
	struct dev *bot, *alice, *carol, *to[2];
	char s1[128], s2[128];
	json_t *c;
	int i;

	(void)state;
	pair(&bot, &alice);
	to[0] = alice;
	snprintf(s1, sizeof(s1), "%s", share(bot, ROOM, to, 1));
	for (i = 0; i < E2EE_ROTATE_MSGS; i++) {
		char ev[32];

		c = encrypt_text(bot, ROOM, "m");
		snprintf(ev, sizeof(ev), "$r%d", i);
		expect_text(alice, ROOM, ev, c, "m", "@bot:example.org");
		json_decref(c);
	}
	/* after 100 messages a new session, shared again */
	snprintf(s2, sizeof(s2), "%s", share(bot, ROOM, to, 1));
	assert_string_not_equal(s1, s2);
	{
		int64_t n = -1;

		/* the old session's share list is gone, the new one's kept */
		assert_int_equal(
		    db_int(bot->st, &n,
			   "SELECT COUNT(*) FROM "
			   "e2ee_megolm_shared WHERE session_id = ?",
			   "t", s1),
		    1);
		assert_int_equal(n, 0);
		assert_int_equal(
		    db_int(bot->st, &n,
			   "SELECT COUNT(*) FROM "
			   "e2ee_megolm_shared WHERE session_id = ? "
			   "AND pending = 0",
			   "t", s2),
		    1);
		assert_int_equal(n, 1);
	}
	c = encrypt_text(bot, ROOM, "new session");
	assert_string_equal(json_string_value(json_object_get(c, "session_id")),
			    s2);
	expect_text(alice, ROOM, "$r-new", c, "new session",
		    "@bot:example.org");
	json_decref(c);

	/* a member joins: a new session, shared with both */
	carol = dev_new("@carol:example.org", "CAROLDEV");
	dev_upload(carol);
	to[1] = carol;
	introduce(bot, to, 2);
	introduce(carol, &bot, 1);
	snprintf(s1, sizeof(s1), "%s", share(bot, ROOM, to, 2));
	assert_string_not_equal(s1, s2);
	c = encrypt_text(bot, ROOM, "to both");
	expect_text(alice, ROOM, "$r-both", c, "to both", "@bot:example.org");
	expect_text(carol, ROOM, "$r-both", c, "to both", "@bot:example.org");
	json_decref(c);

	/* after a week the session is replaced too */
	test_clock += E2EE_ROTATE_SECS;
	snprintf(s2, sizeof(s2), "%s", share(bot, ROOM, to, 2));
	assert_string_not_equal(s1, s2);
	test_clock -= E2EE_ROTATE_SECS;
	dev_free(carol);
	dev_free(bot);
	dev_free(alice);
}

static void
test_replay(void **state)
{
	struct dev *bot, *alice, *to[1];
	json_t *c, *plain = NULL;
	char err[256];

	(void)state;
	pair(&bot, &alice);
	to[0] = alice;
	share(bot, ROOM, to, 1);
	c = encrypt_text(bot, ROOM, "approve APR-1");
	expect_text(alice, ROOM, "$once", c, "approve APR-1",
		    "@bot:example.org");
	/* a redelivery of the same event decrypts again */
	expect_text(alice, ROOM, "$once", c, "approve APR-1",
		    "@bot:example.org");
	/* the same ciphertext in another event is a replay */
	assert_int_equal(
	    e2ee_decrypt(alice->e, ROOM, "$again", c, &plain, err, sizeof(err)),
	    E2EE_DEC_REPLAY);
	assert_null(plain);
	assert_non_null(strstr(err, "$again"));
	json_decref(c);
	/* and stays one after a restart */
	dev_close(alice);
	dev_open(alice, E2EE_TOFU);
	c = encrypt_text(bot, ROOM, "x");
	expect_text(alice, ROOM, "$x", c, "x", "@bot:example.org");
	assert_int_equal(
	    e2ee_decrypt(alice->e, ROOM, "$x2", c, &plain, err, sizeof(err)),
	    E2EE_DEC_REPLAY);
	json_decref(c);
	dev_free(bot);
	dev_free(alice);
}

/* Captures what is logged (stderr) between log_start and log_end. */
static int log_saved = -1;
static char log_path[64];

static void
log_start(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "/tmp/isms-e2ee-log-XXXXXX");
	fd = mkstemp(log_path);
	assert_true(fd >= 0);
	fflush(stderr);
	log_saved = dup(2);
	assert_true(dup2(fd, 2) >= 0);
	close(fd);
}

static void
log_end(char *out, size_t len)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	assert_true(dup2(log_saved, 2) >= 0);
	close(log_saved);
	f = fopen(log_path, "r");
	assert_non_null(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
	unlink(log_path);
}

static int64_t
devices_of(struct dev *d, const char *user)
{
	int64_t n = -1;

	assert_int_equal(db_int(d->st, &n,
				"SELECT COUNT(*) FROM e2ee_devices WHERE "
				"user_id = ? AND key_changed = 0 AND "
				"deleted = 0",
				"t", user),
			 1);
	return n;
}

static void
test_forged(void **state)
{
	struct dev *bot = dev_new("@bot:example.org", "BOTDEV");
	struct dev *alice = dev_new("@alice:example.org", "ALICEDEV");
	struct dev *mallory = dev_new("@alice:example.org", "ALICEDEV");
	const char *users[] = {"@alice:example.org"};
	json_t *r, *k, *c;
	char *s, logged[4096];

	(void)state;
	dev_upload(bot);
	dev_upload(alice);
	dev_upload(mallory);
	/* a device whose self-signature does not verify */
	k = json_deep_copy(alice->keys);
	json_object_set_new(json_object_get(k, "keys"), "curve25519:ALICEDEV",
			    json_string(e2ee_curve25519(mallory->e)));
	r = json_pack("{s:{s:{s:o}}}", "device_keys", "@alice:example.org",
		      "ALICEDEV", k);
	assert_int_equal(e2ee_query_done(bot->e, r), 0);
	json_decref(r);
	assert_int_equal(devices_of(bot, "@alice:example.org"), 0);
	/* a device filed under another device id */
	r = json_pack("{s:{s:{s:O}}}", "device_keys", "@alice:example.org",
		      "OTHERDEV", alice->keys);
	assert_int_equal(e2ee_query_done(bot->e, r), 0);
	json_decref(r);
	assert_int_equal(devices_of(bot, "@alice:example.org"), 0);
	/* the genuine keys */
	r = query_response(&alice, 1);
	assert_int_equal(e2ee_query_done(bot->e, r), 0);
	json_decref(r);
	assert_int_equal(devices_of(bot, "@alice:example.org"), 1);

	/* a one-time key signed by another key */
	c = e2ee_claim_body(bot->e, users, 1);
	assert_non_null(c);
	json_decref(c);
	r = claim_response(mallory);
	assert_int_equal(e2ee_claim_done(bot->e, r), 0);
	json_decref(r);
	c = e2ee_claim_body(bot->e, users, 1);
	assert_non_null(c); /* still no session */
	json_decref(c);
	/* a genuine key with a changed key byte */
	r = claim_response(alice);
	k = json_object_iter_value(json_object_iter(
	    json_object_get(json_object_get(json_object_get(r, "one_time_keys"),
					    "@alice:example.org"),
			    "ALICEDEV")));
	s = strdup(json_string_value(json_object_get(k, "key")));
	s[0] = s[0] == 'A' ? 'B' : 'A';
	json_object_set_new(k, "key", json_string(s));
	free(s);
	assert_int_equal(e2ee_claim_done(bot->e, r), 0);
	json_decref(r);
	c = e2ee_claim_body(bot->e, users, 1);
	assert_non_null(c);
	json_decref(c);
	/* the genuine key makes the session */
	r = claim_response(alice);
	assert_int_equal(e2ee_claim_done(bot->e, r), 0);
	json_decref(r);
	assert_null(e2ee_claim_body(bot->e, users, 1));

	/*
	 * The same device id later offered with other keys is refused,
	 * logged once (ids, never key bytes) however often it is offered.
	 */
	log_start();
	r = query_response(&mallory, 1);
	assert_int_equal(e2ee_query_done(bot->e, r), 0);
	assert_int_equal(e2ee_query_done(bot->e, r), 0);
	json_decref(r);
	log_end(logged, sizeof(logged));
	s = strstr(logged, "device ALICEDEV of @alice:example.org changed");
	assert_non_null(s);
	assert_null(strstr(s + 1, "device ALICEDEV of @alice:example.org "
				  "changed"));
	assert_null(strstr(logged, e2ee_curve25519(mallory->e)));
	assert_null(strstr(logged, e2ee_ed25519(mallory->e)));
	assert_null(strstr(logged, e2ee_ed25519(alice->e)));
	assert_int_equal(devices_of(bot, "@alice:example.org"), 0);
	{
		int64_t changed = 0;

		assert_int_equal(db_int(bot->st, &changed,
					"SELECT key_changed FROM e2ee_devices "
					"WHERE device_id = 'ALICEDEV'",
					NULL),
				 1);
		assert_int_equal(changed, 1);
	}
	c = e2ee_share_body(bot->e, ROOM, users, 1);
	assert_null(c);
	dev_free(mallory);
	dev_free(bot);
	dev_free(alice);
}

/*
 * A device driven with libolm directly, to send Olm payloads that the
 * module would never make.
 */
struct raw {
	OlmAccount *acct;
	OlmSession *s;
	char curve[64], ed[64];
};

static void
raw_rand(void *p, size_t n)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)rand();
}

static void
raw_new(struct raw *r)
{
	size_t n = 0;
	void *rb;
	char keys[256];
	json_t *j;

	r->acct = olm_account(malloc(olm_account_size()));
	n = olm_create_account_random_length(r->acct);
	rb = malloc(n);
	raw_rand(rb, n);
	assert_true(olm_create_account(r->acct, rb, n) != olm_error());
	free(rb);
	n = olm_account_identity_keys(r->acct, keys, sizeof(keys) - 1);
	assert_true(n != olm_error());
	keys[n] = '\0';
	j = json_loads(keys, 0, NULL);
	snprintf(r->curve, sizeof(r->curve), "%s",
		 json_string_value(json_object_get(j, "curve25519")));
	snprintf(r->ed, sizeof(r->ed), "%s",
		 json_string_value(json_object_get(j, "ed25519")));
	json_decref(j);
}

static void
raw_free(struct raw *r)
{
	free(r->acct);
	free(r->s);
}

/* Signed device keys of the raw device as @mal:example.org MALDEV. */
static json_t *
raw_device_keys(struct raw *r)
{
	json_t *dk = json_pack(
	    "{s:s,s:s,s:[ss],s:{s:s,s:s}}", "user_id", "@mal:example.org",
	    "device_id", "MALDEV", "algorithms", E2EE_OLM, E2EE_MEGOLM, "keys",
	    "curve25519:MALDEV", r->curve, "ed25519:MALDEV", r->ed);
	char *c = e2ee_canonical(dk), sig[128];
	size_t n = olm_account_sign(r->acct, c, strlen(c), sig, sizeof(sig));

	assert_true(n != olm_error());
	sig[n] = '\0';
	json_object_set_new(
	    dk, "signatures",
	    json_pack("{s:{s:s}}", "@mal:example.org", "ed25519:MALDEV", sig));
	free(c);
	return dk;
}

/* An Olm to-device event from the raw device carrying payload. */
static json_t *
raw_event(struct raw *r, const char *to_curve, json_t *payload)
{
	char *p = json_dumps(payload, JSON_COMPACT);
	size_t rn = olm_encrypt_random_length(r->s);
	size_t type = olm_encrypt_message_type(r->s);
	size_t ml = olm_encrypt_message_length(r->s, strlen(p));
	char *msg = malloc(ml + 1);
	void *rb = malloc(rn ? rn : 1);
	json_t *ev;

	raw_rand(rb, rn);
	assert_true(olm_encrypt(r->s, p, strlen(p), rb, rn, msg, ml) !=
		    olm_error());
	msg[ml] = '\0';
	ev = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:{s:i,s:s}}}}", "type",
		       "m.room.encrypted", "sender", "@mal:example.org",
		       "content", "algorithm", E2EE_OLM, "sender_key", r->curve,
		       "ciphertext", to_curve, "type", (int)type, "body", msg);
	free(msg);
	free(rb);
	free(p);
	return ev;
}

static json_t *
raw_payload(struct raw *r, struct dev *to, const char *sender,
	    const char *recipient, const char *recipient_ed)
{
	return json_pack("{s:s,s:{},s:s,s:s,s:{s:s},s:s,s:{s:s}}", "type",
			 "m.dummy", "content", "sender", sender,
			 "sender_device", "MALDEV", "keys", "ed25519", r->ed,
			 "recipient", recipient ? recipient : to->user,
			 "recipient_keys", "ed25519",
			 recipient_ed ? recipient_ed : e2ee_ed25519(to->e));
}

static void
test_olm_payload_checks(void **state)
{
	struct dev *bot = dev_new("@bot:example.org", "BOTDEV");
	struct raw mal;
	json_t *otk, *ev, *p, *dk, *r;
	size_t rn;
	void *rb;
	char err[256];
	const char *otkey;

	(void)state;
	srand(7);
	raw_new(&mal);
	dev_upload(bot);
	dk = raw_device_keys(&mal);
	r = json_pack("{s:{s:{s:o}}}", "device_keys", "@mal:example.org",
		      "MALDEV", dk);
	assert_int_equal(e2ee_query_done(bot->e, r), 0);
	json_decref(r);
	/* an outbound session to the bot with one of its one-time keys */
	otk = json_object_iter_value(json_object_iter(bot->otks));
	otkey = json_string_value(json_object_get(otk, "key"));
	mal.s = olm_session(malloc(olm_session_size()));
	rn = olm_create_outbound_session_random_length(mal.s);
	rb = malloc(rn);
	raw_rand(rb, rn);
	assert_true(olm_create_outbound_session(
			mal.s, mal.acct, e2ee_curve25519(bot->e),
			strlen(e2ee_curve25519(bot->e)), otkey, strlen(otkey),
			rb, rn) != olm_error());
	free(rb);

	/* recipient_keys naming another key */
	p = raw_payload(&mal, bot, "@mal:example.org", NULL, mal.ed);
	ev = raw_event(&mal, e2ee_curve25519(bot->e), p);
	assert_int_equal(
	    e2ee_to_device(bot->e, ev, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "recipient key"));
	json_decref(ev);
	json_decref(p);
	/* refused: the one-time key was not used up */
	{
		int64_t n = 0;

		assert_int_equal(db_int(bot->st, &n,
					"SELECT COUNT(*) FROM "
					"e2ee_olm_sessions",
					NULL),
				 1);
		assert_int_equal(n, 0);
	}
	/* another recipient user */
	p = raw_payload(&mal, bot, "@mal:example.org", "@other:example.org",
			NULL);
	ev = raw_event(&mal, e2ee_curve25519(bot->e), p);
	assert_int_equal(
	    e2ee_to_device(bot->e, ev, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another user"));
	json_decref(ev);
	json_decref(p);
	/* a sender other than the event's */
	p = raw_payload(&mal, bot, "@alice:example.org", NULL, NULL);
	ev = raw_event(&mal, e2ee_curve25519(bot->e), p);
	assert_int_equal(
	    e2ee_to_device(bot->e, ev, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another sender"));
	json_decref(ev);
	json_decref(p);
	/* a payload that is right is accepted (and stores no room key) */
	p = raw_payload(&mal, bot, "@mal:example.org", NULL, NULL);
	ev = raw_event(&mal, e2ee_curve25519(bot->e), p);
	assert_int_equal(
	    e2ee_to_device(bot->e, ev, NULL, NULL, err, sizeof(err)), 0);
	json_decref(ev);
	json_decref(p);
	/* the keys field must match the device known for the sender key */
	{
		json_t *bad =
		    raw_payload(&mal, bot, "@mal:example.org", NULL, NULL);

		json_object_set_new(json_object_get(bad, "keys"), "ed25519",
				    json_string(e2ee_ed25519(bot->e)));
		ev = raw_event(&mal, e2ee_curve25519(bot->e), bad);
		assert_int_equal(
		    e2ee_to_device(bot->e, ev, NULL, NULL, err, sizeof(err)),
		    -1);
		json_decref(ev);
		json_decref(bad);
	}
	/* garbage for this device */
	ev = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:{s:i,s:s}}}}", "type",
		       "m.room.encrypted", "sender", "@mal:example.org",
		       "content", "algorithm", E2EE_OLM, "sender_key",
		       mal.curve, "ciphertext", e2ee_curve25519(bot->e), "type",
		       1, "body", "bm90IGFuIG9sbSBtZXNzYWdl");
	assert_int_equal(
	    e2ee_to_device(bot->e, ev, NULL, NULL, err, sizeof(err)), -1);
	json_decref(ev);
	raw_free(&mal);
	dev_free(bot);
}

static void
test_key_request(void **state)
{
	struct dev *bot = dev_new("@bot:example.org", "BOTDEV");
	json_t *enc = json_pack("{s:s,s:s,s:s,s:s}", "algorithm", E2EE_MEGOLM,
				"sender_key", "SENDERKEY", "session_id", "SID1",
				"ciphertext", "AAAA");
	json_t *rq;

	(void)state;
	rq = e2ee_key_request(bot->e, ROOM, enc);
	assert_non_null(rq);
	assert_string_equal(json_string_value(json_object_get(rq, "action")),
			    "request");
	assert_string_equal(
	    json_string_value(json_object_get(rq, "requesting_device_id")),
	    "BOTDEV");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(rq, "body"), "session_id")),
			    "SID1");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(rq, "body"), "room_id")),
			    ROOM);
	assert_non_null(json_object_get(rq, "request_id"));
	json_decref(rq);
	/* once an hour per session */
	test_clock += 600;
	assert_null(e2ee_key_request(bot->e, ROOM, enc));
	test_clock += 3000;
	rq = e2ee_key_request(bot->e, ROOM, enc);
	assert_non_null(rq);
	json_decref(rq);
	test_clock -= 3600;
	json_decref(enc);
	dev_free(bot);
}

static void
test_verified_only(void **state)
{
	struct dev *bot = dev_new("@bot:example.org", "BOTDEV");
	struct dev *alice = dev_new("@alice:example.org", "ALICEDEV");
	const char *users[] = {"@alice:example.org"};
	json_t *r, *c;

	(void)state;
	dev_upload(bot);
	dev_upload(alice);
	dev_close(bot);
	dev_open(bot, E2EE_VERIFIED);
	r = query_response(&alice, 1);
	assert_int_equal(e2ee_query_done(bot->e, r), 0);
	json_decref(r);
	/* known but not verified: no key is claimed, nothing shared */
	assert_null(e2ee_claim_body(bot->e, users, 1));
	assert_null(e2ee_share_body(bot->e, ROOM, users, 1));
	assert_int_equal(db_exec(bot->st,
				 "UPDATE e2ee_devices SET verified = 1 WHERE "
				 "device_id = 'ALICEDEV'",
				 NULL),
			 1);
	c = e2ee_claim_body(bot->e, users, 1);
	assert_non_null(c);
	json_decref(c);
	dev_free(bot);
	dev_free(alice);
}

static void
test_fallback_key(void **state)
{
	struct dev *bot = dev_new("@bot:example.org", "BOTDEV");
	struct dev *alice = dev_new("@alice:example.org", "ALICEDEV");
	struct dev *carol = dev_new("@carol:example.org", "CAROLDEV");
	struct dev *to[1] = {bot};
	json_t *old, *body, *c;
	char *a, *b;

	(void)state;
	dev_upload(bot);
	dev_upload(alice);
	dev_upload(carol);
	old = json_incref(bot->fallback);
	/* the server has no one-time key of the bot left */
	json_object_clear(bot->otks);
	introduce(carol, to, 1);
	introduce(alice, to, 1);
	introduce(bot, &alice, 1);
	introduce(bot, &carol, 1);
	/* Alice's pre-key message uses the fallback key */
	share(alice, ROOM, to, 1);
	c = encrypt_text(alice, ROOM, "via the fallback key");
	expect_text(bot, ROOM, "$f1", c, "via the fallback key",
		    "@alice:example.org");
	json_decref(c);
	/* the next upload publishes a new fallback key */
	body = e2ee_upload_body(bot->e, 0);
	assert_non_null(body);
	assert_int_equal(
	    json_object_size(json_object_get(body, "fallback_keys")), 1);
	a = json_dumps(json_object_get(body, "fallback_keys"), JSON_SORT_KEYS);
	b = json_dumps(old, JSON_SORT_KEYS);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	json_decref(body);
	assert_int_equal(e2ee_upload_done(bot->e), 0);
	/* Carol claimed the old one before: her message still opens */
	share(carol, ROOM2, to, 1);
	c = encrypt_text(carol, ROOM2, "late, old fallback key");
	expect_text(bot, ROOM2, "$f2", c, "late, old fallback key",
		    "@carol:example.org");
	json_decref(c);
	json_decref(old);
	dev_free(carol);
	dev_free(bot);
	dev_free(alice);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canonical),
	    cmocka_unit_test(test_upload_body),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_pickling),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_replay),
	    cmocka_unit_test(test_forged),
	    cmocka_unit_test(test_olm_payload_checks),
	    cmocka_unit_test(test_key_request),
	    cmocka_unit_test(test_verified_only),
	    cmocka_unit_test(test_fallback_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
