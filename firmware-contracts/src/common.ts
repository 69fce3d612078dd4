import { z } from 'zod';
import { BOUNDS, MAX_TS_MS, MIN_TS_MS, type BoundedReading } from './bounds.js';
import { DEVICE_ID_PATTERN } from './topics.js';

/** Maximum payload size of any message (contract v1, "Topics"). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Maximum samples in one Telemetry message. */
export const MAX_SAMPLES = 1000;

export const contractVersion = z.literal(1);
export const deviceId = z.string().regex(DEVICE_ID_PATTERN);
export const counter = z.int().min(0);
export const epochMs = z.int().min(MIN_TS_MS).max(MAX_TS_MS);

/** A number (or integer) constrained to the physical bounds of the named reading. */
export function bounded(name: BoundedReading) {
  const b = BOUNDS[name];
  const base = 'integer' in b && b.integer ? z.int() : z.number();
  return base.min(b.min).max(b.max).meta({ description: `${name} in ${b.unit}` });
}

/** Envelope shared by Telemetry and Event (contract v1, "Envelope"). */
export const envelopeShape = {
  v: contractVersion,
  id: deviceId,
  boot: counter,
  seq: counter,
  ts: epochMs,
  replay: z.boolean().optional(),
};

/** The envelope's TypeScript shape (contract v1, "Envelope"), shared by Telemetry and DeviceEvent. */
export interface Envelope {
  v: 1;
  id: string;
  boot: number;
  seq: number;
  ts: number;
  replay?: boolean;
}

/**
 * A strict object that must carry at least `min` properties. The `minProperties` metadata makes the
 * exported JSON Schema enforce the same rule as the zod refinement, so the two cannot drift.
 */
export function atLeastProperties<T extends z.ZodRawShape>(shape: T, min: number, message: string) {
  return z
    .strictObject(shape)
    .refine((o) => Object.keys(o).length >= min, { message })
    .meta({ minProperties: min });
}
