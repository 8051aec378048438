-- Free notes on a contact, written by the team: appended, each with its author and time. Personal
-- data: they go with the contact (foreign key) and with its anonymisation.
CREATE TABLE contact_notes (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    author_id UUID,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ix_contact_notes_contact ON contact_notes (contact_id, created_at);
