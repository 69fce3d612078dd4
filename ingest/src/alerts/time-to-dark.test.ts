import { describe, expect, it } from 'vitest';
import { temperatureFactor, timeToDark, type TimeToDarkParams } from './time-to-dark.js';

const IEEE485 = [[0, 1.19], [10, 1.11], [20, 1.04], [25, 1.0]];
const params = (peukertK: number, depthOfDischargePct: number): TimeToDarkParams => ({ chemistry: { peukertK, depthOfDischargePct }, ratedHours: 10, temperatureDerating: IEEE485, generatorTankHours: 24 });

describe('time to dark', () => {
  it('interpolates the IEEE 485 temperature factor and keeps the ends outside the table', () => {
    expect(temperatureFactor(25, IEEE485)).toBe(1);
    expect(temperatureFactor(15, IEEE485)).toBeCloseTo(1.075, 6);
    expect(temperatureFactor(-10, IEEE485)).toBe(1.19);
    expect(temperatureFactor(40, IEEE485)).toBe(1);
    expect(temperatureFactor(undefined, IEEE485)).toBe(1);
  });

  it('VRLA: Peukert with depth of discharge, SoH and cold derating', () => {
    // t = H·(C/(I·H))^k from full; C = 400 Ah × 0.90 SoH ÷ 1.11 (10 °C); usable share = 0.80 − (1 − 0.50).
    const C = (400 * 0.9) / 1.11;
    const expected = 0.3 * 10 * (C / (40 * 10)) ** 1.2 * 60;
    const t = timeToDark({ mains: 'off', batterySocPct: 80, batteryCapacityAh: 400, batterySohPct: 90, batteryTempC: 10, loadA: 40 }, params(1.2, 50));
    expect(t.minutes).toBeCloseTo(expected, 6);
    expect(expected).toBeCloseTo(139.9, 0);
  });

  it('Li-ion adds a running generator\'s fuel; a faulty or stopped generator during an outage adds nothing', () => {
    const r = { mains: 'off', batterySocPct: 60, batteryCapacityAh: 300, batterySohPct: 97, batteryTempC: 20, loadA: 45, fuelPct: 50 } as const;
    const battery = 0.5 * 10 * ((300 * 0.97) / 1.04 / (45 * 10)) ** 1.03 * 60;
    expect(timeToDark({ ...r, generator: 'running' }, params(1.03, 90)).minutes).toBeCloseTo(battery + 0.5 * 24 * 60, 6);
    expect(timeToDark({ ...r, generator: 'fault' }, params(1.03, 90)).minutes).toBeCloseTo(battery, 6);
    expect(timeToDark({ ...r, generator: 'off' }, params(1.03, 90)).minutes).toBeCloseTo(battery, 6);
  });

  it('uses the discharge current when the load is not reported, and says unknown without SoC or load', () => {
    expect(timeToDark({ batterySocPct: 100, batteryCapacityAh: 100, batteryA: -10 }, params(1, 100)).minutes).toBeCloseTo(600, 6);
    expect(timeToDark({ batteryCapacityAh: 100, loadA: 10 }, params(1.2, 50)).minutes).toBeNull();
    expect(timeToDark({ batterySocPct: 90, batteryCapacityAh: 100 }, params(1.2, 50)).minutes).toBeNull();
    expect(timeToDark({ batterySocPct: 40, batteryCapacityAh: 100, loadA: 5 }, params(1.2, 50)).minutes).toBe(0);
  });
});
