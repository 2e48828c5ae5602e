-- The node pools each cluster had at its last successful listing: a create for a name that is
-- already taken there is answered 409 at once instead of failing later in the cloud.
CREATE TABLE IF NOT EXISTS cluster_pools (
  provider      text NOT NULL,
  cluster_id    text NOT NULL,
  nodepool_id   text NOT NULL,
  nodepool_name text NOT NULL,
  seen_at       timestamptz NOT NULL,
  PRIMARY KEY (provider, cluster_id, nodepool_id)
);
CREATE INDEX IF NOT EXISTS cluster_pools_name ON cluster_pools (provider, cluster_id, nodepool_name);

-- Which pool a request created, to name the request behind a taken name.
CREATE INDEX IF NOT EXISTS nodepool_requests_pool ON nodepool_requests (provider, cluster_id, nodepool_id)
  WHERE nodepool_id IS NOT NULL;

-- The sweep that last evaluated a firing alert decides whether it is inhibited, and by what.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS inhibited_by text;

-- Pool alerts are now identified by the pool's id instead of its name. Firing ones, and the
-- conditions they are held by, take their new fingerprint (the same hash as fingerprintOf in
-- src/alerts/rules.ts), so that an upgrade neither resolves nor re-sends them.
WITH moved AS (
  SELECT id, fingerprint AS old_fp,
         substr(encode(sha256(
           convert_to(rule, 'UTF8') || '\x00'::bytea || convert_to(labels->>'provider', 'UTF8') || '\x00'::bytea ||
           convert_to(labels->>'clusterId', 'UTF8') || '\x00'::bytea || convert_to(labels->>'nodepoolId', 'UTF8')), 'hex'), 1, 24) AS new_fp
    FROM alerts
   WHERE state = 'firing' AND labels->>'nodepoolId' IS NOT NULL
     AND rule IN ('nodes_failed', 'nodes_offline', 'under_capacity', 'stuck_transition', 'nodepool_missing')
), conditions AS (
  UPDATE alert_conditions c SET fingerprint = m.new_fp FROM moved m WHERE c.fingerprint = m.old_fp
)
UPDATE alerts a SET fingerprint = m.new_fp FROM moved m WHERE a.id = m.id;
