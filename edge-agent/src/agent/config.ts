import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { BOUNDS, configJsonSchema, deepFreeze, DEVICE_ID_PATTERN, DEVICE_TYPES, MAX_SAMPLES, parseConfig, shown, type DeviceType } from '@tsunagaru/firmware-contracts';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EdgeAgentError } from '../errors.js';

/** The edge agent's configuration, validated once at start and then frozen. Every default is listed here. */
export interface AgentConfig {
  device: {
    id: string;
    type: DeviceType;
    /** The MQTT secret: `secret`, or `secretFile` (first line), or env TSUNAGARU_DEVICE_SECRET. Never logged. */
    secret: string;
    /** Default: the agent's version. */
    fw: string;
    model: string;
  };
  mqtt: {
    url: string;
    /** Default 60 s. */
    keepaliveSec: number;
    /** Default 2000 ms. */
    reconnectPeriodMs: number;
    /** Messages published and not yet acknowledged at once. Default 16. */
    maxInFlight: number;
    /** Publish pacing, below the broker's per-device limits (50/s, 256 KiB/s). Defaults 40 and 192 KiB; 0 = off. */
    maxMessagesPerSec: number;
    maxBytesPerSec: number;
  };
  modbus:
    | { transport: 'tcp'; host: string; port: number; unitId: number; timeoutMs: number; retries: number; queueLimit: number; maxGap: number }
    | { transport: 'rtu'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2; unitId: number; timeoutMs: number; retries: number; queueLimit: number; maxGap: number };
  /** A built-in map name or a file path (relative paths: from the config file's directory). */
  registerMap: string;
  sampling: {
    /** Seconds between samples (contract `sampleSec`). */
    intervalSec: number;
    /** How often the map's `watch` points are polled for edge events, ms. 0 = only with each sample. Default 1000. */
    watchIntervalMs: number;
    /** Time acceleration for tests and demos: intervals are divided by it, timestamps stay real. Default 1. */
    speed: number;
  };
  storage: {
    /** State directory: identity (boot, seq), agent state and the buffer. */
    dir: string;
    /** Bound of the on-disk buffer. Default 256 MiB. */
    maxBytes: number;
    /** Default 1 MiB. */
    segmentBytes: number;
    /** Delivered telemetry kept for the `replay` command. Default maxBytes / 8. */
    historyBytes: number;
    /** Samples per Telemetry message when buffered samples are batched (also capped by the 64 KiB limit). Default 1000. */
    batchSamples: number;
  };
  health: {
    /** Seconds between health log lines. Default 60. */
    logIntervalSec: number;
  };
  /** pino level. Default info. */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const AGENT_VERSION = '0.1.0';

function configError(file: string, problems: readonly string[]): EdgeAgentError {
  return new EdgeAgentError('EDGE_ERR_CONFIG', `config ${file}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, { details: problems });
}

/** Builders of the schema: each problem reads `must be …, got …; <what the field is>` (a `hint`). */
const tail = (hint?: string) => (hint ? `; ${hint}` : '');
const said = (must: string, hint?: string, required = `is required${tail(hint)}`) => (iss: { input?: unknown }) => (iss.input === undefined ? required : `${must}, {got}${tail(hint)}`);

function text(o: { pattern?: RegExp; hint?: string } = {}) {
  const s = z.string({ error: said('must be a non-empty string', o.hint) }).min(1, { error: said('must be a non-empty string', o.hint) });
  return o.pattern ? s.regex(o.pattern, { error: said(`must match ${o.pattern.source}`, o.hint) }) : s;
}

function num(o: { min: number; max: number; integer?: boolean; hint?: string }) {
  const range = `${o.integer ? 'an integer' : 'a number'} from ${o.min} to ${o.max}`;
  const error = said(`must be ${range}`, o.hint, `is required: ${range}${tail(o.hint)}`);
  const n = z.number({ error }).min(o.min, { error }).max(o.max, { error });
  return o.integer ? n.int({ error }) : n;
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: said(`must be one of ${values.map((v) => `"${v}"`).join(', ')}`) });
}

/** Bytes as a number or a string with a unit: `268435456`, `"256 MiB"`, `"64KiB"`, `"1 GiB"`. */
function bytes(min: number, max: number) {
  const must = `must be a size from ${min} to ${max} bytes, as a number or with a unit ("256 MiB")`;
  return z
    .union([z.number(), z.string()], { error: said(must) })
    .transform((v, ctx) => {
      const n = typeof v === 'number' ? v : parseBytes(v);
      if (n === undefined || !Number.isInteger(n) || n < min || n > max) ctx.addIssue({ code: 'custom', message: `${must}, got ${shown(v)}` });
      return n ?? 0;
    });
}

/** A section: its fields, none unknown (a misspelling is named with the known ones). */
function section<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field; check the spelling (known: ${known})` : iss.input === undefined ? 'is required (a section)' : `must be a section (key: value lines), {got}`),
  });
}

