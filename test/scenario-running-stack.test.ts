/**
 * `npm run sim -- scenario <file> --score --url …`: a scenario scored against a stack that is already
 * running on the wall clock (our broker and ingest as `npm start` wires them), through MQTT and the API only.
 * The scenario runs much faster than real time, so what depends on the ingest's clock is left out and said so.
 */
import { afterAll, expect, it } from 'vitest';
import { silentLogger } from '@tsunagaru/edge-agent';
import { compileScenario } from '../simulators/src/scenario/compile.js';
import { loadScenario } from '../simulators/src/scenario/schema.js';
import { missedTargets } from '../simulators/src/scenario/score.js';
import { scoreRunningStack } from '../simulators/src/scenario/score-remote.js';
import { ADMIN_TOKEN, startStack, type Stack } from './support/stack.js';

let stack: Stack | undefined;
afterAll(async () => stack?.close());

it('scores typhoon-izu against a running stack: precision and recall by observed time, each estimate at its reading', async () => {
  stack = await startStack();
  const scenario = await loadScenario(new URL('../simulators/scenarios/typhoon-izu.yaml', import.meta.url).pathname);
  // As the CLI does by default: the run ends now, so no sample is stamped in the future.
  const compiled = compileScenario(scenario, Date.now() - 36 * 3_600_000);
  const secrets: Record<string, string> = {};
  for (const d of compiled.devices) secrets[d.id] = (await stack.api.post('/api/v1/devices', { id: d.id, type: d.type, attributes: d.attributes })).body.secret;
  const r = await scoreRunningStack({ compiled, secrets, mqttUrl: stack.mqttUrl, apiUrl: stack.ingest.httpUrl, token: ADMIN_TOKEN, speed: Infinity, seed: 1, logger: silentLogger });
  expect({ falsePositives: r.scorecard.alerts.falsePositives, falseNegatives: r.scorecard.alerts.falseNegatives }).toEqual({ falsePositives: [], falseNegatives: [] });
  expect(r.scorecard.timeToDark.reporting.samples).toBeGreaterThan(100);
  expect(r.scorecard.timeToDark.reporting.p95Pct!).toBeLessThanOrEqual(10);
  expect(r.scorecard.escalations.missing).toEqual([]);
  expect(r.scorecard.criticalLead).toBeNull();
  expect(r.notMeasured.join(' ')).toMatch(/wall clock/);
  expect(missedTargets(r.scorecard)).toEqual([]);
}, 300_000);
