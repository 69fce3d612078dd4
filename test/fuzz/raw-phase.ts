import { buildTopic } from '@tsunagaru/firmware-contracts';
import { connectDevice } from '../support/device-client.js';
import type { FuzzDevice } from './messages.js';
import { connectPacket, malformedCases, mutatePackets, publishPacket, subscribePacket } from './mqtt-bytes.js';
import { rawExchange } from './raw-client.js';
import type { Rng } from './rng.js';

export interface RawPhaseResult {
  sent: number;
  closedByBroker: number;
  /** A genuine device message sent after all of it went through broker and ingest and was stored. */
  canaryStored: boolean;
}

/**
 * Malformed MQTT at the broker: the named cases (malformedCases) in turn, the rest random damage to
 * valid CONNECT/PUBLISH/SUBSCRIBE sequences, 50 connections at a time. Then a canary.
 */
export async function runRawPhase(o: {
  port: number;
  rng: Rng;
  device: FuzzDevice;
  secret: string;
  count: number;
  canaryStored: () => number;
  onProgress?: (sent: number) => void;
}): Promise<RawPhaseResult> {
  const named = malformedCases();
  const login = { username: o.device.id, password: o.secret };
  const own = buildTopic(o.device.type, o.device.id, 'telemetry');
  const connect = connectPacket({ clientId: o.device.id, username: o.device.id, password: o.secret });
  const valid = [
    connect,
    Buffer.concat([connect, publishPacket(own, Buffer.from('{"v":1}'), 1)]),
    Buffer.concat([connect, subscribePacket(buildTopic(o.device.type, o.device.id, 'cmd'))]),
    Buffer.concat([connect, publishPacket(own, Buffer.alloc(2000, 0x7b), 0), publishPacket(own, Buffer.from('[]'), 2)]),
  ];
  let sent = 0;
  let closed = 0;
  while (sent < o.count) {
    const wave = Array.from({ length: Math.min(50, o.count - sent) }, (_, i) => {
      const n = sent + i;
      if (n < named.length) {
        const c = named[n]!;
        return rawExchange(o.port, c.chunks, { ...(c.login ? { login } : {}), waitMs: 1500 });
      }
      return rawExchange(o.port, [mutatePackets(o.rng, o.rng.pick(valid))], { waitMs: 300 });
    });
    for (const r of await Promise.all(wave)) if (r.closedByBroker) closed++;
    sent += wave.length;
    if (sent % 2000 === 0) o.onProgress?.(sent);
  }
  const before = o.canaryStored();
  const client = await connectDevice(`mqtt://127.0.0.1:${o.port}`, o.device.id, o.secret);
  const now = Date.now();
  await client.publishAsync(own, JSON.stringify(canaryPayload(o.device, now)), { qos: 1 });
  await client.endAsync();
  const deadline = Date.now() + 10_000;
  while (o.canaryStored() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { sent, closedByBroker: closed, canaryStored: o.canaryStored() > before };
}

function canaryPayload(d: FuzzDevice, ts: number): object {
  const sample: Record<FuzzDevice['type'], object> = {
    'smart-pole': { ts, airTempC: 21.5 },
    'water-meter': { ts, indexL: 1 },
    'bs-power': { ts, batterySocPct: 80 },
    'ring-node': { ts, segments: [{ id: 'oshima-toshima', state: 'up' }] },
  };
  return { v: 1, id: d.id, boot: 999_999, seq: 0, ts, samples: [sample[d.type]] };
}
