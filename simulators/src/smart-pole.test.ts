import { describe, expect, it } from 'vitest';
import { expectAllValid, HOUR, jstHourOf, mean, run, SUMMER_MIDNIGHT_JST, WINTER_MIDNIGHT_JST } from './model-test-helpers.js';
import { SmartPoleModel } from './smart-pole.js';

const pole = (seed: number, extra = {}) => new SmartPoleModel({ seed, sampleSec: 60, ...extra });

describe('SmartPoleModel', () => {
  it.each([
    ['summer', SUMMER_MIDNIGHT_JST],
    ['winter', WINTER_MIDNIGHT_JST],
  ])('produces contract-valid samples for 48 h in %s', (_season, start) => {
    expectAllValid('smart-pole', 'pole-1', run(pole(7), start, 48, 60));
  });

  it('keeps events valid when doors open and 5G drops often', () => {
    const steps = run(pole(3, { doorOpensPerDay: 6, fiveGOutagesPerDay: 6 }), SUMMER_MIDNIGHT_JST, 48, 60);
    const types = new Set(steps.flatMap((s) => s.events.map((e) => e.type)));
    expect(types).toEqual(new Set(['door_open', 'door_closed', 'fiveg_down', 'fiveg_up']));
    expectAllValid('smart-pole', 'pole-1', steps);
    const openSamples = steps.filter((s) => s.sample.doorOpen).length;
    expect(openSamples).toBeGreaterThan(0);
    expect(steps.some((s) => s.sample.fiveG === 'down')).toBe(true);
  });

  it('is warmer in the afternoon than at 4 am, more humid at 4 am', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const steps = run(pole(seed), SUMMER_MIDNIGHT_JST, 48, 60);
      const at = (h: number) => steps.filter((s) => jstHourOf(s.ts) === h);
      const afternoon = at(14).map((s) => s.sample.airTempC ?? NaN);
      const dawn = at(4).map((s) => s.sample.airTempC ?? NaN);
      expect(mean(afternoon) - mean(dawn)).toBeGreaterThan(3);
      expect(mean(at(4).map((s) => s.sample.humidityPct ?? NaN))).toBeGreaterThan(mean(at(14).map((s) => s.sample.humidityPct ?? NaN)));
      // Tokyo in July: nights in the low-to-mid 20s, afternoons around 30.
      expect(mean(dawn)).toBeGreaterThan(17);
      expect(mean(afternoon)).toBeLessThan(38);
    }
  });

  it('counts people at rush hour, not at night, with Wi-Fi clients following', () => {
    const steps = run(pole(11), SUMMER_MIDNIGHT_JST, 24, 60);
    const at = (h: number) => steps.filter((s) => jstHourOf(s.ts) === h);
    const rush = mean(at(8).map((s) => s.sample.peopleCount ?? 0));
    const night = mean(at(3).map((s) => s.sample.peopleCount ?? 0));
    expect(rush).toBeGreaterThan(10 * Math.max(night, 1));
    expect(mean(at(8).map((s) => s.sample.wifiClients ?? 0))).toBeGreaterThan(mean(at(3).map((s) => s.sample.wifiClients ?? 0)));
    for (const s of steps) expect(s.sample.cabinetTempC ?? 0).toBeGreaterThan((s.sample.airTempC ?? 0) - 1);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = run(pole(42), SUMMER_MIDNIGHT_JST, 2, 60);
    const b = run(pole(42), SUMMER_MIDNIGHT_JST, 2, 60);
    const c = run(pole(43), SUMMER_MIDNIGHT_JST, 2, 60);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('refuses to go back in time', () => {
    const m = pole(1);
    m.step(SUMMER_MIDNIGHT_JST + HOUR);
    expect(() => m.step(SUMMER_MIDNIGHT_JST)).toThrow(/backwards/);
  });
});
