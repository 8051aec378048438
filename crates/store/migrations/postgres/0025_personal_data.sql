-- Personal data: the suppression list and the audit log.
--
-- An erased person leaves only a keyed hash of their e-mail (HMAC-SHA256 of the e-mail key with
-- a secret kept outside the database), so a later import, form or API call with that e-mail is
-- refused instead of bringing them back, while a stolen database does not list who asked.
CREATE TABLE suppressions (
    email_hash TEXT PRIMARY KEY,
    -- erased, objected, retention
    reason TEXT NOT NULL,
    suppressed_at BIGINT NOT NULL
);

-- Sensitive actions, appended and never updated, except that erasing a person clears what an
-- entry says about them (contact_id, target and detail): the entry stays, the identity goes.
CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    at BIGINT NOT NULL,
    -- NULL: the system (a scheduled purge) or an anonymous request (a failed sign-in).
    actor_id UUID,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    contact_id UUID,
    detail TEXT NOT NULL DEFAULT '{}',
    ip TEXT
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_contact ON audit_log (contact_id) WHERE contact_id IS NOT NULL;

-- An objection to direct marketing (GDPR art. 21): absolute, it stops marketing e-mail and the
-- profiling for it (the contact is shown as objected, not scored).
ALTER TABLE contacts ADD COLUMN objected_at BIGINT;

-- A contact anonymised by the retention rule (instead of erased, when the workspace keeps
-- statistics): its identity and free text are gone, the row stays for the funnel and the
-- hand-off figures, and every read of contacts for people leaves it out.
ALTER TABLE contacts ADD COLUMN anonymised_at BIGINT;

-- Erasing a contact deletes its tasks and assignments and unlinks its website visitors (foreign
-- keys): without an index on the contact, each erased contact would scan those tables whole.
CREATE INDEX ix_tasks_contact ON tasks (contact_id);
CREATE INDEX ix_assignments_contact ON assignments (contact_id);
CREATE INDEX ix_visitors_contact ON visitors (contact_id) WHERE contact_id IS NOT NULL;
