import { parsePayload, parseTopic, validatePayload, type ContractMessage, type DeviceRecord, type ParsedTopic } from '@tsunagaru/firmware-contracts';
import type { OperationsStore, StorageWriter } from '../storage/types.js';
import type { Outcome } from './outcome.js';

/** What the validation steps look at: the registry and the clock. */
export interface ValidationDeps {
  /** Looks up provisioned devices (the broker's registry). */
  getDevice: (id: string) => DeviceRecord | undefined;
  clock: () => number;
  /** How far ahead of `clock` a device's timestamps may be before the message is refused (checkClockStep). Default 5 min. */
  maxClockSkewMs?: number;
}

/** What the store batch needs besides (drain/pipeline.ts). */
export interface PipelineDeps extends ValidationDeps {
  writer: StorageWriter;
  operations: OperationsStore;
  /**
   * Whether (id, boot, seq) was stored before (the completeness ledger). Such a message is a `duplicate`
   * and is not written again: a store that cannot tell (InfluxDB overwrites) still reports a redelivery,
   * and one whose original went to the archive (issue 15) is not stored twice.
   */
  seen?: (deviceId: string, boot: number, seq: number) => boolean;
}

/** Mutable context passed through the steps of one message. */
export interface MessageContext {
  topicName: string;
  payload: Buffer;
  receivedAt: number;
  /** Read back from the journal after a restart: received by an earlier run of the ingest. */
  fromEarlierRun?: boolean;
  topic?: ParsedTopic;
  parsedPayload?: unknown;
  message?: ContractMessage;
  /**
   * Device clock minus server clock as this message shows it (checkClockStep): its newest `ts` minus
   * `receivedAt`, for live telemetry and events and for births. Positive: the device's clock is ahead.
   */
  clockSkewMs?: number;
}

/** A step either lets the message go on (returns undefined) or ends it with an outcome. */
export type Step = (ctx: MessageContext, deps: PipelineDeps) => Outcome | undefined | Promise<Outcome | undefined>;
/** A validation step touches no storage, so it is synchronous: no await (a microtask) per step and message. */
export type ValidationStep = (ctx: MessageContext, deps: ValidationDeps) => Outcome | undefined;

const deadLetter = (reason: string): Outcome => ({ kind: 'dead-letter', reason });

/** contracts-v1 "Topics": tsunagaru/v1/{type}/{deviceId}/{channel}. */
export const parseTopicStep: ValidationStep = (ctx) => {
  const t = parseTopic(ctx.topicName);
  if (!t.ok) return deadLetter(t.reason);
  ctx.topic = t.topic;
  return undefined;
};

/** contracts-v1 "Topics": UTF-8 JSON objects of at most 64 KiB. */
export const parsePayloadStep: ValidationStep = (ctx) => {
  const p = parsePayload(ctx.payload);
  if (!p.ok) return deadLetter(p.error);
  ctx.parsedPayload = p.value;
  return undefined;
};

/** contracts-v1 "Envelope", "State", "Commands", "Units and bounds". */
export const validateContractStep: ValidationStep = (ctx) => {
  const v = validatePayload(ctx.topic!, ctx.parsedPayload);
  if (!v.ok) return deadLetter(v.reason);
  ctx.message = v.message;
  return undefined;
};

/**
 * Only provisioned devices of the right type are stored. Our broker already refuses others; this guards
 * the ingest when it runs behind a broker with looser rules (e.g. mosquitto with a wide ACL).
 */
export const checkProvisionedStep: ValidationStep = (ctx, deps) => {
  const m = ctx.message!;
  const device = deps.getDevice(m.deviceId);
  if (!device) return deadLetter(`device: "${m.deviceId}" is not provisioned; provision it with POST /api/v1/devices`);
  if (device.type !== m.type) return deadLetter(`topic: device "${m.deviceId}" is provisioned as ${device.type}, not ${m.type}`);
  return undefined;
};

/** Default of PipelineDeps.maxClockSkewMs (env DEVICE_CLOCK_MAX_SKEW_SEC). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The newest time the message says something was measured (or the birth happened); undefined if none. */
function newestTs(m: ContractMessage): number | undefined {
  switch (m.channel) {
    case 'telemetry':
      return (m.payload.samples as ReadonlyArray<{ ts: number }>).reduce((max, s) => Math.max(max, s.ts), m.payload.ts);
    case 'event':
      return m.payload.ts;
    case 'state':
      return m.payload.ts;
    default:
      return undefined;
  }
}

