import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from './config.js';

describe('loadIngestConfig', () => {
  it('uses documented defaults and generates an admin token', () => {
    const c = loadIngestConfig({});
    expect(c).toMatchObject({ dataDir: './data', httpPort: 8080, mqttUrl: 'mqtt://127.0.0.1:1883', adminTokenGenerated: true });
    expect(c.adminToken.length).toBeGreaterThanOrEqual(32);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadIngestConfig({ HTTP_PORT: 'eighty' })).toThrow(/^HTTP_PORT: must be a port number/);
    expect(() => loadIngestConfig({ MQTT_PORT: '70000' })).toThrow(/^MQTT_PORT:/);
    expect(() => loadIngestConfig({ MQTT_URL: 'http://x' })).toThrow(/^MQTT_URL:/);
    expect(() => loadIngestConfig({ TSUNAGARU_ADMIN_TOKEN: 'short' })).toThrow(/^TSUNAGARU_ADMIN_TOKEN:/);
    expect(() => loadIngestConfig({ LOG_LEVEL: 'loud' })).toThrow(/^LOG_LEVEL:/);
  });

  it('reads the API certificate files and names the TLS variable that is wrong', () => {
    expect(() => loadIngestConfig({ HTTP_TLS_CERT: '/nonexistent/cert.pem' })).toThrow(/^HTTP_TLS_KEY: required/);
    expect(() => loadIngestConfig({ HTTP_TLS_CERT: '/nonexistent/c.pem', HTTP_TLS_KEY: '/nonexistent/k.pem' })).toThrow(/^HTTP_TLS_CERT: cannot read/);
    expect(() => loadIngestConfig({ MQTT_TLS_CA: '/nonexistent/ca.pem' })).toThrow(/^MQTT_TLS_CA: cannot read/);
    expect(loadIngestConfig({}).httpTls).toBeUndefined();
  });
});
