-- SQLite stores timelines in timeline order from this version (a WITHOUT ROWID table keyed by
-- contact, time and id). PostgreSQL keeps its heap table and the (contact_id, occurred_at, id)
-- index: nothing changes here, the version only keeps both dialects numbered alike.
SELECT 1;
