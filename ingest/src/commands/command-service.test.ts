import { describe, expect, it } from 'vitest';
import { commandView } from './command-service.js';
import type { CommandRecord } from '../storage/duckdb/command-store.js';

const T = 1_750_000_000_000;
const base: CommandRecord = {
  cmdId: 'cmd-1', deviceId: 'bs-1', type: 'bs-power', name: 'ping', args: null, payload: '{}',
  createdAt: T, expiresAt: T + 60_000, state: 'queued', sentAt: null, requestedBy: 'bootstrap', ack: null,
};
const ack = (ok: boolean, error: string | null = null) => ({ ok, result: ok ? { boot: 3 } : null, error, ts: T + 5, receivedAt: T + 10 });

describe('command status', () => {
  it('follows queued → sent → acked, with the device result', () => {
    expect(commandView(base, T + 1).status).toBe('queued');
    expect(commandView({ ...base, state: 'sent', sentAt: T + 2 }, T + 3)).toMatchObject({ status: 'sent', sentAt: T + 2 });
    expect(commandView({ ...base, state: 'sent', ack: ack(true) }, T + 20)).toMatchObject({ status: 'acked', result: { boot: 3 }, ackedAt: T + 10, error: null });
  });

  it('reports a refusal as failed with the device error, and the device saying "expired" as expired', () => {
    expect(commandView({ ...base, state: 'sent', ack: ack(false, 'relay stuck') }, T + 20)).toMatchObject({ status: 'failed', error: 'relay stuck' });
    expect(commandView({ ...base, state: 'sent', ack: ack(false, 'expired at 2025-06-15T15:07:20.000Z') }, T + 20).status).toBe('expired');
  });

  it('expires what was never acknowledged in time, whether sent or still queued', () => {
    expect(commandView(base, T + 60_000)).toMatchObject({ status: 'expired', error: expect.stringMatching(/^not acknowledged before/) as unknown });
    expect(commandView({ ...base, state: 'sent' }, T + 61_000).status).toBe('expired');
    // An ack that made it wins over the clock.
    expect(commandView({ ...base, state: 'sent', ack: ack(true) }, T + 3_600_000).status).toBe('acked');
  });
});
