/*
 * The command engine: a request from any transport is parsed, its sender
 * resolved and authorised, and the command runs in one store transaction
 * (change + audit row + outbox rows). Knows nothing of Slack, Matrix or
 * mail.
 */
#ifndef ISMS_CMD_H
#define ISMS_CMD_H

#include <jansson.h>
#include <stdint.h>

#include "../config/config.h"
#include "../base/util.h"
#include "../store/store.h"
#include "msgkind.h"
#include "parse.h"

/* What an adapter hands in. Every pointer is borrowed for the call. */
struct isms_request {
	const char *via;      /* "console", "slack", "matrix", "mail", "cli" */
	const char *id_kind;  /* "handle", "slack", "matrix", "email" */
	const char *id;	      /* the sender's identity on that transport */
	const char *text;     /* the command line */
	int shared;	      /* typed in a shared channel or room */
	const char *event_id; /* platform id for de-duplication, or NULL */
};

/* What comes back. Release with reply_free. */
struct isms_reply {
	struct buf text;
	int error;	  /* refused or malformed: nothing changed */
	int confidential; /* holds incident or risk details: answer privately */
	int duplicate;	  /* a redelivered event: nothing to say */
	int unknown;	  /* the sender is not in the directory */
	struct buf notices; /* a line per message queued, the first few */
	int nnotices;	    /* how many messages were queued in all */
};

#define REPLY_NOTICES_SHOWN 20

void reply_free(struct isms_reply *rp);

struct cmd_ctx;

/*
 * Command flags. A person whose only elevated role is auditor runs
 * CMD_READONLY commands and changes no record of the ISMS, with one
 * exception the engine checks itself: CMD_OWN_AUDIT, recording findings
 * of an audit whose named auditor they are (pos[0] is the AUD-n).
 * CMD_SELF marks what every member of staff owes for themselves
 * (reporting an incident, acknowledging a policy, answering an awareness
 * quiz): it changes no record someone else is accountable for, and an
 * auditor is staff too (clauses 7.3, A.6.3, A.6.8).
 */
#define CMD_READONLY  0x1
#define CMD_OWN_AUDIT 0x2
#define CMD_SELF      0x4

/* One verb of a command object; rows use named fields. */
struct cmd_entry {
	const char
	    *verb;	/* NULL: the object alone ("report", "incident ...") */
	unsigned roles; /* holders of any of these may run it; 0 = everyone */
	unsigned flags;
	const char *keys;  /* allowed key=value names, comma separated */
	const char *usage; /* arguments after "object verb" */
	const char *help;  /* one line */
	int (*exec)(struct cmd_ctx *ctx);
};

/*
 * A command object: one file exports one, the engine's table lists them,
 * and help is made from the same rows. A toplevel object's verbs are
 * typed alone ("approve APR-3") and listed one by one in help.
 */
struct cmd_object {
	const char *name; /* the word after /isms */
	const char *help; /* one line */
	int toplevel;
	const struct cmd_entry *commands; /* ends with an empty row */
};

struct cmd_ctx {
	struct store *st;
	const struct config *cfg;
	const struct isms_request *rq;
	const struct cmd_object *object;
	const struct cmd_entry *entry;
	struct cmdline *cl;
	struct isms_reply *rp;
	struct person me;
	int64_t now;
};

/*
 * Runs one request. Always fills rp (a refusal is a reply too). Returns 0
 * when the command took effect or was read-only, -1 otherwise.
 */
int cmd_run(struct store *st, const struct config *cfg,
	    const struct isms_request *rq, struct isms_reply *rp);

/*
 * Runs a command on behalf of a known person, in the caller's transaction
 * (for the scheduler and ismsctl). Same return.
 */
int cmd_run_as(struct store *st, const struct config *cfg,
	       const struct person *who, const char *text,
	       struct isms_reply *rp);

