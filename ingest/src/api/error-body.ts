import { STATUS_CODES } from 'node:http';
import type { FastifyError } from 'fastify';
import { BusyError } from '../errors.js';

/** Our own codes and their HTTP status; any other error is named by its status (CODE_BY_STATUS). */
const STATUS_BY_CODE: Record<string, number> = {
  INGEST_ERR_NOT_FOUND: 404,
  INGEST_ERR_BAD_REQUEST: 400,
  INGEST_ERR_CONFLICT: 409,
  INGEST_ERR_UNAUTHORIZED: 401,
  INGEST_ERR_FORBIDDEN: 403,
  INGEST_ERR_TOO_MANY_REQUESTS: 429,
  INGEST_ERR_BUSY: 503,
  REGISTRY_ERR_EXISTS: 409,
  REGISTRY_ERR_NOT_FOUND: 404,
  REGISTRY_ERR_INVALID: 400,
  INGEST_ERR_ALERT_STATE: 409,
  INGEST_ERR_ALERT_CONFIG: 400,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'INGEST_ERR_BAD_REQUEST',
  401: 'INGEST_ERR_UNAUTHORIZED',
  403: 'INGEST_ERR_FORBIDDEN',
  404: 'INGEST_ERR_NOT_FOUND',
  405: 'INGEST_ERR_METHOD_NOT_ALLOWED',
  406: 'INGEST_ERR_NOT_ACCEPTABLE',
  409: 'INGEST_ERR_CONFLICT',
  413: 'INGEST_ERR_PAYLOAD_TOO_LARGE',
  414: 'INGEST_ERR_URI_TOO_LONG',
  415: 'INGEST_ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'INGEST_ERR_TOO_MANY_REQUESTS',
  431: 'INGEST_ERR_HEADERS_TOO_LARGE',
  503: 'INGEST_ERR_BUSY',
};

export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** The one error body of the API (component `Error`): status, stable code, status name, what to do. */
export function errorBody(statusCode: number, message: string, code = CODE_BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'INGEST_ERR_INTERNAL' : 'INGEST_ERR_BAD_REQUEST')): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/**
 * Any error a route or fastify raised → status, body, Retry-After. Our codes keep their code; fastify's
 * (FST_ERR_…) are named by status, so a client sees one code vocabulary. A 5xx never shows its cause.
 */
export function describeError(err: FastifyError | Error): { status: number; body: ErrorBody; retryAfterSec?: number } {
  const own = (err as { code?: string }).code;
  const known = own !== undefined && own in STATUS_BY_CODE;
  const fastifyStatus = (err as FastifyError).statusCode;
  const status = known ? STATUS_BY_CODE[own]! : (err as FastifyError).validation ? 400 : fastifyStatus && fastifyStatus >= 400 && fastifyStatus < 600 ? fastifyStatus : 500;
  const message = status >= 500 && !known ? 'internal error; see the ingest log' : err.message;
  return {
    status,
    body: errorBody(status, message, known ? own : undefined),
    ...(err instanceof BusyError ? { retryAfterSec: err.retryAfterSec } : {}),
  };
}
