-- Leads picked by hand into a saved view (the inbox's bulk "add to a saved view"): such a view
-- shows its members, through whatever other filters it carries.
CREATE TABLE saved_view_members (
    view_id BLOB NOT NULL REFERENCES saved_views (id) ON DELETE CASCADE,
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (view_id, contact_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_saved_view_members_contact ON saved_view_members (contact_id);
