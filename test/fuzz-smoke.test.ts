/**
 * A small run of the fuzz suite (`npm run fuzz` runs a million): generated and mutated messages over
 * real MQTT and straight into the real ingest, then malformed packets at the broker. Every message must
 * be accounted for, nothing may crash, and a genuine message must still get through afterwards.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz/harness.js';

describe('fuzz (smoke)', () => {
  it('accounts for every one of 2,000 hostile messages and survives 200 malformed packet sequences', async () => {
    const r = await runFuzz({ messages: 2000, wireShare: 0.5, rawPackets: 200, seed: 20261123 });
    expect(r.discrepancies).toEqual([]);
    expect(r.crashes).toBe(0);
    const { stored, duplicate, state, ignored, deniedByBroker } = r.outcomes;
    expect(stored + duplicate + state + r.outcomes['command-ack'] + ignored + r.outcomes['dead-letter'] + deniedByBroker).toBe(2000);
    // The mix is really hostile: most messages are refused, by the broker or as dead letters with a reason.
    expect(r.outcomes['dead-letter']).toBeGreaterThan(800);
    expect(deniedByBroker).toBeGreaterThan(50);
    expect(stored).toBeGreaterThan(100);
    expect(r.checks.deadLettersWithoutReason).toBe(0);
    expect(r.raw.canaryStored).toBe(true);
    expect(r.errorLogLines).toEqual([]);
  }, 120_000);
});
