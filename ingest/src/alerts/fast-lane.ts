/**
 * Alerts at receive time: a message reaches the alert rules as soon as it is durable in the journal,
 * not after the drainer has stored everything queued before it.
 *
 * Why: when a whole city reports at once (130,000 meters in seconds, exactly what happens when power comes
 * back after an outage), the journal holds a backlog of tens of seconds, and an alert that waited its turn
 * behind it reached disaster ops that much later (bench city-scale: p50 6–17 s). Rules only need the
 * validated message, and the journal already makes it durable, so they need not wait for the store.
 *
 * Who feeds the engine what, so it sees each message once per run:
 * - this lane: telemetry and events received by this process (validated with the pipeline's own steps);
 * - the drainer: state messages (their outcome, online/stale, comes from the store), and everything the
 *   journal replays from an earlier run (`MessageContext.fromEarlierRun`), which this lane never saw.
 * A message the ledger already holds is a redelivery and is skipped, as the drainer would call it a
 * duplicate. A reading that a store later refuses (a dead letter) may have raised an alert: it was valid
 * by the contract, which is what the rules judge.
 */
import type { Logger } from 'pino';
import type { MessageSink } from '../intake/mqtt-subscriber.js';
import type { Outcome } from '../dispatch/outcome.js';
import { validateMessage, type MessageContext, type PipelineDeps } from '../dispatch/steps.js';

export interface AlertFastLaneOptions {
  /** The alert engine's pipeline hook. */
  onOutcome: (outcome: Outcome, ctx: MessageContext) => void;
  deps: PipelineDeps;
  logger?: Logger;
}

/** The journal as the lane needs it: a sink that also says which record a message became. */
export interface JournalSink {
  enqueue(topic: string, payload: Buffer, receivedAt: number): Promise<{ lsn: number; durable: Promise<unknown> }>;
}

/** What validation made of a message: its context, and the outcome if validation already ended it. */
export interface Validated {
  ctx: MessageContext;
  outcome: Outcome | undefined;
}

/** Validated messages kept for the drainer; past this many it validates again (memory stays bounded). */
const HANDOFF_MAX = 50_000;

export interface AlertFastLane {
  /** Wraps the journal: what it makes durable is then offered to the rules, in journal order. */
  wrap(journal: JournalSink): MessageSink;
  /**
   * The validation this lane did for journal record `lsn`, handed over once to the drainer so a message of
   * this run is parsed and validated once, not twice.
   */
  takeValidated(lsn: number): Validated | undefined;
  /** Whether the drainer should still hand this outcome to the engine (see the module comment). */
  drainerFeeds(outcome: Outcome, ctx: MessageContext): boolean;
  /** Messages handed to the rules by this lane. */
  count(): number;
}

/** The records of one journal group commit, offered together once it is durable. */
interface DurableGroup {
  durable: Promise<unknown>;
  records: Array<{ topic: string; payload: Buffer; receivedAt: number; lsn: number }>;
  offered: boolean;
}

export function createAlertFastLane(o: AlertFastLaneOptions): AlertFastLane {
  let tail: Promise<void> = Promise.resolve();
  let group: DurableGroup | undefined;
  let n = 0;
  const handoff = new Map<number, Validated>();
  /** The drainer asks in journal order; an entry for a record it has asked for already would never be taken. */
  let asked = 0;

  function offer(topicName: string, payload: Buffer, receivedAt: number, lsn: number): void {
    const ctx: MessageContext = { topicName, payload, receivedAt };
    const outcome = validateMessage(ctx, o.deps);
    if (lsn > asked && handoff.size < HANDOFF_MAX) handoff.set(lsn, { ctx, outcome });
    // Invalid, a command, unprovisioned: the drainer dead-letters or ignores it; nothing for the rules.
    if (outcome) return;
    const m = ctx.message!;
    if (m.channel !== 'telemetry' && m.channel !== 'event') return;
    const { boot, seq } = m.payload;
    if (o.deps.seen?.(m.deviceId, boot, seq)) return;
    n++;
    o.onOutcome({ kind: 'stored', deviceId: m.deviceId, boot, seq }, ctx);
  }

  return {
    wrap(journal) {
      return {
        async enqueue(topic, payload, receivedAt) {
          const queued = await journal.enqueue(topic, payload, receivedAt);
          // One link of the chain per group commit (its records share `durable`), offered in journal order
          // once durable, so the rules see messages in the order the journal made them durable.
          if (!group || group.durable !== queued.durable || group.offered) {
            const g: DurableGroup = { durable: queued.durable, records: [], offered: false };
            group = g;
            tail = Promise.all([tail, g.durable]).then(
              () => {
                g.offered = true; // a record of this commit seen later (a sink sharing settled promises) starts a new link
                for (const r of g.records) {
                  try {
                    offer(r.topic, r.payload, r.receivedAt, r.lsn);
                  } catch (err) {
                    o.logger?.error({ event: 'alert_fast_lane_failed', err }, 'a message could not be offered to the alert rules');
                  }
                }
              },
              () => undefined, // not durable: not acknowledged either; the broker resends them
            );
          }
          group.records.push({ topic, payload, receivedAt, lsn: queued.lsn });
          return queued;
        },
      };
    },
    takeValidated(lsn) {
      if (lsn > asked) asked = lsn;
      const v = handoff.get(lsn);
      if (v) handoff.delete(lsn);
      return v;
    },
    drainerFeeds: (outcome, ctx) => outcome.kind === 'state' || ctx.fromEarlierRun === true,
    count: () => n,
  };
}
