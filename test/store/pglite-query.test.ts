/**
 * The embedded store's own reading of PGlite's answers gives what PGlite's `query` gives: the
 * same rows (every type the store uses, nulls, arrays, JSON, text beyond ASCII), the same counts
 * and the same errors, in and out of transactions, over answers larger than one chunk.
 */
import { PGlite, protocol } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgliteQueries, pgliteQueries } from '../../src/store/pglite-query.js';

type Failure = Error & { code?: string; constraint?: string };
/** The error a statement ends with (an empty object if it ended without one). */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => ({}) as Failure,
    (e: unknown) => e as Failure,
  );

describe('PGlite answers read in place', () => {
  let pg: PGlite;
  let q: PgliteQueries;

  beforeAll(async () => {
    pg = new PGlite();
    await pg.waitReady;
    q = pgliteQueries(pg, protocol);
    await pg.exec(`CREATE TABLE t (id text PRIMARY KEY, n int4, big int8, flag boolean, doc jsonb, at timestamptz, tags text[], note text);
                   CREATE UNIQUE INDEX t_note ON t (note)`);
  });
  afterAll(() => pg.close());

  const same = async (sql: string, params: unknown[] = []) => {
    const theirs = await pg.query(sql, params);
    const ours = await q.query(sql, params);
    expect(ours.rows).toEqual(theirs.rows);
    expect(ours.affectedRows).toBe(theirs.affectedRows);
    return ours;
  };

  it('reads every type the store uses as PGlite does, nulls and duplicate names included', async () => {
    const out = await same(
      `SELECT 1::int4 AS a, 9007199254740993::int8 AS b, true AS c, 'x'::text AS d, NULL::text AS e, '{"k":[1,2],"s":"é"}'::jsonb AS f,
              '{"a":1}'::json AS g, '2026-12-01T04:00:00.123Z'::timestamptz AS h, ARRAY['a','b,c','"q"', NULL] AS i, 1.5::numeric AS j,
              'ü漢字🙂'::text AS l, 3.25::float8 AS m, '2026-12-01'::date AS n, ARRAY[1,2]::int4[] AS o, '' AS p, 1 AS dup, 2 AS dup`,
    );
    expect(out.rows[0]).toMatchObject({ a: 1, c: true, e: null, f: { k: [1, 2], s: 'é' }, l: 'ü漢字🙂', dup: 2 });
    expect(out.rows[0]!.h).toBeInstanceOf(Date);
    expect(out.rows[0]!.i).toEqual(['a', 'b,c', '"q"', null]);
  });

  it('sends parameters through PGlite serializers, by the types the statement asks for', async () => {
    const at = new Date('2026-11-30T10:00:00.5Z');
    const out = await same('SELECT $1::text AS a, $2::jsonb AS b, $3::timestamptz AS c, $4::text[] AS d, $5::int4 AS e, $6::boolean AS f', [
      'x',
      { deep: { list: [1, 'two'] } },
      at,
      ['p', 'q r'],
      null,
      false,
    ]);
    expect(out.rows[0]).toEqual({ a: 'x', b: { deep: { list: [1, 'two'] } }, c: at, d: ['p', 'q r'], e: null, f: false });
  });

  it('counts the rows a statement changed as PGlite does, and none for a read', async () => {
    const ins = await q.query(`INSERT INTO t (id, n, note) SELECT 'r' || g, g, 'note-' || g FROM generate_series(1, 3) g`, []);
    expect(ins).toEqual({ rows: [], affectedRows: 3 });
    // the same change twice (PGlite's, then ours): the same answer each time
    await same(`UPDATE t SET n = n * 1 WHERE n >= $1 RETURNING id, n`, [2]);
    await same('SELECT id FROM t ORDER BY id');
    expect((await q.query('SELECT id FROM t', [])).affectedRows).toBe(0);
  });

  it('throws the error PGlite throws, and the session goes on', async () => {
    const theirs = await failure(pg.query(`INSERT INTO t (id, note) VALUES ('x1', 'note-1')`));
    const ours = await failure(q.query(`INSERT INTO t (id, note) VALUES ($1, $2)`, ['x1', 'note-1']));
    expect(ours).toBeInstanceOf(Error);
    expect({ code: ours.code, constraint: ours.constraint, message: ours.message }).toEqual({
      code: '23505',
      constraint: theirs.constraint,
      message: theirs.message,
    });
    expect(ours.constraint).toBe('t_note');
    // An error at the Parse (a syntax error), then the next statement still runs.
    const syntax = await failure(q.query('SELEC 1', []));
    expect(syntax.code).toBe('42601');
    await same('SELECT count(*)::int AS n FROM t');
    // A bad parameter: PostgreSQL refuses it at the Bind.
    const bad = await failure(q.query('SELECT $1::int4 AS n', ['not a number']));
    expect(bad.code).toBe('22P02');
    await same('SELECT 1 AS one');
  });

  it('runs in a transaction, whose failed statement aborts it as PGlite would', async () => {
    await pg.transaction(async (tx) => {
      await q.query(`INSERT INTO t (id, note) VALUES ('tx1', 'tx-note')`, [], tx);
      expect((await q.query(`SELECT id FROM t WHERE id = 'tx1'`, [], tx)).rows).toEqual([{ id: 'tx1' }]);
      await tx.rollback();
    });
    expect((await q.query(`SELECT id FROM t WHERE id = 'tx1'`, [])).rows).toEqual([]);
    const failed = await failure(
      pg.transaction(async (tx) => {
        await q.query(`INSERT INTO t (id, note) VALUES ('tx2', 'note-1')`, [], tx);
      }),
    );
    expect(failed.code).toBe('23505');
    expect((await q.query(`SELECT id FROM t WHERE id = 'tx2'`, [])).rows).toEqual([]);
  });

  it('reads an answer of many chunks whole', async () => {
    // About 6 MB: more than PGlite's 1 MB receive buffer, so the answer comes in pieces.
    await same(`SELECT g AS n, repeat(md5(g::text), 40) AS filler, jsonb_build_object('g', g) AS doc FROM generate_series(1, 5000) g`);
  });

  it('keeps named statements prepared, and prepares one again when the session lost it', async () => {
    expect((await q.named('one_row', 'SELECT $1::int4 + 1 AS n', [1])).rows).toEqual([{ n: 2 }]);
    expect((await q.named('one_row', 'SELECT $1::int4 + 1 AS n', [41])).rows).toEqual([{ n: 42 }]);
    await pg.exec('DEALLOCATE one_row');
    expect((await q.named('one_row', 'SELECT $1::int4 + 1 AS n', [9])).rows).toEqual([{ n: 10 }]);
    await expect(q.named('one_row', 'SELECT 2 AS n', [])).rejects.toThrow(/already another statement/);
  });
});
