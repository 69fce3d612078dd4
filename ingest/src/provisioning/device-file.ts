import type { AttributeValue, ProvisionInput } from '@tsunagaru/firmware-contracts';
import { CsvError, parse } from 'csv-parse/sync';

/**
 * A provisioning file (bulk import: `POST /api/v1/devices/import`, `npm run devices -- import`) read into
 * rows, each with the line it came from, so every problem is reported by line.
 *
 * CSV (RFC 4180, a header row first): columns `id` and `type` (required), `lat` and `lon` (together),
 * every other column an attribute of that name, its cell a string (an empty cell sets nothing). The rules
 * read numbers and flags from strings ("900", "true"), and a DMA or site code such as "007" stays a code.
 *
 * JSON Lines: one object per line, as the body of `POST /api/v1/devices`: `{"id", "type", "attributes"?,
 * "location"?}`, attribute values typed (string, number, boolean, null). Blank lines are skipped.
 *
 * A device with a `headEnd` attribute is a meter behind an LPWA head-end gateway: it gets no secret (it
 * never logs in; the gateway publishes for it). Every other device gets a new secret. Secrets are never
 * read from a file.
 */
export type DeviceFileFormat = 'csv' | 'jsonl';

export interface DeviceFileRow {
  /** 1-based: the line the row starts on. */
  line: number;
  input: ProvisionInput;
}

export interface DeviceFileProblem {
  line: number;
  id?: string;
  message: string;
}

const RESERVED = new Set(['id', 'type', 'lat', 'lon']);
const JSONL_FIELDS = new Set(['id', 'type', 'attributes', 'location']);

/** Format from a file name (.csv, .jsonl, .ndjson) or a Content-Type; undefined when neither fits. */
export function deviceFileFormat(nameOrType: string): DeviceFileFormat | undefined {
  const s = nameOrType.toLowerCase().split(';')[0]!.trim();
  if (s.endsWith('.csv') || s === 'text/csv') return 'csv';
  if (/\.(jsonl|ndjson)$/.test(s) || ['application/x-ndjson', 'application/jsonl', 'application/json-lines'].includes(s)) return 'jsonl';
  return undefined;
}

/** Head-end meters get no secret (`secret: null`); everyone else a generated one (`secret` absent). */
function withSecretRule(input: Omit<ProvisionInput, 'secret'>): ProvisionInput {
  const headEnd = input.attributes?.headEnd;
  return typeof headEnd === 'string' && headEnd !== '' ? { ...input, secret: null } : input;
}

export interface ParsedDeviceFile {
  rows: DeviceFileRow[];
  problems: DeviceFileProblem[];
  /** Device rows in the file, the unreadable ones included. */
  seen: number;
}

export function parseDeviceFile(text: string, format: DeviceFileFormat): ParsedDeviceFile {
  return format === 'csv' ? parseCsv(text) : parseJsonLines(text);
}

