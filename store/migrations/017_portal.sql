-- The read-only web portal. A link's token and a session's cookie are
-- random secrets handed to the person once; only their SHA-256 is kept,
-- so a copy of the database opens nothing. A token is used once
-- (used_at) and expires; a session ends at expires_at, when revoked, or
-- when its person leaves (checked on each request).
CREATE TABLE portal_tokens (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	hash TEXT NOT NULL UNIQUE,
	person_id INTEGER NOT NULL REFERENCES people(id),
	made_via TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
);

CREATE TABLE portal_sessions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	hash TEXT NOT NULL UNIQUE,
	person_id INTEGER NOT NULL REFERENCES people(id),
	token_id INTEGER REFERENCES portal_tokens(id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX portal_sessions_person ON portal_sessions(person_id);
