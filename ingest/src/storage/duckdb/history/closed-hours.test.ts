/**
 * Closed days' hours stored compactly (closed-hours.ts) read back as exactly the hour rows they were made
 * from, whatever those hold: times finer than a millisecond, readings missing from an hour's last sample,
 * registers that fall inside an hour, hours without data. And a store holding the older plain layout opens
 * at once and is converted in the background, every answer unchanged meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore } from '../index.js';
import { closedRows, compactFromPlain, dayColumns, unnestHours } from './closed-hours.js';
import { dayOpenColumns, dayStatsFrom, dayTable, hourRowsFromRaw, names, plainDayTable } from './rollup-sql.js';
import { convertPlainShare } from './migrate.js';
import { DEFAULT_REGISTER_SETTINGS, registersAt } from '../../../water/index.js';
import { dayRows, hourRows } from './rollups.js';

const JST_DAY0 = Date.UTC(2026, 10, 23, 15, 0, 0); // 2026-11-24 00:00 in Tokyo
const HOUR = 3_600_000;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

it('reads back exactly the hour rows it was made from, in both layouts', async () => {
  const store = await openEmbeddedStore(':memory:');
  try {
    // Six meters over two days: times with microseconds, some readings absent, registers that fall.
    await store.db.run(`CREATE TEMP TABLE raw AS SELECT 'wm-' || (i % 6) AS device_id, 1::UBIGINT AS boot, i::UBIGINT AS seq, 0 AS idx,
        make_timestamp((${JST_DAY0}::BIGINT + (hash(i, 't') % 172800000)::BIGINT) * 1000 + CASE WHEN i % 5 = 0 THEN i % 997 ELSE 0 END) AS ts, false AS replay,
        CASE WHEN i % 11 = 3 THEN NULL ELSE (1000000 + i * 7 - CASE WHEN i % 13 = 0 THEN 500 ELSE 0 END)::BIGINT END AS "indexL",
        CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 40)::DOUBLE / 4 END AS "flowLph",
        CASE WHEN i % 4 = 1 THEN NULL ELSE 80 + (i % 20)::DOUBLE / 10 END AS "batteryPct",
        NULL::VARCHAR[] AS alarms, NULL::DOUBLE AS "rssiDbm", NULL::DOUBLE AS "snrDb"
      FROM range(3000) t(i)`);
    await store.db.run(`CREATE TEMP TABLE hours AS ${hourRowsFromRaw('water-meter', 'SELECT * FROM raw')}`);
    const [{ n }] = (await store.db.all(`SELECT count(*)::INTEGER AS n FROM hours`)) as [{ n: number }];
    expect(n).toBeGreaterThan(200);
    // The cases the compact layout stores apart are there: a time finer than a millisecond, a reading
    // missing from its hour's last sample, a register's hour minimum other than its first reading.
    const [cases] = await store.db.all(`SELECT count(*) FILTER (WHERE epoch_us("indexL_last_ts") % 1000 <> 0)::INTEGER AS us,
      count(*) FILTER (WHERE "flowLph_last_ts" < "batteryPct_last_ts")::INTEGER AS missing, count(*) FILTER (WHERE "indexL_min" < "indexL_first")::INTEGER AS fell FROM hours`);
    for (const [k, v] of Object.entries(cases!)) expect({ [k]: Number(v) > 0 }).toEqual({ [k]: true });
    const days = `SELECT device_id, day, NULL::VARCHAR AS dma, false AS inlet, * EXCLUDE (device_id, day) FROM (${dayStatsFrom('water-meter', ['SELECT * FROM hours'])})`;
    for (const layout of ['compact', 'plain'] as const) {
      await store.db.run(`CREATE OR REPLACE TEMP TABLE closed AS ${closedRows('water-meter', days, 'SELECT * FROM hours', layout)}`);
      const back = unnestHours('water-meter', 'SELECT * FROM closed', undefined, layout);
      const differ = await store.db.all(`SELECT count(*)::INTEGER AS n FROM ((SELECT * FROM hours EXCEPT ALL SELECT * FROM (${back})) UNION ALL (SELECT * FROM (${back}) EXCEPT ALL SELECT * FROM hours))`);
      expect({ layout, differ: differ[0]!.n }).toEqual({ layout, differ: 0 });
      // Only the readings asked for.
      const only = unnestHours('water-meter', 'SELECT * FROM closed', ['indexL'], layout);
      const onlyDiffer = await store.db.all(`SELECT count(*)::INTEGER AS n FROM (SELECT device_id, day, h, n, "indexL_min", "indexL_max", "indexL_first", "indexL_first_ts", "indexL_last", "indexL_last_ts" FROM hours EXCEPT ALL SELECT device_id, day, h, n, "indexL_min", "indexL_max", "indexL_first", "indexL_first_ts", "indexL_last", "indexL_last_ts" FROM (${only}))`);
      expect(onlyDiffer[0]!.n).toBe(0);
      await store.db.run(`CREATE OR REPLACE TEMP TABLE closed_${layout} AS SELECT * FROM closed`);
    }
    // A store's plain rows converted in place (migrate.ts) are the compact rows made from the hours.
    const converted = compactFromPlain('water-meter', 'SELECT * FROM closed_plain');
    const differ = await store.db.all(`SELECT count(*)::INTEGER AS n FROM ((SELECT * FROM closed_compact EXCEPT ALL SELECT * FROM (${converted})) UNION ALL (SELECT * FROM (${converted}) EXCEPT ALL SELECT * FROM closed_compact))`);
    expect(differ[0]!.n).toBe(0);
  } finally {
    await store.close();
  }
});

it('sets closed days of the plain layout aside at open and converts them in the background, every answer unchanged meanwhile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-closed-hours-'));
  dirs.push(dir);
  const now = JST_DAY0 + 3 * 86_400_000;
  const open = () => openEmbeddedStore(dir, { clock: () => now, attributes: () => ({ dma: 'dma-1' }) });
  const where = "device_id IN ('wm-1', 'wm-2')";
  const answers = async (s: Awaited<ReturnType<typeof open>>) => ({
    hours: await s.db.all(`SELECT * EXCLUDE ("indexL_first_ts", "indexL_last_ts", "flowLph_last_ts", "batteryPct_last_ts", "rssiDbm_last_ts", "snrDb_last_ts"),
      epoch_us("indexL_first_ts") AS a, epoch_us("indexL_last_ts") AS b, epoch_us("flowLph_last_ts") AS c, epoch_us("batteryPct_last_ts") AS d FROM (${hourRows('water-meter', where)}) ORDER BY ALL`),
    days: await s.db.all(`SELECT * EXCLUDE ("indexL_first_ts", "indexL_last_ts", "flowLph_last_ts", "batteryPct_last_ts", "rssiDbm_last_ts", "snrDb_last_ts") FROM (${dayRows('water-meter', where)}) ORDER BY ALL`),
    // The water registers on the rollups (whole hours: register-buckets.ts).
    registers: JSON.stringify(await registersAt(s.api.water, ['wm-1', 'wm-2'], [JST_DAY0 + 5 * HOUR, JST_DAY0 + 30 * HOUR, JST_DAY0 + 47 * HOUR], DEFAULT_REGISTER_SETTINGS), (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v)),
    // The API's series, which leave the layout before out of their plans once it is converted.
    series: [
      await s.api.history.deviceSeries('wm-1', 'water-meter', { from: JST_DAY0, to: JST_DAY0 + 2 * 86_400_000, interval: '1d' }, ['usage', 'count', 'last', 'mean']),
      await s.api.history.deviceSeries('wm-2', 'water-meter', { from: JST_DAY0, to: JST_DAY0 + 2 * 86_400_000, interval: '1h' }, ['usage', 'count', 'min', 'max'], ['indexL']),
      await s.api.history.groupSeries(['wm-1', 'wm-2'], 'water-meter', 'indexL', { from: JST_DAY0, to: JST_DAY0 + 2 * 86_400_000, interval: '1d' }, ['usage', 'count']),
    ],
  });
  let store = await open();
  const msg = (id: string, seq: number, ts: number, sample: Record<string, number>) => ({ channel: 'telemetry' as const, type: 'water-meter' as const, deviceId: id, receivedAt: now, payload: { v: 1, id, boot: 1, seq, ts, samples: [{ ts, ...sample }] } as Telemetry });
  const readings = [];
  for (let k = 0; k < 40; k++) {
    const ts = JST_DAY0 + k * 50 * 60_000 + k * 7_001;
    readings.push(msg('wm-1', k, ts, { indexL: 5000 + k * 13 - (k === 17 ? 60 : 0), ...(k % 3 ? { flowLph: k } : {}), batteryPct: 90 - k / 10 }));
    readings.push(msg('wm-2', k, ts + 1234, { indexL: 900 + k, flowLph: k / 4 }));
  }
  await store.writer.write(readings);
  await store.history.fold();
  const before = await answers(store);
  expect(before.days.length).toBe(4);
  expect(before.hours.length).toBeGreaterThan(60);
  // The closed table as a store of the previous version held it (plain lists, no shared times, no table aside).
  const table = dayTable('water-meter');
  const plain = dayColumns('water-meter', 'plain');
  await store.db.run(`CREATE TABLE plain_days (${plain.map((c) => `${c.name} ${c.sql}`).join(', ')})`);
  await store.db.run(`INSERT INTO plain_days ${closedRows('water-meter', `SELECT ${names(dayOpenColumns('water-meter'))} FROM ${table}`, unnestHours('water-meter', `SELECT * FROM ${table}`), 'plain')}`);
  await store.db.run(`DROP TABLE ${table}`);
  await store.db.run(`DROP TABLE ${plainDayTable('water-meter')}`);
  await store.db.run(`ALTER TABLE plain_days RENAME TO ${table}`);
  expect(await store.db.all(`SELECT column_name FROM duckdb_columns() WHERE table_name = '${table}' AND column_name = 'h_last_ms'`)).toEqual([]);
  await store.close();

  store = await open();
  try {
    const count = async (t: string) => Number((await store.db.all(`SELECT count(*) AS n FROM ${t}`))[0]!.n);
    // Opened without converting: the old rows set aside, the new table empty, its index made.
    expect(await store.db.all(`SELECT column_name FROM duckdb_columns() WHERE table_name = '${table}' AND column_name = 'h_last_ms'`)).toEqual([{ column_name: 'h_last_ms' }]);
    expect(await store.db.all(`SELECT index_name FROM duckdb_indexes() WHERE table_name = '${table}'`)).toEqual([{ index_name: `${table}_device` }]);
    expect([await count(table), await count(plainDayTable('water-meter'))]).toEqual([0, 4]);
    expect(store.history.plainRollupsLeft).toBe(true);
    expect(await answers(store)).toEqual(before);
    // Half done: one device of the first day converted.
    expect(await convertPlainShare(store.db, 'water-meter', 1)).toBe(1);
    expect([await count(table), await count(plainDayTable('water-meter'))]).toEqual([1, 3]);
    expect(await answers(store)).toEqual(before);
    // A late reading for a day still in the plain layout revises it (converted with the revision).
    const late = JST_DAY0 + 86_400_000 + 20 * HOUR + 5_000;
    await store.writer.write([msg('wm-2', 99, late, { indexL: 1000, flowLph: 2 })]);
    await store.history.fold();
    const withLate = await answers(store);
    const lateDay = (a: typeof before) => a.days.find((d) => d.device_id === 'wm-2' && String(d.day) === '2026-11-25');
    expect(Number(lateDay(withLate)!.n)).toBe(Number(lateDay(before)!.n) + 1);
    expect(lateDay(withLate)!.indexL_last).toBe('1000');
    expect(withLate.hours.length).toBe(before.hours.length + 1);
    expect([await count(table), await count(plainDayTable('water-meter'))]).toEqual([2, 2]);
    // The maintenance loop's passes convert the rest; then nothing is left to do.
    while ((await store.history.convertRollups()) > 0);
    expect([await count(table), await count(plainDayTable('water-meter'))]).toEqual([4, 0]);
    expect(store.history.plainRollupsLeft).toBe(false);
    expect(await answers(store)).toEqual(withLate);
  } finally {
    await store.close();
  }
});
