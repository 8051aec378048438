-- Foundation (PostgreSQL twin of the SQLite migration): users and API keys, companies, contacts,
-- custom fields, events, idempotency keys and the job queue. Instants are microseconds since the
-- Unix epoch (BIGINT), ids are UUIDv7, JSON is TEXT (we never query inside it in SQL).

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    name TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'marketing', 'sales')),
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
CREATE UNIQUE INDEX ux_users_email ON users (email_key);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX ux_api_keys_prefix ON api_keys (prefix);
CREATE INDEX ix_api_keys_user ON api_keys (user_id);

CREATE TABLE companies (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT,
    sector TEXT,
    employees BIGINT,
    annual_revenue DOUBLE PRECISION,
    country TEXT,
    external_id TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_companies_external_id ON companies (external_id);
CREATE INDEX ix_companies_domain ON companies (domain);

CREATE TABLE contacts (
    id UUID PRIMARY KEY,
    email TEXT,
    email_key TEXT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    job_title TEXT,
    company_id UUID REFERENCES companies (id) ON DELETE SET NULL,
    country TEXT,
    city TEXT,
    external_id TEXT,
    lifecycle_stage TEXT NOT NULL,
    source TEXT,
    campaign TEXT,
    last_touch_source TEXT,
    last_touch_campaign TEXT,
    last_touch_at BIGINT,
    do_not_email BOOLEAN NOT NULL DEFAULT FALSE,
    do_not_call BOOLEAN NOT NULL DEFAULT FALSE,
    custom TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
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
    created_at BIGINT NOT NULL,
    PRIMARY KEY (entity, key)
);

CREATE TABLE events (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    source TEXT,
    campaign TEXT,
    properties TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_events_contact_time ON events (contact_id, occurred_at, id);

-- A replayable answer per (user, Idempotency-Key): a retried request gets the first answer.
CREATE TABLE idempotency_keys (
    user_id UUID NOT NULL,
    key TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status BIGINT NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX ix_idempotency_created ON idempotency_keys (created_at);

-- Background jobs. A job is claimed by writing a lease (owner + expiry); a lease that expires
-- (its server died) makes the job claimable again, so work survives crashes and runs once.
CREATE TABLE jobs (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    progress_done BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT,
    result TEXT,
    last_error TEXT,
    created_by UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX ix_jobs_claim ON jobs (state, run_at);
