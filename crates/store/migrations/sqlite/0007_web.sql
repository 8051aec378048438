-- The web UI: users sign in with a password (argon2id, PHC string, in users.password_hash)
-- and get a session, in their language; the
-- session cookie carries a random token of which only the SHA-256 digest is stored, so a leaked
-- database does not leak live sessions. Each session has its own CSRF token for forms.

ALTER TABLE users ADD COLUMN language TEXT;

CREATE TABLE web_sessions (
    token_digest TEXT PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_web_sessions_user ON web_sessions (user_id);

-- The lead inbox lists hot, then warm, then cold leads, most engaged first, with the id as the
-- tie-break: with the id in the index, each temperature is one backward index scan that stops
-- after a page, however many contacts there are.
DROP INDEX ix_contacts_inbox;
CREATE INDEX ix_contacts_inbox ON contacts (temperature, engagement, id);

-- Saved views of the lead inbox: a name and the filters (a query string), per user.
CREATE TABLE saved_views (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ux_saved_views_name ON saved_views (user_id, name);
