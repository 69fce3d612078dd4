/**
 * SerialQueue runs tasks one at a time in arrival order, and holds nothing once they are done: a queue
 * lives as long as its integration, and a settled task's result (a converted uplink, a decoded Sparkplug
 * payload) must not stay reachable through it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SerialQueue } from './shared.js';

/** The collector, exposed for this process (the test runner does not start node with --expose-gc). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SerialQueue', () => {
  it('runs tasks one at a time in the order queued, a failure not stopping the next', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const task = (name: string, ms: number, fail = false) => () => new Promise<string>((resolve, reject) => setTimeout(() => {
      order.push(name);
      if (fail) reject(new Error(name));
      else resolve(name);
    }, ms));
    const results = await Promise.allSettled([queue.run(task('a', 20)), queue.run(task('b', 1, true)), queue.run(task('c', 5))]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a', 'b', 'c']);
  });

  it('keeps no settled result reachable, the last one included', async () => {
    const gc = collector();
    const queue = new SerialQueue();
    // Each result is awaited and dropped inside this function: only the queue could still hold it.
    const refs = await (async () => {
      const failed = await queue.run(async () => Promise.reject(Object.assign(new Error('refused'), { payload: new Uint8Array(1_000_000) }))).catch((err: unknown) => err as object);
      const last = await queue.run(async () => ({ payload: new Uint8Array(1_000_000) }));
      return [new WeakRef(failed), new WeakRef(last)];
    })();
    await tick();
    gc();
    await tick();
    expect(refs.map((r) => (r.deref() === undefined ? 'released' : 'held'))).toEqual(['released', 'released']);
  });
});
