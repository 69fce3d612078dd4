/**
 * Real devices in: LoRaWAN meters through ChirpStack v4 and Sparkplug B 3.0 edge nodes (issue 20).
 * Each integration has an MQTT connection of its own (to our broker, or to an external one), turns what
 * it receives into contract v1 messages and hands them to the intake sink: the same durable path, validation
 * and storage as a device speaking the contract. See docs/integrations.md.
 */
import { parseChirpStackCommandTopic, parseChirpStackEventTopic, parseSparkplugStateTopic, parseSparkplugTopic } from '@tsunagaru/broker';
import { parseTopic, type Command, type DeviceRegistry } from '@tsunagaru/firmware-contracts';
import type { Logger } from 'pino';
import { startSubscriber, type IngestSubscriber } from '../intake/mqtt-subscriber.js';
import { acknowledgeAtOnce, type MessageSink } from '../intake/sink.js';
import type { IntakeRoute } from '../intake/embedded-tap.js';
import type { DuckDbDatabase } from '../storage/duckdb/database.js';
import { DuckDbOperationsStore } from '../storage/duckdb/operations.js';
import { ChirpStackAdapter, type ChirpStackStats, type LoraDeviceView } from './chirpstack/adapter.js';
import type { IntegrationMqtt, IntegrationsConfig } from './config.js';
import { deadLettersTo, type IntegrationOutput } from './shared.js';
import { SparkplugHost, type SparkplugStats } from './sparkplug/host.js';
import { IntegrationStateStore } from '../storage/duckdb/integration-state-store.js';

export { loadIntegrationsConfig, type IntegrationsConfig, type ChirpStackConfig, type SparkplugConfig } from './config.js';
export { DEV_EUI_ATTRIBUTE, type LoraDeviceView } from './chirpstack/adapter.js';
export { SPARKPLUG_ATTRIBUTES } from './sparkplug/host.js';

export interface IntegrationsDeps {
  config: IntegrationsConfig;
  /** The intake sink (intake/sink.ts): the same way into the journal as the MQTT subscriber's. */
  sink: MessageSink;
  /**
   * The embedded store. The integrations use a connection of their own (a fork): a Sparkplug birth or a
   * LoRaWAN join saves its boot before it is journalled, and behind the drainer's batch transactions that
   * took seconds under load, time in which the MQTT client reads nothing (with our broker in the same
   * process, a stalled reader also delays what the broker delivers, e.g. a rebirth request).
   */
  db: DuckDbDatabase;
  registry: DeviceRegistry;
  /** The ingest's own broker connection settings: what an integration uses unless it names another broker. */
  ingestMqtt: { url: string; username: string; password: string; ca?: string | undefined };
  knownCommand: (deviceId: string, cmdId: string) => Promise<boolean>;
  /** A LoRaWAN meter's battery from ChirpStack's status event: the alert rules' low battery. */
  onBattery?: (deviceId: string, batteryPct: number) => void;
  logger: Logger;
  clock: () => number;
  /**
   * Embedded mode (`npm start`): our broker hands every PUBLISH to the ingest before its PUBACK
   * (intake/embedded-tap.ts). An integration on our broker then takes its traffic through `route`, so the
   * PUBACK to ChirpStack or the edge node waits for the journal, and subscribes to none of it.
   */
  embedded?: boolean;
}

export interface IntegrationsStatus {
  chirpstack?: { url: string; connected: boolean; subscribed: boolean; topics: string[] } & ChirpStackStats;
  sparkplug?: { url: string; hostId: string; connected: boolean; nodes: ReturnType<SparkplugHost['nodes']> } & SparkplugStats;
}

export interface Integrations {
  /**
   * A contract command for a device reached through an integration: sent its way (a ChirpStack downlink,
   * a Sparkplug NCMD/DCMD), or answered with a failed ack; undefined when the device is not an integration's (publish it as usual).
   */
  sendCommand(topic: string, payload: Buffer): Promise<void> | undefined;
  lorawanDevice(deviceId: string): LoraDeviceView | undefined;
  /**
   * Embedded mode: where a PUBLISH on an integration topic of our broker goes before its PUBACK (the
   * ChirpStack adapter, the Sparkplug host, or nowhere for the ingest's own downlinks, commands and
   * STATE); undefined for any other topic.
   */
  route: IntakeRoute;
  status(): IntegrationsStatus;
  /** Every configured integration is connected to its broker (health is degraded otherwise). */
  healthy(): boolean;
  close(): Promise<void>;
}

