/**
 * Statements on PGlite that read PostgreSQL's answer in place. PGlite's own reader copies every
 * field of every row into an ArrayBuffer of its own before decoding it, and builds each row from
 * a list of pairs: on a sweep over a thousand clusters that was the largest single cost of the
 * embedded store (B2.pglite), and most of its garbage. Here the statement goes out as PGlite's
 * `query` sends it (Parse and Describe; then Bind, Describe, Execute and Sync), under the same
 * locks, and the answer comes back as bytes (`execProtocolRawStream`): each field is decoded
 * straight from them and given to PGlite's type parsers, as `query` would. An answer with an
 * error goes through PGlite's own protocol parser, so the error thrown is the one PGlite throws.
 *
 * Named statements too, for which PGlite has no API: parsed and described once, then each call
 * sends Bind, Describe, Execute and Sync in one message.
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';

type Protocol = typeof import('@electric-sql/pglite').protocol;

/** The parts of PGlite this uses; all are on its documented interface. */
type PgliteParts = Pick<
  PGlite,
  'execProtocolRawStream' | 'serializers' | 'parsers' | 'syncToFs' | '_runExclusiveQuery' | '_runExclusiveTransaction' | '_checkReady'
>;

type Answer = { rows: Record<string, unknown>[]; affectedRows: number };

export interface PgliteQueries {
  /** An unnamed statement, outside a transaction (`tx` absent) or in the transaction `tx`. */
  query(sql: string, params: unknown[], tx?: Transaction): Promise<Answer>;
  /** A named statement, kept prepared in PGlite's one session; outside transactions only. */
  named(name: string, sql: string, params: unknown[]): Promise<Answer>;
}

export function pgliteQueries(pg: PGlite, protocol: Protocol): PgliteQueries {
  const db = pg as unknown as PgliteParts;
  const { serialize } = protocol;
  /** Each prepared statement's SQL and parameter types; the session keeps the statement. */
  const prepared = new Map<string, { sql: string; types: number[] }>();

  const send = async (parts: Uint8Array[]): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    // The bytes given lie in PGlite's memory, which the next statement overwrites: copied once.
    await db.execProtocolRawStream(concat(parts), { syncToFs: false, onRawData: (bytes) => chunks.push(Buffer.from(bytes)) });
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  };
  /** Sends, and throws the error PGlite would if the answer holds one (after a Sync, when `sync` says one is still owed). */
  const exchange = async (parts: Uint8Array[], sql: string, params: unknown[], sync: boolean): Promise<Buffer> => {
    const answer = await send(parts);
    if (!hasError(answer)) return answer;
    if (sync) await send([serialize.sync()]);
    throw errorOf(protocol, answer, sql, params);
  };
  const values = (types: number[], params: unknown[]) =>
    params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = db.serializers[types[i]!];
      return serializer ? serializer(v) : String(v);
    });
  const execute = async (sql: string, params: unknown[], statement?: string, types?: number[]) => {
    const parameterTypes = types ?? parameterTypesOf(await exchange([serialize.parse({ text: sql }), serialize.describe({ type: 'S' })], sql, params, true));
    const bind = serialize.bind({ ...(statement ? { statement } : {}), values: values(parameterTypes, params) });
    return readRows(await exchange([bind, serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()], sql, params, false), db.parsers);
  };

  const prepare = async (name: string, sql: string): Promise<number[]> => {
    const known = prepared.get(name);
    if (known) {
      if (known.sql !== sql) throw new Error(`prepared statement ${name} is already another statement`);
      return known.types;
    }
    const answer = await exchange([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()], sql, [], false);
    const types = parameterTypesOf(answer);
    prepared.set(name, { sql, types });
    return types;
  };

  /** Outside a transaction: takes PGlite's locks as its `query` does, and writes through to its files after. */
  const atTop = async (work: () => Promise<Answer>): Promise<Answer> => {
    await db._checkReady();
    return db._runExclusiveTransaction(() =>
      db._runExclusiveQuery(async () => {
        const out = await work();
        await db.syncToFs();
        return out;
      }),
    );
  };

  return {
    async query(sql, params, tx) {
      if (!tx) return atTop(() => execute(sql, params));
      if (tx.closed) throw new Error('Transaction is closed');
      // The transaction holds PGlite's transaction lock; a statement takes the query lock.
      return db._runExclusiveQuery(() => execute(sql, params));
    },
    async named(name, sql, params) {
      const run = async () => execute(sql, params, name, await prepare(name, sql));
      return atTop(async () => {
        try {
          return await run();
        } catch (err) {
          // The session lost the statement (DEALLOCATE, DISCARD): prepare it again, once.
          if ((err as { code?: unknown }).code !== '26000' || !prepared.delete(name)) throw err;
          return run();
        }
      });
    },
  };
}

