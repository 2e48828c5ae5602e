/**
 * What a cold start loads (scripts/lazy-modules.ts, scripts/fc-loader.cjs): the SDK files
 * rewritten to load their parts on first use keep their exports and behaviour; what no path
 * needs stays out of the bundle until reached; the loader uses the code cache when V8 takes it
 * and works without it; stack traces point at the sources without --enable-source-maps.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAll } from '../../scripts/build.js';
import { EXTRAS_FILE, extrasEntry, lazyDefaults, lazyModules } from '../../scripts/lazy-modules.js';

const requireHere = createRequire(import.meta.url);

/** Bundles `source` with the lazy-modules plugin (and sdk-extras.js beside it) into a fresh folder. */
async function bundle(source: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'npp-lazy-'));
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error' } as const;
  await build({ ...common, stdin: { contents: source, resolveDir: '.', loader: 'js' }, outfile: join(dir, 'index.js'), plugins: [lazyModules] });
  await build({ ...common, stdin: { contents: extrasEntry(), resolveDir: '.', loader: 'js' }, outfile: join(dir, EXTRAS_FILE) });
  return dir;
}

/** Runs `script` in a fresh Node in `dir`, with no NODE_OPTIONS and no node_modules near; returns its stdout. */
function run(dir: string, script: string): string {
  const out = spawnSync(process.execPath, ['-e', script], { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(out.stderr);
  return out.stdout.trim();
}

describe('SDK files rewritten to load on first use', () => {
  it('@darabonba/typescript keeps every export, and loads its extras only when one of them is read', async () => {
    const dir = await bundle("module.exports = require('@darabonba/typescript');");
    const expected = Object.keys(requireHere('@darabonba/typescript')).sort();
    const out = run(
      dir,
      `const m = require('./index.js');
       const loaded = () => Object.keys(require.cache).some((f) => f.endsWith('${EXTRAS_FILE}'));
       const keys = Object.keys(m).sort();
       const options = new m.RuntimeOptions({ readTimeout: 7 });
       const before = loaded();
       const client = typeof m.DefaultWebSocketClient;
       console.log(JSON.stringify({ keys, readTimeout: options.readTimeout, map: m.toMap({ a: 1 }), before, client, after: loaded() }));`,
    );
    expect(JSON.parse(out)).toEqual({ keys: expected, readTimeout: 7, map: { a: 1 }, before: false, client: 'function', after: true });
  });

  it('@alicloud/credentials keeps its exports and signs with static and STS keys', async () => {
    const dir = await bundle("module.exports = require('@alicloud/credentials');");
    const expected = Object.keys(requireHere('@alicloud/credentials')).sort();
    const out = run(
      dir,
      `const m = require('./index.js');
       const C = m.default;
       const sts = new C(new m.Config({ type: 'sts', accessKeyId: 'STS.a', accessKeySecret: 's', securityToken: 't' }));
       sts.getCredential().then((c) => console.log(JSON.stringify({ keys: Object.keys(m).sort(), id: c.accessKeyId, token: c.securityToken, provider: typeof m.ECSRAMRoleCredentialsProvider.builder })));`,
    );
    expect(JSON.parse(out)).toEqual({ keys: expected, id: 'STS.a', token: 't', provider: 'function' });
  });

  it('fails the build when a file no longer has the shape the rewrite expects', () => {
    const source = 'const a_1 = __importDefault(require("./a"));\nexports.A = a_1.default;\nconsole.log(a_1);\n';
    expect(() => lazyDefaults('x.js', source)).toThrow(/a_1 used other than as a_1.default/);
    expect(() => lazyDefaults('x.js', 'const b = 1;\n', ['@alicloud/tea-xml'])).toThrow(/no longer has the expected shape/);
    // the shape it knows: the require becomes a holder, the re-export a getter
    const rewritten = lazyDefaults('x.js', 'const a_1 = __importDefault(require("./a"));\nexports.A = a_1.default;\n');
    expect(rewritten).toContain('const a_1 = __lazyDefault(() => require("./a"));');
    expect(rewritten).toContain('Object.defineProperty(exports, "A", { enumerable: true, configurable: true, get: () => a_1.default });');
  });
});

describe('the code package loader', () => {
  let pkg = '';
  const buildLog: string[] = [];
  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'npp-cold-'));
    await buildAll(out, (line) => buildLog.push(line));
    pkg = join(out, 'provision');
  }, 120_000);

  it('makes each code cache after a first invocation in the sandbox, not after the load alone', () => {
    // scripts/warm-cache.ts logs each bundle whose warm-up could not run (its cache then covers the load only)
    expect(buildLog.filter((l) => l.startsWith('code cache:'))).toEqual([]);
  });

  /** The provision package alone in an empty folder, less the files named. */
  function isolated(without: string[] = []): string {
    const dir = mkdtempSync(join(tmpdir(), 'npp-cold-pkg-'));
    for (const f of readdirSync(pkg)) if (!without.includes(f)) copyFileSync(join(pkg, f), join(dir, f));
    return dir;
  }

  const probe = `const m = require('./index.js');
    console.log(JSON.stringify({ handler: typeof m.handler, initialize: typeof m.initialize, cache: globalThis[Symbol.for('nodepool-pilot.codeCache')],
      extras: Object.keys(require.cache).some((f) => f.endsWith('${EXTRAS_FILE}')) }));`;

  it('keeps out of the bundle what no path needs, beside it in sdk-extras.js', () => {
    expect(readdirSync(pkg).sort()).toEqual(['bundle.js', 'bundle.js.cache', 'bundle.js.map', 'index.js', EXTRAS_FILE]);
    const code = readFileSync(join(pkg, 'bundle.js'), 'utf8');
    // the WebSocket client, moment and lodash are in sdk-extras.js only
    expect(code).not.toContain('Sec-WebSocket-Key');
    // a vm.Script has no ESM loader: the lazy files are reached with require()
    expect(code).not.toMatch(/[^.\w$]import\(/);
    expect(readFileSync(join(pkg, EXTRAS_FILE), 'utf8')).toContain('Sec-WebSocket-Key');
    expect(JSON.parse(run(isolated(), probe)).extras).toBe(false);
  });

  it('uses the code cache the building Node made, and loads the same without it or with a refused one', () => {
    expect(JSON.parse(run(isolated(), probe))).toEqual({ handler: 'function', initialize: 'function', cache: 'accepted', extras: false });
    expect(JSON.parse(run(isolated(['bundle.js.cache']), probe))).toMatchObject({ handler: 'function', cache: 'absent' });
    const refused = isolated();
    writeFileSync(join(refused, 'bundle.js.cache'), Buffer.alloc(4096, 1));
    expect(JSON.parse(run(refused, probe))).toMatchObject({ handler: 'function', cache: 'rejected' });
  });

  it('maps a stack trace to the sources, reading the map only then', () => {
    const runtime = readFileSync('src/fc/runtime.ts', 'utf8').split('\n');
    const line = runtime.findIndex((l) => l.includes('throw new ConfigError(problems)')) + 1;
    const dir = isolated();
    const script = `const m = require('./index.js');
      const fs = require('fs'); const read = fs.readFileSync; let mapRead = false;
      fs.readFileSync = (f, ...a) => { if (String(f).endsWith('.map')) mapRead = true; return read(f, ...a); };
      const before = mapRead;
      m.handler(Buffer.from('{}'), { requestId: 'r' }).catch((e) => console.log(JSON.stringify({ before, stack: e.stack, after: mapRead })));`;
    const { before, stack, after } = JSON.parse(run(dir, script));
    expect(before).toBe(false);
    expect(after).toBe(true);
    expect(stack).toMatch(/^ConfigError: invalid configuration:/);
    expect(stack).toContain(`at createInstance (src/fc/runtime.ts:${line}:`);
    expect(stack).toMatch(/at .*\(functions\/provision\.ts:\d+:\d+\)/);
    // without a map, the frames are the bundle's, as V8 writes them
    rmSync(join(dir, 'bundle.js.map'));
    expect(JSON.parse(run(dir, script)).stack).toMatch(/at \S+ \(.*bundle\.js:\d+:\d+\)/);
  });
});