const modbusCommon = {
  unitId: num({ min: 0, max: 255, integer: true }).default(1),
  timeoutMs: num({ min: 10, max: 60_000, integer: true }).default(1000),
  retries: num({ min: 0, max: 10, integer: true }).default(2),
  queueLimit: num({ min: 1, max: 10_000, integer: true }).default(32),
  maxGap: num({ min: 0, max: 100, integer: true }).default(0),
};

/** The agent's config file as a zod schema; `env` gives the secret when the file has none. */
export function agentConfigSchema(env: Readonly<Record<string, string | undefined>> = {}) {
  return section({
    device: section({
      id: text({ pattern: DEVICE_ID_PATTERN, hint: 'the deviceId it was provisioned with' }),
      type: oneOf(DEVICE_TYPES),
      /** The MQTT secret: `secret`, or `secretFile` (first line), or env TSUNAGARU_DEVICE_SECRET. Never logged. */
      secret: text().optional(),
      secretFile: text().optional(),
      fw: text().default(AGENT_VERSION),
      model: text({ hint: "the controller's model, announced in the birth" }),
    }),
    mqtt: section({
      url: text({ pattern: /^(mqtts?|tcp|ssl|tls|wss?):\/\/.+/, hint: 'e.g. mqtt://broker.example:1883' }),
      keepaliveSec: num({ min: 5, max: 3600, integer: true }).default(60),
      reconnectPeriodMs: num({ min: 100, max: 600_000, integer: true }).default(2000),
      maxInFlight: num({ min: 1, max: 1000, integer: true }).default(16),
      maxMessagesPerSec: num({ min: 0, max: 100_000 }).default(40),
      maxBytesPerSec: bytes(0, 1024 ** 3).default(192 * 1024),
    }),
    modbus: z.discriminatedUnion(
      'transport',
      [
        section({ transport: z.literal('tcp'), host: text({ hint: 'the controller or gateway address' }), port: num({ min: 1, max: 65_535, integer: true }).default(502), ...modbusCommon }),
        section({
          transport: z.literal('rtu'),
          path: text({ hint: 'the serial device, e.g. /dev/ttyUSB0' }),
          baudRate: num({ min: 300, max: 921_600, integer: true }).default(9600),
          parity: oneOf(['none', 'even', 'odd']).default('none'),
          dataBits: z.union([z.literal(7), z.literal(8)], { error: said('must be an integer from 7 to 8') }).default(8),
          stopBits: z.union([z.literal(1), z.literal(2)], { error: said('must be an integer from 1 to 2') }).default(1),
          ...modbusCommon,
        }),
      ],
      { error: (iss) => (iss.input === undefined ? 'is required (a section)' : 'must be one of "tcp", "rtu"') },
    ),
    registerMap: text({ hint: 'a built-in map (bs-power-dcp48, smart-pole-cabinet) or a map file path' }),
    sampling: section({
      intervalSec: num({ min: BOUNDS.sampleSec.min, max: BOUNDS.sampleSec.max, integer: true, hint: 'seconds between samples' }),
      watchIntervalMs: num({ min: 0, max: 3_600_000, integer: true }).default(1000),
      speed: num({ min: 0.001, max: 100_000, hint: 'only for tests and demos' }).default(1),
    }),
    storage: section({
      dir: text({ hint: 'a directory that survives reboots, e.g. /var/lib/tsunagaru' }),
      maxBytes: bytes(256 * 1024, 1024 ** 4).default(256 * 1024 ** 2),
      segmentBytes: bytes(64 * 1024, 256 * 1024 ** 2).optional(),
      historyBytes: bytes(0, 1024 ** 4).optional(),
      batchSamples: num({ min: 1, max: MAX_SAMPLES, integer: true }).default(MAX_SAMPLES),
    })
      .superRefine((st, ctx) => {
        if (st.segmentBytes !== undefined && st.segmentBytes > st.maxBytes / 4) ctx.addIssue({ code: 'custom', path: ['segmentBytes'], message: `must be at most a quarter of storage.maxBytes (${Math.floor(st.maxBytes / 4)})` });
        if (st.historyBytes !== undefined && st.historyBytes > st.maxBytes) ctx.addIssue({ code: 'custom', path: ['historyBytes'], message: `must be at most storage.maxBytes (${st.maxBytes})` });
      }),
    health: section({ logIntervalSec: num({ min: 1, max: 86_400, integer: true }).default(60) }).prefault({}),
    logLevel: oneOf(['debug', 'info', 'warn', 'error']).default('info'),
  }).superRefine(
    (c, ctx) => {
      const d = (c as { device?: { secret?: unknown; secretFile?: unknown } }).device;
      if (d && d.secret === undefined && d.secretFile === undefined && !env.TSUNAGARU_DEVICE_SECRET) {
        ctx.addIssue({ code: 'custom', path: ['device', 'secret'], message: 'is required: set device.secretFile (recommended), device.secret, or env TSUNAGARU_DEVICE_SECRET to the secret from provisioning' });
      }
    },
    { when: () => true },
  );
}

