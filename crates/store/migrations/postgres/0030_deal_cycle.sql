-- A closed deal keeps its sales cycle in days (engage date, else creation day, to close), written
-- with the deal: the win-rate report groups by it instead of parsing two text dates per deal.
ALTER TABLE deals ADD COLUMN cycle_days BIGINT;
UPDATE deals SET cycle_days = CAST(CAST(closed_on AS DATE) - COALESCE(CAST(engaged_on AS DATE), CAST(to_timestamp(created_at / 1000000.0) AT TIME ZONE 'UTC' AS DATE)) AS BIGINT) WHERE closed_on IS NOT NULL;
