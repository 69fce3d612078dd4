/**
 * Issue 19, "No request can crash or leak", tried as the attacker did: real HTTP against broker + ingest in
 * one child process wired as `npm start` wires them. One GET with an out-of-range `to` used to kill the
 * whole process (500, then an unhandled stream 'error'); a nearby `to` leaked a DuckDB reader and ~290 MB
 * per request; out-of-range from/to/before gave 500 (bigint out of range). Now: 400 naming the field, the
 * process stays up, no reader is left open and RSS stays flat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, tokensPathFor } from '@tsunagaru/ingest';
import { apiClient, type ApiClient } from './support/api-client.js';
import { rssMb, startChild, type ChildIngest } from './support/child-process.js';
import { freePort } from './support/ports.js';
import { makeTempDir } from './support/temp-dir.js';

const TOKEN = 'hostile-test-admin-token-0123456789';

describe('hostile query parameters against the whole process', () => {
  const dir = makeTempDir('hostile');
  let child: ChildIngest;
  let api: ApiClient;
  let water: string;

  beforeAll(async () => {
    child = await startChild('test/support/embedded-ingest-child.ts', { DATA_DIR: dir.path, MQTT_PORT: String(await freePort()), HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'fatal' });
    api = apiClient(child.ready.httpUrl!, TOKEN);
    expect((await api.post('/api/v1/devices', { id: 'wm-x-1', type: 'water-meter', attributes: { dma: 'x' } })).status).toBe(201);
    expect((await api.post('/api/v1/devices', { id: 'bs-x-1', type: 'bs-power' })).status).toBe(201);
    water = (await addToken(tokensPathFor(dir.path), 'water-bureau', 'analyst')).token;
  });
  afterAll(async () => {
    await child?.stop();
    dir.remove();
  });

  const alive = async () => {
    expect(child.child.exitCode, child.output()).toBeNull();
    const health = await api.get('/api/v1/health');
    expect(health.status).toBe(200);
    return health.body;
  };

  it('the export that killed the process answers 400 naming `to`, and the process stays up', async () => {
    const rss0 = rssMb(child.child.pid!);
    for (const to of ['9223372036854775807', '8640000000000001', '-9223372036854775808', '1e300']) {
      for (const format of ['csv', 'parquet']) {
        const res = await fetch(`${child.ready.httpUrl}/api/v1/exports/readings.${format}?dma=x&to=${to}`, { headers: { authorization: `Bearer ${water}` } });
        expect({ to, format, status: res.status }).toEqual({ to, format, status: 400 });
        expect(await res.json()).toMatchObject({ statusCode: 400, code: 'INGEST_ERR_BAD_REQUEST', message: expect.stringMatching(/^querystring\.to: /) });
      }
    }
    const health = await alive();
    // No DuckDB reader or export is left behind, and the memory stayed where it was (it was +290 MB a request).
    expect(health.api).toMatchObject({ exportsRunning: 0, readers: { exports: 0 } });
    expect(rssMb(child.child.pid!) - rss0).toBeLessThan(100);
  });

  const TIMES = ['9223372036854775807', '-9223372036854775809', '8640000000000001', '99999999999999999999999'];
  it.each([
    ['/api/v1/devices/wm-x-1/readings', 'from', TIMES],
    ['/api/v1/devices/wm-x-1/readings', 'to', TIMES],
    ['/api/v1/devices/wm-x-1/events', 'to', TIMES],
    ['/api/v1/water/dmas', 'from', TIMES],
    ['/api/v1/alerts', 'before', TIMES],
    ['/api/v1/audit', 'before', TIMES],
    // Dead letters page by id (a BIGINT), not by time.
    ['/api/v1/dead-letters', 'before', ['9223372036854775807', '9007199254740993', '-1', '0', '99999999999999999999999', 'Infinity']],
    // ajv coerces "Infinity" to a number that passes `maximum` (found by test/api-property.test.ts).
    ['/api/v1/dead-letters', 'limit', ['Infinity', '-Infinity', '1001', '0']],
    ['/api/v1/devices/wm-x-1/readings', 'to', ['Infinity', '+Infinity']],
  ])('%s?%s=<out of range> answers 400 naming the field, never 500', async (path, field, values) => {
    for (const value of values) {
      const res = await api.get(`${path}?${field}=${value}`);
      expect({ value, status: res.status }).toEqual({ value, status: 400 });
      expect(res.body).toMatchObject({ code: 'INGEST_ERR_BAD_REQUEST', message: expect.stringContaining(`querystring.${field}`) });
    }
    await alive();
  });

  // Within the epoch range a Date holds, but outside the calendar local days and months are named in (a
  // 500 found by test/api-property.test.ts with to=-8640000000000000).
  it.each([
    ['/api/v1/water/dmas/x/daily', 'to', ['-8640000000000000', '8640000000000000', '-1']],
    ['/api/v1/water/dmas/x/daily', 'from', ['-8640000000000000']],
    ['/api/v1/water/meters/wm-x-1/usage', 'to', ['-8640000000000000', '8640000000000000']],
    ['/api/v1/water/meters/wm-x-1/usage?interval=month&x', 'to', ['-8640000000000000', '8640000000000000']],
    ['/api/v1/water/dmas', 'to', ['-8640000000000000', '8640000000000000']],
  ])('%s?%s=<outside the water calendar> answers 400 naming the field', async (path, field, values) => {
    for (const value of values) {
      const url = path.endsWith('&x') ? `${path.slice(0, -2)}&${field}=${value}` : `${path}?${field}=${value}`;
      const res = await api.get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.body).toMatchObject({ code: 'INGEST_ERR_BAD_REQUEST', message: expect.stringMatching(new RegExp(`^${field}: must be between 2000-01-01T00:00:00.000Z and 2100-01-01T00:00:00.000Z`)) });
    }
    expect((await api.get('/api/v1/water/reads?month=0050-01')).status).toBe(400); // no reading before 2000 (and Date.UTC(50, 0) is 1950)
    await alive();
  });
});
