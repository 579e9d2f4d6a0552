/*
 * The mail transport. Outbox rows become MIME messages on the loop
 * thread, are sent in batches by libesmtp in the thread pool and reported
 * back on the loop; IMAP is polled by libcurl in the thread pool and each
 * message is processed on the loop (mailin.c), then flagged $IsmsDone.
 */
#include "mail.h"

/* openssl/ssl.h first: libesmtp.h declares smtp_starttls_set_ctx only then */
#include <openssl/ssl.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <auth-client.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libesmtp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "../commands/quiz.h"
#include "adapter.h"
#include "../base/log.h"
#include "mailbuild.h"
#include "mailin.h"
#include "mime.h"

#define SMTP_BATCH	   32	 /* messages per SMTP session */
#define SMTP_TIMEOUT_MS	   30000 /* per SMTP wait (greeting, reply, data) */
#define IMAP_BATCH	   20	 /* messages fetched per poll */
#define IMAP_TIMEOUT_S	   60	 /* per IMAP operation */
#define IMAP_FIRST_POLL_MS 1000

/* One message for SMTP. The worker reads the copies and sets the result. */
struct smtp_item {
	struct smtp_item *next;
	int64_t delivery_id;
	int64_t outbox_id;
	char *rcpt;
	char *message;	  /* the whole RFC 5322 text */
	char *message_id; /* without angle brackets */
	char *subject;	  /* for a failure notice */
	void *esmtp_msg;  /* worker only */
	void *esmtp_rcpt; /* worker only */
	enum send_result result;
	char error[256];
};

/* One SMTP session in the thread pool; settings are copies. */
struct smtp_job {
	uv_work_t req;
	struct mail *m;
	struct smtp_item *items;
	char *server; /* host:port */
	char *user;
	char *password;
	int require_tls;
	char *ca_file; /* NULL: the system store */
	int tls_verify;
	char *from;
	char tls_error[160]; /* what the TLS events said */
};

struct fetched {
	unsigned long uid;
	struct buf data;
	int too_big;
};

/* One IMAP poll (search and fetch) or flag update in the thread pool. */
struct imap_job {
	uv_work_t req;
	struct mail *m;
	CURL *curl;	   /* the adapter's handle, used by one job at a time */
	atomic_int *abort; /* set on stop: IMAP transfers end early */
	char *url;	   /* imap[s]://host[:port]/MAILBOX */
	char *user;
	char *password;
	long use_ssl;
	char *ca_file; /* NULL: the system store */
	int tls_verify;
	char *store_set; /* a flag job: "uid,uid,..." */
	struct fetched *msgs;
	size_t n;
	int more; /* more messages wait than were fetched */
	char error[CURL_ERROR_SIZE + 96];
};

struct mail {
	struct host *host;
	struct smtp_item *queue, **tail;
	int smtp_busy;
	int imap_busy;
	int stopping;
	int timer_open;
	uv_timer_t poll_timer;
	CURL *curl;
	atomic_int abort; /* read by IMAP workers */
	char *imap_url;	  /* normalised, with a mailbox */
	char *smtp_server;
	char last_imap_error[CURL_ERROR_SIZE + 96];
};

static void smtp_kick(struct mail *m);

static void
item_free(struct smtp_item *it)
{
	if (it == NULL)
		return;
	free(it->rcpt);
	free(it->message);
	free(it->message_id);
	free(it->subject);
	free(it);
}

/* ---- SMTP ---- */

/* Runs in the thread pool: supplies the AUTH user and password. */
static int
smtp_interact(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct smtp_job *job = arg;
	int i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_PASS)
			result[i] = job->password;
		else if (req[i].flags & AUTH_USER)
			result[i] = job->user;
		else
			result[i] = NULL;
		if (result[i] == NULL)
			return 0;
	}
	return 1;
}

/*
 * Runs in the thread pool: TLS problems go into the job's error. With
 * mail.tls_verify = false a certificate problem is accepted (*ok = 1).
 */
static void
smtp_event(smtp_session_t session, int event, void *arg, ...)
{
	struct smtp_job *job = arg;
	char what[160] = "";
	int *ok = NULL;
	long vfy;
	va_list ap;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_EXTNA_STARTTLS:
		snprintf(what, sizeof(what),
			 "the server does not offer STARTTLS "
			 "(mail.starttls = required)");
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		vfy = va_arg(ap, long);
		ok = va_arg(ap, int *);
		snprintf(what, sizeof(what),
			 "the server's certificate did not verify (%s)%s",
			 X509_verify_cert_error_string(vfy),
			 job->ca_file ? " against mail.ca_file" : "");
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		snprintf(what, sizeof(what), "the server sent no certificate");
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		snprintf(what, sizeof(what),
			 "the server's certificate names another host than "
			 "%.60s",
			 job->server);
		break;
	case SMTP_EV_UNUSABLE_CA_LIST:
		snprintf(what, sizeof(what), "no usable CA list for STARTTLS");
		break;
	default:
		break;
	}
	va_end(ap);
	if (ok != NULL && !job->tls_verify) {
		*ok = 1; /* mail.tls_verify = false, warned at start */
		return;
	}
	if (what[0] != '\0' && job->tls_error[0] == '\0')
		snprintf(job->tls_error, sizeof(job->tls_error), "%s", what);
}

