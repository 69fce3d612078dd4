import { CodedError, type CodedErrorInit } from '@tsunagaru/firmware-contracts';

/**
 * Every error the registry throws, with a stable code callers can branch on (the ingest maps
 * REGISTRY_ERR_EXISTS to HTTP 409, REGISTRY_ERR_NOT_FOUND to 404, REGISTRY_ERR_INVALID to 400).
 * Codes are part of the public surface: never rename one, only add.
 */
export const REGISTRY_ERROR_CODES = {
  /** The device id (or service username) is already taken. */
  EXISTS: 'REGISTRY_ERR_EXISTS',
  /** No device with that id. */
  NOT_FOUND: 'REGISTRY_ERR_NOT_FOUND',
  /** Input rejected: bad id, unknown type, short secret, attribute of the wrong kind… */
  INVALID: 'REGISTRY_ERR_INVALID',
  /** A stored secret hash does not parse (`scrypt$N$r$p$salt$hash`). */
  BAD_HASH: 'REGISTRY_ERR_BAD_HASH',
  /** The registry file has a corrupt line that is not the last one: refuse to guess. */
  CORRUPT: 'REGISTRY_ERR_CORRUPT',
  /** A mutation on a registry opened read-only (the standalone broker reads, the ingest writes). */
  READ_ONLY: 'REGISTRY_ERR_READ_ONLY',
  /** The registry was closed. */
  CLOSED: 'REGISTRY_ERR_CLOSED',
} as const;

export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[keyof typeof REGISTRY_ERROR_CODES];

/** The registry's errors, in the template of all packages (firmware-contracts CodedError). */
export class RegistryError extends CodedError<RegistryErrorCode> {
  override readonly name = 'RegistryError';

  /** None of the registry's conditions heal by retrying the same call. */
  constructor(code: RegistryErrorCode, message: string, init: CodedErrorInit = {}) {
    super(code, message, false, init);
  }
}

export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}
