-- Prediction: trained conversion models (one active), each lead's latest probability, the
-- contacts whose data changed since they were last predicted, and job de-duplication (a
-- scheduled job is queued once however many servers notice it is due).

CREATE TABLE models (
    version INTEGER PRIMARY KEY,
    family TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    -- What was asked (exclusions, family, horizon, seed) and what came out (metrics, fields).
    options TEXT NOT NULL,
    report TEXT NOT NULL,
    -- The model itself (leadgate_model::TrainedModel as JSON).
    model TEXT NOT NULL,
    trained_by BLOB,
    trained_at INTEGER NOT NULL,
    training_ms INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ux_models_active ON models (active) WHERE active = 1;

CREATE TABLE predictions (
    contact_id BLOB PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    model_version INTEGER NOT NULL,
    probability REAL NOT NULL,
    raw_score REAL NOT NULL,
    predicted_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_predictions_probability ON predictions (probability);

CREATE TABLE prediction_queue (
    contact_id BLOB PRIMARY KEY,
    queued_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX ux_jobs_dedupe ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