static void
status_text(char *out, size_t len, const char *stage, const smtp_status_t *st)
{
	char *t = xstrdup(st->text ? st->text : ""), *p;

	for (p = t; *p; p++)
		if ((unsigned char)*p < 32)
			*p = ' ';
	snprintf(out, len, "%s: %d %s", stage, st->code, str_trim(t));
	free(t);
}

/* The outcome of one message after the session. */
static void
smtp_classify(const struct smtp_job *job, struct smtp_item *it)
{
	const smtp_status_t *rp = smtp_reverse_path_status(it->esmtp_msg);
	const smtp_status_t *rs = smtp_recipient_status(it->esmtp_rcpt);
	const smtp_status_t *ms = smtp_message_transfer_status(it->esmtp_msg);

	if (rp != NULL && rp->code >= 400) {
		/* the sender was refused: our configuration, not the
		 * recipient; keep the message and retry */
		it->result = SEND_RETRY;
		status_text(it->error, sizeof(it->error), "MAIL FROM", rp);
	} else if (rs == NULL || rs->code == 0) {
		it->result = SEND_RETRY;
		snprintf(it->error, sizeof(it->error),
			 "the session ended before this recipient%s%s",
			 job->tls_error[0] ? ": " : "", job->tls_error);
	} else if (rs->code >= 500) {
		it->result = SEND_FAIL;
		status_text(it->error, sizeof(it->error), "RCPT TO", rs);
	} else if (rs->code >= 400) {
		it->result = SEND_RETRY;
		status_text(it->error, sizeof(it->error), "RCPT TO", rs);
	} else if (ms == NULL || ms->code == 0 ||
		   (ms->code >= 400 && ms->code < 500)) {
		it->result = SEND_RETRY;
		if (ms != NULL && ms->code)
			status_text(it->error, sizeof(it->error), "DATA", ms);
		else
			snprintf(it->error, sizeof(it->error),
				 "the message was not transferred");
	} else if (ms->code >= 500) {
		it->result = SEND_FAIL;
		status_text(it->error, sizeof(it->error), "DATA", ms);
	} else {
		it->result = SEND_OK;
	}
}

/* Thread pool: one SMTP session for the whole batch. Copies only. */
static void
smtp_work(uv_work_t *req)
{
	struct smtp_job *job = req->data;
	smtp_session_t session = smtp_create_session();
	auth_context_t auth = NULL;
	SSL_CTX *tls = NULL;
	struct smtp_item *it;
	char err[128];

	if (session == NULL) {
		for (it = job->items; it; it = it->next) {
			it->result = SEND_RETRY;
			snprintf(it->error, sizeof(it->error), "out of memory");
		}
		return;
	}
	smtp_set_server(session, job->server);
	/*
	 * A TLS context of our own per session: libESMTP's shared default
	 * context is damaged after a failed certificate check (a later
	 * session crashed in SSL_new). Ours trusts the system store, which
	 * SSL_CERT_FILE and SSL_CERT_DIR can point elsewhere. TLS 1.2 at
	 * most: libESMTP 1.1 mistakes TLS 1.3 session tickets that arrive
	 * after the handshake for a reply and stalls until its timeout.
	 */
	tls = SSL_CTX_new(TLS_client_method());
	if (tls != NULL) {
		SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
		SSL_CTX_set_max_proto_version(tls, TLS1_2_VERSION);
		if (job->ca_file == NULL)
			SSL_CTX_set_default_verify_paths(tls);
		else if (SSL_CTX_load_verify_locations(tls, job->ca_file,
						       NULL) != 1)
			snprintf(job->tls_error, sizeof(job->tls_error),
				 "mail.ca_file %.100s holds no usable CA "
				 "certificate",
				 job->ca_file);
		smtp_starttls_set_ctx(session, tls);
	}
	smtp_starttls_enable(session, job->require_tls ? Starttls_REQUIRED
						       : Starttls_ENABLED);
	smtp_set_eventcb(session, smtp_event, job);
	smtp_set_timeout(session,
			 Timeout_GREETING | Timeout_OVERRIDE_RFC2822_MINIMUM,
			 SMTP_TIMEOUT_MS);
	smtp_set_timeout(session,
			 Timeout_ENVELOPE | Timeout_OVERRIDE_RFC2822_MINIMUM,
			 SMTP_TIMEOUT_MS);
	smtp_set_timeout(session,
			 Timeout_DATA | Timeout_OVERRIDE_RFC2822_MINIMUM,
			 SMTP_TIMEOUT_MS);
	smtp_set_timeout(session,
			 Timeout_TRANSFER | Timeout_OVERRIDE_RFC2822_MINIMUM,
			 SMTP_TIMEOUT_MS);
	smtp_set_timeout(session,
			 Timeout_DATA2 | Timeout_OVERRIDE_RFC2822_MINIMUM,
			 SMTP_TIMEOUT_MS * 2);
	if (job->user != NULL) {
		auth = auth_create_context();
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, smtp_interact, job);
		smtp_auth_set_context(session, auth);
	}
	for (it = job->items; it; it = it->next) {
		it->esmtp_msg = smtp_add_message(session);
		smtp_set_reverse_path(it->esmtp_msg, job->from);
		smtp_set_message_str(it->esmtp_msg, it->message);
		it->esmtp_rcpt = smtp_add_recipient(it->esmtp_msg, it->rcpt);
	}
	if (!smtp_start_session(session)) {
		smtp_strerror(smtp_errno(), err, sizeof(err));
		for (it = job->items; it; it = it->next) {
			it->result = SEND_RETRY;
			snprintf(it->error, sizeof(it->error),
				 "SMTP session to %.60s failed: %.80s%s%.80s",
				 job->server, err,
				 job->tls_error[0] ? "; " : "", job->tls_error);
		}
	} else {
		for (it = job->items; it; it = it->next)
			smtp_classify(job, it);
	}
	smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	SSL_CTX_free(tls);
	/* the pool's threads live on: release OpenSSL's state of this one */
	OPENSSL_thread_stop();
}

