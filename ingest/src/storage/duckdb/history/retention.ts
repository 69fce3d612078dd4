/**
 * Retention of the raw rows and rollups (history-config.ts), run by the maintenance loop every hour and by
 * `npm run store -- archive`: the raw rows of closed days leave the tables for segments, segments past
 * RAW_RETENTION_DAYS move to the archive (archive.ts), archived days and rollups past their retention are
 * deleted.
 */
import { readdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDbDatabase } from '../database.js';
import { ARCHIVE_KINDS, commitDayPart, moveToArchive, prepareDayPart, tableOf, TIER_TABLE, type ArchiveCatalog } from './archive.js';
import { ROLLED_UP_TYPES } from './columns.js';
import type { HistorySettings } from './history-config.js';
import { DAY_MS, isoDay, localDayNumber, utcDayNumber } from './local-time.js';
import { dateSql, rollupTables } from './rollups.js';
import { deleteFiguresBefore, markChanged } from './water-figures.js';

export interface RetentionResult {
  /** Day parts written as segments (closed days within RAW_RETENTION_DAYS). */
  segmented: number;
  /** Day parts that joined the archive (written there, or segments moved). */
  archived: number;
  archiveDeleted: number;
  rollupsDeleted: boolean;
}

export interface RetentionContext {
  db: DuckDbDatabase;
  catalog: ArchiveCatalog;
  settings: HistorySettings;
  /** false for an in-memory store: no directory for files, its rows stay where they are. */
  files: boolean;
  /** Segment files moved to the archive at the last run, removed at the next (kept for readers that listed them). */
  retired: string[];
  log?: (event: string, detail: Record<string, unknown>, message: string) => void;
}

/**
 * Retention (history-config.ts), one UTC day and kind per transaction: raw rows of closed days (before
 * yesterday) leave the hot tables for a segment, or for the archive when already past RAW_RETENTION_DAYS
 * (late data of an old day); segments past RAW_RETENTION_DAYS move to the archive; then archived days and
 * rollups past their retention are deleted. Segments are never deleted.
 */
export async function applyRetention(h: RetentionContext, now: number): Promise<RetentionResult> {
  const s = h.settings;
  const today = utcDayNumber(now);
  const archiveBefore = today - s.rawRetentionDays;
  const closedBefore = today - 1;
  let [segmented, archived] = [0, 0];
  let stamp = now;
  // Names of segments moved at the previous run, kept until now for the readers that had listed them.
  for (const path of h.retired.splice(0)) rmSync(path, { force: true });
  // An in-memory store has no directory for files: its rows stay where they are.
  const reader = h.files ? await h.db.fork() : undefined;
  try {
    for (const kind of reader ? ARCHIVE_KINDS : []) {
      const days = await h.db.all(`SELECT DISTINCT (CAST(ts AS DATE) - DATE '1970-01-01')::INTEGER AS day FROM ${tableOf(kind)} WHERE ts < epoch_ms(${closedBefore * DAY_MS}::BIGINT) ORDER BY day`);
      for (const { day } of days) {
        const tier = Number(day) < archiveBefore ? 'archive' : 'segment';
        // Written on a connection of its own: the writer's batches go on meanwhile.
        const prepared = await prepareDayPart(reader!, h.catalog, tier, kind, Number(day), stamp++);
        if (!prepared) continue;
        const part = await h.db
          .transaction(async (tx) => {
            // A DMA figure read while the day leaves the tables could see neither side: computed again.
            if (kind === 'samples/water-meter') await markChanged(tx, [localDayNumber(Number(day) * DAY_MS), localDayNumber((Number(day) + 1) * DAY_MS - 1)]);
            return commitDayPart(tx, h.catalog, prepared, stamp++);
          })
          .catch((err: unknown) => {
            // Not listed: not part of the store (the next run writes the day again).
            rmSync(h.catalog.path(prepared), { force: true });
            throw err;
          });
        h.catalog.committed(part);
        if (tier === 'archive') archived++;
        else segmented++;
        h.log?.(tier === 'archive' ? 'archived' : 'segmented', { kind, file: part.file, rows: part.rows }, `${tier}: ${part.rows} ${kind} rows of ${isoDay(part.day)} moved to ${part.file}`);
      }
    }
  } finally {
    await reader?.close();
  }
  for (const part of h.catalog.all('segment').filter((p) => p.day < archiveBefore)) {
    const moved = await h.db.transaction((tx) => moveToArchive(tx, h.catalog, part, now));
    h.catalog.remove(part);
    h.catalog.add(moved);
    h.retired.push(h.catalog.path(part));
    archived++;
    h.log?.('archived', { kind: part.kind, file: moved.file, rows: part.rows }, `archive: segment ${part.file} (${part.rows} rows) moved to the archive`);
  }
  let archiveDeleted = 0;
  if (s.archiveRetentionDays !== null) archiveDeleted = await deleteArchivedBefore(h, today - s.archiveRetentionDays);
  let rollupsDeleted = false;
  if (s.rollupRetentionDays !== null) {
    const day = localDayNumber(now) - s.rollupRetentionDays;
    await h.db.transaction(async (tx) => {
      for (const type of ROLLED_UP_TYPES) for (const t of rollupTables(type)) await tx.run(`DELETE FROM ${t} WHERE day < ${dateSql(day)}`);
      // The DMAs' kept daily figures are rollups too (issue 15): kept as long.
      await deleteFiguresBefore(tx, day);
    });
    rollupsDeleted = true;
  }
  return { segmented, archived, archiveDeleted, rollupsDeleted };
}

/** Deletes archived parts of UTC days before `day` (never segments): the manifest first, then the files. */
async function deleteArchivedBefore(h: RetentionContext, day: number): Promise<number> {
  const parts = h.catalog.all('archive').filter((p) => p.day < day);
  if (parts.length === 0) return 0;
  await h.db.run(`DELETE FROM ${TIER_TABLE.archive} WHERE day < DATE '1970-01-01' + ${day}`);
  for (const p of parts) {
    h.catalog.remove(p);
    rmSync(h.catalog.path(p), { force: true });
    // The day's directory goes with its last part.
    const dayDir = dirname(h.catalog.path(p));
    if (readdirSync(dayDir).length === 0) rmSync(dayDir, { recursive: true, force: true });
  }
  h.log?.('archive_deleted', { parts: parts.length, beforeDay: day }, `archive: ${parts.length} parts past ARCHIVE_RETENTION_DAYS deleted`);
  return parts.length;
}
