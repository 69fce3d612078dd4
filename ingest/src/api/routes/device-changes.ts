import type { AttributeValue, DeviceRecord, GeoLocation } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance } from 'fastify';
import { IngestError } from '../../errors.js';
import { deviceFileFormat } from '../../provisioning/device-file.js';
import { importDeviceFile, MAX_REPORTED_PROBLEMS } from '../../provisioning/device-import.js';
import type { ApiDeps } from '../deps.js';
import { errorBody } from '../error-body.js';
import { canSeeWelfare, FIELD_ROLES, isWelfareKey, roleOf } from '../roles.js';
import { deviceIdParam, location, ref } from '../schemas.js';
import { publicDevice, requireDevice } from './devices.js';

/** A provisioning file of a whole city (130,000 meters in CSV is about 10 MB). */
const IMPORT_MAX_BYTES = 64 * 1024 * 1024;
const IMPORT_TYPES = ['text/csv', 'application/x-ndjson', 'application/jsonl'];

const count = { type: 'integer', minimum: 0 } as const;

interface PatchBody {
  attributes?: Record<string, AttributeValue>;
  location?: GeoLocation | null;
}

/**
 * Changes to provisioned devices: `PATCH /api/v1/devices/:id` (attributes and location, merged) and bulk
 * provisioning, `POST /api/v1/devices/import` (provisioning/device-import.ts). Both audited. The alert
 * rules and the broker's ACL read attributes from the registry at each message, so a change applies to
 * the next one.
 */
