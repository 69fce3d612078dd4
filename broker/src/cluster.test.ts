import { describe, expect, it } from 'vitest';
import { redisOptionsFromUrl } from './cluster.js';
import { loadBrokerConfig, redactUrl } from './config.js';

describe('cluster settings (BROKER_REDIS_URL, BROKER_ID, BROKER_HEARTBEAT_MS)', () => {
  it('changes nothing without BROKER_REDIS_URL', () => {
    const config = loadBrokerConfig({});
    expect(config.cluster).toBeUndefined();
    expect(config.brokerId).toBeUndefined();
    expect(loadBrokerConfig({ BROKER_ID: 'edge-1' }).brokerId).toBe('edge-1');
  });

  it('turns cluster mode on with a default node id unique per process', () => {
    const config = loadBrokerConfig({ BROKER_REDIS_URL: 'redis://redis:6379/0' });
    expect(config.cluster).toEqual({ redisUrl: 'redis://redis:6379/0', heartbeatIntervalMs: 5000 });
    expect(config.brokerId).toMatch(new RegExp(`^[A-Za-z0-9._-]+-${process.pid}$`));
    expect(loadBrokerConfig({ BROKER_REDIS_URL: 'redis://redis', BROKER_ID: 'broker-2', BROKER_HEARTBEAT_MS: '1000' })).toMatchObject({
      brokerId: 'broker-2',
      cluster: { heartbeatIntervalMs: 1000 },
    });
  });

  it.each([
    ['BROKER_REDIS_URL', { BROKER_REDIS_URL: 'localhost:6379' }],
    ['BROKER_REDIS_URL', { BROKER_REDIS_URL: 'http://redis:6379' }],
    ['BROKER_REDIS_URL', { BROKER_REDIS_URL: 'redis://redis:6379/cache' }],
    ['BROKER_REDIS_URL', { BROKER_REDIS_URL: 'redis://redis:6379/0?timeout=1' }],
    ['BROKER_ID', { BROKER_REDIS_URL: 'redis://redis', BROKER_ID: 'node:1' }],
    ['BROKER_ID', { BROKER_ID: 'a/b' }],
    ['BROKER_HEARTBEAT_MS', { BROKER_REDIS_URL: 'redis://redis', BROKER_HEARTBEAT_MS: '50' }],
  ])('refuses a bad %s, naming it', (variable, env) => {
    expect(() => loadBrokerConfig(env)).toThrow(new RegExp(`^${variable}: `));
  });

  it('never puts the Redis password in an error or a log line', () => {
    expect(() => loadBrokerConfig({ BROKER_REDIS_URL: 'redis://:s3cret-pw@redis:6379/cache' })).toThrow(/redis:\/\/:\*\*\*@redis:6379\/cache/);
    expect(() => loadBrokerConfig({ BROKER_REDIS_URL: 'redis://:s3cret-pw@redis:6379/cache' })).not.toThrow(/s3cret/);
    expect(redactUrl('rediss://tsunagaru:s3cret-pw@redis.internal:6380/1')).toBe('rediss://tsunagaru:***@redis.internal:6380/1');
    expect(redactUrl('redis://redis:6379')).toBe('redis://redis:6379');
  });

  it('turns the URL into ioredis options (mqemitter-redis ignores every other option beside a URL)', () => {
    expect(redisOptionsFromUrl('redis://redis')).toEqual({ host: 'redis', port: 6379, db: 0 });
    expect(redisOptionsFromUrl('redis://:p%40ss@[::1]:6380/2')).toEqual({ host: '::1', port: 6380, db: 2, password: 'p@ss' });
    expect(redisOptionsFromUrl('rediss://svc:pw@redis.internal/3')).toEqual({ host: 'redis.internal', port: 6379, db: 3, username: 'svc', password: 'pw', tls: {} });
  });
});
