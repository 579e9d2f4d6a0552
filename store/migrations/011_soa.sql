-- The Statement of Applicability as an audit holds it: why each control
-- is included and how it is implemented, controls of the organisation's
-- own beside Annex A, approved versions frozen as snapshots, and the
-- evidence kept per control or record.

-- reason: why an applicable control is included, a comma list of risk,
-- legal, contract and business; custom: a control of the organisation's
-- own (not one of the 93 of Annex A).
ALTER TABLE controls ADD COLUMN reason TEXT;
ALTER TABLE controls ADD COLUMN implementation TEXT;
ALTER TABLE controls ADD COLUMN custom INTEGER NOT NULL DEFAULT 0
	CHECK (custom IN (0, 1));

-- EV-n: a piece of evidence for a control ('control', '5.15') or a record
-- ('action', '3'; 'risk'; 'supplier'). Stale once the day of expires_at
-- (00:00 UTC of that date) is over.
CREATE TABLE evidence_items (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	title TEXT NOT NULL,
	ref_kind TEXT NOT NULL
		CHECK (ref_kind IN ('control','action','risk','supplier')),
	ref_id TEXT NOT NULL,
	url TEXT,
	owner_id INTEGER NOT NULL REFERENCES people(id),
	expires_at INTEGER,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	renewed_by INTEGER REFERENCES people(id),
	renewed_at INTEGER
);
CREATE INDEX evidence_items_ref ON evidence_items(ref_kind, ref_id);
CREATE INDEX evidence_items_expires ON evidence_items(expires_at);

-- An approved version of the SoA: its number is its id (never reused).
CREATE TABLE soa_versions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	approved_by INTEGER NOT NULL REFERENCES people(id),
	approved_at INTEGER NOT NULL,
	note TEXT,
	controls INTEGER NOT NULL,
	changes INTEGER NOT NULL -- controls new or changed since the last
);

-- Every control row of a version as it was exported at the approval, so
-- that the export of version N reproduces it exactly.
CREATE TABLE soa_version_controls (
	version_id INTEGER NOT NULL REFERENCES soa_versions(id),
	control TEXT NOT NULL,
	seq INTEGER NOT NULL,
	theme TEXT NOT NULL,
	title TEXT NOT NULL,
	applicable TEXT NOT NULL,
	status TEXT NOT NULL,
	justification TEXT NOT NULL,
	owner TEXT NOT NULL,
	risks TEXT NOT NULL,
	updated TEXT NOT NULL,
	custom TEXT NOT NULL,
	reason TEXT NOT NULL,
	implementation TEXT NOT NULL,
	evidence INTEGER NOT NULL,
	PRIMARY KEY (version_id, control)
) WITHOUT ROWID;

-- The current SoA row of each control, in the export's columns: what an
-- approval freezes and what the export of the current state shows.
CREATE VIEW soa_current AS
SELECT c.id AS control, c.seq AS seq, c.theme AS theme, c.title AS title,
	CASE c.applicable WHEN 1 THEN 'yes' ELSE 'no' END AS applicable,
	c.status AS status, COALESCE(c.justification, '') AS justification,
	COALESCE(p.handle, '') AS owner,
	COALESCE((SELECT group_concat(x.r, ' ') FROM (SELECT 'RSK-' ||
		rc.risk_id AS r FROM risk_controls rc WHERE rc.control_id =
		c.id ORDER BY rc.risk_id) x), '') AS risks,
	COALESCE(strftime('%Y-%m-%dT%H:%M:%SZ', c.updated_at, 'unixepoch'),
		'') AS updated,
	CASE c.custom WHEN 1 THEN 'yes' ELSE 'no' END AS custom,
	COALESCE(c.reason, '') AS reason,
	COALESCE(c.implementation, '') AS implementation,
	(SELECT COUNT(*) FROM evidence_items e WHERE e.ref_kind = 'control'
		AND e.ref_id = c.id) AS evidence
FROM controls c LEFT JOIN people p ON p.id = c.owner_id;

-- Each control against the newest approved version: change is '' when
-- the statement is as approved, 'new' when the control is not in it (or
-- nothing was approved yet), 'changed' when applicability,
-- justification, reason, implementation, status, title or theme differ.
-- Owner, evidence and linked risks are kept in the snapshot but do not
-- make a draft: they are the running of the control, not the statement.
CREATE VIEW soa_draft AS
SELECT cur.control AS control, cur.seq AS seq,
	COALESCE((SELECT MAX(id) FROM soa_versions), 0) AS version,
	CASE WHEN v.control IS NULL THEN 'new'
	WHEN v.applicable != cur.applicable OR v.justification !=
		cur.justification OR v.reason != cur.reason OR
		v.implementation != cur.implementation OR v.status !=
		cur.status OR v.title != cur.title OR v.theme != cur.theme
	THEN 'changed' ELSE '' END AS change
FROM soa_current cur LEFT JOIN soa_version_controls v ON v.version_id =
	(SELECT MAX(id) FROM soa_versions) AND v.control = cur.control;
