/**
 * Issue 17, "Signals tested": SIGTERM sent to the npm process of `npm start` (what a process manager or a
 * container runtime sends to the process it started), while devices publish at QoS 1. npm passes SIGTERM
 * to its child only, and sh does not pass it on: package.json's script `exec`s node, so the node that runs
 * broker and ingest gets it, stops cleanly, and nothing is left running. Restarted on the same DATA_DIR,
 * it holds every message once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { killGroup, start, type Running } from './support/processes.js';
import { sigtermUnderLoad } from './support/sigterm-under-load.js';
import { makeTempDir } from './support/temp-dir.js';

describe('npm start and SIGTERM to npm', () => {
  const dir = makeTempDir('npm-start-sigterm');
  const started: Running[] = [];
  afterAll(() => {
    for (const r of started) killGroup(r);
    dir.remove();
  });

  it('stops cleanly with nothing left running, and after a restart every acknowledged message is stored once', { timeout: 180_000 }, async () => {
    const report = await sigtermUnderLoad(dir.path, (env) => start('npm', ['start', '--silent'], env), (r) => started.push(r));
    expect(report.ackedAtSignal).toBeGreaterThan(0);
    console.log(`[npm start, SIGTERM to npm] ${report.total} QoS 1 messages, ${report.ackedAtSignal} acknowledged at the signal; stopped cleanly in ${report.stopMs} ms; after the restart ${report.acked} acknowledged, ${report.stored} stored, each once`);
  });
});
