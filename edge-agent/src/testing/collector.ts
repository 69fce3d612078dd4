import { connectAsync, type MqttClient } from 'mqtt';

export interface CollectedMessage {
  topic: string;
  text: string;
  retain: boolean;
  /** Parsed JSON, or undefined if the payload was not JSON. */
  json: unknown;
}

/** A plain MQTT subscriber that records everything on `filter`, for asserting what devices sent. */
export interface MessageCollector {
  readonly messages: CollectedMessage[];
  /** Resolves with the first recorded message (past or future) matching `match`. */
  waitFor(match: (m: CollectedMessage) => boolean, timeoutMs?: number): Promise<CollectedMessage>;
  /** Resolves once `count` recorded messages match `match`. */
  waitForCount(match: (m: CollectedMessage) => boolean, count: number, timeoutMs?: number): Promise<CollectedMessage[]>;
  close(): Promise<void>;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export async function collectMessages(url: string, filter: string, clientId = `collector-${Math.random().toString(16).slice(2, 10)}`): Promise<MessageCollector> {
  const client: MqttClient = await connectAsync(url, { clientId, protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  const messages: CollectedMessage[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString('utf8');
    messages.push({ topic, text, retain: packet.retain, json: parse(text) });
    for (const wake of waiters) wake();
  });
  await client.subscribeAsync(filter, { qos: 1 });

  const waitForCount = (match: (m: CollectedMessage) => boolean, count: number, timeoutMs = 5000): Promise<CollectedMessage[]> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = messages.filter(match);
        if (found.length < count) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`collector: ${messages.filter(match).length}/${count} matching messages on ${filter} after ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    messages,
    waitForCount,
    waitFor: async (match, timeoutMs) => {
      const [first] = await waitForCount(match, 1, timeoutMs);
      return first as CollectedMessage;
    },
    close: () => client.endAsync(),
  };
}
