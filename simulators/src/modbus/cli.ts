/**
 * `npm run sim -- modbus --device bs-power:5020 [--device smart-pole:5021] [--speed 60] [--fault-rate 0.01]`
 * Serves simulated controllers over Modbus TCP (the shipped register maps) until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { loadRegisterMap } from '@tsunagaru/edge-agent';
import { CliArgError } from '../cli-args.js';
import { ModbusDevice, type ModbusDeviceSpec } from './modbus-device.js';

export const MODBUS_USAGE = `Usage: npm run sim -- modbus --device <type>:<port>[:<id>] [options]

  --device <type>:<port>[:<id>]  serve a simulated controller; type bs-power or smart-pole (repeatable)
  --host <addr>                  address to listen on (default 127.0.0.1)
  --map <type>=<file>            serve this register map instead of the shipped one for <type>
  --speed <n>                    time acceleration, simulated seconds per real second (default 1)
  --seed <n>                     PRNG seed (default 1)
  --fault-rate <0..1>            share of requests answered with exception 11, as a flaky gateway (default 0)
  --help                         show this help`;

const DEFAULT_MAPS = { 'bs-power': 'bs-power-dcp48', 'smart-pole': 'smart-pole-cabinet' } as const;

function num(flag: string, raw: string | undefined, fallback: number, ok: (n: number) => boolean, expected: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new CliArgError(`${flag}: must be ${expected}, got "${raw}"`);
  return n;
}

function parseDevice(raw: string): { spec: ModbusDeviceSpec; port: number } {
  const [type, port, id] = raw.split(':');
  if (type !== 'bs-power' && type !== 'smart-pole') throw new CliArgError(`--device: type must be bs-power or smart-pole, got "${raw}"`);
  const p = Number(port);
  if (!Number.isInteger(p) || p < 1 || p > 65_535) throw new CliArgError(`--device: "${raw}" needs a port 1–65535, e.g. ${type}:5020`);
  return { spec: { type, id: id ?? `${type}-modbus-${p}` }, port: p };
}

export async function runModbusCli(argv: readonly string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        device: { type: 'string', multiple: true },
        host: { type: 'string' },
        map: { type: 'string', multiple: true },
        speed: { type: 'string' },
        seed: { type: 'string' },
        'fault-rate': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CliArgError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${MODBUS_USAGE}\n`);
    return;
  }
  const devices = (values.device ?? []).map(parseDevice);
  if (devices.length === 0) throw new CliArgError('--device: at least one, e.g. --device bs-power:5020');
  const maps: Record<string, string> = { ...DEFAULT_MAPS };
  for (const m of values.map ?? []) {
    const [type, file] = m.split('=');
    if (!type || !file) throw new CliArgError(`--map: expected <type>=<file>, got "${m}"`);
    maps[type] = file;
  }
  const speed = num('--speed', values.speed, 1, (n) => n > 0, 'a positive number');
  const seed = num('--seed', values.seed, 1, Number.isSafeInteger, 'an integer');
  const faultRate = num('--fault-rate', values['fault-rate'], 0, (n) => n >= 0 && n <= 1, 'between 0 and 1');
  const host = values.host ?? '127.0.0.1';
  const running: ModbusDevice[] = [];
  for (const d of devices) {
    const map = await loadRegisterMap(maps[d.spec.type]!);
    const device = await ModbusDevice.start({ spec: d.spec, map, host, port: d.port, speed, seed, faultRate });
    running.push(device);
    process.stdout.write(`${d.spec.id}: ${map.name} on modbus-tcp://${host}:${device.port} (unit id: any)\n`);
  }
  process.stdout.write(`serving ${running.length} Modbus device(s) at ${speed}×; Ctrl-C stops\n`);
  const stop = (): void => {
    void Promise.all(running.map((d) => d.close())).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
