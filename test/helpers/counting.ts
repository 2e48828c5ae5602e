/** A store connection that counts what goes to the database: statements, transactions, and the round trips they make. */
import type { Db, Queryable } from '../../src/store/index.js';

export function countingDb(db: Db): { db: Db; statements: () => number; transactions: () => number; roundTrips: () => number } {
  let statements = 0;
  let transactions = 0;
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params, options) => {
      statements++;
      return q.query(sql, params, options);
    },
    exec: (sql) => {
      statements++;
      return q.exec(sql);
    },
  });
  const counted: Db = {
    kind: db.kind,
    ...wrap(db),
    transaction: (fn) => {
      transactions++;
      return db.transaction((tx) => fn(wrap(tx)));
    },
    close: () => db.close(),
  };
  return {
    db: counted,
    statements: () => statements,
    transactions: () => transactions,
    // each statement, plus a transaction's BEGIN and COMMIT
    roundTrips: () => statements + 2 * transactions,
  };
}
