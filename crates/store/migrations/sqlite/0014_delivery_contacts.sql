-- Which contact a webhook message is about, so that deleting the contact erases what the
-- delivery log keeps of it (the message keeps its id, type, time and attempts; its payload
-- becomes {"erased":true}, and one not sent yet is cancelled). The contact of messages queued
-- before this migration is read from their payload by the migration step in Rust that follows.
ALTER TABLE webhook_deliveries ADD COLUMN contact_id BLOB;
ALTER TABLE webhook_deliveries ADD COLUMN erased_at INTEGER;
CREATE INDEX ix_deliveries_contact ON webhook_deliveries (contact_id) WHERE contact_id IS NOT NULL;
