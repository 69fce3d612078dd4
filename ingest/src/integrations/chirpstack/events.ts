/**
 * ChirpStack v4 MQTT integration events (chirpstack-docs integrations/events.md; api/proto/integration/
 * integration.proto), as JSON. ChirpStack writes them with the Protocol Buffers JSON mapping, which leaves
 * out fields at their default value: an uplink with fCnt 0 has no `fCnt`, a NACK has no `acknowledged`, a
 * status with margin 0 no `margin`. Unknown fields are kept (loose objects), so a newer ChirpStack that
 * adds fields is still read.
 */
import { DEV_EUI_PATTERN } from '@tsunagaru/broker';
import { z } from 'zod';

const time = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be an RFC 3339 time');

export const deviceInfoSchema = z.looseObject({
  tenantId: z.string().optional(),
  applicationId: z.string().min(1),
  applicationName: z.string().optional(),
  deviceProfileId: z.string().optional(),
  deviceProfileName: z.string().min(1),
  deviceName: z.string().optional(),
  devEui: z.string().regex(DEV_EUI_PATTERN, 'must be 16 hex digits'),
  tags: z.record(z.string(), z.string()).optional(),
});

const rxInfo = z.looseObject({
  gatewayId: z.string().optional(),
  rssi: z.number().optional(),
  snr: z.number().optional(),
});

export const upEventSchema = z.looseObject({
  deduplicationId: z.string().min(1),
  time,
  deviceInfo: deviceInfoSchema,
  devAddr: z.string().optional(),
  fCnt: z.int().min(0).default(0),
  fPort: z.int().min(0).optional(),
  data: z.string().optional(),
  object: z.record(z.string(), z.unknown()).optional(),
  rxInfo: z.array(rxInfo).default([]),
});

export const joinEventSchema = z.looseObject({
  deduplicationId: z.string().min(1),
  time,
  deviceInfo: deviceInfoSchema,
  devAddr: z.string().optional(),
});

export const statusEventSchema = z.looseObject({
  deduplicationId: z.string().optional(),
  time,
  deviceInfo: deviceInfoSchema,
  margin: z.int().default(0),
  externalPowerSource: z.boolean().default(false),
  batteryLevelUnavailable: z.boolean().default(false),
  batteryLevel: z.number().min(0).max(100).default(0),
});

export const ackEventSchema = z.looseObject({
  deduplicationId: z.string().optional(),
  time,
  deviceInfo: deviceInfoSchema,
  queueItemId: z.string().min(1),
  acknowledged: z.boolean().default(false),
  fCntDown: z.int().min(0).default(0),
});

export const txAckEventSchema = z.looseObject({
  time,
  deviceInfo: deviceInfoSchema,
  queueItemId: z.string().optional(),
  fCntDown: z.int().min(0).default(0),
  gatewayId: z.string().optional(),
});

export type UpEvent = z.infer<typeof upEventSchema>;
export type JoinEvent = z.infer<typeof joinEventSchema>;
export type StatusEvent = z.infer<typeof statusEventSchema>;
export type AckEvent = z.infer<typeof ackEventSchema>;
export type TxAckEvent = z.infer<typeof txAckEventSchema>;

/** The events Tsunagaru reads; ChirpStack's `log`, `location` and `integration` events are not data. */
export const EVENT_SCHEMAS = { up: upEventSchema, join: joinEventSchema, status: statusEventSchema, ack: ackEventSchema, txack: txAckEventSchema } as const;
export type HandledEvent = keyof typeof EVENT_SCHEMAS;
export const isHandledEvent = (e: string): e is HandledEvent => Object.hasOwn(EVENT_SCHEMAS, e);

/** The uplink's best reception: the gateway with the highest SNR (then RSSI), whose figures are kept as link quality. */
export function bestReception(rx: UpEvent['rxInfo']): { rssiDbm?: number; snrDb?: number; gatewayId?: string } {
  let best: UpEvent['rxInfo'][number] | undefined;
  for (const r of rx) {
    if (r.rssi === undefined && r.snr === undefined) continue;
    const better = !best || (r.snr ?? -Infinity) > (best.snr ?? -Infinity) || ((r.snr ?? -Infinity) === (best.snr ?? -Infinity) && (r.rssi ?? -Infinity) > (best.rssi ?? -Infinity));
    if (better) best = r;
  }
  if (!best) return {};
  return { ...(best.rssi !== undefined ? { rssiDbm: best.rssi } : {}), ...(best.snr !== undefined ? { snrDb: best.snr } : {}), ...(best.gatewayId ? { gatewayId: best.gatewayId } : {}) };
}
