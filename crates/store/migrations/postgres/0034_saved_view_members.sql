-- Leads picked by hand into a saved view (the inbox's bulk "add to a saved view"): such a view
-- shows its members, through whatever other filters it carries.
CREATE TABLE saved_view_members (
    view_id UUID NOT NULL REFERENCES saved_views (id) ON DELETE CASCADE,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (view_id, contact_id)
);
CREATE INDEX ix_saved_view_members_contact ON saved_view_members (contact_id);
