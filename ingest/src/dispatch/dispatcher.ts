/**
 * The one way after the journal. As soon as records are durable the dispatcher reads them, in journal
 * order, validates each once (steps.ts), and hands them on twice:
 *
 * - to the alert rules at once, as `accepted` (valid telemetry and events; replays from an earlier run
 *   marked), so an alert never waits behind the backlog of the store: when a whole city reports at once
 *   (130,000 meters in seconds, exactly what happens when power comes back after an outage) the store is
 *   tens of seconds behind, and disaster ops would hear that much later (bench city-scale);
 * - to the store batcher (drain/), through the store queue, which stores them and reports `stored`,
 *   `duplicate`, `dead-letter` and `state` for the ledger, commands and the state rules.
 *
 * A message the completeness ledger already holds is a redelivery: it is not told to the rules again (the
 * store batch calls it a duplicate). A reading a store later refuses (a dead letter) may have raised an
 * alert: it was valid by the contract, which is what the rules judge.
 */
import type { Logger } from 'pino';
import type { Journal } from '../journal/journal.js';
import type { Accepted } from './outcome.js';
import type { RawMessage, ValidatedBatch } from './validate.js';

export interface DispatcherOptions {
  journal: Pick<Journal, 'read' | 'waitForData'>;
  /** The validation steps over a batch (dispatch/validate.ts validateBatch with the registry and clock). */
  validate: (records: readonly RawMessage[]) => ValidatedBatch;
  /** Where validated records go on to the store: records `firstLsn` … `firstLsn + batch.size - 1` (the store queue, drain/store-queue.ts). */
  toStore: (firstLsn: number, batch: ValidatedBatch) => void;
  /** The alert rules' way in; not called when alerts are off. */
  onAccepted?: (accepted: Accepted) => void;
  /** Whether the ledger holds (id, boot, seq) already: a redelivery. */
  seen?: (deviceId: string, boot: number, seq: number) => boolean;
  logger: Logger;
  /** Records read at once. Default 1,000. */
  readSize?: number;
}

export interface DispatcherStatus {
  /** Journal records read and validated since start. */
  messages: number;
  /** Of those, told to the alert rules. */
  accepted: number;
  /** The last LSN read. */
  lastLsn: number;
  /** The dispatcher stopped on an unexpected error (see lastError): messages wait in the journal. */
  halted: boolean;
  lastError: string | null;
}

export class Dispatcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private stopWaiting: (() => void) | undefined;
  private readonly state: DispatcherStatus = { messages: 0, accepted: 0, lastLsn: 0, halted: false, lastError: null };

  constructor(private readonly o: DispatcherOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  status(): DispatcherStatus {
    return { ...this.state };
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopWaiting?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const readSize = this.o.readSize ?? 1000;
    while (this.running) {
      try {
        await new Promise<void>((resolve) => {
          this.stopWaiting = resolve;
          void this.o.journal.waitForData(1000).then(resolve);
        });
        if (!this.running) break;
        const records = await this.o.journal.read(readSize);
        if (records.length === 0) continue;
        this.dispatch(records[0]!.lsn, records);
        this.state.lastLsn = records.at(-1)!.lsn;
      } catch (err) {
        // Unexpected (the journal failing to read, a bug): stop; the rest stays journalled for the next start.
        this.o.logger.error({ event: 'dispatch_stopped', err }, 'the dispatcher stopped; messages stay in the journal until restart');
        this.state.lastError = (err as Error).message;
        this.state.halted = true;
        break;
      }
    }
  }

  private dispatch(firstLsn: number, records: readonly RawMessage[]): void {
    const batch = this.o.validate(records);
    this.state.messages += batch.size;
    const { onAccepted, seen } = this.o;
    if (onAccepted) {
      for (const [i, ctx] of batch.ctxs.entries()) {
        const m = ctx.message;
        if (batch.verdicts[i] || !m || (m.channel !== 'telemetry' && m.channel !== 'event')) continue;
        if (seen?.(m.deviceId, m.payload.boot, m.payload.seq)) continue;
        this.state.accepted++;
        try {
          onAccepted({ message: m, receivedAt: ctx.receivedAt, replayed: ctx.fromEarlierRun === true });
        } catch (err) {
          this.o.logger.error({ event: 'on_accepted_failed', err }, 'a message could not be handed to the alert rules');
        }
      }
    }
    this.o.toStore(firstLsn, batch);
  }
}
