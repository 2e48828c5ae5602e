/**
 * `npm run bench`: four benchmarks against the sandbox, reported as ratios measured in one
 * run (these machines are shared and noisy). Writes bench/results.md and bench/results.json.
 *
 *   B1   provisioning throughput: N requests through the queue, emulator create limit R/s
 *   B1ack ACK requests over clusters that take one operation at a time, to the last pool active, beside a Terraform-style loop
 *   B1b  B1 with 20% transient faults (5xx, throttling, timeouts; half the timeouts after the create ran)
 *   B1m  B1 with 4 provision instances: the shared rate limit, and (for comparison) one limiter per instance
 *   B2   one sweep over C clusters x P pools, emulator describe limit L/s
 *   B3   cold start: each bundle's size and import time, against a bare `node -e ''`
 *   B4   API latency: POST /v1/nodepool-requests through the local FC host, against a no-op handler
 *
 * Flags: --n 500 --rate 50 --clusters 1000 --pools 20 --describe-rate 200 --requests 1000
 *        --ack-requests 50 --ack-clusters 10 --ack-speed 60 --only B1,B1ack,B1m,B2
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudEmulator } from '../sandbox/cloud-emulator.js';
import { ensReferenceRequest } from '../sandbox/examples.js';
import { LocalFcHost } from '../sandbox/fc-host.js';
import { type RunningSystem, startSystem } from '../sandbox/start.js';
import { buildAll, FUNCTIONS } from '../scripts/build.js';
import { type Db, type Queryable, RequestStore } from '../src/store/index.js';
import { ackBenchmark } from './ack.js';
import { meter, openDb, progress, round, sleep, TOKEN } from './common.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const num = (k: string, d: number) => {
  const v = Number(args.get(k) ?? d);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
  return v;
};
// Defaults: the issue's scenario sizes; all four finish in about a minute on 2 cores.
const N = num('n', 500);
const R = num('rate', 50);
const C = num('clusters', 1000);
const P = num('pools', 20);
const L = num('describe-rate', 200);
const REQUESTS = num('requests', 1000);
const ACK_N = num('ack-requests', 50);
const ACK_C = num('ack-clusters', 10);
const ACK_SPEED = num('ack-speed', 60);
const only = args.get('only')?.split(',');
const OUT = args.get('out') ?? 'bench';
const run = (b: string) => !only || only.includes(b);
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const median = (xs: number[]) => quantile(xs, 0.5);

// ------------------------------------------------------------------ B1 / B1b

async function provisioning(label: string, faults: boolean, fleet: { instances?: number; sharedLimiter?: boolean } = {}) {
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

// ------------------------------------------------------------------ B2

async function sweepScale() {
  const { db, url } = await openDb();
  const emulator = new CloudEmulator({ rateLimits: { DescribeClusterNodePools: L, CreateClusterNodePool: 10 }, seedData: false });
  const ids = Array.from({ length: C }, (_, i) => `eck-b2${String(i).padStart(6, '0')}`);
  for (const id of ids) emulator.addCluster({ id, provider: 'ens', pools: Array.from({ length: P }, (_, j) => ({ name: `p${j}`, desired: 2 })) });
  const cloudUrl = await emulator.start(0);
  const dataDir = mkdtempSync(join(tmpdir(), 'npp-b2-'));
  await db.close();
  try {
    progress(`B2: one sweep over ${C} clusters x ${P} pools at ${L} listings/s (floor ${(C / L).toFixed(1)} s)`);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/sweep-worker.ts'], {
        env: {
          ...process.env,
          DATABASE_URL: url ?? '',
          DATA_DIR: dataDir,
          SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
          ENS_ENDPOINT: cloudUrl,
          ACK_ENDPOINT: cloudUrl,
          FC_ENDPOINT: cloudUrl,
          DESCRIBE_RATE_LIMIT: String(L),
          SWEEP_CONCURRENCY: '32',
          WATCH_CLUSTERS: ids.map((id) => `ens/${id}`).join(','),
          LOG_LEVEL: 'error',
          BENCH_CREDENTIALS: JSON.stringify(emulator.issueSts('bench')),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`the sweep worker failed (${code}): ${text}`))));
    });
    const line = out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!;
    const { summary, maxRssMB } = JSON.parse(line);
    const calls = emulator.callLog({ action: 'DescribeClusterNodePools' }).length;
    const ratio = summary.durationMs / 1000 / (C / L);
    progress(`B2: ${calls} calls for ${C} clusters, ${summary.durationMs} ms, peak RSS ${maxRssMB.toFixed(0)} MB`);
    return {
      callsPerCluster: round(calls / C),
      ratio: round(ratio),
      peakRssMB: Math.round(maxRssMB),
      sweepMs: summary.durationMs,
      floorMs: (C / L) * 1000,
      pools: summary.pools,
      store: url ? 'postgres' : 'pglite',
    };
  } finally {
    await emulator.stop();
  }
}

// ------------------------------------------------------------------ B3

function wallMs(cmd: string[], cwd: string): number {
  const t = process.hrtime.bigint();
  // As on FC: s.yaml sets NODE_OPTIONS=--enable-source-maps for every function.
  const r = spawnSync(process.execPath, cmd, { cwd, env: { PATH: process.env.PATH, NODE_OPTIONS: '--enable-source-maps' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function coldStart() {
  const out = mkdtempSync(join(tmpdir(), 'npp-b3-'));
  const built = await buildAll(out, () => {});
  const bundles: Record<string, { bytes: number; folderBytes: number; importRatio: number; importMs: number }> = {};
  const bare = mkdtempSync(join(tmpdir(), 'npp-b3-bare-'));
  for (const fn of FUNCTIONS) {
    const dir = mkdtempSync(join(tmpdir(), `npp-b3-${fn}-`));
    for (const f of readdirSync(join(out, fn))) copyFileSync(join(out, fn, f), join(dir, f));
    // Import the bundle and build its parts the way the first invocation does (no network: config only).
    const script = "const m = require('./index.js'); if (typeof m.handler !== 'function') process.exit(1);";
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 15; i++) {
      b.push(wallMs(['-e', ''], bare));
      a.push(wallMs(['-e', script], dir));
    }
    const folderBytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    bundles[fn] = { bytes: built[fn]!.bytes, folderBytes, importRatio: round(median(a) / median(b)), importMs: round(median(a) - median(b), 1) };
    progress(
      `B3: ${fn} ${(built[fn]!.bytes / 1024).toFixed(0)} KiB, import ${bundles[fn]!.importMs} ms over a bare node start (ratio ${bundles[fn]!.importRatio})`,
    );
  }
  return { bundles };
}

// ------------------------------------------------------------------ B4

/** Counts the store's round trips: each statement, plus BEGIN and COMMIT for a transaction. */
function counting(db: Db): { db: Db; roundTrips: () => number } {
  let n = 0;
  const wrap = (q: Queryable): Queryable => ({
    query: <R>(sql: string, params?: unknown[]) => {
      n++;
      return q.query<R>(sql, params);
    },
    exec: (sql: string) => {
      n++;
      return q.exec(sql);
    },
  });
  const counted: Db = {
    kind: db.kind,
    ...wrap(db),
    transaction: (fn) => {
      n += 2;
      return db.transaction((tx) => fn(wrap(tx)));
    },
    close: () => db.close(),
  };
  return { db: counted, roundTrips: () => n };
}

