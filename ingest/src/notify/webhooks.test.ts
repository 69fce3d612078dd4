import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlertRules } from '../alerts/rules-config.js';
import type { WebhookDeadLetter } from '../alerts/store.js';
import type { Alert, AlertEvent } from '../alerts/types.js';
import { routes, WebhookNotifier } from './webhooks.js';

const alert = (severity: Alert['severity'], group: Alert['group'], id = 'a1'): Alert => ({
  id, deviceId: 'bsp-1', rule: 'time-to-dark', object: null, deviceType: 'bs-power', group, severity, state: 'active', message: 'm', value: 50, detail: {},
  raisedAt: 1, updatedAt: 1, clearedAt: null, acknowledged: false, ackedAt: null, ackedBy: null, comments: [], shelved: null, chattering: false, transitions: 1, flooded: false,
  observedAt: 1, causeId: null, symptoms: 0, announced: true,
});
const event = (severity: Alert['severity'], group: Alert['group'], id?: string): AlertEvent => ({ kind: 'raised', at: 1, alert: alert(severity, group, id) });

describe('alert webhooks', () => {
  let server: Server;
  let base = '';
  const received: Record<string, unknown[]> = {};
  const replies: Record<string, number[]> = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const status = replies[req.url!]?.shift() ?? 200;
        if (status === 200) (received[req.url!] ??= []).push(JSON.parse(body));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  function notifier(hooks: object[]) {
    const deadLetters: Array<Omit<WebhookDeadLetter, 'id'>> = [];
    const config = parseAlertRules({ notifications: { webhooks: hooks.map((h) => ({ retryInitialMs: 5, retryMaxMs: 20, ...h })) } });
    const n = new WebhookNotifier(config.notifications.webhooks, { store: { addWebhookDeadLetter: async (dl) => void deadLetters.push(dl) } });
    return { n, deadLetters, config };
  }

  it('routes by severity, group and event kind', () => {
    const [hook] = parseAlertRules({ notifications: { webhooks: [{ name: 'ops', url: 'http://x/', severities: ['critical', 'major'], groups: ['disaster'] }] } }).notifications.webhooks;
    expect(routes(hook!, event('critical', 'disaster'))).toBe(true);
    expect(routes(hook!, event('minor', 'disaster'))).toBe(false);
    expect(routes(hook!, event('critical', 'water'))).toBe(false);
    expect(routes(hook!, { ...event('critical', 'disaster'), kind: 'acknowledged' })).toBe(false);
  });

  it('retries a failing receiver with backoff and delivers once it recovers', async () => {
    replies['/flaky'] = [503, 500];
    const { n, deadLetters } = notifier([{ name: 'flaky', url: `${base}/flaky` }]);
    n.notify(event('major', 'field'));
    await n.idle();
    expect(received['/flaky']).toEqual([expect.objectContaining({ source: 'tsunagaru', kind: 'raised', alert: expect.objectContaining({ id: 'a1' }) })]);
    expect(deadLetters).toEqual([]);
  });

  it('dead-letters after the last attempt, at once for a refusal (4xx), and what waits at close', async () => {
    replies['/down'] = [500, 500, 500];
    replies['/refuses'] = [400];
    const { n, deadLetters } = notifier([
      { name: 'down', url: `${base}/down`, maxAttempts: 3 },
      { name: 'refuses', url: `${base}/refuses` },
    ]);
    n.notify(event('critical', 'disaster'));
    await n.idle();
    expect(deadLetters.map((d) => [d.webhook, d.attempts, d.lastError]).sort()).toEqual([['down', 3, 'HTTP 500 from down'], ['refuses', 1, 'HTTP 400 from refuses']]);

    const slow = notifier([{ name: 'slow', url: `${base}/slow`, retryInitialMs: 60_000, retryMaxMs: 60_000 }]);
    replies['/slow'] = [503];
    slow.n.notify(event('minor', 'water', 'x1'));
    slow.n.notify(event('minor', 'water', 'x2'));
    await new Promise((r) => setTimeout(r, 100));
    await slow.n.close();
    expect(slow.deadLetters.map((d) => [d.event.alert.id, d.lastError])).toEqual([['x1', 'the ingest stopped before delivery'], ['x2', 'the ingest stopped before delivery']]);
  });
});
