import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from 'pino';
import { IngestError } from '../errors.js';
import { PubackGate } from './puback-gate.js';
import type { MessageSink } from './sink.js';

/** Filters the ingest subscribes to: everything devices send (contracts-v1 "Topics"). */
export const INGEST_TOPICS = ['tsunagaru/v1/#'];

export interface SubscriberOptions {
  url: string;
  username: string;
  password: string;
  /** Fixed, so the broker keeps the persistent session (clean: false) across ingest restarts. */
  clientId?: string;
  /** Filters to subscribe to; default INGEST_TOPICS. Empty: connect only (embedded mode, for commands). */
  topics?: string[];
  logger: Logger;
  sink: MessageSink;
  /**
   * MQTT 5 shared subscription group: subscribes `$share/<group>/` + each filter, so the broker hands
   * each message to one of the group's workers (ingest/README.md "Scale-out: shared subscriptions").
   */
  shareGroup?: string;
  /** Extra MQTT.js options (e.g. TLS `ca`, `protocolVersion: 5`). */
  mqttOptions?: Partial<IClientOptions>;
  clock?: () => number;
}

/**
 * MQTT 5 Session Expiry Interval for a share-group worker: 0xFFFFFFFF, the session never expires
 * [MQTT-3.1.2.11.2]. mosquitto 2.0 keeps queueing a share to a member whose session is offline, and never
 * hands a dead member's unacknowledged messages to another one (both observed, see the README): an
 * expiring session would drop them.
 */
export const SHARED_SESSION_EXPIRY_SEC = 0xffffffff;

/** The filters as subscribed: `$share/<group>/<filter>` with a share group (MQTT 5 §4.8.2). */
export function subscriptionFilters(topics: readonly string[], shareGroup?: string): string[] {
  return shareGroup ? topics.map((t) => `$share/${shareGroup}/${t}`) : [...topics];
}

export interface IngestSubscriber {
  readonly client: MqttClient;
  /** Resolves at the first connection; rejects if the broker refuses the credentials. */
  readonly ready: Promise<void>;
  isConnected(): boolean;
  /** The broker granted every filter on the current connection (always true with no filters). */
  isSubscribed(): boolean;
  /** PUBACKs waiting for their journal commit. */
  heldAcks(): number;
  /** Lets held PUBACKs out, then disconnects; nothing else is acknowledged. */
  close(): Promise<void>;
}

/** A TCP or TLS socket to the broker behind a PubackGate, so PUBACKs wait for the journal's commit. */
function gatedStreamBuilder(url: URL, extra: Partial<IClientOptions>): (() => PubackGate) | undefined {
  const port = Number(url.port) || (url.protocol === 'mqtts:' || url.protocol === 'ssl:' ? 8883 : 1883);
  const host = url.hostname;
  if (url.protocol === 'mqtt:' || url.protocol === 'tcp:') {
    return () => {
      const socket = netConnect({ host, port });
      socket.setNoDelay(true);
      return new PubackGate(socket);
    };
  }
  if (url.protocol === 'mqtts:' || url.protocol === 'ssl:') {
    const tls = extra as { ca?: unknown; cert?: unknown; key?: unknown; rejectUnauthorized?: boolean };
    return () => new PubackGate(tlsConnect({ host, port, servername: host, ...(tls as object) }));
  }
  return undefined; // WebSockets: MQTT.js's own stream, one message at a time (see handleMessage)
}

/**
 * QoS 1 subscriber whose PUBACK means "in the ingest's fsync'd journal". Messages are handed to the
 * journal as they arrive; the PUBACK of each is held by the PubackGate until the group commit that covers
 * it, so many are in flight at once. When the journal is full, `enqueue` waits, MQTT.js stops reading,
 * and the broker keeps the rest in our persistent session (clean: false, fixed client id).
 */
