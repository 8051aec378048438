-- Each user's time zone (IANA name, e.g. Europe/Paris): every time the web UI shows them is in
-- it. NULL: the browser's zone, else UTC.
ALTER TABLE users ADD COLUMN time_zone TEXT;
