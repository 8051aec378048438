-- Names are matched and searched through keys folded in Rust (`core::text::fold`: case for all
-- of Unicode, accents, ligatures), because SQLite's lower() folds ASCII only and PostgreSQL's
-- depends on its locale: a company spelled `ÉCOLE` and `École` was two companies on SQLite.
-- The keys of existing rows (and the search texts, now folded too) are written by the migration
-- step in Rust that follows this script (`migrate.rs`).
ALTER TABLE companies ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
DROP INDEX ix_companies_name;
CREATE INDEX ix_companies_name_key ON companies (name_key);
