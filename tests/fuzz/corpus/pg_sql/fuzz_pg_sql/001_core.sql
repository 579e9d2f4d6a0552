-- Core: people, incidents, approvals, outbox, inbound de-duplication,
-- settings and the hash-chained audit log.

CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE people (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	handle TEXT NOT NULL UNIQUE COLLATE NOCASE,
	name TEXT NOT NULL,
	email TEXT COLLATE NOCASE,
	slack_id TEXT,
	matrix_id TEXT,
	manager_id INTEGER REFERENCES people(id),
	team TEXT,
	timezone TEXT,
	roles INTEGER NOT NULL DEFAULT 1,
	active INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX people_email ON people(email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX people_slack ON people(slack_id) WHERE slack_id IS NOT NULL;
CREATE UNIQUE INDEX people_matrix ON people(matrix_id) WHERE matrix_id IS NOT NULL;
CREATE INDEX people_manager ON people(manager_id);

CREATE TABLE incidents (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	title TEXT NOT NULL,
	description TEXT NOT NULL,
	severity TEXT NOT NULL DEFAULT 'medium'
		CHECK (severity IN ('low','medium','high','critical')),
	category TEXT,
	personal_data INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'new'
		CHECK (status IN ('new','triaged','investigating','contained',
				  'resolved','closed')),
	reporter_id INTEGER NOT NULL REFERENCES people(id),
	handler_id INTEGER REFERENCES people(id),
	via TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	closed_at INTEGER,
	lessons TEXT,
	breach_outcome TEXT CHECK (breach_outcome IN ('notified','not_notifiable')),
	breach_reason TEXT,
	breach_stopped_at INTEGER
);
CREATE INDEX incidents_status ON incidents(status);
CREATE INDEX incidents_reporter ON incidents(reporter_id);

CREATE TABLE incident_timeline (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id INTEGER NOT NULL REFERENCES incidents(id),
	at INTEGER NOT NULL,
	actor_id INTEGER REFERENCES people(id),
	kind TEXT NOT NULL,
	text TEXT NOT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline(incident_id);

CREATE TABLE approvals (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL,
	object TEXT NOT NULL,
	summary TEXT NOT NULL,
	payload TEXT NOT NULL DEFAULT '{}',
	requester_id INTEGER NOT NULL REFERENCES people(id),
	approver_id INTEGER NOT NULL REFERENCES people(id),
	any_role INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending','approved','rejected','cancelled')),
	created_at INTEGER NOT NULL,
	deadline_at INTEGER NOT NULL,
	escalated_to INTEGER REFERENCES people(id),
	decided_at INTEGER,
	decided_by INTEGER REFERENCES people(id),
	decided_via TEXT,
	comment TEXT
);
CREATE INDEX approvals_status ON approvals(status, approver_id);

-- A message to one person, delivered by every transport that reaches them.
CREATE TABLE outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at INTEGER NOT NULL,
	person_id INTEGER REFERENCES people(id),
	address TEXT,
	kind TEXT NOT NULL DEFAULT 'notice',
	subject TEXT NOT NULL,
	body TEXT NOT NULL,
	html TEXT,
	payload TEXT NOT NULL DEFAULT '{}',
	routed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_unrouted ON outbox(routed) WHERE routed = 0;

CREATE TABLE outbox_delivery (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	outbox_id INTEGER NOT NULL REFERENCES outbox(id),
	transport TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending','sent','failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at INTEGER NOT NULL DEFAULT 0,
	last_error TEXT,
	channel TEXT,
	external_id TEXT,
	sent_at INTEGER,
	UNIQUE (outbox_id, transport)
);
CREATE INDEX outbox_delivery_pending ON outbox_delivery(status, next_at)
	WHERE status = 'pending';
CREATE INDEX outbox_delivery_external ON outbox_delivery(transport, external_id);

CREATE TABLE inbox (
	source TEXT NOT NULL,
	event_id TEXT NOT NULL,
	seen_at INTEGER NOT NULL,
	PRIMARY KEY (source, event_id)
) WITHOUT ROWID;

CREATE TABLE audit_log (
	seq INTEGER PRIMARY KEY,
	at TEXT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	details TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
