/**
 * How long each form of the history is kept, from the environment, checked once at start (zod; errors
 * name the variable and the fix):
 * - RAW_RETENTION_DAYS (default 90): raw rows older than this many days move from the hot tables to the
 *   Parquet archive (archive.ts). Nothing is deleted by it.
 * - ARCHIVE_RETENTION_DAYS (default `forever`): archived days older than this are deleted. At least
 *   RAW_RETENTION_DAYS, so no raw row is deleted the moment it is archived.
 * - ROLLUP_RETENTION_DAYS (default `forever`): hourly and daily rollups older than this are deleted.
 */
import { z } from 'zod';
import { configError } from '../../../errors.js';

export interface HistorySettings {
  rawRetentionDays: number;
  /** null: keep for ever. */
  archiveRetentionDays: number | null;
  rollupRetentionDays: number | null;
}

export const DEFAULT_HISTORY_SETTINGS: Readonly<HistorySettings> = Object.freeze({ rawRetentionDays: 90, archiveRetentionDays: null, rollupRetentionDays: null });

const days = z.coerce.number({ message: 'must be a whole number of days' }).int('must be a whole number of days').min(1, 'must be at least 1').max(36_500, 'must be at most 36500 (100 years)');
const daysOrForever = z.union([z.literal('forever'), days]);

const schema = z.object({
  RAW_RETENTION_DAYS: days.default(DEFAULT_HISTORY_SETTINGS.rawRetentionDays),
  ARCHIVE_RETENTION_DAYS: daysOrForever.default('forever'),
  ROLLUP_RETENTION_DAYS: daysOrForever.default('forever'),
});

export function loadHistorySettings(env: NodeJS.ProcessEnv = process.env): HistorySettings {
  const present = Object.fromEntries(Object.keys(schema.shape).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    const hint = name === 'RAW_RETENTION_DAYS' ? '' : ' or "forever"';
    throw configError(name, `${issue.message}${hint}, got "${String(present[name])}"`);
  }
  const v = parsed.data;
  const forever = (d: number | 'forever') => (d === 'forever' ? null : d);
  const settings = { rawRetentionDays: v.RAW_RETENTION_DAYS, archiveRetentionDays: forever(v.ARCHIVE_RETENTION_DAYS), rollupRetentionDays: forever(v.ROLLUP_RETENTION_DAYS) };
  if (settings.archiveRetentionDays !== null && settings.archiveRetentionDays < settings.rawRetentionDays) {
    throw configError('ARCHIVE_RETENTION_DAYS', `must be at least RAW_RETENTION_DAYS (${settings.rawRetentionDays}): raw rows would be deleted as soon as they are archived; got "${String(env.ARCHIVE_RETENTION_DAYS)}"`);
  }
  return settings;
}
