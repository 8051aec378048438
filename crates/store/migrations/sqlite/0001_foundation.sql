-- Foundation: users and API keys, companies, contacts, custom fields, events, idempotency keys
-- and the job queue. Instants are microseconds since the Unix epoch (INTEGER); ids are UUIDv7
-- (16-byte BLOB); JSON is TEXT. Tables are STRICT so a wrong type is an error, not a surprise.
-- Contacts and companies are WITHOUT ROWID, i.e. stored in id order: ids are time-ordered, so
-- new rows append, and walking everyone in id order (rescoring) reads and writes contiguous
-- pages instead of one random page per contact.

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    name TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'marketing', 'sales')),
    password_hash TEXT,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
) STRICT;
CREATE UNIQUE INDEX ux_users_email ON users (email_key);

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE UNIQUE INDEX ux_api_keys_prefix ON api_keys (prefix);
CREATE INDEX ix_api_keys_user ON api_keys (user_id);

CREATE TABLE companies (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT,
    sector TEXT,
    employees INTEGER,
    annual_revenue REAL,
    country TEXT,
    external_id TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX ux_companies_external_id ON companies (external_id);
CREATE INDEX ix_companies_domain ON companies (domain);

CREATE TABLE contacts (
    id BLOB PRIMARY KEY,
    email TEXT,
    email_key TEXT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    job_title TEXT,
    company_id BLOB REFERENCES companies (id) ON DELETE SET NULL,
    country TEXT,
    city TEXT,
    external_id TEXT,
    lifecycle_stage TEXT NOT NULL,
    source TEXT,
    campaign TEXT,
    last_touch_source TEXT,
    last_touch_campaign TEXT,
    last_touch_at INTEGER,
    do_not_email INTEGER NOT NULL DEFAULT 0,
    do_not_call INTEGER NOT NULL DEFAULT 0,
    custom TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX ux_contacts_email ON contacts (email_key);
CREATE UNIQUE INDEX ux_contacts_external_id ON contacts (external_id);
CREATE INDEX ix_contacts_company ON contacts (company_id);
CREATE INDEX ix_contacts_source ON contacts (source);
CREATE INDEX ix_contacts_stage ON contacts (lifecycle_stage, id);
CREATE INDEX ix_contacts_created ON contacts (created_at);
CREATE INDEX ix_contacts_updated ON contacts (updated_at);

CREATE TABLE custom_fields (
    entity TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    choices TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (entity, key)
) STRICT;

CREATE TABLE events (
    id BLOB PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    source TEXT,
    campaign TEXT,
    properties TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX ix_events_contact_time ON events (contact_id, occurred_at, id);

-- A replayable answer per (user, Idempotency-Key): a retried request gets the first answer.
CREATE TABLE idempotency_keys (
    user_id BLOB NOT NULL,
    key TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT;
CREATE INDEX ix_idempotency_created ON idempotency_keys (created_at);

-- Background jobs. A job is claimed by writing a lease (owner + expiry); a lease that expires
-- (its server died) makes the job claimable again, so work survives crashes and runs once.
CREATE TABLE jobs (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER,
    result TEXT,
    last_error TEXT,
    created_by BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
) STRICT;
CREATE INDEX ix_jobs_claim ON jobs (state, run_at);
