/**
 * B2: a warm watch instance's sweep over many clusters, on a store seeded like a busy month
 * (bench/b2-seed.ts), in a process of its own (bench/sweep-worker.ts, bundled as FC runs a
 * function's code) so that its peak RSS is the sweep's. The floor is the emulator's limiter's.
 *
 * With DATABASE_URL it runs on PostgreSQL (`B2`) and on the embedded PGlite (`B2.pglite`);
 * without, on PGlite only (`B2`). On PGlite a first child initialises a fresh database
 * (reported as `firstInit`), a second only reopens the seeded one (`idleRssMB`, the floor),
 * and the third sweeps. `B2.growth` repeats the sweep for C/10, 3C/10 and C clusters on the
 * run's default store, with the store seeded at the same density.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CloudEmulator } from '../sandbox/cloud-emulator.js';
import { inlineMigrations } from '../scripts/build.js';
import { burstCalls, DEFAULT_BURST_SHARE } from '../src/cloud/rate-limiter.js';
import { type Db, migrate, openPglite, openPostgres } from '../src/store/index.js';
import { type SeedCluster, seedStore } from './b2-seed.js';
import { openDb, progress, round } from './common.js';

export interface B2Plan {
  clusters: number;
  pools: number;
  /** the emulator's describe limit, per second */
  describeRate: number;
}

type Store = 'postgres' | 'pglite';

interface Child {
  summary?: {
    durationMs: number;
    pools: number;
    clusters: number;
    apiCalls: number;
    alertsFired: number;
    alertsResolved: number;
    transitions: Record<string, number>;
  };
  /** The instance's first sweep (loading code, opening connections), before the one timed. */
  firstSweepMs?: number;
  openMs: number;
  maxRssMB: number;
  heapUsedMB: number;
  externalMB: number;
  /** The largest of each part of memory in each phase: the open (its peak RSS alone), the first sweep, the sweep timed. */
  peaks?: Record<'open' | 'firstSweep' | 'sweep', { rssMB: number; heapTotalMB: number; heapUsedMB: number; externalMB: number }>;
}

/**
 * The worker as one plain JavaScript file, as FC runs a function's code: no TypeScript loader
 * in the process (tsx alone adds about 50 MB of RSS). PGlite stays a package of its own, as it
 * loads its WebAssembly beside itself; the file sits under node_modules so that Node finds it.
 */
let workerFile: Promise<string> | undefined;
function workerBundle(): Promise<string> {
  workerFile ??= (async () => {
    const outfile = join('node_modules', '.cache', 'nodepool-pilot-bench', 'sweep-worker.mjs');
    await build({
      entryPoints: ['bench/sweep-worker.ts'],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      logLevel: 'warning',
      // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      external: ['pg-native', '@electric-sql/pglite', 'proxy-agent', '@alicloud/fc2'],
      plugins: [inlineMigrations],
    });
    return outfile;
  })();
  return workerFile;
}

async function runChild(env: Record<string, string>): Promise<Child> {
  const file = await workerBundle();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, LOG_LEVEL: 'error', SECRET_KEY: Buffer.alloc(32, 9).toString('base64'), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('exit', (code) => {
      const line = text
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop();
      if (code === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`the sweep worker failed (${code}): ${text}`));
    });
  });
}

/** A PGlite data directory (DATA_DIR) whose database a first child initialised and migrated. */
async function pgliteTemplate(): Promise<{ dir: string; firstInit: { rssMB: number; ms: number } }> {
  const dir = mkdtempSync(join(tmpdir(), 'npp-b2-'));
  const init = await runChild({ BENCH_MODE: 'open', DATABASE_URL: '', DATA_DIR: dir });
  progress(`B2: a first-time PGlite initialisation took ${init.openMs} ms, peak RSS ${init.maxRssMB.toFixed(0)} MB`);
  return { dir, firstInit: { rssMB: Math.round(init.maxRssMB), ms: init.openMs } };
}

