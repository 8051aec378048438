-- Timelines stored in timeline order. The events table was a rowid table with two indexes (the
-- id, and contact + time): reading a contact's timeline found each event in the index, then
-- looked it up again in the table, wherever it had landed in arrival order. Stored WITHOUT ROWID
-- and keyed by (contact, time, id), a timeline is one contiguous range of the table, and an
-- insert updates two B-trees instead of three. The id stays unique for idempotent ingest.
CREATE TABLE events_by_contact (
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    occurred_at INTEGER NOT NULL,
    id BLOB NOT NULL,
    kind TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    source TEXT,
    campaign TEXT,
    properties TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (contact_id, occurred_at, id)
) STRICT, WITHOUT ROWID;
INSERT INTO events_by_contact (contact_id, occurred_at, id, kind, received_at, source, campaign, properties)
    SELECT contact_id, occurred_at, id, kind, received_at, source, campaign, properties FROM events;
DROP TABLE events;
ALTER TABLE events_by_contact RENAME TO events;
CREATE UNIQUE INDEX ux_events_id ON events (id);
