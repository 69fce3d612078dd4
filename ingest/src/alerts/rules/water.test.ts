import { describe, expect, it } from 'vitest';
import { evaluateWelfareSilence, onWaterEvent, onWaterSamples } from './water.js';
import { testContext } from './test-context.js';

const T0 = Date.UTC(2026, 10, 23, 3, 0, 0); // 12:00 JST
const Q = 15 * 60_000;
const H = 3_600_000;

/** Samples every 15 min with the given litres per interval. */
function series(litresPerQuarter: (i: number) => number, n: number, start = T0, index0 = 1000, extra: (i: number) => object = () => ({})) {
  let index = index0;
  return Array.from({ length: n }, (_, i) => {
    if (i > 0) index += litresPerQuarter(i);
    return { ts: start + i * Q, indexL: index, ...extra(i) };
  });
}

describe('water rules', () => {
  it('leak: raises after 24 h without a flow-free hour, clears after one dry hour', () => {
    const ctx = testContext();
    onWaterSamples(ctx, 'wm', series(() => 2, 4 * 25));
    expect(ctx.active('water-leak').map((c) => c.deviceId)).toEqual(['wm']);
    const last = 1000 + 2 * 99;
    onWaterSamples(ctx, 'wm', series(() => 0, 5, T0 + 100 * Q, last).slice(1));
    expect(ctx.active('water-leak')).toEqual([]);
  });

  it('leak: a household with quiet nights never raises', () => {
    const ctx = testContext();
    // Use only between 06:00 and 24:00 JST (21:00–15:00 UTC): dry from 00:00 to 06:00 JST.
    onWaterSamples(ctx, 'wm', series((i) => ((new Date(T0 + i * Q).getUTCHours() + 9) % 24 >= 6 ? 5 : 0), 4 * 72));
    expect(ctx.active()).toEqual([]);
  });

  it('burst: flow above 10 % of nominal for 30 min, not for a 15-minute shower', () => {
    const ctx = testContext({}, { water: { burstSharePct: 10 } });
    // 2500 L/h nominal → 250 L/h; a 15-min shower of 100 L (400 L/h) then normal use.
    onWaterSamples(ctx, 'wm', series((i) => (i === 2 ? 100 : 5), 6));
    expect(ctx.active('water-burst')).toEqual([]);
    onWaterSamples(ctx, 'wm', series(() => 80, 4, T0 + 5 * Q, 1000 + 5 * 4 + 100).slice(1));
    expect(ctx.active('water-burst')).toHaveLength(1);
  });

  it('backflow, low battery with deadband, and the meter\'s own flags and events', () => {
    const ctx = testContext();
    onWaterSamples(ctx, 'wm', [{ ts: T0, indexL: 500, batteryPct: 9.5, alarms: ['tamper'] }, { ts: T0 + Q, indexL: 495, batteryPct: 9.9 }]);
    expect(ctx.active().map((c) => `${c.rule}/${c.object ?? ''}`).sort()).toEqual(['meter-alarm/tamper', 'water-backflow/', 'water-low-battery/']);
    onWaterSamples(ctx, 'wm', [{ ts: T0 + 2 * Q, indexL: 496, batteryPct: 12, alarms: [] }]);
    expect(ctx.active().map((c) => c.rule).sort()).toEqual(['water-low-battery']); // 12 % is inside the 5-point deadband
    onWaterSamples(ctx, 'wm', [{ ts: T0 + 3 * Q, indexL: 497, batteryPct: 15.5 }]);
    expect(ctx.active()).toEqual([]);
    onWaterEvent(ctx, 'wm', 'burst');
    expect(ctx.active()[0]).toMatchObject({ rule: 'meter-alarm', object: 'burst', severity: 'major' });
  });

  it('welfare watch: only with welfareWatch = true, after the configured hours (or the household\'s own)', () => {
    const ctx = testContext({ watched: { welfareWatch: true }, short: { welfareWatch: 'true', welfareHours: 4 }, other: {} }, { water: { welfareNoUseHours: 12 } });
    const idle = series((i) => (i === 1 ? 10 : 0), 4 * 13);
    for (const id of ['watched', 'short', 'other']) onWaterSamples(ctx, id, idle);
    expect(ctx.active('welfare-watch').map((c) => c.deviceId).sort()).toEqual(['short', 'watched']);
    onWaterSamples(ctx, 'watched', [{ ts: T0 + 52 * Q, indexL: 1025 }]); // 15 L in 15 min: use, above a drip
    expect(ctx.active('welfare-watch').map((c) => c.deviceId)).toEqual(['short']);
  });

  it('burst by default: > 30 % of Q3 for 30 min; a 30-minute bath at 500 L/h is not one', () => {
    const ctx = testContext({ small: { q3Lph: 1600 } });
    onWaterSamples(ctx, 'wm', series((i) => (i >= 1 && i <= 2 ? 125 : 5), 8)); // 500 L/h for 30 min
    expect(ctx.active('water-burst')).toEqual([]);
    onWaterSamples(ctx, 'wm', series(() => 200, 4, T0 + 7 * Q, 1000 + 250 + 6 * 5).slice(1)); // 800 L/h for 45 min
    expect(ctx.active('water-burst')).toHaveLength(1);
    // A smaller meter (Q3 1.6 m³/h): 30 % is 480 L/h, so 500 L/h for 45 min is one.
    onWaterSamples(ctx, 'small', series(() => 125, 4));
    expect(ctx.active('water-burst').map((c) => c.deviceId).sort()).toEqual(['small', 'wm']);
  });

  it('one leak alert per meter, saying whether the meter, the rule or both see it', () => {
    const ctx = testContext();
    onWaterSamples(ctx, 'wm', series(() => 2, 4, T0, 1000, (i) => (i === 3 ? { alarms: ['leak'] } : {})));
    expect(ctx.active().map((c) => [c.rule, c.object, c.detail?.seenBy])).toEqual([['water-leak', null, 'meter']]);
    onWaterSamples(ctx, 'wm', series(() => 2, 4 * 25, T0 + 3 * Q, 1006).slice(1));
    expect(ctx.active().map((c) => [c.rule, c.detail?.seenBy])).toEqual([['water-leak', 'both']]);
    expect(ctx.active()[0]!.message).toMatch(/^continuous flow: no flow-free 60 min in the last 25\.5 h, and the meter's own leak alarm$/);
  });

  it('welfare: a dripping tap (8 L/h) is no sign of life; a silent enrolled meter is a welfare concern', () => {
    const ctx = testContext({ drip: { welfareWatch: true }, lives: { welfareWatch: true }, other: {} }, { water: { welfareNoUseHours: 12, welfareSilentHours: 12 } });
    onWaterSamples(ctx, 'drip', series(() => 2, 4 * 13));
    onWaterSamples(ctx, 'lives', series((i) => (i % 8 === 0 ? 12 : 2), 4 * 13));
    expect(ctx.active('welfare-watch').map((c) => c.deviceId)).toEqual(['drip']);
    const seen = (id: string, hoursAgo: number) => ({ deviceId: id, type: 'water-meter' as const, lastSeen: T0 - hoursAgo * H, sampleSec: 900, online: true });
    ctx.setNow(T0);
    evaluateWelfareSilence(ctx, [seen('drip', 1), seen('lives', 13), seen('other', 30)]);
    expect(ctx.active('welfare-silent').map((c) => [c.deviceId, c.detail?.welfareWatch])).toEqual([['lives', true]]);
    evaluateWelfareSilence(ctx, [seen('lives', 0)]);
    expect(ctx.active('welfare-silent')).toEqual([]);
  });
});
