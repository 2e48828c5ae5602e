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
