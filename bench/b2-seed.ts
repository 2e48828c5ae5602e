/**
 * B2's store, seeded like a busy month: per watched cluster 20 finished requests (most active on
 * a pool the cluster lists, the rest failed or timed out), each with its four history entries,
 * spread over the last 30 days; firing creation alerts for the latest failures (200 per 1,000
 * clusters); and a few silences, some of them over. Requests and history go in with a few bulk
 * statements; alerts and silences through the alert store itself.
 */
import { fingerprintOf } from '../src/alerts/rules.js';
import { newRequestId, requestLink } from '../src/requests/ids.js';
import { AlertStore } from '../src/store/alerts.js';
import type { Db } from '../src/store/index.js';

const REQUESTS_PER_CLUSTER = 20;
const ALERTS_PER_1000_CLUSTERS = 200;
const REGION = 'cn-guiyang-14';
const DAY = 24 * 3600_000;
const CHUNK = 5_000;

export interface SeedCluster {
  id: string;
  /** The cluster's listed pools, in order: active requests own them. */
  pools: Array<{ id: string; name: string }>;
}

export interface SeedCounts {
  requests: number;
  active: number;
  failed: number;
  timedOut: number;
  history: number;
  firingAlerts: number;
  silences: number;
  seedMs: number;
}

interface Seeded {
  id: string;
  clusterId: string;
  name: string;
  state: 'active' | 'failed' | 'timed_out';
  poolId: string | null;
  at: number;
  lastError: string | null;
  observed: string | null;
}

