import { describe, expect, it } from 'vitest';
import type { DmaNight } from '../../water/night-flow.js';
import { judgeDmaNights } from './dma-night.js';
import { testContext } from './test-context.js';

const H = 3_600_000;
const day = (i: number) => `2026-11-${String(10 + i).padStart(2, '0')}`;
/** Night i's window end (04:00 JST of day i). */
const end = (i: number) => Date.parse(`${day(i)}T04:00:00+09:00`);

/** One night's figures as night-flow.ts gives them: `mnf` L/h over `connections` customer meters. */
function night(i: number, mnf: number, o: Partial<DmaNight> = {}): DmaNight {
  const connections = o.connections ?? 50;
  return {
    dma: 'd1', date: day(i), from: end(i) - 2 * H, to: end(i), connections, covered: connections, coveragePct: 100, pending: [],
    inletMinFlowLph: mnf + 10, customerNightFlowLph: 50, legitimateUseLph: 10, mnfLph: mnf, mnfPerConnectionLph: mnf / connections,
    averageDailyFlowLph: 1000, mnfShareOfAdfPct: mnf / 10, complete: true, ...o,
  };
}

function judge(ctx: ReturnType<typeof testContext>, now: number, ...nights: DmaNight[]) {
  ctx.setNow(now);
  judgeDmaNights(ctx, new Map([['d1', nights]]));
}

describe('DMA minimum night flow: judging nights', () => {
  it('learns a per-connection baseline from normal nights and raises on a night well above it', () => {
    const ctx = testContext();
    for (let i = 0; i < 4; i++) judge(ctx, end(i) + H, night(i, [100, 110, 95, 105][i]!));
    expect(ctx.active('dma-night-flow')).toEqual([]);
    judge(ctx, end(4) + H, night(4, 250));
    const [a] = ctx.active('dma-night-flow');
    expect(a).toMatchObject({ deviceId: 'dma:d1', value: 250, detail: { date: day(4), baselinePerConnectionLph: 2.05, rejudged: false } });
    expect(a!.message).toBe(`DMA d1 minimum night flow 250 L/h on the night of ${day(4)} (5 L/h per connection, 50 connections) vs baseline 2.05 L/h per connection`);
  });

  it('a night is judged only once complete (or after its grace); late data re-judges it, raising or clearing', () => {
    const ctx = testContext();
    for (let i = 0; i < 3; i++) judge(ctx, end(i) + H, night(i, 100));
    // A batched meter has not delivered night 3 yet: not judged, whatever the partial figure says.
    judge(ctx, end(3) + H, night(3, 300, { complete: false, pending: ['wm-lora'] }));
    expect(ctx.active()).toEqual([]);
    expect(ctx.state.get<{ nights: Record<string, unknown> }>('dma:d1')!.nights[day(3)]).toBeUndefined();
    // Its batch arrives: the night is complete and high.
    judge(ctx, end(3) + 5 * H, night(3, 300));
    expect(ctx.active('dma-night-flow')).toHaveLength(1);
    // Late data revises it downwards (the batch brought legitimate use): the same night, now normal, clears it.
    judge(ctx, end(3) + 6 * H, night(3, 105));
    expect(ctx.active()).toEqual([]);
    // And back up again: raised again, marked as a re-judgement.
    judge(ctx, end(3) + 7 * H, night(3, 320));
    expect(ctx.active('dma-night-flow')[0]!.detail).toMatchObject({ date: day(3), rejudged: true });
    // The next night's late partial figure opens nothing and clears nothing.
    judge(ctx, end(4) + H, night(3, 320), night(4, 90, { complete: false, pending: ['wm-lora'] }));
    expect(ctx.active('dma-night-flow')[0]!.detail).toMatchObject({ date: day(3) });
    // After the grace period (6 h) it is judged with what came.
    judge(ctx, end(4) + 7 * H, night(3, 320), night(4, 90, { complete: false, pending: ['wm-lora'] }));
    expect(ctx.active()).toEqual([]);
  });

  it('a high night does not become the baseline; a night below the coverage minimum is not judged', () => {
    const ctx = testContext();
    for (let i = 0; i < 3; i++) judge(ctx, end(i) + H, night(i, 100));
    judge(ctx, end(3) + H, night(3, 300));
    judge(ctx, end(4) + H, night(4, 300));
    expect(ctx.active('dma-night-flow')[0]!.detail).toMatchObject({ date: day(4), baselinePerConnectionLph: 2 });
    judge(ctx, end(5) + H, night(5, 100, { covered: 20, coveragePct: 40 }));
    expect(ctx.active('dma-night-flow')[0]!.detail).toMatchObject({ date: day(4) });
  });

  it('baselines are per connection: meters added to a DMA do not look like a leak', () => {
    const ctx = testContext();
    for (let i = 0; i < 3; i++) judge(ctx, end(i) + H, night(i, 100, { connections: 50 }));
    // 30 new homes (and their share of night flow) join the DMA.
    judge(ctx, end(3) + H, night(3, 160, { connections: 80 }));
    expect(ctx.active()).toEqual([]);
    judge(ctx, end(4) + H, night(4, 400, { connections: 80 }));
    expect(ctx.active('dma-night-flow')).toHaveLength(1);
  });
});
