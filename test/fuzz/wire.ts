/**
 * The over-the-wire share of the fuzz run: fuzz devices publish generated messages to the real broker
 * with QoS 1, several connections at once, many messages in flight per connection. Messages the broker
 * must refuse (foreign topics, oversized payloads) go one per connection over raw TCP, so a refusal
 * (which closes the connection on MQTT 3.1.1) never takes innocent in-flight messages with it and
 * every message is accounted for: PUBACKed (accepted), or refused with the connection closed.
 */
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../support/device-client.js';
import type { Family, FuzzDevice, FuzzMessage, MessageFactory } from './messages.js';
import { publishPacket } from './mqtt-bytes.js';
import { rawExchange } from './raw-client.js';

export interface WireOptions {
  port: number;
  devices: readonly FuzzDevice[];
  secrets: Readonly<Record<string, string>>;
  factory: MessageFactory;
  count: number;
  /** Bulk connections (one device each). */
  connections: number;
  /** QoS 1 publishes awaiting PUBACK per connection. */
  inflight: number;
  /** Accepted-but-not-yet-processed messages allowed to pile up in the broker for the ingest. */
  backlogLimit: number;
  /** Messages the ingest has finished (any outcome) since this phase started. */
  ingestProcessed: () => number;
  onProgress?: (sent: number) => void;
}

export interface FamilyTally {
  sent: number;
  accepted: number;
  denied: number;
  lost: number;
}

export interface WireResult {
  sent: number;
  accepted: number;
  denied: number;
  /** Neither PUBACKed nor refused: must be 0. */
  lost: number;
  /** The broker accepted a message the ACL should have refused: must be 0. */
  unexpectedlyAccepted: number;
  byFamily: Partial<Record<Family, FamilyTally>>;
  errors: string[];
}

/** Protocol-level topic errors (wildcards, NUL, > 65535 bytes) are covered by the raw-packet phase. */
function sendableTopic(topic: string): boolean {
  return !/[#+\u0000]/.test(topic) && Buffer.byteLength(topic) <= 65_535 && topic.length > 0;
}

export async function runWirePhase(o: WireOptions): Promise<WireResult> {
  const result: WireResult = { sent: 0, accepted: 0, denied: 0, lost: 0, unexpectedlyAccepted: 0, byFamily: {}, errors: [] };
  const tally = (m: FuzzMessage, key: keyof FamilyTally) => {
    const t = (result.byFamily[m.family] ??= { sent: 0, accepted: 0, denied: 0, lost: 0 });
    t[key]++;
  };
  const fail = (what: string) => {
    if (result.errors.length < 20) result.errors.push(what.slice(0, 300));
  };
  const url = `mqtt://127.0.0.1:${o.port}`;
  const owners = o.devices.slice(0, o.connections);
  const clients: MqttClient[] = await Promise.all(owners.map((d) => connectDevice(url, d.id, o.secrets[d.id]!)));
  for (const c of clients) c.on('error', (err) => fail(`bulk client error: ${err.message}`));
  let remaining = o.count;

  const sendDenied = async (m: FuzzMessage): Promise<void> => {
    const r = await rawExchange(o.port, [publishPacket(m.topic, m.payload, 1, 7)], { login: { username: m.device.id, password: o.secrets[m.device.id]! }, waitMs: 5000 });
    const pubacked = r.received.includes(Buffer.from([0x40, 0x02, 0x00, 0x07]));
    if (r.loginCode !== 0) {
      result.lost++;
      tally(m, 'lost');
      fail(`denied-path login refused (${r.loginCode}) for ${m.device.id}`);
    } else if (pubacked) {
      result.accepted++;
      result.unexpectedlyAccepted++;
      tally(m, 'accepted');
      fail(`broker accepted ${m.family} topic ${JSON.stringify(m.topic.slice(0, 120))} (${m.payload.length} B)`);
    } else if (r.closedByBroker) {
      result.denied++;
      tally(m, 'denied');
    } else {
      result.lost++;
      tally(m, 'lost');
      fail(`no PUBACK and no close for ${m.family} ${JSON.stringify(m.topic.slice(0, 120))}`);
    }
  };

  const worker = async (client: MqttClient, device: FuzzDevice): Promise<void> => {
    const pending = new Set<Promise<void>>();
    while (remaining > 0) {
      remaining--;
      let m = o.factory.next(device);
      while (!sendableTopic(m.topic)) m = o.factory.next(device);
      result.sent++;
      tally(m, 'sent');
      if (result.sent % 10_000 === 0) o.onProgress?.(result.sent);
      if (m.broker === 'deny') {
        await sendDenied(m);
        continue;
      }
      while (result.accepted - o.ingestProcessed() > o.backlogLimit) await new Promise((r) => setTimeout(r, 2));
      const p: Promise<void> = client.publishAsync(m.topic, m.payload, { qos: 1 }).then(
        () => {
          result.accepted++;
          tally(m, 'accepted');
        },
        (err: Error) => {
          result.lost++;
          tally(m, 'lost');
          fail(`publish failed for ${m.family}: ${err.message}`);
        },
      );
      const tracked = p.finally(() => pending.delete(tracked));
      pending.add(tracked);
      if (pending.size >= o.inflight) await Promise.race(pending);
    }
    await Promise.all(pending);
  };

  await Promise.all(clients.map((c, i) => worker(c, owners[i]!)));
  await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)));
  return result;
}
