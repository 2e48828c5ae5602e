-- ENS nodes the sweep looked at, and since when each has been in its state: ENS reports no
-- failed count and no node creation time, so a node that stays `initial` too long is a
-- failure only this table can tell.
CREATE TABLE IF NOT EXISTS node_states (
  cluster_id   text NOT NULL,
  nodepool_id  text NOT NULL,
  instance_id  text NOT NULL,
  state        text NOT NULL,
  since        timestamptz NOT NULL,
  PRIMARY KEY (cluster_id, nodepool_id, instance_id)
);
