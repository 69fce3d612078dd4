import { describe, expect, it } from 'vitest';
import { loadBrokerConfig } from './config.js';

describe('loadBrokerConfig', () => {
  it('defaults to ./data, 127.0.0.1:1883, info', () => {
    expect(loadBrokerConfig({})).toEqual({ dataDir: './data', port: 1883, host: '127.0.0.1', logLevel: 'info' });
  });

  it('reads every variable and freezes the result', () => {
    const config = loadBrokerConfig({ DATA_DIR: '/var/lib/tsunagaru', MQTT_PORT: '0', MQTT_HOST: '0.0.0.0', LOG_LEVEL: 'debug' });
    expect(config).toEqual({ dataDir: '/var/lib/tsunagaru', port: 0, host: '0.0.0.0', logLevel: 'debug' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
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
