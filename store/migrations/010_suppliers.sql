-- Suppliers (ISO/IEC 27001 Annex A 5.19-5.23): who provides what, how
-- critical it is, what data they get, the contract and the data
-- processing agreement, and the periodic review of each supplier with its
-- history. Risks may name the supplier they come from.

-- dpa: 'yes', 'no', or NULL when nobody has said. next_review_at is the
-- start (00:00 UTC) of the day the next review is due. A retired
-- supplier keeps its number and history; it is nudged no more.
CREATE TABLE suppliers (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	criticality TEXT NOT NULL
		CHECK (criticality IN ('low','medium','high','critical')),
	data TEXT NOT NULL
		CHECK (data IN ('none','internal','confidential','personal')),
	owner_id INTEGER NOT NULL REFERENCES people(id),
	service TEXT,
	contract_url TEXT,
	dpa TEXT CHECK (dpa IN ('yes','no')),
	review_every TEXT NOT NULL,
	next_review_at INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT 'active'
		CHECK (status IN ('active','retired')),
	retired_reason TEXT,
	retired_by INTEGER REFERENCES people(id),
	retired_at INTEGER,
	created_by INTEGER NOT NULL REFERENCES people(id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX suppliers_owner ON suppliers(owner_id);
CREATE INDEX suppliers_review ON suppliers(status, next_review_at);

-- Every review recorded, with the next review date it set.
CREATE TABLE supplier_reviews (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
	result TEXT NOT NULL,
	reviewer_id INTEGER NOT NULL REFERENCES people(id),
	at INTEGER NOT NULL,
	next_review_at INTEGER NOT NULL
);
CREATE INDEX supplier_reviews_supplier ON supplier_reviews(supplier_id);

ALTER TABLE risks ADD COLUMN supplier_id INTEGER REFERENCES suppliers(id);
CREATE INDEX risks_supplier ON risks(supplier_id);
