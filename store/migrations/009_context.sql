-- The organisation's context (ISO/IEC 27001 clause 4.1), its interested
-- parties and their needs (4.2), and the legal, regulatory and
-- contractual obligations it must meet (A.5.31, A.5.34).

-- An internal or external issue. A retired issue stays, with its reason:
-- the management review looks at how the context changed.
CREATE TABLE context_issues (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL CHECK (kind IN ('internal','external')),
	text TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'active'
		CHECK (status IN ('active','retired')),
	retired_reason TEXT,
	retired_by INTEGER REFERENCES people(id),
	retired_at INTEGER,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL
);

-- The risks an issue gives rise to.
CREATE TABLE context_risks (
	issue_id INTEGER NOT NULL REFERENCES context_issues(id),
	risk_id INTEGER NOT NULL REFERENCES risks(id),
	PRIMARY KEY (issue_id, risk_id)
) WITHOUT ROWID;
CREATE INDEX context_risks_risk ON context_risks(risk_id);

CREATE TABLE obligations (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	title TEXT NOT NULL,
	source TEXT NOT NULL
		CHECK (source IN ('law','regulation','contract','standard')),
	ref TEXT NOT NULL,
	owner_id INTEGER NOT NULL REFERENCES people(id),
	review_every TEXT NOT NULL,
	last_reviewed_at INTEGER,
	next_review_at INTEGER NOT NULL,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL
);
CREATE INDEX obligations_owner ON obligations(owner_id);
CREATE INDEX obligations_review ON obligations(next_review_at);

-- The Annex A controls that meet an obligation.
CREATE TABLE obligation_controls (
	obligation_id INTEGER NOT NULL REFERENCES obligations(id),
	control_id TEXT NOT NULL REFERENCES controls(id),
	PRIMARY KEY (obligation_id, control_id)
) WITHOUT ROWID;

-- What was recorded at each review of an obligation.
CREATE TABLE obligation_reviews (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	obligation_id INTEGER NOT NULL REFERENCES obligations(id),
	at INTEGER NOT NULL,
	by_id INTEGER NOT NULL REFERENCES people(id),
	note TEXT,
	next_review_at INTEGER NOT NULL
);
CREATE INDEX obligation_reviews_obl ON obligation_reviews(obligation_id);

CREATE TABLE parties (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	needs TEXT NOT NULL,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- The obligations that stem from a party (a customer's contract, a
-- regulator's law).
CREATE TABLE party_obligations (
	party_id INTEGER NOT NULL REFERENCES parties(id),
	obligation_id INTEGER NOT NULL REFERENCES obligations(id),
	PRIMARY KEY (party_id, obligation_id)
) WITHOUT ROWID;
CREATE INDEX party_obligations_obl ON party_obligations(obligation_id);

-- Each change of a party's needs: the management review reports the
-- changes since the last one (clause 9.3.2 c).
CREATE TABLE party_needs_history (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	party_id INTEGER NOT NULL REFERENCES parties(id),
	at INTEGER NOT NULL,
	actor_id INTEGER NOT NULL REFERENCES people(id),
	old_needs TEXT NOT NULL,
	new_needs TEXT NOT NULL
);
CREATE INDEX party_needs_history_party ON party_needs_history(party_id, at);
