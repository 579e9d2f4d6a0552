/*
 * Inbound mail policy. Every message is one store transaction: its
 * Message-ID de-duplication, then at most one of: an approval decision or
 * a quiz answer through the command engine, a new incident, a refusal or
 * answer to a known sender, a triage notice about a stranger. Bodies
 * never reach the log.
 */
#include "mailin.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../commands/cmd.h"
#include "../commands/quiz.h"
#include "../base/log.h"
#include "mailbuild.h"
#include "mailtoken.h"
#include "mime.h"

#define ATTACHMENTS_LISTED 10
#define ANSWERS_PER_HOUR   10 /* mail answers to one address */
#define CUT_NOTE	   "\n[... cut; the full text is in the mail]"

/* The headers that may carry the address a message was sent to. */
static const char *const recipient_fields[] = {
    "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To",
};

struct inmsg {
	struct store *st;
	const struct config *cfg;
	struct mime_msg m;
	const char *msgid; /* Message-ID or a digest of the bytes */
	char digest[80];
	struct person sender;
	int known;
	struct mailin_outcome *out;
};

static void outcome(struct inmsg *in, enum mailin_what what, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

static void
outcome(struct inmsg *in, enum mailin_what what, const char *fmt, ...)
{
	va_list ap;

	in->out->what = what;
	va_start(ap, fmt);
	vsnprintf(in->out->reason, sizeof(in->out->reason), fmt, ap);
	va_end(ap);
}

/* Local part and domain of mail.from; 0, or -1 when it has none. */
static int
from_parts(const struct config *cfg, char *local, size_t ll,
	   const char **domain)
{
	const char *from = cfg->mail_from ? cfg->mail_from : "";
	const char *at = strrchr(from, '@');

	if (at == NULL || at == from || (size_t)(at - from) >= ll)
		return -1;
	memcpy(local, from, (size_t)(at - from));
	local[at - from] = '\0';
	*domain = at + 1;
	return 0;
}

/* ---- DKIM ---- */

/* Copies v without comments; quoted strings kept as written. */
static char *
strip_comments(const char *v)
{
	struct buf b = {0};
	int depth = 0, q = 0;

	for (; *v; v++) {
		if (q) {
			if (*v == '\\' && v[1] != '\0')
				buf_putc(&b, *v++);
			else if (*v == '"')
				q = 0;
			buf_putc(&b, *v);
		} else if (depth > 0) {
			if (*v == '\\' && v[1] != '\0')
				v++;
			else if (*v == '(')
				depth++;
			else if (*v == ')')
				depth--;
		} else if (*v == '(') {
			depth = 1;
			buf_putc(&b, ' ');
		} else {
			if (*v == '"')
				q = 1;
			buf_putc(&b, *v);
		}
	}
	return buf_steal(&b);
}

/* Next ';'-separated piece of *p outside quotes; NULL at the end. */
static char *
next_piece(char **p)
{
	char *s = *p, *e;
	int q = 0;

	if (s == NULL)
		return NULL;
	for (e = s; *e; e++) {
		if (*e == '"')
			q = !q;
		else if (*e == ';' && !q)
			break;
	}
	if (*e == ';') {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = NULL;
	}
	return s;
}

/* "name = value" words of a resinfo: is name's value equal to want? */
static int
prop_is(const char *resinfo, const char *name, const char *want)
{
	size_t nl = strlen(name);
	const char *p = resinfo;

	while ((p = strcasestr(p, name)) != NULL) {
		const char *v = p + nl;
		char val[256];
		size_t n = 0;

		if (p != resinfo && !isspace((unsigned char)p[-1])) {
			p += nl;
			continue;
		}
		while (isspace((unsigned char)*v))
			v++;
		if (*v != '=') {
			p += nl;
			continue;
		}
		v++;
		while (isspace((unsigned char)*v))
			v++;
		if (*v == '"')
			v++;
		while (*v && !isspace((unsigned char)*v) && *v != '"' &&
		       n < sizeof(val) - 1)
			val[n++] = *v++;
		val[n] = '\0';
		return strcasecmp(val, want) == 0;
	}
	return 0;
}

/* The authserv-id of an Authentication-Results value into id; empty when
 * there is none. */
static void
ar_authserv(const char *value, char *id, size_t len)
{
	char *v = strip_comments(value ? value : ""), *p = v, *piece;

	id[0] = '\0';
	piece = next_piece(&p);
	if (piece != NULL) {
		/* authserv-id, optionally followed by a version number */
		piece = str_trim(piece);
		piece[strcspn(piece, " \t\r\n")] = '\0';
		snprintf(id, len, "%s", piece);
	}
	free(v);
}

int
mailin_dkim_pass(const char *value, const char *authserv_id, const char *domain)
{
	char *v = strip_comments(value ? value : ""), *p = v, *piece;
	char id[256];
	int ok = 0;

	ar_authserv(value, id, sizeof(id));
	if (authserv_id == NULL || *authserv_id == '\0' || domain == NULL ||
	    *domain == '\0' || strcasecmp(id, authserv_id) != 0)
		goto out;
	(void)next_piece(&p); /* the authserv-id */
	while (!ok && (piece = next_piece(&p)) != NULL)
		ok = prop_is(piece, "dkim", "pass") &&
		     prop_is(piece, "header.d", domain);
out:
	free(v);
	return ok;
}

/*
 * The receiving server's DKIM verdict for the From domain. Each hop
 * prepends its Authentication-Results, so only the first
 * mail.trusted_ar_headers of them from the top were written by our own
 * servers; a header below them is the sender's word whatever authserv-id
 * it names (RFC 8601 section 5 only asks servers to remove such headers),
 * and is ignored.
 */
static int
dkim_ok(struct inmsg *in)
{
	const char *domain = mailbuild_domain(in->m.from);
	const char *authserv = in->cfg->mail_authserv_id;
	const char *v;
	size_t pos = 0;
	int n = 0, ok = 0;
	int trusted = in->cfg->mail_trusted_ar_headers > 0
			  ? in->cfg->mail_trusted_ar_headers
			  : 1;
	char id[256];

	while ((v = mime_get_next(&in->m, "Authentication-Results", &pos)) !=
	       NULL) {
		if (n++ < trusted) {
			if (mailin_dkim_pass(v, authserv, domain))
				ok = 1;
			continue;
		}
		ar_authserv(v, id, sizeof(id));
		if (authserv != NULL && strcasecmp(id, authserv) == 0)
			log_debug("mail: message %.100s: ignored an "
				  "Authentication-Results header of %.60s "
				  "below the %d trusted one(s) at the top",
				  in->msgid, authserv, trusted);
	}
	return ok;
}

/* ---- classifying ---- */

/* Why the message is automatic (and decides nothing), or NULL. */
static const char *
automatic(const struct mime_msg *m)
{
	static const char *const subjects[] = {
	    "out of office",
	    "automatic reply",
	    "auto:",
	    "autoreply",
	    "auto-reply",
	    "auto reply",
	    "abwesenheitsnotiz",
	    "undeliverable:",
	    "undelivered mail",
	    "delivery status notification",
	};
	const char *v;
	size_t i;

	v = mime_get(m, "Auto-Submitted");
	if (v != NULL &&
	    !(str_casecmp_prefix(v, "no") &&
	      (v[2] == '\0' || v[2] == ';' || isspace((unsigned char)v[2]))))
		return "Auto-Submitted";
	v = mime_get(m, "Return-Path");
	if (v != NULL) {
		char *c = xstrdup(v), *t = str_trim(c);
		int empty = strcmp(t, "<>") == 0 || strcmp(t, "< >") == 0;

		free(c);
		if (empty)
			return "a bounce (empty Return-Path)";
	}
	if (m->report)
		return "a delivery or read report (multipart/report)";
	v = mime_get(m, "Precedence");
	if (v != NULL &&
	    (str_casecmp_prefix(v, "bulk") || str_casecmp_prefix(v, "junk") ||
	     str_casecmp_prefix(v, "list") ||
	     str_casecmp_prefix(v, "auto_reply")))
		return "Precedence bulk, list or auto_reply";
	if (mime_get(m, "X-Autoreply") != NULL ||
	    mime_get(m, "X-Autorespond") != NULL ||
	    mime_get(m, "X-Autoresponse") != NULL)
		return "an auto-reply header";
	if (mime_get(m, "List-Id") != NULL)
		return "mailing-list mail (List-Id)";
	if (m->from != NULL && (str_casecmp_prefix(m->from, "mailer-daemon@") ||
				str_casecmp_prefix(m->from, "postmaster@")))
		return "a mailer daemon";
	for (i = 0; i < ARRAY_LEN(subjects); i++)
		if (str_casecmp_prefix(m->subject, subjects[i]))
			return "an out-of-office or delivery subject";
	return NULL;
}

/*
 * The reply token in a recipient address <from-local>+<token>@<domain>,
 * domain being mail.reply_domain or mail.from's. New string or NULL.
 */
static char *
find_token(struct inmsg *in)
{
	char local[128];
	const char *from_domain;
	size_t f, ll;
	char *tok = NULL;

	if (from_parts(in->cfg, local, sizeof(local), &from_domain) < 0)
		return NULL;
	ll = strlen(local);
	for (f = 0; tok == NULL && f < ARRAY_LEN(recipient_fields); f++) {
		const char *v;
		size_t pos = 0;

		while (tok == NULL &&
		       (v = mime_get_next(&in->m, recipient_fields[f], &pos)) !=
			   NULL) {
			char **a = NULL;
			size_t n = mime_addresses(v, &a), i;

			for (i = 0; tok == NULL && i < n; i++) {
				const char *at = strrchr(a[i], '@');
				const char *dom = at + 1;

				if (strncasecmp(a[i], local, ll) != 0 ||
				    a[i][ll] != '+' ||
				    (strcasecmp(dom, from_domain) != 0 &&
				     (in->cfg->mail_reply_domain == NULL ||
				      strcasecmp(dom,
						 in->cfg->mail_reply_domain) !=
					  0)))
					continue;
				tok = xstrndup(a[i] + ll + 1,
					       (size_t)(at - a[i]) - ll - 1);
			}
			mime_addrs_free(a, n);
		}
	}
	return tok;
}

static int
addressed_to(struct inmsg *in, const char *addr)
{
	size_t f;
	int hit = 0;

	if (addr == NULL || *addr == '\0')
		return 0;
	for (f = 0; !hit && f < ARRAY_LEN(recipient_fields); f++) {
		const char *v;
		size_t pos = 0;

		while (!hit && (v = mime_get_next(&in->m, recipient_fields[f],
						  &pos)) != NULL) {
			char **a = NULL;
			size_t n = mime_addresses(v, &a), i;

			for (i = 0; i < n; i++)
				if (strcasecmp(a[i], addr) == 0)
					hit = 1;
			mime_addrs_free(a, n);
		}
	}
	return hit;
}

/* ---- answers ---- */

/*
 * Queues a mail answer to the sender (kind "reply", bare address). A
 * sender who already got ANSWERS_PER_HOUR answers in the last hour gets
 * no more: a misbehaving auto-responder cannot start a mail loop. The
 * answer to a recorded decision or quiz answer (recorded set) goes out
 * anyway: each used up the request or question it answered, so they
 * cannot loop, and a quiz of 20 questions may well be done in an hour.
 */
static int
answer(struct inmsg *in, const char *body, int recorded)
{
	char *subject, *payload;
	json_t *j;
	int64_t id, tenth = 0;
	int rc;

	rc = db_int(in->st, &tenth,
		    "SELECT created_at FROM outbox WHERE kind = 'reply' AND "
		    "address = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
		    "ti", in->sender.email, (int64_t)(ANSWERS_PER_HOUR - 1));
	if (rc < 0)
		return -1;
	if (!recorded && rc == 1 && tenth > store_now(in->st) - 3600) {
		log_warnx("mail: not answering %s again: %d answers in the "
			  "last hour",
			  in->sender.email, ANSWERS_PER_HOUR);
		return 0;
	}
	j = json_pack("{s:s}", "in_reply_to", in->msgid);

	subject = str_casecmp_prefix(in->m.subject, "re:")
		      ? xstrdup(in->m.subject)
		      : xasprintf("Re: %s",
				  *in->m.subject ? in->m.subject : "your mail");
	payload = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	id = store_outbox_add(in->st, 0, in->sender.email,
			      msg_kind_name(MSG_REPLY), subject, body, NULL,
			      payload);
	free(subject);
	free(payload);
	if (id < 0)
		return -1;
	in->out->queued = 1;
	return 0;
}

/* A stranger's mail: the isms_managers hear of it, the sender does not. */
static int
triage(struct inmsg *in)
{
	struct isms_reply rp = {0};
	struct isms_request rq = {
	    .via = "mail", .id_kind = "email", .id = in->m.from, .text = ""};
	struct cmd_ctx ctx = {.st = in->st,
			      .cfg = in->cfg,
			      .rq = &rq,
			      .rp = &rp,
			      .now = store_now(in->st)};
	char *subject, *body;
	int rc;

	outcome(in, MAILIN_TRIAGE, "sender not in the directory");
	subject = xasprintf("Mail from unknown sender %s: %s", in->m.from,
			    *in->m.subject ? in->m.subject : "(no subject)");
	body = xasprintf(
	    "A message from %s, who is not in the ISMS directory, reached "
	    "the ISMS mailbox%s%s.\nSubject: %s\n\nIt was not answered (no "
	    "backscatter) and nothing was recorded. Its text is not "
	    "forwarded; read it in the mailbox if it matters, and record an "
	    "incident with /isms incident report if it reports one.",
	    in->m.from,
	    addressed_to(in, in->cfg->mail_incident_address)
		? " at the incident address "
		: "",
	    addressed_to(in, in->cfg->mail_incident_address)
		? in->cfg->mail_incident_address
		: "",
	    *in->m.subject ? in->m.subject : "(no subject)");
	rc = cmd_notify_role(&ctx, ROLE_ISMS_MANAGER, 0, MSG_NOTICE, subject,
			     body);
	if (rp.notices.len)
		in->out->queued = 1;
	reply_free(&rp);
	free(subject);
	free(body);
	return rc;
}

/* ---- replies with tokens ---- */

/*
 * What a reply token of each kind is about and how a reply to it becomes
 * a command. Every kind shares token_reply's checks: a genuine, unexpired
 * token, the sender it was sent to, DKIM, the first line of the reply.
 */
struct reply_kind {
	const char *kind;      /* as in mailtoken.c */
	int64_t grace;	       /* a token outlives the object's deadline */
	enum mailin_what done; /* the outcome when the command took effect */
	const char *hint;      /* for refusals: how else to answer */
	/* The deadline of object for person: 1, 0 unknown, -1 error. */
	int (*deadline)(struct store *st, int64_t object, int64_t person,
			int64_t *out);
	/* "APR-3", "question 2 of QZ-1". */
	void (*name)(int64_t object, char *out, size_t len);
	/*
	 * The command that the reply's first line (NULL: none) asks for:
	 * 1 with *text (new) and in what a description without words of
	 * the mail; 0 with the reason to refuse in what; -1 error.
	 */
	int (*command)(struct inmsg *in, const struct mailtoken *t,
		       const char *line, char **text, char *what, size_t wl);
};

/* A reply that decides nothing: logged (no body), the sender told. */
static int
refuse(struct inmsg *in, const struct reply_kind *rk, const char *why)
{
	char *body;
	int rc;

	outcome(in, MAILIN_REFUSED, "%s", why);
	body = xasprintf("Your mail was not accepted: %s.\n\nNothing was "
			 "changed.%s",
			 why, rk != NULL ? rk->hint : "");
	rc = answer(in, body, 0);
	free(body);
	return rc;
}

static int
approval_deadline(struct store *st, int64_t apr, int64_t person, int64_t *out)
{
	(void)person; /* the request is checked as routed when answered */
	return approval_deadline_of(st, apr, out);
}

static void
approval_name(int64_t apr, char *out, size_t len)
{
	snprintf(out, len, "APR-%lld", (long long)apr);
}

/* The first word of a reply line: approve or reject, and the rest. */
static int
decision_word(const char *line, int *approve, const char **rest)
{
	char w[16];
	size_t n = strcspn(line, " \t");

	if (n == 0 || n >= sizeof(w))
		return -1;
	memcpy(w, line, n);
	w[n] = '\0';
	/* "Approve." and "reject:" count too */
	while (n > 0 && strchr(".,;:!", w[n - 1]) != NULL)
		w[--n] = '\0';
	if (strcasecmp(w, "approve") == 0)
		*approve = 1;
	else if (strcasecmp(w, "reject") == 0)
		*approve = 0;
	else
		return -1;
	/* "Approve - fine" and "reject: too early" drop the separator */
	*rest = line + strcspn(line, " \t");
	while (**rest != '\0' && strchr(" \t-:,.", **rest) != NULL)
		(*rest)++;
	return 0;
}

/* "approve APR-n <comment>" or "reject APR-n <reason>". */
static int
approval_command(struct inmsg *in, const struct mailtoken *t, const char *line,
		 char **text, char *what, size_t wl)
{
	const char *rest;
	int approve, routed;

	routed = approval_routed_to(in->st, t->object_id, &in->sender);
	if (routed < 0)
		return -1;
	if (!routed) {
		snprintf(what, wl, "APR-%lld is not routed to you",
			 (long long)t->object_id);
		return 0;
	}
	if (line == NULL || decision_word(line, &approve, &rest) < 0) {
		snprintf(what, wl,
			 "the first line of your reply must start with "
			 "approve or reject (\"reject <reason>\")");
		return 0;
	}
	*text = xasprintf("%s APR-%lld %s", approve ? "approve" : "reject",
			  (long long)t->object_id, rest);
	snprintf(what, wl, "%s APR-%lld", approve ? "approve" : "reject",
		 (long long)t->object_id);
	return 1;
}

static int
quiz_deadline(struct store *st, int64_t ref, int64_t person, int64_t *out)
{
	return quiz_item_command(st, ref, person, 0, NULL, 0, out);
}

/* "quiz answer QZ-n <question> <1-4>" for the item the token names. */
static int
quiz_command(struct inmsg *in, const struct mailtoken *t, const char *line,
	     char **text, char *what, size_t wl)
{
	char name[64], cmd[160];
	int choice = line != NULL ? quiz_reply_choice(line) : 0;
	int rc;

	quiz_item_name(t->object_id, name, sizeof(name));
	if (choice == 0) {
		snprintf(what, wl,
			 "the first line of your reply must start with the "
			 "number of your answer to %s, 1 to 4",
			 name);
		return 0;
	}
	rc = quiz_item_command(in->st, t->object_id, t->person_id, choice, cmd,
			       sizeof(cmd), NULL);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		snprintf(what, wl, "%s is no longer in the quiz", name);
		return 0;
	}
	*text = xstrdup(cmd);
	snprintf(what, wl, "answer %d to %s", choice, name);
	return 1;
}

