/**
 * Every error @tsunagaru/broker throws, with stable codes (fastify style). Registry errors live in
 * registry/errors.ts (REGISTRY_ERR_…) because the ingest imports the registry alone; they are
 * re-exported here so one import reaches every code.
 */
export { RegistryError, REGISTRY_ERROR_CODES, isRegistryError, type RegistryErrorCode } from './registry/errors.js';

export const BROKER_ERROR_CODES = {
  /** An option or environment variable is invalid; the message names it. */
  CONFIG: 'BROKER_ERR_CONFIG',
  /** The MQTT listener could not bind (port in use, address not available…). */
  LISTEN: 'BROKER_ERR_LISTEN',
  /** listen() after close(). */
  CLOSED: 'BROKER_ERR_CLOSED',
  /** A TLS certificate could not be generated (no openssl) or loaded. */
  TLS: 'BROKER_ERR_TLS',
  /** Cluster mode: Redis (BROKER_REDIS_URL) could not be reached at start. */
  REDIS: 'BROKER_ERR_REDIS',
} as const;

export type BrokerErrorCode = (typeof BROKER_ERROR_CODES)[keyof typeof BROKER_ERROR_CODES];

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: BrokerErrorCode;

  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** A listen failure may clear (the port frees up), so may Redis coming up; bad config and a closed broker do not. */
  canRetry(): boolean {
    return this.code === 'BROKER_ERR_LISTEN' || this.code === 'BROKER_ERR_REDIS';
  }
}
