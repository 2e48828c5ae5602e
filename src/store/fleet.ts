/**
 * The fleet as the last sweep saw it, for the operator's views: each watched cluster with its
 * listing health and its pools counted by health, and each pool with its state, node counts,
 * since when it has been in that state, the request that created it and its firing alerts.
 * Everything is read from the store: a page view makes no cloud call.
 */
import { isUp, type Provider } from '../cloud/nodepool.js';
import { type AlertRecord, toAlert } from './alerts.js';
import type { Queryable } from './db.js';
import type { Row } from './rows.js';

/** How a pool is doing, worst first: what a page sorts and colours by. */
const POOL_HEALTH = ['failed', 'degraded', 'unknown', 'progressing', 'healthy'] as const;
type PoolHealth = (typeof POOL_HEALTH)[number];

export interface FleetPool {
  id: string;
  name: string;
  state: string | null;
  cloudState: string | null;
  desired: number | null;
  total: number | null;
  serving: number | null;
  initial: number | null;
  /** Null where the provider does not report it (ENS). */
  failed: number | null;
  offline: number | null;
  isDefault: boolean | null;
  health: PoolHealth;
  /** Since when the pool has been in its state, as far as the sweeps saw. */
  stateSince: Date | null;
  seenAt: Date;
  /** The newest of our requests that created this pool, if any. */
  request: { id: string; state: string } | null;
  firing: AlertRecord[];
}

export interface FleetCluster {
  provider: Provider;
  regionId: string | null;
  clusterId: string;
  /** The last listing answered. */
  reachable: boolean;
  consecutiveFailures: number;
  lastError: { code: string; message: string } | null;
  lastListedAt: Date | null;
  lastAttemptAt: Date;
  pools: Record<PoolHealth, number> & { total: number };
  firingAlerts: number;
}

type Counts = Pick<FleetPool, 'state' | 'desired' | 'serving' | 'initial' | 'failed' | 'offline'>;

/** Failed nodes or a failed pool first, then offline nodes, missing capacity or a firing alert, then what is not known or still moving. */
function poolHealth(p: Counts, firingAlerts: number): PoolHealth {
  if (p.state === 'failed' || (p.failed ?? 0) > 0) return 'failed';
  const counted = p.state !== null && p.desired !== null && p.serving !== null && p.initial !== null;
  const up = counted && isUp({ state: p.state as 'active', desired: p.desired!, serving: p.serving!, initial: p.initial! });
  if ((p.offline ?? 0) > 0 || firingAlerts > 0 || (p.state === 'active' && counted && !up && p.initial === 0)) return 'degraded';
  if (!counted || p.state === 'unknown') return 'unknown';
  return up ? 'healthy' : 'progressing';
}

const int = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

/** `listedAt`: the cluster's last listing, which showed the pool even when its row (written only on change) is older. */
function toPool(r: Row, firing: AlertRecord[], listedAt: Date | null): FleetPool {
  const changedAt = date(r.seen_at)!;
  const counts: Counts = {
    state: (r.state as string | null) ?? null,
    desired: int(r.desired),
    serving: int(r.serving),
    initial: int(r.initial_nodes),
    failed: int(r.failed),
    offline: int(r.offline),
  };
  return {
    id: r.nodepool_id as string,
    name: r.nodepool_name as string,
    ...counts,
    cloudState: (r.cloud_state as string | null) ?? null,
    total: int(r.total),
    isDefault: (r.is_default as boolean | null) ?? null,
    health: poolHealth(counts, firing.length),
    stateSince: date(r.state_since),
    seenAt: listedAt && listedAt > changedAt ? listedAt : changedAt,
    request: null,
    firing,
  };
}

const POOL_COLUMNS =
  'provider, cluster_id, nodepool_id, nodepool_name, state, cloud_state, desired, total, serving, initial_nodes, failed, offline, is_default, state_since, seen_at';

/** Firing alerts by the pool (id) they name, for the clusters given (all when omitted). */
async function firingByPool(db: Queryable, cluster?: { provider: string; clusterId: string }): Promise<Map<string, AlertRecord[]>> {
  const res = await db.query<Row>(
    `SELECT * FROM alerts WHERE state = 'firing' ${cluster ? `AND labels->>'provider' = $1 AND labels->>'clusterId' = $2` : ''} ORDER BY id`,
    cluster ? [cluster.provider, cluster.clusterId] : [],
  );
  const out = new Map<string, AlertRecord[]>();
  for (const a of res.rows.map(toAlert)) {
    const key = `${a.labels.provider}\u0000${a.labels.clusterId}\u0000${a.labels.nodepoolId ?? ''}`;
    out.set(key, [...(out.get(key) ?? []), a]);
  }
  return out;
}