static const struct reply_kind reply_kinds[] = {
    {"approval", 7 * 86400, MAILIN_DECIDED,
     " You can also answer in chat or with /isms approve APR-n or /isms "
     "reject APR-n <reason>.",
     approval_deadline, approval_name, approval_command},
    /* a day after the campaign closed: "closed", not "expired" */
    {"quiz", 86400, MAILIN_QUIZ,
     " You can also answer in chat with /isms quiz answer <1-4>.",
     quiz_deadline, quiz_item_name, quiz_command},
};

static const struct reply_kind *
reply_kind(const char *kind)
{
	size_t i;

	for (i = 0; kind != NULL && i < ARRAY_LEN(reply_kinds); i++)
		if (strcmp(reply_kinds[i].kind, kind) == 0)
			return &reply_kinds[i];
	return NULL;
}

char *
mailin_reply_address(struct store *st, const struct config *cfg,
		     enum msg_kind kind, int64_t object, int64_t person_id)
{
	/* a reply token's kind is named as the outbox kind it answers */
	const struct reply_kind *rk = reply_kind(msg_kind_name(kind));
	struct mailtoken t = {.kind = msg_kind_name(kind),
			      .object_id = object,
			      .person_id = person_id};
	char local[128], tok[MAILTOKEN_LEN + 1], *secret = NULL, *r = NULL;
	const char *domain;
	int64_t deadline;

