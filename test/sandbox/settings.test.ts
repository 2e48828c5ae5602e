/**
 * The local tools' settings are read in one place: `npm start` honours SANDBOX_SPEED and
 * SANDBOX_SCENARIO as `npm run sandbox` does, and every bad value is named at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSandboxSettings } from '../../sandbox/settings.js';
import { startSystem } from '../../sandbox/start.js';
import { ConfigError } from '../../src/config.js';
import { migrate, openPglite, RequestStore } from '../../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'npp-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sandbox settings', () => {
  it('has the documented defaults', () => {
    expect(loadSandboxSettings({})).toEqual({
      cloudPort: 9100,
      httpPort: 9000,
      watchIntervalSeconds: 5,
      fcInstances: 2,
      accessKey: { accessKeyId: 'sandbox-access-key-id', accessKeySecret: 'sandbox-access-key-secret' },
    });
  });

  it('names every bad value at once', () => {
    try {
      loadSandboxSettings({ SANDBOX_PORT: '0x10', HTTP_PORT: '70000', SANDBOX_SPEED: 'fast', SANDBOX_SCENARIO: join(dir, 'missing.json') });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((p) => p.split(' ')[0])).toEqual(['SANDBOX_PORT', 'HTTP_PORT', 'SANDBOX_SPEED', 'SANDBOX_SCENARIO:']);
    }
  });

  it('is what npm start runs with: the scenario and the speed reach its emulator', async () => {
    const scenario = join(dir, 'scenario.json');
    writeFileSync(scenario, JSON.stringify({ clusters: [{ id: 'eck-settings1', provider: 'ens', pools: [{ name: 'edge-a' }] }] }));
    const db = await openPglite();
    await migrate(db);
    const sys = await startSystem({
      env: {
        SANDBOX_PORT: '0',
        HTTP_PORT: '0',
        WATCH_INTERVAL_SECONDS: '0',
        SANDBOX_SPEED: '600',
        SANDBOX_SCENARIO: scenario,
        API_TOKENS: 'settings-token-0123456789',
      },
      instance: { store: new RequestStore(db) },
      log: () => {},
    });
    try {
      expect(sys.emulator.world.timing.speed).toBe(600);
      expect([...sys.emulator.world.clusters.keys()]).toContain('eck-settings1');
      expect(new URL(sys.cloudUrl).port).not.toBe('9100');
    } finally {
      await sys.stop();
    }
  });
});
