/**
 * Every error @tsunagaru/broker throws, with stable codes (fastify style). Registry errors live in
 * registry/errors.ts (REGISTRY_ERR_…) because the ingest imports the registry alone; they are
 * re-exported here so one import reaches every code.
 */
import { CodedError, type CodedErrorInit } from '@tsunagaru/firmware-contracts';

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
  /**
   * A PUBLISH refused by a check (publish-checks.ts: ACL, size, rate, a cluster that cannot take it):
   * handed to aedes, which closes the connection (MQTT 3.1.1 has no negative PUBACK).
   */
  PUBLISH_REFUSED: 'BROKER_ERR_PUBLISH_REFUSED',
  /** A CONNECT refused by a check (connect-checks.ts), with the CONNACK return code it answers. */
  CONNECT_REFUSED: 'BROKER_ERR_CONNECT_REFUSED',
  /** The log destination could not take a line (disk full or failing); the line is dropped and counted. */
  LOG_WRITE: 'BROKER_ERR_LOG_WRITE',
} as const;

export type BrokerErrorCode = (typeof BROKER_ERROR_CODES)[keyof typeof BROKER_ERROR_CODES];

/** A listen failure may clear (the port frees up), so may Redis coming up; bad config and a closed broker do not. */
const CAN_RETRY: ReadonlySet<BrokerErrorCode> = new Set<BrokerErrorCode>(['BROKER_ERR_LISTEN', 'BROKER_ERR_REDIS', 'BROKER_ERR_PUBLISH_REFUSED', 'BROKER_ERR_LOG_WRITE']);

/** Every error @tsunagaru/broker throws (the template of all packages: firmware-contracts CodedError). */
export class BrokerError extends CodedError<BrokerErrorCode> {
  override readonly name = 'BrokerError';

  constructor(code: BrokerErrorCode, message: string, init: CodedErrorInit = {}) {
    super(code, message, CAN_RETRY.has(code), init);
  }
}
