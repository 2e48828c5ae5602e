-- One rate limit across every instance of every function: per principal and API, the next
-- moment a call may be sent (epoch milliseconds). Each call takes the next slot in one statement.
CREATE TABLE IF NOT EXISTS rate_slots (
  key        text PRIMARY KEY,
  next_at_ms bigint NOT NULL
);