	if (rk == NULL || from_parts(cfg, local, sizeof(local), &domain) < 0 ||
	    cfg->mail_reply_domain == NULL || *cfg->mail_reply_domain == '\0')
		return NULL;
	if (rk->deadline(st, object, person_id, &deadline) != 1)
		return NULL;
	t.expires = deadline + rk->grace;
	secret = store_setting(st, "token_secret");
	if (secret != NULL && mailtoken_make(secret, &t, tok) == 0)
		r = xasprintf("%s+%s@%s", local, tok, cfg->mail_reply_domain);
	str_free_secret(secret);
	return r;
}

/*
 * A reply to a mail with a token: checked, then run through the command
 * engine as the sender. The sender gets the engine's answer or a refusal.
 */
static int
token_reply(struct inmsg *in, const char *token)
{
	const struct reply_kind *rk = NULL;
	struct mailtoken t;
	struct isms_reply rp = {0};
	/*
	 * No event_id: the Message-ID is already recorded in this
	 * transaction (refusals need it too), and cmd_run would take the
	 * message for a redelivery. cmd_run nests in our transaction: a
	 * refused command rolls back to its own savepoint only.
	 */
	struct isms_request rq = {
	    .via = "mail", .id_kind = "email", .id = in->sender.email};
	char *secret = store_setting(in->st, "token_secret"), *line = NULL;
	char *text = NULL, name[64], when[16], why[200];
	enum mailtoken_status ts;
	int rc = -1;

	if (secret == NULL)
		goto out;
	ts = mailtoken_check(secret, token, store_now(in->st), &t);
	if (ts == MAILTOKEN_OK || ts == MAILTOKEN_EXPIRED)
		rk = reply_kind(t.kind);
	if (rk == NULL) {
		rc = refuse(in, NULL,
			    "the reply address is not valid (was it "
			    "changed?); reply to the original mail itself");
		goto out;
	}
	rk->name(t.object_id, name, sizeof(name));
	in->out->object = t.object_id;
	if (ts == MAILTOKEN_EXPIRED) {
		time_date(t.expires, when);
		snprintf(why, sizeof(why),
			 "the reply address of %s expired on %s", name, when);
		rc = refuse(in, rk, why);
		goto out;
	}
	if (t.person_id != in->sender.id) {
		snprintf(why, sizeof(why),
			 "%s was sent to someone else; only they may answer "
			 "it by mail",
			 name);
		rc = refuse(in, rk, why);
		goto out;
	}
	if (in->cfg->mail_require_dkim && !dkim_ok(in)) {
		snprintf(why, sizeof(why),
			 "your mail could not be verified (no DKIM pass for "
			 "%.60s from %.60s)",
			 mailbuild_domain(in->m.from),
			 in->cfg->mail_authserv_id);
		rc = refuse(in, rk, why);
		goto out;
	}
	line = mime_reply_line(in->m.text);
	rc = rk->command(in, &t, line, &text, why, sizeof(why));
	if (rc <= 0) {
		if (rc == 0)
			rc = refuse(in, rk, why);
		goto out;
	}
	rq.text = text;
	if (cmd_run(in->st, in->cfg, &rq, &rp) == 0) {
		outcome(in, rk->done, "recorded %s", why);
		if (rp.notices.len)
			in->out->queued = 1;
		rc = answer(in, buf_str(&rp.text), 1);
	} else {
		outcome(in, MAILIN_REFUSED, "the command engine refused %s",
			why);
		rc = answer(in, buf_str(&rp.text), 0);
	}
out:
	str_free_secret(secret);
	free(line);
	free(text);
	reply_free(&rp);
	return rc;
}

