/*
 * The Slack wire formats without I/O: envelopes, forms, interactivity and
 * events in; mrkdwn, Block Kit and acks out. Fuzzed and unit-tested alone.
 */
#ifndef ISMS_SLACK_PROTO_H
#define ISMS_SLACK_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/util.h"
#include "../commands/msgkind.h"

/*
 * Slack's published limits, in characters as Slack counts them (UTF-16
 * code units: an emoji outside the BMP counts two).
 */
#define SLACK_TEXT_MAX	       39000 /* chat.postMessage text (Slack: 40,000) */
#define SLACK_SECTION_MAX      3000  /* one section block's text */
#define SLACK_HEADER_MAX       150   /* a header block's text */
#define SLACK_BUTTON_TEXT_MAX  75
#define SLACK_BUTTON_VALUE_MAX 2000
#define SLACK_BUTTONS_MAX      25  /* elements of one actions block */
#define SLACK_BLOCKS_MAX       50  /* blocks of one message */
#define SLACK_ID_MAX_LEN       255 /* block_id, action_id */

/*
 * Action ids of the buttons this gateway renders. Quiz buttons are
 * "isms_quiz:1" .. "isms_quiz:n" (unique within their block); a click is
 * routed by the prefix, so "isms_quiz" alone (older messages) still works.
 */
#define SLACK_ACTION_APPROVE "isms_approve"
#define SLACK_ACTION_REJECT  "isms_reject"
#define SLACK_ACTION_QUIZ    "isms_quiz"

/* One Socket Mode frame. Release with slack_envelope_free. */
struct slack_envelope {
	json_t *root;		 /* owned */
	const char *type;	 /* hello, disconnect, slash_commands, ... */
	const char *envelope_id; /* NULL for hello and disconnect */
	const char *reason;	 /* disconnect reason, or NULL */
	json_t *payload;	 /* borrowed from root, or NULL */
	int retry_attempt;
};

/* 0, or -1 when text is not a JSON object with a string "type". */
int slack_envelope_parse(const char *text, size_t len,
			 struct slack_envelope *env);
void slack_envelope_free(struct slack_envelope *env);

enum slack_in_kind {
	SLACK_IN_IGNORE,    /* nothing to do: bots, edits, other events */
	SLACK_IN_COMMAND,   /* a slash command */
	SLACK_IN_ACTION,    /* a button click (block_actions) */
	SLACK_IN_MESSAGE,   /* a message from a person */
	SLACK_IN_CHALLENGE, /* Events API url_verification (HTTP mode) */
};

/*
 * What an inbound payload asks for. Every string is borrowed from the
 * payload it was parsed from; absent ones are NULL (text is never NULL
 * for commands and messages).
 */
struct slack_in {
	enum slack_in_kind kind;
	const char *why; /* for IGNORE: a short reason for debug logs */
	const char *user;
	const char *channel;
	const char *text;
	const char *command; /* "/isms", "/incident", "/risk" */
	const char *ts;	     /* the message, or the clicked message */
	const char *thread_ts;
	const char *event_id; /* Events API */
	const char *trigger_id;
	const char *response_url;
	const char *action_id;
	const char *action_value;
	const char *challenge;
	int shared;    /* a channel, not a direct message with the app */
	int mentioned; /* the text starts with a mention of the app */
};

/*
 * Parses a payload of type "slash_commands", "interactive" or "events_api"
 * (the Socket Mode names; HTTP mode maps to them with slack_http_payload).
 * bot_user_id (may be NULL) is the app's own user: its messages are
 * ignored and a leading mention of it is recognised. Returns 0, or -1 when
 * the payload is malformed (in->why says why).
 */
int slack_in_parse(const char *type, json_t *payload, const char *bot_user_id,
		   struct slack_in *in);

/*
 * The command line a person's input stands for, into out (reset first):
 * a slash command is "<command> <text>", a message its text with Slack's
 * formatting undone and a leading mention of the app removed, an Approve
 * button "approve APR-n", a quiz button "quiz answer QZ-c <question> <n>".
 * Returns 0; 1 for a Reject button (a reason must be asked for; out holds
 * the APR id); -1 when there is nothing to run.
 */
int slack_in_command(const struct slack_in *in, const char *bot_user_id,
		     struct buf *out);

/*
 * A reply in an approval's thread: when text's first word is approve or
 * reject (any case), writes "approve APR-n <rest>" (or keeps an explicit
 * APR id the person typed) into out and returns 1; else 0.
 */
