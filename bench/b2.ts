/**
 * B2: one sweep over many clusters, in a process of its own (bench/sweep-worker.ts) so that
 * its peak RSS is the sweep's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudEmulator } from '../sandbox/cloud-emulator.js';
import { openDb, progress, round } from './common.js';

export interface B2Plan {
  clusters: number;
  pools: number;
  /** the emulator's describe limit, per second */
  describeRate: number;
}

export async function sweepScale(plan: B2Plan) {
  const { clusters: C, pools: P, describeRate: L } = plan;
  const { db, url } = await openDb();
  const emulator = new CloudEmulator({ rateLimits: { DescribeClusterNodePools: L, CreateClusterNodePool: 10 }, seedData: false });
  const ids = Array.from({ length: C }, (_, i) => `eck-b2${String(i).padStart(6, '0')}`);
  for (const id of ids) emulator.addCluster({ id, provider: 'ens', pools: Array.from({ length: P }, (_, j) => ({ name: `p${j}`, desired: 2 })) });
  const cloudUrl = await emulator.start(0);
  const dataDir = mkdtempSync(join(tmpdir(), 'npp-b2-'));
  await db.close();
  try {
    progress(`B2: one sweep over ${C} clusters x ${P} pools at ${L} listings/s (floor ${(C / L).toFixed(1)} s)`);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/sweep-worker.ts'], {
        env: {
          ...process.env,
          DATABASE_URL: url ?? '',
          DATA_DIR: dataDir,
          SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
          ENS_ENDPOINT: cloudUrl,
          ACK_ENDPOINT: cloudUrl,
          FC_ENDPOINT: cloudUrl,
          DESCRIBE_RATE_LIMIT: String(L),
          SWEEP_CONCURRENCY: '32',
          WATCH_CLUSTERS: ids.map((id) => `ens/${id}`).join(','),
          LOG_LEVEL: 'error',
          BENCH_CREDENTIALS: JSON.stringify(emulator.issueSts('bench')),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`the sweep worker failed (${code}): ${text}`))));
    });
    const line = out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!;
    const { summary, maxRssMB } = JSON.parse(line);
    const calls = emulator.callLog({ action: 'DescribeClusterNodePools' }).length;
    const ratio = summary.durationMs / 1000 / (C / L);
    progress(`B2: ${calls} calls for ${C} clusters, ${summary.durationMs} ms, peak RSS ${maxRssMB.toFixed(0)} MB`);
    return {
      callsPerCluster: round(calls / C),
      ratio: round(ratio),
      peakRssMB: Math.round(maxRssMB),
      sweepMs: summary.durationMs,
      floorMs: (C / L) * 1000,
      pools: summary.pools,
      store: url ? 'postgres' : 'pglite',
    };
  } finally {
    await emulator.stop();
  }
}
