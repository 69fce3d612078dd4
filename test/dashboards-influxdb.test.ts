/**
 * Every query of the generated Grafana dashboards, run on a real InfluxDB (1.6, InfluxQL) holding what the
 * ingest's InfluxDB writer stores for a small fleet over ten days: no query may fail, and the panels
 * that judge something (time to dark, satellite, leaks, isolated islands, NRW) must show the right rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDashboards, dashboardQueries, DMA_INLET_SITE } from '@tsunagaru/dashboards';
import { formatField, InfluxV1Writer, type StorableMessage } from '@tsunagaru/ingest';
import { ALERT_POINT, type DeviceType } from '@tsunagaru/firmware-contracts';
import { INFLUX_ADMIN, INFLUXD_BIN, influxQl, influxRows, serverAvailable, startInfluxDb16, type TsdbServer } from './support/tsdb.js';

const DB = 'tsunagaru';
const STEP = 15 * 60_000;
const NOW = Math.floor(Date.now() / STEP) * STEP;
const DAYS = 10;
const DAY = 86_400_000;
// The meters' ten days end at the last noon in Japan, not at the test's own moment: run between 02:00 and
// 04:00 JST, the night at either end was cut short, one more than the night-flow assertion allows.
const JST_NOON_UTC = 3 * 3_600_000;
const START = Math.floor((NOW - JST_NOON_UTC) / DAY) * DAY + JST_NOON_UTC - DAYS * DAY;
const ATTRS: Record<string, Record<string, unknown>> = {
  'p-1': { site: 'nishi-shinjuku' },
  'm-1': { dma: 'nakano-3' },
  'm-2': { dma: 'nakano-3', welfareWatch: true },
  'm-inlet': { dma: 'nakano-3', site: DMA_INLET_SITE },
  'b-city': { site: 'tokyo-metropolitan-government' },
  'b-island': { site: 'oshima-motomachi', island: 'oshima' },
  'r-oshima': { island: 'oshima' },
};

let seq = 0;
function telemetry(type: DeviceType, deviceId: string, samples: Array<Record<string, unknown> & { ts: number }>): StorableMessage[] {
  const out: StorableMessage[] = [];
  for (let i = 0; i < samples.length; i += 96) {
    const chunk = samples.slice(i, i + 96);
    out.push({ channel: 'telemetry', type, deviceId, receivedAt: NOW, payload: { v: 1, id: deviceId, boot: 1, seq: seq++, ts: chunk[0]!.ts, samples: chunk } } as unknown as StorableMessage);
  }
  return out;
}
const steps = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * STEP);

/** Meters every 15 min for 10 days: little use at night (JST 01–05), more by day; m-1 leaks 20 L/h throughout. */
function meter(id: string, leakLph: number, scale: number) {
  let index = 1_000;
  return steps(START, DAYS * 96).map((ts, i) => {
    const hourJst = (new Date(ts).getUTCHours() + 9) % 24;
    const flowLph = (hourJst >= 1 && hourJst < 5 ? 2 : 40) * scale + leakLph;
    if (i > 0) index += Math.round(flowLph / 4);
    return { ts, indexL: index, flowLph, batteryPct: 90, alarms: leakLph > 0 && i === DAYS * 96 - 1 ? ['leak'] : [] };
  });
}

const meters = { 'm-1': meter('m-1', 20, 1), 'm-2': meter('m-2', 0, 0.5), 'm-inlet': meter('m-inlet', 0, 2) };
const MESSAGES: StorableMessage[] = [
  ...telemetry('smart-pole', 'p-1', steps(NOW - 2 * 3_600_000, 8).map((ts, i) => ({ ts, fiveG: i === 5 ? 'down' : 'up', cabinetTempC: 38 + i, doorOpen: i === 6, powerW: 400 + i }))),
  ...Object.entries(meters).flatMap(([id, samples]) => telemetry('water-meter', id, samples)),
  ...telemetry('bs-power', 'b-city', [{ ts: NOW - STEP, mains: 'on', batterySocPct: 100, runtimeMin: 1_440, backhaul: 'fiber', generator: 'off', loadA: 30 }]),
  ...telemetry('bs-power', 'b-island', [{ ts: NOW - STEP, mains: 'off', batterySocPct: 22, runtimeMin: 45, backhaul: 'satellite', generator: 'fault', loadA: 41 }]),
  ...telemetry('ring-node', 'r-oshima', [{ ts: NOW - STEP, segments: [{ id: 'oshima-toshima', state: 'up' }, { id: 'toshima-niijima', state: 'down' }, { id: 'kozushima-mikurajima', state: 'down' }] }]),
  { channel: 'event', type: 'smart-pole', deviceId: 'p-1', receivedAt: NOW, payload: { v: 1, id: 'p-1', boot: 1, seq: seq++, ts: NOW - 3_600_000, type: 'door_open' } } as unknown as StorableMessage,
];

/** An alert point as ALERT_POINT describes it (what an alert writer must produce). */
function alertLine(ts: number, tags: Record<string, string>, values: Record<string, unknown>): string {
  const tagPart = Object.keys(tags).sort().map((k) => `,${k}=${tags[k]}`).join('');
  const fields = ALERT_POINT.fields.filter((f) => f.name in values).map((f) => `${f.name}=${formatField(f, values[f.name])}`);
  return `${ALERT_POINT.measurement}${tagPart} ${fields.join(',')} ${ts}`;
}
const isolated = (island: string, state: 'active' | 'cleared', ts: number) =>
  alertLine(ts, { deviceId: 'izu-ring', rule: 'ring-island-isolated', group: 'disaster', object: island }, { state, severity: 'critical', message: `${island} isolated`, acknowledged: false, id: `a-${island}` });
