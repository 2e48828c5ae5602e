/**
 * Named prepared statements on PGlite, which has no API for them: the statement is parsed
 * and described once through PGlite's protocol interface, and each call then sends Bind,
 * Describe, Execute and Sync in one message, under the same locks as PGlite's own `query`.
 * Parameters and results go through PGlite's own serializers and parsers, as in `query`.
 */
import type { PGlite } from '@electric-sql/pglite';

type Protocol = typeof import('@electric-sql/pglite').protocol;
type Parse = typeof import('@electric-sql/pglite').parse;
type Message = Parameters<Parse['parseResults']>[0][number];

/** The parts of PGlite this uses; all are on its documented interface. */
type PgliteInternals = Pick<
  PGlite,
  'execProtocolStream' | 'serializers' | 'parsers' | 'syncToFs' | '_runExclusiveQuery' | '_runExclusiveTransaction' | '_checkReady'
>;

export type PreparedQuery = (name: string, sql: string, params: unknown[]) => Promise<{ rows: unknown[]; affectedRows?: number }>;

export function preparedPglite(pg: PGlite, protocol: Protocol, parse: Parse): PreparedQuery {
  const db = pg as unknown as PgliteInternals;
  const { serialize } = protocol;
  /** Each prepared statement's SQL and parameter types; the session keeps the statement. */
  const prepared = new Map<string, { sql: string; types: number[] }>();
  const send = (parts: Uint8Array[]): Promise<Message[]> => db.execProtocolStream(concat(parts), { syncToFs: false }) as Promise<Message[]>;

  const prepare = async (name: string, sql: string): Promise<number[]> => {
    const known = prepared.get(name);
    if (known) {
      if (known.sql !== sql) throw new Error(`prepared statement ${name} is already another statement`);
      return known.types;
    }
    const messages = await send([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()]);
    const types = parse.parseDescribeStatementResults(messages);
    prepared.set(name, { sql, types });
    return types;
  };

  const run = async (name: string, sql: string, params: unknown[]) => {
    const types = await prepare(name, sql);
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = db.serializers[types[i]!];
      return serializer ? serializer(v) : String(v);
    });
    const messages = await send([serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]);
    await db.syncToFs();
    return parse.parseResults(messages, db.parsers)[0] ?? { rows: [] };
  };

  return async (name, sql, params) => {
    await db._checkReady();
    return db._runExclusiveTransaction(() =>
      db._runExclusiveQuery(async () => {
        try {
          return await run(name, sql, params);
        } catch (err) {
          // The session lost the statement (DEALLOCATE, DISCARD): prepare it again, once.
          if ((err as { code?: unknown }).code !== '26000' || !prepared.delete(name)) throw err;
          return run(name, sql, params);
        }
      }),
    );
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
