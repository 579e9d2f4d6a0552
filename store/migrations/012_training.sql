-- Training and competence (ISO/IEC 27001 clause 7.2): TRN-n, a course a
-- person completed on a day, valid through expires_at when it expires.
CREATE TABLE training (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	person_id INTEGER NOT NULL REFERENCES people(id),
	course TEXT NOT NULL COLLATE NOCASE,
	completed_at INTEGER NOT NULL,
	expires_at INTEGER,
	recorded_by INTEGER NOT NULL REFERENCES people(id),
	recorded_at INTEGER NOT NULL
);
CREATE INDEX training_person ON training(person_id, course);

-- What counts as training: the records above, and each completed
-- awareness quiz as an "Awareness quiz" valid for a year from its day.
CREATE VIEW training_records AS
	SELECT 'TRN-' || id AS ref, person_id, course, completed_at,
		expires_at, recorded_by
	FROM training
	UNION ALL
	SELECT 'QZ-' || campaign_id, person_id, 'Awareness quiz',
		completed_at,
		CAST(strftime('%s', date(completed_at, 'unixepoch', '+1 year'))
			AS INTEGER),
		NULL
	FROM quiz_participants WHERE completed_at IS NOT NULL;

-- Document control (7.5): the version in force, retirement, and every
-- approved version with who wrote and who approved it. Acknowledgements
-- (doc_acks) are of the version in force; those of earlier versions are
-- kept in doc_ack_history when a new version asks everyone again.
ALTER TABLE docs ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE docs ADD COLUMN retired_at INTEGER;
ALTER TABLE docs ADD COLUMN retired_reason TEXT;

CREATE TABLE doc_versions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	doc_id INTEGER NOT NULL REFERENCES docs(id),
	version INTEGER NOT NULL,
	url TEXT,
	note TEXT,
	author_id INTEGER NOT NULL REFERENCES people(id),
	approver_id INTEGER REFERENCES people(id),
	approval_id INTEGER REFERENCES approvals(id),
	approved_at INTEGER NOT NULL,
	UNIQUE (doc_id, version)
);

CREATE TABLE doc_ack_history (
	doc_id INTEGER NOT NULL REFERENCES docs(id),
	version INTEGER NOT NULL,
	person_id INTEGER NOT NULL REFERENCES people(id),
	at INTEGER NOT NULL,
	PRIMARY KEY (doc_id, version, person_id)
) WITHOUT ROWID;

-- Documents registered before: their first version, registered (not
-- approved) by whoever added them.
INSERT INTO doc_versions(doc_id, version, url, author_id, approved_at)
	SELECT id, 1, url, created_by, created_at FROM docs;
