/**
 * What every integration adapter shares: the way into the ingest (the intake sink, as for MQTT-contract
 * messages), dead letters with the reason, and one-at-a-time processing in arrival order.
 */
import { bsPowerSample, buildTopic, formatIssues, MAX_PAYLOAD_BYTES, smartPoleSample, validatePayload, waterMeterSample, type Channel, type DeviceRecord, type DeviceRegistry, type DeviceType } from '@tsunagaru/firmware-contracts';
import type { z } from 'zod';
import type { MessageSink } from '../intake/sink.js';
import type { OperationsStore } from '../storage/types.js';

/** Device types an integration can map readings to (ring-node segments are not a flat set of readings). */
export const MAPPABLE_TYPES = ['smart-pole', 'water-meter', 'bs-power'] as const;
export type MappableType = (typeof MAPPABLE_TYPES)[number];

/** The readings of each mappable type, from the contract's own sample schemas (never a copy of the list). */
export const READINGS: Record<MappableType, readonly string[]> = {
  'smart-pole': Object.keys(smartPoleSample.shape).filter((k) => k !== 'ts'),
  'water-meter': Object.keys(waterMeterSample.shape).filter((k) => k !== 'ts'),
  'bs-power': Object.keys(bsPowerSample.shape).filter((k) => k !== 'ts'),
};

/** A converted message: a contract topic and payload, checked against contract v1 before it is journalled. */
export interface ContractOut {
  type: DeviceType;
  deviceId: string;
  channel: Channel;
  payload: Record<string, unknown>;
}

/** Contract v1's verdict on a converted message: undefined when valid, else the reason. */
export function contractProblem(m: ContractOut): string | undefined {
  const v = validatePayload({ type: m.type, deviceId: m.deviceId, channel: m.channel }, m.payload);
  return v.ok ? undefined : `contract: ${v.reason}`;
}

export function zodProblem(error: z.ZodError, input: unknown): string {
  return formatIssues(error, input).join('; ');
}

export interface DeadLetterOut {
  topic: string;
  payload: Buffer;
  reason: string;
  deviceId: string | null;
  receivedAt: number;
}

/**
 * Where converted messages and refusals go. `sink` is the intake sink the MQTT subscriber uses
 * (intake/sink.ts, then the journal): `durable` settles on the group commit. Dead letters keep the
 * message as the integration sent it (ChirpStack JSON, Sparkplug protobuf as base64) with the reason.
 */
export interface IntegrationOutput {
  sink: MessageSink;
  deadLetter(dl: DeadLetterOut): Promise<void>;
}

/** Journals a converted contract message; resolves once it is in the journal, with its durability. */
export async function journalContract(out: IntegrationOutput, m: ContractOut, receivedAt: number): Promise<{ durable: Promise<unknown> }> {
  return out.sink.enqueue(buildTopic(m.type, m.deviceId, m.channel), Buffer.from(JSON.stringify(m.payload)), receivedAt);
}

/** Dead letters through the operations store (the same table and API as the pipeline's dead letters). */
export function deadLettersTo(operations: Pick<OperationsStore, 'addDeadLetter'>): IntegrationOutput['deadLetter'] {
  return async (dl) => {
    // Binary (Sparkplug protobuf) is kept as base64 so the stored text is the exact bytes received.
    const text = isUtf8Text(dl.payload) ? dl.payload.toString('utf8') : `base64:${dl.payload.toString('base64')}`;
    const truncated = Buffer.byteLength(text) > MAX_PAYLOAD_BYTES;
    await operations.addDeadLetter({
      receivedAt: dl.receivedAt,
      topic: dl.topic.slice(0, 1024),
      payload: truncated ? text.slice(0, MAX_PAYLOAD_BYTES) : text,
      payloadBytes: dl.payload.byteLength,
      truncated,
      reason: dl.reason.slice(0, 4096),
      deviceId: dl.deviceId,
    });
  };
}

function isUtf8Text(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return !b.includes(0);
  } catch {
    return false;
  }
}

/**
 * Runs tasks one at a time in the order they were queued: a join must be counted before the uplink
 * that follows it is numbered, a birth's aliases known before the data that uses them. Each task only
 * waits for the journal to take its message (an in-memory append), not for the fsync, so the MQTT
 * client still has many messages in flight.
 */
export class SerialQueue {
  /** Settles when the last task queued has; never with its result (a queue would hold it for ever). */
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.then(() => undefined, () => undefined);
    return next;
  }
}

/**
 * Provisioned devices by an integration's key (a DevEUI, a Sparkplug group/edge node), built from the
 * registry's attributes on first use and again after any registry change. Disabled devices are left out.
 */
export class DeviceIndex {
  private index: Map<string, DeviceRecord> | undefined;
  private readonly stop: () => void;

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly keyOf: (d: DeviceRecord) => string | undefined,
  ) {
    this.stop = registry.onChange(() => (this.index = undefined));
  }

  get(key: string): DeviceRecord | undefined {
    if (!this.index) {
      this.index = new Map();
      for (const d of this.registry.listDevices()) {
        const k = d.disabled ? undefined : this.keyOf(d);
        if (k !== undefined) this.index.set(k, d);
      }
    }
    return this.index.get(key);
  }

  close(): void {
    this.stop();
  }
}

/** A value at a dotted path (`object.volumeL`, `rxInfo.0.rssi`), or undefined. */
export function valueAt(root: unknown, path: string): unknown {
  let v: unknown = root;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export const isMappableType = (t: string): t is MappableType => (MAPPABLE_TYPES as readonly string[]).includes(t);
export type { DeviceType };
