import type { preValidationHookHandler, RouteOptions } from 'fastify';
import { IngestError } from '../errors.js';

type Schema = { type?: string | string[]; anyOf?: Schema[]; properties?: Record<string, Schema> };

const numeric = (s: Schema): boolean => [s.type].flat().some((t) => t === 'integer' || t === 'number') || (s.anyOf ?? []).some(numeric);
const INFINITE = /^\s*[+-]?Infinity\s*$/;

/**
 * ajv's type coercion turns the query text "Infinity" into the number Infinity and lets it through
 * `maximum` (found by the property test: `limit=Infinity` reached DuckDB and answered 500). So a route
 * whose query has numeric parameters refuses an infinite one before validation, naming it.
 */
export function refuseInfiniteNumbers(route: RouteOptions): void {
  const props = ((route.schema as { querystring?: Schema } | undefined)?.querystring?.properties ?? {}) as Record<string, Schema>;
  const keys = Object.entries(props).filter(([, s]) => numeric(s)).map(([k]) => k);
  if (keys.length === 0) return;
  const hook: preValidationHookHandler = (request, _reply, done) => {
    const query = request.query as Record<string, unknown>;
    for (const key of keys) {
      const values = [query[key]].flat();
      if (values.some((v) => typeof v === 'string' && INFINITE.test(v))) return done(new IngestError('INGEST_ERR_BAD_REQUEST', `querystring.${key}: must be a finite number, got ${JSON.stringify(String(values[0]).slice(0, 32))}`));
    }
    done();
  };
  route.preValidation = [hook, ...[route.preValidation ?? []].flat()];
}
