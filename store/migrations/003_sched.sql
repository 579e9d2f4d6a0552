-- Scheduler: the nudge ledger and awareness quiz campaigns.

-- One row per message a scheduled job sent, keyed by what it was about
-- (kind, object), to whom (person_id, or a bare e-mail address) and for
-- which period: a second pass or a restart finds the row and sends nothing.
CREATE TABLE nudges (
	kind TEXT NOT NULL,
	object TEXT NOT NULL,
	person_id INTEGER NOT NULL DEFAULT 0,
	address TEXT NOT NULL DEFAULT '',
	period TEXT NOT NULL,
	sent_at INTEGER NOT NULL,
	outbox_id INTEGER,
	PRIMARY KEY (kind, object, person_id, address, period)
) WITHOUT ROWID;

-- QZ-n: a campaign of questions per person, open until its deadline.
CREATE TABLE quiz_campaigns (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	audience TEXT NOT NULL,
	questions INTEGER NOT NULL,
	seed INTEGER NOT NULL,
	created_by INTEGER REFERENCES people(id),
	created_at INTEGER NOT NULL,
	deadline_at INTEGER NOT NULL,
	period TEXT,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),
	closed_at INTEGER
);
CREATE INDEX quiz_campaigns_status ON quiz_campaigns(status, deadline_at);

-- A person in a campaign; team as it was at the start. current_seq is the
-- question now out (0: none sent yet).
CREATE TABLE quiz_participants (
	campaign_id INTEGER NOT NULL REFERENCES quiz_campaigns(id),
	person_id INTEGER NOT NULL REFERENCES people(id),
	team TEXT NOT NULL DEFAULT '',
	current_seq INTEGER NOT NULL DEFAULT 0,
	completed_at INTEGER,
	PRIMARY KEY (campaign_id, person_id)
);
CREATE INDEX quiz_participants_person ON quiz_participants(person_id);
CREATE INDEX quiz_participants_waiting ON quiz_participants(campaign_id)
	WHERE current_seq = 0 AND completed_at IS NULL;

-- The questions picked for a person, in delivery order.
CREATE TABLE quiz_items (
	campaign_id INTEGER NOT NULL,
	person_id INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	question_id TEXT NOT NULL,
	token TEXT NOT NULL UNIQUE,
	sent_at INTEGER,
	answered_at INTEGER,
	answer INTEGER CHECK (answer BETWEEN 1 AND 4),
	correct INTEGER,
	PRIMARY KEY (campaign_id, person_id, seq),
	UNIQUE (campaign_id, person_id, question_id),
	FOREIGN KEY (campaign_id, person_id)
		REFERENCES quiz_participants(campaign_id, person_id)
);
CREATE INDEX quiz_items_history ON quiz_items(person_id, question_id)
	WHERE answered_at IS NOT NULL;
