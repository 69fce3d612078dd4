/**
 * The embedded ingest's way in (`npm start`: our broker and the ingest in one process). The broker calls
 * `beforePuback` for every authorised PUBLISH before aedes writes the PUBACK (see BrokerOptions); the tap
 * appends the message to the journal and resolves after the group commit. So a device's PUBACK means
 * "fsync'd in the ingest's journal", concurrent devices share one fsync, and a full journal holds the
 * devices' PUBACKs (aedes then reads no more from their sockets) instead of dropping anything.
 *
 * The same rule holds for integration traffic on our broker (issue 20): ChirpStack's events and a
 * Sparkplug edge node's messages are converted by their integration and the contract messages journalled
 * before the PUBACK (`route`). Without it aedes would acknowledge them at once and hand them to the
 * integration's in-memory session afterwards: a crash in between lost an uplink ChirpStack believed delivered.
 */
import { IngestError } from '../errors.js';
import { intakeSink, type IntakeSink, type MessageSink } from './sink.js';

/**
 * Which sink takes a message that is not contract traffic: an integration's converter (it journals the
 * contract messages it makes, and resolves `durable` on their fsync), or `acknowledgeAtOnce` for the
 * ingest's own integration traffic (downlinks, NCMD/DCMD, STATE). Undefined: the journal (where a topic
 * outside the contract becomes a dead letter with the reason).
 */
export type IntakeRoute = (topic: string) => MessageSink | undefined;

export interface EmbeddedTap {
  /**
   * Give this to createBroker({ beforePuback }). A QoS 1 or 2 message resolves once fsync'd (its PUBACK
   * waits); a QoS 0 one once in the journal: nothing is acknowledged and nothing would be resent, so waiting
   * for the fsync would only hold the client to one fsync per message (a Sparkplug edge node's NDATA).
   */
  beforePuback(topic: string, payload: Buffer, qos?: 0 | 1 | 2): Promise<void>;
  /**
   * The ingest attaches its journal (and the integrations' routes) once open; until then device and
   * integration messages wait (commands never do).
   */
  attach(journal: MessageSink, route?: IntakeRoute): void;
  /** Stops taking messages (publishes are refused without PUBACK; devices resend later). */
  detach(): void;
  /** Messages handed to the journal through the tap since start. */
  count(): number;
  /** The tap's way into the journal (intake/sink.ts), for its counters. */
  readonly sink: IntakeSink;
}

export function createEmbeddedTap(clock: () => number = Date.now): EmbeddedTap {
  let journal: MessageSink | undefined;
  let route: IntakeRoute | undefined;
  let detached = false;
  let waiters: Array<() => void> = [];
  let n = 0;
  /** The journal once attached; until then a device's message waits here, its PUBACK held. */
  const attached: MessageSink = {
    async enqueue(topic, payload, receivedAt) {
      while (!journal && !detached) await new Promise<void>((r) => waiters.push(r));
      if (detached || !journal) throw new IngestError('INGEST_ERR_STOPPING', 'the ingest is stopping; publish again later');
      // Contract topics never go to a route: the check is one prefix comparison per device message.
      const sink = topic.startsWith('tsunagaru/') ? journal : (route?.(topic) ?? journal);
      const queued = await sink.enqueue(topic, payload, receivedAt);
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
    async beforePuback(topic, payload, qos = 1) {
      const { durable } = await sink.enqueue(topic, payload, clock());
      if (qos > 0) await durable;
      else durable.catch(() => undefined); // a failed commit fails the QoS 1 messages that share it; nothing to tell here
    },
    attach(j, r) {
      journal = j;
      route = r;
      detached = false;
      wake();
    },
    detach() {
      detached = true;
      journal = undefined;
      route = undefined;
      wake();
    },
    count: () => n,
  };
}
