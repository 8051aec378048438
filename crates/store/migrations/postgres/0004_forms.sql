-- Web capture: forms and their spam counters, consent records with their proof, anonymous
-- visitors of the website tracker and their page views until they identify themselves, and
-- server-wide settings (the signing secret of tracking links and form timestamps).

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE forms (
    id UUID PRIMARY KEY,
    slug TEXT NOT NULL,
    definition TEXT NOT NULL,
    submissions BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_forms_slug ON forms (slug);

-- Submissions refused as spam or abuse, counted by reason (never stored as contacts).
CREATE TABLE form_rejections (
    form_id UUID NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (form_id, reason)
);

-- Consent per purpose, with proof: the exact text shown and its version, when, where, from
-- which address and browser. Refusals are recorded too. Rows are never updated: a withdrawal is
-- a new row, so the history is the proof.
CREATE TABLE consents (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    granted BOOLEAN NOT NULL,
    text TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    form_id UUID,
    ip TEXT,
    user_agent TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX ix_consents_contact ON consents (contact_id, purpose, at);

-- An anonymous browser (first-party cookie id) and, once it identified itself, its contact.
CREATE TABLE visitors (
    id TEXT PRIMARY KEY,
    contact_id UUID REFERENCES contacts (id) ON DELETE SET NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);

-- Page views of visitors not yet identified. Moved to the contact's timeline when they are.
CREATE TABLE visitor_events (
    id UUID PRIMARY KEY,
    visitor_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    source TEXT,
    campaign TEXT,
    properties TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_visitor_events_visitor ON visitor_events (visitor_id, occurred_at);
