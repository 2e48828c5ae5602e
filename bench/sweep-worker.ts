/**
 * B2's sweep, in a process of its own so that its peak RSS is the sweep's: a watch instance's
 * work (open the store, list every cluster, run the rules; twice, the second timed) against
 * the emulator the parent runs. Prints one JSON line.
 *
 * With BENCH_MODE=open it only builds the instance (which opens the store: a first-time
 * initialisation on an empty PGlite directory, a reopening otherwise) and closes it again:
 * the floor the sweep's own memory is measured from.
 */

import { createInstance, servicesFor } from '../src/fc/runtime.js';
import { sweep } from '../src/watch/sweep.js';

const started = Date.now();
const mb = (bytes: number) => Math.round(bytes / 1048576);
const credentials = JSON.parse(process.env.BENCH_CREDENTIALS ?? '{}');
const instance = await createInstance(process.env);
const openMs = Date.now() - started;
const context = { requestId: 'bench-sweep', credentials, function: { name: 'nodepool-pilot-watch', timeout: 300 }, region: 'cn-hangzhou', accountId: '1' };
const sweepOnce = () => sweep(servicesFor(instance, context), [], { owner: 'bench-sweep', deadline: Date.now() + 240_000 });
// FC keeps the watch instance warm from one minute to the next: the sweep timed is a warm
// instance's, after a first one (reported apart) that pays for loading code and connections. The
// cloud's listing bucket is full again a second after the first ends.
// The largest of each part of memory (sampled; the event loop may be busy past a sample) in
// each phase: which phase, and which part, makes the peak RSS.
type Peak = { rssMB: number; heapTotalMB: number; heapUsedMB: number; externalMB: number };
const phase = (): Peak => ({ rssMB: 0, heapTotalMB: 0, heapUsedMB: 0, externalMB: 0 });
const peaks = { open: { ...phase(), rssMB: mb(process.resourceUsage().maxRSS * 1024) }, firstSweep: phase(), sweep: phase() };
let current = peaks.firstSweep;
const sample = () => {
  const m = process.memoryUsage();
  current.rssMB = Math.max(current.rssMB, mb(m.rss));
  current.heapTotalMB = Math.max(current.heapTotalMB, mb(m.heapTotal));
  current.heapUsedMB = Math.max(current.heapUsedMB, mb(m.heapUsed));
  current.externalMB = Math.max(current.externalMB, mb(m.external));
};
const sampler = process.env.BENCH_MODE === 'open' ? undefined : setInterval(sample, 20);
const first = sampler ? await sweepOnce() : undefined;
sample();
if (first) await new Promise((r) => setTimeout(r, 1_100));
current = peaks.sweep;
const summary = first ? await sweepOnce() : undefined;
clearInterval(sampler);
sample();
// BENCH_HEAP_SNAPSHOT=file: what the heap holds once the sweep is done (after a full collection).
if (process.env.BENCH_HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT);
const memory = process.memoryUsage();
await instance.store.db.close();
console.log(
  JSON.stringify({
    summary,
    firstSweepMs: first?.durationMs,
    openMs,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    // Where memory sits at the end: the JavaScript heap in use (collected or not), and memory outside it (PGlite's WebAssembly memory).
    heapUsedMB: mb(memory.heapUsed),
    externalMB: mb(memory.external),
    peaks: first ? peaks : undefined,
  }),
);