/** One sweep over C clusters on a freshly seeded store; on PGlite also the floor, when asked. */
async function measure(plan: B2Plan, store: Store, template: string | undefined, options: { floor: boolean }) {
  const { clusters: C, pools: P, describeRate: L } = plan;
  const emulator = new CloudEmulator({ rateLimits: { DescribeClusterNodePools: L, CreateClusterNodePool: 10 }, seedData: false });
  const seedClusters: SeedCluster[] = [];
  for (let i = 0; i < C; i++) {
    const id = `eck-b2${String(i).padStart(6, '0')}`;
    emulator.addCluster({ id, provider: 'ens', pools: Array.from({ length: P }, (_, j) => ({ name: `p${j}`, desired: 2 })) });
    seedClusters.push({ id, pools: emulator.world.listedPools(id).map((p) => ({ id: p.id, name: p.name })) });
  }
  const cloudUrl = await emulator.start(0);
  // The store: a fresh schema of DATABASE_URL, or a copy of the initialised PGlite directory.
  let url = '';
  let dataDir = '';
  let db: Db;
  if (store === 'postgres') {
    const opened = await openDb();
    db = opened.db;
    url = opened.url!;
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'npp-b2-'));
    cpSync(template!, dataDir, { recursive: true });
    db = await openPglite(join(dataDir, 'pglite'));
    await migrate(db);
  }
  try {
    const seeded = await seedStore(db, seedClusters, Date.now());
    await db.close();
    progress(`B2 (${store}): seeded ${seeded.requests} requests, ${seeded.history} history rows, ${seeded.firingAlerts} firing alerts in ${seeded.seedMs} ms`);
    const env = {
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      ENS_ENDPOINT: cloudUrl,
      ACK_ENDPOINT: cloudUrl,
      FC_ENDPOINT: cloudUrl,
      DESCRIBE_RATE_LIMIT: String(L),
      SWEEP_CONCURRENCY: '32',
      WATCH_CLUSTERS: seedClusters.map((c) => `ens/${c.id}`).join(','),
      BENCH_CREDENTIALS: JSON.stringify(emulator.issueSts('bench')),
    };
    const idle = options.floor ? await runChild({ ...env, BENCH_MODE: 'open' }) : undefined;
    emulator.handling.clear();
    progress(`B2 (${store}): a warm instance's sweep over ${C} clusters x ${P} pools at ${L} listings/s`);
    const { summary, maxRssMB, heapUsedMB, externalMB, firstSweepMs, peaks } = await runChild(env);
    // The timed sweep's own calls (the first sweep made as many).
    const calls = summary!.apiCalls;
    const handled = emulator.handling.get('DescribeClusterNodePools');
    const floor = sweepFloor(C, L, handled ? handled.totalMs / handled.calls : 0);
    const out = {
      store,
      clusters: C,
      callsPerCluster: round(calls / C),
      // With C ≤ L every listing fits in the first burst: no limiter floor to speak of.
      ratio: C > L ? round(summary!.durationMs / floor.ms) : null,
      peakRssMB: Math.round(maxRssMB),
      atEnd: { heapUsedMB, externalMB },
      // The largest of each part of memory in each phase (the instance opened, its first sweep, the
      // sweep timed), and the parts of an idle instance.
      peaks,
      ...(idle
        ? {
            idleRssMB: Math.round(idle.maxRssMB),
            idleParts: { heapUsedMB: idle.heapUsedMB, externalMB: idle.externalMB },
            sweepOverIdleMB: Math.round(maxRssMB - idle.maxRssMB),
            reopenMs: idle.openMs,
          }
        : {}),
      sweepMs: summary!.durationMs,
      firstSweepMs,
      floorMs: round(floor.ms),
      floorFormula: floor.formula,
      // The client spends only its share of the bucket at once (RATE_LIMIT_BURST), by design: its own best.
      clientBurstShare: floor.share,
      clientFloorMs: round(floor.clientMs),
      ratioToClientFloor: C > L ? round(summary!.durationMs / floor.clientMs) : null,
      pools: summary!.pools,
      emulatorMsPerDescribe: handled ? round(handled.totalMs / handled.calls) : null,
      emulatorMaxMsPerDescribe: handled ? round(handled.maxMs) : null,
      seeded,
      sweep: { alertsFired: summary!.alertsFired, alertsResolved: summary!.alertsResolved, transitions: summary!.transitions },
    };
    progress(
      `B2 (${store}): ${calls} calls for ${C} clusters, ${out.sweepMs} ms (ratio ${out.ratio}; the first sweep ${firstSweepMs} ms), peak RSS ${out.peakRssMB} MB` +
        `${idle ? ` (idle ${out.idleRssMB} MB)` : ''}; the emulator ${out.emulatorMsPerDescribe} ms per describe`,
    );
    return out;
  } finally {
    await emulator.stop();
    if (store === 'postgres') {
      const admin = await openPostgres(url, 1);
      const schema = (await admin.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
      if (schema.startsWith('bench_')) await admin.exec(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.close();
    } else rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The best any client could do: the emulator's bucket holds L listings and starts full, so L go
 * at once and the other C − L at L a second; the last answer then takes the emulator's own
 * time for one listing. The client's own best spends only its burst share of the bucket.
 */
function sweepFloor(C: number, L: number, describeMs: number) {
  const share = DEFAULT_BURST_SHARE;
  const ms = (Math.max(0, C - L) / L) * 1000 + describeMs;
  const clientMs = (Math.max(0, C - burstCalls(L, share)) / L) * 1000 + describeMs;
  return {
    ms,
    clientMs,
    share,
    formula: `(C − L)/L + one listing = (${C} − ${L})/${L} s + ${round(describeMs)} ms`,
  };
}

/** Sizes of the growth rows: a tenth, three tenths and all of C. */
const growthSizes = (C: number) => [Math.max(1, Math.round(C / 10)), Math.max(1, Math.round((3 * C) / 10)), C];

export async function sweepScale(plan: B2Plan): Promise<Record<string, unknown>> {
  const main: Store = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  const { dir, firstInit } = await pgliteTemplate();
  try {
    const out: Record<string, unknown> = {};
    const primary = await measure(plan, main, dir, { floor: true });
    out.B2 = main === 'pglite' ? { ...primary, firstInit } : primary;
    if (main === 'postgres') out['B2.pglite'] = { ...(await measure(plan, 'pglite', dir, { floor: true })), firstInit };
    const growth = [];
    for (const c of growthSizes(plan.clusters)) {
      const row = c === plan.clusters ? primary : await measure({ ...plan, clusters: c }, main, dir, { floor: false });
      growth.push({
        clusters: c,
        store: main,
        sweepMs: row.sweepMs,
        msPerCluster: round(row.sweepMs / c),
        ratio: row.ratio,
        floorMs: row.floorMs,
        peakRssMB: row.peakRssMB,
        callsPerCluster: row.callsPerCluster,
      });
    }
    out['B2.growth'] = growth;
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
