-- Hand-off to sales: rep profiles, the marketing–sales agreement (versioned), assignments with
-- their SLA deadlines, follow-up tasks, and webhooks with an outbox of deliveries and the log of
-- every attempt. Deliveries are written in the transaction of the change they announce, so a
-- crash can delay a webhook but never lose one.

CREATE TABLE reps (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    profile TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE agreements (
    version BIGINT PRIMARY KEY,
    document TEXT NOT NULL,
    created_by UUID,
    created_at BIGINT NOT NULL
);

CREATE TABLE assignments (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    -- NULL: no eligible rep; the lead waits in the unassigned queue.
    rep_id UUID,
    rule TEXT,
    why TEXT NOT NULL,
    temperature TEXT,
    grade TEXT,
    assigned_at BIGINT NOT NULL,
    remind_at BIGINT,
    due_at BIGINT,
    first_touch_at BIGINT,
    warned_at BIGINT,
    breached_at BIGINT,
    closed_at BIGINT,
    -- accepted, rejected, reassigned, requalified (left the MQL stage another way), deleted
    outcome TEXT,
    reject_reason TEXT
);
CREATE UNIQUE INDEX ux_assignments_open ON assignments (contact_id) WHERE closed_at IS NULL;
CREATE INDEX ix_assignments_rep ON assignments (rep_id, closed_at);
CREATE INDEX ix_assignments_due ON assignments (due_at)
    WHERE closed_at IS NULL AND first_touch_at IS NULL AND breached_at IS NULL;
CREATE INDEX ix_assignments_remind ON assignments (remind_at)
    WHERE closed_at IS NULL AND first_touch_at IS NULL AND warned_at IS NULL;
CREATE INDEX ix_assignments_assigned_at ON assignments (assigned_at);

CREATE TABLE tasks (
    id UUID PRIMARY KEY,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    assignee_id UUID NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- NULL: created by the agreement (on assignment, after an unanswered touch, on a breach).
    created_by UUID,
    done_at BIGINT,
    notified_at BIGINT
);
CREATE INDEX ix_tasks_assignee ON tasks (assignee_id, done_at, due_at);
CREATE INDEX ix_tasks_due ON tasks (due_at) WHERE done_at IS NULL AND notified_at IS NULL;

CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT,
    -- JSON array of event types.
    event_types TEXT NOT NULL,
    -- JSON array of signing secrets, newest first (several during a rotation).
    secrets TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id UUID PRIMARY KEY,
    webhook_id UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- pending, delivered, failed
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    last_latency_ms BIGINT,
    delivered_at BIGINT
);
CREATE INDEX ix_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX ix_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE webhook_attempts (
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status BIGINT,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
