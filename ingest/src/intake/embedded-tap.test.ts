/**
 * The embedded tap's routing and waits. The journal here is a recording sink whose group commit the test
 * settles by hand: the one thing a real journal cannot be made to do on cue (hold an fsync open).
 */
import { describe, expect, it } from 'vitest';
import { createEmbeddedTap } from './embedded-tap.js';
import { acknowledgeAtOnce, type MessageSink } from './sink.js';

function recordingSink() {
  const topics: string[] = [];
  let commit!: () => void;
  const durable = new Promise<void>((r) => (commit = r));
  const sink: MessageSink = { enqueue: async (topic) => (topics.push(topic), { durable }) };
  return { sink, topics, commit: () => commit() };
}
const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('embedded tap', () => {
  it('sends contract topics to the journal and integration topics to their route; the ingest\'s own traffic is let through at once', async () => {
    const tap = createEmbeddedTap();
    const journal = recordingSink();
    const chirpstack = recordingSink();
    tap.attach(journal.sink, (t) => (t.endsWith('/command/down') ? acknowledgeAtOnce : t.startsWith('application/') ? chirpstack.sink : undefined));
    const up = tap.beforePuback('application/app/device/0101010101010101/event/up', Buffer.from('{}'), 1);
    const telemetry = tap.beforePuback('tsunagaru/v1/water-meter/wm-1/telemetry', Buffer.from('{}'), 1);
    const other = tap.beforePuback('spBv1.0/city/NDATA/PS01', Buffer.from('x'), 1);
    expect(await settled(tap.beforePuback('application/app/device/0101010101010101/command/down', Buffer.from('{}'), 1))).toBe(true);
    expect(await settled(tap.beforePuback('tsunagaru/v1/water-meter/wm-1/cmd', Buffer.from('{}'), 1))).toBe(true);
    expect(chirpstack.topics).toEqual(['application/app/device/0101010101010101/event/up']);
    // A topic no route takes reaches the journal, where it becomes a dead letter with the reason.
    expect(journal.topics).toEqual(['tsunagaru/v1/water-meter/wm-1/telemetry', 'spBv1.0/city/NDATA/PS01']);
    // QoS 1: held until the commit of the sink that took it.
    expect(await settled(up)).toBe(false);
    journal.commit();
    expect(await settled(telemetry)).toBe(true);
    expect(await settled(other)).toBe(true);
    expect(await settled(up)).toBe(false);
    chirpstack.commit();
    expect(await settled(up)).toBe(true);
  });

  it('lets a QoS 0 message go once it is in the journal, without waiting for its fsync', async () => {
    const tap = createEmbeddedTap();
    const journal = recordingSink();
    tap.attach(journal.sink);
    expect(await settled(tap.beforePuback('tsunagaru/v1/water-meter/wm-1/telemetry', Buffer.from('{}'), 0))).toBe(true);
    expect(await settled(tap.beforePuback('tsunagaru/v1/water-meter/wm-1/telemetry', Buffer.from('{}'), 1))).toBe(false);
    expect(journal.topics).toHaveLength(2);
  });
});
