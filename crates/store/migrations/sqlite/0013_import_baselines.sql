-- What the last import wrote into each field of a contact (JSON: {"country": "France", …}), so
-- a re-import replaces only values nobody changed since (core::import::merge).
CREATE TABLE contact_import_baselines (
    contact_id BLOB PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    fields TEXT NOT NULL
) STRICT, WITHOUT ROWID;