const ALERTS = [
  ...['niijima', 'shikinejima', 'kozushima'].map((i) => isolated(i, 'active', NOW - 2 * STEP)),
  isolated('toshima', 'active', NOW - 3 * STEP),
  isolated('toshima', 'cleared', NOW - 2 * STEP),
  alertLine(NOW - STEP, { deviceId: 'm-2', type: 'water-meter', dma: 'nakano-3', rule: 'welfare-watch', group: 'water' }, { state: 'active', severity: 'critical', message: 'no water used', acknowledged: false, id: 'a-w' }),
  alertLine(NOW - STEP, { deviceId: 'p-1', type: 'smart-pole', site: 'nishi-shinjuku', rule: 'device-offline', group: 'field' }, { state: 'active', severity: 'major', message: 'offline', acknowledged: true, id: 'a-o' }),
];

/** Grafana's macros and variables as Grafana would expand them for "last 11 days", "All". */
const expand = (query: string) => query.replaceAll('$timeFilter', `time > now() - ${DAYS + 1}d`).replaceAll('$__interval', '15m').replace(/\$(dma|pole)\b/g, '.*');

describe.runIf(serverAvailable(INFLUXD_BIN))('dashboard queries on a real InfluxDB', () => {
  let influx: TsdbServer;
  const dashboards = allDashboards();
  const queries = Object.values(dashboards).flatMap(dashboardQueries);
  const run = (where: string) => {
    const found = queries.find((q) => q.where.includes(where));
    if (!found) throw new Error(`no query at ${where}`);
    return influxRows(influx.url, DB, expand(found.query));
  };

  beforeAll(async () => {
    influx = await startInfluxDb16(DB);
    const writer = new InfluxV1Writer({ url: influx.url, db: DB, user: INFLUX_ADMIN.user, password: INFLUX_ADMIN.password, attributes: (id) => ATTRS[id] });
    await writer.write(MESSAGES);
    const auth = `Basic ${Buffer.from(`${INFLUX_ADMIN.user}:${INFLUX_ADMIN.password}`).toString('base64')}`;
    const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', headers: { authorization: auth }, body: ALERTS.join('\n') });
    expect(res.status, await res.text()).toBe(204);
  });
  afterAll(async () => influx?.dispose());

  it('runs every query of every dashboard without an error', async () => {
    expect(queries.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const { where, query } of queries) await influxQl(influx.url, expand(query), DB).catch((err: Error) => failures.push(`${where}: ${err.message}`));
    expect(failures).toEqual([]);
  });

  it('disaster ops: time to dark per site, satellite backhaul, isolated islands, critical alerts without welfare', async () => {
    const sites = await run('"Sites by controller\'s battery time left');
    expect(sites.map((r) => [r.site, r.controllerTimeLeftMin, r.backhaul])).toEqual(expect.arrayContaining([['oshima-motomachi', 45, 1], ['tokyo-metropolitan-government', 1440, 2]]));
    expect((await run('"Sites on satellite backhaul"')).map((r) => r.site)).toEqual(['oshima-motomachi']);
    expect((await run('"Sites on battery"'))[0]?.sites).toBe(1);
    expect((await run('"Isolated islands"')).map((r) => r.object).sort()).toEqual(['kozushima', 'niijima', 'shikinejima']);
    const critical = await run('"Active critical alerts"');
    expect(critical.map((r) => r.rule)).not.toContain('welfare-watch');
    expect(critical).toHaveLength(3);
    const segments = await run('"Ring segments"');
    expect(segments.filter((r) => r.min === 0).length).toBeGreaterThan(0);
  });

  it('water bureau: consumption, leaks, night flow against its baseline, inlet against customers', async () => {
    const used = (id: keyof typeof meters) => meters[id].at(-1)!.indexL - meters[id][0]!.indexL;
    const [total] = await run('"Consumption over the range"');
    expect(total).toMatchObject({ dma: 'nakano-3', litres: used('m-1') + used('m-2') });
    expect((await run('"Meters reporting a leak"')).map((r) => r.deviceId)).toEqual(['m-1']);
    const [inlet] = await run('"Non-revenue water share" A');
    expect(inlet?.litres).toBe(used('m-inlet'));
    // Night flow as the ingest defines it (water/night-flow.ts): the inlet's lowest quarter-hour flow in
    // 02:00–04:00 JST (1 L a quarter: 4 L/h) and the customers' night use (m-1: 6 L a quarter with its
    // leak, m-2: nothing), of which the panel's math takes 20 % off.
    const nights = await run('"Minimum night flow at the inlet" A');
    expect(nights.filter((r) => r.inlet !== null).map((r) => r.inlet)).toContain(4);
    const customers = (await run('"Minimum night flow at the inlet" B')).filter((r) => r.customers !== null).map((r) => r.customers as number);
    // Every whole night reads 24 L/h; the panel's first day may lack its first quarter (no index before it).
    expect(customers.filter((c) => c === 24).length).toBeGreaterThanOrEqual(customers.length - 1);
    expect((await run('"Meter alarms by flag" A')).some((r) => Number(r.count) > 0)).toBe(true);
  });

  it('field engineers: reporting devices, offline alerts, 5G, door events', async () => {
    expect((await run('"Devices reporting (last 30m)" A'))[0]?.devices).toBe(1);
    expect((await run('"Devices offline"')).map((r) => r.deviceId)).toEqual(['p-1']);
    expect((await run('"5G radio"')).some((r) => r.last === 0)).toBe(true);
    expect((await run('"Door events"')).map((r) => r.event)).toEqual(['door_open']);
  });
});