export function startSubscriber(options: SubscriberOptions): IngestSubscriber {
  const log = options.logger;
  const clock = options.clock ?? Date.now;
  const url = new URL(options.url);
  // MQTT 3.1.1 has no shared subscriptions; on 5, clean: false is Clean Start 0, and without a Session
  // Expiry Interval the session would end with the connection.
  const shared = options.shareGroup ? { protocolVersion: 5 as const, properties: { sessionExpiryInterval: SHARED_SESSION_EXPIRY_SEC } } : { protocolVersion: 4 as const };
  const clientOptions: IClientOptions = {
    ...shared,
    clean: false,
    clientId: options.clientId ?? 'tsunagaru-ingest',
    username: options.username,
    password: options.password,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    // MQTT.js logs several debug lines per packet through `debug`, which costs a call and an `enabled`
    // check each even when off (~2 % of the ingest's CPU on live traffic, bench ingest-e2e profile).
    // DEBUG=mqttjs* still turns them on.
    ...(process.env.DEBUG?.includes('mqttjs') ? {} : { log: () => undefined }),
    ...options.mqttOptions,
  };
  const builder = gatedStreamBuilder(url, options.mqttOptions ?? {});
  /** The gate of the current connection (a new one per reconnect, so message ids never mix). */
  let gate: PubackGate | undefined;
  const client = builder
    ? new MqttClient((() => (gate = builder())) as unknown as ConstructorParameters<typeof MqttClient>[0], clientOptions)
    : mqtt.connect(options.url, clientOptions);
  let closing = false;

  client.handleMessage = (packet, done) => {
    const topic = String(packet.topic);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const current = gate;
    options.sink.enqueue(topic, payload, clock()).then(
      ({ durable }) => {
        // The connection changed while the journal made room: MQTT.js would send this PUBACK on the new
        // connection, past the gate. Send none; the broker redelivers the message there (a duplicate).
        if (current !== gate) return;
        const needsAck = packet.qos > 0 && packet.messageId !== undefined;
        // QoS 0 (Sparkplug's NDATA, issue 20): nothing to acknowledge and nothing the broker would resend, so
        // waiting for the fsync below would only cost one fsync per message (about 100 messages/s).
        if (!needsAck) return done();
        if (current) {
          current.hold(packet.messageId!, durable);
          return done();
        }
        // Without a gate: acknowledge only once durable (one message at a time). Not durable: drop the
        // connection, as the gate does, so the broker sends the message again after the reconnect.
        durable.then(
          () => done(),
          (err: Error) => {
            log.error({ event: 'journal_failed', err: err.message }, 'message not acknowledged: the journal failed');
            client.stream?.destroy();
          },
        );
      },
      (err: Error) => {
        // Not acknowledged: the broker keeps the message for the next session.
        if (!closing) log.error({ event: 'journal_failed', err: err.message }, 'message not acknowledged: the journal refused it');
      },
    );
  };

  const topics = subscriptionFilters(options.topics ?? INGEST_TOPICS, options.shareGroup);
  let subscribed = topics.length === 0;
  client.on('connect', (connack) => {
    subscribed = topics.length === 0;
    log.info({ event: 'mqtt_connected', url: options.url, clientId: clientOptions.clientId, shareGroup: options.shareGroup, sessionPresent: connack.sessionPresent }, 'ingest connected to the broker');
    if (topics.length === 0) return;
    client.subscribe(topics, { qos: 1 }, (err, granted) => {
      // MQTT.js 5 turns an MQTT 5 SUBACK refusal into an error carrying the packet.
      if (err) return log.error({ event: 'mqtt_subscribe_refused', topics, err: err.message }, 'subscribe failed: check the ingest service account ACL');
      // 0x80 on 3.1.1; on MQTT 5 every reason code ≥ 0x80 is a refusal (0x87 not authorised, 0x9E shared subscriptions not supported).
      const refused = (granted ?? []).filter((g) => (g.qos & 0x80) !== 0);
      if (refused.length > 0) return log.error({ event: 'mqtt_subscribe_refused', topics: refused.map((g) => g.topic) }, 'the broker refused a subscription: check the ingest service account ACL');
      subscribed = true;
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
    const authFailure = err.code === 4 || err.code === 5 || err.code === 134 || err.code === 135 || /not authori[sz]ed|bad user name or password/i.test(err.message);
    log.error({ event: 'mqtt_error', err: err.message }, authFailure ? 'the broker refused the ingest: check MQTT_USERNAME / MQTT_PASSWORD' : 'ingest MQTT error');
    if (authFailure && !client.connected) firstConnect.reject(new IngestError('INGEST_ERR_CONFIG', `the broker at ${options.url} refused the ingest's credentials: ${err.message}; check MQTT_USERNAME and MQTT_PASSWORD`));
  });

  return {
    client,
    ready,
    isConnected: () => client.connected,
    isSubscribed: () => client.connected && subscribed,
    heldAcks: () => gate?.held ?? 0,
    async close() {
      closing = true;
      // A stopped share-group member keeps its turns: mosquitto queues them in its persistent session
      // (README "Scale-out"). Leaving the group first hands them to the workers still running; what is
      // already queued for this session waits for its next start.
      if (options.shareGroup && client.connected && topics.length > 0) {
        await Promise.race([client.unsubscribeAsync(topics).catch((err: Error) => log.warn({ event: 'mqtt_unsubscribe_failed', err: err.message }, 'could not leave the share group before stopping')), new Promise((r) => setTimeout(r, 2000).unref())]);
      }
      await Promise.race([client.endAsync(false), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (!client.disconnected) await client.endAsync(true);
    },
  };
}