async function apiLatency() {
  const opened = await openDb();
  const { db, roundTrips } = counting(opened.db);
  const sys = await startSystem({
    cloudPort: 0,
    httpPort: 0,
    watchIntervalSeconds: 0,
    env: { API_TOKENS: TOKEN, LOG_LEVEL: 'error', WATCH_CLUSTERS: '' },
    instance: { store: new RequestStore(db) },
    log: () => {},
  });
  // The creations are not part of this benchmark: FC accepts the async invocation and runs nothing.
  sys.emulator.fcInvoker = async () => ({ status: 202, body: '' });
  const noop = new LocalFcHost({
    emulator: sys.emulator,
    functions: {
      api: {
        name: 'noop',
        handlerName: 'index.handler',
        timeoutSeconds: 30,
        memoryMB: 512,
        instances: [async () => ({ statusCode: 202, headers: { 'content-type': 'application/json' }, isBase64Encoded: false, body: '{}' })],
      },
      provision: { name: 'p', handlerName: 'index.handler', timeoutSeconds: 30, memoryMB: 512, instances: [async () => ({})] },
      watch: { name: 'w', handlerName: 'index.handler', timeoutSeconds: 30, memoryMB: 512, instances: [async () => ({})] },
    },
  });
  const noopUrl = await noop.listen(0);
  try {
    const measure = async (base: string, label: string) => {
      const times: number[] = [];
      let errors = 0;
      const show = meter(`B4 ${label}`, REQUESTS);
      for (let i = 0; i < REQUESTS; i++) {
        const body = JSON.stringify({ provider: 'ens', request: ensReferenceRequest('eck-d2666c5f', `b4-${label}-${i}`) });
        const t = process.hrtime.bigint();
        const res = await fetch(`${base}/v1/nodepool-requests`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (res.status !== 202) errors++;
        if ((i + 1) % 50 === 0 || i + 1 === REQUESTS) show(i + 1);
      }
      return { times, errors };
    };
    // both sides warmed alike, then measured
    await measure(noopUrl, 'warm-up-noop');
    await measure(sys.apiUrl, 'warm-up-api');
    const base = await measure(noopUrl, 'noop');
    const before = roundTrips();
    const real = await measure(sys.apiUrl, 'api');
    const perPost = (roundTrips() - before) / REQUESTS;
    const p50 = median(real.times);
    const p99 = quantile(real.times, 0.99);
    return {
      p50Ratio: round(p50 / median(base.times)),
      p99Ratio: round(p99 / quantile(base.times, 0.99)),
      errors: real.errors,
      roundTrips: round(perPost, 2),
      p50Ms: round(p50, 2),
      p99Ms: round(p99, 2),
      noopP50Ms: round(median(base.times), 2),
      noopP99Ms: round(quantile(base.times, 0.99), 2),
    };
  } finally {
    await noop.stop();
    await sys.stop();
  }
}

// ------------------------------------------------------------------ report

function table(results: Record<string, any>): string {
  const rows: string[][] = [];
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  if (results.B1)
    rows.push([
      'B1',
      `provisioning, ${N} requests via the queue, create limit ${R}/s`,
      `makespan ÷ (N/R) = ${results.B1.ratio}; ${results.B1.duplicates} duplicates; ${results.B1.lost} lost`,
      '≤ 1.10, 0, 0',
      mark(results.B1.ratio <= 1.1 && results.B1.duplicates === 0 && results.B1.lost === 0),
    ]);
  if (results.B1ack) {
    const a = results.B1ack;
    rows.push([
      'B1ack',
      `${ACK_N} ACK requests over ${ACK_C} clusters (one operation per cluster at a time), first request to last pool active, emulator speed ${ACK_SPEED}`,
      `makespan ${a.makespanSeconds} s ÷ floor ${a.floorSeconds} s (${a.floorFormula}) = ${a.ratio}; ${a.busyRefusals} busy refusals; ${a.duplicates} duplicates; ${a.lost} lost; ${a.calls} calls, ${a.throttled} throttled. Terraform-style loop: ${a.baselineSeconds} s, ${a.baseline.calls} calls, ${a.baseline.throttled} throttled`,
      '≤ 1.2, < loop, 0, 0',
      mark(a.ratio <= 1.2 && a.makespanSeconds < a.baselineSeconds && a.duplicates === 0 && a.lost === 0),
    ]);
  }
  if (results.B1m)
    rows.push([
      'B1m',
      `B1 with ${results.B1m.instances} provision instances, emulator create limit = client limit = ${R}/s`,
      `makespan ÷ (N/R) = ${results.B1m.ratio}; ${results.B1m.throttled} throttled; ${results.B1m.duplicates} duplicates; ${results.B1m.lost} lost. One limiter per instance instead: ${results.B1m.throttledWithoutSharedLimiter} throttled, ratio ${results.B1m.ratioWithoutSharedLimiter}`,
      '≤ 1.10, 0, 0, 0',
      mark(results.B1m.ratio <= 1.1 && results.B1m.throttled === 0 && results.B1m.duplicates === 0 && results.B1m.lost === 0),
    ]);
  if (results.B1b)
    rows.push([
      'B1b',
      `B1 with 20% transient faults`,
      `ratio ${results.B1b.ratio}; ${results.B1b.duplicates} duplicates; ${results.B1b.lost} lost`,
      '0 duplicates, 0 lost',
      mark(results.B1b.duplicates === 0 && results.B1b.lost === 0),
    ]);
  if (results.B2)
    rows.push([
      'B2',
      `one sweep, ${C} clusters × ${P} pools, describe limit ${L}/s (${results.B2.store})`,
      `${results.B2.callsPerCluster} calls per cluster; time ÷ (C/L) = ${results.B2.ratio}; peak RSS ${results.B2.peakRssMB} MB`,
      '1; ≤ 1.10; ≤ 256 MB',
      mark(results.B2.callsPerCluster === 1 && results.B2.ratio <= 1.1 && results.B2.peakRssMB <= 256),
    ]);
  if (results.B3) {
    for (const [fn, b] of Object.entries(results.B3.bundles) as Array<[string, any]>) {
      rows.push([
        'B3',
        `cold start, ${fn} bundle`,
        `index.js ${(b.bytes / 1024).toFixed(0)} KiB (code package ${(b.folderBytes / 1024).toFixed(0)} KiB with the source map${fn === 'provision' ? '' : ' and the lazy fc2.js'}); import ÷ bare node = ${b.importRatio}`,
        '≤ 1 MB; reported',
        mark(b.bytes <= 1024 * 1024),
      ]);
    }
  }
  if (results.B4)
    rows.push([
      'B4',
      `API latency, ${REQUESTS} POSTs through the local FC host`,
      `p50 ÷ no-op = ${results.B4.p50Ratio}; p99 ÷ no-op = ${results.B4.p99Ratio}; ${results.B4.roundTrips} store round trips per POST; ${results.B4.errors} errors`,
      'reported; no errors',
      mark(results.B4.errors === 0),
    ]);
  const notes: string[] = [];
  if (results.B2?.store === 'pglite') {
    notes.push(
      '',
      'B2 ran without DATABASE_URL: the sweep process then carries the embedded PGlite database, which dominates its RSS. On Function Compute the store is PostgreSQL; run with DATABASE_URL set to measure that.',
    );
  }
  return [
    `Measured ${results.date} on ${results.cores} cores (Node ${process.versions.node}). Ratios are taken within one run.`,
    '',
    '| # | scenario | result | target | |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    ...notes,
    '',
  ].join('\n');
}

async function main() {
  const results: Record<string, unknown> = { date: new Date().toISOString().slice(0, 10), cores: cpus().length };
  const started = Date.now();
  if (run('B1')) results.B1 = await provisioning('B1', false);
  if (run('B1ack')) results.B1ack = await ackBenchmark({ requests: ACK_N, clusters: ACK_C, speed: ACK_SPEED });
  if (run('B1b')) results.B1b = await provisioning('B1b', true);
  if (run('B1m')) {
    // B1 with 4 provision instances, the emulator's create limit at the client's: with the shared
    // limiter they keep the account under it together; each on its own limiter, they do not.
    const shared = await provisioning('B1m', false, { instances: 4, sharedLimiter: true });
    const apart = await provisioning('B1m-apart', false, { instances: 4, sharedLimiter: false });
    results.B1m = {
      instances: 4,
      ratio: shared.ratio,
      duplicates: shared.duplicates,
      lost: shared.lost,
      throttled: shared.throttled,
      throttledWithoutSharedLimiter: apart.throttled,
      ratioWithoutSharedLimiter: apart.ratio,
    };
  }
  if (run('B2')) results.B2 = await sweepScale();
  if (run('B3')) results.B3 = await coldStart();
  if (run('B4')) results.B4 = await apiLatency();
  const md = table(results);
  writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(OUT, 'results.md'), md);
  process.stdout.write(`\n${md}`);
  progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${OUT}/results.md and ${OUT}/results.json`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
