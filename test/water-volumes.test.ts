/**
 * Water figures with exact answers worked out by hand, over the real stack (MQTT → broker → ingest →
 * DuckDB → API): meters at different intervals, periods that cut between readings, a silent meter, a late
 * meter, a register rollover, the night flow at the inlet, monthly reads and usage with its notice.
 *
 * Local time is JST (UTC+9). The day under test is 2026-11-30 JST: D0 = 2026-11-30T00:00+09:00.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, tokensPathFor } from '@tsunagaru/ingest';
import { apiClient } from './support/api-client.js';
import { devicePublisher } from './support/publisher.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

const H = 3_600_000;
const Q = 15 * 60_000;
const D0 = Date.parse('2026-11-30T00:00:00+09:00');
/** The ingest's clock while the meters publish: 2026-12-01 12:00 JST, within November's grace (24 h). */
const PUBLISHED = D0 + 36 * H;
/** … and afterwards: 2026-12-02 03:00 JST, past November's grace, when its usage notices are judged. */
const NOW = D0 + 51 * H;

/** Readings every `step` from `from` to `to` (inclusive) of a register growing at `lph`. */
const linear = (from: number, to: number, step: number, index0: number, lph: number) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => ({ ts: from + i * step, indexL: Math.round(index0 + (lph * i * step) / H) }));

/** Hourly readings at :30 with 20 L in the first hour, 30 L/h for 23 hours, then 60 L (hand-checked below). */
const uneven = [{ ts: D0 - H / 2, indexL: 2000 }, ...Array.from({ length: 24 }, (_, k) => ({ ts: D0 + H / 2 + k * H, indexL: 2020 + 30 * k })), { ts: D0 + 24.5 * H, indexL: 2770 }];

/** A register one step from wrapping: 8 digits, 100 L/h; it shows 0 again at D0 + 3 h. */
const rolling = linear(D0 - H, D0 + 25 * H, Q, 99_999_600, 100).map((s) => ({ ...s, indexL: s.indexL % 100_000_000 }));

/** A reading every day at noon JST from Aug 31 to Dec 1: 100 L/day in Sep and Oct, 200 L/day from Nov 1. */
const monthly = (() => {
  const out: Array<{ ts: number; indexL: number }> = [];
  let index = 10_000;
  for (let t = Date.parse('2026-08-31T12:00:00+09:00'); t <= Date.parse('2026-12-01T12:00:00+09:00'); t += 24 * H) {
    if (out.length > 0) index += new Date(t + 9 * H).getUTCMonth() >= 10 ? 200 : 100;
    out.push({ ts: t, indexL: index });
  }
  return out;
})();

