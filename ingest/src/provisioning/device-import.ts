import { buildTopic, devicePrefix, type DeviceRegistry, type ImportOutcome } from '@tsunagaru/firmware-contracts';
import { IngestError } from '../errors.js';
import { parseDeviceFile, type DeviceFileFormat, type DeviceFileProblem, type DeviceFileRow } from './device-file.js';

/**
 * Bulk provisioning of a whole city from one file (device-file.ts), for the API and the CLI alike. All or
 * nothing: every row is checked (on its own, against the others, against the registry) before anything is
 * written, and the report names each problem by line. A re-import is safe: devices already provisioned
 * keep their secret and get the file's attributes and location merged in; unchanged ones are not written.
 */
export interface DeviceImportReport {
  format: DeviceFileFormat;
  dryRun: boolean;
  /** Devices the file names. */
  rows: number;
  /** Written. False for a dry run and whenever a row has a problem (then nothing was written). */
  applied: boolean;
  created: number;
  updated: number;
  unchanged: number;
  /** Created without a secret: meters behind a head-end gateway (attribute headEnd). */
  withoutSecret: number;
  /** Created with a new secret: the rows of `secretsCsv`. */
  withSecret: number;
  /** By line, at most MAX_REPORTED_PROBLEMS of them. */
  problems: DeviceFileProblem[];
  problemCount: number;
  /** `id,type,secret,publish_prefix,command_topic`: the new secrets, here and nowhere else. Null when none. */
  secretsCsv: string | null;
}

export interface DeviceImportOptions {
  dryRun?: boolean;
  /** May the caller set attributes named welfare… (roles.ts canSeeWelfare)? */
  welfare: boolean;
  /** Rows per registry append + fsync (registry default 5000). */
  batchSize?: number;
}

export const MAX_REPORTED_PROBLEMS = 1000;

const WELFARE_KEY = /^welfare/i;

export async function importDeviceFile(registry: DeviceRegistry, text: string, format: DeviceFileFormat, options: DeviceImportOptions): Promise<DeviceImportReport> {
  const dryRun = options.dryRun ?? false;
  const { rows, problems, seen } = parseDeviceFile(text, format);
  if (!options.welfare) {
    const row = rows.find((r) => Object.keys(r.input.attributes ?? {}).some((k) => WELFARE_KEY.test(k)));
    if (row) throw new IngestError('INGEST_ERR_FORBIDDEN', `line ${row.line}: attributes named welfare… are set only by roles with welfare access (water-bureau, admin)`);
  }
  problems.push(...unknownHeadEnds(rows, registry));
  // With problems already, a dry run of the registry's checks adds its own, so one pass reports them all.
  const outcome = await registry.importDevices(
    rows.map((r) => r.input),
    { dryRun: dryRun || problems.length > 0, ...(options.batchSize ? { batchSize: options.batchSize } : {}) },
  );
  for (const e of outcome.errors) problems.push({ line: rows[e.index]!.line, ...(e.id ? { id: e.id } : {}), message: e.message });
  problems.sort((a, b) => a.line - b.line);
  return {
    format,
    dryRun,
    rows: seen,
    applied: outcome.applied && problems.length === 0,
    created: outcome.created,
    updated: outcome.updated,
    unchanged: outcome.unchanged,
    withoutSecret: outcome.withoutSecret,
    withSecret: outcome.created - outcome.withoutSecret,
    problems: problems.slice(0, MAX_REPORTED_PROBLEMS),
    problemCount: problems.length,
    secretsCsv: secretsCsv(outcome.secrets),
  };
}

/** A head-end meter whose gateway is neither provisioned nor in the file would never be heard from (a typo?). */
function unknownHeadEnds(rows: readonly DeviceFileRow[], registry: DeviceRegistry): DeviceFileProblem[] {
  const inFile = new Set(rows.map((r) => r.input.id));
  return rows.flatMap((r) => {
    const headEnd = r.input.attributes?.headEnd;
    if (typeof headEnd !== 'string' || headEnd === '' || inFile.has(headEnd) || registry.getDevice(headEnd)) return [];
    return [{ line: r.line, id: r.input.id, message: `headEnd ${headEnd.slice(0, 80)}: no such gateway, neither provisioned nor in this file` }];
  });
}

/** Ids match [A-Za-z0-9_-] and secrets are base64url: no field needs quoting. */
function secretsCsv(secrets: ImportOutcome['secrets']): string | null {
  if (secrets.length === 0) return null;
  const lines = secrets.map((s) => `${s.id},${s.type},${s.secret},${devicePrefix(s.type, s.id)},${buildTopic(s.type, s.id, 'cmd')}\r\n`);
  return `id,type,secret,publish_prefix,command_topic\r\n${lines.join('')}`;
}
