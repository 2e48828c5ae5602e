/** What every benchmark shares: the store it runs on, progress lines, rounding, warming a system and waiting for its requests. */
import { type Db, migrate, openPglite, openPostgres, type Queryable } from '../src/store/index.js';

export const TOKEN = 'bench-token-0123456789abcdef';
export const progress = (msg: string) => {
  if (barOpen) process.stderr.write('\n');
  barOpen = false;
  process.stderr.write(`[bench] ${msg}\n`);
};
let barOpen = false;

/**
 * How far a benchmark has got: on a terminal one bar redrawn in place (name, done/total, an
 * ETA from the rate so far); otherwise a plain line, at most one every 5 s.
 */
export function meter(name: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let lastLine = 0;
  return (done: number) => {
    const elapsed = (Date.now() - started) / 1000;
    const eta = done > 0 && done < total ? ` ETA ${Math.ceil((elapsed * (total - done)) / done)} s` : '';
    if (stream.isTTY) {
      const width = 24;
      const full = Math.round((width * Math.min(done, total)) / total);
      stream.write(`\r[bench] ${name} ${'#'.repeat(full)}${'.'.repeat(width - full)} ${done}/${total} ${elapsed.toFixed(0)} s${eta}\x1b[K`);
      barOpen = true;
    } else if (Date.now() - lastLine >= 5_000 || done >= total) {
      lastLine = Date.now();
      stream.write(`[bench] ${name}: ${done}/${total} after ${elapsed.toFixed(1)} s${eta}\n`);
    }
  };
}
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** PGlite in memory, or (with DATABASE_URL) a fresh schema of that PostgreSQL database. */
export async function openDb(): Promise<{ db: Db; url?: string }> {
  if (!process.env.DATABASE_URL) {
    const db = await openPglite();
    await migrate(db);
    return { db };
  }
  const admin = await openPostgres(process.env.DATABASE_URL, 1);
  const schema = `bench_${Date.now().toString(36)}`;
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const u = new URL(process.env.DATABASE_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const db = await openPostgres(u.toString(), 8);
  await migrate(db);
  return { db, url: u.toString() };
}
export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
export const median = (xs: number[]) => quantile(xs, 0.5);

/** The queue's address on a running system's emulator. */
const queueUrl = (cloudUrl: string) => `${cloudUrl}/_sandbox/queues/nodepool-requests/messages`;

/**
 * Warms a running system before the clock starts: one request through the queue, waited for
 * until it is created (a deployed function that has run before).
 */
export async function warmUpThroughQueue(cloudUrl: string, db: Queryable, body: unknown): Promise<void> {
  await fetch(queueUrl(cloudUrl), { method: 'POST', body: JSON.stringify(body) });
  for (let seen = 0; seen === 0; await sleep(50)) {
    seen = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM nodepool_requests WHERE state = 'creating'`)).rows[0]!.n);
  }
}

/**
 * Waits until `n` requests outside the warm-up cluster are active, or until `limit`, showing
 * progress; answers how many are active and when the last of them became so (ms since the epoch).
 */
export async function waitForActive(
  db: Queryable,
  o: { label: string; n: number; t0: number; limit: number; warmCluster: string; pollMs: number },
): Promise<{ active: number; lastActive: number }> {
  const show = meter(o.label, o.n);
  for (;;) {
    const rows = await db.query<{ n: number | string; last: Date | null }>(
      `SELECT count(*)::int AS n, max(updated_at) AS last FROM nodepool_requests WHERE state = 'active' AND cluster_id <> $1`,
      [o.warmCluster],
    );
    const active = Number(rows.rows[0]!.n);
    const lastActive = rows.rows[0]!.last ? new Date(rows.rows[0]!.last).getTime() : o.t0;
    show(active);
    if (active >= o.n || Date.now() > o.limit) return { active, lastActive };
    await sleep(o.pollMs);
  }
}
