/**
 * A scenario scored against a stack that is already running (`npm start`, or a deployment), through its
 * MQTT broker and its API only: the devices publish as in any scenario run, the scorer follows the alert
 * stream and reads the resilience view after each sample, and compares the alerts with the ground truth.
 *
 * That stack's clock is the wall clock. When the scenario runs faster than real time, what depends on the
 * ingest's clock (an estimate counted down while a site is silent, when a critical alert came, clear times)
 * means nothing against simulated time, so the scorecard leaves it out and says so; everything the devices
 * timestamp (raises by their observed time, each estimate against the truth at its reading) is scored. At
 * `--speed 1` with `--start now` the two clocks agree and everything is scored.
 */
import type { Logger } from '@tsunagaru/edge-agent';
import { followAlertStream } from './alert-stream.js';
import type { CompiledScenario } from './compile.js';
import { runScenario, type ScenarioProgress } from './runner.js';
import { scoreScenario, type AlertChange, type ScoredAlert, type Scorecard, type TimeToDarkSample } from './score.js';
import type { GroundTruth } from './truth.js';
import { SimulatorError } from '../errors.js';

export interface RemoteScoreOptions {
  compiled: CompiledScenario;
  secrets: Readonly<Record<string, string>>;
  mqttUrl: string;
  apiUrl: string;
  /** An API token that reads alerts and resilience (admin or disaster-ops). */
  token: string;
  speed: number;
  seed: number;
  logger: Logger;
  onProgress?: (p: ScenarioProgress) => void;
}

export interface RemoteScore {
  truth: GroundTruth;
  scorecard: Scorecard;
  /** What this run could not measure, in words. */
  notMeasured: string[];
  progress: ScenarioProgress;
}

interface ResilienceSite {
  deviceId: string;
  countingDown: boolean;
  silent: boolean;
  timeToDarkMin: number | null;
  estimateMin: number | null;
  estimateAt: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function scoreRunningStack(o: RemoteScoreOptions): Promise<RemoteScore> {
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(new URL(path, o.apiUrl), { headers: { authorization: `Bearer ${o.token}` } });
    if (!res.ok) throw new SimulatorError('SIM_ERR_RUN', `GET ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const realTime = o.speed <= 1 && Math.abs(o.compiled.runFrom - Date.now()) < 60_000;
  const streamed: AlertChange[] = [];
  const abort = new AbortController();
  await followAlertStream(new URL('/api/v1/alerts/stream', o.apiUrl).toString(), o.token, streamed, abort.signal);
  const estimates = new Map<string, TimeToDarkSample>();
  const countdown: TimeToDarkSample[] = [];
  const sampleMs = Math.min(...o.compiled.devices.map((d) => d.sampleSec * 1000));
  try {
    const run = await runScenario({
      url: o.mqttUrl, compiled: o.compiled, secrets: o.secrets, speed: o.speed, seed: o.seed, logger: o.logger,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      afterStep: async (ts) => {
        if ((ts - o.compiled.runFrom) % sampleMs !== 0) return;
        const { sites } = await api<{ sites: ResilienceSite[] }>('/api/v1/resilience');
        for (const s of sites) {
          if (!s.countingDown) continue;
          // Each estimate against the truth at its own reading: independent of the stack's clock.
          if (!s.silent && s.estimateAt !== null && s.estimateMin !== null) estimates.set(`${s.deviceId}|${s.estimateAt}`, { deviceId: s.deviceId, at: s.estimateAt, minutesLeft: s.estimateMin, silent: false });
          if (realTime) countdown.push({ deviceId: s.deviceId, at: ts, minutesLeft: s.timeToDarkMin, silent: s.silent });
        }
      },
    });
    // The last messages through the ingest and its rules: wait until the alert list stops changing.
    let alerts: ScoredAlert[] = [];
    for (let last = '', i = 0; i < 30; i++) {
      alerts = (await api<{ alerts: ScoredAlert[] }>('/api/v1/alerts?state=all&limit=1000')).alerts;
      const now = JSON.stringify(alerts.map((a) => [a.id, a.severity, a.clearedAt]));
      if (now === last) break;
      last = now;
      await sleep(1000);
    }
    await run.stop({ graceful: true });
    // Only what this scenario's devices (and the ring and districts they make up) raised during the run.
    const mine = new Set([...o.compiled.devices.map((d) => d.id), 'izu-ring', ...o.compiled.scenario.sites.map((s) => `district:${s.district}`)]);
    // Raised at what the device observed (this stack's own clock is not the scenario's).
    const observed = alerts
      .map((a) => ({ ...a, raisedAt: realTime ? a.raisedAt : (a.observedAt ?? a.raisedAt) }))
      .filter((a) => mine.has(a.deviceId) && a.raisedAt >= o.compiled.runFrom);
    const timeToDark = [...estimates.values(), ...countdown];
    // What a console heard: every alert now at major or critical that is no symptom was announced at that severity.
    const changes: AlertChange[] = observed
      .filter((a) => (a.severity === 'major' || a.severity === 'critical') && !a.causeId)
      .map((a) => ({ kind: 'announced', at: a.raisedAt, alert: { id: a.id, deviceId: a.deviceId, rule: a.rule, severity: a.severity, causeId: a.causeId ?? null } }));
    const heard = new Set(streamed.map((c) => `${c.alert.id}|${c.alert.severity}`));
    const scorecard = scoreScenario(run.truth, { alerts: observed, changes: realTime ? streamed : [], streamed, timeToDark }, { clearTiming: realTime });
    const missing = changes.filter((c) => !heard.has(`${c.alert.id}|${c.alert.severity}`));
    scorecard.escalations = { expected: changes.length, announced: changes.length - missing.length, missing };
    const notMeasured = realTime ? [] : [
      'time to dark while silent and the lead of critical alerts: they depend on the ingest\'s clock, which is the wall clock while the scenario ran faster (run with --speed 1 --start now, or --score without --url to use a stack on the scenario\'s clock)',
      'clear times: matched on state only, for the same reason',
    ];
    if (!realTime) scorecard.criticalLead = null;
    return { truth: run.truth, scorecard, notMeasured, progress: run.progress };
  } finally {
    abort.abort();
  }
}
