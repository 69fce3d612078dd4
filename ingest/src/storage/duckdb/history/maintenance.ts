/**
 * The history's background work, on the store's own connection (between the drainer's batches):
 * - every FOLD_EVERY_MS: fold pending rows into the rollups and latest values;
 * - every RETENTION_EVERY_MS (and once at start): close finished days, move closed days' raw rows to
 *   segments and old segments to the archive, delete per retention;
 * - every FOLD_EVERY_MS too, while a store made before holds closed rollups of the layout before: convert
 *   a share of a day of them (migrate.ts), so a store opens at once and converts while it serves.
 * A failure is logged and retried at the next tick; stored data is never at risk from it (every step is a
 * transaction, and what was not folded stays pending, still read by the readers).
 */
import type { StoreHistory } from './index.js';

export const FOLD_EVERY_MS = 10_000;
export const RETENTION_EVERY_MS = 3_600_000;

export interface MaintenanceLog {
  (level: 'info' | 'warn' | 'error', event: string, detail: Record<string, unknown>, message: string): void;
}

export class HistoryMaintenance {
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly history: StoreHistory,
    private readonly log: MaintenanceLog = () => undefined,
  ) {}

  start(): void {
    this.timers.push(
      setInterval(() => {
        void this.step('fold', () => this.history.fold());
        void this.step('convert', () => this.history.convertRollups());
      }, FOLD_EVERY_MS).unref(),
    );
    this.timers.push(setInterval(() => void this.step('retention', () => this.retention()), RETENTION_EVERY_MS).unref());
    void this.step('retention', () => this.retention());
  }

  /** Everything now, in order (tests, `npm run store`). */
  async runNow(): Promise<void> {
    await this.step('retention', () => this.retention(), true);
    await this.step('fold', () => this.history.fold(), true);
  }

  private async retention(): Promise<void> {
    await this.history.closeDays();
    const r = await this.history.applyRetention();
    if (r.segmented > 0 || r.archived > 0 || r.archiveDeleted > 0) this.log('info', 'retention', { ...r }, `retention: ${r.segmented} day parts to segments, ${r.archived} to the archive, ${r.archiveDeleted} archived deleted`);
  }

  /** Runs `op` after the previous step; `rethrow` for callers that must know. */
  private step(name: string, op: () => Promise<unknown>, rethrow = false): Promise<void> {
    const next = this.running.then(async () => {
      if (this.stopped) return;
      try {
        await op();
      } catch (err) {
        this.log('error', 'history_maintenance_failed', { step: name, err: (err as Error).message }, `history ${name} failed; retried at the next tick`);
        if (rethrow) throw err;
      }
    });
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Stops the timers and waits for a step in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }
}
