/**
 * B1, B1b and B1m: ENS requests through the queue against the emulator's create limit, with
 * and without transient faults, with one or several provision instances, timed from the first
 * request to the last request `active` (as the sweep, every minute of cloud time, sees it).
 *
 * Floor: the emulator's bucket starts full (R creates at once, then R a second), so the last
 * create can go at (N − R)/R at best, and its pool is up (boot + ramp) ÷ speed after that.
 * The clock starts with the N requests waiting in the queue (its trigger is enabled then), and
 * with both sides warmed by one create on a cluster of their own.
 */

import { CloudEmulator, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from '../sandbox/cloud-emulator.js';
import { ensReferenceRequest } from '../sandbox/examples.js';
import { type RunningSystem, startSystem } from '../sandbox/start.js';
import type { CallRecord } from '../sandbox/steps.js';
import { defaultTiming } from '../sandbox/world.js';
import { RequestStore } from '../src/store/index.js';
import { meter, openDb, progress, round, sleep, TOKEN, waitForActive, warmUpThroughQueue } from './common.js';
import { terraformLoop } from './loop.js';

const bootSeconds = (plan: B1Plan) => (defaultTiming.bootMs + defaultTiming.rampMs) / plan.speed / 1000;
const clustersFor = (n: number) => Array.from({ length: Math.ceil(n / 10) }, (_, i) => `eck-b1${String(i).padStart(6, '0')}`);
/** Both sides are warmed before the clock starts with one create on a cluster of their own, as B1ack does: a deployed function that has run before. */
const WARM = { provider: 'ens' as const, clusterId: 'eck-warm0000' };
/** The calls made after the warm-up, for the requests being measured. */
const measured = (log: CallRecord[], t0: number) => log.filter((c) => c.clusterId !== WARM.clusterId && Date.parse(c.at) >= t0);

function floorOf(plan: B1Plan) {
  const seconds = Math.max(0, plan.n - plan.rate) / plan.rate + bootSeconds(plan);
  return {
    seconds,
    formula: `(N − R)/R + (boot + ramp) ÷ speed = (${plan.n} − ${plan.rate})/${plan.rate} + ${(defaultTiming.bootMs + defaultTiming.rampMs) / 1000} s ÷ ${plan.speed}`,
  };
}

export interface B1Plan {
  /** requests */
  n: number;
  /** the emulator's create limit, per second */
  rate: number;
  /** the emulator's speed (simulated ms per real ms) */
  speed: number;
}

export async function provisioning(plan: B1Plan, label: string, faults: boolean, fleet: { instances?: number; sharedLimiter?: boolean } = {}) {
  const { n: N, rate: R } = plan;
  const { db } = await openDb();
  const clusters = clustersFor(N);
  const sys: RunningSystem = await startSystem({
    cloudPort: 0,
    httpPort: 0,
    // FC's timer runs the sweep every minute: a second at the emulator's speed
    watchIntervalSeconds: 60 / plan.speed,
    env: {
      API_TOKENS: TOKEN,
      CREATE_RATE_LIMIT: String(R),
      DESCRIBE_RATE_LIMIT: '1000',
      CLOUD_READ_TIMEOUT_MS: '2000',
      DISPATCH_GRACE_SECONDS: '2',
      LOG_LEVEL: 'error',
      WATCH_CLUSTERS: '',
      FC_INSTANCES: String(fleet.instances ?? 2),
      RATE_LIMIT_SHARED: String(fleet.sharedLimiter ?? true),
    },
    emulator: {
      timing: { speed: plan.speed },
      rateLimits: { CreateClusterNodePool: R, DescribeClusterNodePools: 1000, DescribeClusterNodes: 1000 },
      timeoutHoldMs: 3_000,
      seed: 7,
      scenario: { clusters: [...clusters, WARM.clusterId].map((id) => ({ id, provider: 'ens' as const })) },
    },
    instance: { store: new RequestStore(db) },
    hostOptions: { asyncBackoffMs: 200, queueBackoffMs: 200 },
    log: () => {},
  });
  try {
    if (faults) {
      sys.emulator.faults.calls.push(
        { kind: '5xx', rate: 0.07 },
        { kind: 'throttling', rate: 0.07 },
        { kind: 'timeout', rate: 0.035, phase: 'before' },
        { kind: 'timeout', rate: 0.035, phase: 'after' },
      );
    }
    const names = Array.from({ length: N }, (_, i) => `b1-${label}-${i}`);
    await warmUpThroughQueue(sys.cloudUrl, db, { provider: 'ens', request: ensReferenceRequest(WARM.clusterId, `b1-${label}-warm-up`) });
    // The requests wait in the queue when the clock starts, as a backlog would: the floor counts from
    // all N being there, and the producer's own posting is not the system's time.
    sys.host.pauseQueue();
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (name, j) => {
          const body = JSON.stringify({ provider: 'ens', request: ensReferenceRequest(clusters[(i + j) % clusters.length]!, name) });
          const res = await fetch(`${sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body });
          if (res.status !== 201) throw new Error(`queue refused a message: ${res.status}`);
        }),
      );
    }
    // The emulator's bucket is full again (the warm-up took one token; one comes back every 1/R s).
    await sleep(Math.ceil(1000 / R) + 50);
    const t0 = Date.now();
    sys.host.resumeQueue();
    const floor = floorOf(plan);
    const { active, lastActive } = await waitForActive(db, {
      label,
      n: N,
      t0,
      limit: t0 + Math.max(120_000, floor.seconds * 10_000),
      warmCluster: WARM.clusterId,
      pollMs: 250,
    });
    const makespan = (lastActive - t0) / 1000;
    const byName = new Map<string, number>();
    for (const p of sys.emulator.world.pools.values()) byName.set(p.name, (byName.get(p.name) ?? 0) + 1);
    const duplicates = [...byName.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
    const all = await db.query<{ state: string; n: number | string }>(
      `SELECT state, count(*)::int AS n FROM nodepool_requests WHERE cluster_id <> $1 GROUP BY state`,
      [WARM.clusterId],
    );
    const states = Object.fromEntries(all.rows.map((r) => [r.state, Number(r.n)]));
    const lost = N - active;
    progress(
      `${label}: to the last pool active ${makespan.toFixed(2)} s, floor ${floor.seconds.toFixed(2)} s, ${duplicates} duplicates, ${lost} lost, states ${JSON.stringify(states)}`,
    );
    const log = measured(sys.emulator.callLog(), t0);
    // Where the time went: the last create, and how long after a pool came up its request was seen active.
    const creates = log.filter((c) => c.action === 'CreateClusterNodePool' && (c.outcome === 'OK' || c.fault === 'timeout:after'));
    const lastCreate = (Math.max(...creates.map((c) => Date.parse(c.at))) - t0) / 1000;
    const seen = await db.query<{ nodepool_id: string; updated_at: Date }>(
      `SELECT nodepool_id, updated_at FROM nodepool_requests WHERE state = 'active' AND cluster_id <> $1`,
      [WARM.clusterId],
    );
    const lags = seen.rows.flatMap((r) => {
      const pool = sys.emulator.world.pools.get(r.nodepool_id);
      const up = pool && sys.emulator.world.status(pool).completedAt;
      return up ? [new Date(r.updated_at).getTime() - up] : [];
    });
    return {
      ratio: round(makespan / floor.seconds),
      lastCreateSeconds: round(lastCreate, 2),
      seenActiveAfterMs: { mean: round(lags.reduce((a, b) => a + b, 0) / Math.max(1, lags.length), 0), max: Math.max(0, ...lags) },
      duplicates,
      lost,
      makespanSeconds: round(makespan, 2),
      floorSeconds: round(floor.seconds, 2),
      floorFormula: floor.formula,
      states,
      calls: log.length,
      callsByAction: Object.fromEntries([...new Set(log.map((c) => c.action))].map((a) => [a, log.filter((c) => c.action === a).length])),
      throttled: log.filter((c) => c.outcome === 'Throttling.User').length,
    };
  } finally {
    await sys.stop();
  }
}

/** B1's loop: the same requests, per cluster one at a time, against a fresh emulator with the same limits. */
export async function ensLoop(plan: B1Plan) {
  const clusters = clustersFor(plan.n);
  const emulator = new CloudEmulator({
    accessKeys: [{ accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret: DEFAULT_ACCESS_KEY_SECRET }],
    timing: { speed: plan.speed },
    rateLimits: { CreateClusterNodePool: plan.rate, DescribeClusterNodePools: 1000, DescribeClusterNodes: 1000 },
    seed: 7,
    scenario: { clusters: [...clusters, WARM.clusterId].map((id) => ({ id, provider: 'ens' as const })) },
  });
  const url = await emulator.start(0);
  const show = meter('B1 loop', plan.n);
  let active = 0;
  try {
    const { t0, done } = await terraformLoop({
      url,
      pollMs: 5_000 / plan.speed,
      rateLimits: { create: plan.rate, describe: 1000 },
      warmUp: { ref: WARM, body: ensReferenceRequest(WARM.clusterId, 'b1-loop-warm-up') },
      creates: Array.from({ length: plan.n }, (_, i) => {
        const clusterId = clusters[i % clusters.length]!;
        return { ref: { provider: 'ens' as const, clusterId }, body: ensReferenceRequest(clusterId, `b1-loop-${i}`) };
      }),
      onActive: () => show(++active),
    });
    const log = measured(emulator.callLog(), t0);
    return {
      makespanSeconds: round((Math.max(...done) - t0) / 1000, 2),
      calls: log.length,
      callsByAction: Object.fromEntries([...new Set(log.map((c) => c.action))].map((a) => [a, log.filter((c) => c.action === a).length])),
      throttled: log.filter((c) => c.outcome === 'Throttling.User').length,
    };
  } finally {
    await emulator.stop();
  }
}
