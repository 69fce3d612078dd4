import { it } from 'vitest';
import { loadScenario } from '../simulators/src/scenario/schema.js';
import { runScoredScenario } from '../simulators/src/scenario/scored-run.js';
import { formatScorecard } from '../simulators/src/scenario/score.js';
import { trueMinutesLeft } from '../simulators/src/scenario/truth.js';
it('flood', async () => {
  const scenario = await loadScenario(new URL('../simulators/scenarios/typhoon-flood.yaml', import.meta.url).pathname);
  const t = Date.now();
  const r = await runScoredScenario({ scenario });
  console.log('SCORE\n' + formatScorecard(r.scorecard), '\nwall', (Date.now() - t) / 1000, 's');
  const t0 = r.compiled.t0;
  for (const id of ['bsp-suginami-asagaya', 'bsp-nakano-arai', 'bsp-shinjuku-nishiguchi', 'bsp-shinjuku-okubo', 'bsp-shinjuku-tocho']) {
    const xs = r.timeToDark.filter((x) => x.deviceId === id).filter((_, i) => i % 12 === 0);
    console.log('TTD', id, xs.map((x) => `${((x.at - t0) / 3.6e6).toFixed(1)}h:${x.minutesLeft}/${Math.round(trueMinutesLeft(r.truth, id, x.at) ?? -1)}${x.silent ? 's' : ''}`).join(' '));
  }
}, 600_000);
