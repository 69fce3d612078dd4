import type { Client, PublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import type { Principal } from './acl.js';
import { checkPublish, PUBLISH_STEPS, type PublishCheckDeps, type PublishRefusal } from './publish-checks.js';
import { PublishRateLimiter } from './throttle.js';

const pole: Principal = { kind: 'device', id: 'pole-01', type: 'smart-pole', secretHash: 'x' };
const ingest: Principal = { kind: 'service', username: 'tsunagaru-ingest', role: 'ingest', secretHash: 'x' };
const packet = (topic: string, bytes = 10, qos: 0 | 1 = 1): PublishPacket => ({ cmd: 'publish', topic, payload: Buffer.alloc(bytes, 0x20), qos, retain: false, dup: false, messageId: 1 }) as PublishPacket;

/** Runs one PUBLISH through the steps with these parts; resolves with how it was settled. */
function run(principal: Principal | undefined, p: PublishPacket, parts: Partial<PublishCheckDeps> = {}) {
  const client = { id: 'c', closed: false } as unknown as Client;
  const principals = new WeakMap<Client, Principal>();
  if (principal) principals.set(client, principal);
  const journalled: string[] = [];
  return new Promise<{ refusal: PublishRefusal | null; error?: Error; journalled: string[] }>((resolve) => {
    const deps: PublishCheckDeps = {
      principals,
      cluster: undefined,
      maxPayloadBytes: 64 * 1024,
      publishLimiter: undefined,
      delegateOf: () => undefined,
      recoveredWillPrincipal: () => undefined,
      sessions: () => ({ beforeCommand: async () => undefined }) as never,
      beforePuback: async (topic) => void journalled.push(topic),
      settle: (_c, refusal) => resolve({ refusal, journalled }),
      ...parts,
    };
    checkPublish(client, p, (error) => error && resolve({ refusal: null, error, journalled }), deps);
  });
}

describe('publish checks', () => {
  it('are named steps in a fixed order, the ones that wait last', () => {
    expect(PUBLISH_STEPS.map(([name]) => name)).toEqual(['recoveredWill', 'authenticated', 'clusterWill', 'clusterHealthy', 'payloadSize', 'withinRights', 'withinRate', 'roomForCommand', 'heldInCluster', 'journalled']);
  });

  it('authorise a device on its own topic only once the embedded journal has it (the PUBACK waits for it)', async () => {
    const r = await run(pole, packet('tsunagaru/v1/smart-pole/pole-01/telemetry'));
    expect(r).toEqual({ refusal: null, journalled: ['tsunagaru/v1/smart-pole/pole-01/telemetry'] });
  });

  it('refuse in their order and journal nothing refused: no session, then size before rights, then rights before the rate', async () => {
    expect((await run(undefined, packet('tsunagaru/v1/smart-pole/pole-01/telemetry'))).refusal).toMatchObject({ reason: 'publish_denied', detail: 'no authenticated session' });
    const big = await run(pole, packet('tsunagaru/v1/smart-pole/pole-02/telemetry', 70 * 1024));
    expect(big.refusal).toMatchObject({ reason: 'payload_too_large' });
    expect(big.journalled).toEqual([]);
    const foreign = await run(pole, packet('tsunagaru/v1/smart-pole/pole-02/telemetry'), { publishLimiter: new PublishRateLimiter({ messagesPerSecond: 0.0001, burstMessages: 0 }) });
    expect(foreign.refusal).toMatchObject({ reason: 'publish_denied' });
    const limited = new PublishRateLimiter({ messagesPerSecond: 1, burstMessages: 1 }, () => 0);
    expect((await run(pole, packet('tsunagaru/v1/smart-pole/pole-01/telemetry'), { publishLimiter: limited })).refusal).toBeNull();
    const second = await run(pole, packet('tsunagaru/v1/smart-pole/pole-01/telemetry'), { publishLimiter: limited });
    expect(second.refusal).toMatchObject({ reason: 'publish_rate_exceeded' });
    expect(second.journalled).toEqual([]);
  });

  it('make room in the device\'s session queues before a service\'s command, and never rate-limit it', async () => {
    const room: string[] = [];
    const r = await run(ingest, packet('tsunagaru/v1/smart-pole/pole-01/cmd'), { sessions: () => ({ beforeCommand: async (id: string) => void room.push(id) }) as never, publishLimiter: new PublishRateLimiter({ messagesPerSecond: 1, burstMessages: 0 }) });
    expect(r.refusal).toBeNull();
    expect(room).toEqual(['pole-01']);
  });

  it('hand a failed wait (the journal refusing) to aedes as an error: no PUBACK, the connection closes, no denial', async () => {
    const r = await run(pole, packet('tsunagaru/v1/smart-pole/pole-01/telemetry'), { beforePuback: async () => Promise.reject(new Error('journal full')) });
    expect(r.refusal).toBeNull();
    expect(r.error?.message).toBe('journal full');
  });
});