/* Loop thread: reports every message of the batch. */
static void
smtp_after(uv_work_t *req, int status)
{
	struct smtp_job *job = req->data;
	struct mail *m = job->m;
	struct smtp_item *it, *next;

	for (it = job->items; it; it = next) {
		next = it->next;
		if (status != 0) {
			/* not started before the stop: no attempt */
			it->result =
			    m->host->stopping ? SEND_CANCELLED : SEND_RETRY;
			snprintf(it->error, sizeof(it->error),
				 "the send was cancelled");
		}
		if (it->result == SEND_OK)
			log_info("mail: sent outbox %lld to %s as <%s>",
				 (long long)it->outbox_id, it->rcpt,
				 it->message_id);
		host_delivery_done(
		    m->host, it->delivery_id, it->result, it->rcpt,
		    it->result == SEND_OK ? it->message_id : NULL, 0,
		    it->result == SEND_OK ? NULL : it->error);
		item_free(it);
	}
	free(job->server);
	free(job->user);
	str_free_secret(job->password);
	free(job->ca_file);
	free(job->from);
	free(job);
	m->smtp_busy = 0;
	smtp_kick(m);
}

/* Starts a session for what is queued, unless one runs. */
static void
smtp_kick(struct mail *m)
{
	const struct config *cfg = m->host->cfg;
	struct smtp_job *job;
	struct smtp_item **pp;
	size_t n = 0;

	if (m->smtp_busy || m->stopping || m->queue == NULL)
		return;
	job = xcalloc(1, sizeof(*job));
	job->m = m;
	job->req.data = job;
	job->items = m->queue;
	for (pp = &m->queue; *pp != NULL && n < SMTP_BATCH; n++)
		pp = &(*pp)->next;
	m->queue = *pp;
	*pp = NULL;
	if (m->queue == NULL)
		m->tail = &m->queue;
	job->server = xstrdup(m->smtp_server);
	if (cfg->mail_smtp_user != NULL && *cfg->mail_smtp_user != '\0') {
		job->user = xstrdup(cfg->mail_smtp_user);
		job->password = xstrdup(
		    cfg->mail_smtp_password ? cfg->mail_smtp_password : "");
	}
	job->require_tls = strcmp(cfg->mail_starttls, "required") == 0;
	if (cfg->mail_ca_file != NULL && *cfg->mail_ca_file != '\0')
		job->ca_file = xstrdup(cfg->mail_ca_file);
	job->tls_verify = cfg->mail_tls_verify;
	job->from = xstrdup(cfg->mail_from);
	m->smtp_busy = 1;
	if (uv_queue_work(m->host->loop, &job->req, smtp_work, smtp_after) !=
	    0) {
		/* cannot happen with a valid loop; report as a retry */
		m->smtp_busy = 0;
		log_error("mail: cannot queue SMTP work");
		smtp_after(&job->req, UV_ECANCELED);
	}
}

/* In-Reply-To of a message: named in the payload, or the request mail
 * of the approval it is about. New string or NULL. */
static char *
thread_parent(struct mail *m, const struct outmsg *msg, json_t *payload)
{
	const char *irt =
	    json_string_value(json_object_get(payload, "in_reply_to"));
	json_int_t apr =
	    json_integer_value(json_object_get(payload, "approval"));

	if (irt != NULL && *irt != '\0' && strlen(irt) < 250 &&
	    strpbrk(irt, "<> \t\r\n") == NULL)
		return xstrdup(irt);
	if (apr > 0 && msg->to != NULL &&
	    !(msg_kind_flags(msg->kind) & MSGK_ASKS_DECISION))
		return store_outbox_approval_sent(m->host->st, "mail",
						  msg->to->id, (int64_t)apr);
	return NULL;
}

