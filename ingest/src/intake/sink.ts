/**
 * Where both ways in hand a message: the MQTT subscriber (mqtt-subscriber.ts, behind the PUBACK gate) and
 * the embedded broker's tap (embedded-tap.ts). Both see the same sink, the journal, through `intakeSink`.
 */

/** `enqueue` waits while the journal is full or refusing; `durable` settles on its fsync (rejects: do not acknowledge). */
export interface MessageSink {
  enqueue(topic: string, payload: Buffer, receivedAt: number): Promise<{ durable: Promise<unknown> }>;
}

export interface IntakeSink extends MessageSink {
  /** `cmd` messages seen and not journalled since start. */
  skippedCommands(): number;
}

const NOTHING_TO_WAIT_FOR = Promise.resolve();

/** A sink that keeps nothing and lets the PUBACK go at once: for the ingest's own outgoing traffic. */
export const acknowledgeAtOnce: MessageSink = { enqueue: () => Promise.resolve({ durable: NOTHING_TO_WAIT_FOR }) };

/**
 * The journal as the ways in see it. contracts-v1 "Topics": `cmd` is cloud → device traffic, and the
 * ingest sees its own commands (its subscription to `tsunagaru/v1/#` on an external broker; the embedded
 * broker's hook for every authorised PUBLISH). It keeps none: each is acknowledged at once and never
 * reaches the journal, so nothing after the journal has to tell commands apart. This is the one place
 * commands are skipped.
 */
export function intakeSink(journal: MessageSink): IntakeSink {
  let skipped = 0;
  return {
    enqueue(topic, payload, receivedAt) {
      if (topic.endsWith('/cmd')) {
        skipped++;
        return Promise.resolve({ durable: NOTHING_TO_WAIT_FOR });
      }
      return journal.enqueue(topic, payload, receivedAt);
    },
    skippedCommands: () => skipped,
  };
}
