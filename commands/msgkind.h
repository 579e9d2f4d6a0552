/*
 * Message kinds: what an outbox message is (a notice, an approval request,
 * a quiz question, ...) and what that decides on the way out. One row per
 * kind in msgkind.c; callers name a kind by its enum constant, so a
 * misspelt kind does not compile. The database stores the row's name
 * (outbox.kind); msg_kind_name() and msg_kind_parse() convert at that
 * boundary.
 */
#ifndef ISMS_MSGKIND_H
#define ISMS_MSGKIND_H

enum msg_kind {
	/*
	 * First, so that a struct nudge that names no kind sends a nudge
	 * (commands/nudge.h).
	 */
	MSG_NUDGE,
	MSG_NOTICE,
	MSG_INCIDENT,
	MSG_BREACH,
	MSG_APPROVAL,
	MSG_DECISION,
	MSG_QUIZ,
	MSG_REPORT,
	MSG_REGISTER,
	MSG_DIGEST,
	MSG_AUDIT,
	MSG_REPLY,
	MSG_PORTAL, /* a link into the web portal, mailed by ismsctl */
	MSG_KIND_COUNT
};

/* Sent on every transport that reaches the person, not only the first. */
#define MSGK_FANOUT 0x01u
/*
 * Asks the person to approve or reject an approval request (payload
 * "approval": the APR number): Slack shows Approve / Reject buttons, a
 * Matrix reply to it decides, its mail takes a decision by reply (a reply
 * token in Reply-To) and is not marked automatic the first time (a
 * person asks; reminders are marked). Other mail about the same request
 * is threaded under it.
 */
#define MSGK_ASKS_DECISION 0x02u
/*
 * Asks a quiz question (payload "quiz", "number", "options"): Slack shows
 * one button per option, Matrix lists the options and a reply to it
 * answers by number, its mail takes the answer by reply (a reply token).
 */
#define MSGK_ASKS_ANSWER 0x04u
/* Tells a decision: every Slack copy of its request is marked decided. */
#define MSGK_SHOWS_DECISION 0x08u
/* Answers the sender's own mail: Auto-Submitted: auto-replied. */
#define MSGK_AUTO_REPLY 0x10u

struct msg_kind_info {
	const char *name; /* as stored in outbox.kind */
	/*
	 * The command that shows the record in full, named when a chat
	 * message is cut short ("see /isms approvals"); NULL: none.
	 */
	const char *see;
	unsigned flags; /* MSGK_* */
};

/* The row of kind k; static. */
const struct msg_kind_info *msg_kind_info(enum msg_kind k);
/* The name stored in the database; static. */
const char *msg_kind_name(enum msg_kind k);
/* The MSGK_* flags of kind k. */
unsigned msg_kind_flags(enum msg_kind k);
/*
 * The kind stored as name: 0, or -1 for NULL or a name no row has (*out
 * is then left alone; the caller says what an unknown kind means).
 */
int msg_kind_parse(const char *name, enum msg_kind *out);

#endif
