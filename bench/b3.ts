/**
 * B3: cold start of each bundle, to its first answered invocation. A fresh Node process (with
 * s.yaml's NODE_OPTIONS) loads the built bundle alone, runs its initializer (configuration,
 * store) and answers one real invocation against the store and the emulator this process runs:
 *   api        one POST /v1/nodepool-requests (an FC HTTP event), dispatching provision to the emulator's FC
 *   provision  that request's async invocation, which creates the pool on the emulator
 *   watch      one timer event: a sweep over one cluster
 * The store is a fresh PostgreSQL schema (DATABASE_URL) or the embedded PGlite, which the bundle
 * (pg only, as on FC) reaches over the wire (bench/pglite-wire.ts). The packages run as built and
 * once more without their V8 code cache, as where V8 refuses it. Each run is taken in turn with a
 * bare `node -e ''` start; a ratio is a median over the median bare start.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAll, FUNCTIONS } from '../scripts/build.js';
import { startInvocationSandbox } from '../scripts/invocation-sandbox.js';
import { median, openDb, progress, round, TOKEN } from './common.js';

const RUNS = 11;
const CLUSTER = 'eck-b3cold01';

/** NODE_OPTIONS as s.yaml sets them for every function (none today). */
function fcNodeOptions(): string {
  return /^\s*NODE_OPTIONS:\s*(.+)$/m.exec(readFileSync('s.yaml', 'utf8'))?.[1]?.trim() ?? '';
}

/** What the child runs: FC's cold path (load, initializer, one invocation), reporting its own clock. */
const INVOKE = `const m = require('./index.js');
const importedMs = performance.now();
const codeCache = globalThis[Symbol.for('nodepool-pilot.codeCache')];
const { event, context } = JSON.parse(require('fs').readFileSync('./invocation.json', 'utf8'));
Promise.resolve(m.initialize()).then(() => m.handler(Buffer.from(event), context)).then((result) => {
  process.stdout.write('\\nB3 ' + JSON.stringify({ importedMs, answeredMs: performance.now(), cpu: process.cpuUsage(), codeCache, result }) + '\\n');
  process.exit(0);
}, (err) => { process.stderr.write(String((err && err.stack) || err)); process.exit(1); });`;

interface ColdResult {
  /** bundle.js (the function's code; index.js is its loader) */
  bytes: number;
  /** the whole code package: loader, bundle, source map, code cache, lazy files */
  folderBytes: number;
  bareMs: number;
  importRatio: number;
  importMs: number;
  /** process start to the first invocation answered, over a bare start */
  coldRatio: number;
  coldMs: number;
  loadedAtMs: number;
  setupAndAnswerMs: number;
  /** CPU time (user and system) the child spent up to the answer: the rest of coldMs is waiting (store, cloud, process start and exit) */
  cpuMs: number;
  /** whether V8 took the package's code cache: accepted, rejected, absent (none: no loader) */
  codeCache: string;
}

interface Run {
  wallMs: number;
  stdout: string;
}

function timed(args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
      if (code !== 0) reject(new Error(`B3: ${args.join(' ').slice(0, 60)} exited ${code}: ${stderr.slice(-2000)}${stdout.slice(-1000)}`));
      else resolve({ wallMs, stdout });
    });
  });
}

function answerOf(run: Run): { importedMs: number; answeredMs: number; cpu: { user: number; system: number }; codeCache?: string; result: any } {
  const line = run.stdout.split('\n').find((l) => l.startsWith('B3 '));
  if (!line) throw new Error(`B3: no answer in ${run.stdout.slice(-1000)}`);
  return JSON.parse(line.slice(3));
}

export async function coldStart() {
  const out = mkdtempSync(join(tmpdir(), 'npp-b3-'));
  await buildAll(out, () => {});
  // The same packages without their code cache: what a cold start costs where V8 refuses it (another V8 build or V8 flags).
  const noCache = mkdtempSync(join(tmpdir(), 'npp-b3-nocache-'));
  cpSync(out, noCache, { recursive: true, filter: (f) => !f.endsWith('.cache') });
  const { bundles, ...rest } = await measureCold({ current: out, noCache });
  const result: Record<string, ColdResult & { coldRatioWithoutCodeCache: number; importRatioWithoutCodeCache: number }> = {};
  for (const fn of FUNCTIONS) {
    const b = bundles.current![fn]!;
    const n = bundles.noCache![fn]!;
    result[fn] = { ...b, coldRatioWithoutCodeCache: n.coldRatio, importRatioWithoutCodeCache: n.importRatio };
    progress(
      `B3: ${fn} ${(b.bytes / 1024).toFixed(0)} KiB: first answer after ${b.coldMs} ms = ${b.coldRatio}× a bare node start (${b.bareMs} ms), ${n.coldRatio}× without the code cache (${b.codeCache}); import alone ${b.importRatio}×; in the child: loaded at ${b.loadedAtMs} ms, setup and answer ${b.setupAndAnswerMs} ms, ${b.cpuMs} ms CPU in all`,
    );
  }
  return { ...rest, bundles: result };
}

/**
 * Cold runs of the bundles built into each of `outdirs` (one per variant, measured in turns so
 * that they share the machine's noise), against one store and one emulator.
 */
