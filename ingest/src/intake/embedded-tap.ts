/**
 * The embedded ingest's way in (`npm start`: our broker and the ingest in one process). The broker calls
 * `beforePuback` for every authorised PUBLISH before aedes writes the PUBACK (see BrokerOptions); the tap
 * appends the message to the journal and resolves after the group commit. So a device's PUBACK means
 * "fsync'd in the ingest's journal", concurrent devices share one fsync, and a full journal holds the
 * devices' PUBACKs (aedes then reads no more from their sockets) instead of dropping anything.
 */
import { IngestError } from '../errors.js';
import { intakeSink, type IntakeSink, type MessageSink } from './sink.js';

export interface EmbeddedTap {
  /** Give this to createBroker({ beforePuback }). */
  beforePuback(topic: string, payload: Buffer): Promise<void>;
  /** The ingest attaches its journal once open; until then device messages wait (commands never do). */
  attach(journal: MessageSink): void;
  /** Stops taking messages (publishes are refused without PUBACK; devices resend later). */
  detach(): void;
  /** Messages handed to the journal through the tap since start. */
  count(): number;
  /** The tap's way into the journal (intake/sink.ts), for its counters. */
  readonly sink: IntakeSink;
}

export function createEmbeddedTap(clock: () => number = Date.now): EmbeddedTap {
  let journal: MessageSink | undefined;
  let detached = false;
  let waiters: Array<() => void> = [];
  let n = 0;
  /** The journal once attached; until then a device's message waits here, its PUBACK held. */
  const attached: MessageSink = {
    async enqueue(topic, payload, receivedAt) {
      while (!journal && !detached) await new Promise<void>((r) => waiters.push(r));
      if (detached || !journal) throw new IngestError('INGEST_ERR_STOPPING', 'the ingest is stopping; publish again later');
      const queued = await journal.enqueue(topic, payload, receivedAt);
      n++;
      return queued;
    },
  };
  // The same way in as the subscriber's: commands (the ingest's own, published through this broker) are
  // acknowledged at once, whether or not a journal is attached.
  const sink = intakeSink(attached);
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const r of w) r();
  };
  return {
    sink,
    async beforePuback(topic, payload) {
      const { durable } = await sink.enqueue(topic, payload, clock());
      await durable;
    },
    attach(j) {
      journal = j;
      detached = false;
      wake();
    },
    detach() {
      detached = true;
      journal = undefined;
      wake();
    },
    count: () => n,
  };
}
