/**
 * `npm run sandbox`: the cloud emulator alone on 127.0.0.1:9100 (SANDBOX_PORT). `npm start`
 * (sandbox/start.ts) runs the whole local system around it. Both read their settings
 * through sandbox/settings.ts.
 */
import { CloudEmulator, SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from './cloud-emulator.js';
import { installProcessGuard } from './guard.js';
import { loadSandboxSettings, type SandboxSettings } from './settings.js';

export async function startCloud(): Promise<CloudEmulator> {
  let settings: SandboxSettings;
  try {
    settings = loadSandboxSettings(process.env);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const { accessKeyId, accessKeySecret } = settings.accessKey;
  const emulator = new CloudEmulator({
    accessKeys: [{ accessKeyId, accessKeySecret }],
    scenario: settings.scenario,
    timing: settings.speed ? { speed: settings.speed } : undefined,
  });
  const port = settings.cloudPort;
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
  installProcessGuard((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  const emulator = await startCloud();
  const stop = async (): Promise<void> => {
    await emulator.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
