-- Slack: the DM channel of each person (conversations.open, cached) and
-- when a directory look-up (users.lookupByEmail, users.info) last ran, so
-- that people who are not on Slack are not looked up again and again.

CREATE TABLE slack_dm (
	person_id INTEGER PRIMARY KEY REFERENCES people(id),
	slack_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	opened_at INTEGER NOT NULL
);

CREATE TABLE slack_lookup (
	key TEXT PRIMARY KEY, -- "email:<address>" or "user:<Slack id>"
	checked_at INTEGER NOT NULL
) WITHOUT ROWID;
