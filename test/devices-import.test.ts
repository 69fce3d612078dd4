/**
 * Issue 17, "Bulk provisioning and updates", through the real API, broker and ingest: a CSV of head-end
 * gateways, their meters and a direct device provisions them all (new secrets back once, as CSV; the
 * meters none); the gateway's secret from that CSV logs in and its meter's reading is stored; a re-import
 * changes nothing; a wrong file is refused whole with its problems by line; JSON Lines carries typed
 * attributes; welfare attributes only from roles with welfare access. PATCH merges attributes and the
 * location, is audited, and the alert rules use the new attributes at the next message.
 */
import { addToken, tokensPathFor } from '@tsunagaru/ingest';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, telemetryPayload, tryConnect } from './support/device-client.js';
import { answerValidator, routesOf, type OpenApiDoc } from './support/openapi.js';
import { devicePublisher } from './support/publisher.js';
import { ADMIN_TOKEN, startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

const CITY_CSV = [
  'id,type,dma,headEnd,role,lat,lon',
  'hes-imp-1,water-meter,dma-007,,head-end,35.6895,139.6917',
  'wm-imp-0001,water-meter,dma-007,hes-imp-1,,,',
  'wm-imp-0002,water-meter,dma-007,hes-imp-1,,,',
  '"wm-imp-0003",water-meter,"dma-007",hes-imp-1,,,',
  'pole-imp-1,smart-pole,,,,35.69,139.70',
].join('\r\n');

describe('bulk provisioning and device updates over the API', () => {
  let stack: Stack;
  let doc: OpenApiDoc;
  let fieldToken: string;
  const send = (body: string, type: string, token = ADMIN_TOKEN, query = '') =>
    fetch(`${stack.ingest.httpUrl}/api/v1/devices/import${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const patch = (id: string, body: unknown, token = ADMIN_TOKEN) =>
    fetch(`${stack.ingest.httpUrl}/api/v1/devices/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const check = (method: string, path: string, status: number, body: unknown) => {
    const route = routesOf(doc).find((r) => r.method === method && r.path === path)!;
    expect(answerValidator(doc)(route, status, 'application/json', body)).toBeUndefined();
  };

  beforeAll(async () => {
    stack = await startStack();
    fieldToken = (await addToken(tokensPathFor(stack.dataDir), 'field-engineer', 'field import')).token;
    doc = (await (await fetch(`${stack.ingest.httpUrl}/api/docs/json`)).json()) as OpenApiDoc;
  });
  afterAll(async () => stack?.close());

  it('provisions a CSV: secrets once for the gateway and the pole, none for the meters; the layout works over MQTT', async () => {
    const res = await send(CITY_CSV, 'text/csv', fieldToken);
    expect(res.status).toBe(200);
    check('POST', '/api/v1/devices/import', 200, res.body);
    expect(res.body).toMatchObject({ format: 'csv', dryRun: false, applied: true, rows: 5, created: 5, updated: 0, unchanged: 0, withoutSecret: 3, withSecret: 2, problems: [], problemCount: 0 });
    const [header, ...lines] = (res.body.secretsCsv as string).trimEnd().split('\r\n');
    expect(header).toBe('id,type,secret,publish_prefix,command_topic');
    const secrets = Object.fromEntries(lines.map((l) => l.split(',')).map(([id, type, secret, prefix, cmd]) => {
      expect(prefix).toBe(`tsunagaru/v1/${type}/${id}/`);
      expect(cmd).toBe(buildTopic(type as 'water-meter', id!, 'cmd'));
      return [id!, secret!];
    }));
    expect(Object.keys(secrets).sort()).toEqual(['hes-imp-1', 'pole-imp-1']);
    expect((await stack.api.get('/api/v1/devices/pole-imp-1')).body).toMatchObject({ type: 'smart-pole', location: { lat: 35.69, lon: 139.7 }, attributes: {} });
    expect((await stack.api.get('/api/v1/devices/wm-imp-0003')).body.attributes).toEqual({ dma: 'dma-007', headEnd: 'hes-imp-1' });

    // The gateway logs in with the secret from the CSV and publishes for its meter; the meter itself cannot log in.
    expect(await tryConnect(stack.mqttUrl, 'wm-imp-0001', '')).not.toBe('connected');
    const gateway = await connectDevice(stack.mqttUrl, 'hes-imp-1', secrets['hes-imp-1']!);
    const ts = Date.now() - 60_000;
    await gateway.publishAsync(buildTopic('water-meter', 'wm-imp-0002', 'telemetry'), telemetryPayload('wm-imp-0002', 0, [{ ts, indexL: 4242, flowLph: 0 }]), { qos: 1 });
    await gateway.endAsync();
    const stored = await waitFor('the meter reading', async () => ((await stack.api.get(`/api/v1/devices/wm-imp-0002/readings?from=${ts - 1}`)).body.readings as Array<{ indexL: number }>)[0]);
    expect(stored.indexL).toBe(4242);
    expect(await tryConnect(stack.mqttUrl, 'pole-imp-1', secrets['pole-imp-1']!)).toBe('connected');

    const [audit] = (await stack.api.get('/api/v1/audit?action=device.import')).body.entries;
    expect(audit).toMatchObject({ actor: { role: 'field-engineer' }, detail: { format: 'csv', rows: 5, created: 5, withoutSecret: 3, withSecret: 2 } });
  });

  it('re-imports the same file without a change or a new secret', async () => {
    const res = await send(CITY_CSV, 'text/csv');
    expect(res.body).toMatchObject({ applied: true, created: 0, updated: 0, unchanged: 5, secretsCsv: null });
  });

  it('refuses a file with wrong rows whole, naming each line; a dry run reports the same without a 400', async () => {
    const before = (await stack.api.get('/api/v1/devices')).body.count;
    const bad = [
      'id,type,dma,headEnd',
      'wm-bad-1,water-meter,dma-1,',
      'wm-bad-2,toaster,dma-1,',
      'wm-bad-1,water-meter,dma-1,',
      'wm-bad-4,water-meter,dma-1,hes-nowhere',
      'pole-imp-1,water-meter,,',
      'wm-bad-6,water-meter',
      'wm bad 7,water-meter,dma-1,',
    ].join('\n');
    const res = await send(bad, 'text/csv');
    expect(res.status).toBe(400);
    check('POST', '/api/v1/devices/import', 400, res.body);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'INGEST_ERR_BAD_REQUEST', message: expect.stringMatching(/^6 problem\(s\) in the file, nothing was imported/) });
    const problems = res.body.errors as Array<{ line: number; id?: string; message: string }>;
    expect(problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(problems[0]!.message).toMatch(/^type: must be one of/);
    expect(problems[1]!.message).toBe('id wm-bad-1 is also on row 1: one row per device');
    expect(problems[2]!.message).toMatch(/headEnd hes-nowhere: no such gateway/);
    expect(problems[3]!.message).toBe('device pole-imp-1 is provisioned as smart-pole; an import cannot change its type to water-meter');
    expect(problems[4]).toEqual({ line: 7, id: 'wm-bad-6', message: '2 cells for 4 columns' });
    expect(problems[5]!.message).toMatch(/^id: must match/);
    expect((await stack.api.get('/api/v1/devices')).body.count).toBe(before);

    const dry = await send(bad, 'text/csv', ADMIN_TOKEN, '?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, applied: false, problemCount: 6 });
    const changed = await send('id,type,dma\nwm-imp-0001,water-meter,dma-008\nwm-new-1,water-meter,dma-008\n', 'text/csv', ADMIN_TOKEN, '?dryRun=true');
    expect(changed.body).toMatchObject({ dryRun: true, applied: false, created: 1, updated: 1, unchanged: 0, problems: [], secretsCsv: null });
    expect((await stack.api.get('/api/v1/devices/wm-imp-0001')).body.attributes.dma).toBe('dma-007');
  });

  it('reads JSON Lines with typed attributes; refuses welfare attributes from a role without welfare access', async () => {
    const jsonl = [
      JSON.stringify({ id: 'bs-imp-1', type: 'bs-power', attributes: { site: 'tocho', batteryCells: 24, backup: true }, location: { lat: 35.6896, lon: 139.6921 } }),
      '',
      JSON.stringify({ id: 'wm-imp-w1', type: 'water-meter', attributes: { dma: 'dma-007', welfareWatch: true, welfareHours: 12 } }),
    ].join('\n');
    const refused = await send(jsonl, 'application/x-ndjson', fieldToken);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'INGEST_ERR_FORBIDDEN', message: expect.stringMatching(/^line 3: attributes named welfare/) });
    const res = await send(jsonl, 'application/x-ndjson');
    expect(res.body).toMatchObject({ format: 'jsonl', rows: 2, created: 2, withSecret: 2 });
    expect((await stack.api.get('/api/v1/devices/bs-imp-1')).body).toMatchObject({ attributes: { site: 'tocho', batteryCells: 24, backup: true }, location: { lat: 35.6896, lon: 139.6921 } });
    const wrong = await send('{"id":"x-1","type":"bs-power","secret":"0123456789abcdef0123"}\n{"id":', 'application/x-ndjson');
    expect(wrong.body.errors.map((p: { line: number }) => p.line)).toEqual([1, 2]);
    expect(wrong.body.errors[0].message).toMatch(/secrets are never read from a file/);
    expect((await send('id,type\n', 'text/plain')).status).toBe(415);
  });

  it('PATCH merges attributes and the location, is audited, and keeps welfare attributes to roles with welfare access', async () => {
    await stack.registry.provision({ id: 'wm-patch-1', type: 'water-meter', attributes: { dma: 'dma-1', welfareWatch: true, old: 'x' }, location: { lat: 35.6, lon: 139.6 } });
    const res = await patch('wm-patch-1', { attributes: { dma: 'dma-2', old: null } }, fieldToken);
    expect(res.status).toBe(200);
    check('PATCH', '/api/v1/devices/{id}', 200, res.body);
    // The field engineer is shown no welfare attribute, and did not remove it either.
    expect(res.body.attributes).toEqual({ dma: 'dma-2' });
    expect(stack.registry.getDevice('wm-patch-1')!.attributes).toEqual({ dma: 'dma-2', welfareWatch: true });
    expect((await patch('wm-patch-1', { attributes: { welfareWatch: false } }, fieldToken)).status).toBe(403);
    expect((await patch('wm-patch-1', { location: null })).body.location).toBeUndefined();
    expect((await patch('wm-patch-1', { location: { lat: 35.61, lon: 139.61 } })).body.location).toEqual({ lat: 35.61, lon: 139.61 });
    expect((await patch('wm-patch-1', {})).status).toBe(400);
    expect((await patch('wm-patch-1', { type: 'bs-power' })).status).toBe(400);
    expect((await patch('ghost-1', { attributes: { a: 1 } })).status).toBe(404);
    const entries = (await stack.api.get('/api/v1/audit?action=device.update&target=wm-patch-1')).body.entries as Array<{ detail: unknown; actor: { role: string } }>;
    expect(entries.map((e) => e.detail).reverse()).toEqual([
      { attributes: { dma: ['dma-1', 'dma-2'], old: ['x', null] } },
      { attributes: {}, location: [{ lat: 35.6, lon: 139.6 }, null] },
      { attributes: {}, location: [null, { lat: 35.61, lon: 139.61 }] },
    ]);
  });

  it('the alert rules use a patched attribute at the next message: a welfare watch enrolled by PATCH', async () => {
    const t0 = Date.now() - 4 * 3_600_000;
    let now = t0;
    const devices = devicePublisher(stack, () => now);
    await devices.provision('wm-watch-1', 'water-meter', { dma: 'dma-007' });
    const welfare = async () => ((await stack.api.get('/api/v1/alerts?type=welfare-watch&deviceId=wm-watch-1')).body.alerts as Array<{ message: string }>);
    // No water used for three hours, not enrolled: no welfare alert (anything else would be surveillance).
    for (const h of [0, 1, 2, 3]) {
      now = t0 + h * 3_600_000;
      await devices.publish('wm-watch-1', [{ indexL: 5000, flowLph: 0 }]);
    }
    expect(await welfare()).toEqual([]);
    expect((await patch('wm-watch-1', { attributes: { welfareWatch: true, welfareHours: 2 } })).status).toBe(200);
    now = t0 + 3.5 * 3_600_000;
    await devices.publish('wm-watch-1', [{ indexL: 5000, flowLph: 0 }]);
    const [alert] = await welfare();
    expect(alert).toMatchObject({ rule: 'welfare-watch', state: 'active', message: 'no water used for 3.5 h (watch after 2 h)' });
    await devices.close();
  });
});
