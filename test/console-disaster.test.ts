/**
 * The console's disaster view in chromium during the typhoon-flood scenario (its first five hours, on the
 * scenario's clock, ending now): a disaster-ops token lands on the alerts, root causes first with their
 * symptoms folded under them; the resilience view counts down the site whose backhaul was cut and
 * marks what rests on old data. Screenshots go to test-artifacts/screenshots/ (docs/screenshots/ has copies).
 */
import { describe, expect, it } from 'vitest';
import { addToken, tokensPathFor } from '@tsunagaru/ingest';
import { loadScenario } from '../simulators/src/scenario/schema.js';
import { runScoredScenario } from '../simulators/src/scenario/scored-run.js';
import { ARTIFACTS, chromiumAvailable, launchBrowser } from './support/browser.js';

describe.runIf(chromiumAvailable())('console: the disaster view during a typhoon', () => {
  it('lands disaster ops on root causes with folded symptoms; counts down a silent site; marks stale data', async () => {
    const scenario = await loadScenario(new URL('../simulators/scenarios/typhoon-flood.yaml', import.meta.url).pathname);
    const hours = 5;
    const errors: string[] = [];
    // The scenario's own start (landfall at 20:00 JST): the same storm every run.
    const t0 = Date.parse(scenario.start!);
    await runScoredScenario({
      scenario: { ...scenario, warmup: undefined, duration: `${hours}h` },
      t0,
      inspect: async ({ httpUrl, dataDir }) => {
        const { token } = await addToken(tokensPathFor(dataDir), 'disaster-ops', 'ops room');
        const browser = await launchBrowser();
        try {
          const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
          // The browser's clock at the end of the simulated run, so "minutes ago" reads as it would in the storm.
          await page.clock.setFixedTime(t0 + hours * 3_600_000);
          page.on('pageerror', (e) => errors.push(e.message));
          await page.goto(`${httpUrl}/`);
          await page.getByLabel('API token').fill(token);
          await page.getByRole('button', { name: 'Sign in' }).click();
          await expect.poll(() => page.locator('#whoami').textContent()).toContain('disaster-ops');
          // Landing: the alerts, not the device list.
          await expect.poll(() => page.locator('#view-alerts').isVisible()).toBe(true);
          const rows = page.locator('#alert-rows tr');
          await expect.poll(() => rows.count()).toBeGreaterThan(5);
          // Root causes first: the three district power cuts and the isolated islands, symptoms folded.
          const firstRules = await rows.evaluateAll((trs) => trs.slice(0, 6).map((tr) => tr.querySelector('td:nth-child(4)')?.textContent ?? ''));
          expect(firstRules.every((r) => /district-mains-lost|ring-island-isolated|ring-segment-down/.test(r))).toBe(true);
          expect(await page.locator('#alert-rows tr.symptom').count()).toBe(0);
          const fold = page.getByRole('button', { name: /symptoms of district-mains-lost on district:nakano/ });
          await fold.click();
          await expect.poll(() => page.locator('#alert-rows tr.symptom').count()).toBeGreaterThan(1);
          // No API path in what operators read.
          expect(await page.locator('#alert-rows').textContent()).not.toMatch(/\/api\/v1/);
          await page.screenshot({ path: `${ARTIFACTS}/console-disaster-alerts.png`, fullPage: true });

          await page.getByRole('tab', { name: 'Resilience' }).click();
          const asagaya = page.locator('#site-rows tr[data-device="bsp-suginami-asagaya"]');
          await expect.poll(() => asagaya.textContent()).toMatch(/presumed dark/);
          await expect.poll(() => page.locator('#site-rows tr[data-device="bsp-niijima"]').textContent()).toMatch(/old/);
          await expect.poll(() => page.locator('#site-rows tr[data-device="bsp-nakano-ward-office"]').textContent()).toMatch(/controller .*computed/s);
          await page.screenshot({ path: `${ARTIFACTS}/console-disaster-resilience.png`, fullPage: true });
        } finally {
          await browser.close();
        }
      },
    });
    expect(errors).toEqual([]);
  }, 600_000);
});
