-- Each contact's score and engagement ledger move to a narrow table of their own. Rescoring
-- rewrites them for every contact of a rules change and on every event: in the contacts table
-- that rewrote the whole wide row and, on PostgreSQL, added an entry to each of its ten indexes
-- (the inbox index holds the engagement, so the update could never be in place). Here a rescore
-- touches one row and the inbox index only. Every contact has its row from its creation on
-- (NULL scores until first scored), so the inbox can walk this table's index and join.
CREATE TABLE contact_scores (
    contact_id BLOB PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    fit_points INTEGER,
    fit_grade TEXT,
    engagement INTEGER,
    temperature TEXT,
    temperature_reason TEXT,
    knockouts TEXT,
    rules_version INTEGER,
    scored_at INTEGER,
    -- The state of the engagement walk (see leadgate_core::scoring::ledger), so a new event is
    -- scored without reading the whole timeline again. Derived data: NULL costs one full read
    -- of the contact's timeline.
    ledger BLOB
) STRICT, WITHOUT ROWID;
INSERT INTO contact_scores (contact_id, fit_points, fit_grade, engagement, temperature, temperature_reason,
    knockouts, rules_version, scored_at, ledger)
    SELECT c.id, c.fit_points, c.fit_grade, c.engagement, c.temperature, c.temperature_reason, c.knockouts,
        c.rules_version, c.scored_at, l.ledger
    FROM contacts c LEFT JOIN engagement_ledgers l ON l.contact_id = c.id;
CREATE INDEX ix_contact_scores_inbox ON contact_scores (temperature, engagement, contact_id);
DROP TABLE engagement_ledgers;
DROP INDEX ix_contacts_inbox;
ALTER TABLE contacts DROP COLUMN fit_points;
ALTER TABLE contacts DROP COLUMN fit_grade;
ALTER TABLE contacts DROP COLUMN engagement;
ALTER TABLE contacts DROP COLUMN temperature;
ALTER TABLE contacts DROP COLUMN temperature_reason;
ALTER TABLE contacts DROP COLUMN knockouts;
ALTER TABLE contacts DROP COLUMN rules_version;
ALTER TABLE contacts DROP COLUMN scored_at;