async function measureCold(outdirs: Record<string, string>, runs = RUNS) {
  // A fresh PostgreSQL schema with DATABASE_URL; otherwise the embedded PGlite over the wire.
  let databaseUrl: string | undefined;
  if (process.env.DATABASE_URL) {
    const opened = await openDb();
    await opened.db.close();
    databaseUrl = opened.url;
  }
  const sandbox = await startInvocationSandbox({
    cluster: CLUSTER,
    token: TOKEN,
    logLevel: 'info',
    databaseUrl,
    rateLimits: { CreateClusterNodePool: 1000, DescribeClusterNodePools: 1000, DescribeClusterNodes: 1000 },
  });
  const nodeOptions = fcNodeOptions();
  const bareDir = mkdtempSync(join(tmpdir(), 'npp-b3-bare-'));
  const bareEnv = { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions };
  const bundles: Record<string, Record<string, ColdResult>> = {};
  const variants = Object.keys(outdirs);
  try {
    /** Each bundle alone in a folder of its own, as in its FC code package. */
    const dirs: Record<string, string> = {};
    for (const v of variants) {
      for (const fn of FUNCTIONS) {
        const dir = mkdtempSync(join(tmpdir(), `npp-b3-${fn}-`));
        for (const f of readdirSync(join(outdirs[v]!, fn))) copyFileSync(join(outdirs[v]!, fn, f), join(dir, f));
        dirs[`${v}/${fn}`] = dir;
      }
    }
    const envFor = (fn: string): Record<string, string> => ({ ...bareEnv, ...sandbox.env(fn) });
    const samples: Record<string, { bare: number[]; imp: number[]; cold: number[]; imported: number[]; setup: number[]; cpu: number[]; codeCache?: string }> =
      {};
    const measure = async (key: string, i: number, event: unknown, check: (result: any) => boolean) => {
      const fn = key.split('/')[1]!;
      const dir = dirs[key]!;
      samples[key] ??= { bare: [], imp: [], cold: [], imported: [], setup: [], cpu: [] };
      const s = samples[key];
      writeFileSync(join(dir, 'invocation.json'), JSON.stringify({ event: JSON.stringify(event), context: sandbox.context(fn, `1-b3-${fn}-${i}`) }));
      s.bare.push((await timed(['-e', ''], bareDir, bareEnv)).wallMs);
      s.imp.push((await timed(['-e', "require('./index.js')"], dir, bareEnv)).wallMs);
      const run = await timed(['-e', INVOKE], dir, envFor(fn));
      const a = answerOf(run);
      if (!check(a.result)) throw new Error(`B3: ${key} answered ${JSON.stringify(a.result).slice(0, 500)}; its log: ${run.stdout.slice(-1500)}`);
      s.cold.push(run.wallMs);
      s.imported.push(a.importedMs);
      s.setup.push(a.answeredMs - a.importedMs);
      s.cpu.push((a.cpu.user + a.cpu.system) / 1000);
      s.codeCache = a.codeCache ?? 'none';
    };
    // The sweep first, on an empty store: one cluster, nothing in flight.
    for (let i = 0; i < runs; i++) {
      for (const v of variants) await measure(`${v}/watch`, i, sandbox.timer(), (r) => r?.clusters === 1 && r.clusterErrors === 0);
    }
    // Then the API's POST, and provision fed the request that POST dispatched.
    for (let i = 0; i < runs; i++) {
      for (const v of variants) {
        await measure(`${v}/api`, i, sandbox.post(`b3-${Date.now().toString(36)}-${i}`), (r) => r?.statusCode === 202);
        const provisionEvent = sandbox.dispatched();
        if (!provisionEvent) throw new Error('B3: the api answered without dispatching provision');
        await measure(`${v}/provision`, i, provisionEvent, (r) => r?.outcome === 'created');
      }
    }
    // One bare start for all: every run's, taken in turns with the others.
    const bare = median(Object.values(samples).flatMap((s) => s.bare));
    for (const v of variants) {
      bundles[v] = {};
      for (const fn of FUNCTIONS) {
        const s = samples[`${v}/${fn}`]!;
        const dir = dirs[`${v}/${fn}`]!;
        // The function's code: bundle.js behind the loader, or (an older build) index.js itself.
        const code = statSync(join(dir, existsSync(join(dir, 'bundle.js')) ? 'bundle.js' : 'index.js')).size;
        const folderBytes = readdirSync(dir)
          .filter((f) => f !== 'invocation.json')
          .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
        bundles[v]![fn] = {
          bytes: code,
          folderBytes,
          bareMs: round(bare, 1),
          importRatio: round(median(s.imp) / bare),
          importMs: round(median(s.imp) - bare, 1),
          coldRatio: round(median(s.cold) / bare),
          coldMs: round(median(s.cold), 1),
          // The child's own clock: process start to the bundle loaded, then initializer and invocation to the answer.
          loadedAtMs: round(median(s.imported), 1),
          setupAndAnswerMs: round(median(s.setup), 1),
          cpuMs: round(median(s.cpu), 1),
          codeCache: s.codeCache ?? 'none',
        };
      }
    }
  } finally {
    await sandbox.close();
  }
  return { nodeOptions, store: sandbox.store, runs, bundles };
}
