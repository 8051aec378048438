-- Win probability of open deals: models trained on closed deals (won vs lost), kept apart from
-- the contacts' conversion models (one active each). `found_signal` records the verdict of the
-- model's cross-validation: a model without signal is kept for its report, never activated.
CREATE TABLE deal_models (
    version INTEGER PRIMARY KEY,
    active INTEGER NOT NULL DEFAULT 0,
    found_signal INTEGER NOT NULL,
    report TEXT NOT NULL,
    -- leadgate_model::TrainedModel as JSON.
    model TEXT NOT NULL,
    trained_by BLOB,
    trained_at INTEGER NOT NULL,
    training_ms INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ux_deal_models_active ON deal_models (active) WHERE active = 1;