/* Percent-encoding for a mailto: URL. */
static void
url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

/*
 * Mail that takes an answer by reply (to its Reply-To token address): the
 * mailto: buttons of its HTML part and what the first line must be.
 */
static const struct reply_form {
	enum msg_kind kind;	/* outbox kind, and the reply token's kind */
	const char *first_line; /* "the first line of your answer must ..." */
	const char *text_note;	/* added to the text part, or NULL */
	struct {
		const char *body, *label, *colour;
	} button[4];
} reply_forms[] = {
    {MSG_APPROVAL,
     "start with approve or reject",
     NULL,
     {{"approve", "Approve", "#2e7d32"},
      {"reject <your reason>", "Reject", "#c62828"}}},
    {MSG_QUIZ,
     "be the number of your answer, 1 to 4",
     "To answer by mail, reply to this message with the number of your "
     "answer (1-4) on the first line.",
     {{"1", "1", "#1565c0"},
      {"2", "2", "#1565c0"},
      {"3", "3", "#1565c0"},
      {"4", "4", "#1565c0"}}},
};

static const struct reply_form *
reply_form(enum msg_kind kind)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(reply_forms); i++)
		if (reply_forms[i].kind == kind)
			return &reply_forms[i];
	return NULL;
}

/*
 * The Reply-To of a message to a person that takes an answer by mail:
 * an approval request (payload "approval": the APR number) or a quiz
 * question (payload "quiz": "QZ-n", "number": the question's place).
 * New string or NULL.
 */
static char *
reply_address(struct mail *m, const struct outmsg *msg, json_t *payload)
{
	const char *qz = json_string_value(json_object_get(payload, "quiz"));
	unsigned flags = msg_kind_flags(msg->kind);
	int64_t object = 0;

	if (msg->to == NULL)
		return NULL;
	if (flags & MSGK_ASKS_DECISION)
		object =
		    json_integer_value(json_object_get(payload, "approval"));
	else if ((flags & MSGK_ASKS_ANSWER) && qz != NULL &&
		 strncmp(qz, "QZ-", 3) == 0)
		object = quiz_item_ref(
		    strtoll(qz + 3, NULL, 10),
		    json_integer_value(json_object_get(payload, "number")));
	if (object <= 0)
		return NULL;
	return mailin_reply_address(m->host->st, m->host->cfg, msg->kind,
				    object, msg->to->id);
}

/* HTML of a mail that takes an answer: the text and mailto: buttons. */
static char *
reply_html(const struct outmsg *msg, const struct reply_form *f,
	   const char *text, const char *reply_to)
{
	struct buf x = {0};
	char *html;
	size_t i;

	buf_puts(&x, "<p>");
	for (i = 0; i < ARRAY_LEN(f->button) && f->button[i].body; i++) {
		buf_printf(&x, "<a href=\"mailto:%s?subject=", reply_to);
		url_encode(&x, "Re: ");
		url_encode(&x, msg->subject);
		buf_puts(&x, "&amp;body=");
		url_encode(&x, f->button[i].body);
		buf_printf(&x,
			   "\" style=\"display: inline-block; padding: 8px "
			   "16px; margin-right: 8px; border-radius: 4px; "
			   "color: #fff; background: %s; text-decoration: "
			   "none;\">%s</a>",
			   f->button[i].colour, f->button[i].label);
	}
	buf_printf(&x,
		   "</p>\n<p style=\"color: #666; font-size: 12px;\">Or "
		   "reply to this mail: the first line of your answer must "
		   "%s; only replies from your own address count.</p>\n",
		   f->first_line);
	html = mailbuild_html(text, buf_str(&x));
	buf_free(&x);
	return html;
}

