/**
 * A water scenario scored end to end, like the power scenarios (scenario/scored-run.ts): our broker and
 * ingest in this process on a temporary DATA_DIR, on the scenario's simulated clock; the meters publish
 * over real MQTT; the scorecard compares the ingest's API (daily balances, alerts) with the truth.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker, MemoryDeviceRegistry } from '@tsunagaru/broker';
import { loadStorageConfig, parseAlertRules, startIngestService, type AlertEvent } from '@tsunagaru/ingest';
import { pino, type Logger } from 'pino';
import { compileWaterScenario, type CompiledWaterScenario } from './compile.js';
import { runWaterScenario } from './runner.js';
import type { WaterScenario } from './schema.js';
import { scoreWater, type ObservedDay, type ObservedWaterAlert, type WaterScorecard } from './score.js';
import { waterTruth, type WaterTruth } from './truth.js';
import { SimulatorError } from '../errors.js';

export interface WaterScoredRunOptions {
  scenario: WaterScenario;
  seed?: number;
  /** Alert rules (as parsed YAML/JSON) on top of the defaults. */
  alertRules?: Record<string, unknown>;
  logger?: Logger;
  /** At the end, the stack still up (a browser looks at the console). */
  inspect?: (stack: { httpUrl: string; mqttUrl: string; adminToken: string; dataDir: string }) => Promise<void>;
  /** Simulated days in a wall-clock progress line, for the CLI. */
  onDay?: (day: number) => void;
}

export interface WaterScoredRun {
  compiled: CompiledWaterScenario;
  truth: WaterTruth;
  scorecard: WaterScorecard;
  days: ObservedDay[];
  alerts: ObservedWaterAlert[];
  published: number;
}

const ADMIN_TOKEN = randomBytes(24).toString('base64url');

export async function runWaterScoredScenario(o: WaterScoredRunOptions): Promise<WaterScoredRun> {
  const seed = o.seed ?? 1;
  const compiled = compileWaterScenario(o.scenario, seed);
  const logger = o.logger ?? pino({ level: 'silent' });
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tsunagaru-water-'));
  let now = compiled.t0;
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const ingestPassword = randomBytes(18).toString('base64url');
  await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);
  const broker = await createBroker({ registry, logger: logger.child({ service: 'broker' }) });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  const ingest = await startIngestService({
    config: { dataDir: dir, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: ADMIN_TOKEN },
    mqttPassword: ingestPassword, registry, logger: logger.child({ service: 'ingest' }), clock: () => now,
    storage: loadStorageConfig({ INGEST_BATCH_LINGER_MS: '0', JOURNAL_MIN_FREE_MB: '0' }),
    alertRules: parseAlertRules({ ...(o.alertRules ?? {}), evaluateEverySec: 3600 }),
  });
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(path, ingest.httpUrl), { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    const body = (await res.json()) as Record<string, any>;
    if (!res.ok) throw new SimulatorError('SIM_ERR_RUN', `${init.method ?? 'GET'} ${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  try {
    const secrets: Record<string, string> = {};
    for (const d of compiled.devices) secrets[d.spec.id] = String((await api('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id: d.spec.id, type: 'water-meter', attributes: d.spec.attributes }) }))['secret']);
    const engine = ingest.alerting.engine;
    // The night each night-flow raise was about (the alert's detail changes as later nights are judged).
    const nights = new Map<string, string[]>();
    engine.onChange((e: AlertEvent) => {
      if (e.alert.rule === 'dma-night-flow' && e.kind === 'raised') nights.set(e.alert.id, [...(nights.get(e.alert.id) ?? []), String(e.alert.detail['date'])]);
    });
    const base = ingest.pipeline.counters().received;
    let lastDay = -1;
    const run = await runWaterScenario({
      url: mqttUrl, compiled, secrets, seed, logger: logger.child({ service: 'devices' }),
      beforeStep: (ts) => void (now = ts),
      afterStep: async (ts, published) => {
        const want = base + compiled.devices.length + published;
        const deadline = Date.now() + 30_000;
        while (ingest.pipeline.counters().received < want) {
          if (Date.now() > deadline) throw new SimulatorError('SIM_ERR_RUN', `the ingest did not take the step at ${new Date(ts).toISOString()}`);
          await new Promise((r) => setTimeout(r, 2));
        }
        await engine.idle();
        // The clock-driven rules (silence, nights, monthly use) once every simulated quarter-hour.
        if ((ts - compiled.t0) % 900_000 === 0) await engine.tick();
        const day = Math.floor((ts - compiled.t0) / 86_400_000);
        if (day !== lastDay) o.onDay?.((lastDay = day));
      },
    });
    await engine.idle();
    const truth = waterTruth(compiled, seed);
    const days: ObservedDay[] = [];
    for (const d of o.scenario.dmas) {
      const body = await api(`/api/v1/water/dmas/${d.id}/daily?from=${compiled.t0}&to=${compiled.endTs}`);
      for (const x of body['days'] as Array<{ date: string; balance: Record<string, any> }>) {
        days.push({ dma: d.id, date: x.date, nonRevenueLitres: x.balance['nonRevenueLitres'], inletLitres: x.balance['inletLitres'], complete: x.balance['complete'], coveragePct: x.balance['coveragePct'] });
      }
    }
    const listed = (await api('/api/v1/alerts?state=all&limit=1000'))['alerts'] as Array<Record<string, any>>;
    const alerts: ObservedWaterAlert[] = listed.map((a) => ({ id: a['id'], rule: a['rule'], deviceId: a['deviceId'], object: a['object'] ?? null, state: a['state'], raisedAt: a['raisedAt'], ...(a['rule'] === 'dma-night-flow' ? { raisedNights: nights.get(a['id']) ?? [] } : {}) }));
    const scorecard = scoreWater(truth, days, alerts);
    try {
      await o.inspect?.({ httpUrl: ingest.httpUrl, mqttUrl, adminToken: ADMIN_TOKEN, dataDir: dir });
    } finally {
      await run.stop();
    }
    return { compiled, truth, scorecard, days, alerts, published: run.published };
  } finally {
    await ingest.close().catch(() => undefined);
    await broker.close().catch(() => undefined);
    await registry.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