/* Title, description and attachment note of a mailed incident. */
static int
incident_mail(struct inmsg *in)
{
	struct isms_reply rp = {0};
	struct isms_request rq = {.via = "mail",
				  .id_kind = "email",
				  .id = in->m.from,
				  .text = "",
				  .event_id = in->msgid};
	struct incident_new inc = {0};
	struct buf note = {0}, desc = {0};
	char *body = xstrdup(in->m.text), *b;
	char *subject = xstrdup(in->m.subject);
	size_t i, room;
	int64_t id;
	int rc = -1;

	/* as for commands: no control or bidi override reaches a record */
	str_strip_unsafe(body);
	str_strip_unsafe(subject);
	b = str_trim(body);

	if (in->m.natt > 0) {
		buf_puts(&note, "\n\nAttachments (not stored):");
		for (i = 0; i < in->m.natt && i < ATTACHMENTS_LISTED; i++)
			buf_printf(&note, "\n- %.120s (%zu bytes)",
				   in->m.att[i].name, in->m.att[i].size);
		if (in->m.natt > ATTACHMENTS_LISTED)
			buf_printf(&note, "\n- and %zu more",
				   in->m.natt - ATTACHMENTS_LISTED);
	}
	if (*b == '\0')
		b = subject;
	/* the mail may be longer than a description: cut, and say so */
	room = INCIDENT_TEXT_MAX - note.len - sizeof(CUT_NOTE);
	if (strlen(b) > room) {
		size_t n = room;

		while (n > 0 && ((unsigned char)b[n] & 0xc0) == 0x80)
			n--;
		buf_add(&desc, b, n);
		buf_puts(&desc, CUT_NOTE);
	} else {
		buf_puts(&desc, b);
	}
	buf_puts(&desc, buf_str(&note));
	inc.title = *subject ? subject : b;
	inc.description = buf_str(&desc);
	if (*inc.title == '\0')
		inc.title = inc.description;
	id = incident_report_new(in->st, in->cfg, &rq, &in->sender, &inc, &rp);
	if (id < 0 && !rp.error)
		goto out; /* the database: read the mail again later */
	if (id > 0) {
		outcome(in, MAILIN_INCIDENT, "INC-%lld reported",
			(long long)id);
		in->out->object = id;
		in->out->queued = 1;
	} else {
		outcome(in, MAILIN_REFUSED, "incident refused: %.120s",
			buf_str(&rp.text));
	}
	rc = answer(in, buf_str(&rp.text), 0);
out:
	reply_free(&rp);
	buf_free(&note);
	buf_free(&desc);
	free(body);
	free(subject);
	return rc;
}

