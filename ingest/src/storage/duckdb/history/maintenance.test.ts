/**
 * The maintenance loop converts closed rollups of the layout before in the background (migrate.ts), a
 * share of a day per fold tick, never at start: a store of the old layout is served at once.
 */
import { afterEach, expect, it, vi } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore } from '../index.js';
import { closedRows, unnestHours } from './closed-hours.js';
import { FOLD_EVERY_MS, HistoryMaintenance } from './maintenance.js';
import { dayOpenColumns, dayTable, names, plainDayTable } from './rollup-sql.js';
import { dayRows } from './rollups.js';

const JST_DAY0 = Date.UTC(2026, 10, 23, 15, 0, 0); // 2026-11-24 00:00 in Tokyo
afterEach(() => vi.useRealTimers());

it('converts a share of the old layout per fold tick, none at start', async () => {
  const now = JST_DAY0 + 3 * 86_400_000;
  const store = await openEmbeddedStore(':memory:', { clock: () => now });
  const m = new HistoryMaintenance(store.history);
  try {
    const readings = Array.from({ length: 8 }, (_, k) => JST_DAY0 + k * 6 * 3_600_000).map((ts, seq) => ({ channel: 'telemetry' as const, type: 'water-meter' as const, deviceId: 'wm-1', receivedAt: now, payload: { v: 1, id: 'wm-1', boot: 1, seq, ts, samples: [{ ts, indexL: 100 + seq }] } as Telemetry }));
    await store.writer.write(readings);
    await store.history.fold();
    const days = `SELECT * FROM (${dayRows('water-meter', "device_id = 'wm-1'")}) ORDER BY day`;
    const before = await store.db.all(days);
    // Its two closed days as a store of the layout before holds them.
    const [table, plain] = [dayTable('water-meter'), plainDayTable('water-meter')];
    await store.db.run(`INSERT INTO ${plain} ${closedRows('water-meter', `SELECT ${names(dayOpenColumns('water-meter'))} FROM ${table}`, unnestHours('water-meter', `SELECT * FROM ${table}`), 'plain')}`);
    await store.db.run(`DELETE FROM ${table}`);
    const left = async () => Number((await store.db.all(`SELECT count(*) AS n FROM ${plain}`))[0]!.n);
    expect(await left()).toBe(2);

    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    m.start();
    await m.runNow(); // after the start's own retention step
    expect(await left()).toBe(2);
    // A tick: a fold, then one share (the oldest day's devices); runNow waits for both.
    vi.advanceTimersByTime(FOLD_EVERY_MS);
    await m.runNow();
    expect(await left()).toBe(1);
    vi.advanceTimersByTime(FOLD_EVERY_MS);
    await m.runNow();
    expect(await left()).toBe(0);
    expect(await store.db.all(days)).toEqual(before);
  } finally {
    await m.stop();
    await store.close();
  }
});
