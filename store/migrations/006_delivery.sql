-- Delivery: finding messages every transport refused (the daily digest
-- and the report's count) without reading the whole outbox.
CREATE INDEX outbox_delivery_failed ON outbox_delivery(outbox_id)
	WHERE status = 'failed';

-- A document's acknowledgement due date (doc add ... ack=required
-- due=YYYY-MM-DD): the last call goes out two days before it.
ALTER TABLE docs ADD COLUMN ack_due_at INTEGER;