/* Decides what the message is and does it; -1 on a database error. */
static int
dispatch(struct inmsg *in)
{
	const char *why;
	char *token;
	int rc;

	why = automatic(&in->m);
	if (why != NULL) {
		outcome(in, MAILIN_IGNORED, "automatic mail: %s", why);
		return 0;
	}
	if (in->m.nfrom != 1) {
		outcome(in, MAILIN_IGNORED, "%zu From addresses", in->m.nfrom);
		return 0;
	}
	if (in->cfg->mail_from != NULL &&
	    strcasecmp(in->m.from, in->cfg->mail_from) == 0) {
		outcome(in, MAILIN_IGNORED, "our own mail came back");
		return 0;
	}
	rc = store_person_find(in->st, "email", in->m.from, &in->sender);
	if (rc < 0)
		return -1;
	in->known = rc == 1;
	if (!in->known)
		return triage(in);
	token = find_token(in);
	if (token != NULL) {
		rc = token_reply(in, token);
		free(token);
		return rc;
	}
	if (addressed_to(in, in->cfg->mail_incident_address))
		return incident_mail(in);
	outcome(in, MAILIN_ANSWERED,
		"no reply token, not to the incident "
		"address");
	{
		const char *ia = in->cfg->mail_incident_address;
		char *body = xasprintf(
		    "This address takes replies to approval requests (answer "
		    "the request mail itself, first line \"approve\" or "
		    "\"reject <reason>\"), answers to quiz questions (reply to "
		    "the question mail with the number of your answer)%s%s. "
		    "Nothing was recorded from your mail.",
		    ia && *ia ? " and incident reports sent to " : "",
		    ia && *ia ? ia : "");

		rc = answer(in, body, 0);
		free(body);
	}
	return rc;
}

