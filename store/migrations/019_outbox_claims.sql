-- Several gateways on one PostgreSQL store: the leader claims the
-- deliveries it sends with its epoch (a number that grows with each
-- takeover), and records outcomes only of rows it still holds, so that
-- a gateway that lost the lead changes nothing its successor took over.
-- 0: not claimed (always so on SQLite, where one gateway owns the file).
ALTER TABLE outbox_delivery ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;
