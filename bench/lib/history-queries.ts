/**
 * The history suite's questions, asked of our API and of the peers in their own query languages:
 * - device detail: everything latest about one meter (ours: GET /api/v1/devices/:id);
 * - one meter's readings over the last 24 h, raw;
 * - one meter's daily usage over the whole history (Japan days);
 * - one DMA's daily balance over the whole history (its meters' daily usage summed).
 * Each function returns the time to a parsed answer, in ms, and checks the answer is not empty.
 */
import { DAY_MS } from './history-generate.js';

const JST_OFFSET_H = 9;

async function timed(what: string, f: () => Promise<{ ok: boolean; body: unknown }>): Promise<number> {
  const t0 = performance.now();
  const { ok, body } = await f();
  const ms = performance.now() - t0;
  if (!ok) throw new Error(`${what}: ${JSON.stringify(body).slice(0, 500)}`);
  return ms;
}

export interface Questions {
  deviceDetail(id: string): Promise<number>;
  raw24h(id: string, to: number): Promise<number>;
  dailyUsage(id: string, from: number, to: number): Promise<number>;
  dmaBalance(dma: string, from: number, to: number): Promise<number>;
}

export function ourQuestions(httpUrl: string, token: string): Questions {
  const get = (path: string, check: (b: any) => boolean) =>
    timed(path, async () => {
      const r = await fetch(`${httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await r.json()) as any;
      return { ok: r.status === 200 && check(body), body };
    });
  return {
    deviceDetail: (id) => get(`/api/v1/devices/${id}`, (b) => typeof b.latest?.indexL?.value === 'number'),
    raw24h: (id, to) => get(`/api/v1/devices/${id}/readings?from=${to - DAY_MS}&to=${to}&limit=200`, (b) => b.count >= 90),
    dailyUsage: (id, from, to) => get(`/api/v1/devices/${id}/readings?from=${from}&to=${to}&interval=1d&agg=usage&reading=indexL`, (b) => b.points.some((p: any) => p.values.indexL.usage > 0)),
    dmaBalance: (dma, from, to) => get(`/api/v1/series?dma=${dma}&reading=indexL&from=${from}&to=${to}&interval=1d&agg=usage`, (b) => b.points.some((p: any) => p.values.usage > 0)),
  };
}

/** InfluxQL on InfluxDB 1.6: days grouped at Tokyo midnight (15:00 UTC), usage as the register's spread. */
export function influxQuestions(url: string): Questions {
  const q = (query: string) =>
    timed(query, async () => {
      const r = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q: query, db: 'tsunagaru', epoch: 'ms' }) });
      const body = (await r.json()) as any;
      return { ok: r.status === 200 && !body.results?.[0]?.error && (body.results?.[0]?.series?.[0]?.values?.length ?? 0) > 0, body };
    });
  const days = `GROUP BY time(1d, ${24 - JST_OFFSET_H}h)`;
  const range = (from: number, to: number) => `time >= ${from}ms AND time < ${to}ms`;
  return {
    deviceDetail: (id) => q(`SELECT last(*) FROM water_meter WHERE deviceId = '${id}'`),
    raw24h: (id, to) => q(`SELECT * FROM water_meter WHERE deviceId = '${id}' AND ${range(to - DAY_MS, to)}`),
    dailyUsage: (id, from, to) => q(`SELECT spread("indexL") FROM water_meter WHERE deviceId = '${id}' AND ${range(from, to)} ${days}`),
    dmaBalance: (dma, from, to) => q(`SELECT sum("usage") FROM (SELECT spread("indexL") AS "usage" FROM water_meter WHERE dma = '${dma}' AND ${range(from, to)} ${days}, deviceId) WHERE ${range(from, to)} ${days}`),
  };
}

/** MetricsQL on VictoriaMetrics: usage as increase() over each Japan day, evaluated at its end. */
export function victoriaQuestions(url: string): Questions {
  const get = (path: string, check: (b: any) => boolean) =>
    timed(path, async () => {
      const r = await fetch(`${url}${path}`);
      const text = await r.text();
      const body = path.startsWith('/api/v1/export') ? text : (JSON.parse(text) as any);
      return { ok: r.status === 200 && check(body), body: typeof body === 'string' ? body.slice(0, 200) : body };
    });
  const s = (ms: number) => (ms / 1000).toFixed(3);
  const series = (b: any) => (b.data?.result?.length ?? 0) > 0;
  const daily = (expr: string, from: number, to: number) => `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${s(from + DAY_MS)}&end=${s(to)}&step=1d`;
  return {
    // Looking back 2 days: the peers hold the day before today, which ended up to 24 h before now (ours and
    // InfluxQL's last() have no look-back limit).
    deviceDetail: (id) => get(`/api/v1/query?query=${encodeURIComponent(`last_over_time({__name__=~"water_meter_.*",deviceId="${id}"}[2d])`)}`, series),
    raw24h: (id, to) => get(`/api/v1/export?${new URLSearchParams({ 'match[]': `{__name__=~"water_meter_.*",deviceId="${id}"}`, start: s(to - DAY_MS), end: s(to) })}`, (b: string) => b.length > 0),
    dailyUsage: (id, from, to) => get(daily(`increase(water_meter_indexL{deviceId="${id}"}[1d])`, from, to), series),
    dmaBalance: (dma, from, to) => get(daily(`sum(increase(water_meter_indexL{dma="${dma}"}[1d]))`, from, to), series),
  };
}

/** Runs `ask` for each of `subjects`, in turn, `rounds` times: one list of latencies per round. */
export async function rounds(n: number, subjects: readonly string[], ask: (s: string) => Promise<number>): Promise<number[][]> {
  const out: number[][] = [];
  for (let r = 0; r < n; r++) {
    const round: number[] = [];
    for (const s of subjects) round.push(await ask(s));
    out.push(round);
  }
  return out;
}