export async function deviceChangeRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.patch<{ Params: { id: string }; Body: PatchBody }>(
    '/api/v1/devices/:id',
    {
      config: { roles: FIELD_ROLES },
      schema: {
        summary: 'Change some attributes and the location of a device (JSON Merge Patch: a key set to null is removed; the others stay)',
        tags: ['devices'],
        params: deviceIdParam,
        body: {
          type: 'object',
          minProperties: 1,
          // Not additionalProperties: false, which fastify's ajv answers by dropping the field: a PATCH with a
          // misspelt or unchangeable field (`type`, `attribute`) must be refused, not half applied.
          propertyNames: { enum: ['attributes', 'location'] },
          properties: {
            attributes: {
              type: 'object',
              description: 'attributes to set; null removes one. Attributes named welfare… only for roles with welfare access',
              additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
            },
            location: { anyOf: [location, { type: 'null' }], description: 'the new location; null removes it' },
          },
        },
        response: { 200: ref('Device') },
      },
    },
    async (request) => {
      const before = requireDevice(deps, request.params.id, request);
      const entries = Object.entries(request.body.attributes ?? {});
      const welfare = entries.find(([k]) => isWelfareKey(k));
      if (welfare && !canSeeWelfare(roleOf(request))) throw new IngestError('INGEST_ERR_FORBIDDEN', `attribute ${welfare[0]}: attributes named welfare… are changed only by roles with welfare access (water-bureau, admin)`);
      const device = await deps.registry.patchDevice(before.id, {
        set: Object.fromEntries(entries.filter(([, v]) => v !== null)),
        unset: entries.filter(([, v]) => v === null).map(([k]) => k),
        ...(request.body.location !== undefined ? { location: request.body.location } : {}),
      });
      await request.audit({ action: 'device.update', target: device.id, detail: changesOf(before, device) });
      return publicDevice(device, await deps.operations.getStatus(device.id));
    },
  );

  // Its own context: the CSV and JSON Lines parsers (and the large body limit) apply to this route only.
  await app.register(async (scoped) => {
    scoped.addContentTypeParser(IMPORT_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body));
    scoped.post<{ Querystring: { dryRun: boolean }; Body: string }>(
      '/api/v1/devices/import',
      {
        config: { roles: FIELD_ROLES },
        bodyLimit: IMPORT_MAX_BYTES,
        schema: {
          summary: 'Provision many devices from a CSV or JSON Lines file; new secrets come back once, as CSV',
          description:
            'CSV: a header row with id, type, optional lat and lon, and one column per attribute (string values); JSON Lines: one {"id","type","attributes","location"} per line. ' +
            'A device with a headEnd attribute is a meter behind that head-end gateway: no secret. Every row is checked first; if any is wrong nothing is written and the 400 lists the problems by line. ' +
            'Re-importing is safe: provisioned devices keep their secret and get the file\'s attributes and location merged in.',
          tags: ['provisioning'],
          consumes: IMPORT_TYPES,
          querystring: { type: 'object', additionalProperties: false, properties: { dryRun: { type: 'boolean', default: false, description: 'check and count only' } } },
          body: { type: 'string', minLength: 1, description: 'the file: CSV (text/csv) or JSON Lines (application/x-ndjson)' },
          response: {
            200: {
              type: 'object',
              required: ['format', 'dryRun', 'rows', 'applied', 'created', 'updated', 'unchanged', 'withoutSecret', 'withSecret', 'problems', 'problemCount', 'secretsCsv'],
              additionalProperties: false,
              properties: {
                format: { type: 'string', enum: ['csv', 'jsonl'] },
                dryRun: { type: 'boolean' },
                rows: { ...count, description: 'devices the file names' },
                applied: { type: 'boolean', description: 'written (false for a dry run)' },
                created: count,
                updated: { ...count, description: 'provisioned devices whose attributes or location the file changed' },
                unchanged: count,
                withoutSecret: { ...count, description: 'created without a secret: meters behind a head-end gateway' },
                withSecret: { ...count, description: 'created with a new secret (rows of secretsCsv)' },
                problems: { type: 'array', items: ref('RowProblem'), description: `a dry run's problems by line (at most ${MAX_REPORTED_PROBLEMS})` },
                problemCount: count,
                secretsCsv: { type: ['string', 'null'], description: 'id,type,secret,publish_prefix,command_topic: the new MQTT secrets, shown only this once' },
              },
            },
            413: ref('Error'),
            415: ref('Error'),
          },
        },
      },
      async (request, reply) => {
        const format = deviceFileFormat(request.headers['content-type'] ?? '');
        if (!format) return reply.code(415).send(errorBody(415, `send the file as ${IMPORT_TYPES.join(' or ')}`));
        const role = roleOf(request);
        const report = await importDeviceFile(deps.registry, request.body, format, { dryRun: request.query.dryRun, welfare: canSeeWelfare(role) });
        if (!report.dryRun && !report.applied) {
          const more = report.problemCount > report.problems.length ? ` (the first ${report.problems.length} are listed)` : '';
          return reply.code(400).send({ ...errorBody(400, `${report.problemCount} problem(s) in the file, nothing was imported${more}; fix them and import again`), errors: report.problems });
        }
        if (report.applied) {
          request.log.info({ event: 'devices_imported', created: report.created, updated: report.updated, unchanged: report.unchanged }, 'devices imported');
          const { created, updated, unchanged, withoutSecret, withSecret, rows } = report;
          await request.audit({ action: 'device.import', target: 'devices', detail: { format, rows, created, updated, unchanged, withoutSecret, withSecret } });
        }
        return report;
      },
    );
  });
}

/** What a PATCH changed, for the audit log: attribute → [before, after] (null when absent), location likewise. */
function changesOf(before: DeviceRecord, after: DeviceRecord): Record<string, unknown> {
  const attributes: Record<string, [AttributeValue | undefined, AttributeValue | undefined]> = {};
  for (const key of new Set([...Object.keys(before.attributes), ...Object.keys(after.attributes)])) {
    const [a, b] = [before.attributes[key], after.attributes[key]];
    if (a !== b || Object.hasOwn(before.attributes, key) !== Object.hasOwn(after.attributes, key)) attributes[key] = [a ?? null, b ?? null];
  }
  const moved = before.location?.lat !== after.location?.lat || before.location?.lon !== after.location?.lon;
  return { attributes, ...(moved ? { location: [before.location ?? null, after.location ?? null] } : {}) };
}
