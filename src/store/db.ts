/**
 * The database behind the store: PostgreSQL through `pg` in production, PGlite (embedded,
 * under .data/) when no DATABASE_URL is set. Both answer the same SQL, and both drivers'
 * errors leave this file as the store's own (errors.ts).
 */
import { setFlagsFromString } from 'node:v8';
import type { Transaction } from '@electric-sql/pglite';
import { translateDriverError } from './errors.js';
import { pgliteQueries } from './pglite-query.js';

interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

interface QueryOptions {
  /**
   * Keeps the statement prepared under this name on each PostgreSQL connection (and in PGlite's
   * session), so that it is parsed and planned once instead of on every call. One name, one SQL
   * text. Outside transactions only; inside one, the statement goes unnamed.
   */
  name?: string;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
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
  type PgQueryable = {
    query: (sql: string | { name: string; text: string; values?: unknown[] }, params?: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }>;
  };
  // A connection pooler that does not keep statements per client answers 26000 (no such
  // prepared statement), or 42P05 (already prepared, by another client on the same server
  // connection): from then on, every statement goes unnamed (the Parse failed, so nothing ran).
  // Inside a transaction, where that error would abort it, statements always go unnamed.
  let named = true;
  const run = async (q: PgQueryable, sql: string, params?: unknown[], options?: QueryOptions) => {
    if (!named || !options?.name || q !== pool) return q.query(sql, params);
    try {
      return await q.query({ name: options.name, text: sql, values: params });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== '26000' && code !== '42P05') throw err;
      named = false;
      return q.query(sql, params);
    }
  };
  const wrap = (q: PgQueryable): Queryable => ({
    async query<R>(sql: string, params?: unknown[], options?: QueryOptions) {
      const res = await translated(() => run(q, sql, params, options));
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
  // PGlite is PostgreSQL compiled to WebAssembly. By default V8 compiles it twice: at once with
  // its baseline compiler, and its busiest functions again with its optimising one. The second
  // copy cost 45 MB of an idle instance and 60-80 MB more by the end of its first sweep, and
  // bought no time we could measure (B2.pglite: the sweep, the reopening and a first-time
  // initialisation took as long or less without it). Set before the module is first compiled.
  // It concerns the process's WebAssembly alone: PGlite's, and any other (Node's fetch parses
  // HTTP with some), which then runs on baseline code too.
  setFlagsFromString('--liftoff-only');
  const { PGlite, protocol } = await import('@electric-sql/pglite');
  // PGlite's shared buffers: its default, 128 MB, stays in the process once a sweep has read the
  // tables through, and duplicates what the file system caches (or, in memory, holds) already.
  const settings = { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] };
  const db = dataDir ? new PGlite(dataDir, settings) : new PGlite(settings);
  await db.waitReady;
  // Statements are sent and their answers read by pgliteQueries; named ones outside transactions
  // only (inside one, PGlite's lock is already held).
  const queries = pgliteQueries(db, protocol);
  const wrap = (tx?: Transaction): Queryable => ({
    async query<R>(sql: string, params?: unknown[], options?: QueryOptions) {
      const res = await translated(() => (!tx && options?.name ? queries.named(options.name, sql, params ?? []) : queries.query(sql, params ?? [], tx)));
      return { rows: res.rows as R[], rowCount: res.affectedRows };
    },
    async exec(sql: string) {
      await translated(() => (tx ?? db).exec(sql));
    },
  });
  return {
    kind: 'pglite',
    ...wrap(),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => translated(() => db.transaction((tx) => fn(wrap(tx))) as Promise<T>),
    close: () => db.close(),
  };
}
