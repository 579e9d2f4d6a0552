/*
 * Unit tests of the inbound mail policy on a throwaway store: approval
 * replies and quiz answers (valid, spoofed, foreign, expired, forged,
 * without DKIM, automatic, replayed), mailed incidents, strangers,
 * redelivery and broken mail.
 */
#include "testutil.h"

#include "../../adapters/mailin.h"
#include "../../adapters/mailtoken.h"
#include "../../commands/quiz.h"

struct fix {
	struct tenv *t;
	char *reply_to; /* Reply-To of APR-1 for carol */
};

static void
set(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int ok;

	f->t = tenv_new();
	set(&f->t->cfg.mail_from, "isms@example.org");
	set(&f->t->cfg.mail_reply_domain, "example.org");
	set(&f->t->cfg.mail_incident_address, "incidents@example.org");
	set(&f->t->cfg.mail_authserv_id, "mx.test.example");
	as(f->t, "alice", "incident report Laptop stolen", &ok);
	assert_true(ok);
	as(f->t, "carol", "incident assign INC-1 @bob", &ok);
	assert_true(ok);
	as(f->t, "bob", "incident close INC-1 Encrypt laptops", &ok);
	assert_true(ok);
	{
		struct person carol;

		assert_int_equal(
		    store_person_find(f->t->st, "handle", "carol", &carol), 1);
		f->reply_to = mailin_reply_address(f->t->st, &f->t->cfg,
						   MSG_APPROVAL, 1, carol.id);
	}
	assert_non_null(f->reply_to);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	free(f->reply_to);
	tenv_free(f->t);
	free(f);
	return 0;
}

static int64_t
person(struct fix *f, const char *handle)
{
	struct person p;

	assert_int_equal(store_person_find(f->t->st, "handle", handle, &p), 1);
	return p.id;
}

/* Feeds one message with top prepended above its own header (the
 * receiving servers' lines); returns its outcome. */
static struct mailin_outcome
feed_top(struct fix *f, const char *top, const char *from, const char *to,
	 const char *msgid, const char *headers, const char *body)
{
	struct mailin_outcome o;
	char *raw = xasprintf("%sFrom: %s\r\nTo: %s\r\nSubject: Re: Approval "
			      "needed APR-1\r\nMessage-ID: <%s>\r\n%s"
			      "Content-Type: text/plain; charset=utf-8\r\n\r\n"
			      "%s",
			      top ? top : "", from, to, msgid,
			      headers ? headers : "", body);

	assert_int_equal(
	    mailin_process(f->t->st, &f->t->cfg, raw, strlen(raw), &o), 0);
	free(raw);
	return o;
}

/* Feeds one message; returns its outcome. */
static struct mailin_outcome
feed(struct fix *f, const char *from, const char *to, const char *msgid,
     const char *headers, const char *body)
{
	return feed_top(f, NULL, from, to, msgid, headers, body);
}

static const char *
apr_status(struct fix *f)
{
	static char s[32];
	char *v = db_text(f->t->st, "SELECT status FROM approvals WHERE id = 1",
			  NULL);

	snprintf(s, sizeof(s), "%s", v ? v : "?");
	free(v);
	return s;
}

/* The newest outbox row for address: its subject and body. */
static void
last_mail_to(struct fix *f, const char *address, char **subject, char **body)
{
	*subject = db_text(f->t->st,
			   "SELECT subject FROM outbox WHERE address = ? "
			   "ORDER BY id DESC LIMIT 1",
			   "t", address);
	*body = db_text(f->t->st,
			"SELECT body FROM outbox WHERE address = ? ORDER BY id "
			"DESC LIMIT 1",
			"t", address);
	assert_non_null(*subject);
	assert_non_null(*body);
}

static void
test_reply_address(void **state)
{
	struct fix *f = *state;
	struct mailtoken t;
	char *secret = store_setting(f->t->st, "token_secret");
	char tok[MAILTOKEN_LEN + 1];
	int64_t deadline;

	assert_int_equal(strncmp(f->reply_to, "isms+", 5), 0);
	assert_string_equal(strchr(f->reply_to, '@'), "@example.org");
	memcpy(tok, f->reply_to + 5, MAILTOKEN_LEN);
	tok[MAILTOKEN_LEN] = '\0';
	assert_int_equal(mailtoken_check(secret, tok, test_clock, &t),
			 MAILTOKEN_OK);
	assert_int_equal(db_int(f->t->st, &deadline,
				"SELECT deadline_at FROM approvals", NULL),
			 1);
	assert_int_equal(t.expires, deadline + 7 * 86400);
	assert_int_equal(t.person_id, person(f, "carol"));
	assert_null(
	    mailin_reply_address(f->t->st, &f->t->cfg, MSG_APPROVAL, 99, 2));
	assert_null(mailin_reply_address(f->t->st, &f->t->cfg, MSG_NOTICE, 1,
					 t.person_id));
	free(secret);
}

