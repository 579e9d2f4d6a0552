/*
 * The Matrix wire format without I/O: /sync parsing, message rendering,
 * transaction ids, error classification and the rules that turn a room
 * message into a command. Pure functions, unit-tested and fuzzed.
 */
#ifndef ISMS_MATRIX_PROTO_H
#define ISMS_MATRIX_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/util.h"
#include "../commands/msgkind.h"

#define MX_ID_MAX 255 /* longest user, room or event id accepted */

/* A message worth looking at in a joined room's timeline. */
struct mx_event {
	char *event_id;
	char *sender;
	char *body;	   /* NULL for encrypted events */
	json_t *content;   /* an encrypted event's content (owned), or NULL */
	char *in_reply_to; /* event id it replies to, or NULL */
	int64_t ts;	   /* origin_server_ts, ms */
	int encrypted;	   /* m.room.encrypted: unreadable */
	int before_join;   /* precedes the bot's own join */
};

struct mx_room {
	char *room_id;
	int64_t joined_at; /* ts of the bot's latest join seen, 0 if none */
	int encrypted;	   /* m.room.encryption seen in state or timeline */
	int members;	   /* m.joined_member_count, -1 when absent */
	int invited;	   /* m.invited_member_count, -1 when absent */
	int limited;	   /* the timeline has a gap before it */
	struct mx_event *ev;
	size_t nev;
};

struct mx_invite {
	char *room_id;
	char *inviter; /* NULL when the invite event is missing */
	int is_direct;
	int encrypted;
	int allowed; /* the inviter's server is in allowed_servers */
};

/* One /sync response. Release with mx_sync_free. */
struct mx_sync {
	char *next_batch;
	struct mx_room *join;
	size_t njoin;
	struct mx_invite *inv;
	size_t ninv;
	char **leave;
	size_t nleave;
	json_t *direct;		/* m.direct content (a new reference) or NULL */
	json_t *to_device;	/* to_device.events (a new reference) or NULL */
	json_t *changed, *left; /* device_lists user ids (new arrays) or NULL */
	long otk_count; /* signed_curve25519 one-time keys left, -1 unknown */
};

/*
 * Parses a /sync response for the bot self, judging invites against the
 * comma-separated allowed server list. Keeps text messages (msgtype m.text,
 * not edits) and encrypted events from others, in timeline order. Returns
 * 0, or -1 with a message in err; out is always safe to free.
 */
int mx_sync_parse(const char *text, size_t len, const char *self,
		  const char *allowed, struct mx_sync *out, char *err,
		  size_t errlen);
/* Same from a parsed document (borrowed). */
int mx_sync_parse_json(json_t *root, const char *self, const char *allowed,
		       struct mx_sync *out, char *err, size_t errlen);
void mx_sync_free(struct mx_sync *s);

/*
 * Replaces e's text with that of a decrypted room event (plain: the
 * Megolm plaintext {"type", "content", ...}) when it is a message we act
 * on, by the rules for plaintext ones. A relation (reply, edit) in the
 * clear part of e's encrypted content counts when the plaintext has
 * none. 1 done, 0 not such a message.
 */
int mx_event_decrypted(json_t *plain, struct mx_event *e);

/* The part after the first ':' of a user id, or NULL (borrowed). */
const char *mx_server_of(const char *user_id);
/* 1 when server is in the comma-separated list (case-insensitive). */
int mx_server_allowed(const char *list, const char *server);

/* A room is a DM when it is listed in m.direct or has two members. */
int mx_is_dm(int members, int listed_direct);

/* Appends s percent-encoded as one URL path segment or query value. */
void mx_url_escape(struct buf *b, const char *s);

/* The /sync filter: small, with timeline_limit events per room. */
char *mx_filter_json(int timeline_limit); /* caller frees */

/* Path and query of a /sync request; since may be NULL. Caller frees. */
char *mx_sync_path(const char *since, long timeout_ms, int timeline_limit);

/* Transaction id of an outbox delivery: "isms-d<id>". */
void mx_txn_delivery(int64_t delivery_id, char out[32]);
/* Transaction id of a message caused by an event: caller frees. */
char *mx_txn_event(const char *tag, const char *id);

/* HTML-escapes text for formatted_body; newlines become <br>. */
void mx_html_escape(struct buf *b, const char *text);

/*
 * An m.notice content with plain body and HTML formatted_body, replying
 * to in_reply_to when not NULL. New reference.
 */
json_t *mx_render_text(const char *text, const char *in_reply_to);

/*
 * The content for an outbox message: subject, body and, for a kind that
 * asks for an answer (a quiz) whose payload has "options", the numbered
 * options. New reference.
 */
json_t *mx_render_outmsg(const char *subject, const char *body,
			 enum msg_kind kind, const char *payload);

/* Removes the "> " quote a client puts before a reply. Caller frees. */
char *mx_strip_reply_fallback(const char *body);

/* What went wrong with a request, if anything. */
enum mx_status {
	MX_OK,
	MX_LIMITED,   /* M_LIMIT_EXCEEDED: wait retry_ms */
	MX_BADTOKEN,  /* M_UNKNOWN_TOKEN / M_MISSING_TOKEN */
	MX_TRANSIENT, /* network, timeout, 5xx: retry with backoff */
	MX_FATAL,     /* any other refusal */
};

struct mx_err {
	enum mx_status status;
	long retry_ms;	  /* for MX_LIMITED */
	char errcode[48]; /* M_..., or "" */
};

/*
 * Classifies a response: HTTP status (0 when the transfer failed), the
 * parsed body (may be NULL) and the Retry-After header in seconds (-1 if
 * absent), which wins over retry_after_ms.
 */
void mx_classify(long status, json_t *body, long retry_after_s,
		 struct mx_err *out);

/* Jittered exponential backoff after failures (>= 1); rnd is random(). */
long mx_backoff_ms(int failures, long rnd);

/* What to do with a room message. */
enum mx_action {
	MX_IGNORE, /* not for us */
	MX_RUN,	   /* run out as a command for the sender */
	MX_SAY,	   /* answer out without running anything */
};

struct mx_route_in {
	const char *body;	   /* reply fallback already removed */
	int dm;			   /* a direct-message room */
	enum msg_kind reply_kind;  /* our message it replies to, or notice */
	const char *reply_payload; /* that message's payload (JSON) */
	const int64_t *pending;	   /* approvals routed to the sender */
	size_t npending;
	const char *quiz_payload; /* latest quiz question sent to the sender */
};

/*
 * Decides what a message means: a command (prefix, or anything in a DM),
 * an approve/reject answer to the approval it replies to or to the one
 * pending approval, or a quiz answer by number. Appends the command or
 * the answer to out.
 */
enum mx_action mx_route(const struct mx_route_in *in, struct buf *out);

/*
 * The quiz answer command for option n of the question in payload.
 * Returns 0 (command in out), 1 when n is out of range (the count in
 * out), -1 when the payload has no usable question.
 */
int mx_quiz_command(const char *payload, long n, struct buf *out);

#endif
