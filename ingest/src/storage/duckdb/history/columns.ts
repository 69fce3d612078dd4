/**
 * Which readings the rollups summarise, and how, named from the sample tables (sample-columns.ts) so a
 * reading added to the contract is rolled up without another list to keep in step.
 */
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { SAMPLE_COLUMNS, SAMPLE_TABLES, quoteIdent, type ReadingColumn } from '../sample-columns.js';

/** Types whose samples are rows of readings (ring nodes report segment states, one row per segment). */
export type RolledUpType = Exclude<DeviceType, 'ring-node'>;
export const ROLLED_UP_TYPES: readonly RolledUpType[] = ['water-meter', 'smart-pole', 'bs-power'];

/**
 * Cumulative registers: their rollups carry the first and last value of the bucket with their times, so a
 * volume over any period can be computed (and interpolated at its ends) from the rollups alone.
 */
export const COUNTERS: Readonly<Partial<Record<RolledUpType, readonly string[]>>> = { 'water-meter': ['indexL'] };

export interface RolledUpReading {
  name: string;
  sql: 'DOUBLE' | 'BIGINT' | 'INTEGER';
  counter: boolean;
}

/** The numeric readings of a type, in table order: what count/min/max/mean/last apply to. */
export function rolledUpReadings(type: RolledUpType): RolledUpReading[] {
  const counters = COUNTERS[type] ?? [];
  return SAMPLE_COLUMNS[type]
    .filter((c): c is ReadingColumn & { sql: RolledUpReading['sql'] } => c.sql === 'DOUBLE' || c.sql === 'BIGINT' || c.sql === 'INTEGER')
    .map((c) => ({ name: c.name, sql: c.sql, counter: counters.includes(c.name) }));
}

export const isRolledUpType = (type: DeviceType): type is RolledUpType => type !== 'ring-node';

/** `samples_water_meter` → `water_meter`: the suffix of every table derived from a sample table. */
export const tableSuffix = (type: DeviceType): string => SAMPLE_TABLES[type].replace(/^samples_/, '');

/**
 * Column names of the rollup tables: `<reading>_<stat>` for a bucket, `<reading>_h_<stat>` for the list
 * of 24 hourly values in a day row. Quoted: reading names are camelCase.
 */
export const col = (reading: string, stat: string): string => quoteIdent(`${reading}_${stat}`);
export const hourCol = (reading: string, stat: string): string => quoteIdent(`${reading}_h_${stat}`);

/** Sums are exact decimals, so partial sums merged in any order equal one pass over the raw rows. */
export const SUM_SQL = 'DECIMAL(38,6)';

/**
 * The statistics kept per numeric reading (per bucket, and per hour in a day row). `drop`, for counters
 * only: the largest fall of the register between consecutive readings of the bucket (0 when it never
 * falls), or +∞ when it is not known exactly: two readings of one instant with different values, or partial
 * rows whose readings interleave in time (late data folded into a bucket). A reader that needs the
 * register's breaks (a rollover, a reset: water/registers.ts) trusts `last − first` of a bucket whose drop
 * is below its reset threshold and reads the raw rows of any other.
 */
export const UNKNOWN_DROP_SQL = `'infinity'::DOUBLE`;
export type Stat = 'n' | 'min' | 'max' | 'sum' | 'last' | 'last_ts' | 'first' | 'first_ts' | 'drop';

export function statsOf(r: RolledUpReading): Stat[] {
  // A register's mean says nothing; its first and last value (with times) give the volume instead, and
  // its largest drop says whether last − first is the volume (no rollover, reset or meter swap inside).
  return r.counter ? ['n', 'min', 'max', 'first', 'first_ts', 'last', 'last_ts', 'drop'] : ['n', 'min', 'max', 'sum', 'last', 'last_ts'];
}

export function statSql(r: RolledUpReading, stat: Stat): string {
  switch (stat) {
    case 'n':
      return 'INTEGER';
    case 'sum':
      return SUM_SQL;
    case 'last_ts':
    case 'first_ts':
      return 'TIMESTAMP';
    case 'drop':
      return 'DOUBLE';
    default:
      return r.sql;
  }
}
