/**
 * Issue 19, "Scope every route by role and data kind": every operation of the OpenAPI document × every
 * role × every kind of data (one device of each type, a welfare-watched meter), over real HTTP against the
 * real stack. Generated from the document, so a route is covered the day it is added. For each call:
 * - a role the route does not declare gets 403; one it declares never gets a 5xx;
 * - a device (or its alert) outside the role's device types is 404, as if it did not exist;
 * - nothing in the answer names a device outside the role's types, and roles without welfare access see
 *   no attribute named welfare…, no welfare alert and no welfare column, in JSON and in CSV;
 * - the answer has the shape the document gives for its status.
 */
import { buildTopic, DEVICE_TYPES, type DeviceType } from '@tsunagaru/firmware-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, canSeeDeviceType, canSeeWelfare, ROLES, tokensPathFor, type Role } from '@tsunagaru/ingest';
import { answerValidator, isPublic, routesOf, type OpenApiDoc, type Route } from './support/openapi.js';
import { devicePublisher } from './support/publisher.js';
import { startStack, type Stack } from './support/stack.js';

type Kind = DeviceType | 'welfare';
interface Fixture {
  kind: Kind;
  type: DeviceType;
  deviceId: string;
  attributes: Record<string, string | number | boolean>;
  rule: string;
  alertId?: string;
  cmdId?: string;
}

const FIXTURES: Fixture[] = [
  { kind: 'water-meter', type: 'water-meter', deviceId: 'wm-matrix-1', attributes: { dma: 'nakano-3' }, rule: 'water-leak' },
  { kind: 'welfare', type: 'water-meter', deviceId: 'wm-matrix-welfare', attributes: { dma: 'nakano-3', welfareWatch: true, welfareHours: 4 }, rule: 'welfare-watch' },
  { kind: 'bs-power', type: 'bs-power', deviceId: 'bs-matrix-1', attributes: { site: 'tocho' }, rule: 'mains-lost' },
  { kind: 'smart-pole', type: 'smart-pole', deviceId: 'sp-matrix-1', attributes: { site: 'nishi-shinjuku' }, rule: 'pole-door-open' },
  { kind: 'ring-node', type: 'ring-node', deviceId: 'rn-matrix-1', attributes: { island: 'toshima' }, rule: 'ring-segment-down' },
];
const T0 = Date.now() - 3_600_000;

/** What the role must never be shown: ids of devices (and their alerts) of other types; welfare data. */
function leaks(role: Role, text: string, welfareAlertId: string): string[] {
  const found: string[] = [];
  for (const f of FIXTURES) {
    if (!canSeeDeviceType(role, f.type) && text.includes(f.deviceId)) found.push(f.deviceId);
    if (!canSeeDeviceType(role, f.type) && f.alertId && text.includes(f.alertId)) found.push(f.alertId);
  }
  if (!canSeeWelfare(role)) {
    if (/"welfare[A-Za-z_]*"\s*:|(^|,)welfare_watch(,|\r)/i.test(text)) found.push('a welfare attribute');
    if (text.includes(welfareAlertId) || text.includes('welfare-watch')) found.push('the welfare alert');
  }
  return found;
}

/** A body the route's schema accepts, for the kind at hand. */
function bodyFor(route: Route, f: Fixture, n: number): unknown {
  const schema = route.op.requestBody?.content['application/json']?.schema as { properties?: Record<string, { enum?: unknown[] }>; required?: string[] } | undefined;
  if (!schema) return undefined;
  const out: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    const p = schema.properties?.[name] ?? {};
    if (name === 'id') out.id = `matrix-new-${n}`;
    else if (name === 'type') out.type = f.type;
    else if (p.enum) out[name] = p.enum[0];
    else out[name] = 'matrix';
  }
  return out;
}

