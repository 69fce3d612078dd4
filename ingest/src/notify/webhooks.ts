import type { Logger } from 'pino';
import { backoffDelay } from '../backoff.js';
import { IngestError } from '../errors.js';
import { Sleeper } from '../sleeper.js';
import type { WebhookConfig } from '../alerts/rules-config.js';
import type { AlertStore } from '../alerts/store.js';
import type { AlertEvent } from '../alerts/types.js';

interface Pending {
  event: AlertEvent;
  attempts: number;
}

export interface WebhookNotifierOptions {
  store: Pick<AlertStore, 'addWebhookDeadLetter'>;
  logger?: Logger;
  fetch?: typeof fetch;
}

/** Does this webhook want this event (its severities, groups and event kinds)? */
export function routes(hook: WebhookConfig, e: AlertEvent): boolean {
  return hook.events.includes(e.kind) && hook.severities.includes(e.alert.severity) && hook.groups.includes(e.alert.group);
}

/** 4xx other than 408/429 means the receiver refuses this payload: retrying the same one cannot help. */
function canRetryStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * Alert notifications over HTTP webhooks. One ordered, bounded queue per webhook; each delivery is
 * retried with jittered exponential backoff up to `maxAttempts`, then kept as a dead letter (as is the
 * oldest waiting one when the queue is full, and whatever waits when the ingest stops): nothing is
 * dropped silently.
 */
export class WebhookNotifier {
  private readonly queues: Map<string, Pending[]>;
  private readonly running = new Map<string, Promise<void>>();
  private readonly sleeper = new Sleeper();
  private closing = false;
  private readonly fetch: typeof fetch;

  constructor(
    private readonly hooks: readonly WebhookConfig[],
    private readonly o: WebhookNotifierOptions,
  ) {
    this.queues = new Map(hooks.map((h) => [h.name, []]));
    this.fetch = o.fetch ?? fetch;
  }

  notify(event: AlertEvent): void {
    if (this.closing) return;
    for (const hook of this.hooks) {
      if (!routes(hook, event)) continue;
      const queue = this.queues.get(hook.name)!;
      if (queue.length >= hook.queueLimit) void this.deadLetter(hook, queue.shift()!, 'queue full: the receiver is too slow or down');
      queue.push({ event, attempts: 0 });
      if (!this.running.has(hook.name)) this.running.set(hook.name, this.drain(hook).finally(() => this.running.delete(hook.name)));
    }
  }

  /** Resolves when every queue is empty (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  /** Stops retrying; what is still waiting is dead-lettered with the reason. */
  async close(): Promise<void> {
    this.closing = true;
    this.sleeper.wakeAll();
    await Promise.all(this.running.values());
  }

  private async drain(hook: WebhookConfig): Promise<void> {
    const queue = this.queues.get(hook.name)!;
    while (queue.length > 0) {
      const item = queue[0]!;
      if (this.closing) {
        queue.shift();
        await this.deadLetter(hook, item, 'the ingest stopped before delivery');
        continue;
      }
      item.attempts++;
      const error = await this.deliver(hook, item.event);
      if (error === null) {
        queue.shift();
        continue;
      }
      if (!error.canRetry() || item.attempts >= hook.maxAttempts) {
        queue.shift();
        await this.deadLetter(hook, item, error.message);
        continue;
      }
      const delay = backoffDelay(item.attempts - 1, { initialMs: hook.retryInitialMs, maxMs: hook.retryMaxMs });
      this.o.logger?.warn({ event: 'webhook_retry', webhook: hook.name, attempt: item.attempts, delayMs: delay, err: error.message }, 'alert webhook failed; retrying');
      await this.sleeper.sleep(delay);
    }
  }

  private async deliver(hook: WebhookConfig, event: AlertEvent): Promise<IngestError | null> {
    try {
      const res = await this.fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'tsunagaru-alerts/1', ...hook.headers },
        body: JSON.stringify({ source: 'tsunagaru', ...event }),
        signal: AbortSignal.timeout(hook.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return null;
      return new IngestError('INGEST_ERR_WEBHOOK', `HTTP ${res.status} from ${hook.name}`, { canRetry: canRetryStatus(res.status) });
    } catch (err) {
      return new IngestError('INGEST_ERR_WEBHOOK', `${hook.name}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async deadLetter(hook: WebhookConfig, item: Pending, reason: string): Promise<void> {
    this.o.logger?.error({ event: 'webhook_dead_letter', webhook: hook.name, alertId: item.event.alert.id, kind: item.event.kind, attempts: item.attempts, reason }, 'alert notification dead-lettered');
    await this.o.store
      .addWebhookDeadLetter({ webhook: hook.name, event: item.event, attempts: item.attempts, lastError: reason, failedAt: Date.now() })
      .catch((err: unknown) => this.o.logger?.error({ err, webhook: hook.name }, 'could not store a webhook dead letter'));
  }
}
