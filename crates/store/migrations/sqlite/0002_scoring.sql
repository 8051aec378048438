-- Scoring, qualification and lifecycle: versioned rules, the score of each contact (as of its
-- last computation, with the rules version that produced it), the BANT checklist, and the
-- append-only history of stage changes. Points are stored as hundredths (exact).

CREATE TABLE scoring_rules (
    version INTEGER PRIMARY KEY,
    document TEXT NOT NULL,
    comment TEXT,
    created_by BLOB,
    created_at INTEGER NOT NULL
) STRICT;

ALTER TABLE contacts ADD COLUMN fit_points INTEGER;
ALTER TABLE contacts ADD COLUMN fit_grade TEXT;
ALTER TABLE contacts ADD COLUMN engagement INTEGER;
ALTER TABLE contacts ADD COLUMN temperature TEXT;
ALTER TABLE contacts ADD COLUMN temperature_reason TEXT;
ALTER TABLE contacts ADD COLUMN knockouts TEXT;
ALTER TABLE contacts ADD COLUMN rules_version INTEGER;
ALTER TABLE contacts ADD COLUMN scored_at INTEGER;
ALTER TABLE contacts ADD COLUMN stage_changed_at INTEGER;
ALTER TABLE contacts ADD COLUMN stage_set_by_user INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN sales_accepted_at INTEGER;
ALTER TABLE contacts ADD COLUMN sales_accepted_by BLOB;
ALTER TABLE contacts ADD COLUMN recycle_until INTEGER;
CREATE INDEX ix_contacts_inbox ON contacts (temperature, engagement);

-- The state of the engagement walk (see leadgate_core::scoring::ledger), so a new event is
-- scored without reading the whole timeline again. Derived data: dropping a row costs one full
-- read of that contact's timeline. A table of its own keeps contact rows small, since it is
-- rewritten on every event.
CREATE TABLE engagement_ledgers (
    contact_id BLOB PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    ledger BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE qualification (
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    criterion TEXT NOT NULL CHECK (criterion IN ('need', 'budget', 'authority', 'timing')),
    answer TEXT NOT NULL CHECK (answer IN ('unknown', 'yes', 'no')),
    set_by BLOB,
    set_at INTEGER,
    note TEXT,
    PRIMARY KEY (contact_id, criterion)
) STRICT;

CREATE TABLE lifecycle_transitions (
    id BLOB PRIMARY KEY,
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    from_stage TEXT NOT NULL,
    to_stage TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
) STRICT;
CREATE INDEX ix_transitions_contact ON lifecycle_transitions (contact_id, at);
CREATE INDEX ix_transitions_at ON lifecycle_transitions (at);

-- Where a long job resumes after a restart (e.g. the last contact id rescored).
ALTER TABLE jobs ADD COLUMN checkpoint TEXT;
