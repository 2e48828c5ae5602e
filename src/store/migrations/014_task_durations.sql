-- How long the last followed cloud tasks of each kind took (ACK node-pool creations, by
-- region), newest last, at most eight: every instance of provision plans its asks from them,
-- not only the one that saw a task end.
CREATE TABLE IF NOT EXISTS task_durations (
  kind         text PRIMARY KEY,
  durations_ms integer[] NOT NULL,
  updated_at   timestamptz NOT NULL
);