static void
mail_send(void *state, const struct outmsg *msg)
{
	struct mail *m = state;
	const struct config *cfg = m->host->cfg;
	const char *rcpt = msg->address;
	struct mailbuild b = {0};
	struct smtp_item *it;
	json_t *payload =
	    json_loads(msg->payload ? msg->payload : "{}", 0, NULL);
	const struct reply_form *form = reply_form(msg->kind);
	char *reply_to = NULL, *parent = NULL, *html = NULL, *from_name;
	char *text = NULL;
	int64_t nudge = 0;

	if (m->stopping) {
		json_decref(payload);
		host_delivery_done(m->host, msg->delivery_id, SEND_RETRY, NULL,
				   NULL, 0, "the mail transport stopped");
		return;
	}
	if (rcpt == NULL && msg->to != NULL)
		rcpt = msg->to->email;
	if (!mailbuild_address_ok(rcpt)) {
		json_decref(payload);
		host_delivery_done(m->host, msg->delivery_id, SEND_FAIL, NULL,
				   NULL, 0, "no usable e-mail address");
		return;
	}
	it = xcalloc(1, sizeof(*it));
	it->delivery_id = msg->delivery_id;
	it->outbox_id = msg->outbox_id;
	it->rcpt = xstrdup(rcpt);
	it->subject = xstrdup(msg->subject);
	/* stable per delivery: a retry re-sends the same Message-ID */
	it->message_id = xasprintf(
	    "isms.%lld.%lld@%s", (long long)msg->outbox_id,
	    (long long)msg->delivery_id, mailbuild_domain(cfg->mail_from));
	if (form != NULL)
		reply_to = reply_address(m, msg, payload);
	if (reply_to != NULL && form->text_note != NULL)
		text = xasprintf("%s\n\n%s", msg->body, form->text_note);
	if (reply_to != NULL && msg->html == NULL)
		html = reply_html(msg, form, text ? text : msg->body, reply_to);
	parent = thread_parent(m, msg, payload);
	from_name = xasprintf(
	    "%s ISMS", cfg->org_name && *cfg->org_name ? cfg->org_name : "");
	b.from = cfg->mail_from;
	b.from_name = str_trim(from_name);
	b.to = rcpt;
	b.to_name = msg->to != NULL ? msg->to->name : NULL;
	b.reply_to = reply_to;
	b.subject = msg->subject;
	b.text = text != NULL ? text : msg->body;
	b.html = msg->html != NULL ? msg->html : html;
	b.message_id = it->message_id;
	b.in_reply_to = parent;
	/*
	 * Automatic mail says so (out-of-office replies stay away), except a
	 * first approval request: a person's decision. Its reminders are
	 * nudges (in the scheduler's ledger) and are marked.
	 */
	if (msg_kind_flags(msg->kind) & MSGK_AUTO_REPLY)
		b.auto_submitted = "auto-replied";
	else if (!(msg_kind_flags(msg->kind) & MSGK_ASKS_DECISION) ||
		 db_int(m->host->st, &nudge,
			"SELECT 1 FROM nudges WHERE outbox_id = ? LIMIT 1", "i",
			msg->outbox_id) == 1)
		b.auto_submitted = "auto-generated";
	b.date = store_now(m->host->st);
	it->message = mailbuild_message(&b);
	free(reply_to);
	free(parent);
	free(html);
	free(text);
	free(from_name);
	json_decref(payload);
	*m->tail = it;
	m->tail = &it->next;
	smtp_kick(m);
}

/* ---- IMAP ---- */

struct sink {
	struct buf *b;
	size_t cap;
	int over;
};

static size_t
imap_write(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (s->b->len + size * n > s->cap) {
		s->over = 1;
		return 0; /* aborts the transfer */
	}
	buf_add(s->b, p, size * n);
	return size * n;
}

/* Thread pool: a stopping daemon does not wait for a slow server. */
static int
imap_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
	      curl_off_t un)
{
	struct imap_job *job = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(job->abort) != 0;
}

/* Thread pool: one IMAP request on the job's handle. */
static CURLcode
imap_do(struct imap_job *job, const char *url, const char *custom,
	struct sink *sink, char *errbuf)
{
	CURL *c = job->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap,imaps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)IMAP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_USE_SSL, job->use_ssl);
	if (job->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, job->ca_file);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, job->tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, job->tls_verify ? 2L : 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, imap_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, job);
	if (job->user != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, job->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, job->password);
	}
	if (custom != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, custom);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, imap_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	errbuf[0] = '\0';
	return curl_easy_perform(c);
}

static void
imap_error(struct imap_job *job, const char *what, CURLcode rc,
	   const char *errbuf)
{
	snprintf(job->error, sizeof(job->error), "%s: %s%s%s", what,
		 curl_easy_strerror(rc), *errbuf ? ": " : "", errbuf);
}

/* UIDs of "* SEARCH 1 2 3" lines, in order, at most max. */
static size_t
search_uids(const char *text, unsigned long *uids, size_t max, int *more)
{
	const char *p = text;
	size_t n = 0;

	*more = 0;
	while ((p = strstr(p, "* SEARCH")) != NULL) {
		p += 8;
		while (*p == ' ') {
			char *e;
			unsigned long v = strtoul(p + 1, &e, 10);

			if (e == p + 1)
				break;
			if (v > 0 && n < max)
				uids[n++] = v;
			else if (v > 0)
				*more = 1;
			p = e;
		}
	}
	return n;
}

