-- Each stage change also records since when the deal had been in the stage it leaves (the
-- instant of the change before), written with the change: a report of time in stage then reads
-- the stays that ended in a period by the index on `at`, instead of pairing every change of
-- every deal that moved (see BENCHMARKS.md). Rows keep being appended, never updated; the
-- changes recorded so far get theirs here.
ALTER TABLE deal_stage_changes ADD COLUMN from_since INTEGER;
UPDATE deal_stage_changes SET from_since = (
    SELECT MAX(p.at) FROM deal_stage_changes p
    WHERE p.deal_id = deal_stage_changes.deal_id
      AND (p.at < deal_stage_changes.at OR (p.at = deal_stage_changes.at AND p.id < deal_stage_changes.id)))
WHERE from_stage IS NOT NULL;
