/** Starts a cloud emulator on an ephemeral loopback port for one test file. */
import { afterAll, beforeAll } from 'vitest';
import { CloudEmulator, type CloudEmulatorOptions, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from '../../sandbox/cloud-emulator.js';
import { ensReferenceRequest } from '../../sandbox/examples.js';
import type { Clock } from '../../src/clock.js';
import { CloudClient, type CloudClientOptions } from '../../src/cloud/index.js';

export const KEYS = { accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret: DEFAULT_ACCESS_KEY_SECRET };

export interface EmulatorHandle {
  emulator: CloudEmulator;
  url: string;
  /** Our cloud client pointed at the emulator, with overrides. */
  client(options?: Partial<CloudClientOptions>): CloudClient;
}

export function useEmulator(options: CloudEmulatorOptions = {}): EmulatorHandle {
  const handle = {} as EmulatorHandle;
  beforeAll(async () => {
    handle.emulator = new CloudEmulator({ timeoutHoldMs: 5_000, ...options });
    handle.url = await handle.emulator.start();
    handle.client = (o = {}) =>
      new CloudClient({
        credentials: KEYS,
        endpoints: { ens: handle.url, ack: handle.url },
        retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 8 },
        ...o,
      });
  });
  afterAll(async () => {
    await handle.emulator?.stop();
  });
  return handle;
}

/** A budget that ends `ms` from now on the given clock. */
export function budget(ms = 20_000, clock: Clock = { now: () => Date.now(), sleep: async () => {} }): { deadline: number } {
  return { deadline: clock.now() + ms };
}

let counter = 0;
/** A node-pool name no other test uses. */
export function uniqueName(prefix = 'np'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

/** The example ENS request of the API reference, with a given name and cluster. */
export function ensExample(clusterId: string, name: string, overrides: Record<string, unknown> = {}) {
  return ensReferenceRequest(clusterId, name, { Password: 'some-test-password', ...overrides });
}

export function ackExample(name: string, scalingGroup: Record<string, unknown> = {}) {
  return {
    nodepool_info: { name, type: 'ess' },
    scaling_group: {
      vswitch_ids: ['vsw-2ze3ds0mdip0hdz8i0001'],
      instance_types: ['ecs.n4.large'],
      instance_charge_type: 'PostPaid',
      system_disk_category: 'cloud_essd',
      system_disk_size: 120,
      desired_size: 2,
      login_password: 'Np-Pilot-2026!',
      ...scalingGroup,
    },
    kubernetes_config: { runtime: 'containerd', runtime_version: '1.6.38' },
  };
}
