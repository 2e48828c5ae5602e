import { describe, expect, it } from 'vitest';
import { CloudError } from '../../src/cloud/errors.js';
import { createLogger } from '../../src/log.js';

describe('JSON-line logs', () => {
  it("keep an error's name, message and code, and mask secret fields", () => {
    const lines: string[] = [];
    const log = createLogger({ requestId: 'r-1' }, { sink: (l) => lines.push(l), now: () => Date.UTC(2026, 10, 22) });
    log.error('boom', {
      error: new TypeError('x is not a function'),
      login_password: 'Secret-1',
      cloud: new CloudError({ code: 'Throttling.User', message: 'POST /?ScalingGroup=%7B%22Password%22 failed', kind: 'throttled' }),
    });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'error', msg: 'boom', requestId: 'r-1', time: '2026-11-22T00:00:00.000Z', login_password: '******' });
    expect(entry.error).toEqual({ name: 'TypeError', message: 'x is not a function' });
    expect(entry.cloud).toMatchObject({ name: 'CloudError', code: 'Throttling.User', message: 'POST /?… failed' });
    expect(lines[0]).not.toContain('Password');
  });
});