/* Thread pool: search for unprocessed messages and fetch some. */
static void
imap_poll_work(uv_work_t *req)
{
	struct imap_job *job = req->data;
	char errbuf[CURL_ERROR_SIZE];
	unsigned long uids[IMAP_BATCH];
	struct buf out = {0};
	struct sink sink = {&out, 1024 * 1024, 0};
	size_t n, i;
	CURLcode rc;

	/* on a kept connection the server reports new mail only after a
	 * command that syncs the mailbox: NOOP first */
	rc = imap_do(job, job->url, "NOOP", &sink, errbuf);
	buf_reset(&out);
	if (rc == CURLE_OK)
		rc = imap_do(job, job->url, "UID SEARCH UNKEYWORD $IsmsDone",
			     &sink, errbuf);
	if (rc != CURLE_OK) {
		imap_error(job, "IMAP search", rc, errbuf);
		goto out;
	}
	n = search_uids(buf_str(&out), uids, IMAP_BATCH, &job->more);
	job->msgs = xcalloc(n ? n : 1, sizeof(*job->msgs));
	for (i = 0; i < n; i++) {
		struct fetched *f = &job->msgs[job->n];
		char *url = xasprintf("%s;UID=%lu", job->url, uids[i]);

		sink.b = &f->data;
		sink.cap = MIME_MAX_SIZE;
		sink.over = 0;
		f->uid = uids[i];
		rc = imap_do(job, url, NULL, &sink, errbuf);
		free(url);
		if (rc != CURLE_OK && sink.over) {
			f->too_big = 1;
			buf_free(&f->data);
		} else if (rc != CURLE_OK) {
			imap_error(job, "IMAP fetch", rc, errbuf);
			buf_free(&f->data);
			break;
		}
		job->n++;
	}
	if (i < n)
		job->more = 1;
out:
	buf_free(&out);
	OPENSSL_thread_stop();
}

/* Thread pool: flag processed messages done. */
static void
imap_store_work(uv_work_t *req)
{
	struct imap_job *job = req->data;
	char errbuf[CURL_ERROR_SIZE];
	struct buf out = {0};
	struct sink sink = {&out, 1024 * 1024, 0};
	char *cmd =
	    xasprintf("UID STORE %s +FLAGS ($IsmsDone \\Seen)", job->store_set);
	CURLcode rc = imap_do(job, job->url, cmd, &sink, errbuf);

	if (rc != CURLE_OK)
		imap_error(job, "IMAP store", rc, errbuf);
	free(cmd);
	buf_free(&out);
	OPENSSL_thread_stop();
}

static void
imap_job_free(struct imap_job *job)
{
	size_t i;

	if (job == NULL)
		return;
	for (i = 0; i < job->n; i++)
		buf_free(&job->msgs[i].data);
	free(job->msgs);
	free(job->url);
	free(job->user);
	str_free_secret(job->password);
	free(job->ca_file);
	free(job->store_set);
	free(job);
}

static void imap_poll_after(uv_work_t *req, int status);
static void imap_store_after(uv_work_t *req, int status);

static struct imap_job *
imap_job_new(struct mail *m)
{
	const struct config *cfg = m->host->cfg;
	struct imap_job *job = xcalloc(1, sizeof(*job));

	job->m = m;
	job->req.data = job;
	job->curl = m->curl;
	job->abort = &m->abort;
	job->url = xstrdup(m->imap_url);
	if (cfg->mail_imap_user != NULL && *cfg->mail_imap_user != '\0') {
		job->user = xstrdup(cfg->mail_imap_user);
		job->password = xstrdup(
		    cfg->mail_imap_password ? cfg->mail_imap_password : "");
	}
	job->use_ssl = strcmp(cfg->mail_starttls, "required") == 0
			   ? (long)CURLUSESSL_ALL
			   : (long)CURLUSESSL_TRY;
	if (cfg->mail_ca_file != NULL && *cfg->mail_ca_file != '\0')
		job->ca_file = xstrdup(cfg->mail_ca_file);
	job->tls_verify = cfg->mail_tls_verify;
	return job;
}

static void poll_tick(uv_timer_t *t);

/* The next poll in ms (0: at once), unless stopping. */
static void
imap_schedule(struct mail *m, uint64_t ms)
{
	if (!m->stopping && m->timer_open)
		uv_timer_start(&m->poll_timer, poll_tick, ms, 0);
}

static uint64_t
poll_interval(const struct mail *m)
{
	return (uint64_t)m->host->cfg->mail_poll_seconds * 1000;
}

/* Logs an IMAP problem once, and when it clears. */
static void
imap_report(struct mail *m, const char *error)
{
	if (error[0] == '\0') {
		if (m->last_imap_error[0] != '\0')
			log_info("mail: IMAP works again");
		m->last_imap_error[0] = '\0';
		return;
	}
	if (strcmp(m->last_imap_error, error) != 0)
		log_warnx("mail: %s (retrying every poll)", error);
	snprintf(m->last_imap_error, sizeof(m->last_imap_error), "%s", error);
}

/* A received mail's outcome as a request result (metrics). */
static const char *
mailin_result(enum mailin_what w)
{
	switch (w) {
	case MAILIN_DUPLICATE:
		return "duplicate";
	case MAILIN_BROKEN:
	case MAILIN_IGNORED:
		return "ignored";
	case MAILIN_REFUSED:
		return "refused";
	default:
		return "accepted";
	}
}

