-- What the sweep saw of each pool at its last listing, so that the fleet API answers from the
-- store (no cloud call on a page view): the pool's state and node counts, and since when it has
-- been in that state. Counts a provider does not report stay null (ENS: failed, offline).
ALTER TABLE cluster_pools
  ADD COLUMN IF NOT EXISTS region_id     text,
  ADD COLUMN IF NOT EXISTS state         text,
  ADD COLUMN IF NOT EXISTS cloud_state   text,
  ADD COLUMN IF NOT EXISTS desired       integer,
  ADD COLUMN IF NOT EXISTS total         integer,
  ADD COLUMN IF NOT EXISTS serving       integer,
  ADD COLUMN IF NOT EXISTS initial_nodes integer,
  ADD COLUMN IF NOT EXISTS failed        integer,
  ADD COLUMN IF NOT EXISTS offline       integer,
  ADD COLUMN IF NOT EXISTS is_default    boolean,
  ADD COLUMN IF NOT EXISTS state_since   timestamptz;
