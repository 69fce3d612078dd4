/**
 * How long each form of the history is kept, from the environment (part of the ingest's environment
 * schema, config.ts), checked once at start; errors name the variable and the fix:
 * - RAW_RETENTION_DAYS (default 90): raw rows older than this many UTC days belong to the Parquet archive
 *   (`$DATA_DIR/archive/`, the analysts' data lake); nothing is deleted by it, and every reader reads all
 *   tiers as one. Within it the raw rows are "hot" in two tiers (archive.ts): the open days (today and
 *   yesterday, UTC), where live and late data land, in DuckDB's tables (~10–12 bytes a reading: its
 *   groups of 2,048 values span many devices, so ids, times and registers barely compress), and each
 *   closed day in sorted ZSTD Parquet segments under `$DATA_DIR/hot/` (~2–5.5 bytes a reading: run-length
 *   ids, delta-coded times and registers), where one meter's day is also found faster.
 * - ARCHIVE_RETENTION_DAYS (default `forever`): archived days older than this are deleted (segments never
 *   are). At least RAW_RETENTION_DAYS, so no raw row is deleted the moment it is archived.
 * - ROLLUP_RETENTION_DAYS (default `forever`): hourly and daily rollups older than this are deleted, and
 *   the DMAs' kept daily figures (water-figures.ts) with them.
 */
import { envVar, shown } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import { parseIngestEnv } from '../../../env.js';
import { configError } from '../../../errors.js';

export interface HistorySettings {
  rawRetentionDays: number;
  /** null: keep for ever. */
  archiveRetentionDays: number | null;
  rollupRetentionDays: number | null;
}

export const DEFAULT_HISTORY_SETTINGS: Readonly<HistorySettings> = Object.freeze({ rawRetentionDays: 90, archiveRetentionDays: null, rollupRetentionDays: null });

const MAX_DAYS = 36_500;

/** Days 1-36500, or `forever` (null); a problem says what it must be, then `or "forever"`. */
const daysOrForever = () =>
  z
    .string()
    .superRefine((s, ctx) => {
      if (s === 'forever') return;
      const problem = !/^[0-9]{1,15}$/.test(s) ? 'must be a whole number of days' : Number(s) < 1 ? 'must be at least 1' : Number(s) > MAX_DAYS ? `must be at most ${MAX_DAYS} (100 years)` : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: `${problem} or "forever", got ${shown(s)}` });
    })
    .transform((s) => (s === 'forever' ? null : Number(s)));

/** The history's variables, as the ingest's environment schema holds them (config.ts). */
export const historyEnv = {
  RAW_RETENTION_DAYS: envVar.int({ min: 1, max: MAX_DAYS, message: 'must be a whole number of days' }).optional(),
  ARCHIVE_RETENTION_DAYS: daysOrForever().optional(),
  ROLLUP_RETENTION_DAYS: daysOrForever().optional(),
};

export type HistoryEnv = z.output<z.ZodObject<typeof historyEnv>>;

/** The history's settings from the parsed variables; the rule across variables names the one at fault. */
export function historySettingsFrom(v: Partial<HistoryEnv>): HistorySettings {
  const settings: HistorySettings = {
    rawRetentionDays: v.RAW_RETENTION_DAYS ?? DEFAULT_HISTORY_SETTINGS.rawRetentionDays,
    archiveRetentionDays: v.ARCHIVE_RETENTION_DAYS ?? null,
    rollupRetentionDays: v.ROLLUP_RETENTION_DAYS ?? null,
  };
  if (settings.archiveRetentionDays !== null && settings.archiveRetentionDays < settings.rawRetentionDays) {
    throw configError('ARCHIVE_RETENTION_DAYS', `must be at least RAW_RETENTION_DAYS (${settings.rawRetentionDays}): raw rows would be deleted as soon as they are archived; got "${settings.archiveRetentionDays}"`);
  }
  return settings;
}

/** The history's settings alone, from an environment (tests, `npm run store`); `npm run ingest` reads them with the rest (config.ts). */
export function loadHistorySettings(env: Readonly<Record<string, string | undefined>> = process.env): HistorySettings {
  return historySettingsFrom(parseIngestEnv(historyEnv, env));
}
