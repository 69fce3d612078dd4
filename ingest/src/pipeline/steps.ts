import { parsePayload, parseTopic, validatePayload, type ContractMessage, type ParsedTopic } from '@tsunagaru/firmware-contracts';
import type { DeviceRecord } from '@tsunagaru/broker';
import type { OperationsStore, StorageWriter } from '../storage/types.js';
import type { Outcome } from './outcome.js';

export interface PipelineDeps {
  writer: StorageWriter;
  operations: OperationsStore;
  /** Looks up provisioned devices (the broker's registry). */
  getDevice: (id: string) => DeviceRecord | undefined;
  clock: () => number;
  /**
   * Whether (id, boot, seq) was stored before (the completeness ledger). Lets a store that cannot tell
   * (InfluxDB overwrites) still report a redelivery as `duplicate`.
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
}

/** A step either lets the message go on (returns undefined) or ends it with an outcome. */
export type Step = (ctx: MessageContext, deps: PipelineDeps) => Outcome | undefined | Promise<Outcome | undefined>;
/** A validation step touches no storage, so it is synchronous: no await (a microtask) per step and message. */
export type ValidationStep = (ctx: MessageContext, deps: PipelineDeps) => Outcome | undefined;

const deadLetter = (reason: string): Outcome => ({ kind: 'dead-letter', reason });

/** contracts-v1 "Topics": tsunagaru/v1/{type}/{deviceId}/{channel}. */
export const parseTopicStep: ValidationStep = (ctx) => {
  const t = parseTopic(ctx.topicName);
  if (!t.ok) return deadLetter(t.reason);
  ctx.topic = t.topic;
  return undefined;
};

/** `cmd` is cloud → device; the ingest sees its own commands through the wildcard subscription. */
export const skipCommandsStep: ValidationStep = (ctx) => (ctx.topic?.channel === 'cmd' ? { kind: 'ignored', reason: 'cmd is cloud-to-device traffic' } : undefined);

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

/**
 * State and command acks, one by one. Telemetry and events are not stored here but per batch, in one
 * write (pipeline.ts), so a batch of messages costs one round trip to the store.
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
      return { kind: 'ignored', reason: 'cmd is cloud-to-device traffic' };
    default:
      return undefined;
  }
};

/** Per message, in order: each may end the message with an outcome (dead letter, ignored). */
export const VALIDATION_STEPS: ReadonlyArray<readonly [string, ValidationStep]> = [
  ['parseTopic', parseTopicStep],
  ['skipCommands', skipCommandsStep],
  ['parsePayload', parsePayloadStep],
  ['validateContract', validateContractStep],
  ['checkProvisioned', checkProvisionedStep],
];

/**
 * Runs the validation steps on `ctx`: the first outcome (dead letter, ignored), or undefined when the
 * message may be stored (then `ctx.message` is set). A step that throws makes a dead letter naming it:
 * validation touches no storage, so it would throw again on every retry.
 */
export function validateMessage(ctx: MessageContext, deps: PipelineDeps): Outcome | undefined {
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
