-- Requests sent with an Idempotency-Key through any creating endpoint: the key is reserved
-- before the request runs (a retry in flight is told to wait, never run twice) and the answer
-- kept for 24 hours, replayed to a retry. Endpoints that store their answer in the transaction
-- of their effects (contacts, companies, events) also keep idempotency_keys.
CREATE TABLE request_keys (
    user_id BLOB NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- pending (running, or stopped before answering) or done
    state TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX ix_request_keys_created ON request_keys (created_at);
