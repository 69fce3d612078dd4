import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ErrorObject } from 'ajv';
import { IngestError } from '../errors.js';
import { MemoryAuditLog } from './audit-log.js';
import { installAccessControl } from './access.js';
import { defaultApiSettings } from './api-settings.js';
import './auth.js';
import { completeContracts } from './contract.js';
import type { ApiDeps } from './deps.js';
import { describeError, errorBody } from './error-body.js';
import { ExportSlots } from './export-slots.js';
import { capConnections, serverTimeouts } from './http-limits.js';
import { consoleRoutes } from './routes/console.js';
import { exportRoutes } from './routes/exports.js';
import { waterRoutes } from './routes/water.js';
import { alertRoutes } from './routes/alerts.js';
import { resilienceRoutes } from './routes/resilience.js';
import { closeAlertStreams } from '../notify/sse.js';
import { auditRoutes } from './routes/audit.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { provisioningRoutes } from './routes/provisioning.js';
import { sharedSchemas, TIME_PARAM_HINT } from './schemas.js';
import { FileTokenStore } from './tokens.js';
import { deviceRoutes } from './routes/devices.js';
import { deviceChangeRoutes } from './routes/device-changes.js';
import { seriesRoutes } from './routes/series.js';
import { healthRoutes } from './routes/health.js';
import { ledgerRoutes } from './routes/ledger.js';
import { commandRoutes } from './routes/commands.js';
import { integrationRoutes } from './routes/integrations.js';

/** "querystring.to: must be …, got "x"": the field, what it must be and (for a value) what came. */
function formatValidation(errors: ErrorObject[], dataVar: string): Error {
  // An anyOf (a time: epoch ms or ISO 8601) fails with one error per branch; say it once, in words.
  const alternatives = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const lines = errors
    .filter((e) => e.keyword === 'anyOf' || !alternatives.has(e.instancePath))
    .map((e) => {
      const field = `${dataVar}${e.instancePath.replaceAll('/', '.')}`;
      const got = e.data === undefined || typeof e.data === 'object' ? '' : `, got ${JSON.stringify(e.data).slice(0, 64)}`;
      if (e.keyword === 'anyOf') return `${field}: must be ${TIME_PARAM_HINT}${got}`;
      const missing = e.keyword === 'required' ? `.${String(e.params.missingProperty)}` : '';
      const allowed = e.keyword === 'enum' ? `: ${(e.params.allowedValues as unknown[]).join(', ')}` : '';
      const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
      return `${field}${missing}: ${e.message ?? 'is invalid'}${allowed}${extra}`;
    });
  return new IngestError('INGEST_ERR_BAD_REQUEST', lines.join('; '));
}

/**
 * Builds the REST API without listening (tests use `inject`; style: fastify's Testing guide).
 * `https`: serve HTTPS with this PEM certificate and key (HTTP_TLS_CERT / HTTP_TLS_KEY, or the
 * development certificate of `npm start`).
 */
export async function buildApp(deps: ApiDeps, logger?: Logger, https?: { cert: string | Buffer; key: string | Buffer }): Promise<FastifyInstance> {
  const settings = deps.settings ?? defaultApiSettings();
  const { node, ...timeouts } = serverTimeouts(settings);
  // With `https` fastify's types switch to an https.Server instance; routes and hooks are the same.
  const app = Fastify({
    ...(https ? { https: { cert: https.cert, key: https.key, minVersion: 'TLSv1.2' as const, ...node } } : { http: node }),
    ...timeouts,
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: 256 * 1024,
    // Nullable fields are written as type: ["integer", "null"], which ajv's strict mode wants declared;
    // verbose gives the error formatter the value that failed.
    ajv: { customOptions: { allowUnionTypes: true, verbose: true } },
    // Field-named validation messages: "body.type: must be equal to one of the allowed values".
    schemaErrorFormatter: (errors, dataVar) => formatValidation(errors as ErrorObject[], dataVar),
  });
  const connections = capConnections(app.server, settings, app.log);

  for (const schema of sharedSchemas()) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tsunagaru ingest API',
        version: '1.0.0',
        description:
          'Devices, readings, alerts and dead letters of the Tsunagaru telemetry ingest. Times in JSON bodies are epoch milliseconds (UTC). ' +
          'Every error answers the Error component with a stable `code`. Each operation lists the roles that may call it (`x-roles`).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their names in components.schemas (not def-0, def-1…).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { deepLinking: false } });
  completeContracts(app);

  // One access check for every route (access.ts): token → role → the route's `config.roles`.
  const audit = deps.audit ?? new MemoryAuditLog();
  installAccessControl(app, { tokens: deps.tokens ?? new FileTokenStore(undefined, deps.adminToken), audit });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, body, retryAfterSec } = describeError(err);
    if (status >= 500 && body.code === 'INGEST_ERR_INTERNAL') request.log.error({ err }, 'API request failed');
    if (retryAfterSec !== undefined) void reply.header('retry-after', String(retryAfterSec));
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}; the routes are listed at /api/docs`));
  });

  const slots = new ExportSlots(settings);
  const apiStatus = () => {
    const readers = deps.storeReaders?.();
    return {
      exportsRunning: slots.count,
      ...(readers ? { readers: { pool: readers.pool, exports: readers.open - readers.pool.open } } : {}),
      http: { ...connections.stats(), maxConnections: settings.maxConnections, maxConnectionsPerAddress: settings.maxConnectionsPerAddress },
    };
  };

  await app.register(async (scoped) => {
    await healthRoutes(scoped, deps, apiStatus);
    await deviceRoutes(scoped, deps);
    await deviceChangeRoutes(scoped, deps);
    if (deps.history) await seriesRoutes(scoped, deps);
    await deadLetterRoutes(scoped, deps);
    await provisioningRoutes(scoped, deps);
    await auditRoutes(scoped, audit);
    await consoleRoutes(scoped);
    if (deps.ledger) await ledgerRoutes(scoped, deps, deps.ledger);
    if (deps.commands) await commandRoutes(scoped, deps, deps.commands);
    await integrationRoutes(scoped, deps, deps.integrations);
    if (deps.exports) await exportRoutes(scoped, deps, deps.exports, slots);
    if (deps.water) await waterRoutes(scoped, deps, deps.water);
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
