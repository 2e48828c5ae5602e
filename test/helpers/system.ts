/**
 * The whole system in this process: emulator, local FC host, the three functions, and a
 * store on the given backend. Ports are ephemeral and the watch timer is off: tests run
 * sweeps themselves.
 */
import { afterAll, beforeAll } from 'vitest';
import { type RunningSystem, type SystemOptions, startSystem } from '../../sandbox/start.js';
import { OffsetClock } from '../../src/clock.js';
import { RequestStore } from '../../src/store/index.js';
import type { Backend } from './db.js';
import { checkAnswer } from './openapi.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface SystemHandle {
  sys: RunningSystem;
  logs: string[];
  /** Calls the API through the local FC host's HTTP trigger. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  /** Runs one watch sweep through the host, as the timer would. */
  sweep(): Promise<any>;
  /** Waits until no invocation is running. */
  idle(): Promise<void>;
  /** Moves the emulator's clock (pool lifecycle) forward. */
  advanceCloud(ms: number): void;
  /** Moves the system's own clock (deadlines, next attempts, leases) forward. */
  advanceTime(ms: number): void;
  admin(method: string, path: string, body?: unknown): Promise<any>;
}

export function useSystem(backend: Backend, optionsOrFactory: Partial<SystemOptions> | (() => Partial<SystemOptions>) = {}): SystemHandle {
  const h = { logs: [] as string[] } as SystemHandle;
  beforeAll(async () => {
    const options = typeof optionsOrFactory === 'function' ? optionsOrFactory() : optionsOrFactory;
    const db = await backend.open();
    const clock = new OffsetClock();
    h.sys = await startSystem({
      cloudPort: 0,
      httpPort: 0,
      watchIntervalSeconds: 0,
      // provision does not follow its ACK tasks here unless a test asks (TASK_FOLLOW_SECONDS): the sweeps drive them
      env: { API_TOKENS: TEST_TOKEN, DISPATCH_GRACE_SECONDS: '0', LOG_LEVEL: 'debug', TASK_FOLLOW_SECONDS: '0', ...options.env },
      instance: { store: new RequestStore(db), clock, ...options.instance },
      hostOptions: { asyncBackoffMs: 50, queueBackoffMs: 50, ...options.hostOptions },
      log: (line) => h.logs.push(line),
      ...Object.fromEntries(Object.entries(options).filter(([k]) => !['env', 'instance', 'hostOptions'].includes(k))),
    });
    h.api = async (method, path, body, headers = {}) => {
      const res = await fetch(`${h.sys.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      checkAnswer(method, path, res.status, res.headers.get('content-type'), text);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text };
    };
    h.sweep = () => h.sys.host.fireTimer('test');
    h.idle = () => h.sys.host.idle();
    h.advanceCloud = (ms) => {
      h.sys.emulator.clock.offset += ms;
    };
    h.advanceTime = (ms) => {
      clock.offset += ms;
    };
    h.admin = async (method, path, body) => {
      const res = await fetch(`${h.sys.cloudUrl}/_sandbox${path}`, {
        method,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      return res.json();
    };
  });
  afterAll(async () => {
    await h.sys?.stop();
  });
  return h;
}
