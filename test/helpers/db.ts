/**
 * The two store backends for contract tests: PGlite always, and PostgreSQL when
 * DATABASE_URL is set (CI sets it). Each PostgreSQL test database gets its own schema.
 */
import { randomBytes } from 'node:crypto';
import { type Db, migrate, openPglite, openPostgres } from '../../src/store/index.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  open(): Promise<Db>;
}

export const DATABASE_URL = process.env.DATABASE_URL;

if (!DATABASE_URL) {
  console.warn('[tests] DATABASE_URL is not set: store tests run on PGlite only; set it to run them on PostgreSQL too.');
}

/** A URL whose connections use a fresh schema of their own. */
export async function isolatedPostgresUrl(url: string): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = await openPostgres(url, 1);
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export const backends: Backend[] = [
  { name: 'pglite', open: async () => withMigrations(await openPglite()) },
  ...(DATABASE_URL ? [{ name: 'postgres' as const, open: async () => withMigrations(await openPostgres(await isolatedPostgresUrl(DATABASE_URL), 4)) }] : []),
];

async function withMigrations(db: Db): Promise<Db> {
  await migrate(db);
  return db;
}
