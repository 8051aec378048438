-- Failed sign-ins in a row, per account (a digest of the e-mail typed, known or not, so the
-- table never tells which accounts exist) and per client network, shared by every server:
-- sign-in stays locked until locked_until (core::user::sign_in_lock).
CREATE TABLE sign_in_failures (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX ix_sign_in_failures_last ON sign_in_failures (last_failure_at);
