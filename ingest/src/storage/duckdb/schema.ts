import { SAMPLE_COLUMNS, SAMPLE_TABLES, quoteIdent } from './sample-columns.js';

/** Keys of a stored message; every sample row carries them so a reading can be traced to its message. */
const KEY_COLUMNS = `device_id VARCHAR NOT NULL, boot UBIGINT NOT NULL, seq UBIGINT NOT NULL`;

/** A sample table's DDL; `name` other than its own for a table of the same shape (history/schema.ts). */
export function sampleTable(type: keyof typeof SAMPLE_COLUMNS, name = SAMPLE_TABLES[type]): string {
  const cols = SAMPLE_COLUMNS[type].map((c) => `${quoteIdent(c.name)} ${c.sql}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${name} (${KEY_COLUMNS}, idx INTEGER NOT NULL, ts TIMESTAMP NOT NULL, replay BOOLEAN NOT NULL, ${cols})`;
}

/** The messages table (also used to rebuild a table made with the old primary key: history/migrate.ts). */
export function messagesDdl(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (${KEY_COLUMNS}, type VARCHAR NOT NULL, channel VARCHAR NOT NULL,
     ts TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL, replay BOOLEAN NOT NULL, samples INTEGER NOT NULL)`;
}

/** The embedded store's DDL, applied idempotently at open. */
export const SCHEMA_DDL: readonly string[] = [
  // One row per Telemetry/Event message, in arrival order. No primary key: an index over every message ever
  // stored grew without bound; the writer finds duplicates itself (writer.ts), the ledger knows the rest.
  messagesDdl('messages'),
  sampleTable('smart-pole'),
  sampleTable('water-meter'),
  sampleTable('bs-power'),
  `CREATE TABLE IF NOT EXISTS ${SAMPLE_TABLES['ring-node']} (${KEY_COLUMNS}, idx INTEGER NOT NULL, ts TIMESTAMP NOT NULL,
     replay BOOLEAN NOT NULL, segment_id VARCHAR NOT NULL, state VARCHAR NOT NULL, rx_dbm DOUBLE, supervisory VARCHAR)`,
  // A radio meter's link quality (contract v1 water-meter rssiDbm/snrDb, added as optional readings, issue 20).
  `ALTER TABLE ${SAMPLE_TABLES['water-meter']} ADD COLUMN IF NOT EXISTS "rssiDbm" DOUBLE`,
  `ALTER TABLE ${SAMPLE_TABLES['water-meter']} ADD COLUMN IF NOT EXISTS "snrDb" DOUBLE`,
  // The supervisory channel (contract v1 ring-node segments[].supervisory, added as an optional field).
  `ALTER TABLE ${SAMPLE_TABLES['ring-node']} ADD COLUMN IF NOT EXISTS supervisory VARCHAR`,
  `CREATE TABLE IF NOT EXISTS events (${KEY_COLUMNS}, type VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, replay BOOLEAN NOT NULL,
     event_type VARCHAR NOT NULL, detail JSON)`,
  `CREATE SEQUENCE IF NOT EXISTS dead_letter_ids START 1`,
  `CREATE TABLE IF NOT EXISTS dead_letters (id BIGINT PRIMARY KEY DEFAULT nextval('dead_letter_ids'),
     received_at TIMESTAMP NOT NULL, topic VARCHAR NOT NULL, device_id VARCHAR, payload VARCHAR NOT NULL,
     payload_bytes INTEGER NOT NULL, truncated BOOLEAN NOT NULL, reason VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS device_status (device_id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, online BOOLEAN NOT NULL,
     boot UBIGINT, last_seen TIMESTAMP, last_state_at TIMESTAMP, fw VARCHAR, model VARCHAR, sample_sec INTEGER)`,
  // Added for device clocks (issue 19); ADD COLUMN IF NOT EXISTS upgrades a store made before it.
  `ALTER TABLE device_status ADD COLUMN IF NOT EXISTS clock_skew_ms BIGINT`,
  `CREATE TABLE IF NOT EXISTS state_changes (device_id VARCHAR NOT NULL, type VARCHAR NOT NULL, state VARCHAR NOT NULL,
     boot UBIGINT NOT NULL, ts TIMESTAMP, received_at TIMESTAMP NOT NULL, late BOOLEAN NOT NULL, payload JSON NOT NULL)`,
  // Completeness ledger (ingest/src/ledger): seq ranges received per device and boot, as JSON [[from, to], …].
  `CREATE TABLE IF NOT EXISTS ledger_boots (device_id VARCHAR NOT NULL, boot UBIGINT NOT NULL, ranges JSON NOT NULL,
     duplicates UBIGINT NOT NULL, last_received_at TIMESTAMP NOT NULL, PRIMARY KEY (device_id, boot))`,
  // Highest journal LSN committed to storage, moved in the same transaction as the ledger.
  `CREATE TABLE IF NOT EXISTS journal_checkpoint (id INTEGER PRIMARY KEY, released_lsn UBIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS command_acks (device_id VARCHAR NOT NULL, cmd_id VARCHAR NOT NULL, ok BOOLEAN NOT NULL,
     result JSON, error VARCHAR, ts TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL)`,
];
