/**
 * The InfluxDB writers against real servers: InfluxDB 1.6 through the v1 /write API (read back with
 * InfluxQL /query) and VictoriaMetrics through the v2 API (read back with /api/v1/export). What the
 * devices sent must come back field by field; a rewrite must not add points; each field keeps one type.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxV1Writer, InfluxV2Writer, type StorableMessage } from '@tsunagaru/ingest';
import { INFLUX_TYPE, TELEMETRY_MEASUREMENTS, type DeviceType } from '@tsunagaru/firmware-contracts';
import { fromInfluxRows, fromVictoriaExport, type ReadBack } from './support/influx-readback.js';
import { INFLUX_ADMIN, INFLUXD_BIN, influxQl, influxRows, serverAvailable, startInfluxDb16, startVictoriaMetrics, VICTORIA_BIN, victoriaExport, type TsdbServer } from './support/tsdb.js';
import { waitFor } from './support/wait-for.js';

// Recent timestamps: VictoriaMetrics refuses samples far outside its retention or in the future.
const T = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const ATTRS: Record<string, Record<string, unknown>> = {
  'p-1': { site: 'nishi-shinjuku', poleType: 'signage' },
  'm-1': { dma: 'nakano-3', note: 'free text with spaces is never a tag' },
  'b-1': { site: 'oshima-motomachi', island: 'oshima', targetHours: 72 },
  'r-1': { island: 'oshima', gateway: true },
};
const attributes = (id: string) => ATTRS[id];
/** How a write failed: its code, whether retrying can help (canRetry()), its message. */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => Promise.reject(new Error('expected the write to fail')),
    (e: { code: string; canRetry(): boolean; message: string }) => ({ code: e.code, canRetry: e.canRetry(), message: e.message }),
  );

function telemetry(type: DeviceType, deviceId: string, seq: number, samples: object[], boot = 3): StorableMessage {
  return { channel: 'telemetry', type, deviceId, payload: { v: 1, id: deviceId, boot, seq, ts: (samples[0] as { ts: number }).ts, samples } as never, receivedAt: T };
}

const pole = [
  { ts: T, airTempC: 21.5, humidityPct: 55, noiseDb: 61.2, pm25: 8, peopleCount: 120, wifiClients: 33, fiveG: 'up', powerW: 410, cabinetTempC: 30.1, doorOpen: false },
  { ts: T + 60_000, airTempC: 22, peopleCount: 0, fiveG: 'down', doorOpen: true },
];
const meter = [
  { ts: T, indexL: 9_007_199_254_740, flowLph: -3.5, batteryPct: 88, alarms: ['leak', 'backflow'] },
  { ts: T + 60_000, indexL: 9_007_199_254_741, flowLph: 0, alarms: [] },
];
const bs = [{ ts: T, mains: 'off', rectifierV: 0, loadA: 42.5, batterySocPct: 81, batteryV: 51.2, batteryA: -42.5, batteryTempC: 24, batterySohPct: 96, batteryCapacityAh: 400, generator: 'fault', fuelPct: 12, backhaul: 'satellite', runtimeMin: 310 }];
const ring = [{ ts: T, segments: [{ id: 'oshima-toshima', state: 'down' }, { id: 'oshima-miyakejima', state: 'degraded', rxDbm: -14.5 }] }];
const MESSAGES: StorableMessage[] = [
  telemetry('smart-pole', 'p-1', 0, pole),
  telemetry('water-meter', 'm-1', 0, meter),
  telemetry('bs-power', 'b-1', 0, bs),
  telemetry('ring-node', 'r-1', 0, ring),
];

