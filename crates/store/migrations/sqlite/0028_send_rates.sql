-- Rate limits count the messages claimed for sending in the last minute, in all and per
-- recipient domain, across every server: each message keeps its recipient's domain (set when
-- reserved) and when it was last claimed.
ALTER TABLE email_messages ADD COLUMN domain TEXT;
ALTER TABLE email_messages ADD COLUMN claimed_at INTEGER;
UPDATE email_messages SET domain = (
    SELECT lower(trim(substr(c.email, instr(c.email, '@') + 1))) FROM contacts c
    WHERE c.id = email_messages.contact_id AND instr(c.email, '@') > 0);
CREATE INDEX ix_email_messages_claimed ON email_messages (claimed_at) WHERE claimed_at IS NOT NULL;
