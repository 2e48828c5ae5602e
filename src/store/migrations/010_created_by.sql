-- Who sent each request: the name of the API token (never the token), or `queue` for a
-- message from the queue. Older requests have none.
ALTER TABLE nodepool_requests ADD COLUMN IF NOT EXISTS created_by text;
