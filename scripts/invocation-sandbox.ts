/**
 * What a bundle's first invocation runs against, here: for the build's code cache
 * (scripts/warm-cache.ts) and for B3 (bench/b3.ts). The cloud emulator with one ENS cluster
 * (provision's async invocations are caught, not run: provision is fed them one by one), a
 * store (a PostgreSQL URL given, or the embedded PGlite reached over the wire, since the
 * bundles carry pg only), and for each function its environment, FC context and first event.
 */

import { startPgliteWire } from '../bench/pglite-wire.js';
import { CloudEmulator } from '../sandbox/cloud-emulator.js';
import { ensReferenceRequest } from '../sandbox/examples.js';
import { migrate, openPostgres } from '../src/store/index.js';

export interface InvocationSandbox {
  /** pglite (over the wire) or postgres */
  store: 'pglite' | 'postgres';
  env(fn: string): Record<string, string>;
  context(fn: string, requestId: string): Record<string, unknown>;
  /** watch's first event */
  timer(): unknown;
  /** api's first event: POST /v1/nodepool-requests for a pool of this name */
  post(name: string): unknown;
  /** provision's next event: the request the api dispatched, if any is waiting */
  dispatched(): { requestId: string } | undefined;
  close(): Promise<void>;
}

const ACCOUNT = '1234567890123456';

export async function startInvocationSandbox(options: {
  cluster: string;
  token: string;
  logLevel: string;
  /** a migrated PostgreSQL database; without it, the embedded PGlite over the wire */
  databaseUrl?: string;
  rateLimits?: Record<string, number>;
}): Promise<InvocationSandbox> {
  const dispatched: string[] = [];
  const emulator = new CloudEmulator({
    seedData: false,
    rateLimits: options.rateLimits,
    fcInvoker: async (i) => {
      dispatched.push(JSON.parse(i.body.toString()).requestId);
      return { status: 202, body: '' };
    },
  });
  emulator.addCluster({ id: options.cluster, provider: 'ens', pools: [{ name: 'first-pool', desired: 2 }] });
  const cloudUrl = await emulator.start(0);
  let wire: Awaited<ReturnType<typeof startPgliteWire>> | undefined;
  try {
    if (!options.databaseUrl) {
      wire = await startPgliteWire();
      const db = await openPostgres(wire.url, 1);
      await migrate(db);
      await db.close();
    }
  } catch (err) {
    await emulator.stop();
    await wire?.close();
    throw err;
  }
  const databaseUrl = options.databaseUrl ?? wire!.url;
  return {
    store: wire ? 'pglite' : 'postgres',
    env: (fn) => ({
      FC_FUNCTION_NAME: `nodepool-pilot-${fn}`,
      DATABASE_URL: databaseUrl,
      // PGlite has one session: the bundle takes one connection.
      DATABASE_POOL_SIZE: wire ? '1' : '2',
      SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      API_TOKENS: options.token,
      ENS_ENDPOINT: cloudUrl,
      ACK_ENDPOINT: cloudUrl,
      VPC_ENDPOINT: cloudUrl,
      ECS_ENDPOINT: cloudUrl,
      FC_ENDPOINT: cloudUrl,
      WATCH_CLUSTERS: `ens/${options.cluster}`,
      PROVISION_FUNCTION: 'nodepool-pilot-provision',
      PROVISION_MAX_INSTANCES: '4',
      LOG_LEVEL: options.logLevel,
    }),
    context: (fn, requestId) => ({
      requestId,
      credentials: emulator.issueSts('nodepool-pilot-fc'),
      function: { name: `nodepool-pilot-${fn}`, handler: 'index.handler', memory: 512, timeout: 60 },
      region: 'cn-hangzhou',
      accountId: ACCOUNT,
    }),
    timer: () => ({ triggerTime: new Date().toISOString(), triggerName: 'watch-timer', payload: '' }),
    post: (name) => {
      const body = JSON.stringify({ provider: 'ens', request: ensReferenceRequest(options.cluster, name) });
      return {
        version: 'v1',
        rawPath: '/v1/nodepool-requests',
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
        headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': 'application/json', 'Idempotency-Key': name },
        queryParameters: {},
        requestContext: {
          accountId: ACCOUNT,
          domainName: 'npp-api.cn-hangzhou.fcapp.run',
          http: { method: 'POST', path: '/v1/nodepool-requests', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'first-invocation' },
          requestId: `1-first-${name}`,
          time: new Date().toISOString(),
          timeEpoch: String(Date.now()),
        },
      };
    },
    dispatched: () => {
      const requestId = dispatched.shift();
      return requestId ? { requestId } : undefined;
    },
    async close() {
      await emulator.stop();
      await wire?.close();
    },
  };
}
