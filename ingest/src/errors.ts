/**
 * Every error the ingest raises on purpose (the template of all packages: firmware-contracts CodedError).
 * Each code carries its HTTP status (what the API answers when a request meets it) and whether retrying
 * the same call later can help. Codes are part of the API: never rename one, only add.
 */
import type { RegistryErrorCode } from '@tsunagaru/broker';
import { CodedError, type CodedErrorInit } from '@tsunagaru/firmware-contracts';

export const INGEST_ERRORS = {
  /** A setting (environment variable, option) is invalid; the message names it and the fix. */
  INGEST_ERR_CONFIG: { status: 500, canRetry: false },
  /** The alert rules file (or inline rules config) is invalid; the message names the field. */
  INGEST_ERR_ALERT_CONFIG: { status: 400, canRetry: false },
  /** The embedded store cannot be opened, read or written. */
  INGEST_ERR_STORAGE: { status: 500, canRetry: true },
  /** A time-series server refused data as invalid (HTTP 400/413): retrying the same data cannot succeed. */
  INGEST_ERR_STORE_REJECTED: { status: 500, canRetry: false },
  /** The ingest's own journal cannot be written or read (disk full, permissions, corruption), or is closing. */
  INGEST_ERR_JOURNAL: { status: 503, canRetry: true },
  INGEST_ERR_BAD_REQUEST: { status: 400, canRetry: false },
  INGEST_ERR_UNAUTHORIZED: { status: 401, canRetry: false },
  /** The API caller's role may not do this. */
  INGEST_ERR_FORBIDDEN: { status: 403, canRetry: false },
  INGEST_ERR_NOT_FOUND: { status: 404, canRetry: false },
  INGEST_ERR_CONFLICT: { status: 409, canRetry: false },
  /** An alert operation that the alert's state does not allow (e.g. shelving a cleared alert). */
  INGEST_ERR_ALERT_STATE: { status: 409, canRetry: false },
  /** This caller has too much running at once, e.g. exports (answered with Retry-After). */
  INGEST_ERR_TOO_MANY_REQUESTS: { status: 429, canRetry: true },
  /** The store's readers are all busy, or a read ran past its time (answered with Retry-After). */
  INGEST_ERR_BUSY: { status: 503, canRetry: true },
  /** A webhook delivery failed; retried until its attempts run out, then dead-lettered. */
  INGEST_ERR_WEBHOOK: { status: 502, canRetry: true },
  /**
   * An integration (ChirpStack, Sparkplug) cannot carry the call yet: no connection to its broker, or a
   * LoRaWAN meter not heard since start (its application unknown). A command waits and is sent again.
   */
  INGEST_ERR_INTEGRATION: { status: 503, canRetry: true },
  /** The ingest is stopping: what was under way is left for the next start (nothing acknowledged is lost). */
  INGEST_ERR_STOPPING: { status: 503, canRetry: true },
  /** A bug: something that must not happen did. */
  INGEST_ERR_INTERNAL: { status: 500, canRetry: false },
} as const satisfies Record<`INGEST_ERR_${string}`, { status: number; canRetry: boolean }>;

export type IngestErrorCode = keyof typeof INGEST_ERRORS;

export interface IngestErrorInit extends CodedErrorInit {
  /** Too much at once: the same request can succeed after this many seconds (the API sends Retry-After). */
  retryAfterSec?: number;
}

export class IngestError extends CodedError<IngestErrorCode> {
  override readonly name: string = 'IngestError';
  /** What the API answers when a request meets this error. */
  readonly status: number;
  readonly retryAfterSec: number | undefined;

  constructor(code: IngestErrorCode, message: string, init: IngestErrorInit = {}) {
    super(code, message, INGEST_ERRORS[code].canRetry, init);
    this.status = INGEST_ERRORS[code].status;
    this.retryAfterSec = init.retryAfterSec;
  }
}

/** Too much at once: the same request can succeed after `retryAfterSec` (the API sends it as Retry-After). */
export class BusyError extends IngestError {
  override readonly name: string = 'BusyError';
  declare readonly retryAfterSec: number;

  constructor(code: 'INGEST_ERR_TOO_MANY_REQUESTS' | 'INGEST_ERR_BUSY', message: string, retryAfterSec: number) {
    super(code, message, { retryAfterSec });
  }
}

export function configError(variable: string, problem: string): IngestError {
  return new IngestError('INGEST_ERR_CONFIG', `${variable}: ${problem}`);
}


/** The registry's codes (thrown by the provisioning routes) as the API answers them. */
const REGISTRY_STATUS: Partial<Record<RegistryErrorCode, number>> = {
  REGISTRY_ERR_EXISTS: 409,
  REGISTRY_ERR_NOT_FOUND: 404,
  REGISTRY_ERR_INVALID: 400,
};

/** The HTTP status of one of our errors, or undefined for any other. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof IngestError) return err.status;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in REGISTRY_STATUS ? REGISTRY_STATUS[code as RegistryErrorCode] : undefined;
}
