import type { Logger } from '../logger.js';
import type { DropReport, OutgoingMessage } from './types.js';

/** Builds one drop report per drop-oldest pass, keeps the totals, and logs every drop (never silent). */
export class DropCounter {
  private messages = 0;
  private samples = 0;

  constructor(
    private readonly logger: Logger,
    private readonly onDrop?: (report: DropReport) => void,
  ) {}

  totals(): { droppedMessages: number; droppedSamples: number } {
    return { droppedMessages: this.messages, droppedSamples: this.samples };
  }

  begin(): DropReport & { message(m: OutgoingMessage): void; sample(): void } {
    const report: DropReport = { messages: 0, samples: 0, events: 0 };
    return Object.assign(report, {
      message(m: OutgoingMessage) {
        report.messages++;
        report.samples += m.samples;
        if (m.channel === 'event') report.events++;
        const key = { boot: m.boot, seq: m.seq };
        report.firstDropped ??= key;
        report.lastDropped = key;
      },
      sample() {
        report.samples++;
      },
    });
  }

  end(report: DropReport, why: string): void {
    if (report.messages === 0 && report.samples === 0) return;
    this.messages += report.messages;
    this.samples += report.samples;
    const { messages, samples, events, firstDropped, lastDropped } = report;
    this.logger.warn(
      { event: 'buffer_drop', policy: 'drop-oldest', messages, samples, events, firstDropped, lastDropped, droppedMessagesTotal: this.messages, droppedSamplesTotal: this.samples },
      `${why}: dropped the oldest ${messages} message(s) and ${samples} sample(s); the ingest will see the gap`,
    );
    this.onDrop?.({ messages, samples, events, ...(firstDropped ? { firstDropped } : {}), ...(lastDropped ? { lastDropped } : {}) });
  }
}
