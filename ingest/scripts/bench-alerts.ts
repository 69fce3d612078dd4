/**
 * `npm run bench:alerts`: alert latency, from a device's MQTT publish to the alert's server-sent event.
 * Starts our aedes broker and the ingest (embedded DuckDB store) on a temp DATA_DIR, provisions smart
 * poles, follows GET /api/v1/alerts/stream, and toggles pole doors one message at a time: every message
 * raises or clears an alert, and the time until its SSE event arrives is one sample.
 * Chattering and flood suppression are switched off (they would, rightly, silence this traffic).
 * Env: BENCH_MESSAGES (default 300), BENCH_POLES (default 20).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createBroker, MemoryDeviceRegistry } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { parseAlertRules } from '../src/alerts/rules-config.js';
import { startIngestService } from '../src/service.js';
import { followAlertStream } from '../../bench/lib/alert-stream.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 300);
const POLES = Number(process.env.BENCH_POLES ?? 20);
const WARMUP = 20;
const TOKEN = 'bench-admin-token-0123456789abcdef';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const outcomeAt = new Map<string, number>();

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-bench-alerts-'));
  const logger = pino({ level: 'warn' });
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  await registry.upsertService('tsunagaru-ingest', 'ingest', 'bench-ingest-password');
  const broker = await createBroker({ registry, logger });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  const ingest = await startIngestService({
    config: { dataDir: dir, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: TOKEN },
    mqttPassword: 'bench-ingest-password',
    registry,
    logger,
    alertRules: parseAlertRules({ lifecycle: { chatterTransitions: 1_000_000, floodAlerts: 1_000_000 } }),
    // Splits the latency: when the pipeline reached its outcome (stored), before the alert engine's part.
    onOutcome: (o) => {
      if (o.kind === 'stored') outcomeAt.set(`${o.deviceId}:${o.seq}`, performance.now());
    },
  });

  const poles: Array<{ id: string; client: MqttClient; seq: number; open: boolean }> = [];
  for (let i = 0; i < POLES; i++) {
    const id = `pole-bench-${String(i).padStart(3, '0')}`;
    const { secret } = await registry.provision({ id, type: 'smart-pole', attributes: { site: 'bench' } });
    const client = await mqtt.connectAsync(mqttUrl, { protocolVersion: 4, clientId: id, username: id, password: secret, reconnectPeriod: 0 });
    poles.push({ id, client, seq: 0, open: false });
  }

  const stream = await followAlertStream(ingest.httpUrl, TOKEN);

  const latencies: number[] = [];
  /** Alerts that reached the stream before their message was stored (the dispatcher tells the rules once a message is durable in the journal). */
  let beforeStored = 0;
  const started = performance.now();
  for (let i = 0; i < MESSAGES + WARMUP; i++) {
    const pole = poles[i % poles.length]!;
    pole.open = !pole.open;
    const arrived = stream.expect(pole.id, 'pole-door-open', pole.open ? 'raised' : 'cleared', 10_000);
    const seq = pole.seq++;
    const payload = JSON.stringify({ v: 1, id: pole.id, boot: 1, seq, ts: Date.now(), samples: [{ ts: Date.now(), doorOpen: pole.open, cabinetTempC: 31 }] });
    const t0 = performance.now();
    pole.client.publish(buildTopic('smart-pole', pole.id, 'telemetry'), payload, { qos: 1 });
    const t1 = await arrived;
    if (i >= WARMUP) {
      latencies.push(t1 - t0);
      const stored = outcomeAt.get(`${pole.id}:${seq}`);
      if (stored === undefined || stored > t1) beforeStored++;
    }
  }
  const elapsed = (performance.now() - started) / 1000;

  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  process.stdout.write(
    [
      `alert latency, MQTT publish → SSE event (${latencies.length} messages, ${POLES} poles, one in flight, after ${WARMUP} warm-up)`,
      `  p50 ${f(percentile(latencies, 50))}   p90 ${f(percentile(latencies, 90))}   p99 ${f(percentile(latencies, 99))}   max ${f(latencies.at(-1)!)}   mean ${f(mean)}`,
      `  ${beforeStored} of ${latencies.length} alerts reached the stream before their message was stored (the rules read the journal, not the store)`,
      `  ${(latencies.length / elapsed).toFixed(0)} alerts/s sequential`,
      '',
    ].join('\n'),
  );

  stream.close();
  for (const p of poles) await p.client.endAsync();
  await ingest.close();
  await broker.close();
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:alerts failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