describe('water figures from interpolated registers (hand-made cases)', () => {
  let stack: Stack;
  let now = PUBLISHED;
  const get = async (path: string) => {
    const res = await stack.api.get(path);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  beforeAll(async () => {
    stack = await startStack({ clock: () => now });
    const devices = devicePublisher(stack, () => now);
    const meters: Array<[string, Record<string, string | boolean>, Array<{ ts: number; indexL: number }>]> = [
      // DMA exact-1: every meter reads around both ends of the day.
      ['ex-inlet', { dma: 'exact-1', site: 'dma-inlet' }, linear(D0 - H, D0 + 25 * H, Q, 50_000, 200)],
      ['ex-a', { dma: 'exact-1' }, linear(D0 - H, D0 + 25 * H, Q, 1000, 40)],
      ['ex-b', { dma: 'exact-1' }, linear(D0 - H / 2, D0 + 24.5 * H, H, 5000, 60)],
      ['ex-e', { dma: 'exact-1' }, uneven],
      // DMA gaps-2: one meter reads, one went silent three days ago, one is late (nothing after 20:00).
      ['gp-inlet', { dma: 'gaps-2', site: 'dma-inlet' }, linear(D0 - H, D0 + 25 * H, Q, 80_000, 100)],
      ['gp-c', { dma: 'gaps-2' }, linear(D0 - H, D0 + 25 * H, Q, 3000, 20)],
      ['gp-silent', { dma: 'gaps-2' }, linear(D0 - 80 * H, D0 - 72 * H, H, 7000, 25)],
      ['gp-late', { dma: 'gaps-2' }, linear(D0 - 4 * H, D0 + 20 * H, H, 9000, 30)],
      ['roll', { dma: 'roll-3' }, rolling],
      ['household', { dma: 'roll-3' }, monthly],
    ];
    for (const [id, attrs] of meters) await devices.provision(id, 'water-meter', attrs);
    for (const [id, , samples] of meters) await devices.publish(id, samples);
    await devices.close();
    // Every message stored before the clock passes November's grace: the engine's own clock judges the
    // month once, at its first evaluation after that, from what the store holds then (a store still
    // writing the household's readings made the notice of the month missing under load).
    await waitFor('every message stored', () => stack.ingest.pipeline.counters().byOutcome.stored >= meters.length);
    now = NOW;
  });
  afterAll(async () => stack?.close());

  it('a DMA whose meters all read around the day: exact volumes, whatever the meters\' intervals', async () => {
    const body = await get(`/api/v1/water/dmas?from=${D0}&to=${D0 + 24 * H}`);
    const exact = body.dmas.find((d: { dma: string }) => d.dma === 'exact-1');
    // Inlet 200 L/h × 24 h; customers 40 × 24 + 60 × 24 + (2740 − 2010): ex-e is read at :30, so its
    // register at 00:00 is 2000 + ½ × 20 and at 24:00 2710 + ½ × 60 (the readings inside the day alone say 690).
    expect(exact).toMatchObject({
      connections: 3, covered: 3, estimated: 0, missing: 0, coveragePct: 100,
      inletLitres: 4800, customerLitres: 960 + 1440 + 730, estimatedLitres: 0, nonRevenueLitres: 4800 - 3130, nonRevenuePct: 34.8,
      complete: true, incomplete: [],
    });
  });

  it('a period that cuts between hourly readings takes the interpolated share of each interval', async () => {
    // ex-e reads 2020 at 00:30 … 2050 at 01:30 … 2080 at 02:30; [01:00, 02:00) = 2065 − 2035.
    const body = await get(`/api/v1/water/dmas?from=${D0 + H}&to=${D0 + 2 * H}`);
    const exact = body.dmas.find((d: { dma: string }) => d.dma === 'exact-1');
    expect(exact.customerLitres).toBe(40 + 60 + 30);
    expect(exact.inletLitres).toBe(200);
  });

  it('a silent meter is missing (not zero use), a late one estimated, and the balance says it is incomplete', async () => {
    const body = await get(`/api/v1/water/dmas?from=${D0}&to=${D0 + 24 * H}`);
    const gaps = body.dmas.find((d: { dma: string }) => d.dma === 'gaps-2');
    expect(gaps).toMatchObject({
      connections: 3, covered: 1, estimated: 1, missing: 1, coveragePct: 33.3,
      // gp-late: 30 L/h extrapolated from its last reading at 20:00 to 24:00 at its mean flow.
      customerLitres: 480 + 720, estimatedLitres: 720, estimatedPct: 60, inletLitres: 2400, nonRevenueLitres: 1200, complete: false,
    });
    expect(gaps.incomplete).toEqual(['2 of 3 customer meters without readings around both ends (1 estimated, 1 missing); coverage 33.3 % < 98 %']);
  });

  it('a register rollover keeps its litres and is flagged', async () => {
    const body = await get(`/api/v1/water/meters/roll/usage?interval=day&from=${D0}&to=${D0 + 24 * H}`);
    expect(body.buckets).toEqual([{ period: '2026-11-30', from: D0, to: D0 + 24 * H, litres: 2400, covered: true, estimated: false, rollovers: 1, resets: 0 }]);
  });

  it('night flow: the inlet\'s lowest flow in 02:00–04:00, less the legitimate share of the customers\' night use', async () => {
    const body = await get(`/api/v1/water/dmas/exact-1/daily?from=${D0}&to=${D0 + 24 * H}`);
    expect(body.days).toHaveLength(1);
    const { night, balance } = body.days[0];
    expect(balance.nonRevenueLitres).toBe(1670);
    // Customers at night: 40 + 60 + 30 L/h; 20 % of it is legitimate use; 200 − 26 = 174 L/h, 58 per connection.
    expect(night).toMatchObject({ date: '2026-11-30', inletMinFlowLph: 200, customerNightFlowLph: 130, legitimateUseLph: 26, mnfLph: 174, mnfPerConnectionLph: 58, averageDailyFlowLph: 200, mnfShareOfAdfPct: 87, complete: true, pending: [] });
  });

  it('monthly register reads at the boundary, as JSON and CSV for billing', async () => {
    const body = await get('/api/v1/water/reads?month=2026-11&dma=exact-1');
    expect(body.reads.map((r: Record<string, unknown>) => [r.deviceId, r.startHow, r.endIndexL, r.endHow, r.consumptionL])).toEqual([
      ['ex-a', 'unknown', 1000 + 25 * 40, 'read', null],
      ['ex-b', 'unknown', 5000 + 24.5 * 60, 'interpolated', null],
      ['ex-e', 'unknown', 2740, 'interpolated', null],
      ['ex-inlet', 'unknown', 50_000 + 25 * 200, 'read', null],
    ]);
    const household = (await get('/api/v1/water/reads?month=2026-11&dma=roll-3')).reads.find((r: { deviceId: string }) => r.deviceId === 'household');
    // Oct 31 noon … Nov 30 noon: 30 days of 200 L; each month boundary lies half-way through a day's 200 L.
    expect(household).toMatchObject({ startIndexL: 10_000 + 61 * 100 + 100, endIndexL: 10_000 + 61 * 100 + 30 * 200 + 100, consumptionL: 6000, estimated: false });
    const csv = await fetch(`${stack.ingest.httpUrl}/api/v1/water/reads.csv?month=2026-11&dma=roll-3`, { headers: { authorization: 'Bearer integration-test-token-0123456789' } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('deviceId,dma,inlet,month,startIndexL,endIndexL,consumptionL,estimated,startHow,endHow,rollovers,resets');
    expect(lines.find((l) => l.startsWith('household,'))).toBe(`household,roll-3,false,2026-11,${16_200},${22_200},6000,false,interpolated,interpolated,0,0`);
  });

  it('usage per month with the month before and last year\'s, and the notice when it rises', async () => {
    const body = await get(`/api/v1/water/meters/household/usage?interval=month&from=${Date.parse('2026-10-01T00:00:00+09:00')}&to=${Date.parse('2026-12-01T00:00:00+09:00')}`);
    // October: Sep 30 noon + 50 L → Oct 31 noon + 100 L; November: 30 × 200 L.
    expect(body.buckets.map((b: Record<string, unknown>) => [b.period, b.litres, b.previousLitres, b.lastYearLitres])).toEqual([
      ['2026-10', 3150, 3000, null],
      ['2026-11', 6000, 3150, null],
    ]);
    await stack.ingest.alerting.engine.tick();
    // Judged by this evaluation, or by the engine's own clock when its read of the month was already under way.
    const alerts = await waitFor('the usage notice', async () => {
      const listed = (await get('/api/v1/alerts?type=water-usage-rise')).alerts as Array<Record<string, any>>;
      return listed.length > 0 ? listed : undefined;
    }, 30_000);
    expect(alerts.map((a) => [a.deviceId, a.detail.month, a.detail.litres, a.detail.previousLitres])).toEqual([['household', '2026-11', 6000, 3150]]);
    expect(alerts[0]!.message).toBe('water use in 2026-11: 6,000 L, up 90 % on the month before (3,150 L)');
  });

  it('refuses what it cannot answer, and keeps water figures from roles without water meters', async () => {
    expect((await stack.api.get('/api/v1/water/reads?month=2026-13')).status).toBe(400);
    expect((await stack.api.get('/api/v1/water/dmas/nowhere/daily')).body).toMatchObject({ statusCode: 404, message: 'no water meters in DMA "nowhere"' });
    expect((await stack.api.get('/api/v1/water/meters/nobody/usage')).status).toBe(404);
    const { token } = await addToken(tokensPathFor(stack.dataDir), 'water-bureau', 'bureau');
    expect((await apiClient(stack.ingest.httpUrl, token).get(`/api/v1/water/dmas?from=${D0}&to=${D0 + 24 * H}`)).body.count).toBe(3);
  });
});
