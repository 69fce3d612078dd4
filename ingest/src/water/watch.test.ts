/**
 * The monthly use the `water-usage-rise` rule judges: read a few households at a time (the city's at once
 * passed the read limit, so the rule never judged), and read again at the next evaluation when a read
 * fails, not skipped for the month.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceRecord, Telemetry } from '@tsunagaru/firmware-contracts';
import { DEFAULT_ALERT_RULES } from '../alerts/rules-config.js';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import type { StorableMessage } from '../storage/types.js';
import type { WaterReader } from './registers.js';
import { WaterWatch } from './watch.js';

const H = 3_600_000;
const NOV = Date.UTC(2026, 9, 31, 15); // 2026-11-01 00:00 JST
const DEC = Date.UTC(2026, 10, 30, 15); // 2026-12-01 00:00 JST

const message = (id: string, seq: number, ts: number, indexL: number): StorableMessage => ({
  channel: 'telemetry', type: 'water-meter', deviceId: id, receivedAt: ts,
  payload: { v: 1, id, boot: 1, seq, ts, samples: [{ ts, indexL }] } as Telemetry,
});

describe('the water watch', () => {
  let store: EmbeddedStore;
  beforeEach(async () => {
    store = await openEmbeddedStore(':memory:', { clock: () => DEC + 48 * H });
  });
  afterEach(() => store.close());

  it('reads a month of every household in parts, and again after a failed read', async () => {
    const ids = ['wm-a', 'wm-b', 'wm-c'];
    // November's use at 5, 6, 7 L/h: 3,600, 4,320, 5,040 L, read an hour either side of each midnight.
    const lph = [5, 6, 7];
    const at = (k: number, t: number) => 10_000 + (lph[k]! * (t - NOV)) / H;
    await store.writer.write(ids.flatMap((id, k) => [NOV - H, NOV + H, DEC - H, DEC + H].map((t, seq) => message(id, seq, t, at(k, t)))));
    const devices = { listDevices: (): DeviceRecord[] => ids.map((id) => ({ id, type: 'water-meter', attributes: { dma: 'dma-1' } }) as unknown as DeviceRecord) };
    let reads = 0;
    let fail = true;
    const db: WaterReader = { ...store.api.water, figures: undefined, all: async (q, p, t) => {
      if (q.includes('AS device_id')) {
        reads++;
        if (fail) throw new Error('the store is busy');
      }
      return store.api.water.all(q, p, t);
    } };
    const config = { ...DEFAULT_ALERT_RULES, rules: { ...DEFAULT_ALERT_RULES.rules, 'dma-night-flow': { ...DEFAULT_ALERT_RULES.rules['dma-night-flow'], enabled: false } } };
    const watch = new WaterWatch({ db, devices, config, householdsPerRead: 2 });
    await expect(watch.gather(DEC + 48 * H)).rejects.toThrow('busy');
    expect(watch.status()).toMatchObject({ reads: 0, reading: false, usageMonthRead: null });
    fail = false;
    reads = 0;
    const later = DEC + 48 * H + config.water.night.evaluateEveryMin * 60_000;
    const figures = await watch.gather(later);
    // Two parts of two households; each read on its own the five month starts (Nov and Dec last year,
    // Oct, Nov and Dec), which lie months apart.
    expect(reads).toBe(2 * 5);
    expect(watch.status()).toMatchObject({ reads: 1, reading: false, usageMonthRead: '2026-11' });
    expect(figures!.usage.map((u) => [u.deviceId, u.month, Math.round(u.litres!)])).toEqual([['wm-a', '2026-11', 3600], ['wm-b', '2026-11', 4320], ['wm-c', '2026-11', 5040]]);
    // Judged: not read again this month, nor after a restart that remembers it (the rules' saved state).
    reads = 0;
    expect((await watch.gather(later + config.water.night.evaluateEveryMin * 60_000))!.usage).toEqual([]);
    expect((await new WaterWatch({ db, devices, config }).gather(later, { usageMonthJudged: '2026-11' }))!.usage).toEqual([]);
    expect(reads).toBe(0);
  });
});
