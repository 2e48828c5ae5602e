/**
 * Opens the configured store: PostgreSQL when DATABASE_URL is set, otherwise PGlite under
 * the data directory. Migrations run on open.
 */
import { type Db, openPglite, openPostgres } from './db.js';
import { migrate } from './migrate.js';
import { RequestStore } from './requests.js';

export * from './db.js';
export * from './errors.js';
export * from './migrate.js';
export * from './requests.js';

export interface StoreOptions {
  databaseUrl?: string;
  dataDir?: string;
  poolSize?: number;
  /** PGlite only: keep everything in memory (tests). */
  inMemory?: boolean;
}

async function openDb(options: StoreOptions): Promise<Db> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize);
  if (options.inMemory) return openPglite();
  const { mkdirSync } = await import('node:fs');
  const dir = `${options.dataDir ?? '.data'}/pglite`;
  mkdirSync(dir, { recursive: true });
  return openPglite(dir);
}

export async function openStore(options: StoreOptions): Promise<RequestStore> {
  const db = await openDb(options);
  await migrate(db);
  return new RequestStore(db);
}
