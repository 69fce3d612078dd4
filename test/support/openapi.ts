/**
 * The API's own OpenAPI document as a test oracle: its operations (with the roles each declares) and a
 * validator of answers against the response schemas it documents (ajv, JSON Schema 2020-12 as OpenAPI
 * 3.1 uses). Tests walk the document, so a route is covered the day it is added.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

export interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  schema: Record<string, unknown>;
}

export interface Operation {
  summary?: string;
  'x-roles'?: string[];
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: object }> }>;
}

export interface Route {
  method: string;
  /** OpenAPI form: /api/v1/devices/{id} */
  path: string;
  op: Operation;
}

export function routesOf(doc: OpenApiDoc): Route[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

export const isPublic = (r: Route) => (r.op['x-roles'] ?? []).includes('public');

/** Validates an answer (status, content type, body) against what the document says of that status. */
export function answerValidator(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  // Registered whole, so a response schema's $ref '#/components/schemas/X' resolves against the document.
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
  const cache = new Map<string, ValidateFunction>();
  const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
  return (route: Route, status: number, contentType: string, body: unknown): string | undefined => {
    const documented = route.op.responses[String(status)] ?? route.op.responses[`${String(status)[0]}XX`];
    if (!documented) return `${route.method} ${route.path} answered ${status}, which it does not document`;
    const media = Object.keys(documented.content ?? {}).find((m) => contentType.startsWith(m));
    if (!media) return `${route.method} ${route.path} ${status}: content type ${contentType} is not documented (${Object.keys(documented.content ?? {}).join(', ')})`;
    if (!media.includes('json')) return undefined;
    const key = `${route.path} ${route.method} ${status} ${media}`;
    let validate = cache.get(key);
    if (!validate) {
      validate = ajv.compile({ $ref: `openapi.json#/${pointer('paths', route.path, route.method.toLowerCase(), 'responses', String(status), 'content', media, 'schema')}` });
      cache.set(key, validate);
    }
    if (validate(body)) return undefined;
    return `${route.method} ${route.path} ${status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`;
  };
}
