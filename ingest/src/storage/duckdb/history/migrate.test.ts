/**
 * A store whose rollups were made before counters kept their largest drop is upgraded at open: days with
 * raw readings are rebuilt (the same statistics, exact drops, readings still pending counted once); a day
 * whose raw readings are gone keeps its rollups, with its drop not known.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore } from '../index.js';
import { dayRows } from './rollups.js';

const JST_DAY0 = Date.UTC(2026, 10, 23, 15, 0, 0);
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

it('upgrades rollups of the older shape (no drop column) at open, losing nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-migrate-'));
  dirs.push(dir);
  const now = JST_DAY0 + 3 * 86_400_000;
  const open = () => openEmbeddedStore(dir, { clock: () => now, attributes: () => ({ dma: 'dma-1' }) });
  const day = (s: Awaited<ReturnType<typeof open>>) => s.db.all(`SELECT day::VARCHAR AS day, n, "indexL_first", "indexL_last", "flowLph_max" FROM (${dayRows('water-meter', "device_id = 'wm-1'")}) ORDER BY day`);
  let store = await open();
  const readings = [1000, 1200, 700, 900].map((indexL, seq) => ({ channel: 'telemetry' as const, type: 'water-meter' as const, deviceId: 'wm-1', receivedAt: now, payload: { v: 1, id: 'wm-1', boot: 1, seq, ts: JST_DAY0 + seq * 10 * 3_600_000, samples: [{ ts: JST_DAY0 + seq * 10 * 3_600_000, indexL, flowLph: seq }] } as Telemetry }));
  await store.writer.write(readings);
  await store.history.fold();
  const before = await day(store);
  expect(before.map((r) => r.day)).toEqual(['2026-11-24', '2026-11-25']);
  // One more reading of the second day, still pending at the upgrade.
  const late = JST_DAY0 + 35 * 3_600_000;
  await store.writer.write([{ ...readings[3]!, payload: { ...readings[3]!.payload, seq: 4, ts: late, samples: [{ ts: late, indexL: 950, flowLph: 4 }] } as Telemetry }]);
  // The shape of version 1: no drop statistic (the closed table's device index comes back with the DDL).
  await store.db.run(`DROP INDEX rollup_day_water_meter_device`);
  for (const t of ['rollup_day_water_meter', 'rollup_day_open_water_meter', 'rollup_hour_open_water_meter']) {
    for (const c of ['indexL_drop', 'indexL_h_drop']) await store.db.run(`ALTER TABLE ${t} DROP COLUMN IF EXISTS "${c}"`);
  }
  await store.db.run(`UPDATE store_meta SET value = '1' WHERE key = 'history_version'`);
  // The first day's raw readings are gone (past ARCHIVE_RETENTION_DAYS): its rollups are all that is left.
  await store.db.run(`DELETE FROM samples_water_meter WHERE ts < epoch_ms(${JST_DAY0 + 86_400_000}::BIGINT)`);
  await store.close();

  store = await open();
  try {
    // The pending reading counted once: the second day has two readings, 900 and 950.
    expect(await day(store)).toEqual([before[0], { ...before[1], n: 2, indexL_last: '950', flowLph_max: 4 }]);
    // The first day (1000 → 1200 → 700, a swapped meter) cannot be read again: its drop is not known.
    // The second was rebuilt: 900 → 950.
    expect((await store.db.all(`SELECT "indexL_drop" AS d FROM (${dayRows('water-meter', "device_id = 'wm-1'")}) ORDER BY day`)).map((r) => r.d)).toEqual(['Infinity', 0]);
  } finally {
    await store.close();
  }
});