/** JSON Schema of the agent's config file, for editors (`npm run config:export` writes edge-agent/schema/agent-config.schema.json). */
export function agentConfigJsonSchema(): Record<string, unknown> {
  return configJsonSchema(agentConfigSchema(), {
    id: 'https://tsunagaru.example/config/agent-config.schema.json',
    title: 'Tsunagaru edge agent config (npm run agent -- --config <file>)',
    description: 'The edge agent\'s configuration, YAML or JSON. Relative paths (registerMap, storage.dir, device.secretFile) are resolved from the file\'s directory.',
  });
}

/** Validates a parsed config object. `file` resolves relative paths; `env` supplies the secret fallback. */
export function parseAgentConfig(value: unknown, file: string, env: Readonly<Record<string, string | undefined>> = process.env): AgentConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw configError(file, ['(file): must be a YAML or JSON object with sections device, mqtt, modbus, registerMap, sampling, storage']);
  const result = parseConfig(agentConfigSchema(env), value, '(file)');
  if (!result.ok) throw configError(file, result.problems);
  const c = result.value;
  const baseDir = dirname(resolve(file));
  const { secret, secretFile, ...device } = c.device;
  const { segmentBytes, historyBytes, dir, ...storage } = c.storage;
  return deepFreeze({
    ...c,
    device: { ...device, secret: secretFile ? `file:${resolve(baseDir, secretFile)}` : (secret ?? env.TSUNAGARU_DEVICE_SECRET ?? '') },
    modbus: { ...c.modbus } as AgentConfig['modbus'],
    registerMap: /[/\\.]/.test(c.registerMap) ? resolve(baseDir, c.registerMap) : c.registerMap,
    storage: {
      ...storage,
      dir: resolve(baseDir, dir),
      segmentBytes: segmentBytes ?? Math.min(1024 ** 2, Math.floor(storage.maxBytes / 4)),
      historyBytes: historyBytes ?? Math.floor(storage.maxBytes / 8),
    },
  });
}

/** Reads, parses (YAML or JSON) and validates a config file, and reads `device.secretFile`. */
export async function loadAgentConfig(file: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new EdgeAgentError('EDGE_ERR_CONFIG', `config ${file}: cannot read: ${(err as Error).message}; pass --config <file>`, { cause: err });
  }
  let value: unknown;
  try {
    value = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw configError(file, [`(file): not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`]);
  }
  const config = parseAgentConfig(value, file, env);
  if (!config.device.secret.startsWith('file:')) return config;
  const secretPath = config.device.secret.slice(5);
  let secret: string;
  try {
    secret = (await readFile(secretPath, 'utf8')).split('\n')[0]!.trim();
  } catch (err) {
    throw configError(file, [`device.secretFile: cannot read ${secretPath}: ${(err as Error).message}`]);
  }
  if (!secret) throw configError(file, [`device.secretFile: ${secretPath} is empty; put the secret from provisioning on its first line`]);
  return deepFreeze({ ...config, device: { ...config.device, secret } });
}

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 };

export function parseBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : undefined;
}
