import type { DeviceRegistry } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { lastSeenFromStatus, startAlerting, type Alerting } from './alerting.js';
import { DEFAULT_ALERT_RULES, loadAlertRulesFile, type AlertRulesConfig } from './alerts/rules-config.js';
import { dmaMeters } from './water/balance.js';
import { WaterFigureKeeper } from './water/keeper.js';
import { balanceSettings, nightSettings } from './water/settings.js';
import { DuckDbReadingsExporter } from './storage/duckdb/readings-export.js';
import { buildApp } from './api/app.js';
import { CommandService } from './commands/command-service.js';
import { DuckDbCommandStore } from './storage/duckdb/command-store.js';
import { FileTokenStore, tokensPathFor } from './api/tokens.js';
import { auditPathFor, FileAuditLog } from './api/audit-log.js';
import type { IngestConfig } from './config.js';
import { openDurableIngest, type DurableIngest } from './durable-ingest.js';
import { startSubscriber, type IngestSubscriber } from './intake/mqtt-subscriber.js';
import type { EmbeddedTap } from './intake/embedded-tap.js';
import { loadStorageConfig, type StorageConfig } from './storage/store-config.js';
import type { Accepted } from './dispatch/outcome.js';
import { createIngestPipeline, type IngestPipeline, type PipelineOptions } from './drain/pipeline.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, type PipelineDeps } from './dispatch/steps.js';
import { startIntegrations, type Integrations } from './integrations/index.js';
import { openEmbeddedStore, type EmbeddedStore } from './storage/duckdb/index.js';

export interface IngestServiceDeps {
  config: Pick<IngestConfig, 'dataDir' | 'httpHost' | 'httpPort' | 'mqttUrl' | 'mqttUsername' | 'adminToken' | 'alertRulesFile' | 'httpTls' | 'mqttTlsCa'> &
    Partial<Pick<IngestConfig, 'shareGroup' | 'clientId' | 'alerts' | 'api' | 'duckdb' | 'maxClockSkewMs' | 'integrations' | 'history'>>;
  /** The ingest's own MQTT password (service account). */
  mqttPassword: string;
  registry: DeviceRegistry;
  logger: Logger;
  /** Broker address to hand to provisioned devices; defaults to config.mqttUrl. */
  mqttPublicUrl?: string;
  clock?: () => number;
  onOutcome?: PipelineOptions['onOutcome'];
  /** How long start waits for the first broker connection before going on without it. Default 10 s. */
  connectWaitMs?: number;
  /** Alert rules; default: config.alertRulesFile, else the built-in rules. */
  alertRules?: Readonly<AlertRulesConfig>;
  /** Store(s), journal bound and batching (STORE, INFLUX_*, JOURNAL_MAX_MB, …); default: DuckDB only. */
  storage?: StorageConfig;
  /**
   * Embedded mode (`npm start`): our broker hands every message to this tap before its PUBACK, and the
   * MQTT client only connects (for commands and health), subscribing to nothing.
   */
  embedded?: EmbeddedTap;
}

