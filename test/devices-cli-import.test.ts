/**
 * `npm run devices -- import <file>` beside a running broker + ingest on the same DATA_DIR, as an operator
 * provisions a city: head-end gateways and their meters from a CSV, new secrets in a 0600 file of their
 * own, the running ingest and broker following the registry file; a re-run changes nothing; a wrong file
 * is refused whole with its problems by line. `--help` lists every command and option.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileDeviceRegistry, registryPathFor } from '@tsunagaru/broker';
import { buildTopic } from '@tsunagaru/firmware-contracts';
import { headEndLayout } from '@tsunagaru/simulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, telemetryPayload } from './support/device-client.js';
import { startStack, type Stack } from './support/stack.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);

describe('npm run devices -- import', () => {
  const dir = makeTempDir('devices-import-cli');
  const dataDir = join(dir.path, 'data');
  let stack: Stack;
  let registry: FileDeviceRegistry;
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/devices.ts', ...args], { env: { ...process.env, DATA_DIR: dataDir }, cwd: process.cwd() }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );

  const layout = headEndLayout(1200, 3);
  const city = join(dir.path, 'city.csv');
  beforeAll(async () => {
    const rows = ['id,type,dma,headEnd,role'];
    for (const g of layout) rows.push(`${g.id},water-meter,${g.dma},,head-end`, ...g.meters.map((m) => `${m},water-meter,${g.dma},${g.id},`));
    writeFileSync(city, `${rows.join('\n')}\n`);
    registry = await FileDeviceRegistry.open({ path: registryPathFor(dataDir), scryptN: 1024, pollIntervalMs: 200, watchDebounceMs: 20 });
    stack = await startStack({ registry, dataDir });
  });
  afterAll(async () => {
    await stack?.close();
    await registry?.close();
    dir.remove();
  });

  it('answers --help with every command and option, and exits 0', async () => {
    const { code, out } = await cli('--help');
    expect(code).toBe(0);
    for (const word of ['add', 'rotate', 'disable', 'enable', 'revoke', 'cert', 'list', 'import', '--attr', '--lat', '--lon', '--json', '--dry-run', '--format', '--secrets', 'DATA_DIR']) expect(out).toContain(word);
    expect(out).not.toMatch(/missing command/);
  });

  it('provisions the city beside the running ingest; the gateways log in with the secrets file and their meters are heard', async () => {
    const { code, out } = await cli('import', city);
    expect(out).toMatch(/^imported .*city\.csv in \d+\.\d s: 1203 rows: 1203 new \(1200 behind a head-end without a secret, 3 with a new secret\), 0 changed, 0 unchanged$/m);
    expect(code).toBe(0);
    const secretsPath = /new secrets: (\S+)/.exec(out)![1]!;
    expect(statSync(secretsPath).mode & 0o777).toBe(0o600);
    const secrets = Object.fromEntries(readFileSync(secretsPath, 'utf8').trim().split('\r\n').slice(1).map((l) => l.split(',')).map(([id, , secret]) => [id!, secret!]));
    expect(Object.keys(secrets).sort()).toEqual(layout.map((g) => g.id));

    // The running ingest (and its broker) follow the registry file the CLI appended to.
    await waitFor('the ingest to see the imported devices', async () => (await stack.api.get('/api/v1/devices?type=water-meter')).body.count === 1203);
    const gateway = layout[2]!;
    const meter = gateway.meters.at(-1)!;
    const client = await connectDevice(stack.mqttUrl, gateway.id, secrets[gateway.id]!);
    const ts = Date.now() - 60_000;
    await client.publishAsync(buildTopic('water-meter', meter, 'telemetry'), telemetryPayload(meter, 0, [{ ts, indexL: 777, flowLph: 0 }]), { qos: 1 });
    await client.endAsync();
    const reading = await waitFor('the meter reading', async () => ((await stack.api.get(`/api/v1/devices/${meter}/readings?from=${ts - 1}`)).body.readings as Array<{ indexL: number }>)[0]);
    expect(reading.indexL).toBe(777);

    const entries = readFileSync(join(dataDir, 'audit', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; actor: { kind: string }; detail: object });
    expect(entries.at(-1)).toMatchObject({ action: 'device.import', actor: { kind: 'cli' }, detail: { format: 'csv', rows: 1203, created: 1203, withoutSecret: 1200, withSecret: 3, file: 'city.csv' } });
  });

  it('changes nothing and issues no secret when run again', async () => {
    const before = readdirSync(dir.path).filter((f) => f.includes('.secrets-')).length;
    const { code, out } = await cli('import', city);
    expect(code).toBe(0);
    expect(out).toMatch(/1203 rows: 0 new .*, 0 changed, 1203 unchanged/);
    expect(readdirSync(dir.path).filter((f) => f.includes('.secrets-'))).toHaveLength(before);
  });

  it('refuses a wrong file whole, listing its problems by line, and exits 1', async () => {
    const bad = join(dir.path, 'bad.jsonl');
    writeFileSync(bad, ['{"id":"pole-cli-1","type":"smart-pole"}', '{"id":"pole-cli-2","type":"smart-pole","location":{"lat":95,"lon":0}}', 'not json'].join('\n'));
    const { code, out } = await cli('import', bad);
    expect(code).toBe(1);
    expect(out).toMatch(/^line 2 \(pole-cli-2\): location\.lat: must be a number in -90\.\.90$/m);
    expect(out).toMatch(/^line 3: not JSON/m);
    expect(out).toMatch(/2 problem\(s\) in .*bad\.jsonl; nothing was imported/);
    expect(registry.getDevice('pole-cli-1')).toBeUndefined();
    // A secrets file that exists is never overwritten: refused before anything is imported.
    const taken = join(dir.path, 'taken.csv');
    writeFileSync(taken, 'keep me');
    const good = join(dir.path, 'good.jsonl');
    writeFileSync(good, '{"id":"pole-cli-3","type":"smart-pole"}\n');
    expect((await cli('import', good, '--secrets', taken)).code).toBe(1);
    expect(readFileSync(taken, 'utf8')).toBe('keep me');
    expect(registry.getDevice('pole-cli-3')).toBeUndefined();
    expect(existsSync(join(dir.path, 'good.jsonl.secrets'))).toBe(false);
  });
});
