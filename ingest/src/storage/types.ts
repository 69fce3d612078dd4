import type { CommandAck, DeviceEvent, DeviceState, DeviceType, Telemetry } from '@tsunagaru/firmware-contracts';

/** A validated message ready to be stored, with the time the ingest received it. */
export type StorableMessage =
  | { channel: 'telemetry'; type: DeviceType; deviceId: string; payload: Telemetry; receivedAt: number }
  | { channel: 'event'; type: DeviceType; deviceId: string; payload: DeviceEvent; receivedAt: number };

export type WriteOutcome = 'stored' | 'duplicate';

/**
 * The one interface every time-series writer implements (the embedded DuckDB, InfluxDB v1 and v2, the
 * fan-out over several); storage/writer.contract.ts is the behaviour each must have, run against each.
 * `write` answers one outcome per message, in order, and is idempotent per (deviceId, boot, seq): a
 * redelivered message is stored once, and reported `duplicate` by a store that can tell (InfluxDB
 * overwrites and cannot: the completeness ledger tells then). It resolves only when the data is durable
 * in the store; it rejects with an IngestError whose canRetry() says whether the same batch may succeed
 * later (unreachable: yes; data refused as invalid: no), and then nothing of that call may be half-applied.
 */
export interface StorageWriter {
  write(messages: readonly StorableMessage[]): Promise<WriteOutcome[]>;
  close(): Promise<void>;
}

export interface DeadLetter {
  receivedAt: number;
  topic: string;
  /** Payload as received, cut at the store's bound; `payloadBytes` is the original size. */
  payload: string;
  payloadBytes: number;
  truncated: boolean;
  reason: string;
  /** deviceId parsed from the topic, when the topic was parseable. */
  deviceId: string | null;
}

export interface StoredDeadLetter extends DeadLetter {
  id: number;
}

export interface DeviceStatus {
  deviceId: string;
  type: DeviceType;
  online: boolean;
  /** Boot of the latest birth (or of the latest message if no birth was seen). */
  boot: number | null;
  lastSeen: number | null;
  lastStateAt: number | null;
  fw: string | null;
  model: string | null;
  sampleSec: number | null;
  /**
   * Device clock minus server clock, ms, from its latest live message or birth (newest `ts` minus when it
   * arrived); null until one is seen. Positive: the clock is ahead (its readings more than
   * DEVICE_CLOCK_MAX_SKEW_SEC ahead are dead letters). Negative: behind, or the sample waited that long.
   */
  clockSkewMs: number | null;
}

export interface StateChange {
  deviceId: string;
  type: DeviceType;
  state: DeviceState;
  receivedAt: number;
}

export interface StateOutcome {
  status: DeviceStatus;
  /**
   * A death from an earlier boot than the latest birth (a late will), or a birth older than the current
   * boot (a stale retained message): recorded, but the device's status is not changed by it.
   */
  stale: boolean;
}

export interface ReadingRow {
  boot: number;
  seq: number;
  ts: number;
  replay: boolean;
  [reading: string]: unknown;
}

export interface LatestReading {
  value: unknown;
  ts: number;
}

export interface ReadingsQuery {
  from: number;
  to: number;
  limit: number;
}

/** What the ingest keeps about itself: dead letters, device status, command acks. */
export interface OperationsStore {
  addDeadLetter(dl: DeadLetter): Promise<void>;
  listDeadLetters(q: { limit: number; beforeId?: number; deviceId?: string }): Promise<StoredDeadLetter[]>;
  countDeadLetters(): Promise<number>;
  recordState(change: StateChange): Promise<StateOutcome>;
  touchDevice(deviceId: string, type: DeviceType, seenAt: number, boot: number): Promise<void>;
  /** The same for many devices in one statement (the batching ingest uses it when present), with their clock skew. */
  touchDevices?(list: ReadonlyArray<{ deviceId: string; type: DeviceType; seenAt: number; boot: number; clockSkewMs?: number | null }>): Promise<void>;
  /** Records devices' clock skew (DeviceStatus.clockSkewMs) without marking them seen. */
  recordClockSkews?(list: ReadonlyArray<{ deviceId: string; type: DeviceType; clockSkewMs: number }>): Promise<void>;
  getStatus(deviceId: string): Promise<DeviceStatus | undefined>;
  listStatus(): Promise<DeviceStatus[]>;
  /** When each device was last heard (id, type, last seen, sample interval, online), from memory when the store keeps it there. */
  listLastSeen?(): Promise<ReadonlyArray<Pick<DeviceStatus, 'deviceId' | 'type' | 'lastSeen' | 'sampleSec' | 'online'>>>;
  /** Tells `listener` of each device whose entry in listLastSeen changes from now on, once stored. */
  onLastSeenChange?(listener: (d: Pick<DeviceStatus, 'deviceId' | 'type' | 'lastSeen' | 'sampleSec' | 'online'>) => void): () => void;
  recordCommandAck(deviceId: string, ack: CommandAck, receivedAt: number): Promise<void>;
}

/** The operations store's reads, all the API needs of it (it reads through a pool of its own). */
export type OperationsReader = Pick<OperationsStore, 'listDeadLetters' | 'countDeadLetters' | 'getStatus' | 'listStatus'>;

/** Reading back what the embedded store holds (the API uses it). */
export interface ReadingsReader {
  readings(deviceId: string, type: DeviceType, q: ReadingsQuery): Promise<ReadingRow[]>;
  latestReadings(deviceId: string, type: DeviceType): Promise<Record<string, LatestReading>>;
  events(deviceId: string, q: ReadingsQuery): Promise<Array<{ boot: number; seq: number; ts: number; type: string; detail: unknown }>>;
}