function connection(own: IntegrationMqtt, ingest: IntegrationsDeps['ingestMqtt'], suffix: string) {
  const external = own.url !== undefined && own.url !== ingest.url;
  return {
    url: own.url ?? ingest.url,
    username: own.username ?? (external ? '' : ingest.username),
    password: own.password ?? (external ? '' : ingest.password),
    // Our broker binds client ids to usernames: `<username>:<suffix>` is the ingest's own.
    clientId: own.clientId ?? `${own.username ?? ingest.username}:${suffix}`,
    ca: own.ca ?? (external ? undefined : ingest.ca),
  };
}

export async function startIntegrations(d: IntegrationsDeps): Promise<Integrations> {
  const db = await d.db.fork();
  const output: IntegrationOutput = { sink: d.sink, deadLetter: deadLettersTo(new DuckDbOperationsStore(db)) };
  const state = await IntegrationStateStore.open(db);
  let chirpstack: { adapter: ChirpStackAdapter; subscriber: IngestSubscriber; url: string; topics: string[] } | undefined;
  let sparkplug: { host: SparkplugHost; subscriber: IngestSubscriber; url: string } | undefined;
  /** Integrations whose broker is ours while the broker hands its messages over before the PUBACK. */
  let tapped: { chirpstack?: ChirpStackAdapter; sparkplug?: SparkplugHost } = {};

  try {
    const cs = d.config.chirpstack;
    if (cs) {
      const logger = d.logger.child({ integration: 'chirpstack' });
      const adapter = await ChirpStackAdapter.open({ registry: d.registry, mappings: cs.mappings, output, state, knownCommand: d.knownCommand, ...(d.onBattery ? { onBattery: d.onBattery } : {}), logger, clock: d.clock });
      const conn = connection(cs.mqtt, d.ingestMqtt, 'chirpstack');
      const viaTap = d.embedded === true && conn.url === d.ingestMqtt.url;
      const topics = viaTap ? [] : cs.applicationIds.length > 0 ? cs.applicationIds.map((id) => `application/${id}/device/+/event/+`) : ['application/+/device/+/event/+'];
      if (viaTap) tapped = { ...tapped, chirpstack: adapter };
      // A persistent session (clean: false, fixed client id) with PUBACKs after the journal's fsync:
      // what ChirpStack publishes at QoS 1 while the ingest is down waits in the broker.
      const subscriber = startSubscriber({
        url: conn.url,
        username: conn.username,
        password: conn.password,
        clientId: conn.clientId,
        topics,
        logger,
        sink: adapter,
        clock: d.clock,
        // Through the tap it only publishes downlinks: a clean session, so no subscription of an earlier
        // run (a persistent broker session) delivers events a second time.
        ...(conn.ca || viaTap ? { mqttOptions: { ...(conn.ca ? { ca: conn.ca } : {}), ...(viaTap ? { clean: true } : {}) } } : {}),
      });
      adapter.attachPublisher(async (topic, payload) => {
        await subscriber.client.publishAsync(topic, payload, { qos: 1, retain: false });
      });
      chirpstack = { adapter, subscriber, url: conn.url, topics };
      logger.info({ event: 'chirpstack_started', url: conn.url, topics, beforePuback: viaTap, mappings: [...cs.mappings.keys()] }, `ChirpStack integration listening on ${conn.url}`);
    }
    const sp = d.config.sparkplug;
    if (sp) {
      const logger = d.logger.child({ integration: 'sparkplug' });
      const host = await SparkplugHost.open({ registry: d.registry, mappings: sp.mappings, output, state, hostId: sp.hostId, reorderTimeoutMs: sp.reorderTimeoutMs, logger, clock: d.clock });
      const conn = connection(sp.mqtt, d.ingestMqtt, 'sparkplug');
      const viaTap = d.embedded === true && conn.url === d.ingestMqtt.url;
      // Through the tap the host still subscribes to its own STATE (a retained stale will after a restart).
      const filters = viaTap ? [] : sp.groups.length > 0 ? sp.groups.map((g) => `spBv1.0/${g}/#`) : ['spBv1.0/+/#'];
      if (viaTap) tapped = { ...tapped, sparkplug: host };
      // Sparkplug 3.0: a host application connects with Clean Session and its STATE death as the will;
      // edge nodes resend what the host missed through a rebirth, not through a broker session.
      const subscriber = startSubscriber({
        url: conn.url,
        username: conn.username,
        password: conn.password,
        clientId: conn.clientId,
        topics: [],
        logger,
        sink: host,
        clock: d.clock,
        mqttOptions: { clean: true, will: host.will(d.clock()), ...(conn.ca ? { ca: conn.ca } : {}) },
      });
      host.attach(subscriber.client, filters);
      sparkplug = { host, subscriber, url: conn.url };
      logger.info({ event: 'sparkplug_started', url: conn.url, filters, beforePuback: viaTap, hostId: sp.hostId, mappings: [...sp.mappings.keys()] }, `Sparkplug host ${sp.hostId} listening on ${conn.url}`);
    }
  } catch (err) {
    await chirpstack?.subscriber.close();
    await sparkplug?.subscriber.close();
    await db.close();
    throw err;
  }

  return {
    sendCommand(topic, payload) {
      if (!chirpstack && !sparkplug) return undefined;
      const t = parseTopic(topic);
      if (!t.ok || t.topic.channel !== 'cmd') return undefined;
      const device = d.registry.getDevice(t.topic.deviceId);
      if (!device) return undefined;
      const cmd = JSON.parse(payload.toString('utf8')) as Command;
      return chirpstack?.adapter.sendCommand(device, cmd, d.clock()) ?? sparkplug?.host.sendCommand(device, cmd, d.clock());
    },
    lorawanDevice: (id) => chirpstack?.adapter.view(id),
    route: (topic) => routeOnOurBroker(topic, tapped, d.config),
    healthy: () => (!chirpstack || chirpstack.subscriber.isSubscribed()) && (!sparkplug || sparkplug.subscriber.isConnected()),
    status() {
      return {
        ...(chirpstack ? { chirpstack: { url: chirpstack.url, connected: chirpstack.subscriber.isConnected(), subscribed: chirpstack.subscriber.isSubscribed(), topics: chirpstack.topics, ...chirpstack.adapter.stats() } } : {}),
        ...(sparkplug ? { sparkplug: { url: sparkplug.url, hostId: d.config.sparkplug!.hostId, connected: sparkplug.subscriber.isConnected(), nodes: sparkplug.host.nodes(), ...sparkplug.host.stats() } } : {}),
      };
    },
    async close() {
      if (sparkplug) {
        await sparkplug.host.goOffline();
        await sparkplug.subscriber.close();
      }
      if (chirpstack) {
        chirpstack.adapter.close();
        await chirpstack.subscriber.close();
      }
      await db.close();
    },
  };
}

