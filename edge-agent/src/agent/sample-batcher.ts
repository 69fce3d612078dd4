import type { BufferedSample, MessageBuffer } from '../buffer/types.js';
import type { MessageFactory } from './message-factory.js';

/** Live single-sample messages allowed to wait before live samples are batched (backpressure). */
export const LIVE_QUEUE = 4;

/**
 * Where a new sample goes (not thread-safe: the agent calls it from one serial chain).
 * - Online: one live Telemetry per sample.
 * - Offline: into the buffer's open batch, sealed as a `replay` message whenever the next sample would
 *   pass the batch limit (≤ 1,000 samples and the 64 KiB payload limit).
 * - Online but publishing slower than sampling (pacing, a slow link): live samples batch up too, and the
 *   batch goes out as soon as the live lane is empty, so the live lane never grows one message per sample.
 */
export class SampleBatcher {
  private batchBytes = 0;

  constructor(
    private readonly buffer: MessageBuffer,
    private readonly factory: MessageFactory,
  ) {}

  /** After the buffer was opened: account for the open batch a previous run left. */
  recover(): void {
    this.batchBytes = this.buffer.openBatch().reduce((n, s) => n + this.factory.sampleBytes(s), 0);
  }

  /** Stores the sample; resolves true when a message became sendable. */
  async add(sample: BufferedSample, connected: boolean): Promise<boolean> {
    const batched = this.buffer.openBatch().length;
    if (connected && batched === 0 && this.buffer.pendingCount('live') < LIVE_QUEUE) {
      await this.buffer.push(this.factory.telemetry([sample], 'live'));
      return true;
    }
    let sendable = false;
    if (!this.factory.fits(batched, this.batchBytes, sample)) sendable = await this.seal(connected ? 'live' : 'replay');
    await this.buffer.addSample(sample);
    this.batchBytes += this.factory.sampleBytes(sample);
    if (connected && this.buffer.pendingCount('live') === 0) sendable = (await this.seal('live')) || sendable;
    return sendable;
  }

  /** Numbers the open batch as one message; resolves true if there was one. */
  async seal(lane: 'live' | 'replay'): Promise<boolean> {
    const m = await this.buffer.seal((samples) => this.factory.telemetry(samples, lane));
    this.batchBytes = 0;
    return m !== undefined;
  }
}
