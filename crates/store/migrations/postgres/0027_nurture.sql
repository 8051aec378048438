-- Nurture: e-mail templates, sequences, enrolments and the messages they send.
CREATE TABLE email_templates (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    from_name TEXT,
    from_address TEXT,
    reply_to TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sequences (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    -- The steps as JSON (core::nurture::sequence::Step).
    steps TEXT NOT NULL,
    -- The consent purpose a contact must have granted to be sent its messages (NULL: none).
    purpose TEXT,
    -- What enrols contacts automatically, as JSON (NULL: enrolled by hand only).
    trigger_rule TEXT,
    reenrol BOOLEAN NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'archived')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One contact's passage through one sequence. At most one active per (sequence, contact).
CREATE TABLE enrolments (
    id UUID PRIMARY KEY,
    sequence_id UUID NOT NULL REFERENCES sequences (id),
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    step BIGINT NOT NULL,
    step_since BIGINT NOT NULL,
    wake_at BIGINT,
    state TEXT NOT NULL CHECK (state IN ('active', 'completed', 'exited')),
    exit_reason TEXT,
    enrolled_at BIGINT NOT NULL,
    enrolled_by TEXT NOT NULL,
    ended_at BIGINT,
    -- An evaluator's claim: others skip the enrolment until it expires.
    locked_until BIGINT
);
CREATE UNIQUE INDEX ux_enrolments_active ON enrolments (sequence_id, contact_id) WHERE state = 'active';
CREATE INDEX ix_enrolments_due ON enrolments (wake_at) WHERE state = 'active';
CREATE INDEX ix_enrolments_contact ON enrolments (contact_id);

-- One message to one recipient, reserved under (enrolment, step) before any SMTP conversation:
-- the unique key is what makes a step send at most once.
CREATE TABLE email_messages (
    id UUID PRIMARY KEY,
    enrolment_id UUID NOT NULL REFERENCES enrolments (id) ON DELETE CASCADE,
    step_key TEXT NOT NULL,
    contact_id UUID NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    sequence_id UUID NOT NULL,
    template_id UUID NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'sending', 'sent', 'ambiguous', 'failed', 'bounced', 'skipped')),
    reserved_at BIGINT NOT NULL,
    send_after BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- The fencing token: bumped by every claim; a sender's writes hold only under its own.
    fence BIGINT NOT NULL DEFAULT 0,
    sender TEXT,
    locked_until BIGINT,
    sending_at BIGINT,
    sent_at BIGINT,
    reply TEXT,
    error TEXT,
    skip_reason TEXT,
    bounce_kind TEXT,
    bounced_at BIGINT,
    opened_at BIGINT,
    human_opened_at BIGINT,
    clicked_at BIGINT,
    UNIQUE (enrolment_id, step_key)
);
CREATE INDEX ix_email_messages_due ON email_messages (send_after) WHERE state = 'reserved';
CREATE INDEX ix_email_messages_sending ON email_messages (locked_until) WHERE state = 'sending';
CREATE INDEX ix_email_messages_contact ON email_messages (contact_id, reserved_at);
CREATE INDEX ix_email_messages_sequence ON email_messages (sequence_id, step_key);

CREATE TABLE email_clicks (
    message_id UUID NOT NULL REFERENCES email_messages (id) ON DELETE CASCADE,
    link BIGINT NOT NULL,
    url TEXT NOT NULL,
    at BIGINT NOT NULL,
    machine BOOLEAN NOT NULL
);
CREATE INDEX ix_email_clicks_message ON email_clicks (message_id);

-- A contact's standing as a recipient: separate states for unsubscribing and bouncing.
CREATE TABLE email_recipients (
    contact_id UUID PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    unsubscribed_at BIGINT,
    hard_bounced_at BIGINT,
    soft_bounces BIGINT NOT NULL DEFAULT 0,
    last_delivered_at BIGINT,
    replied_at BIGINT
);

-- Bounce messages received. Those matched to a message keep the verdict only; the others keep
-- the raw text for review (never silently dropped).
CREATE TABLE email_bounces (
    id UUID PRIMARY KEY,
    received_at BIGINT NOT NULL,
    message_id UUID REFERENCES email_messages (id) ON DELETE SET NULL,
    contact_id UUID REFERENCES contacts (id) ON DELETE CASCADE,
    kind TEXT,
    status TEXT,
    diagnostic TEXT,
    raw TEXT,
    state TEXT NOT NULL CHECK (state IN ('applied', 'unmatched', 'not_a_bounce'))
);
CREATE INDEX ix_email_bounces_state ON email_bounces (state, received_at);
