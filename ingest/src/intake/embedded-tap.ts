/**
 * The embedded ingest's way in (`npm start`: our broker and the ingest in one process). The broker calls
 * `beforePuback` for every authorised PUBLISH before aedes writes the PUBACK (see BrokerOptions); the tap
 * appends the message to the journal and resolves after the group commit. So a device's PUBACK means
 * "fsync'd in the ingest's journal", concurrent devices share one fsync, and a full journal holds the
 * devices' PUBACKs (aedes then reads no more from their sockets) instead of dropping anything.
 */
import { IngestError } from '../errors.js';
import type { MessageSink } from './mqtt-subscriber.js';

export interface EmbeddedTap {
  /** Give this to createBroker({ beforePuback }). */
  beforePuback(topic: string, payload: Buffer): Promise<void>;
  /** The ingest attaches its journal once open; until then publishes wait. */
  attach(sink: MessageSink): void;
  /** Stops taking messages (publishes are refused without PUBACK; devices resend later). */
  detach(): void;
  /** Messages journalled through the tap since start. */
  count(): number;
}

/** Only device → cloud traffic of contract v1 is journalled; `cmd` is the cloud's own (contracts-v1 "Topics"). */
const wanted = (topic: string) => topic.startsWith('tsunagaru/v1/') && !topic.endsWith('/cmd');

export function createEmbeddedTap(clock: () => number = Date.now): EmbeddedTap {
  let sink: MessageSink | undefined;
  let detached = false;
  let waiters: Array<() => void> = [];
  let n = 0;
  return {
    async beforePuback(topic, payload) {
      if (!wanted(topic)) return;
      while (!sink && !detached) await new Promise<void>((r) => waiters.push(r));
      if (detached || !sink) throw new IngestError('INGEST_ERR_JOURNAL', 'the ingest is stopping; publish again later', true);
      const { durable } = await sink.enqueue(topic, payload, clock());
      await durable;
      n++;
    },
    attach(s) {
      sink = s;
      detached = false;
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    },
    detach() {
      detached = true;
      sink = undefined;
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    },
    count: () => n,
  };
}
