import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SimulatorError } from './errors.js';

export const USAGE = `Usage: npm run sim -- --credentials <file.json> [options]

  --url <url>            broker URL (default mqtt://127.0.0.1:1883)
  --credentials <file>   JSON object { "<deviceId>": "<secret>" } from provisioning (required)
  --speed <n>            time acceleration, simulated seconds per real second (default 1)
  --seed <n>             PRNG seed, integer (default 1)
  --fleet <default|city> default: 13 devices; city: 29 Nishi-Shinjuku poles, 2 DMAs of meters with faults,
                         base-station plants (generators, island Li-ion) and every Izu ring node
  --meters-per-dma <n>   city fleet: meters in each of its 2 DMAs (default 50)
  --state-dir <dir>      keep boot counters in files here (default: in memory, boot from the clock)
  --progress <sec>       seconds between progress lines (default 5)
  --verbose              log session events (connects, reconnects) to stderr
  --help                 show this help

Other modes, each with its own --help:
  npm run sim -- modbus --help            simulated controllers over Modbus TCP, for the edge agent
  npm run sim -- scenario --help          a disaster scenario with its ground truth (and --score)
  npm run sim -- --meters <n> --help      meters behind LPWA head-end gateways
  npm run sim -- chirpstack --help        LoRaWAN meters as ChirpStack v4 publishes them
  npm run sim -- sparkplug --help         Sparkplug B edge nodes (pump stations, DC plants)`;

export interface SimCliArgs {
  url: string;
  credentials: string;
  speed: number;
  seed: number;
  fleet: 'default' | 'city';
  metersPerDma: number;
  stateDir: string | undefined;
  progressSec: number;
  verbose: boolean;
  help: boolean;
}

/** A command-line mistake; the message always names the flag. */
export class CliArgError extends SimulatorError {
  override readonly name: string = 'CliArgError';
  constructor(message: string) {
    super('SIM_ERR_CLI', message);
  }
}

function number(flag: string, raw: string | undefined, fallback: number, check: (n: number) => boolean, expected: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new CliArgError(`${flag}: must be ${expected}, got "${raw}"`);
  return n;
}

function fleetName(raw: string | undefined): 'default' | 'city' {
  if (raw === undefined || raw === 'default' || raw === 'city') return raw ?? 'default';
  throw new CliArgError(`--fleet: must be "default" or "city", got "${raw}"`);
}

export function parseSimArgs(argv: readonly string[]): SimCliArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        credentials: { type: 'string' },
        speed: { type: 'string' },
        seed: { type: 'string' },
        fleet: { type: 'string' },
        'meters-per-dma': { type: 'string' },
        'state-dir': { type: 'string' },
        progress: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // node:util's messages already quote the offending flag ("Unknown option '--sped'").
    throw new CliArgError((err as Error).message);
  }
  const help = values.help === true;
  const url = values.url ?? 'mqtt://127.0.0.1:1883';
  try {
    new URL(url);
  } catch {
    throw new CliArgError(`--url: not a URL: "${url}"`);
  }
  if (!help && !values.credentials) throw new CliArgError('--credentials: required; pass the JSON file of deviceId → secret from provisioning');
  return {
    url,
    credentials: values.credentials ?? '',
    speed: number('--speed', values.speed, 1, (n) => n > 0, 'a positive number'),
    seed: number('--seed', values.seed, 1, (n) => Number.isSafeInteger(n), 'an integer'),
    fleet: fleetName(values.fleet),
    metersPerDma: number('--meters-per-dma', values['meters-per-dma'], 50, (n) => Number.isInteger(n) && n > 0 && n <= 10_000, 'an integer 1..10000'),
    stateDir: values['state-dir'],
    progressSec: number('--progress', values.progress, 5, (n) => n > 0, 'a positive number of seconds'),
    verbose: values.verbose === true,
    help,
  };
}

/** Reads `{ "<deviceId>": "<secret>" }`; every problem is reported against --credentials. */
export async function loadCredentials(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliArgError(`--credentials: cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliArgError(`--credentials: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliArgError(`--credentials: ${file} must hold a JSON object { "<deviceId>": "<secret>" }`);
  }
  const out: Record<string, string> = {};
  for (const [id, secret] of Object.entries(value)) {
    if (typeof secret !== 'string' || secret === '') throw new CliArgError(`--credentials: the secret for "${id}" in ${file} must be a non-empty string`);
    out[id] = secret;
  }
  return out;
}
