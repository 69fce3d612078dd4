/**
 * `npm run bench:ingest`: readings per second end to end — MQTT publish → broker → journal (fsync, then
 * PUBACK) → validate → store — into each store, and the ingest's peak RSS.
 *
 * The ingest runs as `npm start` wires it (our broker and the ingest in one process, embedded tap) in a
 * child process, so its peak RSS (VmHWM) is its own; the devices are MQTT clients in this process, each
 * keeping a window of messages in flight. A store run ends when the last message is stored (the drainer
 * has committed it and the completeness ledger counted it), and the ledger must show every message once.
 * Stores: the embedded DuckDB, VictoriaMetrics (v2 API) and InfluxDB 1.6 (v1 API), the last two from
 * Debian's packages (scripts/install-test-deps.sh); a store whose server is missing is skipped.
 * Env: BENCH_MESSAGES per store (default 20000), BENCH_DEVICES (default 50), BENCH_WINDOW in flight per
 * device (default 50), BENCH_SAMPLES per message (default 1), BENCH_STORES (default all).
 */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { apiClient } from '../../test/support/api-client.js';
import { startChild, type ChildIngest } from '../../test/support/child-process.js';
import { freePort } from '../../test/support/ports.js';
import { makeTempDir } from '../../test/support/temp-dir.js';
import { INFLUX_ADMIN, INFLUXD_BIN, serverAvailable, startInfluxDb16, startVictoriaMetrics, VICTORIA_BIN, type TsdbServer } from '../../test/support/tsdb.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 50);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 50);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1);
const STORES = (process.env.BENCH_STORES ?? 'duckdb,victoria-metrics,influxdb-1.6').split(',');
const TOKEN = 'bench-admin-token-0123456789abcdef';