describe('role × route × data kind', () => {
  let stack: Stack;
  let doc: OpenApiDoc;
  const token = {} as Record<Role, string>;

  beforeAll(async () => {
    stack = await startStack();
    const devices = devicePublisher(stack, () => T0);
    for (const f of FIXTURES) await devices.provision(f.deviceId, f.type, f.attributes);
    await devices.publish('wm-matrix-1', [{ indexL: 100, flowLph: 12 }]);
    await devices.publish('wm-matrix-welfare', [{ indexL: 200, flowLph: 0 }]);
    await devices.publish('bs-matrix-1', [{ mains: 'off', batterySocPct: 80 }]);
    await devices.close();
    const engine = stack.ingest.alerting.engine;
    for (const f of FIXTURES) {
      // Raised through the engine as a rule would (twice, an hour apart, past any on-delay), then a webhook
      // that refused its notification: every kind has an alert and a dead letter.
      const condition = { deviceId: f.deviceId, rule: f.rule, object: null, active: true, severity: 'major' as const, message: `${f.rule} at ${f.deviceId}`, deviceType: f.type, detail: f.kind === 'welfare' ? { welfareWatch: true } : {} };
      await engine.act(async (now) => ({ result: undefined, events: [...engine.lifecycle.report(condition, now - 3_600_000), ...engine.lifecycle.report(condition, now)] }));
      const alert = (await engine.list({ state: 'active', limit: 1000, deviceId: f.deviceId }))[0]!;
      f.alertId = alert.id;
      await engine.store.addWebhookDeadLetter({ webhook: 'ops-hook', event: { kind: 'raised', at: alert.raisedAt, alert }, attempts: 5, lastError: 'HTTP 503', failedAt: Date.now() });
      f.cmdId = (await stack.api.post(`/api/v1/devices/${f.deviceId}/commands`, { name: 'ping' })).body.cmdId;
    }
    for (const role of ROLES) token[role] = (await addToken(tokensPathFor(stack.dataDir), role, `${role} matrix`)).token;
    doc = (await (await fetch(`${stack.ingest.httpUrl}/api/docs/json`)).json()) as OpenApiDoc;
  });
  afterAll(async () => stack?.close());

  it('scopes every route by role and data kind', { timeout: 120_000 }, async () => {
    const validate = answerValidator(doc);
    const welfareAlertId = FIXTURES.find((f) => f.kind === 'welfare')!.alertId!;
    // Reads first: the writes (revoke, disable, shelve…) come after them.
    const routes = routesOf(doc).sort((a, b) => Number(a.method !== 'GET') - Number(b.method !== 'GET'));
    const problems: string[] = [];
    let calls = 0;
    for (const route of routes) {
      for (const f of FIXTURES) {
        for (const role of ROLES) {
          const names = route.path.includes('{id}');
          const url = new URL(route.path.replace('{id}', route.path.startsWith('/api/v1/alerts/') ? f.alertId! : f.deviceId).replace('{cmdId}', f.cmdId!), stack.ingest.httpUrl);
          for (const p of route.op.parameters ?? []) {
            if (p.in !== 'query') continue;
            if (p.name === 'type' && (p.schema.enum as unknown[] | undefined)?.includes(f.type)) url.searchParams.set('type', f.type);
            if (p.name === 'deviceId') url.searchParams.set('deviceId', f.deviceId);
            if (p.name === 'from') url.searchParams.set('from', String(T0 - 60_000));
          }
          const body = bodyFor(route, f, calls);
          const res = await fetch(url, {
            method: route.method,
            headers: { authorization: `Bearer ${token[role]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
            ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          });
          calls++;
          const type = res.headers.get('content-type') ?? '';
          const text = type.includes('event-stream') || type.includes('parquet') ? (await res.body?.cancel(), '') : await res.text();
          const name = `${role} ${route.method} ${url.pathname}${url.search} [${f.kind}] → ${res.status}`;
          const declared = isPublic(route) || (route.op['x-roles'] ?? []).includes(role);
          const inScope = canSeeDeviceType(role, f.type);
          if (!declared && res.status !== 403) problems.push(`${name}: the route does not declare ${role}, expected 403`);
          if (declared && res.status === 403 && inScope) problems.push(`${name}: declared and in scope, yet 403`);
          if (res.status >= 500) problems.push(`${name}: ${text.slice(0, 200)}`);
          if (declared && names && !inScope && res.status !== 404) problems.push(`${name}: a ${f.type} is outside ${role}'s scope, expected 404`);
          // A 404 may repeat the id the caller sent (as for an id that does not exist); nothing else.
          const leaked = leaks(role, text.replaceAll(f.deviceId, '').replaceAll(f.alertId!, url.pathname.includes(f.alertId!) ? '' : f.alertId!), welfareAlertId);
          if (leaked.length) problems.push(`${name}: shows ${leaked.join(', ')}`);
          if (text && type.includes('json')) {
            const invalid = validate(route, res.status, type, JSON.parse(text));
            if (invalid) problems.push(`${name}: ${invalid}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(calls).toBe(routes.length * FIXTURES.length * ROLES.length);
  });

  it('keeps a welfare-watched meter visible to every water role, without its welfare data', async () => {
    for (const role of ['field-engineer', 'disaster-ops'] as const) {
      const res = await fetch(`${stack.ingest.httpUrl}/api/v1/devices/wm-matrix-welfare`, { headers: { authorization: `Bearer ${token[role]}` } });
      expect(((await res.json()) as { attributes: object }).attributes).toEqual({ dma: 'nakano-3' });
    }
    const bureau = await fetch(`${stack.ingest.httpUrl}/api/v1/devices/wm-matrix-welfare`, { headers: { authorization: `Bearer ${token['water-bureau']}` } });
    expect(((await bureau.json()) as { attributes: object }).attributes).toEqual({ dma: 'nakano-3', welfareWatch: true, welfareHours: 4 });
    // The ledger follows the device types: the bureau's is its meters only.
    const ledger = await fetch(`${stack.ingest.httpUrl}/api/v1/ledger`, { headers: { authorization: `Bearer ${token['water-bureau']}` } });
    const types = ((await ledger.json()) as { devices: Array<{ type: string }> }).devices.map((d) => d.type);
    expect(types.length).toBeGreaterThanOrEqual(2);
    expect(new Set(types)).toEqual(new Set(['water-meter']));
    expect(DEVICE_TYPES.length).toBe(4);
    expect(buildTopic('bs-power', 'x', 'telemetry')).toContain('bs-power');
  });
});
