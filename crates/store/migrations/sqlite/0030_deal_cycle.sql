-- A closed deal keeps its sales cycle in days (engage date, else creation day, to close), written
-- with the deal: the win-rate report groups by it instead of parsing two text dates per deal.
ALTER TABLE deals ADD COLUMN cycle_days INTEGER;
UPDATE deals SET cycle_days = CAST(julianday(closed_on) - julianday(COALESCE(engaged_on, date(created_at / 1000000, 'unixepoch'))) AS INTEGER) WHERE closed_on IS NOT NULL;
