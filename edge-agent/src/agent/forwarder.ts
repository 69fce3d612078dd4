import { buildTopic, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { MessageBuffer } from '../buffer/types.js';
import { isEdgeAgentError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RateLimiter } from './rate-limiter.js';

export interface ForwarderStats {
  published: number;
  publishedSamples: number;
  inFlight: number;
  lastPublishAt: number | undefined;
  publishErrors: number;
}

/**
 * Moves messages from the buffer to the broker while connected: up to `maxInFlight` unacknowledged at
 * once, in the buffer's send order (events, live, replay). A message leaves the buffer only on its
 * PUBACK. While the link is down MQTT.js holds the in-flight ones and resends them after reconnecting,
 * so they stay "in flight" here and are not sent twice.
 */
export class Forwarder {
  private readonly inFlight = new Set<number>();
  private connected = false;
  private pumping = false;
  private again = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly counters: ForwarderStats = { published: 0, publishedSamples: 0, inFlight: 0, lastPublishAt: undefined, publishErrors: 0 };

  constructor(
    private readonly buffer: MessageBuffer,
    private readonly publish: (topic: string, payload: Buffer) => Promise<void>,
    private readonly o: { type: DeviceType; deviceId: string; maxInFlight: number; limiter?: RateLimiter; logger: Logger; clock: () => number },
  ) {}

  stats(): ForwarderStats {
    return { ...this.counters, inFlight: this.inFlight.size };
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    if (connected) this.kick();
  }

  /** Something new may be sendable (a push, an ack, a reconnect). */
  kick(): void {
    if (this.stopped || !this.connected) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  /** Resolves once nothing is in flight (bounded by `timeoutMs`). */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.inFlight.size === 0;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (this.connected && !this.stopped && this.inFlight.size < this.o.maxInFlight) {
          const batch = await this.buffer.next(this.o.maxInFlight - this.inFlight.size, this.inFlight);
          if (batch.length === 0) break;
          for (const m of batch) {
            const wait = this.o.limiter?.reserve(m.payload.length) ?? 0;
            if (wait > 0) {
              // Paced: try again when the broker's publish limits allow this message.
              this.retryLater(wait);
              return;
            }
            this.send(m.id, m.channel, m.payload, m.samples);
          }
        }
      } while (this.again);
    } catch (err) {
      this.o.logger.error({ deviceId: this.o.deviceId, err: (err as Error).message }, 'forwarder: reading the buffer failed; retrying');
      this.retryLater();
    } finally {
      this.pumping = false;
    }
  }

  private send(id: number, channel: 'telemetry' | 'event', payload: Buffer, samples: number): void {
    this.inFlight.add(id);
    this.publish(buildTopic(this.o.type, this.o.deviceId, channel), payload).then(
      async () => {
        this.inFlight.delete(id);
        this.counters.published++;
        this.counters.publishedSamples += samples;
        this.counters.lastPublishAt = this.o.clock();
        await this.buffer.ack(id).catch((err: unknown) => this.o.logger.warn({ deviceId: this.o.deviceId, err: (err as Error).message }, 'forwarder: ack not recorded; the message may be sent again'));
        this.kick();
      },
      (err: unknown) => {
        this.inFlight.delete(id);
        if (this.stopped || isEdgeAgentError(err, 'EDGE_ERR_STOPPED')) return;
        this.counters.publishErrors++;
        this.o.logger.warn({ deviceId: this.o.deviceId, err: (err as Error).message }, 'forwarder: publish failed; the message stays buffered');
        this.retryLater();
      },
    );
  }

  private retryLater(ms = 1000): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, ms);
    this.retryTimer.unref();
  }
}
