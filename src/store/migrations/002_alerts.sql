-- Watch sweep: locks, cluster health, rule conditions, alerts, silences and the delivery outbox.

-- A lease-style lock: an overlapping sweep finds it held and exits; a dead holder's lock expires.
CREATE TABLE IF NOT EXISTS locks (
  name       text PRIMARY KEY,
  owner      text NOT NULL,
  expires_at timestamptz NOT NULL,
  -- Where a sweep that ran out of time stopped (the next starts after it).
  cursor     text
);

CREATE TABLE IF NOT EXISTS cluster_health (
  cluster_key          text PRIMARY KEY,
  consecutive_failures integer NOT NULL DEFAULT 0,
  last_error           jsonb,
  last_success_at      timestamptz,
  last_attempt_at      timestamptz NOT NULL
);

-- Since when a duration rule's condition has held (under capacity, stuck in a transition).
CREATE TABLE IF NOT EXISTS alert_conditions (
  fingerprint text PRIMARY KEY,
  cluster_key text NOT NULL,
  since       timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS alerts (
  id               bigserial PRIMARY KEY,
  fingerprint      text NOT NULL,
  rule             text NOT NULL,
  severity         text NOT NULL,
  state            text NOT NULL CHECK (state IN ('firing', 'resolved')),
  labels           jsonb NOT NULL,
  annotations      jsonb NOT NULL,          -- last values win
  request_id       text,
  starts_at        timestamptz NOT NULL,
  ends_at          timestamptz,
  last_notified_at timestamptz,             -- null: never sent (silenced, inhibited or below every channel's severity)
  updated_at       timestamptz NOT NULL
);
-- One firing alert per fingerprint.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_firing ON alerts (fingerprint) WHERE state = 'firing';
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state, id);

CREATE TABLE IF NOT EXISTS silences (
  id         text PRIMARY KEY,
  matchers   jsonb NOT NULL,
  starts_at  timestamptz NOT NULL,
  ends_at    timestamptz NOT NULL,
  comment    text,
  created_by text,
  created_at timestamptz NOT NULL
);

-- The outbox: one row per message per channel, sent in order, retried with backoff.
CREATE TABLE IF NOT EXISTS deliveries (
  id              bigserial PRIMARY KEY,
  channel         text NOT NULL,
  payload         jsonb NOT NULL,
  -- dead: refused for good by the receiver (bad payload, bad URL) after several attempts; logged, never retried
  state           text NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  claimed_by      text,
  claim_expires_at timestamptz,
  last_error      text,
  created_at      timestamptz NOT NULL,
  sent_at         timestamptz
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (channel, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_sent ON deliveries (channel, sent_at) WHERE state = 'sent';
