/**
 * A long history kept cheap (issue 15): latest values and rollups maintained with every stored batch,
 * closed days' raw rows moved to Parquet segments and old ones to the archive, retention (retention.ts). `StoreHistory` is what the writer, the readers,
 * the maintenance loop and `npm run store` share.
 */
import { MAX_TS_MS, type DeviceType } from '@tsunagaru/firmware-contracts';
import { BOOLEAN, LIST, listValue, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { DuckDbDatabase, ParamTypes, Transaction } from '../database.js';
import { SAMPLE_TABLES } from '../sample-columns.js';
import { ArchiveCatalog, CATALOG_SQL, PARTS_MOVED_KEY, type ArchiveKind } from './archive.js';
import { applyRetention, type RetentionResult } from './retention.js';
import { isRolledUpType, ROLLED_UP_TYPES, rolledUpReadings, type RolledUpType } from './columns.js';
import { DEFAULT_HISTORY_SETTINGS, type HistorySettings } from './history-config.js';
import { isoDay, localDayNumber, localDayStart, localDayStartSql } from './local-time.js';
import { rebuildLatest, updateLatest } from './latest.js';
import { addRollupDrops, convertPlainShare, dropMessagesPrimaryKey, setAsidePlainLayout } from './migrate.js';
import { BULK_SHARES, CLOSE_GRACE_MS, closeDays, dayRows, fold, hourRows, rebuildDays, rebuildShares } from './rollups.js';
import { dayOpenTable, dayTable, hourOpenTable, pendingTable } from './rollup-sql.js';
import { HISTORY_DDL, latestTable, latestTs } from './schema.js';
import { SAMPLE_COLUMNS } from '../sample-columns.js';
import { daysOf, markChanged } from './water-figures.js';
import { checkCleanClose, stampCleanClose } from './figures-stamp.js';
import { DMA_INLET_SITE } from '../../../water/balance.js';

/** A device's registry attributes (the DMA of a water meter, and whether it is the DMA's inlet). */
export type AttributesOf = (deviceId: string) => Readonly<Record<string, unknown>> | undefined;

/** The sample rows of one type a batch stored, column by column in table order (writer.ts). */
export interface StoredSamples {
  type: DeviceType;
  types: readonly DuckDBType[];
  columns: ReadonlyArray<readonly DuckDBValue[]>;
}

export interface HistoryOptions {
  dataDir: string | ':memory:';
  /** "Latest" takes no value stamped after this (server clock + DEVICE_CLOCK_MAX_SKEW_SEC). */
  latestNotAfter?: () => number;
  attributes?: AttributesOf;
  settings?: HistorySettings;
  /** The clock days are opened, closed and retained by. Default Date.now. */
  clock?: () => number;
  log?: (event: string, detail: Record<string, unknown>, message: string) => void;
}

/** 2: counters' rollups keep their largest drop. A store of another version rebuilds its rollups at open. */
const HISTORY_VERSION = '2';
/** Pending rows that make the next batch fold them at once (about 2 minutes of a 130,000-meter city). */
const FOLD_AT_ROWS = 200_000;
/** The samples tables' `ts` column (after device_id, boot, seq, idx: ../schema.ts sampleTable). */
const SAMPLE_TS_COLUMN = 4;

/** Closing days in parts at most this many times smaller than BULK_SHARES.hourRows before giving up. */
const CLOSE_FINER_MAX = 64;

/** The first local day still open at `now`: yesterday until CLOSE_GRACE_MS after midnight, then today. */
export const openFromAt = (now: number): number => localDayNumber(now - CLOSE_GRACE_MS);

export class StoreHistory {
  readonly catalog: ArchiveCatalog;
  readonly settings: HistorySettings;
  /** First local day still open: rollups of earlier days are in the closed tables. */
  private openFrom: number;
  private readonly clock: () => number;
  /**
   * Each water meter's latest reading time stored by this process (water-figures.ts daysOf): readings in
   * order leave settled DMA figures kept. ~100 bytes a meter.
   */
  private readonly waterLatest = new Map<string, number>();
  /** Segment files moved to the archive at the last retention run, removed at the next (applyRetention). */
  private readonly retired: string[] = [];
  /** No closed rollups of the layout before are left (migrate.ts). */
  private converted = false;
  /** Rows in the pending tables (about: a rolled-back batch leaves it high until the next fold). */
  private pendingRows = 0;
  /** How many times smaller than BULK_SHARES closing days cuts its parts (see closeDays). */
  private closeFiner = 1;

  private constructor(
    private readonly db: DuckDbDatabase,
    private readonly o: HistoryOptions,
    catalog: ArchiveCatalog,
    openFrom: number,
  ) {
    this.catalog = catalog;
    this.openFrom = openFrom;
    this.settings = o.settings ?? DEFAULT_HISTORY_SETTINGS;
    this.clock = o.clock ?? Date.now;
  }

  static async open(db: DuckDbDatabase, o: HistoryOptions): Promise<StoreHistory> {
    const log = o.log ?? (() => undefined);
    if (await dropMessagesPrimaryKey(db)) log('store_upgraded', {}, 'messages: the primary key index was dropped (duplicates are found by the writer and the ledger)');
    const drops = ROLLED_UP_TYPES.flatMap((t) => rolledUpReadings(t).filter((r) => r.counter).flatMap((r) => [
      ...[hourOpenTable(t), dayOpenTable(t), dayTable(t)].map((table) => ({ table, scalar: [`${r.name}_drop`], lists: table === dayTable(t) ? [`${r.name}_h_drop`] : [] })),
    ]));
    if (await addRollupDrops(db, drops, ROLLED_UP_TYPES.map((t) => `${dayTable(t)}_device`))) {
      log('store_upgraded', {}, 'rollups: registers now keep their largest drop (not known for days stored before; rebuilt from the stored readings where they are kept)');
    }
    const setAside = await setAsidePlainLayout(db, ROLLED_UP_TYPES);
    if (setAside.length > 0) log('store_upgraded', { types: setAside }, `rollups: closed days' hours to be stored compactly (${setAside.join(', ')}), the same values in a third of the space, converted in the background`);
    for (const ddl of HISTORY_DDL) await db.run(ddl);
    const catalog = ArchiveCatalog.fromRows(o.dataDir, await db.all(CATALOG_SQL));
    if (o.dataDir !== ':memory:') for (const f of catalog.removeOrphans()) log('archive_orphan_removed', { file: f }, `removed ${f}: not listed (a run that did not commit, or a part moved to the archive)`);
    // The DMAs' kept figures hold only if every change of the readings since was marked (figures-stamp.ts).
    const unsure = o.dataDir === ':memory:' ? undefined : await checkCleanClose(db);
    if (unsure && unsure.cleared > 0) log('water_figures_cleared', { figures: unsure.cleared }, `${unsure.cleared} kept DMA figures cleared: ${unsure.why}; they are computed again in the background`);
    const meta = new Map((await db.all(`SELECT key, value FROM store_meta`)).map((r) => [String(r.key), String(r.value)]));
    const clock = o.clock ?? Date.now;
    const openFrom = meta.has('rollups_open_from') ? Number(meta.get('rollups_open_from')) : openFromAt(clock());
    catalog.moved = Number(meta.get(PARTS_MOVED_KEY) ?? 0);
    const history = new StoreHistory(db, o, catalog, openFrom);
    await history.seedWaterLatest();
    const pending = await db.all(ROLLED_UP_TYPES.map((t) => `SELECT count(*) AS n FROM ${pendingTable(t)}`).join(' UNION ALL '));
    history.pendingRows = pending.reduce((sum, r) => sum + Number(r.n), 0);
    if (meta.get('history_version') !== HISTORY_VERSION) {
      // A store from before issue 15 (or a new one): derive latest values and rollups from what it holds.
      const started = performance.now();
      await history.rebuild();
      await db.run(`INSERT INTO store_meta VALUES ('history_version', '${HISTORY_VERSION}') ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
      log('history_built', { ms: Math.round(performance.now() - started) }, 'latest values and rollups built from the stored readings');
    }
    await history.saveOpenFrom();
    return history;
  }

  /**
   * At a clean close, after the last write: lets the next open keep the DMAs' kept figures. A failure
   * only costs their recomputation (the next open finds no stamp).
   */
  async close(): Promise<void> {
    if (this.o.dataDir === ':memory:') return;
    await stampCleanClose(this.db).catch((err: unknown) => this.o.log?.('water_figures_unstamped', { err: (err as Error).message }, `the store's clean close could not be recorded (${(err as Error).message}); the DMAs' kept figures are computed again after the next start`));
  }

  /**
   * Each water meter's latest reading time as stored (its latest values, and readings not folded yet), so
   * that after a restart a backlog older than what is stored counts as out of order (water-figures.ts).
   */
  private async seedWaterLatest(): Promise<void> {
    const times = SAMPLE_COLUMNS['water-meter'].map((c) => `epoch_ms(${latestTs(c.name)})`).join(', ');
    const rows = await this.db.all(`SELECT device_id, max(t) AS t FROM (
        SELECT device_id, greatest(${times}) AS t FROM ${latestTable('water-meter')}
        UNION ALL SELECT device_id, epoch_ms(max(ts)) FROM ${pendingTable('water-meter')} GROUP BY device_id) GROUP BY device_id`);
    for (const r of rows) if (r.t !== null && r.t !== undefined) this.waterLatest.set(String(r.device_id), Number(r.t));
  }

  private notAfter(): number {
    return Math.min(this.o.latestNotAfter?.() ?? MAX_TS_MS, MAX_TS_MS);
  }

  /**
   * The writer's hook, inside the batch's transaction: the stored samples join the pending rows of the
   * rollups (folded in bulk later; readers merge them meanwhile). Ring segments, which have no rollups,
   * update their latest values at once.
   */
  async onBatch(tx: Transaction, stored: readonly StoredSamples[]): Promise<void> {
    for (const s of stored) {
      const rows = s.columns[0]?.length ?? 0;
      if (rows === 0) continue;
      if (!isRolledUpType(s.type)) {
        await tx.run(`CREATE TEMP TABLE IF NOT EXISTS stage_ring AS SELECT * FROM ${SAMPLE_TABLES['ring-node']} LIMIT 0`);
        await tx.run(`DELETE FROM stage_ring`);
        await tx.append('stage_ring', s.types, s.columns, { catalog: 'temp' });
        await updateLatest(tx, s.type, 'SELECT * FROM stage_ring', this.notAfter());
        continue;
      }
      await tx.append(pendingTable(s.type), s.types, s.columns);
      // The DMAs' kept figures of these days (and those within reach) are computed again (water-figures.ts).
      if (s.type === 'water-meter') {
        const { days, lateDays } = daysOf(s.columns[0]!, s.columns[SAMPLE_TS_COLUMN]!, this.waterLatest);
        await markChanged(tx, days, lateDays);
      }
      this.pendingRows += rows;
    }
    // Bounded even if the maintenance loop falls behind: readers merge every pending row on the fly.
    if (this.pendingRows >= FOLD_AT_ROWS) await this.foldIn(tx);
  }

  /** Folds every pending row into latest values and rollups (a transaction of its own). */
  fold(): Promise<number> {
    return this.db.transaction((tx) => this.foldIn(tx));
  }

  private async foldIn(tx: Transaction): Promise<number> {
    let folded = 0;
    const notAfter = this.notAfter();
    for (const type of ROLLED_UP_TYPES) {
      const pending = `SELECT * FROM ${pendingTable(type)}`;
      await updateLatest(tx, type, pending, notAfter);
      const attrs = type === 'water-meter' ? await this.stageAttributes(tx, (await tx.all(`SELECT DISTINCT device_id FROM ${pendingTable(type)}`)).map((r) => String(r.device_id))) : undefined;
      folded += await fold(tx, type, attrs, this.openFrom);
    }
    this.pendingRows = 0;
    return folded;
  }

  /** The DMA of each water meter of `deviceIds`, as a temp relation (device_id, dma, inlet). */
  private async stageAttributes(tx: Pick<Transaction, 'run' | 'append'>, deviceIds: readonly string[]): Promise<string> {
    await tx.run(`CREATE OR REPLACE TEMP TABLE stage_attrs (device_id VARCHAR, dma VARCHAR, inlet BOOLEAN)`);
    const attrs = deviceIds.map((id) => this.o.attributes?.(id));
    const dma = attrs.map((a) => (typeof a?.dma === 'string' ? a.dma : null));
    // Appended, not bound as list parameters: three lists of a whole city's meters took 1.3-1.7 s to bind.
    if (dma.some((d) => d !== null)) await tx.append('stage_attrs', [VARCHAR, VARCHAR, BOOLEAN], [deviceIds, dma, attrs.map((a) => a?.site === DMA_INLET_SITE)], { catalog: 'temp' });
    return `SELECT * FROM stage_attrs`;
  }

  /** Closes finished days (CLOSE_GRACE_MS after their end): their rollups move to the closed tables. */
  async closeDays(now = this.clock()): Promise<boolean> {
    const openFrom = openFromAt(now);
    if (openFrom <= this.openFrom) return false;
    for (;;) {
      try {
        await this.db.transaction(async (tx) => {
          await this.foldIn(tx);
          for (const type of ROLLED_UP_TYPES) await closeDays(tx, type, openFrom, Math.ceil(BULK_SHARES.hourRows / this.closeFiner));
          await this.saveOpenFrom(tx, openFrom);
        });
        this.openFrom = openFrom;
        return true;
      } catch (err) {
        // Out of DuckDB's memory (DUCKDB_MEMORY_LIMIT; the ingest's default is lower than the store
        // tool's): the transaction rolled back, so the same days again in parts half the size. Left to
        // retry at the next hour with the same parts, a 130,000-meter day never closed at 320 MB.
        if (!/out of memory/i.test((err as Error).message) || this.closeFiner >= CLOSE_FINER_MAX) throw err;
        this.closeFiner *= 2;
        this.o.log?.('history_close_finer', { finer: this.closeFiner }, `closing the days before ${isoDay(openFrom)} ran out of DuckDB's memory (DUCKDB_MEMORY_LIMIT); trying again in parts ${this.closeFiner} times smaller`);
      }
    }
  }

  private async saveOpenFrom(tx: Pick<Transaction, 'run'> = this.db, openFrom = this.openFrom): Promise<void> {
    await tx.run(`INSERT INTO store_meta VALUES ('rollups_open_from', '${openFrom}') ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  }

  /**
   * Whether closed rollups of the layout before may be left (migrate.ts): true until a conversion pass
   * found none. Nothing writes that layout after the open, so readers then leave it out of their plans.
   */
  get plainRollupsLeft(): boolean {
    return !this.converted;
  }

  /**
   * Converts a share of a day of closed rollups stored in the layout before (migrate.ts), if any is left:
   * the maintenance loop's background work. Returns the rows converted (0: none left).
   */
  async convertRollups(): Promise<number> {
    if (this.converted) return 0;
    for (const type of ROLLED_UP_TYPES) {
      const n = await convertPlainShare(this.db, type);
      if (n > 0) return n;
    }
    this.converted = true;
    return 0;
  }

  /**
   * Rebuilds latest values (always all of them) and the rollups of local days [fromDay, toDay] (default:
   * every day that has raw rows) from the raw rows, hot and archived, one day per transaction.
   */
  async rebuild(o: { fromDay?: number; toDay?: number; attributes?: AttributesOf; meters?: readonly string[]; onDay?: (day: number, ms: number) => void } = {}): Promise<{ days: number }> {
    const attributes = o.attributes ?? this.o.attributes;
    const span = await this.rawSpan();
    if (!span) {
      await this.db.transaction((tx) => rebuildLatest(tx, (t) => this.catalog.rawSource(`samples/${t}`, -8.64e15, 8.64e15), this.notAfter()));
      return { days: 0 };
    }
    const fromDay = o.fromDay ?? localDayNumber(span.min);
    const toDay = o.toDay ?? localDayNumber(span.max);
    await this.db.run(`CREATE OR REPLACE TEMP TABLE rebuild_attrs (device_id VARCHAR, dma VARCHAR, inlet BOOLEAN)`);
    // The water meters whose DMA the rollups carry: given (the registry's), or found in the readings.
    const meters = o.meters ?? (await this.meterIds());
    if (attributes && meters.length > 0) {
      const attrs = meters.map((id) => attributes(id));
      await this.db.run(`INSERT INTO rebuild_attrs SELECT unnest($1), unnest($2), unnest($3)`, [listValue(meters), listValue(attrs.map((a) => (typeof a?.dma === 'string' ? a.dma : null))), listValue(attrs.map((a) => a?.site === DMA_INLET_SITE))], [LIST(VARCHAR), LIST(VARCHAR), LIST(BOOLEAN)] as unknown as ParamTypes);
    }
    for (let day = fromDay; day <= toDay; day++) {
      const started = performance.now();
      const [from, to] = [localDayStart(day), localDayStart(day + 1)];
      for (const type of ROLLED_UP_TYPES) {
        const source = this.catalog.rawSource(`samples/${type}`, from, to);
        const k = await this.db.transaction((tx) => rebuildShares(tx, source));
        for (let j = 0; j < k; j++) await this.db.transaction((tx) => rebuildDays(tx, type, source, type === 'water-meter' ? 'SELECT * FROM rebuild_attrs' : undefined, day, day, this.openFrom, k, j));
      }
      await markChanged(this.db, [day]);
      o.onDay?.(day, performance.now() - started);
    }
    await this.db.transaction((tx) => rebuildLatest(tx, (t) => this.catalog.rawSource(`samples/${t}`, -8.64e15, 8.64e15), this.notAfter()));
    await this.fold();
    return { days: toDay - fromDay + 1 };
  }

  /** Water meters with stored readings (hot, archived and rolled up), for the DMA attributes of a rebuild. */
  private async meterIds(): Promise<string[]> {
    const rows = await this.db.all(`SELECT DISTINCT device_id FROM (${this.catalog.rawSource('samples/water-meter', -8.64e15, 8.64e15)}) ORDER BY device_id`);
    return rows.map((r) => String(r.device_id));
  }

  /** Earliest and latest sample time, hot and archived; undefined without samples. */
  private async rawSpan(): Promise<{ min: number; max: number } | undefined> {
    const parts = ROLLED_UP_TYPES.map((t) => `SELECT min(ts) AS lo, max(ts) AS hi FROM ${SAMPLE_TABLES[t]}`);
    const [row] = await this.db.all(`SELECT epoch_ms(min(lo)) AS lo, epoch_ms(max(hi)) AS hi FROM (${parts.join(' UNION ALL ')})`);
    const archived = this.catalog.all().filter((p) => p.kind.startsWith('samples/'));
    const lo = [row?.lo, ...archived.map((p) => p.minTs)].filter((v) => v !== null && v !== undefined).map(Number);
    const hi = [row?.hi, ...archived.map((p) => p.maxTs)].filter((v) => v !== null && v !== undefined).map(Number);
    return lo.length === 0 ? undefined : { min: Math.min(...lo), max: Math.max(...hi) };
  }

  /** Retention now (retention.ts): closed days to segments, old ones to the archive, deletions. */
  applyRetention(now = this.clock()): Promise<RetentionResult> {
    return applyRetention({ db: this.db, catalog: this.catalog, settings: this.settings, files: this.o.dataDir !== ':memory:', retired: this.retired, log: this.o.log }, now);
  }

  /**
   * Water meters' registers per Japan day or hour from the rollups (closed, open and pending merged):
   * device_id, start, first_t, first, last_t, last (epoch ms, indexL) and drop (rollup-sql.ts), for
   * buckets with readings, restricted by `where` (SQL over device_id and day). Undefined when `fromDay` is
   * older than the rollups kept (ROLLUP_RETENTION_DAYS): the raw readings must answer then.
   */
  registerBuckets(unit: 'day' | 'hour', where: string, fromDay: number): string | undefined {
    const keep = this.settings.rollupRetentionDays;
    if (keep !== null && fromDay < localDayNumber(this.clock()) - keep) return undefined;
    const start = unit === 'day' ? localDayStartSql('day') : `(${localDayStartSql('day')} + to_hours(h))`;
    return `SELECT device_id, epoch_ms(${start}) AS start, epoch_ms("indexL_first_ts") AS first_t, "indexL_first" AS first, epoch_ms("indexL_last_ts") AS last_t, "indexL_last" AS last, "indexL_drop" AS drop
      FROM (${unit === 'day' ? dayRows('water-meter', where, ['indexL'], this.plainRollupsLeft) : hourRows('water-meter', where, ['indexL'], this.plainRollupsLeft)}) WHERE "indexL_n" > 0`;
  }

  /** Raw rows of `kind` in [from, to): hot tables, segments and archive (archive.ts). */
  rawSource(kind: ArchiveKind, from: number, to: number, where?: string): string {
    return this.catalog.rawSource(kind, from, to, where);
  }
}

export { loadHistorySettings, DEFAULT_HISTORY_SETTINGS, type HistorySettings } from './history-config.js';
export type { RetentionResult } from './retention.js';