/**
 * contracts-v1 "Envelope": `ts` and every sample's `ts` are epoch ms (UTC) of the measurement. A time
 * ahead of the server clock is a wrong device clock (firmware-contracts/README.md "Timestamps"): stored,
 * a sample stamped 2099 became the meter's "latest" and made every later, true sample look old to the alert
 * rules, so its burst and tamper alarms raised nothing. Telemetry and events more than `maxClockSkewMs`
 * ahead of `clock` (the injected one in tests and scenario runs) are dead-lettered. Live messages and
 * births also measure the skew for the device's status, those refused here included.
 */
export const checkClockStep: ValidationStep = (ctx, deps) => {
  const m = ctx.message!;
  const newest = newestTs(m);
  if (newest === undefined) return undefined;
  const samples = m.channel === 'telemetry' || m.channel === 'event';
  // A replay carries what was measured while offline: its age says nothing about the clock.
  if (!samples || m.payload.replay !== true) ctx.clockSkewMs = newest - ctx.receivedAt;
  if (!samples) return undefined;
  const now = deps.clock();
  const max = deps.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  if (newest - now <= max) return undefined;
  return deadLetter(
    `clock: stamped ${new Date(newest).toISOString()}, ${aheadText(newest - now)} ahead of the server clock (${new Date(now).toISOString()}); ` +
      `more than ${Math.round(max / 1000)} s ahead is refused: the device's clock is wrong, set it (NTP)`,
  );
};

function aheadText(ms: number): string {
  const units: Array<[number, string]> = [[365.25 * 86_400_000, 'years'], [86_400_000, 'days'], [3_600_000, 'h'], [60_000, 'min']];
  for (const [size, name] of units) if (ms >= 2 * size) return `${(ms / size).toFixed(1)} ${name}`;
  return `${Math.round(ms / 1000)} s`;
}

/**
 * State and command acks, one by one. Telemetry and events are not stored here but per batch, in one
 * write (drain/pipeline.ts), so a batch of messages costs one round trip to the store.
 */
export const routeStep: Step = async (ctx, deps) => {
  const m = ctx.message!;
  switch (m.channel) {
    case 'state': {
      const { status, stale } = await deps.operations.recordState({ deviceId: m.deviceId, type: m.type, state: m.payload, receivedAt: ctx.receivedAt });
      return { kind: 'state', deviceId: m.deviceId, online: status.online, stale };
    }
    case 'cmd/ack':
      await deps.operations.recordCommandAck(m.deviceId, m.payload, ctx.receivedAt);
      return { kind: 'command-ack', deviceId: m.deviceId, cmdId: m.payload.cmdId };
    case 'cmd':
      // Never from the journal: the ways in skip commands (intake/sink.ts). A caller handing the pipeline
      // messages straight (tests, fuzzing) is told the same.
      return { kind: 'ignored', reason: 'cmd is cloud-to-device traffic' };
    default:
      return undefined;
  }
};

/** Per message, in order: each may end the message with an outcome (dead letter, ignored). */
export const VALIDATION_STEPS: ReadonlyArray<readonly [string, ValidationStep]> = [
  ['parseTopic', parseTopicStep],
  ['parsePayload', parsePayloadStep],
  ['validateContract', validateContractStep],
  ['checkProvisioned', checkProvisionedStep],
  ['checkClock', checkClockStep],
];

/**
 * Runs the validation steps on `ctx`: the first outcome (dead letter, ignored), or undefined when the
 * message may be stored (then `ctx.message` is set). A step that throws makes a dead letter naming it:
 * validation touches no storage, so it would throw again on every retry.
 */
export function validateMessage(ctx: MessageContext, deps: ValidationDeps): Outcome | undefined {
  for (const [name, step] of VALIDATION_STEPS) {
    let outcome: Outcome | undefined;
    try {
      outcome = step(ctx, deps);
    } catch (err) {
      outcome = { kind: 'dead-letter', reason: `pipeline: step ${name} failed: ${(err as Error).message}` };
    }
    if (outcome) return outcome;
  }
  return undefined;
}

/** The ingest pipeline, in order: validation, then storing (telemetry and events per batch) and routing. */
export const PIPELINE_STEPS: ReadonlyArray<readonly [string, Step]> = [...VALIDATION_STEPS, ['route', routeStep]];