// Backend message types (PostgreSQL's protocol, "Message Formats").
const ERROR = 0x45; // E
const ROW_DESCRIPTION = 0x54; // T
const DATA_ROW = 0x44; // D
const COMMAND_COMPLETE = 0x43; // C
const PARAMETER_DESCRIPTION = 0x74; // t

/** Calls `each(type, start of body, end)` for each whole message of an answer. */
function forEachMessage(answer: Buffer, each: (type: number, body: number, end: number) => void): void {
  for (let at = 0; at + 5 <= answer.length; ) {
    const end = at + 1 + answer.readInt32BE(at + 1);
    each(answer[at]!, at + 5, end);
    at = end;
  }
}

function hasError(answer: Buffer): boolean {
  let found = false;
  forEachMessage(answer, (type) => {
    if (type === ERROR) found = true;
  });
  return found;
}

/** The error PGlite's `query` throws for this answer: its parser's DatabaseError, with the statement and its parameters. */
function errorOf(protocol: Protocol, answer: Buffer, sql: string, params: unknown[]): Error {
  let error: Error | undefined;
  new protocol.Parser().parse(answer, (message) => {
    if (!error && message instanceof protocol.messages.DatabaseError) error = message;
  });
  if (!error) return new Error('PGlite answered with an error that could not be read');
  return Object.assign(error, { query: sql, params });
}

function parameterTypesOf(answer: Buffer): number[] {
  const types: number[] = [];
  forEachMessage(answer, (type, body) => {
    if (type !== PARAMETER_DESCRIPTION) return;
    const n = answer.readInt16BE(body);
    for (let i = 0; i < n; i++) types.push(answer.readInt32BE(body + 2 + 4 * i));
  });
  return types;
}

type TypeParsers = Record<number | string, ((text: string, type: number) => unknown) | undefined>;

/**
 * The rows of the first result, by column name (a later column of the same name wins), each
 * value text-decoded in place and parsed by its type's parser; and the rows an INSERT, UPDATE,
 * DELETE, COPY or MERGE reported, as PGlite counts them.
 */
function readRows(answer: Buffer, parsers: TypeParsers): Answer {
  let names: string[] = [];
  let types: number[] = [];
  let rows: Record<string, unknown>[] = [];
  let affectedRows = 0;
  let done: Answer | undefined;
  forEachMessage(answer, (type, body, end) => {
    if (done) return;
    if (type === ROW_DESCRIPTION) {
      const n = answer.readInt16BE(body);
      names = new Array(n);
      types = new Array(n);
      for (let i = 0, p = body + 2; i < n; i++) {
        const zero = answer.indexOf(0, p);
        names[i] = answer.toString('utf8', p, zero);
        // after the name: table oid (4), column number (2), then the type oid (4)
        types[i] = answer.readInt32BE(zero + 1 + 6);
        p = zero + 1 + 18;
      }
    } else if (type === DATA_ROW) {
      const n = answer.readInt16BE(body);
      const row: Record<string, unknown> = {};
      for (let i = 0, p = body + 2; i < n; i++) {
        const length = answer.readInt32BE(p);
        p += 4;
        if (length < 0) {
          row[names[i]!] = null;
          continue;
        }
        const text = answer.toString('utf8', p, p + length);
        p += length;
        const parse = parsers[types[i]!];
        row[names[i]!] = parse ? parse(text, types[i]!) : text;
      }
      rows.push(row);
    } else if (type === COMMAND_COMPLETE) {
      // A tag that carries a row count ends in it ("UPDATE 3", "INSERT 0 5").
      const words = answer.toString('utf8', body, end - 1).split(' ');
      const count = Number.parseInt(words[words.length - 1]!, 10);
      if (['INSERT', 'UPDATE', 'DELETE', 'COPY', 'MERGE'].includes(words[0]!)) affectedRows += count;
      done = { rows, affectedRows };
      rows = [];
    }
  });
  return done ?? { rows: [], affectedRows: 0 };
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
