import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { BOUNDS, DEVICE_ID_PATTERN, DEVICE_TYPES, MAX_SAMPLES, type DeviceType } from '@tsunagaru/firmware-contracts';
import { parse as parseYaml } from 'yaml';
import { EdgeAgentError } from '../errors.js';
import { ConfigProblems, Fields } from './config-fields.js';

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

/** Validates a parsed config object. `baseDir` resolves relative paths; `env` supplies the secret fallback. */
export function parseAgentConfig(value: unknown, file: string, env: Readonly<Record<string, string | undefined>> = process.env): AgentConfig {
  const problems = new ConfigProblems();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw configError(file, ['(file): must be a YAML or JSON object with sections device, mqtt, modbus, registerMap, sampling, storage']);
  const baseDir = dirname(resolve(file));
  const root = new Fields(value as Record<string, unknown>, '', problems);

  const d = root.section('device', true);
  const id = d.string('id', { pattern: DEVICE_ID_PATTERN, hint: 'the deviceId it was provisioned with' });
  const type = d.oneOf('type', DEVICE_TYPES);
  const secret = d.optionalString('secret') ?? env.TSUNAGARU_DEVICE_SECRET ?? '';
  const secretFile = d.optionalString('secretFile');
  if (!secret && !secretFile) problems.add('device.secret', 'is required: set device.secretFile (recommended), device.secret, or env TSUNAGARU_DEVICE_SECRET to the secret from provisioning');
  const device = { id, type, secret: secretFile ? `file:${resolve(baseDir, secretFile)}` : secret, fw: d.string('fw', { default: AGENT_VERSION }), model: d.string('model', { hint: "the controller's model, announced in the birth" }) };
  d.done();

  const m = root.section('mqtt', true);
  const url = m.string('url', { pattern: /^(mqtts?|tcp|ssl|tls|wss?):\/\/.+/, hint: 'e.g. mqtt://broker.example:1883' });
  const mqtt = {
    url,
    keepaliveSec: m.number('keepaliveSec', { default: 60, min: 5, max: 3600, integer: true }),
    reconnectPeriodMs: m.number('reconnectPeriodMs', { default: 2000, min: 100, max: 600_000, integer: true }),
    maxInFlight: m.number('maxInFlight', { default: 16, min: 1, max: 1000, integer: true }),
    maxMessagesPerSec: m.number('maxMessagesPerSec', { default: 40, min: 0, max: 100_000 }),
    maxBytesPerSec: m.bytes('maxBytesPerSec', { default: 192 * 1024, min: 0, max: 1024 ** 3 }),
  };
  m.done();

  const b = root.section('modbus', true);
  const transport = b.oneOf('transport', ['tcp', 'rtu'] as const);
  const common = {
    unitId: b.number('unitId', { default: 1, min: 0, max: 255, integer: true }),
    timeoutMs: b.number('timeoutMs', { default: 1000, min: 10, max: 60_000, integer: true }),
    retries: b.number('retries', { default: 2, min: 0, max: 10, integer: true }),
    queueLimit: b.number('queueLimit', { default: 32, min: 1, max: 10_000, integer: true }),
    maxGap: b.number('maxGap', { default: 0, min: 0, max: 100, integer: true }),
  };
  const modbus: AgentConfig['modbus'] =
    transport === 'tcp'
      ? { transport, host: b.string('host', { hint: 'the controller or gateway address' }), port: b.number('port', { default: 502, min: 1, max: 65_535, integer: true }), ...common }
      : {
          transport,
          path: b.string('path', { hint: 'the serial device, e.g. /dev/ttyUSB0' }),
          baudRate: b.number('baudRate', { default: 9600, min: 300, max: 921_600, integer: true }),
          parity: b.oneOf('parity', ['none', 'even', 'odd'] as const, { default: 'none' }),
          dataBits: b.number('dataBits', { default: 8, min: 7, max: 8, integer: true }) as 7 | 8,
          stopBits: b.number('stopBits', { default: 1, min: 1, max: 2, integer: true }) as 1 | 2,
          ...common,
        };
  b.done();

  const registerMap = root.string('registerMap', { hint: 'a built-in map (bs-power-dcp48, smart-pole-cabinet) or a map file path' });

  const s = root.section('sampling', true);
  const sampling = {
    intervalSec: s.number('intervalSec', { min: BOUNDS.sampleSec.min, max: BOUNDS.sampleSec.max, integer: true, hint: 'seconds between samples' }),
    watchIntervalMs: s.number('watchIntervalMs', { default: 1000, min: 0, max: 3_600_000, integer: true }),
    speed: s.number('speed', { default: 1, min: 0.001, max: 100_000, hint: 'only for tests and demos' }),
  };
  s.done();

  const st = root.section('storage', true);
  const dir = st.string('dir', { hint: 'a directory that survives reboots, e.g. /var/lib/tsunagaru' });
  const maxBytes = st.bytes('maxBytes', { default: 256 * 1024 ** 2, min: 256 * 1024, max: 1024 ** 4 });
  const segmentBytes = st.bytes('segmentBytes', { default: Math.min(1024 ** 2, Math.floor(maxBytes / 4)), min: 64 * 1024, max: 256 * 1024 ** 2 });
  if (segmentBytes > maxBytes / 4) problems.add('storage.segmentBytes', `must be at most a quarter of storage.maxBytes (${Math.floor(maxBytes / 4)})`);
  const storage = {
    dir: dir ? resolve(baseDir, dir) : '',
    maxBytes,
    segmentBytes,
    historyBytes: st.bytes('historyBytes', { default: Math.floor(maxBytes / 8), min: 0, max: maxBytes }),
    batchSamples: st.number('batchSamples', { default: MAX_SAMPLES, min: 1, max: MAX_SAMPLES, integer: true }),
  };
  st.done();

  const h = root.section('health');
  const health = { logIntervalSec: h.number('logIntervalSec', { default: 60, min: 1, max: 86_400, integer: true }) };
  h.done();
  const logLevel = root.oneOf('logLevel', ['debug', 'info', 'warn', 'error'] as const, { default: 'info' });
  root.done();

  if (problems.list.length > 0) throw configError(file, problems.list);
  const registerMapRef = /[/\\.]/.test(registerMap) ? resolve(baseDir, registerMap) : registerMap;
  return deepFreeze({ device, mqtt, modbus, registerMap: registerMapRef, sampling, storage, health, logLevel });
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

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
