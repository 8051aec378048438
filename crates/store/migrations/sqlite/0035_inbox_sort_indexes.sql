-- The inbox sorted by name or by fit grade walks these in order and stops when a page is full,
-- instead of sorting every contact (about 2 s at 1M): see BENCHMARKS.md, "Lead inbox". The
-- name's expression is written as the inbox's query writes it.
CREATE INDEX ix_contacts_name_sort ON contacts (lower(coalesce(first_name, last_name, email)), id);
CREATE INDEX ix_contact_scores_grade ON contact_scores (fit_grade, contact_id);
