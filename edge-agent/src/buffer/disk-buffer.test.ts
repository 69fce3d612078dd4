import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { message, messageBufferContract, sample } from './buffer.contract.js';
import { DiskBuffer, type DiskBufferOptions } from './disk-buffer.js';

const dirs: string[] = [];
const open: DiskBuffer[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tsunagaru-buffer-'));
  dirs.push(d);
  return d;
}

async function openBuffer(dir: string, options: Partial<DiskBufferOptions> = {}): Promise<DiskBuffer> {
  const b = new DiskBuffer({ dir, maxBytes: 1 << 20, segmentBytes: 16 * 1024, ...options });
  await b.open();
  open.push(b);
  return b;
}

messageBufferContract('DiskBuffer', async (options) => openBuffer(await tempDir(), { ...options, segmentBytes: Math.min(16 * 1024, options.maxBytes / 4) }));

describe('DiskBuffer on disk', () => {
  it('recovers pending messages, their order and the open batch after a restart', async () => {
    const dir = await tempDir();
    const a = await openBuffer(dir);
    const m0 = await a.push(message(0, 'live'));
    await a.push(message(1, 'event'));
    await a.addSample(sample(0));
    await a.addSample(sample(1));
    await a.seal((s) => message(2, 'replay', s.length));
    await a.addSample(sample(2));
    await a.ack(m0.id);
    await a.close();
    const b = await openBuffer(dir);
    expect((await b.next(10)).map((m) => [m.seq, m.lane, m.samples])).toEqual([
      [1, 'event', 0],
      [2, 'replay', 2],
    ]);
    expect(b.openBatch()).toEqual([sample(2)]);
    const again = await b.push(message(3));
    expect(again.id).toBeGreaterThan(m0.id + 5);
  });

  it('cuts a torn write at the end of the log and keeps everything before it', async () => {
    const dir = await tempDir();
    const a = await openBuffer(dir);
    await a.push(message(0));
    await a.push(message(1));
    await a.flush();
    const [seg] = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
    const file = join(dir, seg!);
    const size = (await readFile(file)).length;
    await a.close();
    await truncate(file, size - 10);
    const b = await openBuffer(dir);
    expect((await b.next(10)).map((m) => m.seq)).toEqual([0]);
    expect(b.stats().corruptRecords).toBe(1);
    await b.push(message(2));
    expect((await b.next(10)).map((m) => m.seq)).toEqual([0, 2]);
  });

  it('detects a flipped bit with the record CRC', async () => {
    const dir = await tempDir();
    const a = await openBuffer(dir);
    await a.push(message(0));
    await a.close();
    const [seg] = (await readdir(dir)).filter((n) => n.endsWith('.seg'));
    const bytes = await readFile(join(dir, seg!));
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    await writeFile(join(dir, seg!), bytes);
    const b = await openBuffer(dir);
    expect(await b.next(10)).toEqual([]);
    expect(b.stats().corruptRecords).toBe(1);
  });

  it('deletes delivered segments beyond the history bound', async () => {
    const dir = await tempDir();
    const b = await openBuffer(dir, { historyBytes: 20 * 1024 });
    for (let i = 0; i < 100; i++) await b.ack((await b.push(message(i, 'live', 1, 1000))).id);
    expect(b.stats().bytes).toBeLessThan(20 * 1024 + 2 * 16 * 1024);
    expect(b.stats().droppedMessages).toBe(0);
  });

  it('refuses a directory held by another live process', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'LOCK'), String(process.ppid));
    await expect(openBuffer(dir)).rejects.toMatchObject({ code: 'EDGE_ERR_BUFFER_LOCKED' });
    await writeFile(join(dir, 'LOCK'), '999999999');
    await openBuffer(dir);
  });
});
