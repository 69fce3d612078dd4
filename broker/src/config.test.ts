import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerConfig } from './config.js';

describe('loadBrokerConfig', () => {
  it('defaults to ./data, 127.0.0.1:1883, info', () => {
    expect(loadBrokerConfig({})).toEqual({ dataDir: './data', port: 1883, host: '127.0.0.1', logLevel: 'info' });
  });

  it('takes an empty variable as unset, as every process does (DATA_DIR= is ./data)', () => {
    expect(loadBrokerConfig({ DATA_DIR: '', MQTT_PORT: '', LOG_LEVEL: '' })).toEqual({ dataDir: './data', port: 1883, host: '127.0.0.1', logLevel: 'info' });
  });

  it('reads every variable and freezes the result', () => {
    const config = loadBrokerConfig({ DATA_DIR: '/var/lib/tsunagaru', MQTT_PORT: '0', MQTT_HOST: '0.0.0.0', LOG_LEVEL: 'debug' });
    expect(config).toEqual({ dataDir: '/var/lib/tsunagaru', port: 0, host: '0.0.0.0', logLevel: 'debug' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads TLS files and limits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-broker-config-'));
    const pem = (kind: string) => `-----BEGIN ${kind}-----\nMIIB\n-----END ${kind}-----\n`;
    writeFileSync(join(dir, 'c.pem'), pem('CERTIFICATE'));
    writeFileSync(join(dir, 'k.pem'), pem('PRIVATE KEY'));
    const config = loadBrokerConfig({ MQTT_TLS_CERT: join(dir, 'c.pem'), MQTT_TLS_KEY: join(dir, 'k.pem'), MQTT_TLS_CA: join(dir, 'c.pem'), MQTT_TLS_CLIENT_CERTS: 'optional', MQTTS_PORT: '0', MQTT_MAX_CONNECTIONS: '500', MQTT_DEVICE_MSGS_PER_SEC: '5' });
    expect(config.tls).toMatchObject({ port: 0, host: '127.0.0.1', options: { clientCertificates: 'optional', cert: pem('CERTIFICATE') } });
    expect(config.maxConnections).toBe(500);
    expect(config.publishLimits).toEqual({ messagesPerSecond: 5 });
    expect(() => loadBrokerConfig({ MQTT_TLS_CERT: join(dir, 'c.pem'), MQTT_TLS_KEY: join(dir, 'k.pem'), MQTT_TLS_CLIENT_CERTS: 'required' })).toThrow(/MQTT_TLS_CA/);
    rmSync(dir, { recursive: true });
  });

  it.each([
    [{ MQTT_TLS_CERT: '/nonexistent/cert.pem', MQTT_TLS_KEY: '/nonexistent/key.pem' }, 'MQTT_TLS_CERT: cannot read /nonexistent/cert.pem'],
    [{ MQTT_TLS_CERT: '/x.pem' }, 'MQTT_TLS_KEY: required'],
    [{ MQTT_TLS_CLIENT_CERTS: 'optional' }, 'MQTT_TLS_CLIENT_CERTS: needs'],
    [{ MQTT_TLS_CLIENT_CERTS: 'maybe' }, 'MQTT_TLS_CLIENT_CERTS: must be'],
    [{ MQTT_MAX_CONNECTIONS: 'lots' }, 'MQTT_MAX_CONNECTIONS'],
    [{ MQTT_PORT: 'abc' }, 'MQTT_PORT: must be an integer 0..65535, got "abc"'],
    [{ MQTT_PORT: '70000' }, 'MQTT_PORT'],
    [{ MQTT_PORT: '-1' }, 'MQTT_PORT'],
    [{ MQTT_HOST: 'a host' }, 'MQTT_HOST'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of'],
    [{ DATA_DIR: ' ' }, 'DATA_DIR'],
  ])('names the variable at fault: %o', (env, message) => {
    expect(() => loadBrokerConfig(env)).toThrow(expect.objectContaining({ code: 'BROKER_ERR_CONFIG', message: expect.stringContaining(message) }));
  });
});
