-- Nurture: e-mail templates, sequences, enrolments and the messages they send.
CREATE TABLE email_templates (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    from_name TEXT,
    from_address TEXT,
    reply_to TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sequences (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    -- The steps as JSON (core::nurture::sequence::Step).
    steps TEXT NOT NULL,
    -- The consent purpose a contact must have granted to be sent its messages (NULL: none).
    purpose TEXT,
    -- What enrols contacts automatically, as JSON (NULL: enrolled by hand only).
    trigger_rule TEXT,
    reenrol INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'archived')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- One contact's passage through one sequence. At most one active per (sequence, contact).
CREATE TABLE enrolments (
    id BLOB PRIMARY KEY,
    sequence_id BLOB NOT NULL REFERENCES sequences (id),
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    step_since INTEGER NOT NULL,
    wake_at INTEGER,
    state TEXT NOT NULL CHECK (state IN ('active', 'completed', 'exited')),
    exit_reason TEXT,
    enrolled_at INTEGER NOT NULL,
    enrolled_by TEXT NOT NULL,
    ended_at INTEGER,
    -- An evaluator's claim: others skip the enrolment until it expires.
    locked_until INTEGER
) STRICT;
CREATE UNIQUE INDEX ux_enrolments_active ON enrolments (sequence_id, contact_id) WHERE state = 'active';
CREATE INDEX ix_enrolments_due ON enrolments (wake_at) WHERE state = 'active';
CREATE INDEX ix_enrolments_contact ON enrolments (contact_id);

-- One message to one recipient, reserved under (enrolment, step) before any SMTP conversation:
-- the unique key is what makes a step send at most once.
CREATE TABLE email_messages (
    id BLOB PRIMARY KEY,
    enrolment_id BLOB NOT NULL REFERENCES enrolments (id) ON DELETE CASCADE,
    step_key TEXT NOT NULL,
    contact_id BLOB NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    sequence_id BLOB NOT NULL,
    template_id BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'sending', 'sent', 'ambiguous', 'failed', 'bounced', 'skipped')),
    reserved_at INTEGER NOT NULL,
    send_after INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- The fencing token: bumped by every claim; a sender's writes hold only under its own.
    fence INTEGER NOT NULL DEFAULT 0,
    sender TEXT,
    locked_until INTEGER,
    sending_at INTEGER,
    sent_at INTEGER,
    reply TEXT,
    error TEXT,
    skip_reason TEXT,
    bounce_kind TEXT,
    bounced_at INTEGER,
    opened_at INTEGER,
    human_opened_at INTEGER,
    clicked_at INTEGER,
    UNIQUE (enrolment_id, step_key)
) STRICT;
CREATE INDEX ix_email_messages_due ON email_messages (send_after) WHERE state = 'reserved';
CREATE INDEX ix_email_messages_sending ON email_messages (locked_until) WHERE state = 'sending';
CREATE INDEX ix_email_messages_contact ON email_messages (contact_id, reserved_at);
CREATE INDEX ix_email_messages_sequence ON email_messages (sequence_id, step_key);

CREATE TABLE email_clicks (
    message_id BLOB NOT NULL REFERENCES email_messages (id) ON DELETE CASCADE,
    link INTEGER NOT NULL,
    url TEXT NOT NULL,
    at INTEGER NOT NULL,
    machine INTEGER NOT NULL
) STRICT;
CREATE INDEX ix_email_clicks_message ON email_clicks (message_id);

-- A contact's standing as a recipient: separate states for unsubscribing and bouncing.
CREATE TABLE email_recipients (
    contact_id BLOB PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    unsubscribed_at INTEGER,
    hard_bounced_at INTEGER,
    soft_bounces INTEGER NOT NULL DEFAULT 0,
    last_delivered_at INTEGER,
    replied_at INTEGER
) STRICT;

-- Bounce messages received. Those matched to a message keep the verdict only; the others keep
-- the raw text for review (never silently dropped).
CREATE TABLE email_bounces (
    id BLOB PRIMARY KEY,
    received_at INTEGER NOT NULL,
    message_id BLOB REFERENCES email_messages (id) ON DELETE SET NULL,
    contact_id BLOB REFERENCES contacts (id) ON DELETE CASCADE,
    kind TEXT,
    status TEXT,
    diagnostic TEXT,
    raw TEXT,
    state TEXT NOT NULL CHECK (state IN ('applied', 'unmatched', 'not_a_bounce'))
) STRICT;
CREATE INDEX ix_email_bounces_state ON email_bounces (state, received_at);
