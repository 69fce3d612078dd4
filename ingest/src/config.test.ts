import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from './config.js';

describe('loadIngestConfig', () => {
  it('uses documented defaults and generates an admin token', () => {
    const c = loadIngestConfig({});
    expect(c).toMatchObject({ dataDir: './data', httpPort: 8080, mqttUrl: 'mqtt://127.0.0.1:1883', adminTokenGenerated: true });
    expect(c.adminToken.length).toBeGreaterThanOrEqual(32);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('takes an empty variable as unset, as every process does (DATA_DIR= is ./data)', () => {
    expect(loadIngestConfig({ DATA_DIR: '', HTTP_PORT: '' })).toMatchObject({ dataDir: './data', httpPort: 8080 });
  });

  it("lets a tool run alone default DuckDB's memory otherwise, and the variable still wins (npm run store: 512MB)", () => {
    expect(loadIngestConfig({}).duckdb.memoryLimit).toBe('320MB');
    expect(loadIngestConfig({}, { duckdb: { memoryLimit: '512MB' } }).duckdb.memoryLimit).toBe('512MB');
    expect(loadIngestConfig({ DUCKDB_MEMORY_LIMIT: '2GB' }, { duckdb: { memoryLimit: '512MB' } }).duckdb.memoryLimit).toBe('2GB');
  });

  it('names the variable that is wrong', () => {
    expect(() => loadIngestConfig({ HTTP_PORT: 'eighty' })).toThrow(/^HTTP_PORT: must be a port number/);
    expect(() => loadIngestConfig({ MQTT_PORT: '70000' })).toThrow(/^MQTT_PORT:/);
    expect(() => loadIngestConfig({ MQTT_URL: 'http://x' })).toThrow(/^MQTT_URL:/);
    expect(() => loadIngestConfig({ TSUNAGARU_ADMIN_TOKEN: 'short' })).toThrow(/^TSUNAGARU_ADMIN_TOKEN:/);
    expect(() => loadIngestConfig({ LOG_LEVEL: 'loud' })).toThrow(/^LOG_LEVEL:/);
    // The history's retention (issue 15) is part of the one environment schema.
    expect(() => loadIngestConfig({ RAW_RETENTION_DAYS: 'ninety' })).toThrow(/^RAW_RETENTION_DAYS: must be a whole number of days, got "ninety"/);
    expect(() => loadIngestConfig({ RAW_RETENTION_DAYS: '90', ARCHIVE_RETENTION_DAYS: '30' })).toThrow(/^ARCHIVE_RETENTION_DAYS: must be at least RAW_RETENTION_DAYS \(90\)/);
    expect(loadIngestConfig({ RAW_RETENTION_DAYS: '30', ROLLUP_RETENTION_DAYS: 'forever' }).history).toEqual({ rawRetentionDays: 30, archiveRetentionDays: null, rollupRetentionDays: null });
  });

  it('reads the API certificate files and names the TLS variable that is wrong', () => {
    expect(() => loadIngestConfig({ HTTP_TLS_CERT: '/nonexistent/cert.pem' })).toThrow(/^HTTP_TLS_KEY: required/);
    expect(() => loadIngestConfig({ HTTP_TLS_CERT: '/nonexistent/c.pem', HTTP_TLS_KEY: '/nonexistent/k.pem' })).toThrow(/^HTTP_TLS_CERT: cannot read/);
    expect(() => loadIngestConfig({ MQTT_TLS_CA: '/nonexistent/ca.pem' })).toThrow(/^MQTT_TLS_CA: cannot read/);
    expect(loadIngestConfig({}).httpTls).toBeUndefined();
  });

  describe('scale-out settings', () => {
    const influx = { STORE: 'influx-v1', INFLUX_URL: 'http://127.0.0.1:8086', INFLUX_DB: 'tsunagaru' };

    it('defaults: no share group, client id = the MQTT username, alerts on', () => {
      expect(loadIngestConfig({})).toMatchObject({ shareGroup: undefined, clientId: 'tsunagaru-ingest', alerts: true });
      expect(loadIngestConfig({ MQTT_USERNAME: 'ingest-b' }).clientId).toBe('ingest-b');
    });

    it('a share group needs a shared store and turns alerts off unless asked for', () => {
      const worker = { ...influx, INGEST_SHARE_GROUP: 'ingest', MQTT_PASSWORD: 'from-the-mosquitto-accounts' };
      expect(loadIngestConfig({ ...worker, INGEST_CLIENT_ID: 'ingest-1' })).toMatchObject({ shareGroup: 'ingest', clientId: 'ingest-1', alerts: false });
      expect(loadIngestConfig({ ...worker, INGEST_ALERTS: 'on' }).alerts).toBe(true);
      // A worker follows the registry read-only, so it cannot register an account with a made-up password.
      expect(() => loadIngestConfig({ ...influx, INGEST_SHARE_GROUP: 'ingest' })).toThrow(/^MQTT_PASSWORD: with INGEST_SHARE_GROUP/);
      expect(loadIngestConfig({ INGEST_ALERTS: 'off' }).alerts).toBe(false);
      expect(() => loadIngestConfig({ INGEST_SHARE_GROUP: 'ingest', MQTT_PASSWORD: 'x' })).toThrow(/^STORE: with INGEST_SHARE_GROUP the readings must go to a shared store/);
      expect(() => loadIngestConfig({ ...influx, STORE: 'duckdb,influx-v1', INGEST_SHARE_GROUP: 'ingest', MQTT_PASSWORD: 'x' })).toThrow(/^STORE: with INGEST_SHARE_GROUP drop duckdb/);
    });

    it('names the scale-out variable that is wrong', () => {
      expect(() => loadIngestConfig({ ...influx, INGEST_SHARE_GROUP: 'a/b' })).toThrow(/^INGEST_SHARE_GROUP:/);
      expect(() => loadIngestConfig({ ...influx, INGEST_SHARE_GROUP: 'all+' })).toThrow(/^INGEST_SHARE_GROUP:/);
      expect(() => loadIngestConfig({ INGEST_CLIENT_ID: 'ingest#1' })).toThrow(/^INGEST_CLIENT_ID:/);
      expect(() => loadIngestConfig({ INGEST_ALERTS: 'yes' })).toThrow(/^INGEST_ALERTS: must be on or off/);
    });
  });
});
