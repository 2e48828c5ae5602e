/**
 * `npm run build`: one bundle per function under dist/<function>/index.js (CommonJS, as FC's
 * nodejs20 runtime loads `index.handler`), minified, with a source map, for Node 20.
 * PGlite stays out (FC uses PostgreSQL); the SQL migrations are inlined.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';

export const FUNCTIONS = ['api', 'provision', 'watch'] as const;

const inlineMigrations: Plugin = {
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

/** Modules a function must not carry (checked after the build). */
const FORBIDDEN: Record<string, RegExp[]> = {
  api: [/src\/alerts\/channels\//, /@electric-sql\/pglite/, /sandbox\//, /ali-oss/],
  provision: [/src\/http\/app\.ts/, /src\/alerts\/channels\//, /@electric-sql\/pglite/, /sandbox\//, /ali-oss/],
  watch: [/src\/http\/app\.ts/, /@electric-sql\/pglite/, /sandbox\//, /ali-oss/],
};

export async function buildAll(outdir = 'dist', log: (line: string) => void = console.log): Promise<Record<string, { bytes: number; file: string }>> {
  rmSync(outdir, { recursive: true, force: true });
  const out: Record<string, { bytes: number; file: string }> = {};
  for (const fn of FUNCTIONS) {
    const file = join(outdir, fn, 'index.js');
    const result = await build({
      entryPoints: [join('functions', `${fn}.ts`)],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      sourcemap: true,
      metafile: true,
      legalComments: 'none',
      // pg's optional native binding, urllib's optional proxy agent and the embedded store are not part of a function.
      external: ['pg-native', '@electric-sql/pglite', 'proxy-agent'],
      plugins: [inlineMigrations, lazyFc2],
      logLevel: 'warning',
    });
    const inputs = Object.keys((result.metafile as Metafile).inputs);
    for (const re of FORBIDDEN[fn] ?? []) {
      const hit = inputs.find((i) => re.test(i));
      if (hit) throw new Error(`the ${fn} bundle must not contain ${hit}`);
    }
    out[fn] = { bytes: statSync(file).size, file };
    if (fn !== 'provision') {
      await build({
        stdin: { contents: "module.exports = require('@alicloud/fc2');", resolveDir: '.', loader: 'js' },
        outfile: join(outdir, fn, 'fc2.js'),
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        minify: true,
        legalComments: 'none',
        external: ['proxy-agent'],
        logLevel: 'warning',
      });
    }
  }
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
