/**
 * Standalone broker: `npm run broker`. Opens the file registry under DATA_DIR read-only (the ingest
 * is the writer; new devices and rotations reach this process through the file watcher) and
 * serves MQTT on MQTT_HOST:MQTT_PORT until SIGINT/SIGTERM.
 */
import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { createBroker } from './broker.js';
import { openRedisCluster, type BrokerCluster } from './cluster.js';
import { limitsOf, loadBrokerConfig, type BrokerConfig } from './config.js';
import { BrokerError, RegistryError } from './errors.js';
import { FileDeviceRegistry, registryPathFor } from './registry/file-registry.js';
import { safeDestination } from './safe-destination.js';

export async function startStandaloneBroker(config: BrokerConfig, logger: Logger): Promise<{ port: number; stop: () => Promise<void> }> {
  const path = registryPathFor(config.dataDir);
  const registry = await FileDeviceRegistry.open({ path, readOnly: true, logger });
  logger.info({ event: 'registry_opened', path, devices: registry.listDevices().length }, 'device registry opened');
  let cluster: BrokerCluster | undefined;
  if (config.cluster) {
    try {
      cluster = await openRedisCluster({ redisUrl: config.cluster.redisUrl, brokerId: config.brokerId!, heartbeatIntervalMs: config.cluster.heartbeatIntervalMs, logger });
    } catch (err) {
      await registry.close();
      throw err;
    }
  } else {
    logger.info({ event: 'broker_cluster_mode', mode: 'single', brokerId: config.brokerId }, 'single node: sessions, retained messages and wills in memory (set BROKER_REDIS_URL to share them between nodes)');
  }
  const broker = await createBroker({
    ...limitsOf(config), // every limit variable that is set (config.ts brokerEnv)
    registry,
    logger,
    ...(cluster ? { cluster } : config.brokerId ? { id: config.brokerId } : {}),
  }).catch(async (err: unknown) => {
    cluster?.disconnect();
    await registry.close();
    throw err;
  });
  try {
    const { port, host } = await broker.listen({ port: config.port, host: config.host });
    logger.info({ event: 'broker_ready', host, port }, `MQTT broker listening on ${host}:${port}`);
    if (config.tls) {
      const tls = await broker.listen({ port: config.tls.port, host: config.tls.host, tls: config.tls.options });
      logger.info({ event: 'broker_ready', host: tls.host, port: tls.port, tls: true }, `mqtts listening on ${tls.host}:${tls.port} (client certificates: ${config.tls.options.clientCertificates})`);
    }
    if (!isLoopback(config.host)) logger.warn({ event: 'mqtt_plain_exposed', host: config.host }, `plain MQTT (no TLS) listens on ${config.host}: secrets cross the network in clear; prefer mqtts (MQTT_TLS_CERT/MQTT_TLS_KEY)`);
    return {
      port,
      stop: async () => {
        const closing = broker.close().then(() => cluster?.close());
        // With Redis gone, aedes waits for its Redis connections to quit, which never happens: the
        // process exits after this anyway, so stop waiting after 5 s.
        let timer: NodeJS.Timeout | undefined;
        const gaveUp = await Promise.race([closing.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 5000)))]);
        clearTimeout(timer);
        if (gaveUp) {
          logger.warn({ event: 'broker_stop_timeout' }, 'Redis unreachable: stopped without closing the cluster state cleanly');
          cluster?.disconnect();
        }
        await registry.close();
      },
    };
  } catch (err) {
    await broker.close();
    await cluster?.close();
    await registry.close();
    throw err;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

async function main(): Promise<void> {
  let config: BrokerConfig;
  try {
    config = loadBrokerConfig(process.env);
  } catch (err) {
    // Config errors are for a human at a terminal: one line naming the variable, no stack.
    process.stderr.write(`broker: ${(err as Error).message}\n`);
    process.exit(2);
  }
  // Never blocks or crashes on a full disk (stdout redirected to a file): lines are dropped and counted.
  const logger = pino({ level: config.logLevel, base: { service: 'broker' } }, safeDestination({ dest: 1 }));
  const running = await startStandaloneBroker(config, logger);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ event: 'broker_stopping', signal }, 'shutting down');
    running.stop().then(
      // Exit once the last line has left: the log is written asynchronously, and exit() would drop it.
      () => logger.flush(() => process.exit(0)),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    const message = err instanceof BrokerError || err instanceof RegistryError ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
    process.stderr.write(`broker: ${message}\n`);
    process.exit(1);
  });
}
