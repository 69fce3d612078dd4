/**
 * Time to dark, worked cases from the domain notes (hand-made cases with exact answers). The comparison
 * with the simulator's discharge to the disconnect is test/time-to-dark-vs-simulator.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_RULES, parseAlertRules } from './rules-config.js';
import { minutesLeftAt, temperatureFactor, timeToDark, type PlantReading, type TimeToDarkParams } from './time-to-dark.js';

const b = DEFAULT_ALERT_RULES.bsPower;
const params = (chemistry: 'vrla' | 'li-ion', over: Partial<TimeToDarkParams> = {}): TimeToDarkParams => ({
  chemistry: b.chemistries[chemistry]!, ratedHours: b.ratedHours, temperatureDerating: b.temperatureDerating, reservePct: b.reservePct,
  generatorTankHours: b.generatorTankHours, preferController: false, ...over,
});

describe('time to dark, worked cases from the domain notes', () => {
  it('the IEEE 485 table as corrected: 1.40 at 0 °C, 1.19 at 10 °C, 1.00 at 25 °C, interpolated between', () => {
    const table = b.temperatureDerating;
    expect(temperatureFactor(0, table)).toBe(1.4);
    expect(temperatureFactor(10, table)).toBe(1.19);
    expect(temperatureFactor(25, table)).toBe(1);
    expect(temperatureFactor(-10, table)).toBe(1.52);
    expect(temperatureFactor(26.7, table)).toBe(0.987);
    expect(temperatureFactor(2.2, table)).toBeCloseTo(1.35, 6);
  });

  it('at the rating current Peukert changes nothing: 400 Ah, SoC 50 %, 40 A (C10) → 5 h; at 0 °C → 5 h ÷ 1.40^1.2', () => {
    const r: PlantReading = { mains: 'off', batterySocPct: 50, batteryCapacityAh: 400, batterySohPct: 100, batteryTempC: 25, loadA: 40 };
    expect(timeToDark(r, params('vrla')).minutes).toBeCloseTo(300, 6);
    // Colder: capacity 400 ÷ 1.40 = 285.7 Ah, so 40 A is above its rating current and Peukert applies.
    expect(timeToDark({ ...r, batteryTempC: 0 }, params('vrla')).minutes).toBeCloseTo(300 / 1.4 ** 1.2, 6);
  });

  it('a configured reserve is held back: 20 % reserve at 20 % SoC is 0 min', () => {
    const r: PlantReading = { mains: 'off', batterySocPct: 20, batteryCapacityAh: 400, loadA: 40 };
    expect(timeToDark(r, params('vrla', { reservePct: 20 })).minutes).toBe(0);
    expect(timeToDark(r, params('vrla', { reservePct: 10 })).minutes).toBeCloseTo(60, 6);
  });

  it('Li-ion adds a running generator\'s fuel; a faulty or stopped generator during an outage adds nothing', () => {
    const r = { mains: 'off', batterySocPct: 60, batteryCapacityAh: 300, batterySohPct: 100, batteryTempC: 25, loadA: 30, fuelPct: 50 } as const;
    // 30 A is the C10 current of 300 Ah: 60 % of 10 h = 6 h.
    expect(timeToDark({ ...r, generator: 'running' }, params('li-ion')).minutes).toBeCloseTo(360 + 0.5 * 24 * 60, 6);
    expect(timeToDark({ ...r, generator: 'fault' }, params('li-ion')).minutes).toBeCloseTo(360, 6);
    expect(timeToDark({ ...r, generator: 'off' }, params('li-ion')).minutes).toBeCloseTo(360, 6);
  });

  it('uses the discharge current when the load is not reported, and says unknown without SoC or load', () => {
    expect(timeToDark({ batterySocPct: 100, batteryCapacityAh: 100, batteryA: -10 }, params('vrla')).minutes).toBeCloseTo(600, 6);
    expect(timeToDark({ batteryCapacityAh: 100, loadA: 10 }, params('vrla')).minutes).toBeNull();
    expect(timeToDark({ batterySocPct: 90, batteryCapacityAh: 100 }, params('vrla')).minutes).toBeNull();
  });

  it('counts down from the reading on battery, never below 0; on mains it does not', () => {
    expect(minutesLeftAt(120, 0, true, 30 * 60_000)).toBe(90);
    expect(minutesLeftAt(120, 0, true, 200 * 60_000)).toBe(0);
    expect(minutesLeftAt(120, 0, false, 200 * 60_000)).toBe(120);
  });

  it('refuses the old depth-of-discharge setting with the reason', () => {
    expect(() => parseAlertRules({ bsPower: { chemistries: { vrla: { depthOfDischargePct: 50 } } } })).toThrow(/bsPower\.chemistries\.vrla\.depthOfDischargePct: no longer used: a standby plant runs to its low-voltage disconnect/);
  });
});
