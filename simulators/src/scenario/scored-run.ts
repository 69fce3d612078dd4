/**
 * A scenario scored end to end: our broker and ingest (real parts, in this process, on a temporary
 * DATA_DIR) run on the scenario's simulated clock, so 36 simulated hours take a minute and every
 * clock-driven rule (silence, countdown, presumed dark) runs as it would in real time. The scenario's
 * devices publish over real MQTT; the scorecard compares what the ingest said (its API and alert stream)
 * with the simulated world's ground truth.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker, MemoryDeviceRegistry } from '@tsunagaru/broker';
import { loadStorageConfig, parseAlertRules, startIngestService, type AlertEvent } from '@tsunagaru/ingest';
import { pino, type Logger } from 'pino';
import { followAlertStream } from './alert-stream.js';
import { compileScenario, type CompiledScenario } from './compile.js';
import { runScenario, type ScenarioProgress } from './runner.js';
import type { Scenario } from './schema.js';
import { scoreScenario, type AlertChange, type ScoredAlert, type Scorecard, type TimeToDarkSample } from './score.js';
import type { GroundTruth } from './truth.js';
import { SimulatorError } from '../errors.js';

export interface ScoredRunOptions {
  scenario: Scenario;
  /** t0; default: the scenario's own start, else a fixed date (the run is on a simulated clock). */
  t0?: number;
  seed?: number;
  /** Alert rules file content (as parsed YAML/JSON) on top of the defaults. */
  alertRules?: Record<string, unknown>;
  logger?: Logger;
  onProgress?: (p: ScenarioProgress) => void;
  /** Called at the end of the run, the stack still up and the devices still connected (e.g. a browser looks at the console). */
  inspect?: (stack: { httpUrl: string; adminToken: string; dataDir: string }) => Promise<void>;
}

export interface ScoredRun {
  compiled: CompiledScenario;
  truth: GroundTruth;
  scorecard: Scorecard;
  alerts: ScoredAlert[];
  /** The ingest's time to dark of each site on battery, once a sample interval. */
  timeToDark: TimeToDarkSample[];
  /** Every change the alert engine made, notified or not. */
  changes: AlertChange[];
  progress: ScenarioProgress;
}

const ADMIN_TOKEN = randomBytes(24).toString('base64url');
/** t0 of a scenario file without a start: any fixed moment will do on a simulated clock. */
export const DEFAULT_SCENARIO_T0 = Date.UTC(2026, 8, 15, 9, 0, 0);

export async function runScoredScenario(o: ScoredRunOptions): Promise<ScoredRun> {
  const t0 = o.t0 ?? (o.scenario.start ? Date.parse(o.scenario.start) : DEFAULT_SCENARIO_T0);
  const compiled = compileScenario(o.scenario, t0);
  const logger = o.logger ?? pino({ level: 'silent' });
  // The store in memory-backed /dev/shm where there is one: the journal's fsync per step is the ingest's
  // durability promise, not what a scenario measures.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tsunagaru-scenario-'));
  let now = compiled.runFrom;
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const ingestPassword = randomBytes(18).toString('base64url');
  await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);
  const broker = await createBroker({ registry, logger: logger.child({ service: 'broker' }) });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  const ingest = await startIngestService({
    config: { dataDir: dir, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: ADMIN_TOKEN },
    mqttPassword: ingestPassword,
    registry,
    logger: logger.child({ service: 'ingest' }),
    clock: () => now,
    // Each step waits for the ingest to have stored its messages: no batch linger (it would add 20 ms a
    // step); the disk-space watermark is for real disks.
    storage: loadStorageConfig({ INGEST_BATCH_LINGER_MS: '0', JOURNAL_MIN_FREE_MB: '0' }),
    // The harness drives the clock-driven rules itself, once a simulated minute (see afterStep).
    alertRules: parseAlertRules({ ...(o.alertRules ?? {}), evaluateEverySec: 3600 }),
  });
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(path, ingest.httpUrl), { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new SimulatorError('SIM_ERR_RUN', `${init.method ?? 'GET'} ${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const abort = new AbortController();
  try {
    const secrets: Record<string, string> = {};
    for (const d of compiled.devices) {
      const body = await api('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id: d.id, type: d.type, attributes: d.attributes }) });
      secrets[d.id] = String(body['secret']);
    }
    const engine = ingest.alerting.engine;
    const changes: AlertChange[] = [];
    engine.onChange((e: AlertEvent) => changes.push({ kind: e.kind, at: e.at, alert: e.alert }));
    const streamed: AlertChange[] = [];
    await followAlertStream(new URL('/api/v1/alerts/stream', ingest.httpUrl).toString(), ADMIN_TOKEN, streamed, abort.signal);
    const timeToDark: TimeToDarkSample[] = [];
    const base = ingest.pipeline.counters().received;
    let published = -1;
    const sampleMs = Math.min(...compiled.devices.map((d) => d.sampleSec * 1000));
    const run = await runScenario({
      url: mqttUrl, compiled, secrets, seed: o.seed ?? 1, logger: logger.child({ service: 'devices' }),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      beforeStep: (ts) => void (now = ts),
      afterStep: async (ts, p) => {
        // Every message of the step (and the births) is in the ingest and evaluated before time moves on.
        if (p.published !== published) {
          published = p.published;
          const want = base + compiled.devices.length + p.published;
          const deadline = Date.now() + 30_000;
          while (ingest.pipeline.counters().received < want) {
            if (Date.now() > deadline) throw new SimulatorError('SIM_ERR_RUN', `the ingest did not take the step at ${new Date(ts).toISOString()} (${ingest.pipeline.counters().received} of ${want})`);
            await new Promise((r) => setTimeout(r, 2));
          }
          await engine.idle();
        }
        await engine.tick();
        if ((ts - compiled.runFrom) % sampleMs !== 0) return;
        const report = (await api('/api/v1/resilience')) as { sites: Array<{ deviceId: string; timeToDarkMin: number | null; countingDown: boolean; silent: boolean }> };
        for (const s of report.sites) if (s.countingDown) timeToDark.push({ deviceId: s.deviceId, at: ts, minutesLeft: s.timeToDarkMin, silent: s.silent });
      },
    });
    await engine.idle();
    const { alerts } = (await api('/api/v1/alerts?state=all&limit=1000')) as { alerts: ScoredAlert[] };
    const scorecard = scoreScenario(run.truth, { alerts, changes, streamed, timeToDark });
    try {
      await o.inspect?.({ httpUrl: ingest.httpUrl, adminToken: ADMIN_TOKEN, dataDir: dir });
    } finally {
      await run.stop({ graceful: false });
    }
    return { compiled, truth: run.truth, scorecard, alerts, timeToDark, changes, progress: run.progress };
  } finally {
    abort.abort();
    await ingest.close().catch(() => undefined);
    await broker.close().catch(() => undefined);
    await registry.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
