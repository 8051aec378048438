-- Win probability of open deals: models trained on closed deals (won vs lost), kept apart from
-- the contacts' conversion models (one active each). `found_signal` records the verdict of the
-- model's cross-validation: a model without signal is kept for its report, never activated.
CREATE TABLE deal_models (
    version BIGINT PRIMARY KEY,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    found_signal BOOLEAN NOT NULL,
    report TEXT NOT NULL,
    -- leadgate_model::TrainedModel as JSON.
    model TEXT NOT NULL,
    trained_by UUID,
    trained_at BIGINT NOT NULL,
    training_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_deal_models_active ON deal_models (active) WHERE active;
