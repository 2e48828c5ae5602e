/**
 * The local tools' own settings, read in one place for both entry points: `npm start`
 * (sandbox/start.ts) and `npm run sandbox` (sandbox/main.ts). The system's settings are in
 * src/config.ts; these only shape the local cloud and host. Every bad value is reported by
 * name, all at once.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../src/config.js';
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, type Scenario } from './cloud-emulator.js';

export interface SandboxSettings {
  /** SANDBOX_PORT: the cloud emulator (0 picks a free port). */
  cloudPort: number;
  /** HTTP_PORT: the local FC host's HTTP trigger. */
  httpPort: number;
  /** WATCH_INTERVAL_SECONDS: the local watch timer; 0 turns it off. */
  watchIntervalSeconds: number;
  /** FC_INSTANCES: how many instances of `api` and `provision` the local host runs (2 by default). */
  fcInstances: number;
  /** SANDBOX_ACCESS_KEY_ID / SANDBOX_ACCESS_KEY_SECRET: the key pair the emulator accepts. */
  accessKey: { accessKeyId: string; accessKeySecret: string };
  /** SANDBOX_SCENARIO: a JSON file of clusters, faults, rate limits and timing to start with. */
  scenario?: Scenario;
  /** SANDBOX_SPEED: how much faster than real time the emulated clusters live (60 by default). */
  speed?: number;
}

export function loadSandboxSettings(env: Record<string, string | undefined>): SandboxSettings {
  const problems: string[] = [];
  const int = (name: string, fallback: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= 0 && n <= max)) problems.push(`${name} must be a whole number from 0 to ${max}, not "${raw}"`);
    return n;
  };
  const settings: SandboxSettings = {
    cloudPort: int('SANDBOX_PORT', 9100, 65_535),
    httpPort: int('HTTP_PORT', 9000, 65_535),
    watchIntervalSeconds: int('WATCH_INTERVAL_SECONDS', 5, 86_400),
    fcInstances: Math.max(1, int('FC_INSTANCES', 2, 64)),
    accessKey: { accessKeyId: env.SANDBOX_ACCESS_KEY_ID || DEFAULT_ACCESS_KEY_ID, accessKeySecret: env.SANDBOX_ACCESS_KEY_SECRET || DEFAULT_ACCESS_KEY_SECRET },
  };
  if (env.SANDBOX_SPEED) {
    const speed = Number(env.SANDBOX_SPEED);
    if (Number.isFinite(speed) && speed > 0) settings.speed = speed;
    else problems.push(`SANDBOX_SPEED must be a positive number, not "${env.SANDBOX_SPEED}"`);
  }
  if (env.SANDBOX_SCENARIO) {
    try {
      settings.scenario = JSON.parse(readFileSync(env.SANDBOX_SCENARIO, 'utf8')) as Scenario;
    } catch (err) {
      problems.push(`SANDBOX_SCENARIO: cannot read ${env.SANDBOX_SCENARIO}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return settings;
}
