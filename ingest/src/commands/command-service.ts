import { randomUUID } from 'node:crypto';
import { buildTopic, validatePayload, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { Logger } from 'pino';
import { IngestError } from '../errors.js';
import type { Outcome } from '../dispatch/outcome.js';
import type { CommandRecord, DuckDbCommandStore } from '../storage/duckdb/command-store.js';

/** The status the API reports: derived from the stored state, the device's ack and the clock. */
export type CommandStatus = 'queued' | 'sent' | 'acked' | 'failed' | 'expired';

export interface CommandView {
  cmdId: string;
  deviceId: string;
  name: string;
  args: Record<string, unknown> | null;
  status: CommandStatus;
  createdAt: number;
  expiresAt: number;
  sentAt: number | null;
  ackedAt: number | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

export interface CommandServiceDeps {
  store: DuckDbCommandStore;
  /** QoS 1, not retained (our broker refuses a retained cmd); resolves on the broker's PUBACK. */
  publish: (topic: string, payload: Buffer) => Promise<void>;
  /** Whether the device's latest state is its birth. */
  isOnline: (deviceId: string) => Promise<boolean>;
  clock: () => number;
  logger: Logger;
  /** How long a POST waits for the broker's PUBACK before answering `queued`, ms. Default 2000. */
  publishWaitMs?: number;
}

export const DEFAULT_TTL_SEC = 300;
export const MAX_TTL_SEC = 7 * 24 * 3600;

export function commandView(c: CommandRecord, now: number): CommandView {
  let status: CommandStatus;
  // A device refusing a command because it arrived after expiresTs reports "expired at …".
  if (c.ack) status = c.ack.ok ? 'acked' : /^expired\b/.test(c.ack.error ?? '') ? 'expired' : 'failed';
  else if (now >= c.expiresAt) status = 'expired';
  else status = c.state;
  return {
    cmdId: c.cmdId,
    deviceId: c.deviceId,
    name: c.name,
    args: c.args,
    status,
    createdAt: c.createdAt,
    expiresAt: c.expiresAt,
    sentAt: c.sentAt,
    ackedAt: c.ack?.receivedAt ?? null,
    result: c.ack?.result ?? null,
    error: c.ack?.error ?? (status === 'expired' ? `not acknowledged before ${new Date(c.expiresAt).toISOString()}` : null),
  };
}

/**
 * The cloud side of commands (contract v1 "Commands"): validated and stored first, published at once to
 * a device that is online, else kept until its next birth, or until it expires. The device's ack arrives
 * through the pipeline (command_acks); the status is derived from it when read.
 */
export class CommandService {
  private readonly inFlight = new Set<string>();

  constructor(private readonly d: CommandServiceDeps) {}

  async create(device: { id: string; type: DeviceType }, request: { name: string; args?: Record<string, unknown>; ttlSec?: number; requestedBy?: string }): Promise<CommandView> {
    const now = this.d.clock();
    const ttlSec = request.ttlSec ?? DEFAULT_TTL_SEC;
    const cmdId = `cmd-${randomUUID()}`;
    const payload = { v: 1, cmdId, name: request.name, ...(request.args !== undefined ? { args: request.args } : {}), ts: now, expiresTs: now + ttlSec * 1000 };
    const checked = validatePayload({ type: device.type, deviceId: device.id, channel: 'cmd' }, payload);
    if (!checked.ok) throw new IngestError('INGEST_ERR_BAD_REQUEST', `command refused by contract v1: ${checked.reason}`);
    const record = { cmdId, deviceId: device.id, type: device.type, name: request.name, args: request.args ?? null, payload: JSON.stringify(payload), createdAt: now, expiresAt: payload.expiresTs, requestedBy: request.requestedBy ?? null };
    await this.d.store.insert(record);
    this.d.logger.info({ event: 'command_created', deviceId: device.id, cmdId, name: request.name, ttlSec }, 'command queued');
    if (await this.d.isOnline(device.id)) {
      const sending = this.send({ ...record, state: 'queued', sentAt: null, ack: null });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([sending, new Promise((r) => (timer = setTimeout(r, this.d.publishWaitMs ?? 2000)))]);
      clearTimeout(timer);
    }
    return (await this.get(device.id, cmdId))!;
  }

  async get(deviceId: string, cmdId: string): Promise<CommandView | undefined> {
    const c = await this.d.store.get(deviceId, cmdId);
    return c ? commandView(c, this.d.clock()) : undefined;
  }

  async list(deviceId: string, limit: number): Promise<CommandView[]> {
    const now = this.d.clock();
    return (await this.d.store.list(deviceId, limit)).map((c) => commandView(c, now));
  }

  /** Pipeline hook: a birth releases the device's queued commands. Never blocks the pipeline. */
  onOutcome(outcome: Outcome): void {
    if (outcome.kind !== 'state' || !outcome.online || outcome.stale) return;
    void this.flush(outcome.deviceId).catch((err: unknown) => this.d.logger.error({ deviceId: outcome.deviceId, err: (err as Error).message }, 'queued commands not sent'));
  }

  private async flush(deviceId: string): Promise<void> {
    for (const c of await this.d.store.queued(deviceId, this.d.clock())) await this.send(c);
  }

  private async send(c: CommandRecord): Promise<void> {
    if (this.inFlight.has(c.cmdId)) return;
    this.inFlight.add(c.cmdId);
    try {
      await this.d.publish(buildTopic(c.type, c.deviceId, 'cmd'), Buffer.from(c.payload));
      await this.d.store.markSent(c.cmdId, this.d.clock());
      this.d.logger.info({ event: 'command_sent', deviceId: c.deviceId, cmdId: c.cmdId, name: c.name }, 'command published');
    } catch (err) {
      this.d.logger.warn({ event: 'command_publish_failed', deviceId: c.deviceId, cmdId: c.cmdId, err: (err as Error).message }, 'command not published; it stays queued for the next birth');
    } finally {
      this.inFlight.delete(c.cmdId);
    }
  }
}
