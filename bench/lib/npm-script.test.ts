import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/temp-dir.js';
import { nodeArgsOfScript, runtimeFlagsOfScript } from './npm-script.js';

describe('nodeArgsOfScript', () => {
  it('reads the scripts the bench starts; the broker ones carry the young-generation size they were measured with', () => {
    for (const name of ['start', 'broker', 'ingest']) expect(nodeArgsOfScript(name).slice(-3, -1)).toEqual(['--import', 'tsx']);
    // docs/BENCHMARKS.md, broker-fan-in: about 20 % more QoS 0 throughput than V8's default.
    expect(runtimeFlagsOfScript('broker')).toEqual(['--max-semi-space-size=64']);
    // npm start also bounds the old generation (docs/deploy.md, "Memory"): V8's default let a city's heap
    // grow to 4× what it held before collecting it.
    // and collects when the heap has grown by half what survived, not 1.8x (V8's factor for that ceiling).
    expect(runtimeFlagsOfScript('start')).toEqual(['--max-semi-space-size=64', '--max-old-space-size=1536', '--heap-growing-percent=50']);
  });

  it('names the script when it is not of the form the bench can start', () => {
    const dir = makeTempDir('npm-script');
    const file = join(dir.path, 'package.json');
    writeFileSync(file, JSON.stringify({ scripts: { broker: 'node broker/src/main.ts', plain: 'tsx a.ts', flagged: 'tsx --x=1 --y a.ts', odd: 'tsx a.ts b.ts', execd: 'exec node --x=1 --import tsx a.ts', shell: 'exec sh a.ts' } }));
    try {
      expect(() => nodeArgsOfScript('broker', file)).toThrow(/script "broker" is "node broker\/src\/main.ts"/);
      expect(() => nodeArgsOfScript('missing', file)).toThrow(/script "missing"/);
      expect(() => nodeArgsOfScript('odd', file)).toThrow(/script "odd"/);
      expect(nodeArgsOfScript('plain', file)).toEqual(['--import', 'tsx', 'a.ts']);
      expect(nodeArgsOfScript('flagged', file)).toEqual(['--x=1', '--y', '--import', 'tsx', 'a.ts']);
      expect(runtimeFlagsOfScript('plain', file)).toEqual([]);
      // npm's shell replaced by node (exec): the one process npm passes SIGTERM and SIGINT to.
      expect(nodeArgsOfScript('execd', file)).toEqual(['--x=1', '--import', 'tsx', 'a.ts']);
      expect(runtimeFlagsOfScript('execd', file)).toEqual(['--x=1']);
      expect(() => nodeArgsOfScript('shell', file)).toThrow(/script "shell"/);
    } finally {
      dir.remove();
    }
  });
});
