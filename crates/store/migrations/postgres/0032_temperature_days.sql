-- Open leads by temperature, recorded once a day: a lead's temperature decays with time, so the
-- past's counts cannot be recomputed cheaply from the ledgers; the dashboard charts these.
CREATE TABLE temperature_days (
    day TEXT PRIMARY KEY,
    hot BIGINT NOT NULL,
    warm BIGINT NOT NULL,
    cold BIGINT NOT NULL,
    unscored BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);
