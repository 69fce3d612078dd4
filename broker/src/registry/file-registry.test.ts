import { mkdtemp, open as openFile, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RegistryLogger } from './base-registry.js';
import { isRegistryError } from './errors.js';
import { FileDeviceRegistry, registryPathFor } from './file-registry.js';
import { deviceRegistryContract, TEST_SCRYPT_N } from './registry-contract-suite.js';

deviceRegistryContract('FileDeviceRegistry', async (options) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsunagaru-registry-'));
  const registry = await FileDeviceRegistry.open({ ...options, path: registryPathFor(dir), pollIntervalMs: 0 });
  return { registry, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('FileDeviceRegistry storage', () => {
  let dir: string;
  let path: string;
  let warnings: { msg: string; obj: object }[];
  let logger: RegistryLogger;
  const open: FileDeviceRegistry[] = [];

  async function openRegistry(extra: { readOnly?: boolean; watch?: boolean } = {}): Promise<FileDeviceRegistry> {
    const r = await FileDeviceRegistry.open({ path, scryptN: TEST_SCRYPT_N, logger, pollIntervalMs: 0, watchDebounceMs: 10, ...extra });
    open.push(r);
    return r;
  }

  async function lines(): Promise<string[]> {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsunagaru-registry-'));
    path = registryPathFor(dir);
    warnings = [];
    const push = (obj: object, msg: string) => warnings.push({ obj, msg });
    logger = { warn: push, error: push };
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('survives a reopen, stores one JSON line per change and never the plain secret', async () => {
    const a = await openRegistry();
    const { secret } = await a.provision({ id: 'pole-01', type: 'smart-pole', attributes: { island: 'oshima' } });
    await a.setDisabled('pole-01', true);
    await a.upsertService('ingest', 'ingest', 'service-secret-0001');
    await a.close();
    const stored = await lines();
    expect(stored).toHaveLength(3);
    expect(stored.map((l) => JSON.parse(l).op)).toEqual(['device', 'device', 'service']);
    expect(stored.join('\n')).not.toContain(secret);
    expect(stored.join('\n')).not.toContain('service-secret-0001');
    const b = await openRegistry();
    expect(b.getDevice('pole-01')).toMatchObject({ disabled: true, attributes: { island: 'oshima' } });
    expect(b.getService('ingest')?.role).toBe('ingest');
  });

  it('skips a torn last line with a warning, and a writer repairs the file', async () => {
    const a = await openRegistry();
    await a.provision({ id: 'wm-1', type: 'water-meter' });
    await a.close();
    await appendFile(path, '{"v":1,"op":"device","record":{"id":"wm-2","ty'); // power cut mid-append
    const b = await openRegistry();
    expect(b.listDevices().map((d) => d.id)).toEqual(['wm-1']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/skipped a corrupt last line/);
    expect(warnings[0]!.obj).toMatchObject({ line: 2, reason: 'not valid JSON' });
    await b.provision({ id: 'wm-2', type: 'water-meter' });
    expect((await lines()).map((l) => JSON.parse(l).record.id)).toEqual(['wm-1', 'wm-2']);
  });

  it('refuses to open when a line in the middle is corrupt, naming the line', async () => {
    const a = await openRegistry();
    await a.provision({ id: 'a', type: 'ring-node' });
    await a.provision({ id: 'b', type: 'ring-node' });
    await a.close();
    const [first, second] = await lines();
    await writeFile(path, `${first}\nnot json\n${second}\n`);
    const err = await FileDeviceRegistry.open({ path, logger, watch: false }).catch((e: unknown) => e);
    expect(isRegistryError(err, 'REGISTRY_ERR_CORRUPT')).toBe(true);
    expect((err as Error).message).toContain(`${path}:2: corrupt registry line (not valid JSON)`);
  });

  it('treats a record that fails validation as corrupt too', async () => {
    const a = await openRegistry();
    await a.provision({ id: 'a', type: 'ring-node' });
    await a.close();
    const good = (await lines())[0]!;
    await writeFile(path, `${good.replace('"ring-node"', '"toaster"')}\n${good}\n`);
    const err = await FileDeviceRegistry.open({ path, logger, watch: false }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/:1: corrupt registry line \(type: must be one of/);
  });

  it('compacts on open when the log holds more than twice the live records', async () => {
    const a = await openRegistry();
    await a.provision({ id: 'bs-1', type: 'bs-power' });
    for (let i = 0; i < 4; i++) await a.setDisabled('bs-1', i % 2 === 0);
    await a.close();
    expect(await lines()).toHaveLength(5);
    const b = await openRegistry();
    expect(await lines()).toHaveLength(1);
    expect(b.getDevice('bs-1')!.disabled).toBe(false);
    await b.provision({ id: 'bs-2', type: 'bs-power' });
    expect(await lines()).toHaveLength(2);
  });

  it('does not compact or write when read-only', async () => {
    const a = await openRegistry();
    await a.provision({ id: 'bs-1', type: 'bs-power' });
    for (let i = 0; i < 3; i++) await a.setDisabled('bs-1', i % 2 === 0);
    await a.close();
    const ro = await openRegistry({ readOnly: true });
    expect(await lines()).toHaveLength(4);
    const err = await ro.setDisabled('bs-1', false).catch((e: unknown) => e);
    expect(isRegistryError(err, 'REGISTRY_ERR_READ_ONLY')).toBe(true);
  });

  it('opens a missing file as empty, read-only too', async () => {
    const ro = await openRegistry({ readOnly: true });
    expect(ro.listDevices()).toEqual([]);
  });

  it('picks up appends from another instance through the file watcher and tells listeners', async () => {
    const reader = await openRegistry({ readOnly: true });
    const writer = await openRegistry();
    const seen: (string | null)[] = [];
    reader.onChange((id) => seen.push(id));
    await writer.provision({ id: 'pole-09', type: 'smart-pole' });
    await vi.waitFor(() => expect(reader.getDevice('pole-09')).toBeDefined(), { timeout: 3000 });
    await writer.setDisabled('pole-09', true);
    await vi.waitFor(() => expect(reader.getDevice('pole-09')?.disabled).toBe(true), { timeout: 3000 });
    expect(seen).toContain('pole-09');
  });

  it('reloads everything when the writer compacts the file under a reader', async () => {
    const first = await openRegistry();
    await first.provision({ id: 'ring-1', type: 'ring-node' });
    for (let i = 0; i < 3; i++) await first.setDisabled('ring-1', i % 2 === 0);
    await first.close();
    const reader = await openRegistry({ readOnly: true, watch: false });
    const seen: (string | null)[] = [];
    reader.onChange((id) => seen.push(id));
    const writer = await openRegistry({ watch: false }); // compacts: renames a new file in
    await writer.provision({ id: 'ring-2', type: 'ring-node' });
    await reader.refresh();
    expect(seen).toEqual([null]);
    expect(reader.listDevices().map((d) => [d.id, d.disabled])).toEqual([
      ['ring-1', true],
      ['ring-2', false],
    ]);
  });

  it('imports in batches: one append and one fsync per batch, all of it there after a reopen; a reader hears one reload per read', async () => {
    const writer = await openRegistry({ watch: false });
    const reader = await openRegistry({ readOnly: true, watch: false });
    const heard: (string | null)[] = [];
    reader.onChange((id) => heard.push(id));
    // Counts the fsyncs the import makes (calls through: the data really reaches the disk).
    const probe = await openFile(path, 'a');
    const FileHandle = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
    await probe.close();
    const syncs = vi.spyOn(FileHandle, 'sync');
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: `wm-bat-${String(i).padStart(4, '0')}`, type: 'water-meter' as const, attributes: { dma: 'dma-1', headEnd: 'hes-1' }, secret: null }));
    try {
      expect(await writer.importDevices(rows, { batchSize: 300 })).toMatchObject({ applied: true, created: 1000, withoutSecret: 1000 });
      // 4 batches (300, 300, 300, 100), and the directory once (the file was created).
      expect(syncs).toHaveBeenCalledTimes(5);
    } finally {
      syncs.mockRestore();
    }
    expect(await lines()).toHaveLength(1000);
    await reader.refresh();
    expect(heard).toEqual([null]);
    expect(reader.listDevices()).toHaveLength(1000);
    await writer.close();
    const again = await openRegistry({ watch: false });
    expect(again.getDevice('wm-bat-0999')).toMatchObject({ type: 'water-meter', attributes: { dma: 'dma-1', headEnd: 'hes-1' } });
    expect(again.listDevices()).toHaveLength(1000);
  });

  it('sees a device another writer added before checking that an id is free', async () => {
    const a = await openRegistry({ watch: false });
    const b = await openRegistry({ watch: false });
    await a.provision({ id: 'dup', type: 'smart-pole' });
    const err = await b.provision({ id: 'dup', type: 'smart-pole' }).catch((e: unknown) => e);
    expect(isRegistryError(err, 'REGISTRY_ERR_EXISTS')).toBe(true);
  });
});
