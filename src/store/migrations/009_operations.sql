-- A request is a create, a scale or a delete of one pool. Scale and delete run through two
-- more states: `applying` (the cloud took the call) and, for a delete, `deleted` (final).
-- `target_size` is the desired size a scale asks for. `create_started_at` marks, for every
-- operation, that its write call may have run.
ALTER TABLE nodepool_requests
  ADD COLUMN IF NOT EXISTS operation   text NOT NULL DEFAULT 'create' CHECK (operation IN ('create', 'scale', 'delete')),
  ADD COLUMN IF NOT EXISTS target_size integer;

ALTER TABLE nodepool_requests DROP CONSTRAINT IF EXISTS nodepool_requests_state_check;
ALTER TABLE nodepool_requests ADD CONSTRAINT nodepool_requests_state_check
  CHECK (state IN ('accepted', 'submitting', 'creating', 'applying', 'active', 'deleted', 'failed', 'timed_out', 'rejected'));

-- One live request per pool, whatever its operation: a scale waits for no create, it is refused.
DROP INDEX IF EXISTS nodepool_requests_live_pool;
CREATE UNIQUE INDEX IF NOT EXISTS nodepool_requests_live_pool ON nodepool_requests (provider, cluster_id, nodepool_name)
  WHERE state IN ('accepted', 'submitting', 'creating', 'applying');
DROP INDEX IF EXISTS nodepool_requests_due;
CREATE INDEX IF NOT EXISTS nodepool_requests_due ON nodepool_requests (state, next_attempt_at)
  WHERE state IN ('accepted', 'submitting', 'creating', 'applying');
