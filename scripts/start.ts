/**
 * `npm start`: the whole system in one process, nothing external. Broker + ingest on the embedded store
 * + REST API + a simulated fleet. Prints where to look and keeps running; Ctrl-C shuts down cleanly.
 *
 * Also the production entry point (docker-compose.yml) with SIMULATORS=off and LOG_FILE=-: broker and
 * ingest in one process is the configuration where a device's PUBACK waits for the journal's fsync.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createBroker, FileDeviceRegistry, registryPathFor, safeDestination } from '@tsunagaru/broker';
import { createEmbeddedTap, startIngestService } from '@tsunagaru/ingest';
import pino from 'pino';
import { loadStartConfig } from './start-env.js';
import { resolveTls, tlsBannerLines } from './start-tls.js';
import { ensureSimulatorCredentials } from './sim-credentials.js';
import { startFleet, defaultFleet } from '@tsunagaru/simulators';

async function main(): Promise<void> {
  // The whole environment, checked once before anything starts (start-env.ts): the broker's variables as
  // `npm run broker` reads them (listener, every limit, BROKER_ID), the ingest's, and this script's own.
  const start = loadStartConfig(process.env);
  const config = start.ingest;
  const mqttPort = start.broker.port;
  const mqttHost = start.broker.host;
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  // LOG_FILE=- sends the structured log to stdout (containers); otherwise it goes to a file and the
  // terminal gets warnings and the status lines below.
  const logToStdout = start.logFile === '-';
  const logFile = logToStdout ? 'stdout' : resolve(start.logFile ?? join(dataDir, 'tsunagaru.log'));
  // The log usually sits on the data disk: when that fills up, log lines are dropped and counted
  // (safe-destination.ts), never retried in a loop that freezes the process or thrown as an unhandled ENOSPC.
  const logDest = safeDestination({ dest: logToStdout ? 1 : logFile });
  const logger = logToStdout
    ? pino({ level: config.logLevel }, logDest)
    : pino(
        { level: config.logLevel },
        pino.multistream([
          { level: config.logLevel === 'silent' ? 'silent' : 'debug', stream: logDest },
          { level: 'warn', stream: safeDestination({ dest: 2 }) },
        ]),
      );
  // The banner and status lines: a terminal or pipe that fails (closed, or a file on a full disk) must not
  // take the system down with it.
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);

  const registry = await FileDeviceRegistry.open({ path: registryPathFor(dataDir), logger: logger.child({ component: 'registry' }) });
  const servicePassword = randomBytes(24).toString('base64url');
  await registry.upsertService(config.mqttUsername, 'ingest', servicePassword);

  // Embedded: every device message is fsync'd in the ingest's journal before the broker's PUBACK.
  const tap = createEmbeddedTap();
  const broker = await createBroker({ ...start.broker.limits, ...(start.broker.brokerId ? { id: start.broker.brokerId } : {}), registry, logger: logger.child({ service: 'broker' }), beforePuback: tap.beforePuback });
  const { port } = await broker.listen({ port: mqttPort, host: mqttHost });
  logger.info({ event: 'broker_ready', port, host: mqttHost, brokerId: broker.aedes.id, limits: start.broker.limits }, `MQTT broker ${broker.aedes.id} listening on ${mqttHost}:${port}`);
  const mqttUrl = `mqtt://${mqttHost === '0.0.0.0' ? '127.0.0.1' : mqttHost}:${port}`;
  // TLS (start-tls.ts): mqtts beside the plain loopback port, HTTPS for the API when asked; a development
  // certificate is generated in DATA_DIR/tls with openssl when no certificate files are given.
  const tls = await resolveTls(start.env, dataDir, config.httpTls);
  const mqtts = tls.mqtt ? await broker.listen({ port: tls.mqtt.port, host: mqttHost, tls: tls.mqtt.options }) : undefined;

  const ingest = await startIngestService({
    config: { ...config, mqttUrl, httpTls: tls.http },
    mqttPassword: servicePassword,
    registry,
    logger: logger.child({ service: 'ingest' }),
    storage: config.storage,
    embedded: tap,
  });

  const fleetSpec = start.simulators ? defaultFleet() : [];
  const secrets = fleetSpec.length > 0 ? await ensureSimulatorCredentials(registry, fleetSpec, join(dataDir, 'simulators', 'credentials.json')) : {};
  const fleet = fleetSpec.length > 0 ? await startFleet({ url: mqttUrl, devices: fleetSpec, secrets, logger: logger.child({ service: 'simulators' }) }) : undefined;

  const api = `${ingest.httpUrl}/api/v1`;
  process.stdout.write(
    [
      '',
      'Tsunagaru is running',
      `  MQTT broker  ${mqttUrl}   (devices log in with their id and secret)`,
      ...tlsBannerLines(tls, mqtts?.port, mqttHost),
      `  REST API     ${api}`,
      `  API docs     ${ingest.httpUrl}/api/docs`,
      `  API token    ${config.adminToken}${config.adminTokenGenerated ? '   (generated; set TSUNAGARU_ADMIN_TOKEN to choose one)' : ''}`,
      `  Data         ${dataDir}   (log: ${logFile})`,
      `  Simulators   ${fleet ? `${fleetSpec.length} devices` : 'off'}`,
      '',
      `Try:  curl -H "Authorization: Bearer ${config.adminToken}" ${api}/devices`,
      'Ctrl-C stops.',
      '',
    ].join('\n'),
  );

  const status = setInterval(() => {
    const c = ingest.pipeline.counters();
    const sims = fleet ? `simulated devices connected ${fleet.stats().connected}/${fleetSpec.length} · ` : '';
    const dropped = logDest.stats().droppedLines;
    process.stdout.write(
      `[${new Date().toISOString()}] ${sims}messages ${c.received} · stored ${c.byOutcome.stored} · duplicates ${c.byOutcome.duplicate} · dead letters ${c.byOutcome['dead-letter']} · storage retries ${c.storageErrors}${dropped > 0 ? ` · log lines dropped ${dropped} (${logDest.stats().lastError})` : ''}\n`,
    );
  }, 15_000);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(status);
    process.stdout.write(`\n${signal}: stopping simulators, ingest and broker…\n`);
    await fleet?.stop();
    await ingest.close();
    await broker.close();
    await registry.close();
    // Exit only once the last line has left: writes to a pipe are asynchronous and exit() drops them.
    logger.flush(() => process.stdout.write('stopped cleanly\n', () => process.exit(0)));
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`tsunagaru: ${(err as Error).message}\n`);
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') process.stderr.write('A port is taken: set MQTT_PORT, MQTTS_PORT or HTTP_PORT to a free one (MQTTS_PORT=off: no mqtts).\n');
  process.exit(1);
});
