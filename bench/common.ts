/** What every benchmark shares: the store it runs on, progress lines, rounding. */
import { type Db, migrate, openPglite, openPostgres } from '../src/store/index.js';

export const TOKEN = 'bench-token-0123456789abcdef';
export const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
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
