import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createInstance } from '../../src/fc/runtime.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      databaseUrl: undefined,
      apiTokens: [],
      endpoints: { ens: 'https://ens.aliyuncs.com', ack: 'https://cs.{region}.aliyuncs.com' },
      timeouts: { connectTimeoutMs: 5000, readTimeoutMs: 10000 },
      rateLimits: { create: 10, describe: 100, burst: 0.9 },
      defaultDeadlineMinutes: 30,
      maxBodyBytes: 65536,
      provisionFunction: 'nodepool-pilot-provision',
      // on FC a following invocation would hold a reserved provision instance: off unless asked
      taskFollowSeconds: 0,
    });
    expect(loadConfig({ TASK_FOLLOW_SECONDS: '60' }).taskFollowSeconds).toBe(60);
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({
        CREATE_RATE_LIMIT: 'fast',
        DEFAULT_DEADLINE_MINUTES: '0',
        SECRET_KEY: 'c2hvcnQ=',
        DATABASE_URL: 'mysql://x',
        API_TOKENS: 'short',
        LOG_LEVEL: 'loud',
      });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const text = (e as ConfigError).problems.join('\n');
      for (const name of ['CREATE_RATE_LIMIT', 'DEFAULT_DEADLINE_MINUTES', 'SECRET_KEY', 'DATABASE_URL', 'API_TOKENS', 'LOG_LEVEL'])
        expect(text).toContain(name);
      expect(text).not.toContain('c2hvcnQ=');
    }
  });

  it('refuses a lease shorter than the work it guards', () => {
    expect(() => loadConfig({ LEASE_SECONDS: '30', PROVISION_BUDGET_SECONDS: '60' })).toThrow(/LEASE_SECONDS \(30\) must be at least/);
  });

  it('accepts a 32-byte key as hex or base64', () => {
    expect(loadConfig({ SECRET_KEY: 'ab'.repeat(32) }).secretKey).toHaveLength(32);
    expect(loadConfig({ SECRET_KEY: Buffer.alloc(32, 1).toString('base64') }).secretKey).toHaveLength(32);
  });

  it('requires DATABASE_URL and SECRET_KEY on Function Compute, with a clear message', async () => {
    await expect(createInstance({ FC_FUNCTION_NAME: 'nodepool-pilot-api' })).rejects.toThrow(
      /DATABASE_URL is required on Function Compute[\s\S]*SECRET_KEY is required/,
    );
  });

  it('takes mentions on chat channels only, each by what its platform mentions by', () => {
    const problems = (channel: Record<string, unknown>) => {
      try {
        loadConfig({ ALERT_CHANNELS: JSON.stringify([{ url: 'https://example.invalid/hook', secret: 's', ...channel }]) });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ type: 'dingtalk', mentions: { mobiles: ['13800001111'], userIds: ['u1'], all: true } })).toEqual([]);
    expect(problems({ type: 'slack', mentions: { userIds: ['u1'] } })).toEqual([
      'ALERT_CHANNELS[0].mentions: slack channels mention no one (mentions are for dingtalk, wecom and feishu)',
    ]);
    expect(problems({ type: 'feishu', mentions: { mobiles: ['13800001111'], minSeverity: 'loud' } })).toEqual([
      'ALERT_CHANNELS[0].mentions.mobiles is not something feishu mentions by (userIds, all)',
      'ALERT_CHANNELS[0].mentions.minSeverity must be info, warning or critical',
    ]);
    expect(
      loadConfig({ ALERT_CHANNELS: JSON.stringify([{ type: 'wecom', url: 'https://example.invalid/k', mentions: { all: true } }]) }).alertChannels[0]!.mentions,
    ).toEqual({
      mobiles: [],
      userIds: [],
      all: true,
      minSeverity: 'critical',
    });
  });
});
