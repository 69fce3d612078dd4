import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IngestError } from '../../errors.js';
import type { AlertEngine } from '../../alerts/engine.js';
import { acknowledgeAlert, commentAlert, shelveAlert, unshelveAlert } from '../alert-actions.js';
import { streamAlerts } from '../../notify/sse.js';
import { ALERT_GROUPS, SEVERITIES, type Alert, type AlertEvent, type AlertGroup, type AlertState, type Severity } from '../../alerts/types.js';
import { canSeeDeviceType, canSeeWelfare, handlesAlertGroup, isWelfareRecord, READ_ROLES, redactWelfare, roleOf, type Role } from '../roles.js';
import { epochMs, limitQuery, MAX_EPOCH_MS, page, queryText, ref } from '../schemas.js';

const idParam = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const alert = ref('Alert');

/** A webhook notification no webhook accepted (alerts/store.ts WebhookDeadLetter). */
const webhookDeadLetter = {
  type: 'object',
  required: ['id', 'webhook', 'event', 'attempts', 'lastError', 'failedAt'],
  additionalProperties: true,
  properties: {
    id: { type: 'integer' },
    webhook: { type: 'string' },
    event: { type: 'object', required: ['kind', 'at', 'alert'], additionalProperties: true, properties: { kind: { type: 'string' }, at: epochMs, alert } },
    attempts: { type: 'integer' },
    lastError: { type: 'string' },
    failedAt: epochMs,
  },
} as const;
const text = { type: 'string', minLength: 1, maxLength: 2000 } as const;
/** Acting on alerts is for the people who answer them; every role but admin-only tasks. */
const ACT_ROLES = READ_ROLES;

interface ListQs {
  state: AlertState | 'all';
  severity?: Severity;
  type?: string;
  group?: AlertGroup;
  deviceId?: string;
  limit: number;
  before?: number;
}

/**
 * Whether a role may see an alert: its device type must be in the role's scope (virtual objects such as
 * a DMA or the ring have none of their own: `dma:` is water, the ring is everyone's), and welfare alerts
 * are for roles with welfare access only (roles.ts).
 */
export function alertVisible(role: Role, alert: Pick<Alert, 'deviceType' | 'rule' | 'detail' | 'group'>): boolean {
  if (!canSeeWelfare(role) && isWelfareRecord(alert as unknown as Record<string, unknown>)) return false;
  if (alert.deviceType) return canSeeDeviceType(role, alert.deviceType);
  return role !== 'water-bureau' || alert.group === 'water';
}

const actor = (request: FastifyRequest) => request.principal?.name || request.principal?.tokenId || 'operator';