interface Result {
  store: string;
  messages: number;
  readings: number;
  ackedPerSec: number;
  storedPerSec: number;
  readingsPerSec: number;
  peakRssMb: number;
  gaps: number;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Publishes MESSAGES water-meter telemetry from DEVICES devices, WINDOW in flight each; resolves when all are acked. */
async function publishAll(url: string, devices: Array<{ id: string; secret: string }>, t0: number): Promise<number> {
  // One login at a time: the broker throttles concurrent (scrypt) logins from one address.
  const clients: MqttClient[] = [];
  for (const d of devices) clients.push(await mqtt.connectAsync(url, { protocolVersion: 4, clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0 }));
  const perDevice = Math.ceil(MESSAGES / devices.length);
  const started = performance.now();
  await Promise.all(
    clients.map(
      (client, i) =>
        new Promise<void>((resolve, reject) => {
          const id = devices[i]!.id;
          const topic = buildTopic('water-meter', id, 'telemetry');
          let next = 0;
          let acked = 0;
          const send = () => {
            const seq = next++;
            const samples = Array.from({ length: SAMPLES }, (_, k) => ({ ts: t0 + (seq * SAMPLES + k) * 1000, indexL: 1_000_000 + seq * SAMPLES + k, flowLph: (seq % 97) + 0.5, batteryPct: 87 }));
            client.publish(topic, JSON.stringify({ v: 1, id, boot: 1, seq, ts: samples[0]!.ts, samples }), { qos: 1 }, (err) => {
              if (err) return reject(err);
              if (++acked === perDevice) return resolve();
              if (next < perDevice) send();
            });
          };
          for (let k = 0; k < Math.min(WINDOW, perDevice); k++) send();
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.endAsync()));
  return seconds;
}

async function runStore(store: string, env: Record<string, string>): Promise<Result> {
  const dir = makeTempDir('bench-ingest');
  let child: ChildIngest | undefined;
  try {
    child = await startChild('test/support/embedded-ingest-child.ts', { DATA_DIR: dir.path, MQTT_PORT: String(await freePort()), HTTP_PORT: '0', TSUNAGARU_ADMIN_TOKEN: TOKEN, PUBLISH_LIMITS: 'off', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error', ...env });
    const api = apiClient(child.ready.httpUrl!, TOKEN);
    const devices = [];
    for (let i = 0; i < DEVICES; i++) {
      const id = `wm-bench-${String(i).padStart(4, '0')}`;
      const res = await api.post('/api/v1/devices', { id, type: 'water-meter', attributes: { dma: `bench-${i % 5}` } });
      devices.push({ id, secret: res.body.secret as string });
    }
    const total = Math.ceil(MESSAGES / DEVICES) * DEVICES;
    const t0 = Date.now() - 6 * 3_600_000;
    const started = performance.now();
    const ackSeconds = await publishAll(child.ready.mqttUrl!, devices, t0);
    let health;
    for (;;) {
      health = (await api.get('/api/v1/health')).body;
      if (health.ingest.drain.messages >= total && health.ingest.journal.backlog === 0) break;
      if (health.ingest.drain.failures > 5) throw new Error(`${store}: storing keeps failing: ${health.ingest.drain.lastError}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const storedSeconds = (performance.now() - started) / 1000;
    const ledger = (await api.get('/api/v1/ledger')).body;
    if (ledger.totals.received !== total || ledger.totals.gaps !== 0) throw new Error(`${store}: ledger shows ${ledger.totals.received}/${total} received, ${ledger.totals.gaps} gaps`);
    return {
      store,
      messages: total,
      readings: total * SAMPLES,
      ackedPerSec: Math.round(total / ackSeconds),
      storedPerSec: Math.round(total / storedSeconds),
      readingsPerSec: Math.round((total * SAMPLES) / storedSeconds),
      peakRssMb: peakRssMb(child.child.pid!),
      gaps: ledger.totals.gaps,
    };
  } catch (err) {
    if (child) process.stderr.write(child.output());
    throw err;
  } finally {
    await child?.stop();
    dir.remove();
  }
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const store of STORES) {
    let server: TsdbServer | undefined;
    try {
      if (store === 'duckdb') results.push(await runStore(store, { STORE: 'duckdb' }));
      else if (store === 'victoria-metrics') {
        if (!serverAvailable(VICTORIA_BIN)) throw new Error(`${VICTORIA_BIN} missing (scripts/install-test-deps.sh)`);
        server = await startVictoriaMetrics();
        results.push(await runStore(store, { STORE: 'influx-v2', INFLUX_URL: server.url, INFLUX_ORG: 'tsunagaru', INFLUX_BUCKET: 'tsunagaru', INFLUX_STRING_FIELDS: 'false' }));
      } else if (store === 'influxdb-1.6') {
        if (!serverAvailable(INFLUXD_BIN)) throw new Error(`${INFLUXD_BIN} missing (scripts/install-test-deps.sh)`);
        server = await startInfluxDb16('tsunagaru');
        results.push(await runStore(store, { STORE: 'influx-v1', INFLUX_URL: server.url, INFLUX_DB: 'tsunagaru', INFLUX_USER: INFLUX_ADMIN.user, INFLUX_PASSWORD: INFLUX_ADMIN.password }));
      } else throw new Error(`unknown store ${store}`);
      process.stderr.write(`bench:ingest ${store} done\n`);
    } catch (err) {
      process.stderr.write(`bench:ingest ${store} skipped: ${(err as Error).message}\n`);
    } finally {
      await server?.dispose();
    }
  }
  process.stdout.write(`\nbench:ingest — ${DEVICES} devices, ${WINDOW} in flight each, ${SAMPLES} sample(s) per message, ingest = broker + journal + store in one process (npm start wiring)\n\n`);
  process.stdout.write('| store | messages | PUBACKed msg/s | stored msg/s | readings/s end to end | peak RSS (ingest) | ledger gaps |\n|---|---:|---:|---:|---:|---:|---:|\n');
  for (const r of results) process.stdout.write(`| ${r.store} | ${r.messages} | ${r.ackedPerSec} | ${r.storedPerSec} | ${r.readingsPerSec} | ${r.peakRssMb} MB | ${r.gaps} |\n`);
  process.stdout.write('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:ingest failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
