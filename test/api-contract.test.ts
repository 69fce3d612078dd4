/**
 * Issue 17, "The API contract, complete": the generated OpenAPI document is valid OpenAPI 3.1, every
 * operation documents a 2xx answer with a schema, the roles that may call it and the errors it can give;
 * shared components exist; every error, unknown routes included, is the one Error body with a code;
 * /health is public and says nothing about the deployment without a token; times in JSON are epoch ms.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerValidator, isPublic, routesOf, type OpenApiDoc } from './support/openapi.js';
import { ADMIN_TOKEN, startStack, type Stack } from './support/stack.js';

describe('the API contract', () => {
  let stack: Stack;
  let doc: OpenApiDoc;
  const call = (path: string, init: RequestInit = {}) => fetch(`${stack.ingest.httpUrl}${path}`, init);
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    stack = await startStack();
    doc = (await (await call('/api/docs/json')).json()) as OpenApiDoc;
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/openapi.json', JSON.stringify(doc, null, 2));
  });
  afterAll(async () => stack?.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents, for every operation, a 2xx answer with a schema, its roles and its errors', () => {
    const routes = routesOf(doc);
    expect(routes.length).toBeGreaterThanOrEqual(31);
    const problems: string[] = [];
    for (const r of routes) {
      const name = `${r.method} ${r.path}`;
      const ok = Object.entries(r.op.responses).filter(([s]) => /^2/.test(s));
      if (!ok.some(([, res]) => Object.values(res.content ?? {}).some((c) => c.schema))) problems.push(`${name}: no 2xx schema`);
      const roles = r.op['x-roles'];
      if (!roles?.length) problems.push(`${name}: no x-roles`);
      if (isPublic(r)) {
        if (JSON.stringify(r.op.security) !== '[]') problems.push(`${name}: public but not security: []`);
      } else {
        for (const s of ['401', '503']) if (!r.op.responses[s]) problems.push(`${name}: no ${s}`);
        if (roles && roles.length < 4 && !r.op.responses['403']) problems.push(`${name}: refuses some roles but documents no 403`);
      }
      if (r.path.includes('{') && !r.op.responses['404']) problems.push(`${name}: names something but documents no 404`);
      if (r.path.includes('/exports/') && !r.op.responses['429']) problems.push(`${name}: bounded but documents no 429`);
      for (const [status, res] of Object.entries(r.op.responses)) {
        if (/^[45]/.test(status) && JSON.stringify(res.content) !== JSON.stringify({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } })) problems.push(`${name}: ${status} is not the Error component`);
      }
    }
    expect(problems).toEqual([]);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Device', 'Reading', 'Alert', 'Error', 'Page']));
  });

  it('answers every error with the one Error body and a code, unknown routes included', async () => {
    const validate = answerValidator(doc);
    const errorOf = async (res: Response) => {
      const body = (await res.json()) as Record<string, unknown>;
      const problem = validate({ method: 'GET', path: '/api/v1/devices', op: doc.paths['/api/v1/devices']!.get! }, 401, 'application/json', body);
      expect(problem).toBeUndefined();
      return { status: res.status, code: body.code };
    };
    expect(await errorOf(await call('/api/v1/nothing-here', { headers: admin }))).toEqual({ status: 404, code: 'INGEST_ERR_NOT_FOUND' });
    expect(await errorOf(await call('/nothing/at/all', { headers: admin }))).toEqual({ status: 404, code: 'INGEST_ERR_NOT_FOUND' });
    expect(await errorOf(await call('/api/v1/nothing-here'))).toEqual({ status: 401, code: 'INGEST_ERR_UNAUTHORIZED' });
    const post = (body: string, type = 'application/json') => call('/api/v1/devices', { method: 'POST', headers: { ...admin, 'content-type': type }, body });
    expect(await errorOf(await post('{"id":'))).toEqual({ status: 400, code: 'INGEST_ERR_BAD_REQUEST' });
    expect(await errorOf(await post('id=x', 'application/x-www-form-urlencoded'))).toEqual({ status: 415, code: 'INGEST_ERR_UNSUPPORTED_MEDIA_TYPE' });
    expect(await errorOf(await post(JSON.stringify({ id: 'big-1', type: 'bs-power', attributes: { note: 'x'.repeat(300_000) } })))).toEqual({ status: 413, code: 'INGEST_ERR_PAYLOAD_TOO_LARGE' });
    expect(await errorOf(await call('/api/v1/devices?type=toaster', { headers: admin }))).toEqual({ status: 400, code: 'INGEST_ERR_BAD_REQUEST' });
  });

  it('keeps /api/v1/health public with the status only; the detail is for tokens', async () => {
    const anonymous = await call('/api/v1/health');
    expect(anonymous.status).toBe(200);
    const body = (await anonymous.json()) as { status: string };
    expect(body).toEqual({ status: expect.stringMatching(/^(ok|degraded)$/) });
    expect(JSON.stringify(body)).not.toContain(stack.dataDir);
    expect(JSON.stringify(await (await call('/api/v1/health', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).json())).toEqual(JSON.stringify(body));
    const detail = await (await call('/api/v1/health', { headers: admin })).json();
    expect(detail).toMatchObject({ status: body.status, mqtt: { connected: true, url: stack.mqttUrl }, store: { path: expect.stringContaining(stack.dataDir) }, api: { exportsRunning: 0 } });
    // The water rules' reads of the store, so an operator sees when a city's month was last read.
    expect((detail as { alerts: { water: unknown } }).alerts.water).toMatchObject({ reads: expect.any(Number), reading: expect.any(Boolean) });
  });

  it('writes every time in JSON as epoch milliseconds', async () => {
    const created = await stack.api.post('/api/v1/devices', { id: 'bs-time-1', type: 'bs-power' });
    expect(created.body.device).toMatchObject({ createdAt: expect.any(Number), updatedAt: expect.any(Number) });
    expect(Math.abs(created.body.device.createdAt - Date.now())).toBeLessThan(60_000);
    const disabled = await stack.api.post('/api/v1/devices/bs-time-1/disable', {});
    expect(disabled.body.device.updatedAt).toEqual(expect.any(Number));
    const audit = (await stack.api.get('/api/v1/audit?target=bs-time-1')).body.entries as Array<{ at: unknown }>;
    expect(audit.map((e) => typeof e.at)).toEqual(['number', 'number']);
    // Paging by the last `at` of a page, as the document says.
    expect((await stack.api.get(`/api/v1/audit?target=bs-time-1&before=${audit[0]!.at as number}`)).body.entries).toHaveLength(1);
  });
});
