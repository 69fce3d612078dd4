import type { ContractMessage } from '@tsunagaru/firmware-contracts';

/** What happened to one MQTT message. Every message ends in exactly one of these; none vanish. */
export type Outcome =
  | { kind: 'stored'; deviceId: string; boot: number; seq: number }
  | { kind: 'duplicate'; deviceId: string; boot: number; seq: number }
  | { kind: 'state'; deviceId: string; online: boolean; stale: boolean }
  | { kind: 'command-ack'; deviceId: string; cmdId: string }
  /** A `cmd` message: cloud → device traffic that the ingest's wildcard subscription also sees. */
  | { kind: 'ignored'; reason: string }
  | { kind: 'dead-letter'; reason: string };

export type OutcomeKind = Outcome['kind'];

export interface PipelineCounters {
  received: number;
  byOutcome: Record<OutcomeKind, number>;
  /** Storage calls that failed and will be retried (the message is not acknowledged meanwhile). */
  storageErrors: number;
}

export function emptyCounters(): PipelineCounters {
  return {
    received: 0,
    byOutcome: { stored: 0, duplicate: 0, state: 0, 'command-ack': 0, ignored: 0, 'dead-letter': 0 },
    storageErrors: 0,
  };
}

/** Telemetry and events: the messages that carry readings (the store's and the rules' business). */
export type ReadingMessage = Extract<ContractMessage, { channel: 'telemetry' | 'event' }>;

/**
 * A message the journal holds durably and validation accepted (contract v1, provisioned, a sane clock, not
 * a redelivery the ledger already holds): told to the alert rules at once, before it is stored; its store
 * outcome follows from the store batch. Telemetry and events only: the state rules wait for the store's
 * verdict on a birth or a death (online, stale).
 */
export interface Accepted {
  message: ReadingMessage;
  receivedAt: number;
  /** Journalled by an earlier run of the ingest and replayed after a restart. */
  replayed: boolean;
}
