/** Every error the ingest raises on purpose, with a stable code (style: fastify lib/errors.js). */
export type IngestErrorCode =
  | 'INGEST_ERR_CONFIG'
  | 'INGEST_ERR_STORAGE'
  | 'INGEST_ERR_NOT_FOUND'
  | 'INGEST_ERR_CONFLICT'
  | 'INGEST_ERR_BAD_REQUEST'
  | 'INGEST_ERR_UNAUTHORIZED'
  /** A time-series server refused data as invalid (HTTP 400/413): retrying the same data cannot succeed. */
  | 'INGEST_ERR_STORE_REJECTED'
  /** The ingest's own journal cannot be written or read (disk full, permissions, corruption). */
  | 'INGEST_ERR_JOURNAL'
  /** The alert rules file (or inline rules config) is invalid; the message names the field. */
  | 'INGEST_ERR_ALERT_CONFIG'
  /** An alert operation that the alert's state does not allow (e.g. shelving a cleared alert). */
  | 'INGEST_ERR_ALERT_STATE'
  /** A webhook delivery failed; retriable until its attempts run out, then dead-lettered. */
  | 'INGEST_ERR_WEBHOOK'
  /** The API caller's role may not do this (HTTP 403). */
  | 'INGEST_ERR_FORBIDDEN'
  /** This caller has too much running at once, e.g. exports (HTTP 429 with Retry-After). */
  | 'INGEST_ERR_TOO_MANY_REQUESTS'
  /** The store's readers are all busy, or a read ran past its time (HTTP 503 with Retry-After). */
  | 'INGEST_ERR_BUSY';

export class IngestError extends Error {
  constructor(
    readonly code: IngestErrorCode,
    message: string,
    /** Whether retrying the same operation later can succeed (e.g. storage briefly unavailable). */
    readonly retriable = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'IngestError';
  }
}

export function configError(variable: string, problem: string): IngestError {
  return new IngestError('INGEST_ERR_CONFIG', `${variable}: ${problem}`);
}

/** Too much at once: the same request can succeed after `retryAfterSec` (the API sends it as Retry-After). */
export class BusyError extends IngestError {
  constructor(
    code: 'INGEST_ERR_TOO_MANY_REQUESTS' | 'INGEST_ERR_BUSY',
    message: string,
    readonly retryAfterSec: number,
  ) {
    super(code, message, true);
    this.name = 'BusyError';
  }
}
