import { MAX_PAYLOAD_BYTES, MAX_SAMPLES, MAX_TS_MS, type DeviceType, type EventType, type SampleByType } from '@tsunagaru/firmware-contracts';
import type { BufferedMessage, BufferedSample, Lane, OutgoingMessage } from '../buffer/types.js';
import type { IdentityStore } from '../identity-store.js';
import { encode, eventPayload, telemetryPayload } from '../payloads.js';

/**
 * Builds numbered, encoded contract messages for the buffer. The seq is taken only after the payload
 * encoded (and, unless disabled, validated), synchronously: a refused payload leaves no gap.
 */
export class MessageFactory<T extends DeviceType = DeviceType> {
  /** Largest payload a batch of samples may fill: the 64 KiB limit minus the largest possible envelope. */
  readonly maxBatchBytes: number;

  constructor(
    readonly type: T,
    readonly deviceId: string,
    private readonly identity: IdentityStore,
    private readonly validate: boolean,
    /** Samples per batch, at most the contract's 1,000. */
    private readonly batchSamples: number = MAX_SAMPLES,
  ) {
    const envelope = JSON.stringify({ v: 1, id: deviceId, boot: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, ts: MAX_TS_MS, replay: true, samples: [] });
    this.maxBatchBytes = MAX_PAYLOAD_BYTES - Buffer.byteLength(envelope);
  }

  /** Bytes a sample adds to a Telemetry payload (its JSON and a comma). */
  sampleBytes(sample: BufferedSample): number {
    return Buffer.byteLength(JSON.stringify(sample)) + 1;
  }

  /** Whether one more sample still fits a batch of `count` samples holding `bytes`. */
  fits(count: number, bytes: number, sample: BufferedSample): boolean {
    return count < Math.min(this.batchSamples, MAX_SAMPLES) && bytes + this.sampleBytes(sample) <= this.maxBatchBytes;
  }

  telemetry(samples: readonly BufferedSample[], lane: Exclude<Lane, 'event'>): OutgoingMessage {
    return this.numbered('telemetry', lane, (env) => telemetryPayload<T>(env, samples as unknown as SampleByType[T][], lane === 'replay'), samples);
  }

  event(type: EventType<T>, ts: number, detail: Record<string, unknown> | undefined, replay: boolean): OutgoingMessage {
    return this.numbered('event', 'event', (env) => ({ ...eventPayload<T>(env, ts, type, detail), ...(replay ? { replay: true } : {}) }), [{ ts }]);
  }

  /** The same (boot, seq) and samples again, marked `replay`, for the `replay` command: the ingest stores what it lacks. */
  replayCopy(m: BufferedMessage): OutgoingMessage {
    const payload = JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>;
    const bytes = encode(this.type, this.deviceId, 'telemetry', { ...payload, replay: true }, this.validate).payload;
    return { ...m, lane: 'replay', payload: bytes };
  }

  private numbered(channel: 'telemetry' | 'event', lane: Lane, build: (env: { id: string; boot: number; seq: number }) => object, samples: readonly { ts: number }[]): OutgoingMessage {
    const { boot, nextSeq } = this.identity.current();
    const { payload } = encode(this.type, this.deviceId, channel, build({ id: this.deviceId, boot, seq: nextSeq }), this.validate);
    const seq = this.identity.takeSeq();
    return { lane, channel, boot, seq, firstTs: samples[0]!.ts, lastTs: samples.at(-1)!.ts, samples: channel === 'telemetry' ? samples.length : 0, payload };
  }
}
