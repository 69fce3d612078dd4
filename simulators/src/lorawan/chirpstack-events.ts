/**
 * ChirpStack v4 MQTT integration events, built in the JSON shape its documentation gives
 * (chirpstack-docs integrations/events.md) with the Protocol Buffers JSON mapping's rule that a field at
 * its default value (0, false, empty) is left out: an uplink with fCnt 0 has no `fCnt`.
 */
import { Rng } from '../rng.js';

export interface LoraDeviceInfo {
  tenantId: string;
  tenantName: string;
  applicationId: string;
  applicationName: string;
  deviceProfileId: string;
  deviceProfileName: string;
  deviceName: string;
  devEui: string;
  tags?: Record<string, string>;
}

export interface Reception {
  gatewayId: string;
  rssi: number;
  snr: number;
}

/** A UUID v4 from the fleet's seeded generator, so a run can be replayed exactly. */
export function seededUuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng.uniform() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** RFC 3339 with nanoseconds and +00:00, as ChirpStack writes `time`. */
export function chirpstackTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, frac: string) => `.${frac}000000+00:00`);
}

const omitDefault = (key: string, value: number | boolean | string) => (value === 0 || value === false || value === '' ? {} : { [key]: value });

export function upEvent(o: { deduplicationId: string; time: number; deviceInfo: LoraDeviceInfo; devAddr: string; dr: number; fCnt: number; fPort: number; data: Buffer; object: Record<string, unknown>; rx: Reception[]; frequency: number }) {
  return {
    deduplicationId: o.deduplicationId,
    time: chirpstackTime(o.time),
    deviceInfo: o.deviceInfo,
    devAddr: o.devAddr,
    ...omitDefault('dr', o.dr),
    ...omitDefault('fCnt', o.fCnt),
    ...omitDefault('fPort', o.fPort),
    data: o.data.toString('base64'),
    object: o.object,
    rxInfo: o.rx.map((r, i) => ({ gatewayId: r.gatewayId, uplinkId: 1000 + i, rssi: r.rssi, snr: r.snr, context: 'AAAAAA==', metadata: { region_name: 'as923', region_common_name: 'AS923' } })),
    txInfo: { frequency: o.frequency, modulation: { lora: { bandwidth: 125000, spreadingFactor: 12 - o.dr, codeRate: 'CR_4_5' } } },
  };
}

export function joinEvent(o: { deduplicationId: string; time: number; deviceInfo: LoraDeviceInfo; devAddr: string }) {
  return { deduplicationId: o.deduplicationId, time: chirpstackTime(o.time), deviceInfo: o.deviceInfo, devAddr: o.devAddr };
}

export function statusEvent(o: { deduplicationId: string; time: number; deviceInfo: LoraDeviceInfo; margin: number; batteryLevel: number }) {
  return { deduplicationId: o.deduplicationId, time: chirpstackTime(o.time), deviceInfo: o.deviceInfo, ...omitDefault('margin', o.margin), ...omitDefault('batteryLevel', o.batteryLevel) };
}

export function ackEvent(o: { deduplicationId: string; time: number; deviceInfo: LoraDeviceInfo; queueItemId: string; acknowledged: boolean; fCntDown: number }) {
  return { deduplicationId: o.deduplicationId, time: chirpstackTime(o.time), deviceInfo: o.deviceInfo, queueItemId: o.queueItemId, ...omitDefault('acknowledged', o.acknowledged), ...omitDefault('fCntDown', o.fCntDown) };
}

export function txAckEvent(o: { downlinkId: number; time: number; deviceInfo: LoraDeviceInfo; queueItemId: string; fCntDown: number; gatewayId: string }) {
  return {
    downlinkId: o.downlinkId,
    time: chirpstackTime(o.time),
    deviceInfo: o.deviceInfo,
    queueItemId: o.queueItemId,
    ...omitDefault('fCntDown', o.fCntDown),
    gatewayId: o.gatewayId,
    txInfo: { frequency: 923200000, power: 13, modulation: { lora: { bandwidth: 125000, spreadingFactor: 10, codeRate: 'CR_4_5', polarizationInversion: true } }, timing: { delay: { delay: '1s' } }, context: 'AAAAAA==' },
  };
}
