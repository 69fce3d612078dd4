import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CliArgError, loadCredentials, parseSimArgs, USAGE } from './cli-args.js';
import { HEADEND_USAGE } from './headend-cli.js';
import { CHIRPSTACK_USAGE, SPARKPLUG_USAGE } from './integrations-cli.js';
import { MODBUS_USAGE } from './modbus/cli.js';
import { SCENARIO_USAGE } from './scenario/cli.js';
import { formatProgress } from './progress.js';

describe('parseSimArgs', () => {
  it('chooses the city fleet and refuses unknown fleets naming the flag', () => {
    expect(parseSimArgs(['--credentials', 'c.json', '--fleet', 'city', '--meters-per-dma', '200'])).toMatchObject({ fleet: 'city', metersPerDma: 200 });
    expect(() => parseSimArgs(['--credentials', 'c.json', '--fleet', 'village'])).toThrow(/^--fleet: /);
  });

  it('applies defaults', () => {
    expect(parseSimArgs(['--credentials', 'c.json'])).toEqual({
      url: 'mqtt://127.0.0.1:1883',
      credentials: 'c.json',
      speed: 1,
      seed: 1,
      fleet: 'default',
      metersPerDma: 50,
      stateDir: undefined,
      progressSec: 5,
      verbose: false,
      help: false,
    });
  });

  it('reads every flag', () => {
    const args = parseSimArgs(['--url', 'mqtt://broker:1884', '--credentials', 'c.json', '--speed', '60', '--seed', '7', '--state-dir', '/tmp/s', '--progress', '2', '--verbose']);
    expect(args).toMatchObject({ url: 'mqtt://broker:1884', speed: 60, seed: 7, stateDir: '/tmp/s', progressSec: 2, verbose: true });
  });

  it.each([
    [['--credentials', 'c.json', '--speed', '0'], '--speed'],
    [['--credentials', 'c.json', '--speed', 'fast'], '--speed'],
    [['--credentials', 'c.json', '--seed', '1.5'], '--seed'],
    [['--credentials', 'c.json', '--url', 'not a url'], '--url'],
    [['--credentials', 'c.json', '--sped', '2'], '--sped'],
    [['--speed', '2'], '--credentials'],
  ])('names the flag in errors: %j', (argv, flag) => {
    expect(() => parseSimArgs(argv)).toThrow(CliArgError);
    expect(() => parseSimArgs(argv)).toThrow(flag);
  });

  it('does not require credentials for --help', () => {
    expect(parseSimArgs(['--help']).help).toBe(true);
  });
});

describe('loadCredentials', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  async function file(content: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tsunagaru-creds-'));
    dirs.push(dir);
    const path = join(dir, 'creds.json');
    await writeFile(path, content);
    return path;
  }

  it('reads a map of deviceId to secret', async () => {
    expect(await loadCredentials(await file('{"pole-1":"s3cret-value-123456"}'))).toEqual({ 'pole-1': 's3cret-value-123456' });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[1,2]', /JSON object/],
    ['{"pole-1": 5}', /secret for "pole-1"/],
  ])('rejects %s, naming --credentials', async (content, reason) => {
    const path = await file(content);
    await expect(loadCredentials(path)).rejects.toThrow(reason);
    await expect(loadCredentials(path)).rejects.toThrow('--credentials');
  });

  it('names the flag when the file is missing', async () => {
    await expect(loadCredentials('/nonexistent/creds.json')).rejects.toThrow(/--credentials: cannot read/);
  });
});

describe('formatProgress', () => {
  it('shows connected, published, rate and errors', () => {
    const base = { devices: 13, connected: 13, published: 100, errors: 0, dropped: 0, simTs: Date.UTC(2025, 6, 15, 3, 0, 0) };
    expect(formatProgress({ ...base, published: 160 }, base, 5)).toBe('[sim 2025-07-15T03:00:00Z] connected 13/13 · published 160 (+12.0/s) · errors 0');
  });
});

describe('every simulator command answers --help with all its options', () => {
  it.each([
    ['sim', USAGE, ['url', 'credentials', 'speed', 'seed', 'fleet', 'meters-per-dma', 'state-dir', 'progress', 'verbose', 'help']],
    ['sim modbus', MODBUS_USAGE, ['device', 'host', 'map', 'speed', 'seed', 'fault-rate', 'help']],
    ['sim scenario', SCENARIO_USAGE, ['url', 'credentials', 'provision', 'speed', 'seed', 'start', 'out', 'list-devices', 'score', 'api', 'rules', 'scorecard', 'help']],
    ['sim --meters', HEADEND_USAGE, ['meters', 'gateways', 'credentials', 'url', 'cycles', 'speed', 'seed', 'window', 'progress', 'help']],
    ['sim chirpstack', CHIRPSTACK_USAGE, ['url', 'username', 'password', 'application-id', 'meters', 'frames', 'sample-sec', 'loss', 'rejoin-every', 'late-from', 'late-to', 'status-every', 'seed', 'help']],
    ['sim sparkplug', SPARKPLUG_USAGE, ['url', 'username', 'password', 'group', 'pump-stations', 'dc-plants', 'rounds', 'sample-sec', 'drop-every', 'primary-host', 'seed', 'help']],
  ])('%s', (_name, usage, options) => {
    for (const o of options) expect(usage).toMatch(new RegExp(`--${o}\\b`));
    expect([...new Set(usage.match(/^\s+--[a-z-]+/gm)?.map((l) => l.trim()))].sort()).toEqual(options.map((o) => `--${o}`).sort());
  });
});
