import { describe, expect, it } from 'vitest';
import { limitsOf, loadBrokerLimits } from './config.js';

describe('loadBrokerLimits', () => {
  it('sets nothing when no variable is set (createBroker applies its defaults)', () => {
    expect(loadBrokerLimits({})).toEqual({});
  });

  it('reads every limit variable into createBroker options', () => {
    const env = {
      MQTT_MAX_CONNECTIONS: '20000',
      MQTT_MAX_UNAUTHENTICATED_PER_ADDRESS: '32',
      MQTT_CONNECT_TIMEOUT_SEC: '5',
      MQTT_MAX_CLIENT_ID_LENGTH: '64',
      MQTT_DEVICE_MSGS_PER_SEC: '0',
      MQTT_DEVICE_BYTES_PER_SEC: '1024',
      MQTT_AUTH_FAILURES_PER_DEVICE_ADDRESS: '5',
      MQTT_AUTH_FAILURES_PER_ADDRESS: '50',
      MQTT_AUTH_LOCKOUT_SEC: '120',
      MQTT_AUTH_CONCURRENCY: '2',
      MQTT_AUTH_QUEUE: '128',
      MQTT_AUTH_CACHE_SIZE: '0',
      MQTT_AUTH_CACHE_TTL_SEC: '3600',
      MQTT_LOG_LINES_PER_ADDRESS_PER_MIN: '10',
      MQTT_LOG_LINES_PER_SEC: '0',
      MQTT_PERSISTENT_SESSIONS_PER_DEVICE: '2',
      MQTT_QUEUED_COMMANDS_PER_SESSION: '1000',
    };
    expect(loadBrokerLimits(env)).toEqual({
      maxConnections: 20000,
      maxUnauthenticatedPerAddress: 32,
      connectTimeoutMs: 5000,
      maxClientIdLength: 64,
      publishLimits: { messagesPerSecond: 0, bytesPerSecond: 1024 },
      authThrottle: { maxFailuresPerPair: 5, maxFailuresPerAddress: 50, lockoutMs: 120_000 },
      passwordCheck: { maxConcurrent: 2, maxQueued: 128, cacheSize: 0, cacheTtlMs: 3_600_000 },
      connectionLog: { linesPerAddressPerMinute: 10, linesPerSecond: 0 },
      sessionLimits: { maxPersistentPerDevice: 2, maxQueuedPerSession: 1000 },
    });
  });

  it('keeps only the limits of a larger object', () => {
    expect(limitsOf({ maxConnections: 5, ...{ dataDir: './data', cluster: { redisUrl: 'redis://x' } } } as never)).toEqual({ maxConnections: 5 });
  });

  it.each([
    [{ MQTT_MAX_UNAUTHENTICATED_PER_ADDRESS: '0' }, 'MQTT_MAX_UNAUTHENTICATED_PER_ADDRESS: must be at least 1'],
    [{ MQTT_CONNECT_TIMEOUT_SEC: '0' }, 'MQTT_CONNECT_TIMEOUT_SEC: must be at least 1'],
    [{ MQTT_CONNECT_TIMEOUT_SEC: '1.5' }, 'MQTT_CONNECT_TIMEOUT_SEC: must be a non-negative integer, got "1.5"'],
    [{ MQTT_MAX_CLIENT_ID_LENGTH: '10' }, 'MQTT_MAX_CLIENT_ID_LENGTH: must be at least 23'],
    [{ MQTT_AUTH_CONCURRENCY: '0' }, 'MQTT_AUTH_CONCURRENCY'],
    [{ MQTT_AUTH_QUEUE: '-1' }, 'MQTT_AUTH_QUEUE'],
    [{ MQTT_PERSISTENT_SESSIONS_PER_DEVICE: '0' }, 'MQTT_PERSISTENT_SESSIONS_PER_DEVICE'],
    [{ MQTT_LOG_LINES_PER_SEC: 'many' }, 'MQTT_LOG_LINES_PER_SEC'],
    [{ MQTT_MAX_CONNECTIONS: '0' }, 'MQTT_MAX_CONNECTIONS: must be at least 1'],
  ])('names the variable at fault: %o', (env, message) => {
    expect(() => loadBrokerLimits(env)).toThrow(expect.objectContaining({ code: 'BROKER_ERR_CONFIG', message: expect.stringContaining(message) }));
  });
});
