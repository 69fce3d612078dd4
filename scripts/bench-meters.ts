/**
 * `npm run bench:meters`: N water meters (default 130,000) behind LPWA head-end gateways, one reading cycle
 * each, through our broker and the ingest (DuckDB) on this machine. Broker + ingest run in this process
 * (memory registry: meters provisioned with `secret: null`, no scrypt per meter; gateways with secrets);
 * the simulator runs as `npm run sim -- --meters N …` in a child process. Prints rate, CPU and peak RSS
 * of both. Env: BENCH_METERS (130000), BENCH_GATEWAYS (65), BENCH_CYCLES (1).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { createBroker, MemoryDeviceRegistry } from '@tsunagaru/broker';
import { startIngestService } from '@tsunagaru/ingest';
import { headEndLayout } from '@tsunagaru/simulators';
import { makeTempDir } from '../test/support/temp-dir.js';

const METERS = Number(process.env.BENCH_METERS ?? 130_000);
const GATEWAYS = Number(process.env.BENCH_GATEWAYS ?? 65);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 1);
const total = METERS * CYCLES;

const peakRssMb = () => Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024);
const logger = pino({ level: 'warn' }, pino.destination(2));
const dir = makeTempDir('bench-meters');
const registry = new MemoryDeviceRegistry();
const ingestPassword = randomBytes(18).toString('base64url');
await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);

const layout = headEndLayout(METERS, GATEWAYS);
let t = Date.now();
const secrets: Record<string, string> = {};
for (const g of layout) secrets[g.id] = (await registry.provision({ id: g.id, type: 'water-meter', attributes: { role: 'head-end', dma: g.dma } })).secret;
for (const g of layout) for (const m of g.meters) await registry.provision({ id: m, type: 'water-meter', attributes: { dma: g.dma, headEnd: g.id }, secret: null });
console.log(`provisioned ${layout.length} gateways (scrypt each) and ${METERS} meters (secret: null) in ${((Date.now() - t) / 1000).toFixed(1)} s`);

const broker = await createBroker({ registry, logger });
const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
const url = `mqtt://127.0.0.1:${port}`;
const ingest = await startIngestService({
  config: { dataDir: dir.path, httpHost: '127.0.0.1', httpPort: 0, mqttUrl: url, mqttUsername: 'tsunagaru-ingest', adminToken: randomBytes(24).toString('hex') },
  mqttPassword: ingestPassword, registry, logger,
});
const credentials = join(dir.path, 'gateways.json');
writeFileSync(credentials, JSON.stringify(secrets));

const cpu0 = process.cpuUsage();
t = Date.now();
const args = ['--import', 'tsx', 'simulators/src/main.ts', '--meters', String(METERS), '--gateways', String(GATEWAYS), '--cycles', String(CYCLES), '--credentials', credentials, '--url', url];
console.log(`$ npm run sim -- ${args.slice(3).join(' ')}`);
const child = spawn(process.execPath, args, { stdio: 'inherit' });
const ticker = setInterval(() => {
  const c = ingest.pipeline.counters();
  console.log(`[ingest] received ${c.received}  stored ${c.byOutcome.stored}  dead-letter ${c.byOutcome['dead-letter']}  rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`);
}, 10_000);
const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
const simSec = (Date.now() - t) / 1000;
const settled = () => {
  const c = ingest.pipeline.counters().byOutcome;
  return c.stored + c.duplicate + c['dead-letter'] >= total;
};
while (!settled() && Date.now() - t < 30 * 60_000) await new Promise((r) => setTimeout(r, 200));
clearInterval(ticker);
const sec = (Date.now() - t) / 1000;
const cpu = process.cpuUsage(cpu0);
const c = ingest.pipeline.counters();
console.log(
  `broker+ingest: ${c.byOutcome.stored} of ${total} readings stored (dead letters ${c.byOutcome['dead-letter']}) in ${sec.toFixed(1)} s = ${Math.round(c.byOutcome.stored / sec)}/s ` +
    `(simulator done after ${simSec.toFixed(1)} s, exit ${code}); broker+ingest CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${Math.round(((cpu.user + cpu.system) / 1e6 / sec) * 100)} % of one core), peak RSS ${peakRssMb()} MB`,
);
await ingest.close();
await broker.close();
await registry.close();
dir.remove();
process.exit(code === 0 && settled() ? 0 : 1);
