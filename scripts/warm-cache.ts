/**
 * The V8 code cache of each bundle, made after one first invocation of it (initializer and one
 * answered event) against the sandbox: the cloud emulator and an in-memory PGlite reached over
 * the wire, as the B3 benchmark runs it. V8 compiles a function on its first call, so a cache
 * made after the load alone leaves the compilation of everything a first invocation runs
 * (store, signing, HTTP, the handler's own path) to every cold start; this one carries it.
 * The cache holds bytecode only (no data, no credentials: the warm-up's are the sandbox's).
 * Where the warm-up cannot run, the cache made after the load is written instead.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Loads bundle.js as fc-loader.cjs compiles it, optionally answers one invocation, then writes the cache. */
const MAKE_CODE_CACHE = `const fs = require('node:fs'), vm = require('node:vm'), path = require('node:path'), { wrap } = require('node:module');
const file = path.resolve('bundle.js');
const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: 'bundle.js' });
const m = { exports: {} };
script.runInThisContext().call(m.exports, m.exports, require, m, file, path.dirname(file));
const write = (result) => { fs.writeFileSync(file + '.cache', script.createCachedData()); process.stdout.write('\\nWARM ' + JSON.stringify(result ?? null) + '\\n'); process.exit(0); };
const invocation = process.env.NPP_WARM_INVOCATION;
if (!invocation) write();
else {
  const { event, context } = JSON.parse(invocation);
  Promise.resolve(m.exports.initialize()).then(() => m.exports.handler(Buffer.from(event), context)).then(write, (err) => {
    process.stderr.write(String((err && err.stack) || err));
    process.exit(1);
  });
}`;

/** Runs MAKE_CODE_CACHE in `dir` (asynchronously: the sandbox it talks to runs in this process); resolves to what it answered. */
function makeCache(dir: string, env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', MAKE_CODE_CACHE], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('WARM '));
      if (code !== 0 || !line) reject(new Error(`cannot make the code cache in ${dir}: ${(err || out).slice(-1000)}`));
      else resolve(JSON.parse(line.slice(5)));
    });
  });
}

/** The code cache of a bundle as loaded, with nothing run. */
async function writeLoadCodeCache(dir: string): Promise<void> {
  await makeCache(dir, {});
}

const CLUSTER = 'eck-warmcache';
const TOKEN = 'warm-cache-token-0123456789abcdef';

/**
 * Writes the code cache of each `functions` bundle under `outdir` after a first invocation in
 * the sandbox: watch (one sweep), api (one POST), provision (the request that POST dispatched).
 * Returns the functions warmed; for any other one (or all, when the sandbox cannot start) the
 * cache made after the load is written, and `log` says why.
 */
export async function writeWarmCodeCaches(outdir: string, functions: readonly string[], log: (line: string) => void): Promise<string[]> {
  const warmed: string[] = [];
  let sandbox: { close(): Promise<void>; invocation(fn: string): string | undefined; env(fn: string): Record<string, string> } | undefined;
  try {
    sandbox = await startSandbox();
  } catch (err) {
    log(`code cache: the sandbox did not start (${(err as Error).message}); caching the load only`);
  }
  try {
    for (const fn of ['watch', 'api', 'provision'].filter((f) => functions.includes(f))) {
      const dir = join(outdir, fn);
      const invocation = sandbox?.invocation(fn);
      if (sandbox && invocation) {
        try {
          await makeCache(dir, { ...sandbox.env(fn), NPP_WARM_INVOCATION: invocation });
          warmed.push(fn);
          continue;
        } catch (err) {
          log(`code cache: ${fn}'s warm-up failed (${(err as Error).message.slice(0, 300)}); caching its load only`);
        }
      }
      await writeLoadCodeCache(dir);
    }
  } finally {
    await sandbox?.close();
  }
  return warmed;
}

async function startSandbox() {
  const [{ CloudEmulator }, { ensReferenceRequest }, { startPgliteWire }, { migrate, openPostgres }] = await Promise.all([
    import('../sandbox/cloud-emulator.js'),
    import('../sandbox/examples.js'),
    import('../bench/pglite-wire.js'),
    import('../src/store/index.js'),
  ]);
  const dispatched: string[] = [];
  const emulator = new CloudEmulator({
    seedData: false,
    fcInvoker: async (i) => {
      dispatched.push(JSON.parse(i.body.toString()).requestId);
      return { status: 202, body: '' };
    },
  });
  emulator.addCluster({ id: CLUSTER, provider: 'ens', pools: [{ name: 'warm-pool', desired: 2 }] });
  const cloudUrl = await emulator.start(0);
  let wire: Awaited<ReturnType<typeof startPgliteWire>> | undefined;
  try {
    wire = await startPgliteWire();
    const db = await openPostgres(wire.url, 1);
    await migrate(db);
    await db.close();
  } catch (err) {
    await emulator.stop();
    await wire?.close();
    throw err;
  }
  const context = (fn: string) => ({
    requestId: `1-warm-${fn}`,
    credentials: emulator.issueSts('nodepool-pilot-fc'),
    function: { name: `nodepool-pilot-${fn}`, handler: 'index.handler', memory: 512, timeout: 60 },
    region: 'cn-hangzhou',
    accountId: '1234567890123456',
  });
  const events: Record<string, () => unknown> = {
    watch: () => ({ triggerTime: new Date().toISOString(), triggerName: 'watch-timer', payload: '' }),
    api: () => {
      const body = JSON.stringify({ provider: 'ens', request: ensReferenceRequest(CLUSTER, 'warm-cache') });
      return {
        version: 'v1',
        rawPath: '/v1/nodepool-requests',
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'warm-cache' },
        queryParameters: {},
        requestContext: {
          accountId: '1234567890123456',
          domainName: 'npp-api.cn-hangzhou.fcapp.run',
          http: { method: 'POST', path: '/v1/nodepool-requests', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'warm-cache' },
          requestId: '1-warm-api',
          time: new Date().toISOString(),
          timeEpoch: String(Date.now()),
        },
      };
    },
    provision: () => {
      const requestId = dispatched.shift();
      return requestId ? { requestId } : undefined;
    },
  };
  return {
    invocation(fn: string): string | undefined {
      const event = events[fn]?.();
      return event === undefined ? undefined : JSON.stringify({ event: JSON.stringify(event), context: context(fn) });
    },
    env: (fn: string): Record<string, string> => ({
      FC_FUNCTION_NAME: `nodepool-pilot-${fn}`,
      DATABASE_URL: wire!.url,
      // PGlite has one session: one connection.
      DATABASE_POOL_SIZE: '1',
      SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      API_TOKENS: TOKEN,
      ENS_ENDPOINT: cloudUrl,
      ACK_ENDPOINT: cloudUrl,
      FC_ENDPOINT: cloudUrl,
      WATCH_CLUSTERS: `ens/${CLUSTER}`,
      PROVISION_FUNCTION: 'nodepool-pilot-provision',
      PROVISION_MAX_INSTANCES: '4',
      LOG_LEVEL: 'error',
    }),
    async close() {
      await emulator.stop();
      await wire!.close();
    },
  };
}
