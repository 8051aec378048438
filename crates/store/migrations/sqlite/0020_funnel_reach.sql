-- When each contact first reached each funnel step past lead (core::lifecycle::Reached, defined
-- in docs/analytics.md): kept on the contact as it moves, so a funnel report reads one row per
-- contact instead of its whole stage history. Filled here from the history recorded so far,
-- the stage each contact is at (reached when it was created, if no move says otherwise), and
-- imported outcomes (a converted contact reached every step, when its outcome was recorded).
ALTER TABLE contacts ADD COLUMN reached_mql_at INTEGER;
ALTER TABLE contacts ADD COLUMN reached_sql_at INTEGER;
ALTER TABLE contacts ADD COLUMN reached_opportunity_at INTEGER;
ALTER TABLE contacts ADD COLUMN reached_customer_at INTEGER;
UPDATE contacts SET
    reached_mql_at = (SELECT MIN(at) FROM lifecycle_transitions t WHERE t.contact_id = contacts.id
        AND t.to_stage IN ('mql', 'sql', 'opportunity', 'customer', 'churned')),
    reached_sql_at = (SELECT MIN(at) FROM lifecycle_transitions t WHERE t.contact_id = contacts.id
        AND t.to_stage IN ('sql', 'opportunity', 'customer', 'churned')),
    reached_opportunity_at = (SELECT MIN(at) FROM lifecycle_transitions t WHERE t.contact_id = contacts.id
        AND t.to_stage IN ('opportunity', 'customer', 'churned')),
    reached_customer_at = (SELECT MIN(at) FROM lifecycle_transitions t WHERE t.contact_id = contacts.id
        AND t.to_stage IN ('customer', 'churned'))
WHERE EXISTS (SELECT 1 FROM lifecycle_transitions t WHERE t.contact_id = contacts.id);
UPDATE contacts SET reached_mql_at = created_at
    WHERE reached_mql_at IS NULL AND lifecycle_stage IN ('mql', 'sql', 'opportunity', 'customer', 'churned');
UPDATE contacts SET reached_sql_at = created_at
    WHERE reached_sql_at IS NULL AND lifecycle_stage IN ('sql', 'opportunity', 'customer', 'churned');
UPDATE contacts SET reached_opportunity_at = created_at
    WHERE reached_opportunity_at IS NULL AND lifecycle_stage IN ('opportunity', 'customer', 'churned');
UPDATE contacts SET reached_customer_at = created_at
    WHERE reached_customer_at IS NULL AND lifecycle_stage IN ('customer', 'churned');
UPDATE contacts SET
    reached_mql_at = COALESCE(reached_mql_at, outcome_at, created_at),
    reached_sql_at = COALESCE(reached_sql_at, outcome_at, created_at),
    reached_opportunity_at = COALESCE(reached_opportunity_at, outcome_at, created_at),
    reached_customer_at = COALESCE(reached_customer_at, outcome_at, created_at)
WHERE outcome = 'converted';
