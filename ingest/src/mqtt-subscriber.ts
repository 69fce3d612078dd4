import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from './backoff.js';

/** Filters the ingest subscribes to: everything devices send (contracts-v1 "Topics"). */
export const INGEST_TOPICS = ['tsunagaru/v1/#'];

export interface SubscriberOptions {
  url: string;
  username: string;
  password: string;
  /** Fixed, so the broker keeps the persistent session (clean: false) across ingest restarts. */
  clientId?: string;
  topics?: string[];
  logger: Logger;
  /** Resolves when the message's outcome is durable; rejects when it should be retried later. */
  handle: (topic: string, payload: Buffer) => Promise<unknown>;
  retry?: BackoffOptions;
  /** Extra MQTT.js options (e.g. TLS). */
  mqttOptions?: Partial<IClientOptions>;
}

export interface IngestSubscriber {
  readonly client: MqttClient;
  /** Resolves at the first connection; rejects if the broker refuses the credentials. */
  readonly ready: Promise<void>;
  isConnected(): boolean;
  /** Waits for the message being handled (bounded), then disconnects without acknowledging anything else. */
  close(): Promise<void>;
}

class ClosingError extends Error {}

/**
 * QoS 1 subscriber whose PUBACK means "safe". On MQTT 3.1.1, MQTT.js sends the PUBACK when
 * `handleMessage(packet, done)` calls `done`, and hands over the next message only after that; so `done`
 * is called after the pipeline made the outcome durable. While storage fails, the message is retried with
 * backoff and nothing else is taken: the broker queues, nothing is lost.
 */
export function startSubscriber(options: SubscriberOptions): IngestSubscriber {
  const log = options.logger;
  const client = mqtt.connect(options.url, {
    protocolVersion: 4,
    clean: false,
    clientId: options.clientId ?? 'tsunagaru-ingest',
    username: options.username,
    password: options.password,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...options.mqttOptions,
  });
  let closing = false;
  let inFlight: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function handleWithRetry(topic: string, payload: Buffer): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (closing) throw new ClosingError();
      try {
        await options.handle(topic, payload);
        return;
      } catch (err) {
        const delay = backoffDelay(attempt, options.retry);
        log.error({ event: 'ingest_retry', topic: topic.slice(0, 256), attempt, delayMs: delay, err: (err as Error).message }, 'storing a message failed; it stays unacknowledged and will be retried');
        await sleep(delay);
      }
    }
  }

  client.handleMessage = (packet, done) => {
    const topic = String(packet.topic);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    inFlight = handleWithRetry(topic, payload).then(
      () => done(),
      (err: unknown) => {
        // On close the message stays unacknowledged: the broker redelivers it to the next session.
        if (!(err instanceof ClosingError)) log.error({ err }, 'unexpected ingest failure');
      },
    );
  };

  client.on('connect', (connack) => {
    log.info({ event: 'mqtt_connected', url: options.url, sessionPresent: connack.sessionPresent }, 'ingest connected to the broker');
    client.subscribe(options.topics ?? INGEST_TOPICS, { qos: 1 }, (err, granted) => {
      if (err) return log.error({ err }, 'subscribe failed');
      const refused = (granted ?? []).filter((g) => g.qos === 128);
      if (refused.length > 0) log.error({ event: 'mqtt_subscribe_refused', topics: refused.map((g) => g.topic) }, 'the broker refused a subscription: check the ingest service account ACL');
    });
  });
  client.on('reconnect', () => log.warn({ event: 'mqtt_reconnect', url: options.url }, 'ingest reconnecting to the broker'));
  client.on('offline', () => log.warn({ event: 'mqtt_offline' }, 'ingest lost the broker connection'));

  let firstConnect!: { resolve: () => void; reject: (err: Error) => void };
  const ready = new Promise<void>((resolve, reject) => (firstConnect = { resolve, reject }));
  ready.catch(() => undefined);
  client.once('connect', () => firstConnect.resolve());
  client.on('error', (err: Error & { code?: number }) => {
    // CONNACK 4/5 (bad credentials / not authorised) will not heal by retrying: fail the start.
    const authFailure = err.code === 4 || err.code === 5 || /not authori[sz]ed|bad user name or password/i.test(err.message);
    log.error({ event: 'mqtt_error', err: err.message }, authFailure ? 'the broker refused the ingest: check MQTT_USERNAME / MQTT_PASSWORD' : 'ingest MQTT error');
    if (authFailure && !client.connected) firstConnect.reject(new Error(`the broker at ${options.url} refused the ingest's credentials: ${err.message}`));
  });

  return {
    client,
    ready,
    isConnected: () => client.connected,
    async close() {
      closing = true;
      wake?.();
      await Promise.race([inFlight, new Promise((r) => setTimeout(r, 5000))]);
      await client.endAsync(true);
    },
  };
}
