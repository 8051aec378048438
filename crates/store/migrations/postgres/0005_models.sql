-- Prediction: trained conversion models (one active), each lead's latest probability, the
-- contacts whose data changed since they were last predicted, and job de-duplication (a
-- scheduled job is queued once however many servers notice it is due).

CREATE TABLE models (
    version BIGINT PRIMARY KEY,
    family TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    -- What was asked (exclusions, family, horizon, seed) and what came out (metrics, fields).
    options TEXT NOT NULL,
    report TEXT NOT NULL,
    -- The model itself (leadgate_model::TrainedModel as JSON).
    model TEXT NOT NULL,
    trained_by UUID,
    trained_at BIGINT NOT NULL,
    training_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_models_active ON models (active) WHERE active;

CREATE TABLE predictions (
    contact_id UUID PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    model_version BIGINT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    raw_score DOUBLE PRECISION NOT NULL,
    predicted_at BIGINT NOT NULL
);
CREATE INDEX ix_predictions_probability ON predictions (probability);

CREATE TABLE prediction_queue (
    contact_id UUID PRIMARY KEY,
    queued_at BIGINT NOT NULL
);

ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX ux_jobs_dedupe ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
