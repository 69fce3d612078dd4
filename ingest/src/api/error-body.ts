import { STATUS_CODES } from 'node:http';
import type { FastifyError } from 'fastify';
import { httpStatusOf, IngestError } from '../errors.js';

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
  // Our codes carry their status (errors.ts); those that say 500 (storage, a bug) are not the client's
  // business beyond "internal error".
  const own = httpStatusOf(err);
  const known = own !== undefined && own !== 500;
  const fastifyStatus = (err as FastifyError).statusCode;
  const status = known ? own : (err as FastifyError).validation ? 400 : fastifyStatus && fastifyStatus >= 400 && fastifyStatus < 600 ? fastifyStatus : 500;
  const message = status >= 500 && !known ? 'internal error; see the ingest log' : err.message;
  const retryAfterSec = err instanceof IngestError ? err.retryAfterSec : undefined;
  return {
    status,
    body: errorBody(status, message, known ? (err as { code: string }).code : undefined),
    ...(retryAfterSec !== undefined ? { retryAfterSec } : {}),
  };
}
