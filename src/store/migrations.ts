/**
 * The SQL migrations in migrations/, in name order. Read from disk when run from source;
 * the build replaces this module with one that carries the files inline.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: string;
  sql: string;
}

export function loadMigrations(): Migration[] {
  const dir = fileURLToPath(new URL('./migrations/', import.meta.url));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ''), sql: readFileSync(`${dir}${f}`, 'utf8') }));
}
