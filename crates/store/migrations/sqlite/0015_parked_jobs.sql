-- A job whose code keeps failing on a bug (a panic) is parked after its attempts: failed, with
-- parked_at set, so the runner goes on with other work and an operator sees it apart from jobs
-- refused for what they asked.
ALTER TABLE jobs ADD COLUMN parked_at INTEGER;
