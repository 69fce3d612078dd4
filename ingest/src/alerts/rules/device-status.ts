import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { RuleContext } from './context.js';

/** One device's last message, as the silence rule needs it. */
export interface LastSeen {
  deviceId: string;
  type: DeviceType;
  /** When the ingest last received any message from it (epoch ms), null if never. */
  lastSeen: number | null;
  /** Sample interval from its birth, s. */
  sampleSec: number | null;
  online: boolean;
}

/** Where "when did we last hear from each device" comes from: device status (alerting.ts lastSeenFromStatus). */
export interface LastSeenSource {
  list(): Promise<readonly LastSeen[]>;
}

export function onDeviceState(ctx: RuleContext, deviceId: string, type: DeviceType, online: boolean): void {
  if (!ctx.config.offline.types.includes(type)) return;
  ctx.report({ deviceId, rule: 'device-offline', object: null, active: !online, severity: ctx.config.rules['device-offline'].severity, deviceType: type, message: 'device offline: its MQTT session ended (death message)' });
}

/** Any message proves the device is talking. */
export function onDeviceHeard(ctx: RuleContext, deviceId: string, type: DeviceType): void {
  ctx.report({ deviceId, rule: 'device-silent', object: null, active: false, severity: 'minor', deviceType: type, message: '' });
}

/** Clock-driven: silent for k × its own sample interval. A device known offline is the offline rule's. */
export function evaluateSilence(ctx: RuleContext, devices: readonly LastSeen[]): void {
  const { k, minSilenceSec, types } = ctx.config.silence;
  for (const d of devices) {
    if (!types.includes(d.type) || d.lastSeen === null || d.sampleSec === null || d.sampleSec <= 0) continue;
    const limitMs = Math.max(k * d.sampleSec, minSilenceSec) * 1000;
    const silentMs = ctx.now - d.lastSeen;
    const coveredByOffline = !d.online && ctx.config.offline.types.includes(d.type);
    ctx.report({
      deviceId: d.deviceId, rule: 'device-silent', object: null, active: silentMs > limitMs && !coveredByOffline, severity: ctx.config.rules['device-silent'].severity, deviceType: d.type,
      value: Math.round(silentMs / 1000),
      message: `silent for ${Math.round(silentMs / 60_000)} min (expected a message every ${d.sampleSec} s; limit ${k} ×)`,
    });
  }
}
