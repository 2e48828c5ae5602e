/** B4: POST latency through the local FC host, against a no-op handler behind the same host. */
import { ensReferenceRequest } from '../sandbox/examples.js';
import { LocalFcHost } from '../sandbox/fc-host.js';
import { startSystem } from '../sandbox/start.js';
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
