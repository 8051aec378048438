-- Requests sent with an Idempotency-Key through any creating endpoint: the key is reserved
-- before the request runs (a retry in flight is told to wait, never run twice) and the answer
-- kept for 24 hours, replayed to a retry. Endpoints that store their answer in the transaction
-- of their effects (contacts, companies, events) also keep idempotency_keys.
CREATE TABLE request_keys (
    user_id UUID NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- pending (running, or stopped before answering) or done
    state TEXT NOT NULL,
    status BIGINT,
    content_type TEXT,
    body BYTEA,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX ix_request_keys_created ON request_keys (created_at);
