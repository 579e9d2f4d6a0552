-- The ISMS register: assets, risks with their history and treatment, the
-- Statement of Applicability (controls), actions, documents, internal
-- audits and findings, management reviews, scope versions and objectives.

CREATE TABLE assets (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	owner_id INTEGER NOT NULL REFERENCES people(id),
	classification TEXT NOT NULL
		CHECK (classification IN ('public','internal','confidential',
					  'restricted')),
	conf INTEGER NOT NULL CHECK (conf BETWEEN 1 AND 3),
	integ INTEGER NOT NULL CHECK (integ BETWEEN 1 AND 3),
	avail INTEGER NOT NULL CHECK (avail BETWEEN 1 AND 3),
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX assets_owner ON assets(owner_id);

-- The Annex A controls, loaded from config/annex-a.tsv by store_open.
CREATE TABLE controls (
	id TEXT PRIMARY KEY,
	seq INTEGER NOT NULL UNIQUE,
	theme TEXT NOT NULL
		CHECK (theme IN ('organizational','people','physical',
				 'technological')),
	title TEXT NOT NULL,
	applicable INTEGER NOT NULL DEFAULT 1 CHECK (applicable IN (0, 1)),
	status TEXT NOT NULL DEFAULT 'not_started'
		CHECK (status IN ('not_started','partial','implemented')),
	justification TEXT,
	owner_id INTEGER REFERENCES people(id),
	updated_by INTEGER REFERENCES people(id),
	updated_at INTEGER
);

-- level and residual_level are recorded when the risk is assessed or
-- treated, with the [risk] levels then in force (like next_review_at).
CREATE TABLE risks (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	title TEXT NOT NULL,
	asset_id INTEGER REFERENCES assets(id),
	owner_id INTEGER NOT NULL REFERENCES people(id),
	threat TEXT,
	vulnerability TEXT,
	likelihood INTEGER NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
	impact INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 5),
	score INTEGER GENERATED ALWAYS AS (likelihood * impact) STORED,
	level TEXT NOT NULL
		CHECK (level IN ('low','medium','high','critical')),
	treatment TEXT
		CHECK (treatment IN ('mitigate','accept','transfer','avoid')),
	plan TEXT,
	residual_likelihood INTEGER
		CHECK (residual_likelihood BETWEEN 1 AND 5),
	residual_impact INTEGER CHECK (residual_impact BETWEEN 1 AND 5),
	residual_score INTEGER
		GENERATED ALWAYS AS (residual_likelihood * residual_impact) STORED,
	residual_level TEXT
		CHECK (residual_level IN ('low','medium','high','critical')),
	treated_at INTEGER,
	accept_approval_id INTEGER REFERENCES approvals(id),
	next_review_at INTEGER NOT NULL,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX risks_owner ON risks(owner_id);
CREATE INDEX risks_asset ON risks(asset_id);

CREATE TABLE risk_history (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	risk_id INTEGER NOT NULL REFERENCES risks(id),
	at INTEGER NOT NULL,
	actor_id INTEGER REFERENCES people(id),
	field TEXT NOT NULL,
	old_value TEXT,
	new_value TEXT
);
CREATE INDEX risk_history_risk ON risk_history(risk_id);

CREATE TABLE risk_controls (
	risk_id INTEGER NOT NULL REFERENCES risks(id),
	control_id TEXT NOT NULL REFERENCES controls(id),
	PRIMARY KEY (risk_id, control_id)
) WITHOUT ROWID;
CREATE INDEX risk_controls_control ON risk_controls(control_id);

-- Pending risk acceptances are found by their approval's object.
CREATE INDEX approvals_object ON approvals(object, kind, status);

CREATE TABLE audits (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	scope TEXT NOT NULL,
	planned_at INTEGER NOT NULL,
	auditor_id INTEGER NOT NULL REFERENCES people(id),
	status TEXT NOT NULL DEFAULT 'planned'
		CHECK (status IN ('planned','closed')),
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	closed_by INTEGER REFERENCES people(id),
	closed_at INTEGER
);

CREATE TABLE findings (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	audit_id INTEGER NOT NULL REFERENCES audits(id),
	kind TEXT NOT NULL
		CHECK (kind IN ('major','minor','observation','opportunity')),
	text TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	closed_by INTEGER REFERENCES people(id),
	closed_at INTEGER
);
CREATE INDEX findings_audit ON findings(audit_id);

CREATE TABLE reviews (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	planned_at INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT 'planned'
		CHECK (status IN ('planned','held')),
	inputs TEXT, -- the compiled inputs as they stood when recorded
	decisions TEXT,
	held_at INTEGER,
	recorded_by INTEGER REFERENCES people(id),
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL
);

-- source_kind/source_id: where the action comes from; finding_id: the
-- nonconformity it corrects (its audit is the source).
CREATE TABLE actions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	text TEXT NOT NULL,
	owner_id INTEGER NOT NULL REFERENCES people(id),
	due_at INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done')),
	source_kind TEXT CHECK (source_kind IN ('RSK','INC','AUD','MR')),
	source_id INTEGER,
	finding_id INTEGER REFERENCES findings(id),
	evidence TEXT,
	done_by INTEGER REFERENCES people(id),
	done_at INTEGER,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	CHECK ((source_kind IS NULL) = (source_id IS NULL))
);
CREATE INDEX actions_owner ON actions(owner_id, status);
CREATE INDEX actions_source ON actions(source_kind, source_id);
CREATE INDEX actions_finding ON actions(finding_id);

CREATE TABLE docs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	title TEXT NOT NULL,
	owner_id INTEGER NOT NULL REFERENCES people(id),
	review_every TEXT NOT NULL,
	url TEXT,
	ack_required INTEGER NOT NULL DEFAULT 0 CHECK (ack_required IN (0, 1)),
	next_review_at INTEGER NOT NULL,
	last_reviewed_at INTEGER,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL
);

CREATE TABLE doc_acks (
	doc_id INTEGER NOT NULL REFERENCES docs(id),
	person_id INTEGER NOT NULL REFERENCES people(id),
	at INTEGER NOT NULL,
	PRIMARY KEY (doc_id, person_id)
) WITHOUT ROWID;

CREATE TABLE scope_versions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	text TEXT NOT NULL,
	set_by INTEGER NOT NULL REFERENCES people(id),
	set_at INTEGER NOT NULL
);

CREATE TABLE objectives (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	text TEXT NOT NULL,
	target TEXT NOT NULL,
	due_at INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT 'open'
		CHECK (status IN ('open','achieved','missed')),
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