int
mailin_process(struct store *st, const struct config *cfg, const char *data,
	       size_t len, struct mailin_outcome *out)
{
	struct mailin_outcome dummy = {0};
	struct inmsg in = {.st = st, .cfg = cfg};
	char err[160];
	int rc;

	in.out = out ? out : &dummy;
	memset(in.out, 0, sizeof(*in.out));
	if (mime_parse(data, len, &in.m, err, sizeof(err)) < 0) {
		outcome(&in, MAILIN_BROKEN, "unreadable: %s", err);
		log_warnx("mail: a message of %zu bytes is unreadable (%s); "
			  "nothing was done",
			  len, err);
		return 0;
	}
	if (in.m.message_id != NULL) {
		in.msgid = in.m.message_id;
	} else {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int ml = 0;

		/* no Message-ID: the bytes themselves identify a redelivery */
		EVP_Digest(data, len, md, &ml, EVP_sha256(), NULL);
		memcpy(in.digest, "sha256:", 7);
		hex_encode(md, ml > 32 ? 32 : ml, in.digest + 7);
		in.msgid = in.digest;
	}
	if (store_begin(st) < 0) {
		mime_msg_free(&in.m);
		return -1;
	}
	rc = store_inbox_seen(st, "mail", in.msgid);
	if (rc == 1) {
		store_rollback(st);
		outcome(&in, MAILIN_DUPLICATE, "already processed");
	} else if (rc < 0 || dispatch(&in) < 0 || store_commit(st) < 0) {
		store_rollback(st);
		log_error("mail: message %.100s from %.100s could not be "
			  "recorded; it will be read again",
			  in.msgid, in.m.from ? in.m.from : "?");
		in.out->queued = 0;
		mime_msg_free(&in.m);
		return -1;
	}
	log_info("mail: message %.100s from %.100s: %s", in.msgid,
		 in.m.from ? in.m.from : "?", in.out->reason);
	mime_msg_free(&in.m);
	return 0;
}