/** What we expect back: one point per sample (per segment for ring nodes), readings as sent. */
function expected(type: DeviceType): Array<Omit<ReadBack, 'tags'>> {
  const m = MESSAGES.find((x) => x.type === type)! as StorableMessage & { channel: 'telemetry' };
  const { boot, seq } = m.payload;
  return m.payload.samples.flatMap((s: object) => {
    const { ts, ...readings } = s as Record<string, unknown> & { ts: number };
    if (type !== 'ring-node') return [{ ts, boot, seq, readings }];
    const segments = [...(readings.segments as Array<Record<string, unknown> & { id: string }>)].sort((a, b) => a.id.localeCompare(b.id));
    return segments.map(({ id: _id, ...seg }) => ({ ts, boot, seq, readings: seg }));
  });
}
const strip = (r: ReadBack[]) => r.map(({ tags: _t, ...rest }) => rest);
const sortRing = (r: ReadBack[]) => [...r].sort((a, b) => String(a.tags.segment).localeCompare(String(b.tags.segment)));

describe.runIf(serverAvailable(INFLUXD_BIN))('InfluxDB 1.6 through the v1 /write API', () => {
  let influx: TsdbServer;
  let writer: InfluxV1Writer;
  const db = 'tsunagaru';
  beforeAll(async () => {
    influx = await startInfluxDb16(db);
    writer = new InfluxV1Writer({ url: influx.url, db, user: INFLUX_ADMIN.user, password: INFLUX_ADMIN.password, attributes });
  });
  afterAll(async () => influx?.dispose());

  it('stores every reading of every type as sent, with bounded tags, and a rewrite adds no points', async () => {
    await writer.write(MESSAGES);
    await writer.write(MESSAGES); // a redelivery writes the same points
    for (const type of ['smart-pole', 'water-meter', 'bs-power'] as const) {
      const rows = fromInfluxRows(type, await influxRows(influx.url, db, `SELECT * FROM ${TELEMETRY_MEASUREMENTS[type].measurement} ORDER BY time`));
      expect(strip(rows), type).toEqual(expected(type));
    }
    const ringRows = fromInfluxRows('ring-node', await influxRows(influx.url, db, 'SELECT * FROM ring_segment GROUP BY segment'));
    expect(sortRing(ringRows).map((r) => r.tags.segment)).toEqual(['oshima-miyakejima', 'oshima-toshima']);
    expect(strip(sortRing(ringRows))).toEqual(expected('ring-node'));
    const [b] = await influxRows(influx.url, db, 'SELECT * FROM bs_power');
    expect(b).toMatchObject({ deviceId: 'b-1', type: 'bs-power', site: 'oshima-motomachi', island: 'oshima' });
    const tagKeys = await influxQl(influx.url, 'SHOW TAG KEYS', db);
    const allTags = new Set(tagKeys.results[0].series.flatMap((s: { values: string[][] }) => s.values.map((v) => v[0])));
    expect([...allTags].sort()).toEqual(['deviceId', 'dma', 'island', 'segment', 'site', 'type']);
  });

  it('keeps one type per field: 50 then 50.5 are both floats, integer readings are integers', async () => {
    const first = telemetry('bs-power', 'b-types', 0, [{ ts: T + 1000, batterySocPct: 50, batteryV: 48 }]);
    const second = telemetry('bs-power', 'b-types', 1, [{ ts: T + 2000, batterySocPct: 50.5, batteryV: 48.25 }]);
    await influxQl(influx.url, 'CREATE DATABASE typecheck');
    const w = new InfluxV1Writer({ url: influx.url, db: 'typecheck', user: INFLUX_ADMIN.user, password: INFLUX_ADMIN.password, attributes });
    await w.write([first]);
    await w.write([second]);
    const rows = await influxRows(influx.url, 'typecheck', `SELECT batterySocPct, batteryV FROM bs_power WHERE deviceId = 'b-types' ORDER BY time`);
    expect(rows.map((r) => [r.batterySocPct, r.batteryV])).toEqual([
      [50, 48],
      [50.5, 48.25],
    ]);
    await w.write(MESSAGES);
    const keys = await influxQl(influx.url, 'SHOW FIELD KEYS', 'typecheck');
    for (const s of keys.results[0].series as Array<{ name: string; values: string[][] }>) {
      const spec = Object.values(TELEMETRY_MEASUREMENTS).find((m) => m.measurement === s.name)!;
      for (const [field, type] of s.values) expect(`${s.name}.${field}=${type}`).toBe(`${s.name}.${field}=${INFLUX_TYPE[spec.fields.find((f) => f.name === field)!.kind]}`);
    }
  });

  it('reports data the server refuses as not worth retrying, and an unreachable server as worth retrying', async () => {
    await influxQl(influx.url, 'CREATE DATABASE conflict');
    // Someone else wrote batterySocPct as a string first: InfluxDB now refuses our floats (HTTP 400).
    const res = await fetch(`${influx.url}/write?db=conflict&u=${INFLUX_ADMIN.user}&p=${INFLUX_ADMIN.password}`, { method: 'POST', body: `bs_power,deviceId=x batterySocPct="full" ${T}000000` });
    expect(res.status).toBe(204);
    const w = new InfluxV1Writer({ url: influx.url, db: 'conflict', user: INFLUX_ADMIN.user, password: INFLUX_ADMIN.password, attributes });
    expect(await failure(w.write([MESSAGES[2]!]))).toMatchObject({ code: 'INGEST_ERR_STORE_REJECTED', canRetry: false });
    const noAuth = new InfluxV1Writer({ url: influx.url, db, attributes });
    expect(await failure(noAuth.write([MESSAGES[2]!]))).toMatchObject({ code: 'INGEST_ERR_STORAGE', canRetry: true, message: expect.stringMatching(/HTTP 401.*INFLUX_USER/) });
    const down = new InfluxV1Writer({ url: 'http://127.0.0.1:1', db, attributes, timeoutMs: 2000 });
    expect(await failure(down.write([MESSAGES[2]!]))).toMatchObject({ code: 'INGEST_ERR_STORAGE', canRetry: true });
  });
});

