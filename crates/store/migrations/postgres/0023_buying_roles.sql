-- The buying group of an account: each contact's role in the purchase (decision maker,
-- intermediary, user, other) and, for an intermediary, the decision maker it leads to. A
-- contact without a row has no known role.
CREATE TABLE buying_roles (
    contact_id UUID PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    decision_maker_id UUID REFERENCES contacts (id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL,
    updated_by UUID
);
CREATE INDEX ix_buying_roles_decision_maker ON buying_roles (decision_maker_id);
