-- Nonconformity and corrective action (ISO/IEC 27001 clause 10.2): what a
-- finding cites (a clause of the standard or a control), its root cause,
-- and each review of the effectiveness of its corrective actions.
-- Columns added here carry no REFERENCES so that they can be dropped again.
ALTER TABLE findings ADD COLUMN clause TEXT;
ALTER TABLE findings ADD COLUMN control_id TEXT;
ALTER TABLE findings ADD COLUMN cause TEXT;
ALTER TABLE findings ADD COLUMN cause_by INTEGER;
ALTER TABLE findings ADD COLUMN cause_at INTEGER;
-- 1 after a check found the actions not effective, until a new corrective
-- action is added: the finding is uncovered again.
ALTER TABLE findings ADD COLUMN needs_action INTEGER NOT NULL DEFAULT 0;

CREATE TABLE finding_checks (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	finding_id INTEGER NOT NULL REFERENCES findings(id),
	effective INTEGER NOT NULL CHECK (effective IN (0, 1)),
	note TEXT NOT NULL,
	action_id INTEGER REFERENCES actions(id), -- the new action of a "no"
	checked_by INTEGER NOT NULL REFERENCES people(id),
	checked_at INTEGER NOT NULL
);
CREATE INDEX finding_checks_finding ON finding_checks(finding_id);
