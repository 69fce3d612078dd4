/**
 * Water meters' readings for the water tests: hand-made registers whose volumes are known exactly, as the
 * writer stores them (one telemetry message per reading).
 */
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import type { StorableMessage } from '../storage/types.js';
import type { WaterReader } from './registers.js';

export const H = 3_600_000;
export const D = 24 * H;
/** 2026-11-01 00:00 in Tokyo. */
export const JST_DAY0 = Date.UTC(2026, 9, 31, 15, 0, 0);

/** One telemetry message of `deviceId` with `samples`. */
export const message = (deviceId: string, seq: number, samples: Array<{ ts: number; indexL: number }>): StorableMessage => ({
  channel: 'telemetry', type: 'water-meter', deviceId, receivedAt: samples.at(-1)!.ts,
  payload: { v: 1, id: deviceId, boot: 1, seq, ts: samples[0]!.ts, samples } as Telemetry,
});

/** Hourly readings of a meter using `lph` litres an hour, from `from` to `to` (exclusive), one message each. */
export const hourly = (id: string, lph: number, from: number, to: number, skip: (t: number) => boolean = () => false): StorableMessage[] => {
  const out: StorableMessage[] = [];
  for (let t = from, k = 0; t < to; t += H, k++) if (!skip(t)) out.push(message(id, k, [{ ts: t, indexL: 1000 + lph * ((t - from) / H) }]));
  return out;
};

/** The time of a stored message's reading. */
export const readingTs = (m: StorableMessage): number => (m.payload as Telemetry).ts;

/** The store's water reader, with the register queries it ran (`computed`); and one that keeps nothing. */
export const registerReads = (water: WaterReader): { kept: WaterReader; fresh: WaterReader; computed: string[] } => {
  const computed: string[] = [];
  const kept: WaterReader = { ...water, all: (q, p, t) => (q.includes('from_json($1::JSON, \'["VARCHAR"]\')) AS device_id') && computed.push(q), water.all(q, p, t)) };
  const { figures: _, ...fresh } = water;
  return { kept, fresh, computed };
};
