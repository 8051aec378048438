-- Free notes on a contact, written by the team: appended, each with its author and time. Personal
-- data: they go with the contact (foreign key) and with its anonymisation.
CREATE TABLE contact_notes (
    id BLOB PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    author_id BLOB,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX ix_contact_notes_contact ON contact_notes (contact_id, created_at);
