import { buildTopic, validateMessage, type DeviceType } from '@tsunagaru/firmware-contracts';
import { expect } from 'vitest';
import type { DeviceModel, ModelStep } from './model.js';

/** 2025-07-15 00:00 JST: a summer day, Tuesday. */
export const SUMMER_MIDNIGHT_JST = Date.UTC(2025, 6, 14, 15, 0, 0);
/** 2025-01-21 00:00 JST: a winter day, Tuesday. */
export const WINTER_MIDNIGHT_JST = Date.UTC(2025, 0, 20, 15, 0, 0);
export const HOUR = 3_600_000;

export interface TimedStep<T extends DeviceType> extends ModelStep<T> {
  ts: number;
}

/** Steps a model every `sampleSec` for `hours` of simulated time. */
export function run<T extends DeviceType>(model: DeviceModel<T>, startTs: number, hours: number, sampleSec: number): TimedStep<T>[] {
  const out: TimedStep<T>[] = [];
  for (let ts = startTs; ts <= startTs + hours * HOUR; ts += sampleSec * 1000) out.push({ ts, ...model.step(ts) });
  return out;
}

/**
 * Wraps every sample and event in a contract envelope, as a DeviceSession would, and checks each against
 * the contract; reports every failing message at once.
 */
export function expectAllValid<T extends DeviceType>(type: T, deviceId: string, steps: readonly TimedStep<T>[]): void {
  const failures: string[] = [];
  let seq = 0;
  for (const step of steps) {
    for (const event of step.events) {
      const topic = buildTopic(type, deviceId, 'event');
      const r = validateMessage(topic, JSON.stringify({ v: 1, id: deviceId, boot: 0, seq: seq++, ts: event.ts, type: event.type, ...(event.detail ? { detail: event.detail } : {}) }));
      if (!r.ok) failures.push(`event ${event.type} at ${new Date(event.ts).toISOString()}: ${r.reason}`);
    }
    const topic = buildTopic(type, deviceId, 'telemetry');
    const r = validateMessage(topic, JSON.stringify({ v: 1, id: deviceId, boot: 0, seq: seq++, ts: step.sample.ts, samples: [step.sample] }));
    if (!r.ok) failures.push(`sample at ${new Date(step.ts).toISOString()}: ${r.reason}`);
  }
  expect(failures.slice(0, 10)).toEqual([]);
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** JST hour of day of a timestamp, as an integer. */
export function jstHourOf(ts: number): number {
  return new Date(ts + 9 * HOUR).getUTCHours();
}