/** 0 … n-1 in a shuffled order that is the same on every run. */
function shuffled(n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let x = 12345;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function seedStore(db: Db, clusters: SeedCluster[], now: number): Promise<SeedCounts> {
  const started = Date.now();
  const total = clusters.length * REQUESTS_PER_CLUSTER;
  const alertCount = Math.max(1, Math.round((clusters.length * ALERTS_PER_1000_CLUSTERS) / 1000));
  const order = shuffled(total);
  const rows: Seeded[] = [];
  const recent: Seeded[] = [];
  let finals = 0;
  for (let i = 0; i < total; i++) {
    const c = clusters[i % clusters.length]!;
    const k = Math.floor(i / clusters.length);
    // Four in five came up on a pool the cluster still lists; of the rest, three in four failed.
    const active = k < Math.min(c.pools.length, (REQUESTS_PER_CLUSTER * 4) / 5);
    const state = active ? 'active' : k % 4 === 3 ? 'timed_out' : 'failed';
    const pool = active ? c.pools[k]! : undefined;
    // Made at a random moment of the month; of the failures, `alertCount` spread over the last
    // 23 hours (each with its firing alert, which this sweep keeps firing), the rest before the last 25.
    const isRecent = !active && finals++ % Math.max(1, Math.floor(total / 5 / alertCount)) === 0 && recent.length < alertCount;
    const at = isRecent
      ? now - 23 * 3600_000 + Math.floor(((recent.length + 0.5) * 23 * 3600_000) / alertCount)
      : now - 30 * DAY + Math.floor(((order[i]! + 0.5) * (active ? 30 * DAY : 30 * DAY - 25 * 3600_000)) / total);
    const iso = new Date(at + 600_000).toISOString();
    rows.push({
      id: newRequestId(at),
      clusterId: c.id,
      name: pool?.name ?? `batch-${k}`,
      state,
      poolId: pool?.id ?? (state === 'failed' ? `np${(i * 2654435761).toString(16).padStart(32, '0').slice(-32)}` : null),
      at,
      lastError:
        state === 'failed'
          ? JSON.stringify({ code: 'NodesFailed', message: `2 of 2 nodes failed to come up: i-${i.toString(16).padStart(22, '0')}`, requestId: `${i}-B2-SEED` })
          : state === 'timed_out'
            ? JSON.stringify({ code: 'DeadlineExceeded', message: `no active pool by ${iso}; the last listing failed with ServiceUnavailable` })
            : null,
      // What the sweeps before would have written of an ENS pool that came up (ENS reports no healthy, failed or offline count).
      observed: pool
        ? JSON.stringify({
            cloudState: 'active',
            desired: 2,
            total: 2,
            serving: 2,
            healthy: null,
            initial: 0,
            failed: null,
            offline: null,
            removing: 0,
            at: iso,
          })
        : null,
    });
    if (isRecent) recent.push(rows[rows.length - 1]!);
  }
  for (let from = 0; from < rows.length; from += CHUNK) {
    const part = rows.slice(from, from + CHUNK);
    await db.query(
      `INSERT INTO nodepool_requests
         (id, provider, region_id, cluster_id, nodepool_name, state, request, sealed_secrets, idempotency_key, body_hash, source,
          nodepool_id, attempts, create_started_at, deadline_at, last_error, observed, created_at, updated_at)
       SELECT v.id, 'ens', $1, v.cluster_id, v.name, v.state,
              jsonb_build_object('ClusterId', v.cluster_id, 'NodepoolInfo', jsonb_build_object('Name', v.name),
                'ScalingGroup', jsonb_build_object('DesiredSize', 2, 'KeyPairName', 'ops-keypair', 'VswitchIds', jsonb_build_array('vsw-58eu2p6v64qw8ihhit1wz7wgv'),
                  'InstanceChargeType', 'PostPaid', 'InstanceTypes', jsonb_build_array('ens.sn1.small'), 'SystemDiskCategory', 'cloud_efficiency',
                  'SystemDiskSize', 80, 'ImageId', 'm-6734fzvcwcv2o8jj201cpa7ox', 'DataDisks', jsonb_build_array(jsonb_build_object('Category', 'cloud_efficiency', 'Size', 80)))),
              NULL, CASE WHEN right(v.id, 1) < 'M' THEN 'key-' || v.id END, md5(v.id), 'http',
              v.pool_id, 1, v.at + interval '5 seconds', v.at + interval '30 minutes', v.last_error::jsonb, v.observed::jsonb,
              v.at, v.at + interval '10 minutes'
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[])
              AS v(id, cluster_id, name, state, pool_id, at, last_error, observed)`,
      [
        REGION,
        part.map((r) => r.id),
        part.map((r) => r.clusterId),
        part.map((r) => r.name),
        part.map((r) => r.state),
        part.map((r) => r.poolId),
        part.map((r) => new Date(r.at)),
        part.map((r) => r.lastError),
        part.map((r) => r.observed),
      ],
    );
  }
  // Each request's history: accepted, submitting, creating, and how it ended.
  await db.query(
    `INSERT INTO request_history (request_id, at, state, note, cloud_request_id)
     SELECT r.id, r.created_at + n * interval '150 seconds',
            (ARRAY['accepted', 'submitting', 'creating', r.state])[n + 1],
            CASE n WHEN 0 THEN 'accepted over HTTP'
                   WHEN 1 THEN 'CreateClusterNodePool sent (attempt 1)'
                   WHEN 2 THEN 'the cloud accepted the create; node pool ' || coalesce(r.nodepool_id, 'unknown') || ' is coming up'
                   ELSE CASE r.state WHEN 'active' THEN 'node pool ' || r.nodepool_id || ' is active: 2/2 nodes serving'
                                     WHEN 'failed' THEN 'creation ended with failed nodes: ' || (r.last_error->>'code') || ': ' || (r.last_error->>'message')
                                     ELSE 'deadline passed while the cluster could not be listed (ServiceUnavailable)' END END,
            CASE WHEN n IN (1, 2) THEN upper(md5(r.id || n)) END
       FROM nodepool_requests r CROSS JOIN generate_series(0, 3) AS n
      ORDER BY r.id, n`,
  );
  // Firing creation alerts for the recent failures, as the sweep raised them.
  const alerts = new AlertStore(db);
  for (const r of recent) {
    const rule = r.state === 'failed' ? 'creation_failed' : 'creation_timeout';
    const severity = 'critical';
    const err = JSON.parse(r.lastError!) as { code: string; message: string };
    await alerts.fire({
      fingerprint: fingerprintOf(rule, 'ens', r.clusterId, r.name),
      rule,
      severity,
      labels: {
        rule,
        severity,
        provider: 'ens',
        regionId: REGION,
        clusterId: r.clusterId,
        nodepoolName: r.name,
        ...(r.poolId ? { nodepoolId: r.poolId } : {}),
      },
      annotations: {
        summary: rule === 'creation_failed' ? 'Node pool creation failed' : 'Node pool creation timed out',
        description: `${err.code}: ${err.message}`,
        errorCode: err.code,
        errorMessage: err.message,
        since: new Date(r.at + 600_000).toISOString(),
        requestLink: requestLink(r.id),
      },
      nodepoolRequestId: r.id,
      startsAt: new Date(r.at + 600_000),
    });
  }
  await db.query('UPDATE alerts SET last_notified_at = starts_at');
  // Silences: three running (a cluster, a rule, a pool), two over.
  const silence = (matchers: Record<string, string>, from: number, to: number) =>
    alerts.createSilence({ matchers, startsAt: new Date(from), endsAt: new Date(to), comment: 'B2 seed', createdBy: 'bench' }, new Date(from));
  const c0 = clusters[0]!.id;
  await silence({ provider: 'ens', clusterId: c0 }, now - DAY, now + DAY);
  await silence({ rule: 'creation_timeout' }, now - 2 * DAY, now + 7 * DAY);
  await silence({ provider: 'ens', clusterId: clusters[clusters.length - 1]!.id, pool: 'batch-19' }, now - DAY, now + DAY);
  await silence({ clusterId: c0 }, now - 20 * DAY, now - 19 * DAY);
  await silence({ rule: 'nodes_offline' }, now - 10 * DAY, now - 9 * DAY);
  await db.exec('ANALYZE nodepool_requests, request_history, alerts, silences');
  const count = async (sql: string) => Number((await db.query<{ n: number }>(sql)).rows[0]!.n);
  return {
    requests: rows.length,
    active: rows.filter((r) => r.state === 'active').length,
    failed: rows.filter((r) => r.state === 'failed').length,
    timedOut: rows.filter((r) => r.state === 'timed_out').length,
    history: await count('SELECT count(*)::int AS n FROM request_history'),
    firingAlerts: await count(`SELECT count(*)::int AS n FROM alerts WHERE state = 'firing'`),
    silences: await count('SELECT count(*)::int AS n FROM silences'),
    seedMs: Date.now() - started,
  };
}
