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
  // Loaded only when the build warms the caches: the sandbox is no part of any bundle.
  const { startInvocationSandbox } = await import('./invocation-sandbox.js');
  const sandbox = await startInvocationSandbox({ cluster: CLUSTER, token: TOKEN, logLevel: 'error' });
  const events: Record<string, () => unknown> = { watch: sandbox.timer, api: () => sandbox.post('warm-cache'), provision: sandbox.dispatched };
  return {
    invocation(fn: string): string | undefined {
      const event = events[fn]?.();
      return event === undefined ? undefined : JSON.stringify({ event: JSON.stringify(event), context: sandbox.context(fn, `1-warm-${fn}`) });
    },
    env: sandbox.env,
    close: () => sandbox.close(),
  };
}
