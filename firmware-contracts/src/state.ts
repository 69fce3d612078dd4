import { z } from 'zod';
import { bounded, contractVersion, counter, deviceId, epochMs } from './common.js';

/** Birth: published (retained) by the device right after it connects (contract v1, "State"). */
export const birthState = z.strictObject({
  v: contractVersion,
  id: deviceId,
  state: z.literal('online'),
  boot: counter,
  ts: epochMs,
  fw: z.string().min(1).max(64),
  model: z.string().min(1).max(64),
  sampleSec: bounded('sampleSec'),
});

/** Death: the device's MQTT will, or published by the device itself on a graceful disconnect. */
export const deathState = z.strictObject({
  v: contractVersion,
  id: deviceId,
  state: z.literal('offline'),
  boot: counter,
  ts: epochMs.optional(),
});

export const stateSchema = z.discriminatedUnion('state', [birthState, deathState]);

export type BirthState = z.infer<typeof birthState>;
export type DeathState = z.infer<typeof deathState>;
export type DeviceState = z.infer<typeof stateSchema>;
