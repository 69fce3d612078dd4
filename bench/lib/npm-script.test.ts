import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/temp-dir.js';
import { envOfScript, nodeArgsOfScript, runtimeFlagsOfScript } from './npm-script.js';

describe('nodeArgsOfScript', () => {
  it('reads the scripts the bench starts; the broker carries the young-generation size it was measured with, npm start its memory bounds', () => {
    for (const name of ['start', 'broker', 'ingest']) expect(nodeArgsOfScript(name).slice(-3, -1)).toEqual(['--import', 'tsx']);
    // docs/BENCHMARKS.md, broker-fan-in: about 20 % more QoS 0 throughput than V8's default.
    expect(runtimeFlagsOfScript('broker')).toEqual(['--max-semi-space-size=64']);
    // npm start bounds the old generation (docs/deploy.md, "Memory"): V8's default let a city's heap grow to
    // 4× what it held before collecting it; it collects when the heap has grown by half what survived, not
    // 1.8× (V8's factor for that ceiling); and it keeps V8's 16 MiB young generation, which held ~100 MiB
    // less than the broker's 64 MiB for a city of 130,000 meters (issue 15: the ingest within 1 GiB).
    expect(runtimeFlagsOfScript('start')).toEqual(['--max-old-space-size=1536', '--heap-growing-percent=50']);
    // and two malloc arenas for what node and DuckDB allocate outside V8's heap and DuckDB's buffers (docs/deploy.md).
    expect(envOfScript('start')).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(envOfScript('broker')).toEqual({});
  });

  it('names the script when it is not of the form the bench can start', () => {
    const dir = makeTempDir('npm-script');
    const file = join(dir.path, 'package.json');
    writeFileSync(file, JSON.stringify({ scripts: { broker: 'node broker/src/main.ts', plain: 'tsx a.ts', flagged: 'tsx --x=1 --y a.ts', odd: 'tsx a.ts b.ts', execd: 'exec node --x=1 --import tsx a.ts', shell: 'exec sh a.ts', envd: 'A_B=2 C= exec node --x=1 --import tsx a.ts', lower: 'a=2 exec node --import tsx a.ts' } }));
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
      // Variables set before exec: node gets them, so does a harness that starts the same process.
      expect(envOfScript('envd', file)).toEqual({ A_B: '2', C: '' });
      expect(nodeArgsOfScript('envd', file)).toEqual(['--x=1', '--import', 'tsx', 'a.ts']);
      expect(envOfScript('execd', file)).toEqual({});
      expect(() => nodeArgsOfScript('lower', file)).toThrow(/script "lower"/);
    } finally {
      dir.remove();
    }
  });
});
