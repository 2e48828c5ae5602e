/**
 * House rules that no linter checks: no source file grows past 400 lines, and the README's
 * layout tables name every folder and top-level file of src/ (and nothing that is gone).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAX_LINES = 400;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('house rules', () => {
  it(`keeps every file in src/ and sandbox/ at ${MAX_LINES} lines or fewer`, () => {
    const long = [...sources('src'), ...sources('sandbox')]
      .map((file) => ({ file, lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it("names every part of src/ in the README's layout, and nothing that does not exist", () => {
    const readme = readFileSync('README.md', 'utf8');
    const layout = readme.slice(readme.indexOf('| layer | path | what it is |'), readme.indexOf('Guard rails, all run by'));
    const named = new Set([...layout.matchAll(/`(src\/[^`]*)`/g)].map((m) => m[1]!.replace(/\/$/, '')));
    const parts = readdirSync('src').map((name) => `src/${name}`);
    expect(parts.filter((p) => !named.has(p))).toEqual([]);
    const top = [...named].filter((p) => p.split('/').length === 2);
    expect(top.filter((p) => !parts.includes(p))).toEqual([]);
  });
});