function parseCsv(text: string): ParsedDeviceFile {
  const source = text.replace(/^\uFEFF/, '');
  const lineCount = source.split('\n').length;
  let parsed: { record: string[]; info: { bytes: number } }[];
  try {
    // Both line ends, whichever the first line used (a file edited on two systems mixes them).
    parsed = parse(source, { info: true, relax_column_count: true, skip_empty_lines: true, trim: true, record_delimiter: ['\r\n', '\n'] }) as unknown as typeof parsed;
  } catch (err) {
    const line = err instanceof CsvError ? Number((err as CsvError & { lines?: number }).lines ?? 1) : 1;
    return { rows: [], problems: [{ line: Math.min(Math.max(line, 1), lineCount), message: `not valid CSV: ${(err as Error).message}` }], seen: 0 };
  }
  const records = parsed.map((r, i) => ({ record: r.record, line: 0, start: i === 0 ? 0 : parsed[i - 1]!.info.bytes }));
  numberLines(Buffer.from(source, 'utf8'), records);
  const [head, ...body] = records;
  if (!head) return { rows: [], problems: [{ line: 1, message: 'empty file: a header row (id,type,…) and one row per device' }], seen: 0 };
  const header = head.record;
  const problems: DeviceFileProblem[] = [];
  const headerLine = head.line;
  for (const name of ['id', 'type']) if (!header.includes(name)) problems.push({ line: headerLine, message: `header: no "${name}" column (columns: id,type[,lat,lon][,<attribute>…])` });
  if (header.includes('lat') !== header.includes('lon')) problems.push({ line: headerLine, message: 'header: "lat" and "lon" go together' });
  if (header.includes('secret')) problems.push({ line: headerLine, message: 'header: a "secret" column is not accepted: secrets are never read from a file (direct devices get a new one, returned once)' });
  header.forEach((name, i) => {
    if (name === '' || name.length > 64) problems.push({ line: headerLine, message: `header: column ${i + 1} must be named (1..64 characters)` });
    else if (header.indexOf(name) !== i) problems.push({ line: headerLine, message: `header: column "${name}" twice` });
  });
  if (problems.length > 0) return { rows: [], problems, seen: body.length };

  const rows: DeviceFileRow[] = [];
  for (const { record, line } of body) {
    const cell = (name: string) => record[header.indexOf(name)] ?? '';
    if (record.length !== header.length) {
      problems.push({ line, ...(cell('id') ? { id: cell('id') } : {}), message: `${record.length} cells for ${header.length} columns` });
      continue;
    }
    const attributes: Record<string, AttributeValue> = {};
    header.forEach((name, i) => {
      if (!RESERVED.has(name) && record[i] !== '') attributes[name] = record[i]!;
    });
    const location = cell('lat') !== '' || cell('lon') !== '' ? { lat: decimal(cell('lat')), lon: decimal(cell('lon')) } : undefined;
    rows.push({ line, input: withSecretRule({ id: cell('id'), type: cell('type') as ProvisionInput['type'], attributes, ...(location ? { location } : {}) }) });
  }
  return { rows, problems, seen: body.length };
}

/**
 * The line each record starts on, from the byte offsets csv-parse reports (its own line count goes astray
 * on a carriage return inside quotes): the first byte after the previous record that is not a line end.
 */
function numberLines(buf: Buffer, records: Array<{ start: number; line: number }>): void {
  let cursor = 0;
  let line = 1;
  for (const r of records) {
    let at = r.start;
    while (at < buf.length && (buf[at] === 0x0a || buf[at] === 0x0d)) at++;
    for (; cursor < at; cursor++) if (buf[cursor] === 0x0a) line++;
    r.line = line;
  }
}

/** "35.68" → 35.68; anything else NaN, which the registry's location check names ("must be a number in …"). */
const decimal = (text: string) => (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN);

function parseJsonLines(text: string): ParsedDeviceFile {
  const rows: DeviceFileRow[] = [];
  const problems: DeviceFileProblem[] = [];
  let seen = 0;
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const source = raw.trim();
    if (source === '') return;
    seen++;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (err) {
      problems.push({ line, message: `not JSON: ${(err as Error).message}` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ line, message: 'must be an object {"id", "type", "attributes"?, "location"?}' });
      return;
    }
    const o = value as Record<string, unknown>;
    const id = typeof o.id === 'string' ? o.id.slice(0, 80) : undefined;
    const extra = Object.keys(o).filter((k) => !JSONL_FIELDS.has(k));
    if (extra.length > 0) {
      const secret = extra.includes('secret') ? ': secrets are never read from a file (direct devices get a new one, returned once)' : ' (fields: id, type, attributes, location)';
      problems.push({ line, ...(id ? { id } : {}), message: `unexpected field "${extra[0]}"${secret}` });
      return;
    }
    rows.push({ line, input: withSecretRule(o as unknown as ProvisionInput) });
  });
  return { rows, problems, seen };
}
