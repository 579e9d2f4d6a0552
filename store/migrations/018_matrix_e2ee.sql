-- End-to-end encryption for the Matrix transport. Every pickle is a
-- libolm pickle encrypted with the configured pickle key; the other
-- columns hold public keys and ids only. Operational state, not records.

-- The bot's own device: its account (identity and one-time keys).
CREATE TABLE e2ee_account (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	pickle TEXT NOT NULL,
	keys_published INTEGER NOT NULL DEFAULT 0, -- device keys on the server
	created_at INTEGER NOT NULL,
	UNIQUE (user_id, device_id)
);

-- Olm sessions with other devices, by the other device's curve25519 key;
-- several per device, the newest used for sending.
CREATE TABLE e2ee_olm_sessions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id INTEGER NOT NULL REFERENCES e2ee_account(id),
	curve25519 TEXT NOT NULL,
	session_id TEXT NOT NULL,
	pickle TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	UNIQUE (account_id, curve25519, session_id)
);

-- Megolm sessions received (m.room_key), by room, sender and session;
-- signing_key is the ed25519 key of the device that shared it and
-- sender the user it belongs to.
CREATE TABLE e2ee_megolm_in (
	room_id TEXT NOT NULL,
	sender_key TEXT NOT NULL,
	session_id TEXT NOT NULL,
	sender TEXT NOT NULL,
	signing_key TEXT NOT NULL,
	pickle TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (room_id, sender_key, session_id)
);
CREATE INDEX e2ee_megolm_in_session ON e2ee_megolm_in(session_id);

-- The session the bot sends with in each room: made at created_at for
-- the set of devices whose hash is members_hash, used for messages.
CREATE TABLE e2ee_megolm_out (
	account_id INTEGER NOT NULL REFERENCES e2ee_account(id),
	room_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	pickle TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	messages INTEGER NOT NULL DEFAULT 0,
	members_hash TEXT NOT NULL,
	PRIMARY KEY (account_id, room_id)
);

-- Which devices were sent an outbound session's key (pending until the
-- to-device request succeeded).
CREATE TABLE e2ee_megolm_shared (
	session_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	pending INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (session_id, user_id, device_id)
);

-- The replay guard: each Megolm (session, message index) with the event
-- that carried it.
CREATE TABLE e2ee_megolm_seen (
	session_id TEXT NOT NULL,
	message_index INTEGER NOT NULL,
	event_id TEXT NOT NULL,
	seen_at INTEGER NOT NULL,
	PRIMARY KEY (session_id, message_index)
);

-- Other people's devices as /keys/query reported them (or as an Olm
-- message first introduced them). key_changed: the server later offered
-- other keys for the device; it is refused from then on.
CREATE TABLE e2ee_devices (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	curve25519 TEXT NOT NULL,
	ed25519 TEXT NOT NULL,
	verified INTEGER NOT NULL DEFAULT 0,
	first_seen INTEGER NOT NULL,
	key_changed INTEGER NOT NULL DEFAULT 0,
	deleted INTEGER NOT NULL DEFAULT 0, -- no longer in the user's list
	PRIMARY KEY (user_id, device_id)
);
CREATE INDEX e2ee_devices_curve ON e2ee_devices(curve25519);

-- Whose device list is current (stale after device_lists.changed/left).
CREATE TABLE e2ee_device_lists (
	user_id TEXT PRIMARY KEY,
	stale INTEGER NOT NULL DEFAULT 1,
	updated_at INTEGER NOT NULL
);

-- When the key of a session was last asked for (m.room_key_request).
CREATE TABLE e2ee_key_requests (
	session_id TEXT PRIMARY KEY,
	requested_at INTEGER NOT NULL
);
