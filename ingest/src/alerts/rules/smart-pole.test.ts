import { describe, expect, it } from 'vitest';
import { onPoleEvent, onPoleSamples, wbgt } from './smart-pole.js';
import { testContext } from './test-context.js';

const T0 = Date.UTC(2026, 7, 1, 5, 0, 0);

describe('smart-pole rules', () => {
  it('WBGT follows the domain formula (shade, still air by default)', () => {
    expect(wbgt(35, 60)).toBeCloseTo(0.735 * 35 + 0.0374 * 60 + 0.00292 * 35 * 60 - 4.064, 9);
    expect(wbgt(30, 70, 0.8, 2)).toBeCloseTo(0.735 * 30 + 0.0374 * 70 + 0.00292 * 30 * 70 + 7.619 * 0.8 - 4.557 * 0.64 - 0.0572 * 2 - 4.064, 9);
  });

  it('raises WBGT danger at ≥ 31 and holds it within the deadband', () => {
    const ctx = testContext();
    onPoleSamples(ctx, 'p', [{ ts: T0, airTempC: 38, humidityPct: 70 }]);
    expect(ctx.active('pole-wbgt-danger')[0]).toMatchObject({ severity: 'major' });
    onPoleSamples(ctx, 'p', [{ ts: T0 + 60_000, airTempC: 30, humidityPct: 50 }]);
    expect(ctx.active('pole-wbgt-danger')).toEqual([]);
  });

  it('5G down, door open and cabinet temperature tiers from samples and events; partial samples keep the rest', () => {
    const ctx = testContext();
    onPoleSamples(ctx, 'p', [{ ts: T0, fiveG: 'down', cabinetTempC: 46 }]);
    onPoleSamples(ctx, 'p', [{ ts: T0 + 1000, noiseDb: 55 }]);
    expect(ctx.active().map((c) => [c.rule, c.severity]).sort()).toEqual([['pole-5g-down', 'major'], ['pole-cabinet-overtemp', 'warning']]);
    onPoleEvent(ctx, 'p', 'door_open', T0 + 2000);
    onPoleEvent(ctx, 'p', 'fiveg_up', T0 + 2000);
    expect(ctx.active().map((c) => c.rule).sort()).toEqual(['pole-cabinet-overtemp', 'pole-door-open']);
  });
});