/* Helpers for command implementations. */
int cmd_error(struct cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3))); /* returns -1 */
void cmd_reply(struct cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *cmd_key(struct cmd_ctx *ctx, const char *key);
int has_role(const struct person *p, unsigned roles);
/* Holds the auditor role and no role that changes anything. */
int auditor_only(const struct person *p);

/* "INC-3", "inc-3", "3" with the given prefix; -1 with an error reply. */
int cmd_parse_id(struct cmd_ctx *ctx, const char *word, const char *prefix,
		 int64_t *id);
/* Same, but the word must be present: pos[i]. */
int cmd_pos_id(struct cmd_ctx *ctx, size_t i, const char *prefix, int64_t *id);

/*
 * A person named as handle, @handle, <@U123>, <@U123|name>, @u:server or
 * e-mail address. 0, or -1 with an error reply.
 */
int cmd_person(struct cmd_ctx *ctx, const char *ref, struct person *out);
/*
 * The same for someone made handler or owner (what: "handler of INC-3"):
 * an auditor-only person is refused, auditors stay independent.
 */
int cmd_assignee(struct cmd_ctx *ctx, const char *ref, const char *what,
		 struct person *out);

/*
 * j as json_dumps writes it with JSON_COMPACT (and JSON_SORT_KEYS when
 * sorted), without its cost per character; a new string, NULL when j is.
 */
char *cmd_json_text(json_t *j, int sorted);

/* Audit row with the actor; details stolen (may be NULL). */
int cmd_audit(struct cmd_ctx *ctx, const char *action, const char *object,
	      json_t *details);

/*
 * Queues a message for a person; payload stolen (may be NULL). Records a
 * notice line for the console. Returns the outbox id, 0 when the person
 * is inactive (a leaver: nothing is queued), or -1.
 */
int64_t cmd_notify(struct cmd_ctx *ctx, const struct person *to,
		   enum msg_kind kind, const char *subject, const char *body,
		   json_t *payload);

/* Same for every holder of a role (except skip_id). */
int cmd_notify_role(struct cmd_ctx *ctx, unsigned role, int64_t skip_id,
		    enum msg_kind kind, const char *subject, const char *body);

/* Same with a payload for every message (borrowed, may be NULL). */
int cmd_notify_role_payload(struct cmd_ctx *ctx, unsigned role, int64_t skip_id,
			    enum msg_kind kind, const char *subject,
			    const char *body, const json_t *payload);

/*
 * Top management (ISO/IEC 27001 clause 5): the active holders of the
 * management role, or when nobody holds it the active people at the top of
 * the reporting lines (no manager, managing someone). Up to max ids into
 * ids; returns how many, or -1.
 */
int cmd_management(struct cmd_ctx *ctx, int64_t *ids, size_t max);

/*
 * Queues the same message once for each person of ids[0..n) (duplicates
 * and skip_id left out). 0 or -1.
 */
int cmd_notify_ids(struct cmd_ctx *ctx, const int64_t *ids, size_t n,
		   int64_t skip_id, enum msg_kind kind, const char *subject,
		   const char *body);

/* Formats a date or "-" for 0. */
void cmd_date(int64_t t, char out[16]);

/* The command objects, one per file (the engine's table is in cmd.c). */
extern const struct cmd_object incident_object;
extern const struct cmd_object approval_object;
extern const struct cmd_object asset_object;
extern const struct cmd_object risk_object;
extern const struct cmd_object control_object;
extern const struct cmd_object action_object;
extern const struct cmd_object doc_object;
extern const struct cmd_object audit_object;
extern const struct cmd_object review_object;
extern const struct cmd_object scope_object;
extern const struct cmd_object objective_object;
extern const struct cmd_object report_object;
extern const struct cmd_object quiz_object;
extern const struct cmd_object staff_object;
extern const struct cmd_object context_object;
extern const struct cmd_object party_object;
extern const struct cmd_object obligation_object;
extern const struct cmd_object training_object;
extern const struct cmd_object evidence_object;
extern const struct cmd_object soa_object;
extern const struct cmd_object supplier_object;
extern const struct cmd_object export_object;
extern const struct cmd_object finding_object;
extern const struct cmd_object portal_object;

/*
 * The words that run e ("risk add", "approve") into out; for messages
 * such as usage lines and refusals.
 */
const char *cmd_words(const struct cmd_ctx *ctx, char *out, size_t len);

/* Approval kinds: what happens when a request is decided. */
struct approval_kind {
	const char *name; /* as stored in approvals.kind */
	/* applies the approved change; payload borrowed */
	int (*approved)(struct cmd_ctx *ctx, int64_t apr, const char *object,
			json_t *payload);
	/* optional: undoes a pending state after a rejection */
	int (*rejected)(struct cmd_ctx *ctx, int64_t apr, const char *object,
			json_t *payload);
};

/*
 * The kinds, one row each in the file of the object they change; callers
 * of approval_open() name the row, so a misspelt kind does not compile.
 */
extern const struct approval_kind incident_close_kind;
extern const struct approval_kind risk_accept_kind;
extern const struct approval_kind doc_version_kind;

/*
 * Opens an approval request and tells the approver. any_role: any holder
 * of that role except the requester may decide too. Returns the APR id or
 * -1 with an error reply.
 */
int64_t approval_open(struct cmd_ctx *ctx, const struct approval_kind *kind,
		      const char *object, const char *summary,
		      const struct person *approver, unsigned any_role,
		      json_t *payload);

/*
 * Who may decide an approval: never its requester; its approver, the
 * person it was escalated to, or (any_role) a holder of one of those
 * roles. The SQL condition below states the same rule for lists.
 */
int approval_may_decide(const struct person *p, int64_t requester_id,
			int64_t approver_id, int64_t escalated_to,
			unsigned any_role);
/*
 * The pending approvals p may decide, oldest first: at most max ids into
 * ids. Returns how many, or -1.
 */
int approval_pending_for(struct store *st, const struct person *p, int64_t *ids,
			 size_t max);
/*
 * Whether p may decide APR-id: 1 yes, 0 no (or no such request), -1 on a
 * database error.
 */
int approval_routed_to(struct store *st, int64_t id, const struct person *p);
/* The deadline of APR-id: 1 with *out set, 0 no such request, -1. */
int approval_deadline_of(struct store *st, int64_t id, int64_t *out);

/* Finds an isms_manager who is not skip_id. 1 found, 0 none, -1 error. */
int approval_pick_isms_manager(struct cmd_ctx *ctx, int64_t skip_id,
			       struct person *out);

/* 1 when INC-id exists and the sender may see it, else 0. */
int incident_visible(struct cmd_ctx *ctx, int64_t id);

/*
 * The one refusal for an object that does not exist and one the sender
 * may not see, so that nobody can probe for ids: "INC-9: no such
 * incident that you may see (<who_sees>)". Returns -1.
 */
int cmd_hidden(struct cmd_ctx *ctx, const char *obj, const char *noun,
	       const char *who_sees);
#define INCIDENT_SEERS                                                         \
	"incidents are visible to their reporter, their handler, "             \
	"isms_managers and auditors"

#define INCIDENT_TEXT_MAX 2000 /* bytes of a description, note or lesson */

/* An incident as a transport with its own title and text reports it. */
struct incident_new {
	const char *title;	 /* first line used, cut near 120 bytes */
	const char *description; /* at most INCIDENT_TEXT_MAX bytes */
	const char *severity;	 /* low|medium|high|critical; NULL: medium */
	const char *category;	 /* NULL for none */
	int personal_data;	 /* starts the 72-hour clock */
};

/*
 * Records an incident reported by who in the caller's transaction, with
 * the validation, audit and alerting of "incident report" (rq names the
 * transport, e.g. via "mail"). Nothing of the text is parsed as a
 * command. Returns the INC id, or -1 with an error reply in rp (nothing
 * written when the input was refused).
 */
int64_t incident_report_new(struct store *st, const struct config *cfg,
			    const struct isms_request *rq,
			    const struct person *who,
			    const struct incident_new *in,
			    struct isms_reply *rp);

/*
 * NIS2 art. 23: the reports a significant incident owes, in this order.
 * The clock runs from when the incident was marked significant (when the
 * organisation became aware of it as such).
 */
enum nis2_stage { NIS2_EARLY, NIS2_NOTIFICATION, NIS2_FINAL, NIS2_STAGES };
extern const char *const nis2_stage_names[NIS2_STAGES];	 /* as stored */
extern const char *const nis2_stage_titles[NIS2_STAGES]; /* as said */

/*
 * The deadline of a stage for an incident significant since aware: 24
 * and 72 hours from aware; the final report one month after the
 * notification (recorded at notified), 0 while it is not recorded.
 */
int64_t nis2_due(int stage, int64_t aware, int64_t notified);

/* The report's lines on NIS2 clocks and GDPR art. 34 decisions. 0, -1. */
int incident_nis2_report_write(struct cmd_ctx *ctx);

#endif
