/**
 * Retention with an archive (issue 15): raw rows past RAW_RETENTION_DAYS move to Parquet files under
 * DATA_DIR/archive (by kind and UTC day) and leave the hot tables; reads over those days give the same
 * results; a redelivered message whose original was archived is still a duplicate (the completeness
 * ledger); rollups rebuild from the archive; the files are plain Parquet; archived days past
 * ARCHIVE_RETENTION_DAYS are deleted, and only those.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../../../test/support/temp-dir.js';
import { meterReading, openPipedStore, type PipedStore } from '../../../../../test/support/history-store.js';
import { CompletenessLedger } from '../../../ledger/ledger.js';
import type { EmbeddedStore } from '../index.js';
import { DuckDbReadingsExporter } from '../readings-export.js';
import { dayRows } from './rollups.js';
import { DEFAULT_REGISTER_SETTINGS, dmaBalances } from '../../../water/index.js';

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 10, 20); // a UTC midnight
const settings = { rawRetentionDays: 2, archiveRetentionDays: 7, rollupRetentionDays: null };

describe('archive and retention', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;
  let ledger: CompletenessLedger;
  let send: PipedStore['send'];
  let now = D0 + 6 * DAY + 3_600_000;
  const open = async () => {
    ({ store, send } = await openPipedStore(dir.path, settings, registry, ledger, () => now));
  };
  const meterTopic = buildTopic('water-meter', 'wm-1', 'telemetry');
  const reading = (seq: number, ts: number) => meterReading('wm-1', seq, ts);
  const allTime = { from: D0 - DAY, to: D0 + 10 * DAY, limit: 10_000 };
  const hotRows = async () => Number((await store.db.all(`SELECT count(*) AS n FROM samples_water_meter`))[0]!.n);

  beforeEach(async () => {
    dir = makeTempDir('history-archive');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'wm-1', type: 'water-meter', attributes: { dma: 'nakano-3' } });
    ledger = new CompletenessLedger();
    now = D0 + 6 * DAY + 3_600_000;
    await open();
    // Six days of readings every 3 hours, and an event a day.
    for (let seq = 0; seq < 48; seq++) await send(meterTopic, reading(seq, D0 + seq * 3 * 3_600_000 + 60_000));
    for (let d = 0; d < 6; d++) await send(buildTopic('water-meter', 'wm-1', 'event'), { v: 1, id: 'wm-1', boot: 1, seq: 100 + d, ts: D0 + d * DAY + 7_200_000, type: 'tamper', detail: { day: d } });
  });
  afterEach(async () => {
    await store.close();
    await registry.close();
    dir.remove();
  });

  it('moves old days to Parquet and reads them back the same; a redelivered archived message stays a duplicate', async () => {
    const before = { readings: await store.readings.readings('wm-1', 'water-meter', allTime), events: await store.readings.events('wm-1', allTime) };
    // The water bureau's figures (issue 16) over archived days: a billing read or a balance of an old
    // month must see the readings it saw while they were hot.
    const meters = [{ id: 'wm-1', dma: 'nakano-3', inlet: false }];
    const waterDays = Array.from({ length: 6 }, (_, d) => D0 + d * DAY);
    const balances = async () => (await dmaBalances(store.api.water, meters, waterDays, { ...DEFAULT_REGISTER_SETTINGS, minCoveragePct: 90 })).get('nakano-3');
    const waterBefore = await balances();
    // An analyst's export of the whole range, CSV.
    const exported = async () => {
      const exporter = new DuckDbReadingsExporter(store.db, store.db, store.history.catalog);
      let text = '';
      const out = new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) });
      await exporter.csv({ type: 'water-meter', devices: [{ id: 'wm-1', dma: 'nakano-3', site: null, island: null, welfareWatch: null }], from: allTime.from, to: allTime.to, welfare: false }, out);
      return text;
    };
    const exportBefore = await exported();
    expect(exportBefore.split('\r\n')).toHaveLength(1 + 48 + 1);
    // 8 readings a day 7 L apart: 56 L a day, read around every midnight but the first (the meter's first
    // reading is a minute after it: that end is estimated).
    expect(waterBefore?.map((b) => [b.customerLitres, b.covered])).toEqual([[56, 0], [56, 1], [56, 1], [56, 1], [56, 1]]);
    await store.history.fold();
    const days = await store.db.all(`SELECT * FROM (${dayRows('water-meter', "device_id = 'wm-1'")}) ORDER BY day`);
    expect(before.readings).toHaveLength(48);

    const result = await store.history.applyRetention();
    // Days D0 .. D0+3 are older than 2 days at D0+6 01:00: samples, messages and events of 4 days.
    expect(result.archived).toBe(12);
    const partDir = join(dir.path, 'archive', 'samples', 'water-meter', 'day=2026-11-20');
    expect(readdirSync(partDir)).toEqual([expect.stringMatching(/^part-\d+\.parquet$/)]);
    expect(existsSync(join(dir.path, 'archive', 'messages', 'day=2026-11-23'))).toBe(true);
    expect(existsSync(join(dir.path, 'archive', 'events', 'day=2026-11-23'))).toBe(true);
    // The last two days stay hot: D0+5 (yesterday) in the table, D0+4 (closed) in a segment (segments.test.ts).
    expect(await hotRows()).toBe(8);
    expect(store.history.catalog.all('segment').filter((p) => p.kind === 'samples/water-meter').map((p) => [p.day, p.rows])).toEqual([[(D0 + 4 * DAY) / DAY, 8]]);
    expect(await store.readings.readings('wm-1', 'water-meter', allTime)).toEqual(before.readings);
    expect(await store.readings.events('wm-1', allTime)).toEqual(before.events);
    expect(await balances()).toEqual(waterBefore);
    expect(await exported()).toBe(exportBefore);

    // Plain Parquet: any tool reads it (here a DuckDB of its own, knowing nothing of the store).
    const analyst = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = (await analyst.runAndReadAll(`SELECT count(*)::INTEGER AS n, min("indexL")::INTEGER AS lo FROM read_parquet('${join(dir.path, 'archive', 'samples', 'water-meter', '*', '*.parquet')}', hive_partitioning = true)`)).getRowObjectsJson();
    expect(rows).toEqual([{ n: 32, lo: 1000 }]);
    analyst.closeSync();

    // Redelivered: its original is in the archive, not in the hot tables; the ledger still knows it.
    expect(await send(meterTopic, reading(3, D0 + 9 * 3_600_000 + 60_000))).toMatchObject({ kind: 'duplicate' });
    expect(await hotRows()).toBe(8);
    expect(await store.readings.readings('wm-1', 'water-meter', allTime)).toEqual(before.readings);

    // Rollups rebuilt from hot and archived rows are the ones kept as the data came.
    await store.history.rebuild();
    expect(await store.db.all(`SELECT * FROM (${dayRows('water-meter', "device_id = 'wm-1'")}) ORDER BY day`)).toEqual(days);
  });

  it('stores times in milliseconds where none is finer, and a day holding a finer one as it is', async () => {
    // A sample stamped to the microsecond on day D0+1 (written by another tool: the ingest stamps milliseconds).
    await store.db.run(`INSERT INTO samples_water_meter BY NAME SELECT 'wm-2' AS device_id, 1 AS boot, 0 AS seq, 0 AS idx, make_timestamp(${D0 + DAY + 5_000}::BIGINT * 1000 + 123) AS ts, false AS replay, 5 AS "indexL"`);
    const hot = async (day: number) => store.db.all(`SELECT device_id, epoch_us(ts) AS us, "indexL" FROM samples_water_meter WHERE ts >= epoch_ms(${D0 + day * DAY}::BIGINT) AND ts < epoch_ms(${D0 + (day + 1) * DAY}::BIGINT) ORDER BY ALL`);
    const hotMessages = await store.db.all(`SELECT device_id, seq, epoch_us(ts) AS ts, epoch_us(received_at) AS at FROM messages WHERE ts < epoch_ms(${D0 + DAY}::BIGINT) ORDER BY ALL`);
    const [day0, day1] = [await hot(0), await hot(1)];
    await store.history.applyRetention();
    const analyst = await (await DuckDBInstance.create(':memory:')).connect();
    const types = async (kind: string, day: string) => (await analyst.runAndReadAll(`SELECT name, type, logical_type::VARCHAR AS logical FROM parquet_schema('${join(dir.path, 'archive', kind, `day=${day}`, '*.parquet')}') WHERE name IN ('ts', 'received_at') ORDER BY name`)).getRowObjectsJson().map((r) => `${String(r.name)} ${String(r.logical)}`);
    expect((await types('samples/water-meter', '2026-11-20')).join()).toMatch(/^ts .*MILLIS/);
    expect(await types('messages', '2026-11-20')).toEqual([expect.stringMatching(/^received_at .*MILLIS/), expect.stringMatching(/^ts .*MILLIS/)]);
    expect((await types('samples/water-meter', '2026-11-21')).join()).toMatch(/^ts .*MICROS/);
    analyst.closeSync();
    // Read back through the store, the same instants to the microsecond.
    const archived = async (day: number) => store.db.all(`SELECT device_id, epoch_us(ts) AS us, "indexL" FROM (${store.history.rawSource('samples/water-meter', D0 + day * DAY, D0 + (day + 1) * DAY)}) ORDER BY ALL`);
    expect(await hotRows()).toBe(8); // and 8 in D0+4's segment
    expect(await archived(0)).toEqual(day0);
    expect(await archived(1)).toEqual(day1);
    expect(day1).toContainEqual({ device_id: 'wm-2', us: String((D0 + DAY + 5_000) * 1000 + 123), indexL: '5' });
    expect(await store.db.all(`SELECT device_id, seq, epoch_us(ts) AS ts, epoch_us(received_at) AS at FROM (${store.history.rawSource('messages', D0 - DAY, D0 + DAY)}) ORDER BY ALL`)).toEqual(hotMessages);
  });

  it('keeps the manifest and the files in step across a restart, and deletes only archived days past ARCHIVE_RETENTION_DAYS', async () => {
    await store.history.applyRetention();
    const expected = await store.readings.readings('wm-1', 'water-meter', allTime);
    // A file an archive run wrote but never committed (a crash between the two).
    const orphanDir = join(dir.path, 'archive', 'samples', 'water-meter', 'day=2026-11-21');
    writeFileSync(join(orphanDir, 'part-1.parquet'), 'not committed');
    mkdirSync(join(dir.path, 'archive', 'notes'), { recursive: true });
    writeFileSync(join(dir.path, 'archive', 'notes', 'README.txt'), 'an analyst\'s file: not ours, left alone');
    await store.close();
    await open();
    expect(existsSync(join(orphanDir, 'part-1.parquet'))).toBe(false);
    expect(existsSync(join(dir.path, 'archive', 'notes', 'README.txt'))).toBe(true);
    expect(await store.readings.readings('wm-1', 'water-meter', allTime)).toEqual(expected);

    // Two days later (UTC day D0+8): the 7-day archive retention takes day D0, nothing else.
    now += 2 * DAY;
    await store.history.applyRetention();
    expect(existsSync(join(dir.path, 'archive', 'samples', 'water-meter', 'day=2026-11-20'))).toBe(false);
    expect(existsSync(join(dir.path, 'archive', 'samples', 'water-meter', 'day=2026-11-21'))).toBe(true);
    const left = await store.readings.readings('wm-1', 'water-meter', allTime);
    expect(left).toEqual(expected.filter((r) => r.ts >= D0 + DAY));
    expect(left).toHaveLength(40);
  });
});
