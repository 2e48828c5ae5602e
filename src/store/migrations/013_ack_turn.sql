-- ACK runs one node-pool operation per cluster at a time, and our requests for a cluster take
-- turns: at most one of them holds a cluster's turn, from the mark committed before its write
-- call (submitting with create_started_at) until the cloud is done with it (creating or
-- applying ends). Reading the turn before the mark cannot keep two instances from both taking
-- it; this index can: the second mark fails, and that request waits for the first.
--
-- A store that already holds two such requests for one cluster (written before this index)
-- keeps them: those requests alone are left out of the index, and end as usual.
DO $$
DECLARE
  holds constant text := $h$provider = 'ack' AND (state IN ('creating', 'applying') OR (state = 'submitting' AND create_started_at IS NOT NULL))$h$;
  legacy text;
BEGIN
  EXECUTE format(
    'SELECT string_agg(quote_literal(id), %L) FROM (SELECT id, count(*) OVER (PARTITION BY COALESCE(region_id, %L), cluster_id) AS n FROM nodepool_requests WHERE %s) x WHERE n > 1',
    ', ', '', holds
  ) INTO legacy;
  EXECUTE format(
    'CREATE UNIQUE INDEX IF NOT EXISTS nodepool_requests_ack_turn ON nodepool_requests (COALESCE(region_id, %L), cluster_id) WHERE %s%s',
    '', holds, CASE WHEN legacy IS NULL THEN '' ELSE format(' AND id NOT IN (%s)', legacy) END
  );
END $$;
