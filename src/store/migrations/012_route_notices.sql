-- When each route last sent each alert: with ALERT_ROUTES, a route with a repeat interval of
-- its own repeats a firing alert on that interval, whatever the other routes do.
CREATE TABLE IF NOT EXISTS alert_route_notices (
  alert_id    bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  route_id    text NOT NULL,
  notified_at timestamptz NOT NULL,
  PRIMARY KEY (alert_id, route_id)
);
