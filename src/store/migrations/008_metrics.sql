-- Cloud calls by API, outcome (OK or the error code) and kind of outcome, summed over every
-- instance of every function: each adds what it counted when an invocation ends, so that any
-- `api` instance serves the same numbers on /metrics.
CREATE TABLE IF NOT EXISTS cloud_calls (
  api     text NOT NULL,
  outcome text NOT NULL,
  kind    text NOT NULL,
  calls   bigint NOT NULL,
  PRIMARY KEY (api, outcome, kind)
);

-- The last sweep that held the lock: when it ended and how long it took.
CREATE TABLE IF NOT EXISTS sweep_runs (
  name        text PRIMARY KEY,
  finished_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  clusters    integer NOT NULL,
  errors      integer NOT NULL
);
