-- Scoring, qualification and lifecycle: versioned rules, the score of each contact (as of its
-- last computation, with the rules version that produced it), the BANT checklist, and the
-- append-only history of stage changes. Points are stored as hundredths (exact).

CREATE TABLE scoring_rules (
    version BIGINT PRIMARY KEY,
    document TEXT NOT NULL,
    comment TEXT,
    created_by UUID,
    created_at BIGINT NOT NULL
);

ALTER TABLE contacts ADD COLUMN fit_points BIGINT;
ALTER TABLE contacts ADD COLUMN fit_grade TEXT;
ALTER TABLE contacts ADD COLUMN engagement BIGINT;
ALTER TABLE contacts ADD COLUMN temperature TEXT;
ALTER TABLE contacts ADD COLUMN temperature_reason TEXT;
ALTER TABLE contacts ADD COLUMN knockouts TEXT;
ALTER TABLE contacts ADD COLUMN rules_version BIGINT;
ALTER TABLE contacts ADD COLUMN scored_at BIGINT;
ALTER TABLE contacts ADD COLUMN stage_changed_at BIGINT;
ALTER TABLE contacts ADD COLUMN stage_set_by_user BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE contacts ADD COLUMN sales_accepted_at BIGINT;
ALTER TABLE contacts ADD COLUMN sales_accepted_by UUID;
ALTER TABLE contacts ADD COLUMN recycle_until BIGINT;
CREATE INDEX ix_contacts_inbox ON contacts (temperature, engagement);

-- The state of the engagement walk (see leadgate_core::scoring::ledger), so a new event is
-- scored without reading the whole timeline again. Derived data: dropping a row costs one full
-- read of that contact's timeline. A table of its own keeps contact rows small, since it is
-- rewritten on every event.
CREATE TABLE engagement_ledgers (
    contact_id UUID PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    ledger BYTEA NOT NULL
);

CREATE TABLE qualification (
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    criterion TEXT NOT NULL CHECK (criterion IN ('need', 'budget', 'authority', 'timing')),
    answer TEXT NOT NULL CHECK (answer IN ('unknown', 'yes', 'no')),
    set_by UUID,
    set_at BIGINT,
    note TEXT,
    PRIMARY KEY (contact_id, criterion)
);

CREATE TABLE lifecycle_transitions (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    from_stage TEXT NOT NULL,
    to_stage TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX ix_transitions_contact ON lifecycle_transitions (contact_id, at);
CREATE INDEX ix_transitions_at ON lifecycle_transitions (at);

-- Where a long job resumes after a restart (e.g. the last contact id rescored).
ALTER TABLE jobs ADD COLUMN checkpoint TEXT;
