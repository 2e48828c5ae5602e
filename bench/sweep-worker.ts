/**
 * B2's sweep, in a process of its own so that its peak RSS is the sweep's: one watch
 * invocation's work (open the store, list every cluster, run the rules) against the
 * emulator the parent runs. Prints one JSON line.
 *
 * With BENCH_MODE=open it only builds the instance (which opens the store: a first-time
 * initialisation on an empty PGlite directory, a reopening otherwise) and closes it again:
 * the floor the sweep's own memory is measured from.
 */

import { createInstance, servicesFor } from '../src/fc/runtime.js';
import { sweep } from '../src/watch/sweep.js';

const started = Date.now();
const credentials = JSON.parse(process.env.BENCH_CREDENTIALS ?? '{}');
const instance = await createInstance(process.env);
const openMs = Date.now() - started;
const context = { requestId: 'bench-sweep', credentials, function: { name: 'nodepool-pilot-watch', timeout: 300 }, region: 'cn-hangzhou', accountId: '1' };
const summary =
  process.env.BENCH_MODE === 'open' ? undefined : await sweep(servicesFor(instance, context), [], { owner: 'bench-sweep', deadline: Date.now() + 240_000 });
// BENCH_HEAP_SNAPSHOT=file: what the heap holds once the sweep is done (after a full collection).
if (process.env.BENCH_HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT);
const memory = process.memoryUsage();
await instance.store.db.close();
const mb = (bytes: number) => Math.round(bytes / 1048576);
console.log(
  JSON.stringify({
    summary,
    openMs,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    // Where memory sits at the end: the JavaScript heap in use (collected or not), and memory outside it (PGlite's WebAssembly memory).
    heapUsedMB: mb(memory.heapUsed),
    externalMB: mb(memory.external),
  }),
);
