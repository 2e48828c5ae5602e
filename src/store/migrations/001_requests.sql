-- Node-pool requests and their history.
CREATE TABLE IF NOT EXISTS nodepool_requests (
  id                text PRIMARY KEY,
  provider          text CHECK (provider IN ('ens', 'ack')),
  region_id         text,
  cluster_id        text,
  nodepool_name     text,
  state             text NOT NULL CHECK (state IN ('accepted', 'submitting', 'creating', 'active', 'failed', 'timed_out', 'rejected')),
  request           jsonb NOT NULL,            -- secrets masked
  sealed_secrets    text,                      -- AES-256-GCM; cleared once no retry can need it
  idempotency_key   text,
  body_hash         text NOT NULL,
  source            text NOT NULL CHECK (source IN ('http', 'queue')),
  nodepool_id       text,
  task_id           text,
  attempts          integer NOT NULL DEFAULT 0,
  create_started_at timestamptz,               -- committed before each create call
  deadline_at       timestamptz NOT NULL,
  next_attempt_at   timestamptz,
  lease_owner       text,
  lease_expires_at  timestamptz,
  last_error        jsonb,
  observed          jsonb,
  reject_reasons    jsonb,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  -- Only a rejected message may lack a pool identity (it may not even be JSON).
  CHECK (state = 'rejected' OR (provider IS NOT NULL AND cluster_id IS NOT NULL AND nodepool_name IS NOT NULL))
);

-- Same key, same request: the key is unique among all requests that have one.
CREATE UNIQUE INDEX IF NOT EXISTS nodepool_requests_idempotency_key ON nodepool_requests (idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- At most one live request per pool: the database, not the code, guarantees it.
CREATE UNIQUE INDEX IF NOT EXISTS nodepool_requests_live_pool ON nodepool_requests (provider, cluster_id, nodepool_name)
  WHERE state IN ('accepted', 'submitting', 'creating');

CREATE INDEX IF NOT EXISTS nodepool_requests_due ON nodepool_requests (state, next_attempt_at)
  WHERE state IN ('accepted', 'submitting', 'creating');
CREATE INDEX IF NOT EXISTS nodepool_requests_cluster ON nodepool_requests (cluster_id, id);

CREATE TABLE IF NOT EXISTS request_history (
  seq              bigserial PRIMARY KEY,
  request_id       text NOT NULL REFERENCES nodepool_requests (id) ON DELETE CASCADE,
  at               timestamptz NOT NULL,
  state            text NOT NULL,
  note             text NOT NULL,
  cloud_request_id text
);
CREATE INDEX IF NOT EXISTS request_history_request ON request_history (request_id, seq);
