/**
 * Readings exports over the real stack: meters send over MQTT, an analyst downloads a DMA as CSV and as
 * Parquet (read back with DuckDB's read_parquet), and gets exactly what the devices sent; roles decide
 * which device types may be exported and whether welfare attributes come along.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, tokensPathFor } from '@tsunagaru/ingest';
import { devicePublisher } from './support/publisher.js';
import { ADMIN_TOKEN, startStack, type Stack } from './support/stack.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const T0 = Date.UTC(2026, 10, 20, 0, 0);
const STEP = 15 * 60_000;
/** What each meter sends: 8 quarter-hours; wm-b's last sample carries a leak alarm (the others no alarm list). */
const sent = (id: string, base: number) =>
  Array.from({ length: 8 }, (_, i) => ({ ts: T0 + i * STEP, indexL: base + i * 7, flowLph: i % 3 === 0 ? 0 : 28.5, batteryPct: 91, ...(id === 'wm-b' && i === 7 ? { alarms: ['leak'] } : {}) })) as Array<{ ts: number; indexL: number; flowLph: number; alarms?: string[] }>;
const SENT = { 'wm-a': sent('wm-a', 1000), 'wm-b': sent('wm-b', 5000), 'wm-other': sent('wm-other', 9000) };
const RANGE = `from=${new Date(T0).toISOString()}&to=${T0 + 8 * STEP}`;

/** Minimal RFC 4180 reader (quoted fields with "" escapes), enough for our own output. */
function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else if (c !== '\r') field += c;
  }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
}

