import type { DeviceType } from '@tsunagaru/firmware-contracts';

/** SQL column types of each reading, named exactly as in contract v1 so no mapping can go wrong. */
export type ColumnSql = 'DOUBLE' | 'BIGINT' | 'INTEGER' | 'VARCHAR' | 'BOOLEAN' | 'VARCHAR[]';

export interface ReadingColumn {
  name: string;
  sql: ColumnSql;
}

/** ring-node segments are stored one row per segment in their own table, so they are not listed here. */
export const SAMPLE_COLUMNS: Record<Exclude<DeviceType, 'ring-node'>, readonly ReadingColumn[]> = {
  'smart-pole': [
    { name: 'airTempC', sql: 'DOUBLE' },
    { name: 'humidityPct', sql: 'DOUBLE' },
    { name: 'noiseDb', sql: 'DOUBLE' },
    { name: 'pm25', sql: 'DOUBLE' },
    { name: 'peopleCount', sql: 'INTEGER' },
    { name: 'wifiClients', sql: 'INTEGER' },
    { name: 'fiveG', sql: 'VARCHAR' },
    { name: 'powerW', sql: 'DOUBLE' },
    { name: 'cabinetTempC', sql: 'DOUBLE' },
    { name: 'doorOpen', sql: 'BOOLEAN' },
  ],
  'water-meter': [
    { name: 'indexL', sql: 'BIGINT' },
    { name: 'flowLph', sql: 'DOUBLE' },
    { name: 'batteryPct', sql: 'DOUBLE' },
    { name: 'alarms', sql: 'VARCHAR[]' },
    { name: 'rssiDbm', sql: 'DOUBLE' },
    { name: 'snrDb', sql: 'DOUBLE' },
  ],
  'bs-power': [
    { name: 'mains', sql: 'VARCHAR' },
    { name: 'rectifierV', sql: 'DOUBLE' },
    { name: 'loadA', sql: 'DOUBLE' },
    { name: 'batterySocPct', sql: 'DOUBLE' },
    { name: 'batteryV', sql: 'DOUBLE' },
    { name: 'batteryA', sql: 'DOUBLE' },
    { name: 'batteryTempC', sql: 'DOUBLE' },
    { name: 'batterySohPct', sql: 'DOUBLE' },
    { name: 'batteryCapacityAh', sql: 'DOUBLE' },
    { name: 'generator', sql: 'VARCHAR' },
    { name: 'fuelPct', sql: 'DOUBLE' },
    { name: 'backhaul', sql: 'VARCHAR' },
    { name: 'runtimeMin', sql: 'DOUBLE' },
  ],
};

export const SAMPLE_TABLES: Record<DeviceType, string> = {
  'smart-pole': 'samples_smart_pole',
  'water-meter': 'samples_water_meter',
  'bs-power': 'samples_bs_power',
  'ring-node': 'samples_ring_segment',
};

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