/* Loop thread: processes what was fetched, then flags it done. */
static void
imap_poll_after(uv_work_t *req, int status)
{
	struct imap_job *job = req->data;
	struct mail *m = job->m;
	struct buf set = {0};
	size_t i, flagged = 0;
	int kick = 0;

	m->imap_busy = 0;
	if (status != 0)
		snprintf(job->error, sizeof(job->error), "IMAP poll cancelled");
	imap_report(m, job->error);
	if (!m->stopping)
		host_state(m->host, "mail",
			   job->error[0] ? TRANSPORT_CONNECTING
					 : TRANSPORT_CONNECTED,
			   job->error[0] ? job->error : NULL);
	log_debug("mail: IMAP poll fetched %zu message%s%s", job->n,
		  job->n == 1 ? "" : "s", job->more ? " (more waiting)" : "");
	if (m->stopping) {
		/* not processed, not flagged: read again after the restart */
		imap_job_free(job);
		return;
	}
	for (i = 0; i < job->n; i++) {
		struct fetched *f = &job->msgs[i];
		struct mailin_outcome o;
		int done = 1;

		if (f->too_big) {
			log_warnx("mail: IMAP message %lu is larger than %u "
				  "bytes; flagged done without processing",
				  f->uid, MIME_MAX_SIZE);
		} else {
			done = mailin_process(m->host->st, m->host->cfg,
					      buf_str(&f->data), f->data.len,
					      &o) == 0;
			kick |= done && o.queued;
			if (done)
				host_count_request(m->host, "mail",
						   mailin_result(o.what));
		}
		if (done) {
			buf_printf(&set, "%s%lu", set.len ? "," : "", f->uid);
			flagged++;
		}
	}
	if (kick)
		host_kick(m->host);
	if (set.len > 0) {
		struct imap_job *sj = imap_job_new(m);

		sj->store_set = buf_steal(&set);
		/* more waiting and all of this batch done: go on at once */
		sj->more = job->more && flagged == job->n && !job->error[0];
		m->imap_busy = 1;
		if (uv_queue_work(m->host->loop, &sj->req, imap_store_work,
				  imap_store_after) != 0) {
			m->imap_busy = 0;
			imap_job_free(sj);
		}
	}
	if (!m->imap_busy)
		imap_schedule(m, poll_interval(m));
	buf_free(&set);
	imap_job_free(job);
}

/* Loop thread: the flags are set (or not: then read again later). */
static void
imap_store_after(uv_work_t *req, int status)
{
	struct imap_job *job = req->data;
	struct mail *m = job->m;

	m->imap_busy = 0;
	if (status != 0)
		snprintf(job->error, sizeof(job->error),
			 "IMAP flag update cancelled");
	if (job->error[0])
		log_warnx("mail: %s; the messages %s will be read again (the "
			  "Message-ID check makes that harmless)",
			  job->error, job->store_set);
	imap_schedule(m, job->more && !job->error[0] ? 0 : poll_interval(m));
	imap_job_free(job);
}

static void
poll_tick(uv_timer_t *t)
{
	struct mail *m = t->data;
	struct imap_job *job;

	if (m->stopping || m->imap_busy)
		return;
	job = imap_job_new(m);
	m->imap_busy = 1;
	if (uv_queue_work(m->host->loop, &job->req, imap_poll_work,
			  imap_poll_after) != 0) {
		m->imap_busy = 0;
		imap_job_free(job);
		imap_schedule(m, poll_interval(m));
	}
}

/* ---- the adapter ---- */

/* "smtp://host[:port]" as libesmtp's "host:port"; NULL if unusable. */
static char *
smtp_server(const char *url)
{
	const char *h;
	size_t n;

	if (url == NULL)
		return NULL;
	if (strncasecmp(url, "smtp://", 7) != 0)
		return NULL;
	h = url + 7;
	n = strcspn(h, "/?#");
	if (n == 0 || memchr(h, '@', n) != NULL)
		return NULL;
	if (memchr(h, ':', n) != NULL)
		return xstrndup(h, n);
	return xasprintf("%.*s:587", (int)n, h);
}

/* imap[s]://host[:port][/MAILBOX] with a mailbox (INBOX by default). */
static char *
imap_mailbox_url(const char *url)
{
	const char *h, *slash;
	size_t len;

	if (url == NULL || (strncasecmp(url, "imap://", 7) != 0 &&
			    strncasecmp(url, "imaps://", 8) != 0))
		return NULL;
	if (strpbrk(url, ";?#") != NULL)
		return NULL;
	h = strstr(url, "://") + 3;
	slash = strchr(h, '/');
	if (slash == h)
		return NULL;
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (slash == NULL || url + len <= slash)
		return xasprintf("%.*s/INBOX",
				 slash ? (int)(slash - url) : (int)len, url);
	return xstrndup(url, len);
}

/* After the loop drained: no worker, timer or callback is left. */
static void
mail_free(void *state)
{
	struct mail *m = state;
	struct smtp_item *it, *next;

	if (m == NULL)
		return;

	for (it = m->queue; it; it = next) {
		next = it->next;
		item_free(it);
	}
	if (m->curl != NULL)
		curl_easy_cleanup(m->curl);
	curl_global_cleanup();
	auth_client_exit(); /* one mail adapter per process */
	free(m->imap_url);
	free(m->smtp_server);
	free(m);
}

