/**
 * `npm run bench`: four benchmarks against the sandbox, reported as ratios measured in one
 * run (these machines are shared and noisy). Writes bench/results.md and bench/results.json.
 *
 *   B1   provisioning throughput: N ENS requests through the queue, emulator create limit R/s, to the last pool active, beside a Terraform-style loop
 *   B1ack ACK requests over clusters that take one operation at a time, to the last pool active, beside a Terraform-style loop
 *   B1b  B1 with 20% transient faults (5xx, throttling, timeouts; half the timeouts after the create ran)
 *   B1m  B1 with 4 provision instances: the shared rate limit, and (for comparison) one limiter per instance
 *   B2   one sweep over C clusters x P pools, emulator describe limit L/s
 *   B3   cold start: each bundle's size and import time, against a bare `node -e ''`
 *   B4   API latency: POST /v1/nodepool-requests through the local FC host, against a no-op handler and one that only commits and invokes
 *
 * Flags: --n 500 --rate 50 --speed 60 --clusters 1000 --pools 20 --describe-rate 200 --requests 1000
 *        --ack-requests 50 --ack-clusters 10 --ack-speed 60 --only B1,B1ack,B1m,B2
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ackBenchmark } from './ack.js';
import { ensLoop, provisioning } from './b1.js';
import { sweepScale } from './b2.js';
import { coldStart } from './b3.js';
import { apiLatency } from './b4.js';
import { progress } from './common.js';

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
const SPEED = num('speed', 60);
const ACK_N = num('ack-requests', 50);
const ACK_C = num('ack-clusters', 10);
const ACK_SPEED = num('ack-speed', 60);
const only = args.get('only')?.split(',');
const OUT = args.get('out') ?? 'bench';
const run = (b: string) => !only || only.includes(b);

// ------------------------------------------------------------------ report

function table(results: Record<string, any>): string {
  const rows: string[][] = [];
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  if (results.B1) {
    const b = results.B1;
    rows.push([
      'B1',
      `provisioning, ${N} ENS requests waiting in the queue over ${Math.ceil(N / 10)} clusters, create limit ${R}/s, first request to last pool active`,
      `makespan ${b.makespanSeconds} s ÷ floor ${b.floorSeconds} s (${b.floorFormula}) = ${b.ratio}; ${b.duplicates} duplicates; ${b.lost} lost; ${b.calls} calls, ${b.throttled} throttled. Terraform-style loop: ${b.baselineSeconds} s, ${b.baseline.calls} calls, ${b.baseline.throttled} throttled`,
      '≤ 1.10, < loop, 0, 0',
      mark(b.ratio <= 1.1 && b.makespanSeconds < b.baselineSeconds && b.duplicates === 0 && b.lost === 0),
    ]);
  }
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
      `makespan ÷ floor = ${results.B1m.ratio}; ${results.B1m.throttled} throttled; ${results.B1m.duplicates} duplicates; ${results.B1m.lost} lost. One limiter per instance instead: ${results.B1m.throttledWithoutSharedLimiter} throttled, ratio ${results.B1m.ratioWithoutSharedLimiter}`,
      '≤ 1.10, 0, 0, 0',
      mark(results.B1m.ratio <= 1.1 && results.B1m.throttled === 0 && results.B1m.duplicates === 0 && results.B1m.lost === 0),
    ]);
  if (results.B1b)
    rows.push([
      'B1b',
      `B1 with 20% transient faults`,
      `makespan ${results.B1b.makespanSeconds} s ÷ floor ${results.B1b.floorSeconds} s = ${results.B1b.ratio}; ${results.B1b.duplicates} duplicates; ${results.B1b.lost} lost; ${results.B1b.throttled} throttled`,
      '≤ 1.5, 0, 0',
      mark(results.B1b.ratio <= 1.5 && results.B1b.duplicates === 0 && results.B1b.lost === 0),
    ]);
  for (const key of ['B2', 'B2.pglite']) {
    const b = results[key];
    if (!b) continue;
    // PGlite's own floor (an idle, reopened database) above 256 MB: the sweep may add 64 MB to it.
    const floorRule = b.store === 'pglite' && b.idleRssMB > 256;
    const s = b.seeded;
    rows.push([
      key,
      `a warm instance's sweep, ${C} clusters × ${P} pools, describe limit ${L}/s, on ${b.store} seeded with ${s.requests} finished requests (${s.history} history rows), ${s.firingAlerts} firing alerts, ${s.silences} silences`,
      `${b.callsPerCluster} calls per cluster; ${(b.sweepMs / 1000).toFixed(2)} s ÷ floor ${(b.floorMs / 1000).toFixed(2)} s (${b.floorFormula}) = ${b.ratio} (÷ the client's own floor, spending ${b.clientBurstShare} of the bucket at once, ${b.ratioToClientFloor}); peak RSS ${b.peakRssMB} MB` +
        (b.store === 'pglite'
          ? `; idle reopened database ${b.idleRssMB} MB (the sweep adds ${b.sweepOverIdleMB} MB); first-time initialisation ${b.firstInit.rssMB} MB in ${b.firstInit.ms} ms`
          : `; idle instance ${b.idleRssMB} MB`) +
        `; the instance's first sweep ${(b.firstSweepMs / 1000).toFixed(2)} s; the emulator's own time ${b.emulatorMsPerDescribe} ms per describe`,
      floorRule ? '1; ≤ 1.10; ≤ 64 MB over the idle floor (above 256 MB)' : '1; ≤ 1.10; ≤ 256 MB',
      mark(b.callsPerCluster === 1 && b.ratio !== null && b.ratio <= 1.1 && (floorRule ? b.sweepOverIdleMB <= 64 : b.peakRssMB <= 256)),
    ]);
  }
  if (results['B2.growth']) {
    const g = results['B2.growth'] as Array<{
      clusters: number;
      store: string;
      sweepMs: number;
      msPerCluster: number;
      ratio: number | null;
      peakRssMB: number;
    }>;
    rows.push([
      'B2.growth',
      `B2 on ${g[0]?.store} for ${g.map((r) => r.clusters).join(', ')} clusters (the store seeded at the same density)`,
      g
        .map(
          (r) =>
            `${r.clusters} clusters: ${(r.sweepMs / 1000).toFixed(2)} s (${r.msPerCluster} ms a cluster), ${r.ratio === null ? 'within the first burst' : `ratio ${r.ratio}`}, peak RSS ${r.peakRssMB} MB`,
        )
        .join('; '),
      'three rows, reported',
      mark(g.length === 3),
    ]);
  }
  if (results.B3) {
    for (const [fn, b] of Object.entries(results.B3.bundles) as Array<[string, any]>) {
      rows.push([
        'B3',
        `cold start to the first answer, ${fn}`,
        `bundle ${(b.bytes / 1024).toFixed(0)} KiB (code package ${(b.folderBytes / 1024).toFixed(0)} KiB); first answer ÷ bare node = ${b.coldRatio} (${b.coldRatioWithoutCodeCache} without the code cache); import ÷ bare node = ${b.importRatio}`,
        '≤ 1 MB; ≤ 3.0',
        mark(b.bytes <= 1024 * 1024 && b.coldRatio <= 3.0),
      ]);
    }
  }
  if (results.B4)
    rows.push([
      'B4',
      `API latency, ${REQUESTS} POSTs through the local FC host`,
      `p50 ÷ no-op = ${results.B4.p50Ratio}; p99 ÷ no-op = ${results.B4.p99Ratio}; ${results.B4.roundTrips} store round trips per POST; ${results.B4.errors} errors. A handler doing only the commit and the async invocation: p50 ÷ no-op = ${results.B4.ioOnlyP50Ratio}; ours ÷ it = ${results.B4.p50RatioToIoOnly}`,
      'p50 ≤ 3.0; round trips reported; no errors',
      mark(results.B4.p50Ratio <= 3 && results.B4.errors === 0),
    ]);
  const notes: string[] = [];
  if (results.B2?.store === 'pglite') {
    notes.push(
      '',
      'B2 ran without DATABASE_URL, on the embedded PGlite only. On Function Compute the store is PostgreSQL; run with DATABASE_URL set to measure both.',
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
  if (run('B1')) {
    const ours = await provisioning({ n: N, rate: R, speed: SPEED }, 'B1', false);
    const loop = await ensLoop({ n: N, rate: R, speed: SPEED });
    progress(`B1: ours ${ours.makespanSeconds} s, loop ${loop.makespanSeconds} s`);
    results.B1 = { ...ours, baselineSeconds: loop.makespanSeconds, baseline: loop };
  }
  if (run('B1ack')) results.B1ack = await ackBenchmark({ requests: ACK_N, clusters: ACK_C, speed: ACK_SPEED });
  if (run('B1b')) results.B1b = await provisioning({ n: N, rate: R, speed: SPEED }, 'B1b', true);
  if (run('B1m')) {
    // B1 with 4 provision instances, the emulator's create limit at the client's: with the shared
    // limiter they keep the account under it together; each on its own limiter, they do not.
    const shared = await provisioning({ n: N, rate: R, speed: SPEED }, 'B1m', false, { instances: 4, sharedLimiter: true });
    const apart = await provisioning({ n: N, rate: R, speed: SPEED }, 'B1m-apart', false, { instances: 4, sharedLimiter: false });
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
  // B2 (and with DATABASE_URL B2.pglite), and B2.growth.
  if (run('B2')) Object.assign(results, await sweepScale({ clusters: C, pools: P, describeRate: L }));
  if (run('B3')) results.B3 = await coldStart();
  if (run('B4')) results.B4 = await apiLatency(REQUESTS);
  const md = table(results);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(OUT, 'results.md'), md);
  process.stdout.write(`\n${md}`);
  progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${OUT}/results.md and ${OUT}/results.json`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
