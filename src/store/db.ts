/**
 * The database behind the store: PostgreSQL through `pg` in production, PGlite (embedded,
 * under .data/) when no DATABASE_URL is set. Both answer the same SQL, and both drivers'
 * errors leave this file as the store's own (errors.ts).
 */
import { translateDriverError } from './errors.js';

interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Runs several statements with no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Every statement's errors leave the store as its own errors (see errors.ts). */
async function translated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw translateDriverError(err);
  }
}

export async function openPostgres(url: string, poolSize = 2): Promise<Db> {
  const pg = await import('pg');
  const Pool = (pg as unknown as { default?: typeof import('pg') }).default?.Pool ?? pg.Pool;
  // Small pools: FC scales out by instances, each with its own pool.
  const pool = new Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on next use.
  });
  const wrap = (q: { query: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }> }): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      const res = await translated(() => q.query(sql, params));
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await translated(() => q.query(sql));
    },
  });
  const base = wrap(pool);
  return {
    kind: 'postgres',
    ...base,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await translated(() => pool.connect());
      try {
        await translated(() => client.query('BEGIN'));
        const out = await fn(wrap(client));
        await translated(() => client.query('COMMIT'));
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

export async function openPglite(dataDir?: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  type Pg = { query: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[]; affectedRows?: number }>; exec: (sql: string) => Promise<unknown> };
  const wrap = (q: Pg): Queryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      const res = await translated(() => q.query(sql, params));
      return { rows: res.rows as R[], rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string) {
      await translated(() => q.exec(sql));
    },
  });
  return {
    kind: 'pglite',
    ...wrap(db as unknown as Pg),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => translated(() => db.transaction((tx) => fn(wrap(tx as unknown as Pg))) as Promise<T>),
    close: () => db.close(),
  };
}
