import { describe, expect, it } from 'vitest';
import { loadStorageConfig } from './store-config.js';

describe('storage configuration', () => {
  it('defaults to the embedded DuckDB store', () => {
    expect(loadStorageConfig({})).toEqual({ stores: ['duckdb'], journalMaxBytes: 256 * 1024 * 1024, journalMinFreeBytes: 64 * 1024 * 1024, batchSize: 1000, lingerMs: 20 });
  });

  it('reads the InfluxDB settings of each API', () => {
    expect(loadStorageConfig({ STORE: 'influx-v2', INFLUX_URL: 'http://127.0.0.1:8428', INFLUX_ORG: 'o', INFLUX_BUCKET: 'b', INFLUX_STRING_FIELDS: 'false' })).toMatchObject({
      stores: ['influx-v2'],
      influx: { url: 'http://127.0.0.1:8428', org: 'o', bucket: 'b', stringFields: false },
    });
    expect(loadStorageConfig({ STORE: 'duckdb,influx-v1', INFLUX_URL: 'http://x:8086', INFLUX_DB: 'tsunagaru', INFLUX_RP: 'autogen', INFLUX_USER: 'u', INFLUX_PASSWORD: 'p' })).toMatchObject({
      stores: ['duckdb', 'influx-v1'],
      influx: { db: 'tsunagaru', rp: 'autogen', user: 'u', password: 'p', stringFields: true },
    });
  });

  it('reads the journal\'s free-space watermark in MB; 0 turns it off', () => {
    expect(loadStorageConfig({ JOURNAL_MIN_FREE_MB: '8' }).journalMinFreeBytes).toBe(8 * 1024 * 1024);
    expect(loadStorageConfig({ JOURNAL_MIN_FREE_MB: '0' }).journalMinFreeBytes).toBe(0);
  });

  it('names the variable at fault', () => {
    const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ STORE: 'influxdb' }, /^STORE: unknown store "influxdb"/],
      [{ STORE: 'influx-v1,influx-v2' }, /^STORE: choose/],
      [{ STORE: 'influx-v2' }, /^INFLUX_URL: is required with STORE=influx-v2/],
      [{ STORE: 'influx-v2', INFLUX_URL: 'localhost:8086' }, /^INFLUX_URL: must be an http/],
      [{ STORE: 'influx-v2', INFLUX_URL: 'http://x', INFLUX_ORG: 'o' }, /^INFLUX_BUCKET: is required/],
      [{ STORE: 'influx-v1', INFLUX_URL: 'http://x' }, /^INFLUX_DB: is required with STORE=influx-v1/],
      [{ STORE: 'influx-v1', INFLUX_URL: 'http://x', INFLUX_DB: 'd', INFLUX_PASSWORD: 'p' }, /^INFLUX_USER: is required/],
      [{ STORE: 'influx-v1', INFLUX_URL: 'http://x', INFLUX_DB: 'd', INFLUX_STRING_FIELDS: 'no' }, /^INFLUX_STRING_FIELDS: must be true or false/],
      [{ JOURNAL_MAX_MB: '0' }, /^JOURNAL_MAX_MB: must be at least 1/],
      [{ INGEST_BATCH_SIZE: 'many' }, /^INGEST_BATCH_SIZE: must be an integer/],
      [{ JOURNAL_MIN_FREE_MB: '-5' }, /^JOURNAL_MIN_FREE_MB: must be an integer 0-/],
    ];
    for (const [env, message] of bad) expect(() => loadStorageConfig(env), JSON.stringify(env)).toThrow(message);
  });
});
