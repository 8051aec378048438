-- The pipeline: deals are created and moved in Leadgate, not only imported. Each deal gets a
-- name, its rep (a user; the source system's name for the rep is kept as owner_name), a
-- currency, an expected close date, the reason it was lost, its source and campaign, and when
-- it entered its stage. Its contacts, with their role in the purchase, move to deal_contacts
-- (deals.contact_id stays, always NULL: SQLite cannot drop a column that references another
-- table). Every change of stage is a row of deal_stage_changes, never updated.
ALTER TABLE deals ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE deals RENAME COLUMN owner TO owner_name;
ALTER TABLE deals ADD COLUMN owner_id BLOB;
ALTER TABLE deals ADD COLUMN currency TEXT NOT NULL DEFAULT 'EUR';
ALTER TABLE deals ADD COLUMN expected_close_on TEXT;
ALTER TABLE deals ADD COLUMN lost_reason TEXT;
ALTER TABLE deals ADD COLUMN source TEXT;
ALTER TABLE deals ADD COLUMN campaign TEXT;
ALTER TABLE deals ADD COLUMN stage_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE deals SET name = COALESCE(external_id, ''), stage_changed_at = updated_at;
CREATE INDEX ix_deals_stage ON deals (stage, owner_id);
CREATE INDEX ix_deals_owner ON deals (owner_id, stage);

CREATE TABLE deal_contacts (
    deal_id BLOB NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    -- decision_maker, intermediary, user, other
    role TEXT NOT NULL,
    PRIMARY KEY (deal_id, contact_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_deal_contacts_contact ON deal_contacts (contact_id, deal_id);
INSERT INTO deal_contacts (deal_id, contact_id, role)
    SELECT id, contact_id, 'other' FROM deals WHERE contact_id IS NOT NULL;
DROP INDEX ix_deals_contact;
UPDATE deals SET contact_id = NULL;

CREATE TABLE deal_stage_changes (
    id BLOB PRIMARY KEY,
    deal_id BLOB NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
    -- NULL: the deal was created
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    at INTEGER NOT NULL,
    -- NULL: an import
    user_id BLOB,
    lost_reason TEXT,
    note TEXT
) STRICT;
CREATE INDEX ix_deal_stage_changes_deal ON deal_stage_changes (deal_id, at);
CREATE INDEX ix_deal_stage_changes_at ON deal_stage_changes (at);
-- Deals imported before: their creation, at the stage they were imported with.
INSERT INTO deal_stage_changes (id, deal_id, from_stage, to_stage, at, user_id, lost_reason, note)
    SELECT id, id, NULL, stage, created_at, NULL, NULL, 'imported' FROM deals;