/** The clusters the sweep watches (or the one named) with their pools, read once: three queries, whatever asks. */
async function readFleet(
  db: Queryable,
  only?: { provider: Provider; clusterId: string },
): Promise<{ clusters: FleetCluster[]; pools: Map<FleetCluster, FleetPool[]>; lastSweepAt: Date | null }> {
  const params = only ? [only.provider, only.clusterId] : [];
  const [health, rows, firing] = await Promise.all([
    db.query<Row>(
      `SELECT cluster_key, consecutive_failures, last_error, last_success_at, last_attempt_at FROM cluster_health
        ${only ? `WHERE split_part(cluster_key, '/', 1) = $1 AND split_part(cluster_key, '/', 3) = $2` : ''}`,
      params,
    ),
    db.query<Row>(`SELECT ${POOL_COLUMNS} FROM cluster_pools ${only ? 'WHERE provider = $1 AND cluster_id = $2' : ''}`, params),
    firingByPool(db, only),
  ]);
  const byCluster = new Map<string, FleetCluster>();
  const pools = new Map<FleetCluster, FleetPool[]>();
  let lastSweepAt: Date | null = null;
  for (const h of health.rows) {
    const [provider = '', regionId = '', ...rest] = (h.cluster_key as string).split('/');
    const clusterId = rest.join('/');
    const attempt = date(h.last_attempt_at)!;
    if (!lastSweepAt || attempt > lastSweepAt) lastSweepAt = attempt;
    const failures = Number(h.consecutive_failures);
    const lastError = h.last_error ? ((typeof h.last_error === 'string' ? JSON.parse(h.last_error) : h.last_error) as { code: string; message: string }) : null;
    const cluster: FleetCluster = {
      regionId: regionId || null,
      provider: provider as Provider,
      clusterId,
      reachable: failures === 0,
      consecutiveFailures: failures,
      lastError: failures > 0 ? lastError : null,
      lastListedAt: date(h.last_success_at),
      lastAttemptAt: attempt,
      pools: { failed: 0, degraded: 0, unknown: 0, progressing: 0, healthy: 0, total: 0 },
      firingAlerts: 0,
    };
    byCluster.set(`${provider}\u0000${clusterId}`, cluster);
    pools.set(cluster, []);
  }
  for (const [key, alerts] of firing) {
    const [provider, clusterId] = key.split('\u0000');
    const c = byCluster.get(`${provider}\u0000${clusterId}`);
    if (c) c.firingAlerts += alerts.length;
  }
  for (const r of rows.rows) {
    const c = byCluster.get(`${r.provider}\u0000${r.cluster_id}`);
    if (!c) continue;
    const p = toPool(r, firing.get(`${r.provider}\u0000${r.cluster_id}\u0000${r.nodepool_id}`) ?? [], c.lastListedAt);
    c.pools[p.health]++;
    c.pools.total++;
    pools.get(c)!.push(p);
  }
  const attention = (c: FleetCluster) => (c.reachable ? 0 : 4) + (c.pools.failed ? 2 : 0) + (c.pools.degraded || c.firingAlerts ? 1 : 0);
  const clusters = [...byCluster.values()].sort((a, b) => attention(b) - attention(a) || a.clusterId.localeCompare(b.clusterId));
  return { clusters, pools, lastSweepAt };
}

/** Every cluster the sweep watches, ordered with the ones needing attention first. */
export async function fleetClusters(db: Queryable): Promise<{ clusters: FleetCluster[]; lastSweepAt: Date | null }> {
  const { clusters, lastSweepAt } = await readFleet(db);
  return { clusters, lastSweepAt };
}

/** One cluster's pools as the last sweep saw them, worst first; undefined when the sweep does not watch it. */
export async function fleetPools(db: Queryable, provider: Provider, clusterId: string): Promise<{ cluster: FleetCluster; pools: FleetPool[] } | undefined> {
  const [fleet, requests] = await Promise.all([
    readFleet(db, { provider, clusterId }),
    db.query<Row>(
      `SELECT DISTINCT ON (nodepool_id) nodepool_id, id, state FROM nodepool_requests
        WHERE provider = $1 AND cluster_id = $2 AND nodepool_id IS NOT NULL AND operation = 'create' ORDER BY nodepool_id, id DESC`,
      [provider, clusterId],
    ),
  ]);
  const [cluster] = fleet.clusters;
  if (!cluster) return undefined;
  const byPool = new Map(requests.rows.map((r) => [r.nodepool_id as string, { id: r.id as string, state: r.state as string }]));
  const out = fleet.pools.get(cluster)!.map((p) => ({ ...p, request: byPool.get(p.id) ?? null }));
  const rank = (p: FleetPool) => POOL_HEALTH.indexOf(p.health);
  out.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  return { cluster, pools: out };
}
