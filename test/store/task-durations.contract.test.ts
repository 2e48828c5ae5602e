/** What every instance of provision shares of how long the region's tasks took: the newest eight, oldest first. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/index.js';
import { KEPT_DURATIONS, recentTaskDurations, recordTaskDuration } from '../../src/store/task-durations.js';
import { backends } from '../helpers/db.js';

describe.each(backends)('task durations on $name', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => db?.close());

  it('keeps the newest durations of each kind, oldest first, and none of a kind never seen', async () => {
    const kind = `ack/test-${Math.random()}`;
    expect(await recentTaskDurations(db, kind)).toEqual([]);
    const at = new Date('2026-12-01T03:00:00Z');
    for (let i = 1; i <= 11; i++) await recordTaskDuration(db, kind, i * 1_000, at);
    expect(KEPT_DURATIONS).toBe(8);
    expect(await recentTaskDurations(db, kind)).toEqual([4, 5, 6, 7, 8, 9, 10, 11].map((s) => s * 1_000));
    await recordTaskDuration(db, `${kind}-other`, 42, at);
    expect(await recentTaskDurations(db, `${kind}-other`)).toEqual([42]);
    expect(await recentTaskDurations(db, kind)).toHaveLength(8);
  });
});
