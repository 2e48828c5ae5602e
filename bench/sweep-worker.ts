/**
 * B2's sweep, in a process of its own so that its peak RSS is the sweep's: one watch
 * invocation's work (open the store, list every cluster, run the rules) against the
 * emulator the parent runs. Prints one JSON line.
 */

import { createInstance, servicesFor } from '../src/fc/runtime.js';
import { sweep } from '../src/watch/sweep.js';

const credentials = JSON.parse(process.env.BENCH_CREDENTIALS ?? '{}');
const instance = await createInstance(process.env);
const context = { requestId: 'bench-sweep', credentials, function: { name: 'nodepool-pilot-watch', timeout: 300 }, region: 'cn-hangzhou', accountId: '1' };
const services = servicesFor(instance, context);
const summary = await sweep(services, [], { owner: 'bench-sweep', deadline: Date.now() + 240_000 });
await instance.store.db.close();
console.log(JSON.stringify({ summary, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
