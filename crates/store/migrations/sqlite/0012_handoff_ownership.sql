-- An accepted lead stays its rep's: accepting records when (accepted_at) and keeps the
-- assignment open, so the lead stays in the rep's queue and shows its owner; an assignment
-- closes when ownership ends (rejected, reassigned, requalified, customer).
ALTER TABLE assignments ADD COLUMN accepted_at INTEGER;
-- When the deadline was tightened because the lead warmed up before its first touch.
ALTER TABLE assignments ADD COLUMN retimed_at INTEGER;
UPDATE assignments SET accepted_at = closed_at WHERE outcome = 'accepted';
UPDATE assignments SET closed_at = NULL
WHERE outcome = 'accepted' AND closed_at IS NOT NULL
  AND contact_id IN (SELECT id FROM contacts WHERE lifecycle_stage IN ('mql', 'sql', 'opportunity'))
  AND NOT EXISTS (SELECT 1 FROM assignments b WHERE b.contact_id = assignments.contact_id
                  AND (b.closed_at IS NULL OR b.assigned_at > assignments.assigned_at));

-- What an agreement task is for, so the action that fulfils it closes it: first_contact (made
-- with an assignment), follow_up (after a touch with no reply), breach (a manager's, on a missed
-- deadline). NULL: a task a person made, closed by a person.
ALTER TABLE tasks ADD COLUMN purpose TEXT;
UPDATE tasks SET purpose = 'first_contact' WHERE created_by IS NULL AND title = 'First contact with this new lead';
UPDATE tasks SET purpose = 'follow_up' WHERE created_by IS NULL AND title LIKE 'Follow up: no reply%';
UPDATE tasks SET purpose = 'breach' WHERE created_by IS NULL AND title LIKE '% missed the first-touch deadline on this lead';
-- First-contact tasks left open although their lead was touched, accepted or rejected since.
UPDATE tasks SET done_at = (
    SELECT MIN(COALESCE(a.first_touch_at, a.closed_at)) FROM assignments a
    WHERE a.contact_id = tasks.contact_id AND a.rep_id = tasks.assignee_id
      AND COALESCE(a.first_touch_at, a.closed_at) >= tasks.created_at)
WHERE purpose = 'first_contact' AND done_at IS NULL AND EXISTS (
    SELECT 1 FROM assignments a
    WHERE a.contact_id = tasks.contact_id AND a.rep_id = tasks.assignee_id
      AND COALESCE(a.first_touch_at, a.closed_at) >= tasks.created_at);
CREATE INDEX ix_tasks_contact_open ON tasks (contact_id) WHERE done_at IS NULL;
