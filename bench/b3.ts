/** B3: cold start of each bundle. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAll, FUNCTIONS } from '../scripts/build.js';
import { median, progress, round } from './common.js';

function wallMs(cmd: string[], cwd: string): number {
  const t = process.hrtime.bigint();
  // As on FC: s.yaml sets NODE_OPTIONS=--enable-source-maps for every function.
  const r = spawnSync(process.execPath, cmd, { cwd, env: { PATH: process.env.PATH, NODE_OPTIONS: '--enable-source-maps' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export async function coldStart() {
  const out = mkdtempSync(join(tmpdir(), 'npp-b3-'));
  const built = await buildAll(out, () => {});
  const bundles: Record<string, { bytes: number; folderBytes: number; importRatio: number; importMs: number }> = {};
  const bare = mkdtempSync(join(tmpdir(), 'npp-b3-bare-'));
  for (const fn of FUNCTIONS) {
    const dir = mkdtempSync(join(tmpdir(), `npp-b3-${fn}-`));
    for (const f of readdirSync(join(out, fn))) copyFileSync(join(out, fn, f), join(dir, f));
    // Import the bundle and build its parts the way the first invocation does (no network: config only).
    const script = "const m = require('./index.js'); if (typeof m.handler !== 'function') process.exit(1);";
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 15; i++) {
      b.push(wallMs(['-e', ''], bare));
      a.push(wallMs(['-e', script], dir));
    }
    const folderBytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    bundles[fn] = { bytes: built[fn]!.bytes, folderBytes, importRatio: round(median(a) / median(b)), importMs: round(median(a) - median(b), 1) };
    progress(
      `B3: ${fn} ${(built[fn]!.bytes / 1024).toFixed(0)} KiB, import ${bundles[fn]!.importMs} ms over a bare node start (ratio ${bundles[fn]!.importRatio})`,
    );
  }
  return { bundles };
}
