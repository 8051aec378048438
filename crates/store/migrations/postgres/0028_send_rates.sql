-- Rate limits count the messages claimed for sending in the last minute, in all and per
-- recipient domain, across every server: each message keeps its recipient's domain (set when
-- reserved) and when it was last claimed.
ALTER TABLE email_messages ADD COLUMN domain TEXT;
ALTER TABLE email_messages ADD COLUMN claimed_at BIGINT;
UPDATE email_messages m SET domain = lower(trim(split_part(c.email, '@', 2)))
    FROM contacts c WHERE c.id = m.contact_id AND position('@' IN c.email) > 0;
CREATE INDEX ix_email_messages_claimed ON email_messages (claimed_at) WHERE claimed_at IS NOT NULL;
