/**
 * B1ack: requests spread over ACK clusters, which take one node-pool operation at a time,
 * timed from the first request to the last pool active, beside what a user would otherwise
 * run against the same emulator and limits: a Terraform-style loop that, per cluster, creates
 * one pool, polls the listing every 5 s (scaled by the emulator's speed) until it is active,
 * then creates the next, all clusters in parallel.
 *
 * Floor: the busiest cluster's requests × one creation task (boot + ramp ÷ speed).
 */
import { CloudEmulator, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from '../sandbox/cloud-emulator.js';
import { ackReferenceRequest } from '../sandbox/examples.js';
import { startSystem } from '../sandbox/start.js';
import { defaultTiming } from '../sandbox/world.js';
import { RequestStore } from '../src/store/index.js';
import { openDb, progress, round, TOKEN, waitForActive, warmUpThroughQueue } from './common.js';
import { terraformLoop } from './loop.js';

const REGION = 'cn-beijing';

interface Plan {
  requests: number;
  clusters: number;
  speed: number;
}

const clusterIds = (plan: Plan) => Array.from({ length: plan.clusters }, (_, i) => `c${String(i + 1).padStart(32, '0')}`);
/**
 * Both sides first create one pool on a cluster of another region, before the clock starts,
 * so that neither pays its first connections and compilation in the measured run (and ours
 * learns nothing about this region's task times from it).
 */
const WARM = { provider: 'ack' as const, regionId: 'cn-hangzhou', clusterId: `cwarm${'0'.repeat(27)}` };
const emulatorOptions = (plan: Plan) => ({
  timing: { speed: plan.speed },
  seed: 11,
  scenario: {
    clusters: [
      ...clusterIds(plan).map((id) => ({ id, provider: 'ack' as const, regionId: REGION })),
      { id: WARM.clusterId, provider: 'ack' as const, regionId: WARM.regionId },
    ],
  },
});
/** Request i goes to cluster i mod C: the busiest cluster gets ⌈N/C⌉. */
const assignment = (plan: Plan, label: string) =>
  Array.from({ length: plan.requests }, (_, i) => ({ name: `${label}-${i}`, clusterId: clusterIds(plan)[i % plan.clusters]! }));

/** What the emulator's log says about a run. */
function tally(emulator: CloudEmulator, t0: number) {
  const byName = new Map<string, number>();
  for (const p of emulator.world.pools.values()) byName.set(p.name, (byName.get(p.name) ?? 0) + 1);
  const warmTasks = new Set([...emulator.world.pools.values()].filter((p) => p.clusterId === WARM.clusterId).map((p) => `/tasks/${p.taskId}`));
  const log = emulator.callLog({ product: 'ack' }).filter((c) => c.clusterId !== WARM.clusterId && !warmTasks.has(c.path));
  // How long each cluster sat idle between a pool's creation ending and the next create.
  const gaps: number[] = [];
  const byRound: number[][] = [];
  const byCluster = new Map<string, Array<{ createdAt: number; completedAt?: number; taskId?: string }>>();
  for (const p of emulator.world.pools.values()) {
    if (p.isDefault || p.clusterId === WARM.clusterId) continue;
    byCluster.set(p.clusterId, [
      ...(byCluster.get(p.clusterId) ?? []),
      { createdAt: p.createdAt, completedAt: emulator.world.status(p).completedAt, taskId: p.taskId },
    ]);
  }
  // Where a hand-off's idle time goes, for a client that asks about the task: until the task was
  // seen done (the first question after it ended), and from then to the next create.
  const seen: number[] = [];
  const afterSeen: number[] = [];
  const taskAsks = new Map<string, number[]>();
  for (const c of emulator.callLog({ product: 'ack' }))
    if (c.action === 'DescribeTaskInfo') taskAsks.set(c.path, [...(taskAsks.get(c.path) ?? []), Date.parse(c.at)]);
  for (const pools of byCluster.values()) {
    pools.sort((a, b) => a.createdAt - b.createdAt);
    for (let i = 1; i < pools.length; i++) {
      const before = pools[i - 1]!;
      if (!before.completedAt) continue;
      const idle = pools[i]!.createdAt - before.completedAt;
      gaps.push(idle);
      byRound[i - 1] = [...(byRound[i - 1] ?? []), idle];
      const asked = (taskAsks.get(`/tasks/${before.taskId}`) ?? []).find((t) => t >= before.completedAt!);
      if (asked !== undefined) {
        seen.push(asked - before.completedAt);
        afterSeen.push(pools[i]!.createdAt - asked);
      }
    }
  }
  const mean = (xs: number[]) => (xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 1) : undefined);
  const firsts = [...byCluster.values()].map((pools) => pools[0]!.createdAt - t0);
  return {
    firstCreateMs: { mean: round(firsts.reduce((a, b) => a + b, 0) / Math.max(1, firsts.length), 0), max: Math.max(0, ...firsts) },
    idleMsPerHandOff: gaps.length ? round(gaps.reduce((a, b) => a + b, 0) / gaps.length, 1) : 0,
    /** The longest idle time at each hand-off (after the first pool, the second, …): the makespan follows these. */
    maxIdleMsByHandOff: byRound.map((xs) => Math.max(...xs)),
    ...(seen.length ? { handOffMs: { taskSeenDone: mean(seen), thenNextCreate: mean(afterSeen) } } : {}),
    duplicates: [...byName.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    calls: log.length,
    byAction: Object.fromEntries([...new Set(log.map((c) => c.action))].map((a) => [a, log.filter((c) => c.action === a).length])),
    creates: log.filter((c) => c.action === 'CreateClusterNodePool').length,
    busyRefusals: log.filter((c) => c.outcome === 'InvalidStatus.Forbidden').length,
    throttled: log.filter((c) => c.outcome === 'Throttling.User').length,
  };
}

async function ours(plan: Plan) {
  const { db } = await openDb();
  const sys = await startSystem({
    cloudPort: 0,
    httpPort: 0,
    // FC's timer runs the sweep every minute: 60 s ÷ speed here
    watchIntervalSeconds: 60 / plan.speed,
    env: { API_TOKENS: TOKEN, LOG_LEVEL: 'error', WATCH_CLUSTERS: '', FC_INSTANCES: '2', TASK_FOLLOW_SECONDS: '60' },
    emulator: emulatorOptions(plan),
    instance: { store: new RequestStore(db) },
    hostOptions: { asyncBackoffMs: 200, queueBackoffMs: 200 },
    log: () => {},
  });
  try {
    await warmUpThroughQueue(sys.cloudUrl, db, { ...WARM, request: ackReferenceRequest('warm-up') });
    // As in B1, the requests wait in the queue when the clock starts (the trigger is enabled
    // then): the producer's own posting is not the system's time, as the loop's is not its.
    sys.host.pauseQueue();
    for (const { name, clusterId } of assignment(plan, 'ours')) {
      const body = JSON.stringify({ provider: 'ack', regionId: REGION, clusterId, request: ackReferenceRequest(name) });
      const res = await fetch(`${sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body });
      if (res.status !== 201) throw new Error(`queue refused a message: ${res.status}`);
    }
    const t0 = Date.now();
    sys.host.resumeQueue();
    const { active, lastActive } = await waitForActive(db, {
      label: 'B1ack',
      n: plan.requests,
      t0,
      limit: t0 + 4 * floorSeconds(plan) * 1000 + 60_000,
      warmCluster: WARM.clusterId,
      pollMs: 1000,
    });
    if (process.env.B1ACK_TRACE) {
      for (const c of sys.emulator.callLog().filter((c) => Date.parse(c.at) >= t0 && Date.parse(c.at) < t0 + 1200))
        console.log(`${Date.parse(c.at) - t0}ms ${c.product} ${c.action} ${c.clusterId ?? ''} ${c.outcome}`);
    }
    return { makespanSeconds: (lastActive - t0) / 1000, lost: plan.requests - active, ...tally(sys.emulator, t0) };
  } finally {
    await sys.stop();
  }
}

async function baseline(plan: Plan) {
  const emulator = new CloudEmulator({
    accessKeys: [{ accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret: DEFAULT_ACCESS_KEY_SECRET }],
    ...emulatorOptions(plan),
  });
  const url = await emulator.start(0);
  try {
    const { t0, done } = await terraformLoop({
      url,
      pollMs: 5_000 / plan.speed,
      warmUp: { ref: WARM, body: ackReferenceRequest('warm-up') },
      creates: assignment(plan, 'loop').map(({ name, clusterId }) => ({
        ref: { provider: 'ack' as const, regionId: REGION, clusterId },
        body: ackReferenceRequest(name),
      })),
    });
    return { makespanSeconds: (Math.max(...done) - t0) / 1000, ...tally(emulator, t0) };
  } finally {
    await emulator.stop();
  }
}

function floorSeconds(plan: Plan): number {
  const task = (defaultTiming.bootMs + defaultTiming.rampMs) / plan.speed / 1000;
  return Math.ceil(plan.requests / plan.clusters) * task;
}

export async function ackBenchmark(plan: Plan) {
  const floor = floorSeconds(plan);
  progress(`B1ack: ${plan.requests} requests over ${plan.clusters} ACK clusters, floor ${floor} s; ours first, then the loop`);
  const a = await ours(plan);
  const b = await baseline(plan);
  progress(
    `B1ack: ours ${a.makespanSeconds.toFixed(1)} s (idle ${a.idleMsPerHandOff} ms per hand-off), loop ${b.makespanSeconds.toFixed(1)} s (idle ${b.idleMsPerHandOff} ms)`,
  );
  return {
    ratio: round(a.makespanSeconds / floor),
    makespanSeconds: round(a.makespanSeconds, 2),
    floorSeconds: round(floor, 2),
    floorFormula: `⌈N/C⌉ × (boot + ramp) ÷ speed = ${Math.ceil(plan.requests / plan.clusters)} × ${(defaultTiming.bootMs + defaultTiming.rampMs) / 1000} s ÷ ${plan.speed}`,
    baselineSeconds: round(b.makespanSeconds, 2),
    busyRefusals: a.busyRefusals,
    idleMsPerHandOff: a.idleMsPerHandOff,
    firstCreateMs: a.firstCreateMs,
    maxIdleMsByHandOff: a.maxIdleMsByHandOff,
    handOffMs: a.handOffMs,
    duplicates: a.duplicates,
    lost: a.lost,
    calls: a.calls,
    callsByAction: a.byAction,
    throttled: a.throttled,
    baseline: {
      idleMsPerHandOff: b.idleMsPerHandOff,
      firstCreateMs: b.firstCreateMs,
      maxIdleMsByHandOff: b.maxIdleMsByHandOff,
      calls: b.calls,
      callsByAction: b.byAction,
      throttled: b.throttled,
      busyRefusals: b.busyRefusals,
      duplicates: b.duplicates,
    },
  };
}
