import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { IngestError } from '../errors.js';
import { MemoryAuditLog } from '../audit/audit-log.js';
import { installAccessControl } from './access.js';
import './auth.js';
import type { ApiDeps } from './deps.js';
import { consoleRoutes } from './routes/console.js';
import { exportRoutes } from './routes/exports.js';
import { waterRoutes } from './routes/water.js';
import { alertRoutes } from './routes/alerts.js';
import { resilienceRoutes } from './routes/resilience.js';
import { closeAlertStreams } from '../alerts/sse.js';
import { auditRoutes } from './routes/audit.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { provisioningRoutes } from './routes/provisioning.js';
import { FileTokenStore } from './tokens.js';
import { deviceRoutes } from './routes/devices.js';
import { healthRoutes } from './routes/health.js';
import { ledgerRoutes } from './routes/ledger.js';
import { commandRoutes } from './routes/commands.js';

const STATUS_BY_CODE: Record<string, number> = {
  INGEST_ERR_NOT_FOUND: 404,
  INGEST_ERR_BAD_REQUEST: 400,
  INGEST_ERR_CONFLICT: 409,
  INGEST_ERR_UNAUTHORIZED: 401,
  REGISTRY_ERR_EXISTS: 409,
  REGISTRY_ERR_NOT_FOUND: 404,
  REGISTRY_ERR_INVALID: 400,
  INGEST_ERR_ALERT_STATE: 409,
  INGEST_ERR_ALERT_CONFIG: 400,
};

/**
 * Builds the REST API without listening (tests use `inject`; style: fastify's Testing guide).
 * `https`: serve HTTPS with this PEM certificate and key (HTTP_TLS_CERT / HTTP_TLS_KEY, or the
 * development certificate of `npm start`).
 */
export async function buildApp(deps: ApiDeps, logger?: Logger, https?: { cert: string | Buffer; key: string | Buffer }): Promise<FastifyInstance> {
  // With `https` fastify's types switch to an https.Server instance; routes and hooks are the same.
  const app = Fastify({
    ...(https ? { https: { cert: https.cert, key: https.key, minVersion: 'TLSv1.2' as const } } : {}),
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: 256 * 1024,
    // Nullable fields are written as type: ["integer", "null"], which ajv's strict mode wants declared.
    ajv: { customOptions: { allowUnionTypes: true } },
    // Field-named validation messages: "body.type: must be equal to one of the allowed values".
    schemaErrorFormatter: (errors, dataVar) =>
      new Error(
        errors
          .map((e) => {
            const field = `${dataVar}${e.instancePath.replaceAll('/', '.')}`;
            const missing = e.keyword === 'required' ? `.${String(e.params.missingProperty)}` : '';
            const allowed = e.keyword === 'enum' ? `: ${(e.params.allowedValues as unknown[]).join(', ')}` : '';
            const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
            return `${field}${missing}: ${e.message ?? 'is invalid'}${allowed}${extra}`;
          })
          .join('; '),
      ),
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Tsunagaru ingest API', version: '1.0.0', description: 'Devices, readings and dead letters of the Tsunagaru telemetry ingest.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { deepLinking: false } });

  // One access check for every route (access.ts): token → role → the route's `config.roles`.
  const audit = deps.audit ?? new MemoryAuditLog();
  installAccessControl(app, { tokens: deps.tokens ?? new FileTokenStore(undefined, deps.adminToken), audit });

  app.setErrorHandler((err: FastifyError | IngestError, request, reply) => {
    const code = (err as { code?: string }).code ?? 'INGEST_ERR_INTERNAL';
    const status = STATUS_BY_CODE[code] ?? (err as FastifyError).statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, 'API request failed');
    void reply.code(status).send({
      statusCode: status,
      code: (err as FastifyError).validation ? 'INGEST_ERR_BAD_REQUEST' : code,
      error: status >= 500 ? 'Internal Server Error' : status === 404 ? 'Not Found' : status === 409 ? 'Conflict' : 'Bad Request',
      message: status >= 500 ? 'internal error; see the ingest log' : err.message,
    });
  });

  await app.register(async (scoped) => {
    await healthRoutes(scoped, deps);
    await deviceRoutes(scoped, deps);
    await deadLetterRoutes(scoped, deps);
    await provisioningRoutes(scoped, deps);
    await auditRoutes(scoped, audit);
    await consoleRoutes(scoped);
    if (deps.ledger) await ledgerRoutes(scoped, deps, deps.ledger);
    if (deps.commands) await commandRoutes(scoped, deps, deps.commands);
    if (deps.exports) {
      await exportRoutes(scoped, deps, deps.exports);
      await waterRoutes(scoped, deps, deps.exports);
    }
    if (deps.alerts) {
      await alertRoutes(scoped, deps.alerts);
      await resilienceRoutes(scoped, deps.alerts);
    }
  });
  // Server-sent event streams never end on their own; close would wait for them forever.
  const alerts = deps.alerts;
  if (alerts) app.addHook('preClose', async () => closeAlertStreams(alerts));
  return app;
}
