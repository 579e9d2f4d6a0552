/*
 * End-to-end encryption for the Matrix transport: one device's Olm account,
 * its Olm sessions with other devices, the Megolm sessions it receives and
 * the ones it sends with, and the device keys of the people it talks to.
 *
 * This is the whole interface the transport sees. It speaks in Matrix
 * terms (event contents, /keys request and response bodies, to-device
 * messages as JSON) and never in the terms of the library underneath, so
 * another implementation (vodozemac, say) can replace e2ee_olm.c without
 * a change to matrix.c. Nothing here does I/O beyond the store: the
 * transport sends the requests this module builds and hands back the
 * answers.
 *
 * Every secret (the account, Olm and Megolm sessions) is kept in the store
 * as a libolm pickle encrypted with the configured pickle key, written in
 * the caller's transaction or in one of its own. No function logs or
 * returns key material; error texts name ids only.
 */
#ifndef ISMS_E2EE_H
#define ISMS_E2EE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"

#define E2EE_OLM    "m.olm.v1.curve25519-aes-sha2"
#define E2EE_MEGOLM "m.megolm.v1.aes-sha2"

/* Outbound Megolm sessions are replaced after this many messages ... */
#define E2EE_ROTATE_MSGS 100
/* ... or this many seconds, or when the room's membership changes. */
#define E2EE_ROTATE_SECS (7 * 24 * 3600)

/* How devices seen for the first time are treated. */
enum e2ee_trust {
	E2EE_TOFU, /* trust on first use; a changed key is logged, kept out */
	E2EE_VERIFIED, /* only devices marked verified with ismsctl */
};

struct e2ee;

/*
 * Opens (or creates, on first use) the device user_id/device_id in st.
 * pickle_key encrypts every pickle; a store made with another key fails
 * to open with a message saying so (never the key). 0 on success.
 */
struct e2ee *e2ee_open(struct store *st, const char *user_id,
		       const char *device_id, const char *pickle_key,
		       size_t keylen, enum e2ee_trust trust, char *err,
		       size_t errlen);
void e2ee_free(struct e2ee *e);

/* The device's public keys, base64 (borrowed). */
const char *e2ee_curve25519(const struct e2ee *e);
const char *e2ee_ed25519(const struct e2ee *e);

/* --- Publishing keys ------------------------------------------------- */

/*
 * The body of a POST /keys/upload when one is due, or NULL: the signed
 * device_keys until the server has confirmed them, and enough new signed
 * one-time keys ("signed_curve25519:ID") to bring server_count (the
 * count /sync or the last upload reported; -1 unknown: none before the
 * first upload, enough after it) up to half of what the account can
 * hold, and a signed fallback key ("fallback_keys") not yet published.
 * New reference.
 */
json_t *e2ee_upload_body(struct e2ee *e, long server_count);
/*
 * The server accepted the body e2ee_upload_body returned last: its
 * one-time keys are published (never offered again) and the device keys
 * are known to be there. Persists. 0 or -1.
 */
int e2ee_upload_done(struct e2ee *e);

/* --- Receiving ------------------------------------------------------- */

/*
 * One to-device event from /sync (the whole event: type, sender,
 * content). An m.room.encrypted one is decrypted with an existing Olm
 * session or a new inbound one (a pre-key message); when it carries
 * m.room_key for Megolm, the inbound group session is stored. Olm
 * payloads whose sender, recipient or keys do not match are refused.
 * Returns 1 when it stored a room key (*room_id and *session_id set, new
 * strings, caller frees; pass NULL to skip), 0 when the event was
 * handled otherwise or ignored, -1 on a refusal (why in err, no secret).
 */
int e2ee_to_device(struct e2ee *e, json_t *event, char **room_id,
		   char **session_id, char *err, size_t errlen);

enum e2ee_dec {
	E2EE_DEC_OK,	     /* *plain set */
	E2EE_DEC_NO_SESSION, /* the key has not arrived (yet) */
	E2EE_DEC_REPLAY,     /* this (session, index) came before in
				another event */
	E2EE_DEC_BAD,	     /* malformed, wrong room, or a refusal */
};

