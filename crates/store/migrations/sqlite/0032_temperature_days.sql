-- Open leads by temperature, recorded once a day: a lead's temperature decays with time, so the
-- past's counts cannot be recomputed cheaply from the ledgers; the dashboard charts these.
CREATE TABLE temperature_days (
    day TEXT PRIMARY KEY,
    hot INTEGER NOT NULL,
    warm INTEGER NOT NULL,
    cold INTEGER NOT NULL,
    unscored INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
