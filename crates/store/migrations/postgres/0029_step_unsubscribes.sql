-- An unsubscription through a message's link is credited to that message, for the sequence's
-- figures per step.
ALTER TABLE email_messages ADD COLUMN unsubscribed_at BIGINT;
