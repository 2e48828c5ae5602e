/**
 * `npm run build`: one code package per function under dist/<function>/: the bundle (bundle.js,
 * CommonJS, minified, for Node 20) with its source map and V8 code cache (made after a first
 * invocation in the sandbox: scripts/warm-cache.ts), and index.js, the
 * loader FC's nodejs20 runtime loads `index.handler` from (scripts/fc-loader.cjs). Code that no
 * path needs at start sits beside it in files loaded on first use (sdk-extras.js, fc2.js).
 * PGlite stays out (FC uses PostgreSQL); the SQL migrations are inlined.
 */
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin, transform } from 'esbuild';
import { EXTRAS_FILE, extrasEntry, lazyModules } from './lazy-modules.js';
import { writeWarmCodeCaches } from './warm-cache.js';

export const FUNCTIONS = ['api', 'provision', 'watch'] as const;

export const inlineMigrations: Plugin = {
  name: 'inline-migrations',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]store[\\/]migrations\.ts$/ }, () => {
      const dir = join('src', 'store', 'migrations');
      const list = readdirSync(dir)
        .filter((f) => f.endsWith('.sql'))
        .sort()
        .map((f) => ({ version: f.replace(/\.sql$/, ''), sql: readFileSync(join(dir, f), 'utf8') }));
      return { contents: `export function loadMigrations() { return ${JSON.stringify(list)}; }`, loader: 'js' };
    });
  },
};

/** The console's script, compiled from web/console.ts into the bundle: the code package reads no file for it. */
const inlineConsoleScript: Plugin = {
  name: 'inline-console-script',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]http[\\/]console-script\.ts$/ }, async () => {
      const js = (await transform(readFileSync(join('web', 'console.ts'), 'utf8'), { loader: 'ts', format: 'iife', target: 'es2022', minify: true })).code;
      return { contents: `export function consoleScript() { return Promise.resolve(${JSON.stringify(js)}); }`, loader: 'js' };
    });
  },
};

/**
 * FC 2.0 dispatch (@alicloud/fc2, with ali-oss and urllib behind it) is needed only when
 * FC_SERVICE_NAME is set: it goes into fc2.js beside the bundle, loaded on first use.
 */
const lazyFc2: Plugin = {
  name: 'lazy-fc2',
  setup(b) {
    b.onResolve({ filter: /^@alicloud\/fc2$/ }, () => ({ path: './fc2.js', external: true }));
  },
};

/** What sdk-extras.js carries, and no index.js (see scripts/lazy-modules.ts). */
const EXTRAS_ONLY = /node_modules\/(lodash|moment|ws|socks|xml2js|xmlbuilder|undici)\//;

/** Modules a function must not carry (checked after the build). */
const FORBIDDEN: Record<string, RegExp[]> = {
  api: [/src\/alerts\/channels\//, /@electric-sql\/pglite/, /sandbox\//, /ali-oss/, EXTRAS_ONLY],
  provision: [/src\/http\/app\.ts/, /src\/alerts\/channels\//, /@electric-sql\/pglite/, /sandbox\//, /ali-oss/, EXTRAS_ONLY],
  watch: [/src\/http\/app\.ts/, /@electric-sql\/pglite/, /sandbox\//, /ali-oss/, EXTRAS_ONLY],
};

/** A map's sources relative to the project (`src/fc/runtime.ts`), as stack traces show them, wherever the build went. */
function projectRelativeSources(mapFile: string): void {
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[] };
  map.sources = map.sources.map((s) => relative(process.cwd(), resolve(dirname(mapFile), s)));
  writeFileSync(mapFile, JSON.stringify(map));
}

/** What every file of a code package is built as: one CommonJS file for Node 20, minified. */
const PACKAGE_FILE = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, legalComments: 'none', logLevel: 'warning' } as const;

export async function buildAll(outdir = 'dist', log: (line: string) => void = console.log): Promise<Record<string, { bytes: number; file: string }>> {
  rmSync(outdir, { recursive: true, force: true });
  const out: Record<string, { bytes: number; file: string }> = {};
  for (const fn of FUNCTIONS) {
    const file = join(outdir, fn, 'bundle.js');
    const result = await build({
      ...PACKAGE_FILE,
      entryPoints: [join('functions', `${fn}.ts`)],
      outfile: file,
      sourcemap: true,
      // Stack traces need the mappings, not a copy of every source file.
      sourcesContent: false,
      metafile: true,
      // import() of fc2.js and node builtins as require(): index.js runs the bundle as a vm.Script, which has no ESM loader.
      supported: { 'dynamic-import': false },
      // pg's optional native binding, urllib's optional proxy agent and the embedded store are not part of a function.
      external: ['pg-native', '@electric-sql/pglite', 'proxy-agent'],
      plugins: [inlineMigrations, inlineConsoleScript, lazyFc2, lazyModules],
    });
    const inputs = Object.keys((result.metafile as Metafile).inputs);
    for (const re of FORBIDDEN[fn] ?? []) {
      const hit = inputs.find((i) => re.test(i));
      if (hit) throw new Error(`the ${fn} bundle must not contain ${hit}`);
    }
    out[fn] = { bytes: statSync(file).size, file };
    projectRelativeSources(`${file}.map`);
    copyFileSync(fileURLToPath(new URL('./fc-loader.cjs', import.meta.url)), join(outdir, fn, 'index.js'));
    await build({
      ...PACKAGE_FILE,
      stdin: { contents: extrasEntry(), resolveDir: '.', loader: 'js' },
      outfile: join(outdir, fn, EXTRAS_FILE),
    });
    if (fn !== 'provision') {
      await build({
        ...PACKAGE_FILE,
        stdin: { contents: "module.exports = require('@alicloud/fc2');", resolveDir: '.', loader: 'js' },
        outfile: join(outdir, fn, 'fc2.js'),
        external: ['proxy-agent'],
      });
    }
  }
  // V8's code cache of each bundle, made after a first invocation in the sandbox (scripts/warm-cache.ts).
  await writeWarmCodeCaches(outdir, FUNCTIONS, log);
  const width = Math.max(...Object.values(out).map((o) => o.file.length));
  for (const { file, bytes } of Object.values(out)) log(`${file.padEnd(width)}  ${(bytes / 1024).toFixed(1).padStart(8)} KiB`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildAll().catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