int slack_decision_text(const char *text, int64_t apr, struct buf *out);

/*
 * Undoes Slack's message formatting: &amp; &lt; &gt; entities, links
 * <https://x|label> and <mailto:a@b|a@b> become the URL or address; user
 * and channel mentions (<@U1>, <#C1|x>) are kept for the command parser.
 */
void slack_unformat(const char *text, struct buf *out);

/*
 * Appends s with & < > escaped as Slack's mrkdwn requires, so that
 * "<!channel>", "<@U1>" or a link typed by a person shows as typed and
 * pings or links nothing.
 */
void slack_escape(struct buf *b, const char *s);

/* The length of s as Slack counts it: UTF-16 code units. */
size_t slack_text_len(const char *s);

/*
 * Makes b's text fit in max characters: invalid UTF-8 bytes become '?';
 * a longer text is cut at a character boundary (never inside an &amp;
 * entity) and ends with "..." and, when more is not NULL, a space and
 * more (a pointer to the full record). b holds text on return.
 */
void slack_fit(struct buf *b, size_t max, const char *more);

/*
 * Where the full text of a message is, as a command for the person, e.g.
 * "see /isms incident show INC-3" for a subject naming INC-3; into out
 * (len bytes); otherwise the command its kind's row names. Always some
 * text.
 */
void slack_record_pointer(enum msg_kind kind, const char *subject,
			  const char *body, char *out, size_t len);

/*
 * HTTP mode: the payload of a POST to /slack/events by its content type.
 * JSON bodies are Events API ("events_api"); form bodies with a payload
 * field are interactivity ("interactive"), other forms slash commands
 * ("slash_commands"). Returns a new reference and sets *type, or NULL.
 */
json_t *slack_http_payload(const char *content_type, const char *body,
			   size_t len, const char **type);

/*
 * application/x-www-form-urlencoded: a new object of string values (the
 * first of repeated names wins), or NULL when the body is not valid
 * (bad escapes, invalid UTF-8).
 */
json_t *slack_form_decode(const char *body, size_t len);
/* Appends obj's string members, form-encoded; other members are skipped. */
void slack_form_encode(struct buf *b, json_t *obj);

/*
 * chat.postMessage arguments for one outbox message (new reference):
 * subject and body as escaped mrkdwn, the fallback text always, Block Kit
 * buttons for a kind that asks for a decision (Approve/Reject) or an answer
 * (one button per option of payload "options"). thread_ts may be NULL.
 */
json_t *slack_render_post(const char *channel, const char *thread_ts,
			  enum msg_kind kind, const char *subject,
			  const char *body, const char *payload);

/*
 * chat.update arguments that show an approval message as decided and
 * remove its buttons (new reference).
 */
json_t *slack_render_decided(const char *channel, const char *ts,
			     const char *approval_subject, const char *decision,
			     const char *outcome);

/*
 * A reply's text: escaped, with a warning sign for errors, fitted into
 * Slack's message limit; into b (empty on entry).
 */
void slack_reply_text(struct buf *b, const char *text, int error);

/* {"response_type":"ephemeral","text":...}: a private answer (new ref). */
json_t *slack_render_ephemeral(const char *text, int error);

/*
 * A Socket Mode ack, {"envelope_id":...,"payload":...}; payload stolen,
 * may be NULL. Caller frees the text.
 */
char *slack_render_ack(const char *envelope_id, json_t *payload);

/* The outcome of one Web API call, from its HTTP status and body. */
enum slack_api_status {
	SLACK_API_OK,
	SLACK_API_TRANSIENT,   /* 5xx, internal_error, transport: retry */
	SLACK_API_RATELIMITED, /* 429 or "ratelimited": wait, then retry */
	SLACK_API_AUTH,	       /* the token is no good: stop the adapter */
	SLACK_API_FAILED,      /* anything else: permanent for this call */
	SLACK_API_CANCELLED,   /* the daemon is stopping */
};

/*
 * Classifies a response: http_status 0 means the transfer failed. body is
 * the parsed JSON (may be NULL). *error is set to Slack's error code or a
 * generic word (borrowed from body or static).
 */
enum slack_api_status slack_api_classify(long http_status, json_t *body,
					 const char **error);

/*
 * slack.listen: "host:port", "[v6]:port". host gets the literal without
 * brackets. 0 or -1.
 */
int slack_parse_listen(const char *s, char *host, size_t hostlen, int *port);

#endif