static void
timer_closed(uv_handle_t *h)
{
	struct mail *m = h->data;

	m->timer_open = 0;
}

static int
mail_start(struct host *host, void **state)
{
	const struct config *cfg = host->cfg;
	struct mail *m = xcalloc(1, sizeof(*m));
	char *secret;

	m->host = host;
	m->tail = &m->queue;
	atomic_init(&m->abort, 0);
	/* mail_check has vouched for the settings */
	m->smtp_server = smtp_server(cfg->mail_smtp_url);
	if (cfg->mail_imap_url != NULL && *cfg->mail_imap_url != '\0')
		m->imap_url = imap_mailbox_url(cfg->mail_imap_url);
	if (m->smtp_server == NULL) {
		log_error("mail: invalid mail.smtp_url");
		goto fail;
	}
	secret = store_setting(host->st, "token_secret");
	if (secret == NULL) {
		log_error("mail: the database has no token_secret");
		goto fail;
	}
	str_free_secret(secret);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("mail: cannot initialise libcurl");
		goto fail;
	}
	if (m->imap_url != NULL && (m->curl = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		log_error("mail: cannot initialise libcurl");
		goto fail;
	}
	mail_tls_warning(cfg);
	auth_client_init();
	uv_timer_init(host->loop, &m->poll_timer);
	m->poll_timer.data = m;
	m->timer_open = 1;
	if (m->imap_url != NULL)
		imap_schedule(m, IMAP_FIRST_POLL_MS);
	else
		log_info("mail: no mail.imap_url: replies and mailed incidents "
			 "are not read");
	/* SMTP connects per batch: without a mailbox to poll there is no
	 * connection to watch, and failed sends show in the outbox */
	if (m->imap_url == NULL)
		host_state(host, "mail", TRANSPORT_CONNECTED, NULL);
	*state = m;
	return 0;
fail:
	free(m->imap_url);
	free(m->smtp_server);
	free(m);
	return -1;
}

void
mail_tls_warning(const struct config *cfg)
{
	if (cfg->mail_enabled && !cfg->mail_tls_verify)
		log_warnx("mail: mail.tls_verify = false: the SMTP and IMAP "
			  "servers' certificates and host names are not "
			  "checked; anyone on the network path can read the "
			  "mail and the passwords");
}

static int
mail_reaches(void *state, const struct person *p, const char *address)
{
	(void)state;
	if (address != NULL)
		return mailbuild_address_ok(address);
	return p != NULL && mailbuild_address_ok(p->email);
}

static void
mail_stop(void *state)
{
	struct mail *m = state;
	struct smtp_item *it, *next;

	if (m->stopping)
		return;
	m->stopping = 1;
	atomic_store(&m->abort, 1);
	/* queued, not started: left pending in the outbox at shutdown; when
	 * only this transport stops, handed back for a later retry */
	for (it = m->queue; it; it = next) {
		next = it->next;
		if (!m->host->stopping)
			host_delivery_done(m->host, it->delivery_id, SEND_RETRY,
					   NULL, NULL, 0,
					   "the mail transport stopped");
		item_free(it);
	}
	m->queue = NULL;
	m->tail = &m->queue;
	if (m->smtp_busy || m->imap_busy)
		log_info("mail: stopping after the %s in flight",
			 m->smtp_busy ? "send" : "IMAP poll");
	uv_timer_stop(&m->poll_timer);
	uv_close((uv_handle_t *)&m->poll_timer, timer_closed);
}

static int
mail_enabled(const struct config *cfg)
{
	return cfg->mail_enabled;
}

static int
mail_check(const struct config *cfg, struct buf *out)
{
	char *url;
	int n = 0;

	if (!mailbuild_address_ok(cfg->mail_from)) {
		buf_printf(out, "mail.from \"%s\" is not a plain address\n",
			   cfg->mail_from ? cfg->mail_from : "");
		n++;
	}
	url = smtp_server(cfg->mail_smtp_url);
	if (url == NULL) {
		buf_puts(out, "mail.smtp_url must be smtp://host[:port] "
			      "(implicit TLS, smtps://, is not supported: use "
			      "port 587 with starttls = required)\n");
		n++;
	}
	free(url);
	if (cfg->mail_imap_url != NULL && *cfg->mail_imap_url != '\0') {
		url = imap_mailbox_url(cfg->mail_imap_url);
		if (url == NULL) {
			buf_puts(out, "mail.imap_url must be "
				      "imap[s]://host[:port][/MAILBOX]\n");
			n++;
		}
		free(url);
	}
	return n;
}

const struct adapter_ops mail_ops = {
    .name = "mail",
    .enabled = mail_enabled,
    .check = mail_check,
    .start = mail_start,
    .reaches = mail_reaches,
    .send = mail_send,
    .stop = mail_stop,
    .free = mail_free,
};
