/**
 * The shipped "inland earthquake" scenario at full speed through the whole pipeline: simulated devices over
 * real MQTT into our broker, the ingest and the alert engine on the scenario's simulated clock. The alerts
 * the engine raised are compared with the scenario's ground truth (precision and recall printed).
 */
import { afterAll, expect, it } from 'vitest';
import { parseAlertRules } from '@tsunagaru/ingest';
import { compileScenario } from '../simulators/src/scenario/compile.js';
import { runScenario, type ScenarioRun } from '../simulators/src/scenario/runner.js';
import { loadScenario } from '../simulators/src/scenario/schema.js';
import { scoreAlerts, type ObservedAlert } from '../simulators/src/scenario/truth.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait-for.js';

let stack: Stack | undefined;
let run: ScenarioRun | undefined;
afterAll(async () => {
  await run?.stop({ graceful: false });
  await stack?.close();
});

it('inland earthquake: the alert engine finds every scripted event and nothing else (precision and recall 100 %)', async () => {
  const scenario = await loadScenario(new URL('../simulators/scenarios/inland-earthquake.yaml', import.meta.url).pathname);
  const t0 = Date.parse(scenario.start!);
  const compiled = compileScenario(scenario, t0);
  let now = t0;
  stack = await startStack({ clock: () => now, alertRules: parseAlertRules({ evaluateEverySec: 3600 }) });
  const secrets: Record<string, string> = {};
  for (const d of compiled.devices) {
    const res = await stack.api.post('/api/v1/devices', { id: d.id, type: d.type, attributes: d.attributes });
    expect(res.status).toBe(201);
    secrets[d.id] = res.body.secret;
  }
  const s = stack;
  const base = s.ingest.pipeline.counters().received;
  const started = Date.now();
  run = await runScenario({
    url: s.mqttUrl, compiled, secrets, seed: 1,
    beforeStep: (ts) => void (now = ts),
    // Every message of the step (and the births) is in the ingest and evaluated before time moves on.
    afterStep: async (_ts, p) => {
      await waitFor('the ingest to take the step', () => s.ingest.pipeline.counters().received >= base + compiled.devices.length + p.published, 15_000, 2);
      await s.ingest.alerting.engine.idle();
    },
  });
  const wallSec = (Date.now() - started) / 1000;
  expect(run.progress.errors).toBe(0);

  const res = await s.api.get('/api/v1/alerts?state=all&limit=1000');
  const observed = res.body.alerts as ObservedAlert[];
  const score = scoreAlerts(run.truth, observed);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(
    `inland-earthquake: ${run.progress.steps} steps, ${run.progress.published} messages in ${wallSec.toFixed(1)} s; ` +
      `${run.truth.alerts.length} expected alerts, ${score.truePositives} matched; precision ${pct(score.precision)}, recall ${pct(score.recall)}`,
  );
  expect({ falsePositives: score.falsePositives, falseNegatives: score.falseNegatives }).toEqual({ falsePositives: [], falseNegatives: [] });
  expect(score.precision).toBe(1);
  expect(score.recall).toBe(1);
  // What the scenario scripts, as the truth states it.
  expect(run.truth.islandsIsolated.map((i) => i.island).sort()).toEqual(['kozushima', 'niijima', 'shikinejima']);
  expect(run.truth.sitesDark.map((d) => d.deviceId).sort()).toEqual(['bsp-nakano-ward-office', 'bsp-shinjuku-nishiguchi', 'bsp-shinjuku-tocho']);
  expect(run.truth.alerts.filter((a) => a.rule === 'generator-fault').map((a) => [a.deviceId, (a.raisedAt - t0) / 3_600_000])).toEqual([['bsp-shinjuku-tocho', 2]]);
}, 60_000);
