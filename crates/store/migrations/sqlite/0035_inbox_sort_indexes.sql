-- The inbox sorted by name, fit grade or owner walks these in order and stops when a page is full,
-- instead of sorting every contact (about 2 s at 1M): see BENCHMARKS.md, "Lead inbox". The
-- name's expression is written as the inbox's query writes it.
CREATE INDEX ix_contacts_name_sort ON contacts (lower(coalesce(first_name, last_name, email)), id);
CREATE INDEX ix_contact_scores_grade ON contact_scores (fit_grade, contact_id);
-- Sorted by owner, the page walks each rep's open assignments in contact order.
CREATE INDEX ix_assignments_open_rep ON assignments (rep_id, contact_id) WHERE closed_at IS NULL;
