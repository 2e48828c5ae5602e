/**
 * Applies the SQL files in migrations/ in name order, each once. A transaction-scoped
 * advisory lock makes two instances starting at once take turns instead of racing. A cold
 * instance of a store that is up to date (the usual case) pays one read, not the transaction.
 */
import type { Db } from './db.js';
import { loadMigrations } from './migrations.js';

const MIGRATION_LOCK = 7_235_001;

export async function migrate(db: Db, migrations = loadMigrations()): Promise<string[]> {
  const applied = await db.query<{ version: string }>('SELECT version FROM schema_migrations').then(
    (res) => new Set(res.rows.map((r) => r.version)),
    () => undefined, // no table yet (or no answer): the locked path below says which
  );
  if (applied && migrations.every((m) => applied.has(m.version))) return [];
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await tx.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
      applied.push(m.version);
    }
    return applied;
  });
}
