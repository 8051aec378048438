-- Why each version of the sales agreement was made (shown in its history beside who and when).
ALTER TABLE agreements ADD COLUMN comment TEXT;
