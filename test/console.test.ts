/**
 * The operations console in a real browser (Debian's chromium via playwright-core) against a real stack:
 * a device provisioned and publishing over MQTT shows up in the grid with its latest readings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceSession, MemoryIdentityStore } from '@tsunagaru/edge-agent';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, chromiumAvailable, launchBrowser } from './support/browser.js';
import { ADMIN_TOKEN, startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

describe.runIf(chromiumAvailable())('operations console in chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let session: DeviceSession<'bs-power'>;
  const errors: string[] = [];

  beforeAll(async () => {
    stack = await startStack();
    const { body } = await stack.api.post('/api/v1/devices', { id: 'bsp-haneda-01', type: 'bs-power', attributes: { site: 'haneda-airport' } });
    session = new DeviceSession({ url: stack.mqttUrl, deviceId: 'bsp-haneda-01', type: 'bs-power', secret: body.secret, fw: '1.0.0', model: 'sim', sampleSec: 60, identity: new MemoryIdentityStore() });
    await session.start();
    const now = Date.now();
    for (let i = 0; i < 5; i++) await session.publishTelemetry([{ ts: now - (5 - i) * 60_000, mains: 'off', batterySocPct: 90 - i * 2, loadA: 40 }]);
    await waitFor('readings stored', async () => (await stack.api.get('/api/v1/devices/bsp-haneda-01')).body.latest?.batterySocPct);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  });
  afterAll(async () => {
    await browser?.close();
    await session?.stop();
    await stack?.close();
  });

  it('asks for a token, refuses a wrong one, and shows the device grid with a right one', async () => {
    await page.goto(stack.ingest.httpUrl);
    await page.getByLabel('API token').fill('wrong-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('refused');
    await page.getByLabel('API token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = page.locator('#device-rows tr', { hasText: 'bsp-haneda-01' });
    await row.waitFor();
    expect(await row.textContent()).toContain('online');
    expect(await row.textContent()).toContain('haneda-airport');
  });

  it('shows the latest readings and the chart of a chosen device, keyboard only', async () => {
    await page.locator('#device-rows tr', { hasText: 'bsp-haneda-01' }).focus();
    await page.keyboard.press('Enter');
    const latest = page.getByTestId('latest');
    await latest.waitFor();
    expect(await latest.textContent()).toContain('82 %');
    expect(await page.locator('svg.chart').getAttribute('aria-label')).toMatch(/batterySocPct .* from 90 to 82/);
    await page.screenshot({ path: `${ARTIFACTS}/console-devices.png` });
    // Longer ranges come per hour from the rollups: the five samples of these minutes are one or two hourly means.
    const week = page.getByRole('button', { name: '7 d' });
    await week.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => week.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => page.locator('svg.chart').getAttribute('aria-label')).toMatch(/^batterySocPct(: not enough samples for a chart in the last 7 d| over the last 7 d: from [\d.]+ to [\d.]+ %, range 82 to 90)$/);
    expect(await page.locator('#device-detail h4', { hasText: 'batterySocPct' }).textContent()).toBe('batterySocPct (last 7 d, mean per hour with min–max)');
  });

  it('filters the grid and shows dead letters with their reason', async () => {
    await page.getByLabel('Type').selectOption('water-meter');
    await expect.poll(() => page.locator('#device-rows tr').count()).toBe(0);
    await page.getByLabel('Type').selectOption('');
    await stack.ingest.pipeline.handle('tsunagaru/v1/bs-power/bsp-haneda-01/telemetry', Buffer.from('{"v":1'));
    await page.getByRole('tab', { name: 'Dead letters' }).click();
    await expect.poll(() => page.locator('#dl-rows').textContent()).toContain('payload: invalid JSON');
    await page.screenshot({ path: `${ARTIFACTS}/console-dead-letters.png` });
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