export async function alertRoutes(app: FastifyInstance, engine: AlertEngine): Promise<void> {
  /** Unknown and invisible alerts answer alike (404), so ids of what a role may not see are not revealed. */
  async function visibleAlert(request: FastifyRequest, id: string): Promise<void> {
    await engine.idle();
    const alert = engine.lifecycle.find(id) ?? (await engine.store.get(id));
    if (!alert || !alertVisible(roleOf(request), alert)) throw new IngestError('INGEST_ERR_NOT_FOUND', `alert "${id}" does not exist`);
  }

  app.get<{ Querystring: ListQs }>(
    '/api/v1/alerts',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Alerts, newest first: active (default), cleared or all; filter by severity, type (rule), group, device',
        tags: ['alerts'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['active', 'cleared', 'all'], default: 'active' },
            severity: { type: 'string', enum: [...SEVERITIES] },
            type: queryText(64, 'rule id, e.g. ring-island-isolated, time-to-dark, water-leak'),
            group: { type: 'string', enum: [...ALERT_GROUPS] },
            deviceId: queryText(80),
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
            before: { type: 'integer', minimum: 0, maximum: MAX_EPOCH_MS, description: 'only alerts raised before this epoch ms (paging: the last raisedAt of the previous page)' },
          },
        },
        response: { 200: page('alerts', alert) },
      },
    },
    async (request) => {
      const q = request.query;
      // engine.list waits for queued rule work, so an alert raised by an already acknowledged message is listed.
      const found = await engine.list({ state: q.state, limit: q.limit, ...(q.severity ? { severity: q.severity } : {}), ...(q.type ? { rule: q.type } : {}), ...(q.group ? { group: q.group } : {}), ...(q.deviceId ? { deviceId: q.deviceId } : {}), ...(q.before !== undefined ? { raisedBefore: q.before } : {}) });
      const alerts = found.filter((a) => alertVisible(roleOf(request), a));
      return { count: alerts.length, alerts };
    },
  );

  app.get(
    '/api/v1/alerts/stream',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: 'Server-sent events: every alert change as it happens (event = raised, cleared, …; data = {kind, at, alert})',
        tags: ['alerts'],
        response: { 200: { description: 'an endless text/event-stream; a comment line every 15 s keeps it open', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
      },
    },
    (request, reply) => {
      const role = roleOf(request);
      // Hijacked streams skip the preSerialization hook, so redact here what the hook redacts elsewhere.
      const view = canSeeWelfare(role) ? undefined : (e: AlertEvent) => redactWelfare(e);
      streamAlerts(engine, request, reply, (e) => alertVisible(role, e.alert), view);
    },
  );

  app.get<{ Querystring: { limit: number } }>(
    '/api/v1/alerts/webhook-dead-letters',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: "Alert notifications a webhook did not accept after all retries, newest first: those of the caller's alert group (field engineers: field, water bureau: water, disaster ops: disaster; admin: all), welfare ones only for roles with welfare access",
        tags: ['alerts'],
        querystring: limitQuery(1000, 100),
        response: { 200: page('deadLetters', webhookDeadLetter) },
      },
    },
    async (request) => {
      const role = roleOf(request);
      // Filtered after the read, so a page may hold fewer than `limit` (the store has no group column).
      const deadLetters = (await engine.store.listWebhookDeadLetters(request.query.limit)).filter((dl) => handlesAlertGroup(role, dl.event.alert.group) && alertVisible(role, dl.event.alert));
      return { count: deadLetters.length, deadLetters };
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/alerts/:id', { config: { roles: READ_ROLES }, schema: { summary: 'One alert', tags: ['alerts'], params: idParam, response: { 200: alert } } }, async (request) => {
    await visibleAlert(request, request.params.id);
    return (await engine.get(request.params.id))!;
  });

  app.post<{ Params: { id: string }; Body: { comment?: string } | undefined }>(
    '/api/v1/alerts/:id/ack',
    { config: { roles: ACT_ROLES }, schema: { summary: 'Acknowledge an alert, optionally with a comment', tags: ['alerts'], params: idParam, body: { type: 'object', additionalProperties: false, properties: { comment: text } }, response: { 200: alert, 409: ref('Error') } } },
    async (request) => {
      await visibleAlert(request, request.params.id);
      const alert = await acknowledgeAlert(engine, request.params.id, actor(request), request.body?.comment);
      await request.audit({ action: 'alert.acknowledge', target: alert.id, detail: { rule: alert.rule, deviceId: alert.deviceId } });
      return alert;
    },
  );

  app.post<{ Params: { id: string }; Body: { text: string } }>(
    '/api/v1/alerts/:id/comments',
    { config: { roles: ACT_ROLES }, schema: { summary: 'Add a comment to an alert', tags: ['alerts'], params: idParam, body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text } }, response: { 200: alert } } },
    async (request) => {
      await visibleAlert(request, request.params.id);
      return commentAlert(engine, request.params.id, actor(request), request.body.text);
    },
  );

  app.post<{ Params: { id: string }; Body: { mode: 'one-shot' | 'timed'; minutes?: number; comment?: string } }>(
    '/api/v1/alerts/:id/shelve',
    {
      config: { roles: ACT_ROLES },
      schema: {
        summary: 'Shelve an active alert: one-shot (until it clears) or timed (for `minutes`); it stays listed, but is not notified',
        tags: ['alerts'],
        params: idParam,
        body: {
          type: 'object',
          required: ['mode'],
          additionalProperties: false,
          properties: { mode: { type: 'string', enum: ['one-shot', 'timed'] }, minutes: { type: 'number', exclusiveMinimum: 0, maximum: 43_200 }, comment: text },
        },
        response: { 200: alert, 409: ref('Error') },
      },
    },
    async (request) => {
      const b = request.body;
      await visibleAlert(request, request.params.id);
      const alert = await shelveAlert(engine, request.params.id, { mode: b.mode, by: actor(request), ...(b.minutes !== undefined ? { minutes: b.minutes } : {}), ...(b.comment ? { comment: b.comment } : {}) });
      await request.audit({ action: 'alert.shelve', target: alert.id, detail: { mode: b.mode, minutes: b.minutes ?? null } });
      return alert;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/alerts/:id/unshelve',
    { config: { roles: ACT_ROLES }, schema: { summary: 'End the shelving of an alert', tags: ['alerts'], params: idParam, response: { 200: alert, 409: ref('Error') } } },
    async (request) => {
      await visibleAlert(request, request.params.id);
      const alert = await unshelveAlert(engine, request.params.id);
      await request.audit({ action: 'alert.unshelve', target: alert.id });
      return alert;
    },
  );
}