/**
 * Embedded mode: the sink for a PUBLISH on our broker before its PUBACK. Events of the applications and
 * groups the ingest listens to go to their converter; the ingest's own downlinks, NCMD/DCMD and STATE are
 * acknowledged at once (they are not data, and the converter's queue may be waiting for that very PUBACK:
 * a command goes out from inside it). Anything else (an integration that is off, or listens elsewhere)
 * goes to the journal, which dead-letters it with the reason.
 */
function routeOnOurBroker(topic: string, tapped: { chirpstack?: ChirpStackAdapter; sparkplug?: SparkplugHost }, config: IntegrationsConfig): MessageSink | undefined {
  if (topic.startsWith('application/')) {
    if (!tapped.chirpstack) return undefined;
    if (parseChirpStackCommandTopic(topic)) return acknowledgeAtOnce;
    const ev = parseChirpStackEventTopic(topic);
    const apps = config.chirpstack?.applicationIds ?? [];
    return ev && (apps.length === 0 || apps.includes(ev.applicationId)) ? tapped.chirpstack : undefined;
  }
  if (topic.startsWith('spBv1.0/')) {
    if (!tapped.sparkplug) return undefined;
    if (parseSparkplugStateTopic(topic) !== undefined) return acknowledgeAtOnce;
    const t = parseSparkplugTopic(topic);
    if (t && (t.verb === 'NCMD' || t.verb === 'DCMD')) return acknowledgeAtOnce;
    const groups = config.sparkplug?.groups ?? [];
    return t && (groups.length === 0 || groups.includes(t.groupId)) ? tapped.sparkplug : undefined;
  }
  return undefined;
}
