-- Incident reporting beyond GDPR art. 33. NIS2 art. 23: an incident
-- marked significant starts its own clock from significant_at (when the
-- organisation became aware that it is significant): an early warning
-- within 24 hours, an incident notification within 72 hours and a final
-- report within one month of the notification. Each stage sent to the
-- CSIRT or competent authority is one row of incident_reports with who
-- recorded it and when. GDPR art. 34: whether the data subjects of a
-- personal-data breach were informed, and why (not).
ALTER TABLE incidents ADD COLUMN significant INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN significant_at INTEGER;
ALTER TABLE incidents ADD COLUMN significant_cleared_at INTEGER;
ALTER TABLE incidents ADD COLUMN subjects_informed TEXT
	CHECK (subjects_informed IN ('yes','no'));
ALTER TABLE incidents ADD COLUMN subjects_reason TEXT;
ALTER TABLE incidents ADD COLUMN subjects_decided_at INTEGER;
ALTER TABLE incidents ADD COLUMN subjects_decided_by INTEGER;

-- due_at: the deadline the stage was due by, so that a late report
-- stays visible as late.
CREATE TABLE incident_reports (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id INTEGER NOT NULL REFERENCES incidents(id),
	stage TEXT NOT NULL
		CHECK (stage IN ('early','notification','final')),
	due_at INTEGER NOT NULL,
	reported_at INTEGER NOT NULL,
	reported_by INTEGER NOT NULL REFERENCES people(id),
	note TEXT,
	UNIQUE (incident_id, stage)
);
