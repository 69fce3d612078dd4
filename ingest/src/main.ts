/**
 * Standalone ingest (`npm run ingest`): subscribes to a broker (ours or any MQTT 3.1.1/5 broker such as
 * mosquitto), stores into the embedded store in DATA_DIR and serves the REST API.
 */
import { randomBytes } from 'node:crypto';
import { FileDeviceRegistry, registryPathFor, safeDestination } from '@tsunagaru/broker';
import pino from 'pino';
import { loadIngestConfig } from './config.js';
import { startIngestService } from './service.js';

async function main(): Promise<void> {
  const config = loadIngestConfig();
  // Never blocks or crashes on a full disk (stdout redirected to a file): lines are dropped and counted.
  const logger = pino({ level: config.logLevel, base: { service: 'ingest' } }, safeDestination({ dest: 1 }));
  // The ingest is the registry's one writer (provisioning); a standalone broker follows it read-only, and
  // so do the workers of a share group (the file supports one writer): they only look devices up.
  const worker = Boolean(config.shareGroup);
  const registry = await FileDeviceRegistry.open({ path: registryPathFor(config.dataDir), readOnly: worker, logger });
  // With our broker on the same DATA_DIR, the service account is registered here; with another broker
  // (mosquitto), MQTT_PASSWORD must match that broker's account (a worker's config requires it).
  const password = config.mqttPassword ?? randomBytes(24).toString('base64url');
  if (!worker) await registry.upsertService(config.mqttUsername, 'ingest', password);
  const service = await startIngestService({ config, mqttPassword: password, registry, logger, storage: config.storage });
  logger.info({ event: 'ingest_started', http: service.httpUrl, mqtt: config.mqttUrl, dataDir: config.dataDir, clientId: config.clientId, shareGroup: config.shareGroup, alerts: config.alerts }, 'ingest running');
  // Allowed (INGEST_ALERTS=on), but each worker sees only a round-robin share of every device's messages.
  if (config.shareGroup && config.alerts) logger.warn({ event: 'alerts_on_shared', shareGroup: config.shareGroup }, 'alerts are on in a share group: rules see only this worker\'s share of each device (ingest/README.md "Scale-out")');
  if (config.adminTokenGenerated) process.stdout.write(`\nAPI token (generated; set TSUNAGARU_ADMIN_TOKEN to fix it): ${config.adminToken}\n\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'ingest_stopping', signal }, 'shutting down');
    await service.close();
    await registry.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`tsunagaru ingest: ${(err as Error).message}\n`);
  process.exit(1);
});
