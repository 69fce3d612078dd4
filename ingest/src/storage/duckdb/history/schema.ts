/**
 * Tables that keep a long history cheap to read (issue 15): latest values, rollups, the archive's
 * manifests. Applied idempotently at open, after the base schema (../schema.ts).
 */
import { SAMPLE_COLUMNS, quoteIdent } from '../sample-columns.js';
import { sampleTable } from '../schema.js';
import { ROLLED_UP_TYPES, tableSuffix, type RolledUpType } from './columns.js';
import { TIER_TABLE, TIERS } from './archive.js';
import { WATER_FIGURES_DDL } from './water-figures.js';
import { dayColumns } from './closed-hours.js';
import { dayOpenColumns, dayOpenTable, dayTable, hourColumns, hourOpenTable, pendingTable, plainDayTable } from './rollup-sql.js';

export const latestTable = (type: RolledUpType | 'ring-node'): string => `latest_${tableSuffix(type)}`;
/** A reading's time column in a latest table. */
export const latestTs = (reading: string): string => quoteIdent(`${reading}_ts`);

function latestDdl(type: RolledUpType): string {
  const cols = SAMPLE_COLUMNS[type].map((c) => `${quoteIdent(c.name)} ${c.sql}, ${latestTs(c.name)} TIMESTAMP`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${latestTable(type)} (device_id VARCHAR PRIMARY KEY, ${cols})`;
}

function rollupDdl(type: RolledUpType): string[] {
  const ddl = (cols: ReadonlyArray<{ name: string; sql: string }>) => cols.map((c) => `${c.name} ${c.sql}`).join(', ');
  return [
    // Samples stored by batches and not yet folded into the rollups (rollups.ts fold).
    sampleTable(type, pendingTable(type)),
    // Days still open: scalar rows, updated in place.
    `CREATE TABLE IF NOT EXISTS ${hourOpenTable(type)} (${ddl(hourColumns(type))})`,
    `CREATE TABLE IF NOT EXISTS ${dayOpenTable(type)} (${ddl(dayOpenColumns(type))}, PRIMARY KEY (device_id, day))`,
    // Closed days, one row per device and day with the hours as lists, found through the device index.
    `CREATE TABLE IF NOT EXISTS ${dayTable(type)} (${ddl(dayColumns(type))})`,
    `CREATE INDEX IF NOT EXISTS ${dayTable(type)}_device ON ${dayTable(type)} (device_id)`,
    // Closed days of the layout before, until converted (migrate.ts); read with the compact ones.
    `CREATE TABLE IF NOT EXISTS ${plainDayTable(type)} (${ddl(dayColumns(type, 'plain'))})`,
  ];
}

export const HISTORY_DDL: readonly string[] = [
  ...ROLLED_UP_TYPES.map(latestDdl),
  `CREATE TABLE IF NOT EXISTS ${latestTable('ring-node')} (device_id VARCHAR NOT NULL, segment_id VARCHAR NOT NULL,
     state VARCHAR, state_ts TIMESTAMP, rx_dbm DOUBLE, rx_dbm_ts TIMESTAMP, supervisory VARCHAR, supervisory_ts TIMESTAMP,
     PRIMARY KEY (device_id, segment_id))`,
  ...ROLLED_UP_TYPES.flatMap(rollupDdl),
  // Every Parquet file of the segments and the archive (archive.ts); a file not listed is not part of the store.
  ...TIERS.map((t) => `CREATE TABLE IF NOT EXISTS ${TIER_TABLE[t]} (file VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, day DATE NOT NULL,
     rows BIGINT NOT NULL, min_ts TIMESTAMP, max_ts TIMESTAMP, archived_at TIMESTAMP NOT NULL)`),
  `CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
  ...WATER_FIGURES_DDL,
];