export interface IngestService {
  app: FastifyInstance;
  store: EmbeddedStore;
  pipeline: IngestPipeline;
  subscriber: IngestSubscriber;
  /** Journal, dispatcher, store batcher and completeness ledger. */
  durable: DurableIngest;
  alerting: Alerting;
  commands: CommandService;
  /** ChirpStack and Sparkplug (issue 20); undefined when neither is configured. */
  integrations: Integrations | undefined;
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * Starts the ingest: embedded store, pipeline, MQTT subscriber and REST API. If the broker is not up yet
 * the API still starts and the subscriber keeps retrying; if the broker refuses the credentials, start fails.
 */
export async function startIngestService(deps: IngestServiceDeps): Promise<IngestService> {
  const { config, logger } = deps;
  const clock = deps.clock ?? Date.now;
  // A wrong rules file stops the start with a message naming the field, before anything is opened.
  const configured = deps.alertRules ?? (config.alertRulesFile ? loadAlertRulesFile(config.alertRulesFile) : DEFAULT_ALERT_RULES);
  // INGEST_ALERTS=off: the engine still answers the API (from its table) but sees no message and every
  // rule is off, so its clock raises nothing (a share-group worker sees only part of each device's stream).
  const alertsOn = config.alerts ?? true;
  const rules = alertsOn ? configured : { ...configured, rules: Object.fromEntries(Object.entries(configured.rules).map(([id, r]) => [id, { ...r, enabled: false }])) as typeof configured.rules };
  // Device clocks: the pipeline refuses samples stamped further ahead of `clock` than this, "latest" never
  // shows one, and the rules forget state left by one before this check existed.
  const maxClockSkewMs = config.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  // How long each part of the start took, logged once up: a start slower than the operator's unit allows
  // (systemd, a container's health check) says where the time went.
  // `boot`: from the process's start to here (node, modules, the registry, the embedded broker).
  const phases: Record<string, number> = { boot: Math.round(performance.now()) };
  let started: { ms: number; phases: Record<string, number> } | undefined;
  let phaseStart = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };
  const store = await openEmbeddedStore(config.dataDir, {
    ...(config.duckdb ? { duckdb: config.duckdb } : {}),
    ...(config.history ? { history: config.history } : {}),
    latestNotAfter: () => clock() + maxClockSkewMs,
    // Rollups count a water meter towards the DMA it is provisioned in.
    attributes: (id) => deps.registry.getDevice(id)?.attributes,
    clock,
    log: (level, event, detail, message) => logger[level]({ event, ...detail }, message),
  });
  phase('store');
  // Its own connection: saving an alert must not queue behind the drainer's batch transactions.
  const alertsDb = await store.db.fork();
  const alerting = await startAlerting({ db: alertsDb, rules, devices: deps.registry, lastSeen: lastSeenFromStatus(store.operations), clock, maxClockSkewMs, logger: logger.child({ component: 'alerts' }), waterReads: store.api.water });
  phase('alerts');
  // Commands go out on the ingest's own MQTT client (QoS 1, never retained); a birth releases queued ones.
  const commands = new CommandService({
    store: await DuckDbCommandStore.open(store.db),
    publish: async (topic: string, payload: Buffer): Promise<void> => {
      // A LoRaWAN meter's command goes out as a ChirpStack downlink (integrations/).
      const viaIntegration: Promise<void> | undefined = integrations?.sendCommand(topic, payload);
      if (viaIntegration) return viaIntegration;
      await subscriber.client.publishAsync(topic, payload, { qos: 1, retain: false });
    },
    isOnline: async (id) => (await store.operations.getStatus(id))?.online === true,
    clock,
    logger: logger.child({ component: 'commands' }),
  });
  // Every DMA's daily figures of the last month, kept computed in the background (water/keeper.ts).
  const figureKeeper = new WaterFigureKeeper({
    water: store.api.water,
    meters: () => dmaMeters(deps.registry.listDevices()),
    settings: () => ({ balance: balanceSettings(alerting.engine.config.water), night: nightSettings(alerting.engine.config.water) }),
    clock,
    log: (level, detail, message) => logger[level]({ event: 'water_figures', ...detail }, message),
  });
  const storage = deps.storage ?? loadStorageConfig({});
  phase('commands');
  const durable = await openDurableIngest({
    dataDir: config.dataDir, store, storage, attributes: (id) => deps.registry.getDevice(id)?.attributes, logger,
    // The journal refusing (disk nearly full, or failing) blinds every rule: the ingest-disk rules say so.
    onRefusal: (r) => void alerting.engine.onIngestRefusal(r),
  });
  phase('journal');
  // Once at start: an alert left open by the last run clears if the disk is fine now.
  void alerting.engine.onIngestRefusal(durable.journal.refused ?? null);
  const pipelineDeps: PipelineDeps = { writer: durable.writer, operations: store.operations, getDevice: (id) => deps.registry.getDevice(id), clock, maxClockSkewMs, seen: (id, boot, seq) => durable.ledger.has(id, boot, seq) };
  // What the store batch decided, once durable: command acks, the state rules (a birth or death's verdict).
  const onOutcome: PipelineOptions['onOutcome'] = (outcome, ctx) => {
    commands.onOutcome(outcome);
    if (alertsOn && outcome.kind === 'state' && ctx.message) alerting.engine.onState(ctx.message, outcome);
    deps.onOutcome?.(outcome, ctx);
  };
  const pipeline = createIngestPipeline(pipelineDeps, { logger, onOutcome });
  // Readings reach the rules as soon as they are durable in the journal (the dispatcher), never behind the
  // store's backlog.
  durable.start({ pipeline, ...(alertsOn ? { onAccepted: (a: Accepted) => alerting.engine.onAccepted(a) } : {}) });
  const sink = durable.sink;
  // Converted ChirpStack and Sparkplug messages enter through the same intake sink (journal, then the dispatcher).
  const integrations: Integrations | undefined = config.integrations?.chirpstack || config.integrations?.sparkplug
    ? await startIntegrations({
        config: config.integrations,
        sink,
        db: store.db,
        registry: deps.registry,
        ingestMqtt: { url: config.mqttUrl, username: config.mqttUsername, password: deps.mqttPassword, ca: config.mqttTlsCa },
        knownCommand: async (id: string, cmdId: string): Promise<boolean> => (await commands.get(id, cmdId)) !== undefined,
        ...(alertsOn ? { onBattery: (id: string, pct: number) => void alerting.engine.onMeterBattery(id, pct) } : {}),
        logger,
        clock,
        ...(deps.embedded ? { embedded: true } : {}),
      })
    : undefined;
  // Attached once the integrations are up: what our broker receives on their topics meanwhile waits,
  // its PUBACK held, rather than reaching the journal unconverted.
  deps.embedded?.attach(durable.journal, integrations?.route);
  const subscriber = startSubscriber({
    url: config.mqttUrl,
    username: config.mqttUsername,
    password: deps.mqttPassword,
    // Our broker binds client ids to usernames (so nobody can kick a session by reusing its id); share-group
    // workers on mosquitto each need their own (INGEST_CLIENT_ID).
    clientId: config.clientId ?? config.mqttUsername,
    ...(config.shareGroup ? { shareGroup: config.shareGroup } : {}),
    logger,
    sink,
    // Receive times on the same clock as the rules judge silence with (a test's or a scenario's clock).
    clock,
    ...(deps.embedded ? { topics: [] } : {}),
    ...(config.mqttTlsCa ? { mqttOptions: { ca: config.mqttTlsCa } } : {}),
  });
  const app = await buildApp(
    {
      registry: deps.registry,
      // The API reads on connections of its own (store.api), never queued behind the drainer's batches.
      operations: store.api.operations,
      readings: store.api.readings,
      history: store.api.history,
      adminToken: config.adminToken,
      // Role tokens and the audit log live in DATA_DIR, shared with `npm run tokens` / `npm run devices`.
      tokens: new FileTokenStore(tokensPathFor(config.dataDir), config.adminToken),
      audit: new FileAuditLog(auditPathFor(config.dataDir)),
      clock,
      mqttPublicUrl: deps.mqttPublicUrl ?? config.mqttUrl,
      alerts: alerting.engine,
      ledger: durable.ledger,
      commands,
      ...(integrations ? { integrations } : {}),
      exports: new DuckDbReadingsExporter(store.db, store.api.pool, store.history.catalog),
      water: store.api.water,
      storeReaders: () => ({ pool: store.api.pool.stats(), open: store.db.readersOpen }),
      ...(config.api ? { settings: config.api } : {}),
      health: () => {
        const status = durable.status();
        // The embedded tap skips the commands it sees on a way in of its own (intake/sink.ts).
        const ingest = deps.embedded ? { ...status, intake: { skippedCommands: status.intake.skippedCommands + deps.embedded.sink.skippedCommands() } } : status;
        const healthy = subscriber.isConnected() && !ingest.journal.broken && ingest.drain.failures === 0 && !ingest.drain.halted && !ingest.dispatch.halted && (integrations?.healthy() ?? true);
        return {
          status: healthy ? 'ok' : 'degraded',
          mqtt: { connected: subscriber.isConnected(), subscribed: subscriber.isSubscribed(), url: config.mqttUrl, ...(config.shareGroup ? { shareGroup: config.shareGroup, clientId: config.clientId } : {}), heldAcks: subscriber.heldAcks(), ...(deps.embedded ? { embedded: true } : {}) },
          store: { kind: storage.stores.join(','), path: store.path, waterFigures: figureKeeper.status() },
          alerts: { ...alerting.engine.restoreStatus(), ...(alerting.water ? { water: alerting.water.status() } : {}) },
          counters: pipeline.counters(),
          ingest,
          ...(integrations ? { integrations: integrations.status() } : {}),
          ...(started ? { started } : {}),
        };
      },
    },
    logger,
    config.httpTls,
  );
  const closeAll = async () => {
    deps.embedded?.detach();
    figureKeeper.stop();
    await integrations?.close().catch((err: unknown) => logger.warn({ err }, 'closing the integrations failed'));
    await subscriber.close().catch((err: unknown) => logger.warn({ err }, 'closing the MQTT subscriber failed'));
    await durable.close().catch((err: unknown) => logger.warn({ err }, 'closing the journal and stores failed'));
    await app.close();
    await alerting.close().catch((err: unknown) => logger.warn({ err }, 'closing the alert engine failed'));
    await alertsDb.close();
    await store.close();
  };
  try {
    const waitMs = deps.connectWaitMs ?? 10_000;
    phase('api');
    const waited = await Promise.race([subscriber.ready.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), waitMs).unref())]);
    if (!waited) logger.warn({ event: 'mqtt_not_connected', url: config.mqttUrl }, `no broker at ${config.mqttUrl} yet; the API is up and the ingest keeps retrying`);
    phase('mqtt');
    const address = await app.listen({ host: config.httpHost, port: config.httpPort });
    phase('listen');
    // Once up: the maintenance's first pass may close a day (a minute for a 130,000-meter city at the
    // default memory bound) on the store's connection, which the start's own reads and tables queued behind
    // (the commands' table waited 3.4 s for a close that failed).
    store.maintenance.start();
    figureKeeper.start();
    const { boot, ...own } = phases;
    const total = Object.values(own).reduce((a, b) => a + b, 0);
    started = { ms: total, phases };
    logger.info({ event: 'ingest_started', ms: total, phases }, `ingest started in ${(total / 1000).toFixed(1)} s, the process up ${((boot! + total) / 1000).toFixed(1)} s (${Object.entries(own).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')})`);
    return { app, store, pipeline, subscriber, durable, alerting, commands, integrations, httpUrl: address, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