static void
test_approve_by_mail(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	char *subject, *body, *via;
	int64_t before;

	o = feed(f, "Carol Diaz <Carol@example.org>", f->reply_to, "r1@x", NULL,
		 "Approve - good lessons\r\n\r\nOn Mon, ISMS wrote:\r\n> "
		 "reject\r\n");
	assert_int_equal(o.what, MAILIN_DECIDED);
	assert_int_equal(o.object, 1);
	assert_string_equal(apr_status(f), "approved");
	via = db_text(f->t->st,
		      "SELECT decided_via || '|' || comment FROM approvals",
		      NULL);
	assert_string_equal(via, "mail|good lessons");
	free(via);
	assert_int_equal(count(f->t,
			       "SELECT COUNT(*) FROM audit_log WHERE "
			       "action = 'approval.approve' AND actor = "
			       "'carol' AND details LIKE '%\"via\":\"mail\"%'"),
			 1);
	last_mail_to(f, "carol@example.org", &subject, &body);
	assert_string_equal(subject, "Re: Approval needed APR-1");
	assert_non_null(strstr(body, "APR-1 approved"));
	free(subject);
	free(body);
	/* redelivery of the same Message-ID: nothing at all */
	before = changes_fingerprint(f->t);
	o = feed(f, "carol@example.org", f->reply_to, "r1@x", NULL,
		 "reject changed my mind\r\n");
	assert_int_equal(o.what, MAILIN_DUPLICATE);
	assert_int_equal(changes_fingerprint(f->t) / 1000, before / 1000);
	assert_string_equal(apr_status(f), "approved");
	/* a new mail after the decision: told it was decided */
	o = feed(f, "carol@example.org", f->reply_to, "r2@x", NULL,
		 "reject changed my mind\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	last_mail_to(f, "carol@example.org", &subject, &body);
	assert_non_null(strstr(body, "already approved"));
	free(subject);
	free(body);
}

static void
test_reject_needs_reason(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;

	o = feed(f, "carol@example.org", f->reply_to, "r3@x", NULL,
		 "Reject\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_string_equal(apr_status(f), "pending");
	o = feed(f, "carol@example.org", f->reply_to, "r4@x", NULL,
		 "reject: not before the audit\r\n");
	assert_int_equal(o.what, MAILIN_DECIDED);
	assert_string_equal(apr_status(f), "rejected");
}

/* Spoofed, foreign, forged, expired, unclear: no change, sender told. */
static void
test_refusals(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	char *subject, *body, bad[256];
	int64_t audit = count(f->t, "SELECT COUNT(*) FROM audit_log");

	/* a directory member who is not the addressee */
	o = feed(f, "erik@example.org", f->reply_to, "s1@x", NULL,
		 "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	last_mail_to(f, "erik@example.org", &subject, &body);
	assert_non_null(strstr(body, "APR-1 was sent to someone else"));
	assert_null(strstr(body, "approve\r\n"));
	free(subject);
	free(body);
	/* a changed token */
	snprintf(bad, sizeof(bad), "%s", f->reply_to);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	o = feed(f, "carol@example.org", bad, "s2@x", NULL, "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "not valid"));
	/* no approve/reject on the first line */
	o = feed(f, "carol@example.org", f->reply_to, "s3@x", NULL,
		 "Thanks, I'll look at it\r\napprove\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	/* expired: a week after the deadline */
	test_clock += 11 * 86400;
	o = feed(f, "carol@example.org", f->reply_to, "s4@x", NULL,
		 "approve\r\n");
	test_clock -= 11 * 86400;
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "expired"));
	assert_string_equal(apr_status(f), "pending");
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM audit_log"), audit);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM inbox WHERE "
				     "event_id LIKE 's_@x'"),
			 4);
}

static void
test_dkim_required(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;

	f->t->cfg.mail_require_dkim = 1;
	o = feed(f, "carol@example.org", f->reply_to, "d1@x", NULL,
		 "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "DKIM"));
	o = feed(f, "carol@example.org", f->reply_to, "d2@x",
		 "Authentication-Results: evil.example; dkim=pass "
		 "header.d=example.org\r\n",
		 "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	o = feed(f, "carol@example.org", f->reply_to, "d3@x",
		 "Authentication-Results: mx.test.example; dkim=pass "
		 "header.d=evil.example\r\n",
		 "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_string_equal(apr_status(f), "pending");
	o = feed(f, "carol@example.org", f->reply_to, "d4@x",
		 "Authentication-Results: mx.test.example; dkim=pass "
		 "header.d=example.org\r\n",
		 "approve\r\n");
	assert_int_equal(o.what, MAILIN_DECIDED);
}

#define RECEIVED                                                               \
	"Received: from mail.example.org by mx.test.example; Sun, 6 Dec "      \
	"2026 10:00:00 +0000\r\n"
#define FORGED                                                                 \
	"Authentication-Results: mx.test.example; dkim=pass "                  \
	"header.d=example.org\r\n"

/*
 * Only the Authentication-Results headers at the top, as many as
 * mail.trusted_ar_headers, carry the verdict; one further down is the
 * sender's, whatever authserv-id it names.
 */
static void
test_dkim_trusted_headers(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	int64_t audit = count(f->t, "SELECT COUNT(*) FROM audit_log");

	f->t->cfg.mail_require_dkim = 1;
	assert_int_equal(f->t->cfg.mail_trusted_ar_headers, 1);
	/* the server found no signature; the sender's pass below it */
	o = feed_top(
	    f,
	    "Authentication-Results: mx.test.example; dkim=none\r\n" RECEIVED,
	    "carol@example.org", f->reply_to, "t1@x", FORGED, "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "DKIM"));
	/* the same, the forgery in front of the sender's own Received */
	o = feed_top(f,
		     "Authentication-Results: mx.test.example; dkim=fail "
		     "header.d=example.org\r\n" RECEIVED FORGED
		     "Received: from laptop by mail.example.org\r\n",
		     "carol@example.org", f->reply_to, "t2@x", NULL,
		     "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	/* a pass for another domain at the top, ours forged below */
	o = feed_top(f,
		     "Authentication-Results: mx.test.example; dkim=pass "
		     "header.d=evil.example\r\n" RECEIVED,
		     "carol@example.org", f->reply_to, "t3@x", FORGED,
		     "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	/* alignment is strict: a subdomain's signature is not the From's */
	o = feed_top(f,
		     "Authentication-Results: mx.test.example; dkim=pass "
		     "header.d=mail.example.org\r\n" RECEIVED,
		     "carol@example.org", f->reply_to, "t4@x", NULL,
		     "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	/* a filter's header on top hides ours when only one is trusted */
	o = feed_top(f,
		     "Authentication-Results: filter.example.org; "
		     "spf=pass smtp.mailfrom=example.org\r\n"
		     "Authentication-Results: mx.test.example; dkim=pass "
		     "header.d=example.org\r\n" RECEIVED,
		     "carol@example.org", f->reply_to, "t5@x", NULL,
		     "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	/* two trusted: the third from the top is still the sender's */
	f->t->cfg.mail_trusted_ar_headers = 2;
	o = feed_top(
	    f,
	    "Authentication-Results: filter.example.org; "
	    "spf=pass smtp.mailfrom=example.org\r\n"
	    "Authentication-Results: mx.test.example; dkim=none\r\n" RECEIVED,
	    "carol@example.org", f->reply_to, "t6@x", FORGED, "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_string_equal(apr_status(f), "pending");
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM audit_log"), audit);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM approvals WHERE "
				     "decided_at IS NOT NULL OR decided_by IS "
				     "NOT NULL"),
			 0);
	/* two trusted, ours the second: it decides */
	o = feed_top(f,
		     "Authentication-Results: filter.example.org; "
		     "spf=pass smtp.mailfrom=example.org\r\n"
		     "Authentication-Results: mx.test.example (comment); "
		     "dkim=fail header.d=evil.example; dkim=pass "
		     "(2048-bit key) header.d=Example.ORG "
		     "header.s=sel\r\n" RECEIVED,
		     "Carol <carol@example.org>", f->reply_to, "t7@x", NULL,
		     "approve\r\n");
	assert_int_equal(o.what, MAILIN_DECIDED);
	assert_string_equal(apr_status(f), "approved");
}

static void
test_automatic_mail(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	int64_t outbox = count(f->t, "SELECT COUNT(*) FROM outbox");

	o = feed(f, "carol@example.org", f->reply_to, "a1@x",
		 "Auto-Submitted: auto-replied\r\n", "approve\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
	o = feed(f, "carol@example.org", f->reply_to, "a2@x",
		 "Return-Path: <>\r\n", "approve\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
	o = feed(f, "carol@example.org", f->reply_to, "a3@x",
		 "Precedence: bulk\r\n", "approve\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
	o = feed(f, "carol@example.org", f->reply_to, "a4@x",
		 "Auto-Submitted: no\r\nX-Autoreply: yes\r\n", "approve\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
	o = feed(f, "isms@example.org", f->reply_to, "a5@x", NULL,
		 "approve\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
	assert_string_equal(apr_status(f), "pending");
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox"), outbox);
	/* Auto-Submitted: no is a person's mail */
	o = feed(f, "carol@example.org", f->reply_to, "a6@x",
		 "Auto-Submitted: no\r\n", "approve\r\n");
	assert_int_equal(o.what, MAILIN_DECIDED);
}

static void
test_escalated(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	int64_t erik = person(f, "erik");
	char *rt;

	assert_int_equal(db_exec(f->t->st,
				 "UPDATE approvals SET escalated_to = ? WHERE "
				 "id = 1",
				 "i", erik),
			 1);
	rt = mailin_reply_address(f->t->st, &f->t->cfg, MSG_APPROVAL, 1, erik);
	o = feed(f, "erik@example.org", rt, "e1@x", NULL,
		 "approve escalated\r\n");
	assert_int_equal(o.what, MAILIN_DECIDED);
	free(rt);
	/* a token for someone the request is not routed to: refused */
	rt = mailin_reply_address(f->t->st, &f->t->cfg, MSG_APPROVAL, 1,
				  person(f, "dana"));
	o = feed(f, "dana@example.org", rt, "e2@x", NULL, "approve\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "not routed to you"));
	free(rt);
}

static void
test_incident_by_mail(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	const char *raw =
	    "From: Frank <frank@example.org>\r\n"
	    "To: incidents@example.org\r\n"
	    "Subject: "
	    "=?UTF-8?Q?Phishing_mail_=E2=80=9CIT_support=E2=80=9D?=\r\n"
	    "Message-ID: <inc@x>\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\n"
	    "It asked for my password. severity=low personal_data=yes\r\n"
	    "--b\r\nContent-Type: application/pdf\r\n"
	    "Content-Disposition: attachment; filename=mail.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAAAAA==\r\n--b--\r\n";
	char *row, *subject, *body;

	assert_int_equal(
	    mailin_process(f->t->st, &f->t->cfg, raw, strlen(raw), &o), 0);
	assert_int_equal(o.what, MAILIN_INCIDENT);
	assert_int_equal(o.object, 2);
	row = db_text(f->t->st,
		      "SELECT title || '|' || severity || '|' || personal_data "
		      "|| '|' || via || '|' || description FROM incidents "
		      "WHERE id = 2",
		      NULL);
	/* text is never parsed as options */
	assert_string_equal(
	    row, "Phishing mail “IT support”|medium|0|mail|It asked "
		 "for my password. severity=low personal_data=yes\n"
		 "\nAttachments (not stored):\n- mail.pdf (4 bytes)");
	free(row);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox WHERE kind = "
				     "'incident' AND subject LIKE '%INC-2%'"),
			 2);
	last_mail_to(f, "frank@example.org", &subject, &body);
	assert_non_null(strstr(body, "Recorded as INC-2"));
	free(subject);
	free(body);
	/* the same mail again: nothing */
	assert_int_equal(
	    mailin_process(f->t->st, &f->t->cfg, raw, strlen(raw), &o), 0);
	assert_int_equal(o.what, MAILIN_DUPLICATE);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM incidents"), 2);
}

/* Control sequences and bidi overrides in a mailed incident are removed */
static void
test_incident_controls_removed(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	const char *raw =
	    "From: Frank <frank@example.org>\r\n"
	    "To: incidents@example.org\r\n"
	    "Subject: =?UTF-8?Q?Evil_=1B]0;owned=07_title_=E2=80=AE_here?=\r\n"
	    "Message-ID: <ctl@x>\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "Screen \x1b[2Jcleared\x08 and \xc2\x9b C1\r\n";
	char *row;

	assert_int_equal(
	    mailin_process(f->t->st, &f->t->cfg, raw, strlen(raw), &o), 0);
	assert_int_equal(o.what, MAILIN_INCIDENT);
	row = db_text(f->t->st,
		      "SELECT title || '|' || description FROM incidents "
		      "WHERE id = 2",
		      NULL);
	assert_non_null(strstr(row, "]0;owned"));
	assert_non_null(strstr(row, "|Screen [2Jcleared and  C1"));
	for (const char *c = row; *c; c++)
		assert_false((unsigned char)*c < 0x20 && *c != '\n');
	assert_null(strstr(row, "\xe2\x80\xae"));
	assert_null(strstr(row, "\xc2\x9b"));
	free(row);
}

static void
test_long_incident_is_cut(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	struct buf b = {0};
	char *d;
	int i;

	for (i = 0; i < 600; i++)
		buf_puts(&b, "ünïcödé ");
	o = feed(f, "frank@example.org", "incidents@example.org", "long@x",
		 NULL, buf_str(&b));
	assert_int_equal(o.what, MAILIN_INCIDENT);
	d = db_text(f->t->st, "SELECT description FROM incidents WHERE id = 2",
		    NULL);
	assert_non_null(d);
	assert_true(strlen(d) <= 2000); /* bytes */
	free(d);
	assert_int_equal(count(f->t, "SELECT description LIKE '%[... cut; the "
				     "full text is in the mail]' FROM "
				     "incidents WHERE id = 2"),
			 1);
	buf_free(&b);
}

static void
test_stranger(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	int64_t before = count(f->t, "SELECT COUNT(*) FROM outbox");

	o = feed(f, "Mallory <mallory@evil.example>", "incidents@example.org",
		 "m1@x", NULL, "secret body text\r\n");
	assert_int_equal(o.what, MAILIN_TRIAGE);
	/* the two isms_managers, nothing to the sender, no body */
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox"),
			 before + 2);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox WHERE "
				     "address LIKE '%evil%'"),
			 0);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox o JOIN "
				     "people p ON p.id = o.person_id WHERE "
				     "p.handle IN ('carol','erik') AND "
				     "o.subject LIKE '%mallory@evil.example%' "
				     "AND o.body LIKE '%Re: Approval needed%' "
				     "AND o.body NOT LIKE '%secret body%'"),
			 2);
	/* a stranger with a valid token decides nothing either */
	o = feed(f, "mallory@evil.example", f->reply_to, "m2@x", NULL,
		 "approve\r\n");
	assert_int_equal(o.what, MAILIN_TRIAGE);
	assert_string_equal(apr_status(f), "pending");
	/* a bounce from a stranger: not even triage */
	o = feed(f, "MAILER-DAEMON@evil.example", "isms@example.org", "m3@x",
		 NULL, "bounce\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
}

static void
test_known_sender_elsewhere(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	char *subject, *body;
	int i;

	o = feed(f, "alice@example.org", "isms@example.org", "k1@x", NULL,
		 "thanks!\r\n");
	assert_int_equal(o.what, MAILIN_ANSWERED);
	last_mail_to(f, "alice@example.org", &subject, &body);
	assert_non_null(strstr(body, "incidents@example.org"));
	free(subject);
	free(body);
	/* an auto-responder that ignores Auto-Submitted: no endless loop */
	for (i = 0; i < 15; i++) {
		char id[32];

		snprintf(id, sizeof(id), "loop%d@x", i);
		o = feed(f, "alice@example.org", "isms@example.org", id, NULL,
			 "I am away\r\n");
		assert_int_equal(o.what, MAILIN_ANSWERED);
	}
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox WHERE "
				     "address = 'alice@example.org'"),
			 10);
	test_clock += 3601;
	o = feed(f, "alice@example.org", "isms@example.org", "later@x", NULL,
		 "hello again\r\n");
	test_clock -= 3601;
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox WHERE "
				     "address = 'alice@example.org'"),
			 11);
}

static void
test_broken_mail(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	static const char broken[] =
	    "From: carol@example.org\r\nSubject: x\r\nContent-Type: "
	    "multipart/mixed; boundary=zz\r\n\r\nno parts here\r\n";
	int64_t before = changes_fingerprint(f->t);

	assert_int_equal(mailin_process(f->t->st, &f->t->cfg, broken,
					sizeof(broken) - 1, &o),
			 0);
	assert_int_equal(o.what, MAILIN_BROKEN);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM inbox"), 0);
	assert_int_equal(changes_fingerprint(f->t) / 1000,
			 before / 1000); /* no audit row, no outbox row */
}

/* No Message-ID: the bytes identify a redelivery. */
static void
test_no_message_id(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	static const char raw[] = "From: frank@example.org\r\nTo: "
				  "incidents@example.org\r\nSubject: no "
				  "id\r\n\r\nsomething happened\r\n";

	assert_int_equal(
	    mailin_process(f->t->st, &f->t->cfg, raw, sizeof(raw) - 1, &o), 0);
	assert_int_equal(o.what, MAILIN_INCIDENT);
	assert_int_equal(
	    mailin_process(f->t->st, &f->t->cfg, raw, sizeof(raw) - 1, &o), 0);
	assert_int_equal(o.what, MAILIN_DUPLICATE);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM inbox WHERE "
				     "event_id LIKE 'sha256:%'"),
			 1);
}

/* ---- quiz answers by mail ---- */

/* Starts QZ-1 for team eng with n questions: bob, alice and frank. */
static void
quiz_start(struct fix *f, int n)
{
	char cmd[96];
	int ok;

	snprintf(cmd, sizeof(cmd),
		 "quiz start questions=%d audience=team:eng "
		 "deadline=2026-11-30",
		 n);
	as(f->t, "carol", cmd, &ok);
	assert_true(ok);
}

/* The Reply-To of handle's question seq of QZ-1; caller frees. */
static char *
quiz_reply_to(struct fix *f, const char *handle, int seq)
{
	char *rt =
	    mailin_reply_address(f->t->st, &f->t->cfg, MSG_QUIZ,
				 quiz_item_ref(1, seq), person(f, handle));

	assert_non_null(rt);
	return rt;
}

/* The right answer (right) or a wrong one to handle's question seq. */
static int
quiz_choice(struct fix *f, const char *handle, int seq, int right)
{
	struct quiz_bank b;
	const struct quiz_question *q;
	char err[320], *qid;
	int c;

	qid = db_text(f->t->st,
		      "SELECT question_id FROM quiz_items WHERE campaign_id = "
		      "1 AND person_id = ? AND seq = ?",
		      "ii", person(f, handle), (int64_t)seq);
	assert_non_null(qid);
	assert_int_equal(quiz_bank_load(&b, err, sizeof(err)), 0);
	q = quiz_bank_find(&b, qid);
	assert_non_null(q);
	c = right ? q->answer : q->answer % 4 + 1;
	quiz_bank_free(&b);
	free(qid);
	return c;
}

/* handle's answer to question seq of QZ-1 (0: none yet). */
static int64_t
quiz_answer_of(struct fix *f, const char *handle, int seq)
{
	int64_t v = 0;

	assert_int_equal(db_int(f->t->st, &v,
				"SELECT COALESCE(answer, 0) FROM quiz_items "
				"WHERE campaign_id = 1 AND person_id = ? AND "
				"seq = ?",
				"ii", person(f, handle), (int64_t)seq),
			 1);
	return v;
}

static void
test_quiz_reply_address(void **state)
{
	struct fix *f = *state;
	struct mailtoken t;
	char *secret = store_setting(f->t->st, "token_secret"), *rt;
	char tok[MAILTOKEN_LEN + 1];
	int64_t deadline;

	quiz_start(f, 2);
	rt = quiz_reply_to(f, "alice", 1);
	assert_int_equal(strncmp(rt, "isms+", 5), 0);
	memcpy(tok, rt + 5, MAILTOKEN_LEN);
	tok[MAILTOKEN_LEN] = '\0';
	assert_int_equal(mailtoken_check(secret, tok, test_clock, &t),
			 MAILTOKEN_OK);
	assert_string_equal(t.kind, "quiz");
	assert_int_equal(t.object_id, quiz_item_ref(1, 1));
	assert_int_equal(t.person_id, person(f, "alice"));
	assert_int_equal(db_int(f->t->st, &deadline,
				"SELECT deadline_at FROM quiz_campaigns", NULL),
			 1);
	assert_int_equal(t.expires, deadline + 86400);
	/* no such item: carol is not in the campaign, QZ-1 has 2 questions */
	assert_null(mailin_reply_address(f->t->st, &f->t->cfg, MSG_QUIZ,
					 quiz_item_ref(1, 1),
					 person(f, "carol")));
	assert_null(mailin_reply_address(f->t->st, &f->t->cfg, MSG_QUIZ,
					 quiz_item_ref(1, 3),
					 person(f, "alice")));
	assert_int_equal(quiz_item_ref(0, 1), 0);
	assert_int_equal(quiz_item_ref(1, 32), 0);
	free(rt);
	free(secret);
}

static void
test_quiz_by_mail(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	char *rt1, *rt2, *subject, *body, *mail;
	int64_t before, next;
	int right;

	quiz_start(f, 2);
	rt1 = quiz_reply_to(f, "alice", 1);
	right = quiz_choice(f, "alice", 1, 1);
	mail = xasprintf("Answer: #%d\r\n\r\nOn Wed, Acme ISMS wrote:\r\n> "
			 "1) ...\r\n",
			 right);
	o = feed(f, "Alice E <Alice@Example.org>", rt1, "q1@x", NULL, mail);
	free(mail);
	assert_int_equal(o.what, MAILIN_QUIZ);
	assert_int_equal(o.object, quiz_item_ref(1, 1));
	assert_int_equal(quiz_answer_of(f, "alice", 1), right);
	assert_int_equal(count(f->t, "SELECT correct FROM quiz_items i JOIN "
				     "people p ON p.id = i.person_id WHERE "
				     "p.handle = 'alice' AND seq = 1"),
			 1);
	assert_int_equal(count(f->t,
			       "SELECT COUNT(*) FROM audit_log WHERE "
			       "action = 'quiz.answer' AND actor = 'alice' "
			       "AND details LIKE '%\"via\":\"mail\"%'"),
			 1);
	/* the answer by mail, the next question on its own */
	last_mail_to(f, "alice@example.org", &subject, &body);
	assert_string_equal(subject, "Re: Approval needed APR-1");
	assert_non_null(strstr(body, "Correct!"));
	assert_non_null(strstr(body, "The next question follows."));
	free(subject);
	free(body);
	next = count(f->t, "SELECT COUNT(*) FROM outbox o JOIN people p ON "
			   "p.id = o.person_id WHERE p.handle = 'alice' AND "
			   "o.kind = 'quiz' AND CAST(json_extract(o.payload, "
			   "'$.number') AS INTEGER) = 2");
	assert_int_equal(next, 1);
	/* the same mail again: nothing at all */
	before = changes_fingerprint(f->t);
	o = feed(f, "alice@example.org", rt1, "q1@x", NULL, "3\r\n");
	assert_int_equal(o.what, MAILIN_DUPLICATE);
	assert_int_equal(changes_fingerprint(f->t) / 1000, before / 1000);
	assert_int_equal(quiz_answer_of(f, "alice", 1), right);
	/* another mail to the answered question: told, nothing changed */
	o = feed(f, "alice@example.org", rt1, "q2@x", NULL, "3\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "command engine refused"));
	assert_int_equal(quiz_answer_of(f, "alice", 1), right);
	last_mail_to(f, "alice@example.org", &subject, &body);
	assert_non_null(strstr(body, "already answered"));
	free(subject);
	free(body);
	/* the last question, wrong: the result */
	rt2 = quiz_reply_to(f, "alice", 2);
	mail = xasprintf("%d) I think\r\n", quiz_choice(f, "alice", 2, 0));
	o = feed(f, "alice@example.org", rt2, "q3@x", NULL, mail);
	free(mail);
	assert_int_equal(o.what, MAILIN_QUIZ);
	last_mail_to(f, "alice@example.org", &subject, &body);
	assert_non_null(strstr(body, "Not quite"));
	assert_non_null(strstr(body, "you got 1 of 2 right"));
	free(subject);
	free(body);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM quiz_participants "
				     "p JOIN people pe ON pe.id = p.person_id "
				     "WHERE pe.handle = 'alice' AND "
				     "p.completed_at IS NOT NULL"),
			 1);
	free(rt1);
	free(rt2);
}

/* "2", "2)", "answer 2", "#2" and friends; anything else is refused. */
static void
test_quiz_reply_forms(void **state)
{
	static const char *const ok[][2] = {
	    {"", ""}, {"", ")"}, {"answer ", ""}, {"#", " - a guess"}};
	static const char *const bad[] = {
	    "5",  "0",	      "12",	   "two", "I think it is 2",
	    "2x", "-- \r\n2", "answers 2", "",
	};
	struct fix *f = *state;
	struct mailin_outcome o;
	char *rt, *subject, *body, *mail, id[32];
	int64_t audit;
	size_t i;

	quiz_start(f, 4);
	rt = quiz_reply_to(f, "alice", 1);
	audit = count(f->t, "SELECT COUNT(*) FROM audit_log");
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(id, sizeof(id), "bad%zu@x", i);
		mail = xasprintf("%s\r\n\r\n> 1) ...\r\n", bad[i]);
		o = feed(f, "alice@example.org", rt, id, NULL, mail);
		free(mail);
		assert_int_equal(o.what, MAILIN_REFUSED);
		assert_non_null(strstr(o.reason, "must start with the number "
						 "of your answer to question "
						 "1 of QZ-1, 1 to 4"));
	}
	last_mail_to(f, "alice@example.org", &subject, &body);
	assert_int_equal(strncmp(body,
				 "Your mail was not accepted: the first line "
				 "of your reply must start with the number",
				 72),
			 0);
	assert_non_null(strstr(body, "/isms quiz answer <1-4>"));
	assert_null(strstr(body, "APR-n"));
	free(subject);
	free(body);
	assert_int_equal(quiz_answer_of(f, "alice", 1), 0);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM audit_log"), audit);
	free(rt);
	for (i = 0; i < ARRAY_LEN(ok); i++) {
		char first[32];
		int c = quiz_choice(f, "alice", (int)i + 1, i % 2);

		rt = quiz_reply_to(f, "alice", (int)i + 1);
		snprintf(id, sizeof(id), "ok%zu@x", i);
		snprintf(first, sizeof(first), "%s%d%s", ok[i][0], c, ok[i][1]);
		mail = xasprintf("%s\r\n", first);
		o = feed(f, "alice@example.org", rt, id, NULL, mail);
		free(mail);
		free(rt);
		assert_int_equal(o.what, MAILIN_QUIZ);
		assert_int_equal(quiz_answer_of(f, "alice", (int)i + 1), c);
	}
}

