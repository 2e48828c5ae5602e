-- How many times the sweep has handed a request to `provision` again, and when it last did:
-- each dispatch carries an FC async task id made of the request id and this count, so FC
-- refuses the same one twice, and the sweep waits longer before each next re-drive.
ALTER TABLE nodepool_requests ADD COLUMN IF NOT EXISTS dispatches integer NOT NULL DEFAULT 0;
ALTER TABLE nodepool_requests ADD COLUMN IF NOT EXISTS dispatched_at timestamptz;
