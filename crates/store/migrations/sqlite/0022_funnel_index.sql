-- The dashboard's funnel (by source, for a period) reads a narrow index instead of the wide
-- contact rows: the source first, so the groups come out in order without a sort, then the
-- creation instant (SQLite skips from one source's range to the next), then what it counts.
-- 1,000,000 contacts: see BENCHMARKS.md, "Pipeline and analytics reports".
CREATE INDEX ix_contacts_funnel ON contacts (source, created_at, reached_mql_at, reached_sql_at,
    reached_opportunity_at, reached_customer_at);