/* Another person, a forged or expired token, no DKIM: nothing changes. */
static void
test_quiz_refusals(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	char *rt, *subject, *body, bad[256];
	int64_t audit;

	quiz_start(f, 2);
	rt = quiz_reply_to(f, "alice", 1);
	audit = count(f->t, "SELECT COUNT(*) FROM audit_log");
	/* bob, who has a question 1 of his own */
	o = feed(f, "bob@example.org", rt, "w1@x", NULL, "2\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "question 1 of QZ-1 was sent to "
					 "someone else"));
	last_mail_to(f, "bob@example.org", &subject, &body);
	assert_non_null(strstr(body, "only they may answer it by mail"));
	free(subject);
	free(body);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM quiz_items WHERE "
				     "answer IS NOT NULL"),
			 0);
	/* a changed token */
	snprintf(bad, sizeof(bad), "%s", rt);
	bad[12] = bad[12] == 'a' ? 'b' : 'a';
	o = feed(f, "alice@example.org", bad, "w2@x", NULL, "2\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "not valid"));
	/* DKIM required and missing, then present */
	f->t->cfg.mail_require_dkim = 1;
	o = feed(f, "alice@example.org", rt, "w3@x", NULL, "2\r\n");
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason, "DKIM"));
	assert_int_equal(quiz_answer_of(f, "alice", 1), 0);
	/* a day after the deadline (2026-11-30) the address is gone */
	test_clock += 14 * 86400;
	o = feed(f, "alice@example.org", rt, "w4@x",
		 "Authentication-Results: mx.test.example; dkim=pass "
		 "header.d=example.org\r\n",
		 "2\r\n");
	test_clock -= 14 * 86400;
	assert_int_equal(o.what, MAILIN_REFUSED);
	assert_non_null(strstr(o.reason,
			       "the reply address of question 1 of QZ-1 "
			       "expired on 2026-12-0"));
	assert_int_equal(quiz_answer_of(f, "alice", 1), 0);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM audit_log"), audit);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM inbox WHERE "
				     "event_id LIKE 'w_@x'"),
			 4);
	o = feed(f, "alice@example.org", rt, "w5@x",
		 "Authentication-Results: mx.test.example; dkim=pass "
		 "header.d=example.org\r\n",
		 "2\r\n");
	assert_int_equal(o.what, MAILIN_QUIZ);
	assert_int_equal(quiz_answer_of(f, "alice", 1), 2);
	free(rt);
	/* closed, within the token's grace day: the engine says so */
	rt = quiz_reply_to(f, "alice", 2);
	assert_int_equal(db_exec(f->t->st,
				 "UPDATE quiz_campaigns SET status = 'closed', "
				 "closed_at = deadline_at",
				 NULL),
			 1);
	test_clock += 12 * 86400 + 13 * 3600; /* 2026-12-01 00:06 UTC */
	o = feed(f, "alice@example.org", rt, "w6@x",
		 "Authentication-Results: mx.test.example; dkim=pass "
		 "header.d=example.org\r\n",
		 "1\r\n");
	test_clock -= 12 * 86400 + 13 * 3600;
	assert_int_equal(o.what, MAILIN_REFUSED);
	last_mail_to(f, "alice@example.org", &subject, &body);
	assert_non_null(strstr(body, "QZ-1 closed on 2026-12-01"));
	free(subject);
	free(body);
	assert_int_equal(quiz_answer_of(f, "alice", 2), 0);
	free(rt);
}

