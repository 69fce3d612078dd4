import { z } from 'zod';
import { atLeastProperties, bounded, envelopeShape, epochMs, MAX_SAMPLES, type Envelope } from './common.js';
import type { DeviceType } from './topics.js';

/** Readings per device type (contract v1, "Envelope": readings per type). */
export const smartPoleSample = atLeastProperties(
  {
    ts: epochMs,
    airTempC: bounded('airTempC').optional(),
    humidityPct: bounded('humidityPct').optional(),
    noiseDb: bounded('noiseDb').optional(),
    pm25: bounded('pm25').optional(),
    peopleCount: bounded('peopleCount').optional(),
    wifiClients: bounded('wifiClients').optional(),
    fiveG: z.enum(['up', 'down']).optional(),
    powerW: bounded('powerW').optional(),
    cabinetTempC: bounded('cabinetTempC').optional(),
    doorOpen: z.boolean().optional(),
  },
  2,
  'must carry at least one reading besides ts',
);

export const WATER_METER_ALARMS = ['leak', 'burst', 'backflow', 'tamper', 'lowBattery', 'noFlow'] as const;

export const waterMeterSample = z.strictObject({
  ts: epochMs,
  indexL: bounded('indexL'),
  flowLph: bounded('flowLph').optional(),
  batteryPct: bounded('batteryPct').optional(),
  alarms: z.array(z.enum(WATER_METER_ALARMS)).max(WATER_METER_ALARMS.length).optional(),
  // Link quality of the radio uplink that carried the sample (LPWA meters: the best gateway's RSSI/SNR).
  rssiDbm: bounded('rssiDbm').optional(),
  snrDb: bounded('snrDb').optional(),
});

export const bsPowerSample = atLeastProperties(
  {
    ts: epochMs,
    mains: z.enum(['on', 'off']).optional(),
    rectifierV: bounded('rectifierV').optional(),
    loadA: bounded('loadA').optional(),
    batterySocPct: bounded('batterySocPct').optional(),
    batteryV: bounded('batteryV').optional(),
    batteryA: bounded('batteryA').optional(),
    batteryTempC: bounded('batteryTempC').optional(),
    batterySohPct: bounded('batterySohPct').optional(),
    batteryCapacityAh: bounded('batteryCapacityAh').optional(),
    generator: z.enum(['off', 'starting', 'running', 'fault']).optional(),
    fuelPct: bounded('fuelPct').optional(),
    backhaul: z.enum(['fiber', 'satellite', 'down']).optional(),
    runtimeMin: bounded('runtimeMin').optional(),
  },
  2,
  'must carry at least one reading besides ts',
);

export const SEGMENT_ID_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)+$/;

export const ringSegment = z.strictObject({
  id: z.string().regex(SEGMENT_ID_PATTERN).max(64),
  /** The main (traffic) signal. */
  state: z.enum(['up', 'down', 'degraded']),
  rxDbm: bounded('rxDbm').optional(),
  /**
   * The supervisory channel (contract v1, optional): loss of signal on both main and supervisory is a cable
   * cut; on the main signal only, a board fault. Older devices omit it and stay valid.
   */
  supervisory: z.enum(['up', 'down']).optional(),
});

export const ringNodeSample = z.strictObject({
  ts: epochMs,
  segments: z.array(ringSegment).min(1).max(64),
});

function telemetryOf<S extends z.ZodType>(sample: S) {
  return z.strictObject({ ...envelopeShape, samples: z.array(sample).min(1).max(MAX_SAMPLES) });
}

export const smartPoleTelemetry = telemetryOf(smartPoleSample);
export const waterMeterTelemetry = telemetryOf(waterMeterSample);
export const bsPowerTelemetry = telemetryOf(bsPowerSample);
export const ringNodeTelemetry = telemetryOf(ringNodeSample);

export const telemetrySchemas = {
  'smart-pole': smartPoleTelemetry,
  'water-meter': waterMeterTelemetry,
  'bs-power': bsPowerTelemetry,
  'ring-node': ringNodeTelemetry,
} as const satisfies Record<DeviceType, z.ZodType>;

export type SmartPoleSample = z.infer<typeof smartPoleSample>;
export type WaterMeterSample = z.infer<typeof waterMeterSample>;
export type BsPowerSample = z.infer<typeof bsPowerSample>;
export type RingNodeSample = z.infer<typeof ringNodeSample>;
export type RingSegment = z.infer<typeof ringSegment>;
export type WaterMeterAlarm = (typeof WATER_METER_ALARMS)[number];

export interface SampleByType {
  'smart-pole': SmartPoleSample;
  'water-meter': WaterMeterSample;
  'bs-power': BsPowerSample;
  'ring-node': RingNodeSample;
}

export interface Telemetry<T extends DeviceType = DeviceType> extends Envelope {
  samples: SampleByType[T][];
}
