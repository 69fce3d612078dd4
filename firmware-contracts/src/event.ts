import { z } from 'zod';
import { envelopeShape, type Envelope } from './common.js';
import type { DeviceType } from './topics.js';

/**
 * Event types per device type (contract v1, "Event": "a string from the device type's list").
 * The contract names examples; the full lists are decided here and documented in the README.
 */
export const EVENT_TYPES = {
  'smart-pole': ['door_open', 'door_closed', 'fiveg_down', 'fiveg_up', 'power_lost', 'power_restored', 'cabinet_overtemp', 'cabinet_temp_normal'],
  'water-meter': ['leak_detected', 'leak_cleared', 'burst', 'backflow', 'tamper', 'low_battery'],
  'bs-power': ['mains_lost', 'mains_restored', 'generator_start', 'generator_stop', 'generator_fault', 'backhaul_satellite', 'backhaul_fiber', 'backhaul_down', 'battery_low'],
  'ring-node': ['link_down', 'link_up', 'link_degraded'],
} as const satisfies Record<DeviceType, readonly string[]>;

export type EventType<T extends DeviceType = DeviceType> = (typeof EVENT_TYPES)[T][number];

/** `detail` is free-form but must be a JSON object; it is bounded by the 64 KiB payload limit. */
const detail = z.record(z.string(), z.unknown());

function eventOf<T extends DeviceType>(type: T) {
  const types = EVENT_TYPES[type] as unknown as readonly [EventType<T>, ...EventType<T>[]];
  return z.strictObject({ ...envelopeShape, type: z.enum(types), detail: detail.optional() });
}

export const eventSchemas = {
  'smart-pole': eventOf('smart-pole'),
  'water-meter': eventOf('water-meter'),
  'bs-power': eventOf('bs-power'),
  'ring-node': eventOf('ring-node'),
} as const satisfies Record<DeviceType, z.ZodType>;

export interface DeviceEvent<T extends DeviceType = DeviceType> extends Envelope {
  type: EventType<T>;
  detail?: Record<string, unknown>;
}
