/**
 * The operator CLIs parse strictly (node:util parseArgs): a misspelt option is an error naming it, never
 * quietly ignored (`npm run devices -- add x water-meter --atr dma=y` used to exit 0 and provision a
 * device without its attributes), and every command answers --help with every option it takes.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI as MOSQUITTO_AUTH } from '../deploy/scripts/mosquitto-auth.js';
import { parseCommand, UsageError, type Cli } from '../scripts/cli-support.js';
import { CLI as DEVICES } from '../scripts/devices.js';
import { CLI as STORE } from '../scripts/store.js';
import { CLI as TOKENS } from '../scripts/tokens.js';
import { makeTempDir } from './support/temp-dir.js';

const usageError = (cli: Cli, argv: string[]) => {
  try {
    parseCommand(cli, argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
};

describe('operator CLIs', () => {
  it('refuse an unknown option, naming it, with the command\'s help', () => {
    const err = usageError(DEVICES, ['add', 'x', 'water-meter', '--atr', 'dma=y']);
    expect(err.code).toBe('CLI_ERR_USAGE');
    expect(err.message).toMatch(/^add: Unknown option '--atr'/);
    expect(err.usage).toMatch(/--attr <key=value>/);
    expect(usageError(TOKENS, ['list', '--jsn']).message).toMatch(/Unknown option '--jsn'/);
    expect(usageError(MOSQUITTO_AUTH, ['--secret', 'x.json']).message).toMatch(/Unknown option '--secret'/);
  });

  it('refuse a missing or an extra argument, and an unknown command', () => {
    expect(usageError(DEVICES, ['add', 'x']).message).toBe('add needs <id> <type>');
    expect(usageError(DEVICES, ['list', 'everything']).message).toBe('list takes no arguments, got also "everything"');
    expect(usageError(TOKENS, ['revoke']).message).toBe('revoke needs <token-id>');
    expect(usageError(TOKENS, ['ad', 'viewer']).message).toBe('unknown command "ad"');
    expect(usageError(DEVICES, []).message).toBe('missing command');
  });

  it('answer --help for the whole CLI and for every command, with every option it takes', () => {
    for (const cli of [DEVICES, TOKENS, STORE]) {
      const all = parseCommand(cli, ['--help']);
      expect('help' in all && all.help).toMatch(/^usage: npm run \w+ -- <command>/);
      for (const [name, spec] of Object.entries(cli.commands)) {
        for (const argv of [[name, '--help'], [name, '-h']]) {
          const help = parseCommand(cli, argv);
          expect('help' in help, `${cli.name} ${argv.join(' ')}`).toBe(true);
          const text = (help as { help: string }).help;
          for (const option of [...Object.keys(spec.options ?? {}), 'help']) expect(text, `${cli.name} ${name}`).toContain(`--${option}`);
        }
      }
    }
    const help = parseCommand(MOSQUITTO_AUTH, ['--help']);
    expect('help' in help && help.help).toMatch(/--out <dir>[\s\S]*--secrets <file\.json>[\s\S]*MQTT_PASSWORD/);
  });

  it('parse what they take: repeated options, booleans, positionals', () => {
    expect(parseCommand(DEVICES, ['add', 'wm-1', 'water-meter', '--attr', 'dma=nakano-3', '--attr', 'welfareWatch=true', '--lat', '35.7', '--lon', '139.6'])).toEqual({
      command: 'add',
      positionals: ['wm-1', 'water-meter'],
      values: { attr: ['dma=nakano-3', 'welfareWatch=true'], lat: '35.7', lon: '139.6' },
    });
    expect(parseCommand(TOKENS, ['list', '--json'])).toEqual({ command: 'list', positionals: [], values: { json: true } });
  });

  it('as a person runs it: a misspelt option exits 2 and provisions nothing', () => {
    const dir = makeTempDir('devices-cli');
    try {
      const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/devices.ts', ...args], { env: { ...process.env, DATA_DIR: dir.path }, encoding: 'utf8' });
      const bad = run('add', 'wm-x', 'water-meter', '--atr', 'dma=y');
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/devices: add: Unknown option '--atr'/);
      const list = run('list', '--json');
      expect(list.status).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([]);
    } finally {
      dir.remove();
    }
  }, 30_000);
});