describe.runIf(serverAvailable(VICTORIA_BIN))('VictoriaMetrics through the v2 API (@influxdata/influxdb-client)', () => {
  let vm: TsdbServer;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => vm?.dispose());

  it('stores every reading of every type as sent, and a rewrite adds no samples', async () => {
    const writer = new InfluxV2Writer({ url: vm.url, org: 'tsunagaru', bucket: 'tsunagaru', attributes, stringFields: false });
    await writer.write(MESSAGES);
    await writer.write(MESSAGES);
    await writer.close();
    for (const type of ['smart-pole', 'water-meter', 'bs-power', 'ring-node'] as const) {
      const { measurement } = TELEMETRY_MEASUREMENTS[type];
      const want = expected(type);
      const got = await waitFor(`${measurement} in VictoriaMetrics`, async () => {
        const r = fromVictoriaExport(type, await victoriaExport(vm.url, `{__name__=~"${measurement}_.*"}`));
        return r.length >= want.length ? r : undefined;
      });
      const ordered = type === 'ring-node' ? sortRing(got) : got;
      expect(strip(ordered), type).toEqual(want);
      // One sample per point and field, although everything was written twice (dedup at 1 ms).
      for (const s of await victoriaExport(vm.url, `{__name__=~"${measurement}_.*"}`)) expect(new Set(s.timestamps).size).toBe(s.timestamps.length);
    }
    const [series] = await victoriaExport(vm.url, '{__name__="bs_power_batterySocPct"}');
    expect(series!.metric).toEqual({ __name__: 'bs_power_batterySocPct', deviceId: 'b-1', type: 'bs-power', site: 'oshima-motomachi', island: 'oshima' });
  });

  it('reports an unreachable server as worth retrying', async () => {
    const writer = new InfluxV2Writer({ url: 'http://127.0.0.1:1', org: 'o', bucket: 'b', attributes, timeoutMs: 2000 });
    expect(await failure(writer.write([MESSAGES[0]!]))).toMatchObject({ code: 'INGEST_ERR_STORAGE', canRetry: true });
    await writer.close();
  });
});
