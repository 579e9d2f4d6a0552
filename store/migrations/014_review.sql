-- The management review in full (ISO/IEC 27001 clause 9.3): who attended
-- a review, feedback received from interested parties (9.3.2 e) and the
-- measurements of objectives (6.2 d, 9.3.2 d 4) whose trend the review
-- and the report show.
CREATE TABLE review_attendees (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	review_id INTEGER NOT NULL REFERENCES reviews(id),
	person_id INTEGER NOT NULL REFERENCES people(id),
	UNIQUE (review_id, person_id)
);

CREATE TABLE party_feedback (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	party_id INTEGER NOT NULL REFERENCES parties(id),
	text TEXT NOT NULL,
	recorded_by INTEGER NOT NULL REFERENCES people(id),
	recorded_at INTEGER NOT NULL
);
CREATE INDEX party_feedback_at ON party_feedback(recorded_at);

-- value: the measured number; measured_at: the day it was measured.
CREATE TABLE objective_measurements (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	objective_id INTEGER NOT NULL REFERENCES objectives(id),
	value REAL NOT NULL,
	measured_at INTEGER NOT NULL,
	note TEXT,
	recorded_by INTEGER NOT NULL REFERENCES people(id),
	recorded_at INTEGER NOT NULL
);
CREATE INDEX objective_measurements_obj
	ON objective_measurements(objective_id, measured_at);
