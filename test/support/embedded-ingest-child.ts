/**
 * Child process for fault tests: our broker and the ingest in one process, exactly as `npm start` wires
 * them (embedded tap: PUBACK after the journal's fsync), without the simulated fleet. Settings from the
 * environment like `npm start` (DATA_DIR, MQTT_PORT, HTTP_PORT, TSUNAGARU_ADMIN_TOKEN, STORE, …).
 * Prints one line `READY {"mqttUrl","httpUrl"}` when up. Meant to be killed (SIGKILL) and started again.
 */
import { randomBytes } from 'node:crypto';
import { brokerEnv, createBroker, FileDeviceRegistry, parseBrokerEnv, registryPathFor } from '@tsunagaru/broker';
import { createEmbeddedTap, loadIngestConfig, startIngestService } from '@tsunagaru/ingest';
import pino from 'pino';

const config = loadIngestConfig();
const logger = pino({ level: process.env.LOG_LEVEL || 'warn' }, pino.destination(2));
const registry = await FileDeviceRegistry.open({ path: registryPathFor(config.dataDir), logger });
const password = randomBytes(24).toString('base64url');
await registry.upsertService(config.mqttUsername, 'ingest', password);
const tap = createEmbeddedTap();
// PUBLISH_LIMITS=off lifts the per-device rate limits (the benchmark's devices publish far above them).
const broker = await createBroker({ registry, logger, beforePuback: tap.beforePuback, ...(process.env.PUBLISH_LIMITS === 'off' ? { publishLimits: false as const } : {}) });
const { port } = await broker.listen({ port: parseBrokerEnv({ MQTT_PORT: brokerEnv.MQTT_PORT }, process.env).MQTT_PORT ?? 0, host: '127.0.0.1' });
const mqttUrl = `mqtt://127.0.0.1:${port}`;
const ingest = await startIngestService({ config: { ...config, mqttUrl }, mqttPassword: password, registry, logger, storage: config.storage, embedded: tap });
process.stdout.write(`READY ${JSON.stringify({ mqttUrl, httpUrl: ingest.httpUrl })}\n`);
process.on('SIGTERM', () => {
  void (async () => {
    await ingest.close();
    await broker.close();
    await registry.close();
    process.exit(0);
  })();
});
