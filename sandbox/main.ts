/**
 * `npm run sandbox`: the cloud emulator alone on 127.0.0.1:9100 (SANDBOX_PORT).
 * `npm start` runs the whole local system (see sandbox/start.ts once the pipeline lands).
 */
import { readFileSync } from 'node:fs';
import { CloudEmulator, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, SEED_ACK_CLUSTER, SEED_ENS_CLUSTER, type Scenario } from './cloud-emulator.js';
import { installProcessGuard } from './guard.js';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name} must be an integer port number, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

export async function startCloud(): Promise<CloudEmulator> {
  const accessKeyId = process.env.SANDBOX_ACCESS_KEY_ID || DEFAULT_ACCESS_KEY_ID;
  const accessKeySecret = process.env.SANDBOX_ACCESS_KEY_SECRET || DEFAULT_ACCESS_KEY_SECRET;
  let scenario: Scenario | undefined;
  if (process.env.SANDBOX_SCENARIO) {
    try {
      scenario = JSON.parse(readFileSync(process.env.SANDBOX_SCENARIO, 'utf8')) as Scenario;
    } catch (err) {
      console.error(`SANDBOX_SCENARIO: cannot read ${process.env.SANDBOX_SCENARIO}: ${(err as Error).message}`);
      process.exit(2);
    }
  }
  const speed = process.env.SANDBOX_SPEED ? Number(process.env.SANDBOX_SPEED) : undefined;
  if (speed !== undefined && !(speed > 0)) {
    console.error('SANDBOX_SPEED must be a positive number');
    process.exit(2);
  }
  const emulator = new CloudEmulator({
    accessKeys: [{ accessKeyId, accessKeySecret }],
    scenario,
    timing: speed ? { speed } : undefined,
  });
  const port = intEnv('SANDBOX_PORT', 9100);
  try {
    await emulator.start(port, '127.0.0.1');
  } catch (err) {
    console.error(`cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`);
    process.exit(1);
  }
  const url = emulator.url;
  console.log(`cloud emulator   ${url}  (ENS RPC, ACK ROA, FC; admin under ${url}/_sandbox/)`);
  console.log(`  access key id      ${accessKeyId}`);
  console.log(`  access key secret  ${accessKeySecret}`);
  console.log(`  ENS cluster        ${SEED_ENS_CLUSTER} (cn-guiyang-14)`);
  console.log(`  ACK cluster        ${SEED_ACK_CLUSTER} (cn-beijing)`);
  return emulator;
}

async function main(): Promise<void> {
  installProcessGuard((entry) => process.stderr.write(JSON.stringify(entry) + '\n'));
  const emulator = await startCloud();
  const stop = async (): Promise<void> => {
    await emulator.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
