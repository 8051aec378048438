-- Capture: imported history (outcomes, deals), uploaded files waiting for their import job,
-- resumable imports, and the rows an import refused.

-- Whether the contact converted, when a source said so (an import of another CRM's history):
-- 'converted' or 'not_converted'. Prediction trains on it.
ALTER TABLE contacts ADD COLUMN outcome TEXT CHECK (outcome IN ('converted', 'not_converted'));
ALTER TABLE contacts ADD COLUMN outcome_at BIGINT;
CREATE INDEX ix_contacts_outcome ON contacts (outcome);
CREATE INDEX ix_companies_name ON companies (lower(name));

CREATE TABLE deals (
    id UUID PRIMARY KEY,
    external_id TEXT,
    company_id UUID REFERENCES companies (id) ON DELETE SET NULL,
    contact_id UUID REFERENCES contacts (id) ON DELETE SET NULL,
    stage TEXT NOT NULL,
    owner TEXT,
    product TEXT,
    value DOUBLE PRECISION,
    engaged_on TEXT,
    closed_on TEXT,
    custom TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_deals_external_id ON deals (external_id);
CREATE INDEX ix_deals_company ON deals (company_id);
CREATE INDEX ix_deals_contact ON deals (contact_id);

-- A file uploaded through the API, kept until its import job has run.
CREATE TABLE uploads (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    content BYTEA NOT NULL,
    created_by UUID,
    created_at BIGINT NOT NULL
);

-- Imports run from the command line, by file fingerprint: a re-run after a crash resumes after
-- the last committed line instead of starting over.
CREATE TABLE imports (
    fingerprint TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    file_name TEXT NOT NULL,
    last_line BIGINT NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    finished_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Rows refused by an import job, for its rejects report.
CREATE TABLE import_rejects (
    job_id UUID NOT NULL,
    line BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX ix_import_rejects_job ON import_rejects (job_id, line);