describe('readings exports', () => {
  let stack: Stack;
  let tokens: Record<'water' | 'ops' | 'field', string>;
  const dir = makeTempDir('exports');
  const get = (path: string, token = ADMIN_TOKEN) => fetch(`${stack.ingest.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    stack = await startStack({ clock: () => T0 + 9 * STEP });
    const devices = devicePublisher(stack, () => T0);
    await devices.provision('wm-a', 'water-meter', { dma: 'nakano-3' });
    await devices.provision('wm-b', 'water-meter', { dma: 'nakano-3', welfareWatch: true });
    await devices.provision('wm-other', 'water-meter', { dma: 'toyosu-1' });
    await devices.provision('bsp-1', 'bs-power', { site: 'tokyo-metropolitan-government' });
    for (const [id, samples] of Object.entries(SENT)) await devices.publish(id, samples);
    await devices.publish('bsp-1', [{ ts: T0, mains: 'off', batterySocPct: 64.5, runtimeMin: 300 }]);
    await devices.close();
    for (const id of Object.keys(SENT)) await waitFor(`${id} stored`, async () => (await stack.api.get(`/api/v1/devices/${id}/readings?${RANGE}`)).body.count === 8);
    await waitFor('bsp-1 stored', async () => (await stack.api.get('/api/v1/devices/bsp-1')).body.latest?.batterySocPct);
    const path = tokensPathFor(stack.dataDir);
    tokens = { water: (await addToken(path, 'water-bureau', 'analyst')).token, ops: (await addToken(path, 'disaster-ops', 'ops')).token, field: (await addToken(path, 'field-engineer', 'eng')).token };
  });
  afterAll(async () => {
    await stack?.close();
    dir.remove();
  });

  it('CSV of a DMA: its meters only, in device and time order, every reading as sent', async () => {
    const res = await get(`/api/v1/exports/readings.csv?dma=nakano-3&${RANGE}`, tokens.water);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="readings-water-meter-nakano-3-20261120T000000Z-20261120T020000Z\.csv"/);
    const rows = parseCsv(await res.text());
    expect(Object.keys(rows[0]!)).toEqual(['device_id', 'dma', 'site', 'island', 'welfare_watch', 'ts', 'boot', 'seq', 'replay', 'indexL', 'flowLph', 'batteryPct', 'alarms', 'rssiDbm', 'snrDb']);
    const expected = (['wm-a', 'wm-b'] as const).flatMap((id) =>
      SENT[id].map((s) => ({ device_id: id, dma: 'nakano-3', welfare_watch: String(id === 'wm-b'), ts: new Date(s.ts).toISOString(), indexL: String(s.indexL), flowLph: String(s.flowLph), batteryPct: '91', alarms: s.alarms ? JSON.stringify(s.alarms) : '', rssiDbm: '', snrDb: '' })),
    );
    expect(rows.map(({ site: _s, island: _i, boot: _b, seq: _q, replay: _r, ...rest }) => rest)).toEqual(expected);
  });

  it('Parquet of the same DMA reads back with DuckDB as the devices sent it (typed: UTC timestamps, lists)', async () => {
    const res = await get(`/api/v1/exports/readings.parquet?dma=nakano-3&${RANGE}`, tokens.water);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const file = join(dir.path, 'nakano-3.parquet');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const back = (await duck.runAndReadAll(`SELECT device_id, dma, welfare_watch, epoch_ms(ts) AS ts, typeof(ts) AS ts_type, "indexL", "flowLph", alarms FROM read_parquet('${file}')`)).getRowObjectsJson();
    duck.closeSync();
    const expected = (['wm-a', 'wm-b'] as const).flatMap((id) => SENT[id].map((s) => ({ device_id: id, dma: 'nakano-3', welfare_watch: id === 'wm-b', ts: String(s.ts), ts_type: 'TIMESTAMP WITH TIME ZONE', indexL: String(s.indexL), flowLph: s.flowLph, alarms: s.alarms ?? null })));
    expect(back).toEqual(expected);
  });

  it('a device id range of one type, for roles that work with that type; welfare attributes only for roles that may see them', async () => {
    const ops = await get(`/api/v1/exports/readings.csv?type=water-meter&deviceFrom=wm-b&deviceTo=wm-z&${RANGE}`, tokens.ops);
    const text = await ops.text();
    expect(ops.status).toBe(200);
    expect(text).not.toMatch(/welfare/i);
    expect(new Set(parseCsv(text).map((r) => r.device_id))).toEqual(new Set(['wm-b', 'wm-other']));
    const power = parseCsv(await (await get(`/api/v1/exports/readings.csv?type=bs-power&${RANGE}`, tokens.field)).text());
    expect(power).toMatchObject([{ device_id: 'bsp-1', site: 'tokyo-metropolitan-government', mains: 'off', batterySocPct: '64.5', runtimeMin: '300' }]);
    const refused = await get(`/api/v1/exports/readings.parquet?type=bs-power&${RANGE}`, tokens.water);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe('role water-bureau may not export bs-power readings');
  });

  it('balances each DMA: what its customer meters used, with no inlet meter no non-revenue figure', async () => {
    const body = (await (await get(`/api/v1/water/dmas?${RANGE}`, tokens.water)).json()) as { dmas: Array<Record<string, unknown>> };
    // The range ends a quarter-hour after each meter's last reading: that end is estimated at the meter's
    // mean flow (7 L a quarter), so each meter used 8 × 7 L, and the balance says it is estimated.
    const used = (id: keyof typeof SENT) => SENT[id].at(-1)!.indexL - SENT[id][0]!.indexL + 7;
    expect(body.dmas.map((d) => [d.dma, d.connections, d.covered, d.estimated, d.missing, d.customerLitres, d.estimatedLitres, d.inletLitres, d.nonRevenueLitres, d.nonRevenuePct, d.complete])).toEqual([
      ['nakano-3', 2, 0, 2, 0, used('wm-a') + used('wm-b'), used('wm-a') + used('wm-b'), null, null, null, false],
      ['toyosu-1', 1, 0, 1, 0, used('wm-other'), used('wm-other'), null, null, null, false],
    ]);
    expect(body.dmas[0]!.incomplete).toEqual(['no inlet meter', '2 of 2 customer meters without readings around both ends (2 estimated, 0 missing); coverage 0 % < 98 %']);
  });

  it('says what is wrong with a request', async () => {
    expect(await (await get(`/api/v1/exports/readings.csv?dma=nowhere&${RANGE}`)).json()).toMatchObject({ statusCode: 404, message: 'no water-meter devices in DMA "nowhere"' });
    expect(await (await get('/api/v1/exports/readings.csv')).json()).toMatchObject({ statusCode: 400, message: expect.stringMatching(/^type:/) });
    expect(await (await get('/api/v1/exports/readings.csv?type=ring-node&deviceFrom=z&deviceTo=a')).json()).toMatchObject({ statusCode: 400, message: 'deviceFrom: must not come after deviceTo' });
    expect((await fetch(`${stack.ingest.httpUrl}/api/v1/exports/readings.csv?dma=nakano-3`)).status).toBe(401);
  });
});