/*
 * Decrypts the content of an m.room.encrypted room event. On success
 * *plain is the decrypted event ({"type", "content", "room_id"}, a new
 * reference) after checking its room_id, plus "sender": the user whose
 * device shared the session over Olm; the caller refuses the event when
 * it is not the room event's sender. Each (session, message index)
 * is recorded with the event id that carried it: the same event again
 * decrypts again (a redelivery is for the caller's de-duplication), any
 * other event with that pair is E2EE_DEC_REPLAY. err names the reason.
 */
enum e2ee_dec e2ee_decrypt(struct e2ee *e, const char *room_id,
			   const char *event_id, json_t *content,
			   json_t **plain, char *err, size_t errlen);

/*
 * The m.room_key_request content asking for the key of an undecryptable
 * event's session (new reference), or NULL when one for that session was
 * asked within the last hour (the rate limit).
 */
json_t *e2ee_key_request(struct e2ee *e, const char *room_id,
			 json_t *encrypted_content);

/* --- Devices --------------------------------------------------------- */

/* A user's device list changed or was left (/sync device_lists). */
void e2ee_devices_stale(struct e2ee *e, const char *user_id);
/*
 * The users among users[0..n) whose device lists must be fetched before
 * sending to them, as a POST /keys/query body, or NULL when all are
 * known and current. New reference.
 */
json_t *e2ee_query_body(struct e2ee *e, const char *const *users, size_t n);
/*
 * Stores a /keys/query response: every device whose self-signature
 * verifies and whose user and device ids match the keys they are filed
 * under; a known device whose keys changed is refused and logged once.
 * Those users' lists become current. 0 or -1.
 */
int e2ee_query_done(struct e2ee *e, json_t *response);

/* --- Sending --------------------------------------------------------- */

/*
 * Before encrypting for room_id with members users[0..n): the POST
 * /keys/claim body for trusted devices with no Olm session yet (NULL
 * when none is missing). New reference.
 */
json_t *e2ee_claim_body(struct e2ee *e, const char *const *users, size_t n);
/*
 * Stores a /keys/claim response: makes an outbound Olm session with each
 * device whose one-time key carries a valid signature by that device.
 * 0 or -1.
 */
int e2ee_claim_done(struct e2ee *e, json_t *response);

/*
 * Makes sure room_id has a current outbound Megolm session for members
 * users[0..n) (a new one after E2EE_ROTATE_MSGS messages, E2EE_ROTATE_SECS
 * or a change of members or their devices), and returns the body of a
 * PUT /sendToDevice/m.room.encrypted/TXN ({"messages": {user: {device:
 * content}}}) sharing its key with every trusted device with an Olm
 * session that does not have it yet, or NULL when all have it. The
 * devices count as having it once e2ee_share_done is called.
 */
json_t *e2ee_share_body(struct e2ee *e, const char *room_id,
			const char *const *users, size_t n);
int e2ee_share_done(struct e2ee *e, const char *room_id);

/*
 * Encrypts an event of type with content for room_id with its current
 * outbound session (e2ee_share_body first). Returns the m.room.encrypted
 * content (new reference) or NULL with err.
 */
json_t *e2ee_encrypt(struct e2ee *e, const char *room_id, const char *type,
		     json_t *content, char *err, size_t errlen);

/* --- Signing (exposed for tests and the fake's checks) --------------- */

/*
 * Matrix canonical JSON of obj without "signatures" and "unsigned":
 * sorted keys, no insignificant whitespace, UTF-8. New string or NULL.
 */
char *e2ee_canonical(json_t *obj);
/*
 * 1 when obj carries a valid ed25519 signature by user_id's key_id
 * ("ed25519:DEVICE") made with the base64 public key, else 0.
 */
int e2ee_verify(json_t *obj, const char *user_id, const char *key_id,
		const char *ed25519);

#endif
