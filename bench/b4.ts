/**
 * B4: POST latency through the local FC host, against a no-op handler behind the same host, and
 * against a handler that only does what a POST cannot do without (one commit, one invocation).
 */
import { ensReferenceRequest } from '../sandbox/examples.js';
import { LocalFcHost } from '../sandbox/fc-host.js';
import { startSystem } from '../sandbox/start.js';
import { servicesFor } from '../src/fc/runtime.js';
import type { FcContext } from '../src/fc/types.js';
import { newRequestId } from '../src/requests/ids.js';
import { RequestStore } from '../src/store/index.js';
import { countingDb } from '../test/helpers/counting.js';
import { median, meter, openDb, quantile, round, TOKEN } from './common.js';

export async function apiLatency(REQUESTS: number) {
  const opened = await openDb();
  const { db, roundTrips } = countingDb(opened.db);
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
  // What a POST cannot do without: one commit of a request row and one async invocation of
  // provision, with the same store, the same dispatcher and the same host; nothing else of ours.
  const ioOnly = async (_event: Buffer, context: FcContext) => {
    const services = servicesFor(sys.instance, context);
    const now = services.clock.now();
    const id = newRequestId(now);
    const out = await services.store.insert({
      id,
      provider: 'ens',
      clusterId: 'eck-d2666c5f',
      nodepoolName: `b4-io-${id}`,
      state: 'accepted',
      createParams: {},
      bodyHash: id,
      source: 'http',
      deadlineAt: new Date(now + 3_600_000),
      createdAt: new Date(now),
      note: 'accepted',
    });
    await services.dispatcher.dispatch(out.request!.id, services.log);
    return { statusCode: 202, headers: { 'content-type': 'application/json' }, isBase64Encoded: false, body: '{}' };
  };
  const io = new LocalFcHost({
    emulator: sys.emulator,
    functions: {
      api: { name: 'io', handlerName: 'index.handler', timeoutSeconds: 30, memoryMB: 512, instances: [ioOnly as never] },
      provision: { name: 'p', handlerName: 'index.handler', timeoutSeconds: 30, memoryMB: 512, instances: [async () => ({})] },
      watch: { name: 'w', handlerName: 'index.handler', timeoutSeconds: 30, memoryMB: 512, instances: [async () => ({})] },
    },
  });
  const ioUrl = await io.listen(0);
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
    await measure(ioUrl, 'warm-up-io');
    const base = await measure(noopUrl, 'noop');
    const before = roundTrips();
    const real = await measure(sys.apiUrl, 'api');
    const perPost = (roundTrips() - before) / REQUESTS;
    const needed = await measure(ioUrl, 'io');
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
      // The commit and the invocation alone, and how much of a POST's time is ours beyond them.
      ioOnlyP50Ms: round(median(needed.times), 2),
      ioOnlyP50Ratio: round(median(needed.times) / median(base.times)),
      p50RatioToIoOnly: round(p50 / median(needed.times)),
    };
  } finally {
    await io.stop();
    await noop.stop();
    await sys.stop();
  }
}
