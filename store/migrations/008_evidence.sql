-- Evidence: audit rows keyed with the audit key (HMAC-SHA256) are marked;
-- rows written before the key existed keep their plain SHA-256 hash.
ALTER TABLE audit_log ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;

-- The keyed hash of every record row as last written by the program, and
-- the audit sequence number newest at that commit: audit verify finds
-- rows edited, removed or added by anything else.
CREATE TABLE record_hashes (
	tbl TEXT NOT NULL,
	row INTEGER NOT NULL,
	hash TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (tbl, row)
) WITHOUT ROWID;