/* Out-of-office replies to a quiz question decide nothing, say nothing. */
static void
test_quiz_automatic(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	int64_t outbox;
	char *rt;

	quiz_start(f, 2);
	rt = quiz_reply_to(f, "alice", 1);
	outbox = count(f->t, "SELECT COUNT(*) FROM outbox");
	o = feed(f, "alice@example.org", rt, "ooo1@x",
		 "Auto-Submitted: auto-replied\r\n", "2\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
	o = feed(f, "alice@example.org", rt, "ooo2@x", "X-Autoreply: yes\r\n",
		 "1 week away\r\n");
	assert_int_equal(o.what, MAILIN_IGNORED);
	assert_int_equal(quiz_answer_of(f, "alice", 1), 0);
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox"), outbox);
	free(rt);
}

/* A quiz of 20 questions done by mail within an hour: every answer told. */
static void
test_quiz_answers_not_rate_limited(void **state)
{
	struct fix *f = *state;
	struct mailin_outcome o;
	char *rt, id[32];
	int i;

	quiz_start(f, 20);
	for (i = 1; i <= 12; i++) {
		rt = quiz_reply_to(f, "alice", i);
		snprintf(id, sizeof(id), "many%d@x", i);
		o = feed(f, "alice@example.org", rt, id, NULL, "1\r\n");
		free(rt);
		assert_int_equal(o.what, MAILIN_QUIZ);
	}
	assert_int_equal(count(f->t, "SELECT COUNT(*) FROM outbox WHERE kind "
				     "= 'reply' AND address = "
				     "'alice@example.org'"),
			 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reply_address, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_approve_by_mail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reject_needs_reason, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dkim_required, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dkim_trusted_headers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_automatic_mail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_escalated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_incident_controls_removed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_incident_by_mail, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_long_incident_is_cut, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stranger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_known_sender_elsewhere, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_broken_mail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_message_id, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_quiz_reply_address, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_quiz_by_mail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quiz_reply_forms, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_quiz_refusals, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_quiz_automatic, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_quiz_answers_not_rate_limited,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
