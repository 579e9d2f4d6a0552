/*
 * Inbound mail policy: what one received message means (an approval
 * reply, a quiz answer, a mailed incident, automatic mail, a stranger's
 * mail) and the Reply-To addresses that carry reply tokens. Runs on the loop
 * thread with the store; no network.
 */
#ifndef ISMS_MAILIN_H
#define ISMS_MAILIN_H

#include <stddef.h>
#include <stdint.h>

#include "../commands/msgkind.h"
#include "../config/config.h"
#include "../store/store.h"

/* What became of a message. */
enum mailin_what {
	MAILIN_BROKEN,	  /* unreadable MIME: nothing done */
	MAILIN_DUPLICATE, /* Message-ID seen before: nothing done */
	MAILIN_IGNORED,	  /* automatic, from ourselves, no usable sender */
	MAILIN_DECIDED,	  /* an approval decision was recorded */
	MAILIN_QUIZ,	  /* a quiz answer was recorded */
	MAILIN_REFUSED,	  /* a reply that decides nothing; sender told */
	MAILIN_INCIDENT,  /* a new incident; the reporter was told */
	MAILIN_TRIAGE,	  /* stranger: isms_managers told, sender not */
	MAILIN_ANSWERED,  /* a known sender told what this address takes */
};

struct mailin_outcome {
	enum mailin_what what;
	char reason[200]; /* for logs and tests; never the body */
	int64_t object;	  /* APR or INC number, quiz_item_ref(), if any */
	int queued;	  /* outbox rows were written */
};

/*
 * Processes one received message of len bytes in one store transaction
 * with its Message-ID de-duplication. Returns 0 when the message is
 * finished with (flag it done, whatever the outcome), -1 when it must be
 * read again later (the database failed; nothing was kept). Logs one
 * line per message, without the body. out may be NULL.
 */
int mailin_process(struct store *st, const struct config *cfg, const char *data,
		   size_t len, struct mailin_outcome *out);

/*
 * The Reply-To address of a mail about object sent to person_id:
 * <local part of mail.from>+<token>@<mail.reply_domain>. MSG_APPROVAL:
 * object is the APR number, the token expires 7 days after the request's
 * deadline; MSG_QUIZ: object is a quiz_item_ref() of that person's
 * question, the token expires a day after the campaign's deadline.
 * Caller frees; NULL for another kind, an unknown object, or when the
 * configuration lacks an address.
 */
char *mailin_reply_address(struct store *st, const struct config *cfg,
			   enum msg_kind kind, int64_t object,
			   int64_t person_id);

/* Whether the Authentication-Results value says dkim=pass for domain,
 * added by authserv_id. Exposed for tests. */
int mailin_dkim_pass(const char *value, const char *authserv_id,
		     const char *domain);

#endif
