-- A form's render token is single-use: the token's signature is kept once a submission with it
-- was accepted, until the token could no longer be accepted anyway (24 h).
CREATE TABLE used_form_tokens (
    form_id BLOB NOT NULL,
    signature TEXT NOT NULL,
    used_at INTEGER NOT NULL,
    PRIMARY KEY (form_id, signature)
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_used_form_tokens_used ON used_form_tokens (used_at);

-- A consent change asked for anonymously (a form naming an existing contact's e-mail): not
-- applied until the person confirms it, with the same proof as a consent record.
CREATE TABLE consent_requests (
    id BLOB PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    granted INTEGER NOT NULL,
    text TEXT NOT NULL,
    version TEXT NOT NULL,
    form_id BLOB,
    ip TEXT,
    user_agent TEXT,
    requested_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    resolved_at INTEGER
) STRICT;
CREATE INDEX ix_consent_requests_contact ON consent_requests (contact_id, requested_at);
