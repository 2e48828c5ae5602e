/**
 * B1, B1b and B1m: ENS requests through the queue against the emulator's create limit, with
 * and without transient faults, with one or several provision instances.
 */
import { ensReferenceRequest } from '../sandbox/examples.js';
import { type RunningSystem, startSystem } from '../sandbox/start.js';
import { RequestStore } from '../src/store/index.js';
import { meter, openDb, progress, round, sleep, TOKEN } from './common.js';

export interface B1Plan {
  /** requests */
  n: number;
  /** the emulator's create limit, per second */
  rate: number;
}

export async function provisioning(plan: B1Plan, label: string, faults: boolean, fleet: { instances?: number; sharedLimiter?: boolean } = {}) {
  const { n: N, rate: R } = plan;
  const { db } = await openDb();
  const clusters = Array.from({ length: Math.ceil(N / 10) }, (_, i) => `eck-b1${String(i).padStart(6, '0')}`);
  const sys: RunningSystem = await startSystem({
    cloudPort: 0,
    httpPort: 0,
    watchIntervalSeconds: faults ? 1 : 0,
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
      rateLimits: { CreateClusterNodePool: R, DescribeClusterNodePools: 1000 },
      timeoutHoldMs: 3_000,
      seed: 7,
      scenario: { clusters: clusters.map((id) => ({ id, provider: 'ens' as const })) },
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
    const t0 = Date.now();
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (name, j) => {
          const body = JSON.stringify({ provider: 'ens', request: ensReferenceRequest(clusters[(i + j) % clusters.length]!, name) });
          const res = await fetch(`${sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body });
          if (res.status !== 201) throw new Error(`queue refused a message: ${res.status}`);
        }),
      );
    }
    const limit = t0 + Math.max(120_000, (N / R) * 10_000);
    let created = 0;
    const show = meter(label, N);
    for (;;) {
      const rows = await db.query<{ n: number | string }>(`SELECT count(*)::int AS n FROM nodepool_requests WHERE state IN ('creating','active')`);
      created = Number(rows.rows[0]!.n);
      show(created);
      if (created >= N || Date.now() > limit) break;
      await sleep(faults ? 1000 : 500);
    }
    const okCreates = sys.emulator.callLog({ action: 'CreateClusterNodePool' }).filter((c) => c.outcome === 'OK' || c.fault === 'timeout:after');
    const lastCreate = Math.max(...okCreates.map((c) => Date.parse(c.at)));
    const makespan = (lastCreate - t0) / 1000;
    const byName = new Map<string, number>();
    for (const p of sys.emulator.world.pools.values()) byName.set(p.name, (byName.get(p.name) ?? 0) + 1);
    const duplicates = [...byName.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
    const all = await db.query<{ state: string; n: number | string }>(`SELECT state, count(*)::int AS n FROM nodepool_requests GROUP BY state`);
    const states = Object.fromEntries(all.rows.map((r) => [r.state, Number(r.n)]));
    const lost = N - created;
    const floor = N / R;
    progress(
      `${label}: makespan ${makespan.toFixed(2)} s, floor ${floor.toFixed(2)} s, ${duplicates} duplicates, ${lost} lost, states ${JSON.stringify(states)}`,
    );
    return {
      ratio: round(makespan / floor),
      duplicates,
      lost,
      makespanSeconds: round(makespan, 2),
      floorSeconds: floor,
      states,
      cloudCalls: sys.emulator.callLog().length,
      throttled: sys.emulator.callLog({ action: 'CreateClusterNodePool', outcome: 'Throttling.User' }).length,
    };
  } finally {
    await sys.stop();
  }
}
