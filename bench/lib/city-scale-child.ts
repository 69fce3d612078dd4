/**
 * The system under test of the city-scale suite, in a process of its own (its peak RSS is its own, and the
 * bench's SSE reader and alert publishers do not share its event loop): our broker and the ingest wired as
 * `npm start` wires them (embedded tap: PUBACK after the journal's fsync; DuckDB), with the meters of
 * scripts/bench-meters.ts provisioned secretless behind LPWA head-end gateways, plus bs-power plants whose
 * mains the bench switches to raise and clear alerts.
 *
 * Env: DATA_DIR, METERS, GATEWAYS, ALERT_DEVICES, TSUNAGARU_ADMIN_TOKEN. Writes DATA_DIR/gateways.json and
 * DATA_DIR/plants.json (secrets), prints `READY {"mqttUrl","httpUrl"}`, then a `STATS {json}` line every
 * 200 ms: messages received and stored, meter telemetry stored and its readings, dead letters, RSS.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBroker, MemoryDeviceRegistry } from '@tsunagaru/broker';
import { createEmbeddedTap, parseAlertRules, startIngestService } from '@tsunagaru/ingest';
import { headEndLayout } from '@tsunagaru/simulators';
import pino from 'pino';

const dataDir = process.env.DATA_DIR!;
const METERS = Number(process.env.METERS);
const GATEWAYS = Number(process.env.GATEWAYS);
const ALERT_DEVICES = Number(process.env.ALERT_DEVICES);
const token = process.env.TSUNAGARU_ADMIN_TOKEN!;

const logger = pino({ level: process.env.LOG_LEVEL || 'warn' }, pino.destination(2));
// scrypt N 1024 for the gateways' and plants' secrets: logins are not what this suite measures.
const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
// With the embedded tap the ingest's MQTT client still logs in (commands, health).
const ingestPassword = randomBytes(18).toString('base64url');
await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);
const gateways: Record<string, string> = {};
const layout = headEndLayout(METERS, GATEWAYS);
for (const g of layout) gateways[g.id] = (await registry.provision({ id: g.id, type: 'water-meter', attributes: { role: 'head-end', dma: g.dma } })).secret;
for (const g of layout) for (const m of g.meters) await registry.provision({ id: m, type: 'water-meter', attributes: { dma: g.dma, headEnd: g.id }, secret: null });
const plants: Record<string, string> = {};
for (let i = 0; i < ALERT_DEVICES; i++) {
  const id = `bs-city-${String(i).padStart(3, '0')}`;
  plants[id] = (await registry.provision({ id, type: 'bs-power', attributes: { site: `city-${i}`, battery: 'vrla' } })).secret;
}
writeFileSync(join(dataDir, 'gateways.json'), JSON.stringify(gateways));
writeFileSync(join(dataDir, 'plants.json'), JSON.stringify(plants));

let meterMessages = 0;
let meterReadings = 0;
const tap = createEmbeddedTap();
const broker = await createBroker({ registry, logger, beforePuback: tap.beforePuback });
const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
const mqttUrl = `mqtt://127.0.0.1:${port}`;
const ingest = await startIngestService({
  config: { dataDir, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: token },
  mqttPassword: ingestPassword,
  registry,
  logger,
  embedded: tap,
  // As in bench:alerts: flood and chattering suppression would (rightly) stop pushing this synthetic,
  // rapidly toggling traffic; the suite measures the path, not the suppression.
  alertRules: parseAlertRules({ lifecycle: { chatterTransitions: 1_000_000, floodAlerts: 1_000_000 } }),
  onOutcome: (o, ctx) => {
    if (o.kind !== 'stored' || ctx.message?.channel !== 'telemetry' || ctx.message.type !== 'water-meter') return;
    meterMessages++;
    // Readings as the contract counts them: every field of a sample except its time.
    for (const s of ctx.message.payload.samples as Array<Record<string, unknown>>) meterReadings += Object.keys(s).length - 1;
  },
});
process.stdout.write(`READY ${JSON.stringify({ mqttUrl, httpUrl: ingest.httpUrl })}\n`);

const timer = setInterval(() => {
  const c = ingest.pipeline.counters();
  const stats = { received: c.received, stored: c.byOutcome.stored, deadLetters: c.byOutcome['dead-letter'], meterMessages, meterReadings, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) };
  process.stdout.write(`STATS ${JSON.stringify(stats)}\n`);
}, 200);

process.on('SIGTERM', () => {
  clearInterval(timer);
  void (async () => {
    await ingest.close();
    await broker.close();
    await registry.close();
    process.exit(0);
  })();
});
