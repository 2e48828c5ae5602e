-- The caller's labels (team, env, …), copied onto the pool's alerts for routing.
ALTER TABLE nodepool_requests ADD COLUMN IF NOT EXISTS labels jsonb;
