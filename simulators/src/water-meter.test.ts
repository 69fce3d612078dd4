import { describe, expect, it } from 'vitest';
import { expectAllValid, HOUR, jstHourOf, mean, run, SUMMER_MIDNIGHT_JST } from './model-test-helpers.js';
import { householdDemandLph, WaterMeterModel } from './water-meter.js';

const meter = (seed: number, extra = {}) => new WaterMeterModel({ seed, sampleSec: 900, ...extra });

describe('WaterMeterModel', () => {
  it('produces contract-valid samples for 48 h, with an integer register that never decreases', () => {
    for (const seed of [1, 2, 3]) {
      const steps = run(meter(seed), SUMMER_MIDNIGHT_JST, 48, 900);
      expectAllValid('water-meter', 'wm-1', steps);
      for (let i = 1; i < steps.length; i++) {
        const [prev, cur] = [steps[i - 1]?.sample.indexL ?? 0, steps[i]?.sample.indexL ?? 0];
        expect(Number.isInteger(cur)).toBe(true);
        expect(cur).toBeGreaterThanOrEqual(prev);
      }
    }
  });

  it('uses water in the morning and evening and almost none at night', () => {
    // Three households, so one late-night shower does not decide it.
    const steps = [5, 6, 7].flatMap((seed) => run(meter(seed, { residents: 3 }), SUMMER_MIDNIGHT_JST, 48, 900));
    const flowAt = (hours: number[]) => mean(steps.filter((s) => hours.includes(jstHourOf(s.ts))).map((s) => s.sample.flowLph ?? 0));
    const night = flowAt([2, 3]);
    expect(flowAt([7, 8])).toBeGreaterThan(5 * Math.max(night, 0.5));
    expect(flowAt([19, 20])).toBeGreaterThan(5 * Math.max(night, 0.5));
    const one = run(meter(5, { residents: 3 }), SUMMER_MIDNIGHT_JST, 48, 900);
    const perDay = ((one.at(-1)?.sample.indexL ?? 0) - (one[0]?.sample.indexL ?? 0)) / 2;
    expect(perDay).toBeGreaterThan(300);
    expect(perDay).toBeLessThan(1200);
  });

  it('has a daily profile that sums to the daily volume', () => {
    let total = 0;
    for (let h = 0; h < 24; h++) total += householdDemandLph(h, 400);
    expect(total).toBeCloseTo(400, 6);
  });

  it('adds a constant leak on top of use and raises the leak alarm after 24 h without a dry hour', () => {
    const steps = run(meter(9, { leak: { lph: 6 } }), SUMMER_MIDNIGHT_JST, 48, 900);
    expectAllValid('water-meter', 'wm-1', steps);
    expect(Math.min(...steps.map((s) => s.sample.flowLph ?? 0))).toBeGreaterThanOrEqual(6);
    const detected = steps.flatMap((s) => s.events).filter((e) => e.type === 'leak_detected');
    expect(detected).toHaveLength(1);
    // The meter's start counts as its last dry hour; the first sample covers the interval before T0.
    const after = (detected[0]?.ts ?? 0) - SUMMER_MIDNIGHT_JST;
    expect(after).toBeGreaterThanOrEqual(24 * HOUR - 900_000);
    expect(after).toBeLessThanOrEqual(24 * HOUR + 900_000);
    expect(steps.at(-1)?.sample.alarms).toContain('leak');
  });

  it('raises no leak alarm for a normal household', () => {
    const steps = run(meter(2), SUMMER_MIDNIGHT_JST, 48, 900);
    expect(steps.some((s) => s.sample.alarms?.includes('leak'))).toBe(false);
  });

  it('reads zero flow once the home is vacant, and the battery only goes down', () => {
    const steps = run(meter(4, { vacantFromTs: SUMMER_MIDNIGHT_JST + 12 * HOUR }), SUMMER_MIDNIGHT_JST, 48, 900);
    const later = steps.filter((s) => s.ts > SUMMER_MIDNIGHT_JST + 12 * HOUR + 900_000);
    expect(later.every((s) => s.sample.flowLph === 0)).toBe(true);
    const battery = steps.map((s) => s.sample.batteryPct ?? 0);
    for (let i = 1; i < battery.length; i++) expect(battery[i]).toBeLessThanOrEqual(battery[i - 1] ?? 0);
  });

  it('flags a low battery once, with an event', () => {
    const steps = run(meter(1, { initialBatteryPct: 10.001, batteryLifeYears: 1 }), SUMMER_MIDNIGHT_JST, 6, 900);
    expect(steps.flatMap((s) => s.events).filter((e) => e.type === 'low_battery')).toHaveLength(1);
    expect(steps.at(-1)?.sample.alarms).toContain('lowBattery');
    expectAllValid('water-meter', 'wm-1', steps);
  });
});
