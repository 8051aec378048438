-- SQLite's migration 10 adds an index its inbox text search scans instead of the contacts table.
-- PostgreSQL is left as it is: a B-tree does not serve `ILIKE '%…%'` there, and a trigram index
-- (pg_trgm) would be the tool, not measured yet.
SELECT 1;
