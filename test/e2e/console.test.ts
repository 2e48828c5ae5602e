/**
 * The operator's console in a real browser (Debian's chromium, driven by playwright-core)
 * against the system as `npm start` runs it: a wrong token shows the 401 in plain words; with
 * the right one, a request posted through the API appears and goes from accepted to active with
 * its progress bar moving; a sandbox fault raises an alert, which is silenced from the page and
 * then shows as silenced. With CONSOLE_SCREENSHOTS set to a folder, it saves a picture of each
 * view there (the README's).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensExample } from '../helpers/cloud.js';
import { type Child, runTs } from '../helpers/process.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM) {
  console.warn('\n*** SKIPPING THE BROWSER TEST: no chromium at /usr/bin/chromium. Install it with `apt-get install -y chromium` (.ci/run does). ***\n');
}
const SHOTS = process.env.CONSOLE_SCREENSHOTS;
const ACK_CLUSTER = 'cc0f87de0b8fb403f86e10e204f83a1b2';

describe.skipIf(!CHROMIUM)('the console in headless chromium', () => {
  let dataDir: string;
  let system: Child;
  let apiUrl: string;
  let cloudUrl: string;
  let token: string;
  let browser: Browser;
  let page: Page;

  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'npp-console-'));
    system = runTs('sandbox/start.ts', {
      ...process.env,
      SANDBOX_PORT: '0',
      HTTP_PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      API_TOKENS: '',
      WATCH_INTERVAL_SECONDS: '1',
    });
    apiUrl = (await system.waitFor(/API \(FC HTTP trigger\)\s+(http:\/\/\S+)/))[1]!;
    cloudUrl = (await system.waitFor(/cloud emulator\s+(http:\/\/\S+)/))[1]!;
    token = (await system.waitFor(/API token\s+(\S+)/))[1]!;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says in plain words that a wrong token was refused, and shows the fleet with the right one', async () => {
    await page.goto(`${apiUrl}/`);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => page.locator('#error').textContent()).toContain('refused this token (401)');
    await expect.poll(() => page.locator('#token-form').isVisible()).toBe(true);

    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => page.locator('#view').textContent(), { timeout: 20_000 }).toContain(ACK_CLUSTER);
    await expect.poll(() => page.locator('#error').isVisible()).toBe(false);
    await expect.poll(() => page.locator('#sweep').textContent()).toMatch(/last sweep: \d+ s ago/);
    await page.getByRole('button', { name: ACK_CLUSTER }).click();
    await expect.poll(() => page.locator('#view').textContent()).toContain('default-nodepool');
    await shot('fleet');
  }, 60_000);

  it('shows a request posted through the API going from accepted to active, its progress bar moving', async () => {
    const res = await fetch(`${apiUrl}/v1/nodepool-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'ens', request: ensExample('eck-d2666c5f', 'console-edge') }),
    });
    expect(res.status).toBe(202);
    const { id } = await res.json();
    // The keyboard reaches the views.
    await page.focus('#nav-requests');
    await page.keyboard.press('Enter');
    const row = page.locator('tr', { has: page.getByRole('button', { name: id }) });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    const seen = new Set<string>();
    const values = new Set<number>();
    for (let i = 0; i < 150; i++) {
      seen.add((await row.locator('.badge').first().textContent()) ?? '');
      values.add(Number(await row.locator('progress').getAttribute('value')));
      if (seen.has('active')) break;
      await page.waitForTimeout(200);
    }
    expect(seen.has('active')).toBe(true);
    expect([...seen].some((s) => ['accepted', 'submitting', 'creating'].includes(s))).toBe(true);
    expect(Math.min(...values)).toBeLessThan(3);
    expect(Math.max(...values)).toBe(3);
    await page.getByRole('button', { name: id }).click();
    const detail = page.getByRole('article', { name: `request ${id}` });
    await expect.poll(() => detail.locator('ol.timeline li').count()).toBeGreaterThanOrEqual(3);
    await shot('requests');
  }, 60_000);

  it('shows an alert from a sandbox fault, silences it from the page, and shows it silenced', async () => {
    const fault = await fetch(`${cloudUrl}/_sandbox/clusters/${ACK_CLUSTER}/nodepools/default-nodepool`, {
      method: 'PATCH',
      body: JSON.stringify({ faults: { failedNodes: 1 } }),
    });
    expect(fault.status).toBe(200);
    await page.getByRole('button', { name: 'Alerts' }).click();
    const alert = page.getByRole('button', { name: 'nodes_failed' });
    await expect.poll(() => alert.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await alert.first().click();
    const detail = page.getByRole('article', { name: 'alert nodes_failed' });
    await expect.poll(() => detail.textContent()).toContain(ACK_CLUSTER);
    await detail.getByLabel('Comment').fill('known: replacing the node');
    await detail.getByRole('button', { name: 'Silence' }).click();
    const row = page.locator('tr', { has: page.getByRole('button', { name: 'nodes_failed' }) }).first();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('silenced');
    await shot('alerts');

    await page.getByRole('button', { name: 'Silences' }).click();
    await expect.poll(() => page.locator('#view').textContent()).toContain('known: replacing the node');
    await shot('silences');
  }, 60_000);

  it('reads on a phone-width screen without the page scrolling sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Fleet' }).click();
    await expect.poll(() => page.locator('#view').textContent()).toContain(ACK_CLUSTER);
    const overflow = await page.evaluate(() => document.body.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('fleet-phone');
  }, 30_000);
});
