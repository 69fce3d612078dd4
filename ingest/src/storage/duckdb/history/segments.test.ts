/**
 * The two-tier hot store (issue 15, disk per reading): each closed UTC day's raw rows move from the tables
 * to sorted Parquet segments under DATA_DIR/hot, and read back exactly as they were hot (readings, events,
 * exports, water registers and balances, rollups rebuilt from raw); a redelivery of a segmented message is
 * still a duplicate (the completeness ledger); late data for a segmented day becomes another part of it; a
 * segment moves to the archive at RAW_RETENTION_DAYS and ARCHIVE_RETENTION_DAYS never deletes one; files
 * left by a crash between writing and committing, or in the middle of a move, are removed at open with
 * every row still read once.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../../../test/support/temp-dir.js';
import { meterReading, openPipedStore, type PipedStore } from '../../../../../test/support/history-store.js';
import { CompletenessLedger } from '../../../ledger/ledger.js';
import { openEmbeddedStore, type EmbeddedStore } from '../index.js';
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { DuckDbReadingsExporter } from '../readings-export.js';
import { dayRows, hourRows } from './rollups.js';
import type { HistorySettings } from './history-config.js';
import { commitDayPart, prepareDayPart, readRaw, type ArchiveCatalog } from './archive.js';
import type { SqlReader } from '../database.js';
import { DEFAULT_REGISTER_SETTINGS, dmaBalances, registersAt } from '../../../water/index.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const D0 = Date.UTC(2026, 10, 20); // a UTC midnight
const dayNo = (k: number) => (D0 + k * DAY) / DAY;
const iso = (k: number) => new Date(D0 + k * DAY).toISOString().slice(0, 10);

describe('segments: closed days in Parquet, hot', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let store: EmbeddedStore;
  let registry: MemoryDeviceRegistry;
  let ledger: CompletenessLedger;
  let send: PipedStore['send'];
  let now = 0;
  const open = async (settings: HistorySettings) => {
    ({ store, send } = await openPipedStore(dir.path, settings, registry, ledger, () => now));
  };
  const meterTopic = buildTopic('water-meter', 'wm-1', 'telemetry');
  const reading = (seq: number, ts: number) => meterReading('wm-1', seq, ts);
  const allTime = { from: D0 - DAY, to: D0 + 20 * DAY, limit: 10_000 };
  const tableRows = async () => Number((await store.db.all(`SELECT count(*) AS n FROM samples_water_meter`))[0]!.n);
  const parts = (tier: 'segment' | 'archive') => store.history.catalog.all(tier).filter((p) => p.kind === 'samples/water-meter').map((p) => p.day).sort((a, b) => a - b);
  const filesOf = (tier: 'hot' | 'archive', kind: string, k: number) => {
    const d = join(dir.path, tier, kind, `day=${iso(k)}`);
    return existsSync(d) ? readdirSync(d) : [];
  };
  /** Every answer a reader gets over the whole range. */
  const answers = async () => {
    const exporter = new DuckDbReadingsExporter(store.db, store.db, store.history.catalog);
    let csv = '';
    const out = new Writable({ write: (chunk, _enc, done) => ((csv += String(chunk)), done()) });
    await exporter.csv({ type: 'water-meter', devices: [{ id: 'wm-1', dma: 'nakano-3', site: null, island: null, welfareWatch: null }], from: allTime.from, to: allTime.to, welfare: false }, out);
    const meters = [{ id: 'wm-1', dma: 'nakano-3', inlet: false }];
    // Registers at odd moments (read from the raw readings) and the DMA's days (rollups and raw readings).
    const moments = [D0 + DAY + 5 * HOUR + 17_000, D0 + 3 * DAY + 22 * HOUR + 1, D0 + 4 * DAY + 12 * HOUR + 30 * 60_000];
    const registers = await registersAt(store.api.water, ['wm-1'], moments, DEFAULT_REGISTER_SETTINGS);
    return {
      readings: await store.readings.readings('wm-1', 'water-meter', allTime),
      events: await store.readings.events('wm-1', allTime),
      csv,
      registers: JSON.stringify(registers, (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v)),
      balances: (await dmaBalances(store.api.water, meters, Array.from({ length: 6 }, (_, d) => D0 + d * DAY), { ...DEFAULT_REGISTER_SETTINGS, minCoveragePct: 90 })).get('nakano-3'),
      days: await store.db.all(`SELECT * FROM (${dayRows('water-meter', "device_id = 'wm-1'")}) ORDER BY day`),
      hours: await store.db.all(`SELECT * FROM (${hourRows('water-meter', "device_id = 'wm-1'")}) ORDER BY day, h`),
    };
  };

  beforeEach(async () => {
    dir = makeTempDir('history-segments');
    registry = new MemoryDeviceRegistry({ scryptN: 1024 });
    await registry.provision({ id: 'wm-1', type: 'water-meter', attributes: { dma: 'nakano-3' } });
    ledger = new CompletenessLedger();
    now = D0 + 6 * DAY + HOUR;
  });
  afterEach(async () => {
    await store.close();
    await registry.close();
    dir.remove();
  });
  /** Six days of readings every 3 hours, and an event a day. */
  const sixDays = async () => {
    for (let seq = 0; seq < 48; seq++) await send(meterTopic, reading(seq, D0 + seq * 3 * HOUR + 60_000));
    for (let d = 0; d < 6; d++) await send(buildTopic('water-meter', 'wm-1', 'event'), { v: 1, id: 'wm-1', boot: 1, seq: 100 + d, ts: D0 + d * DAY + 2 * HOUR, type: 'tamper', detail: { day: d } });
    await store.history.fold();
  };

  it('moves each closed day to a segment and reads it back exactly as it was hot; a redelivery stays a duplicate', async () => {
    await open({ rawRetentionDays: 30, archiveRetentionDays: null, rollupRetentionDays: null });
    await sixDays();
    const before = await answers();
    expect(before.readings).toHaveLength(48);
    expect(before.csv.split('\r\n')).toHaveLength(1 + 48 + 1);
    expect(before.balances?.map((b) => b.customerLitres)).toEqual([56, 56, 56, 56, 56]);

    // At D0+6 01:00 (UTC) today and yesterday are open: D0 .. D0+4 are closed, within the 30 days.
    const r = await store.history.applyRetention();
    expect(r).toMatchObject({ segmented: 15, archived: 0 });
    expect(parts('segment')).toEqual([0, 1, 2, 3, 4].map(dayNo));
    expect(filesOf('hot', 'samples/water-meter', 2)).toEqual([expect.stringMatching(/^part-\d+\.parquet$/)]);
    expect(filesOf('hot', 'messages', 4)).toHaveLength(1);
    expect(filesOf('hot', 'events', 0)).toHaveLength(1);
    expect(existsSync(join(dir.path, 'archive'))).toBe(false);
    expect(await tableRows()).toBe(8); // yesterday's
    expect(Number((await store.db.all(`SELECT count(*) AS n FROM messages`))[0]!.n)).toBe(9); // and its event
    expect(await answers()).toEqual(before);

    // Redelivered: its original is in a segment, not in the tables; the ledger still knows it.
    expect(await send(meterTopic, reading(9, D0 + 27 * HOUR + 60_000))).toMatchObject({ kind: 'duplicate' });
    expect(await tableRows()).toBe(8);

    // Rollups rebuilt from the tables and the segments are the ones kept as the data came.
    await store.history.rebuild();
    expect(await answers()).toEqual(before);

    // And after a restart, from the manifest.
    await store.close();
    await open({ rawRetentionDays: 30, archiveRetentionDays: null, rollupRetentionDays: null });
    expect(await answers()).toEqual(before);
  });

  it('takes late data for a segmented day as another part of it', async () => {
    await open({ rawRetentionDays: 30, archiveRetentionDays: null, rollupRetentionDays: null });
    await sixDays();
    await store.history.applyRetention();
    const before = await answers();
    // A meter that batched: a reading of D0+1 10:30 arrives now.
    const late = D0 + DAY + 10 * HOUR + 30 * 60_000;
    expect(await send(meterTopic, { v: 1, id: 'wm-1', boot: 1, seq: 500, ts: late, samples: [{ ts: late, indexL: 1000 + 11 * 7 + 3, flowLph: 1, batteryPct: 90 }] })).toMatchObject({ kind: 'stored' });
    // Rebuilt from raw rows: a late reading inside a day's readings leaves the day's register drop
    // unknown when merged into its rollups, and exact from the raw rows (rollup-sql.ts).
    await store.history.rebuild();
    const withLate = await answers();
    expect(withLate.readings).toHaveLength(49);
    expect(withLate.readings.filter((x) => x.ts !== late)).toEqual(before.readings);
    expect(await tableRows()).toBe(9);
    now += HOUR;
    expect(await store.history.applyRetention()).toMatchObject({ segmented: 2 }); // the reading and its message
    expect(filesOf('hot', 'samples/water-meter', 1)).toHaveLength(2);
    expect(store.history.catalog.all('segment').filter((p) => p.kind === 'samples/water-meter' && p.day === dayNo(1)).map((p) => p.rows).sort()).toEqual([1, 8]);
    expect(await tableRows()).toBe(8);
    expect(await answers()).toEqual(withLate);
    await store.history.rebuild();
    expect(await answers()).toEqual(withLate);
  });

  it('moves a segment to the archive at RAW_RETENTION_DAYS, the same rows read all along', async () => {
    await open({ rawRetentionDays: 3, archiveRetentionDays: null, rollupRetentionDays: null });
    await sixDays();
    const before = await answers();
    // D0+6: D0 .. D0+2 are past 3 days (straight to the archive), D0+3 and D0+4 closed (segments).
    expect(await store.history.applyRetention()).toMatchObject({ segmented: 6, archived: 9 });
    expect([parts('archive'), parts('segment')]).toEqual([[0, 1, 2].map(dayNo), [3, 4].map(dayNo)]);
    expect(await answers()).toEqual(before);
    const segmentFile = join(dir.path, 'hot', 'samples', 'water-meter', `day=${iso(3)}`, filesOf('hot', 'samples/water-meter', 3)[0]!);

    // A day later D0+3 passes 3 days: its segment moves; D0+5 closes.
    now += DAY;
    expect(await store.history.applyRetention()).toMatchObject({ segmented: 3, archived: 3 });
    expect([parts('archive'), parts('segment')]).toEqual([[0, 1, 2, 3].map(dayNo), [4, 5].map(dayNo)]);
    expect(filesOf('archive', 'samples/water-meter', 3)).toHaveLength(1);
    expect(await store.db.all(`SELECT count(*)::INTEGER AS n FROM segment_parts WHERE day = DATE '${iso(3)}'`)).toEqual([{ n: 0 }]);
    expect(await store.db.all(`SELECT count(*)::INTEGER AS n FROM archive_parts WHERE day = DATE '${iso(3)}'`)).toEqual([{ n: 3 }]);
    // The segment's own name is kept until the next run, for a reader that listed it just before.
    expect(existsSync(segmentFile)).toBe(true);
    expect(await answers()).toEqual(before);
    now += HOUR;
    await store.history.applyRetention();
    expect(existsSync(segmentFile)).toBe(false);
    expect(await answers()).toEqual(before);
  });

  it('never deletes a segment by ARCHIVE_RETENTION_DAYS, even set below RAW_RETENTION_DAYS past the config check', async () => {
    await open({ rawRetentionDays: 3, archiveRetentionDays: 2, rollupRetentionDays: null });
    await sixDays();
    const before = await answers();
    // D0 .. D0+2 go to the archive and, older than 2 days, are deleted; the segments of D0+3, D0+4 stay.
    expect(await store.history.applyRetention()).toMatchObject({ segmented: 6, archived: 9, archiveDeleted: 9 });
    expect([parts('archive'), parts('segment')]).toEqual([[], [3, 4].map(dayNo)]);
    expect(filesOf('hot', 'samples/water-meter', 3)).toHaveLength(1);
    expect((await answers()).readings).toEqual(before.readings.filter((x) => x.ts >= D0 + 3 * DAY));
  });

  it('moves a reading that arrived while its day was written along with the others (the file written again)', async () => {
    await open({ rawRetentionDays: 30, archiveRetentionDays: null, rollupRetentionDays: null });
    await sixDays();
    // The file of D0+2 written on a connection of its own, as the retention run does…
    const reader = await store.db.fork();
    const prepared = (await prepareDayPart(reader, store.history.catalog, 'segment', 'samples/water-meter', dayNo(2), now))!;
    await reader.close();
    expect(prepared.rows).toBe(8);
    // …then a late reading of that day is stored before the rows leave the table.
    const late = D0 + 2 * DAY + 4 * HOUR;
    expect(await send(meterTopic, { v: 1, id: 'wm-1', boot: 1, seq: 600, ts: late, samples: [{ ts: late, indexL: 1000 + 17 * 7 + 1, flowLph: 1, batteryPct: 90 }] })).toMatchObject({ kind: 'stored' });
    const expected = await store.readings.readings('wm-1', 'water-meter', allTime);
    expect(expected).toHaveLength(49);
    const part = await store.db.transaction((tx) => commitDayPart(tx, store.history.catalog, prepared, now + 1));
    store.history.catalog.committed(part);
    expect(part.rows).toBe(9);
    expect(filesOf('hot', 'samples/water-meter', 2)).toHaveLength(1);
    expect(Number((await store.db.all(`SELECT count(*) AS n FROM samples_water_meter WHERE ts >= epoch_ms(${D0 + 2 * DAY}::BIGINT) AND ts < epoch_ms(${D0 + 3 * DAY}::BIGINT)`))[0]!.n)).toBe(0);
    expect(await store.readings.readings('wm-1', 'water-meter', allTime)).toEqual(expected);
  });

  it('reads a day once while it leaves the tables: planned before its list is updated, or in a snapshot from before the move', async () => {
    await open({ rawRetentionDays: 30, archiveRetentionDays: null, rollupRetentionDays: null });
    await sixDays();
    const catalog = store.history.catalog;
    const fifteen = () => store.api.history.deviceSeries('wm-1', 'water-meter', { from: D0, to: D0 + 6 * DAY, interval: '15m' }, ['count', 'last']);
    const before = { ...(await answers()), fifteen: await fifteen() };
    expect(before.readings).toHaveLength(48);
    const reader = await store.db.fork();
    const prepared = (await prepareDayPart(reader, catalog, 'segment', 'samples/water-meter', dayNo(2), now))!;
    await reader.close();
    // A read whose snapshot began before the move commits, planned after the store's list includes the part.
    const countIn = (parts: ArchiveCatalog, q: SqlReader) => q.all(`SELECT count(*)::INTEGER AS n FROM (${parts.rawSource('samples/water-meter', allTime.from, allTime.to)})`);
    const early = await readRaw(store.api.pool, catalog, async (parts, q) => {
      catalog.committed(await store.db.transaction((tx) => commitDayPart(tx, catalog, prepared, now + 1)));
      return countIn(parts, q);
    });
    expect(early[0]!.n).toBe(48);
    expect(filesOf('hot', 'samples/water-meter', 2)).toHaveLength(1);
    // The next day's move has committed and the store's list does not say so yet (the moment between the
    // commit and the list): every reader still reads each reading once, from the file.
    const next = (await prepareDayPart(store.db, catalog, 'segment', 'samples/water-meter', dayNo(3), now + 2))!;
    const part = await store.db.transaction((tx) => commitDayPart(tx, catalog, next, now + 3));
    expect(catalog.has(part)).toBe(false);
    expect(Number((await store.db.all(`SELECT count(*) AS n FROM samples_water_meter WHERE ts >= epoch_ms(${D0 + 3 * DAY}::BIGINT) AND ts < epoch_ms(${D0 + 4 * DAY}::BIGINT)`))[0]!.n)).toBe(0);
    expect({ ...(await answers()), fifteen: await fifteen() }).toEqual(before);
    catalog.committed(part);
    expect({ ...(await answers()), fifteen: await fifteen() }).toEqual(before);
  });

  it('removes a file written by a run that did not commit, its rows still in the tables and read once', async () => {
    await open({ rawRetentionDays: 3, archiveRetentionDays: null, rollupRetentionDays: null });
    await sixDays();
    const before = await answers();
    // A segment run that wrote D0+4's file and stopped before its transaction committed.
    const orphan = join(dir.path, 'hot', 'samples', 'water-meter', `day=${iso(4)}`, 'part-1.parquet');
    mkdirSync(dirname(orphan), { recursive: true });
    await store.db.run(`COPY (SELECT * FROM samples_water_meter WHERE ts >= epoch_ms(${D0 + 4 * DAY}::BIGINT) AND ts < epoch_ms(${D0 + 5 * DAY}::BIGINT)) TO '${orphan}' (FORMAT PARQUET)`);
    await store.close();
    await open({ rawRetentionDays: 3, archiveRetentionDays: null, rollupRetentionDays: null });
    expect(existsSync(orphan)).toBe(false);
    expect(await tableRows()).toBe(48);
    expect(await answers()).toEqual(before);

    await store.history.applyRetention();
    // A move of D0+3's segment that linked its archive name and stopped before committing.
    const [segment] = store.history.catalog.all('segment').filter((p) => p.kind === 'samples/water-meter' && p.day === dayNo(3));
    const linked = join(dir.path, 'archive', segment!.file);
    mkdirSync(dirname(linked), { recursive: true });
    linkSync(store.history.catalog.path(segment!), linked);
    // And a move of D0+4's that committed before removing the segment's name (a copy here: a name not listed).
    const [moved] = store.history.catalog.all('segment').filter((p) => p.kind === 'samples/water-meter' && p.day === dayNo(4));
    await store.close();
    const left = join(dir.path, 'hot', moved!.file.replace(/part-\d+/, 'part-2'));
    copyFileSync(join(dir.path, 'hot', moved!.file), left);
    await open({ rawRetentionDays: 3, archiveRetentionDays: null, rollupRetentionDays: null });
    expect(existsSync(linked)).toBe(false);
    expect(existsSync(left)).toBe(false);
    expect(parts('segment')).toEqual([3, 4].map(dayNo));
    expect(await answers()).toEqual(before);
  });
  it('finds a latest value past the clock bound replaced by the newest one within it, in a segment', async () => {
    // A reading stamped a day ahead stood as latest until the bound (server clock + allowed skew) came
    // below it, e.g. after the server's clock was corrected: the newest reading within the bound is then
    // read from the raw rows, and it lies in a closed day, in a segment, not in the tables.
    let bound = Number.MAX_SAFE_INTEGER;
    store = await openEmbeddedStore(dir.path, { history: { rawRetentionDays: 30, archiveRetentionDays: null, rollupRetentionDays: null }, clock: () => now, latestNotAfter: () => bound, attributes: (id) => registry.getDevice(id)?.attributes });
    const write = (seq: number, ts: number) => store.writer.write([{ channel: 'telemetry', type: 'water-meter', deviceId: 'wm-1', receivedAt: now, payload: meterReading('wm-1', seq, ts) as Telemetry }]);
    const good = D0 + DAY + 5 * HOUR;
    await write(1, good);
    await store.history.fold();
    await store.history.applyRetention();
    expect(parts('segment')).toEqual([dayNo(1)]);
    await write(2, now + DAY);
    await store.history.fold();
    expect(await store.readings.latestReadings('wm-1', 'water-meter')).toMatchObject({ indexL: { value: 1014, ts: now + DAY } });
    bound = now + 60_000;
    expect(await store.readings.latestReadings('wm-1', 'water-meter')).toEqual({ indexL: { value: 1007, ts: good }, flowLph: { value: 1, ts: good }, batteryPct: { value: 90, ts: good } });
  });
});
