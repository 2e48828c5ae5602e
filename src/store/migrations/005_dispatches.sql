-- How many times the sweep has handed a request to `provision` again: each dispatch carries an
-- FC async task id made of the request id and this count, so FC refuses the same one twice.
ALTER TABLE nodepool_requests ADD COLUMN IF NOT EXISTS dispatches integer NOT NULL DEFAULT 0;
