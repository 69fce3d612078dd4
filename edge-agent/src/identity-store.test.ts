import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { identityStoreContract } from './identity-store.contract.js';
import { FileIdentityStore, MemoryIdentityStore } from './identity-store.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsunagaru-identity-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

// A memory store cannot survive a restart; "reopen" models a simulator that seeds its first boot from
// the clock, as the simulators do.
let memoryBase = 1_700_000_000;
identityStoreContract('MemoryIdentityStore', () => {
  const store = new MemoryIdentityStore({ firstBoot: memoryBase++ });
  return Promise.resolve({ store, reopen: () => new MemoryIdentityStore({ firstBoot: memoryBase += 1000 }) });
});

identityStoreContract('FileIdentityStore', async () => {
  const dir = await tempDir();
  return { store: new FileIdentityStore({ dir, deviceId: 'dev-1' }), reopen: () => new FileIdentityStore({ dir, deviceId: 'dev-1' }) };
});

describe('MemoryIdentityStore', () => {
  it('starts at firstBoot (default 0)', async () => {
    expect(await new MemoryIdentityStore().nextBoot()).toBe(0);
    expect(await new MemoryIdentityStore({ firstBoot: 42 }).nextBoot()).toBe(42);
  });

  it('rejects a negative or fractional firstBoot', () => {
    expect(() => new MemoryIdentityStore({ firstBoot: -1 })).toThrow(/firstBoot/);
    expect(() => new MemoryIdentityStore({ firstBoot: 1.5 })).toThrow(/firstBoot/);
  });
});

describe('FileIdentityStore', () => {
  it('persists boot 0 on first start, then counts up across instances', async () => {
    const dir = await tempDir();
    const boots: number[] = [];
    for (let i = 0; i < 3; i++) boots.push(await new FileIdentityStore({ dir, deviceId: 'meter-1' }).nextBoot());
    expect(boots).toEqual([0, 1, 2]);
    const file = JSON.parse(await readFile(join(dir, 'meter-1.identity.json'), 'utf8')) as unknown;
    expect(file).toEqual({ v: 1, deviceId: 'meter-1', boot: 2, nextSeq: 0 });
  });

  it('writes seq lazily and on flush, leaving no temporary files', async () => {
    const dir = await tempDir();
    const store = new FileIdentityStore({ dir, deviceId: 'meter-1', persistDelayMs: 60_000 });
    await store.nextBoot();
    for (let i = 0; i < 5; i++) store.takeSeq();
    const before = JSON.parse(await readFile(store.file, 'utf8')) as { nextSeq: number };
    expect(before.nextSeq).toBe(0);
    await store.flush();
    const after = JSON.parse(await readFile(store.file, 'utf8')) as { nextSeq: number };
    expect(after.nextSeq).toBe(5);
    expect(await readdir(dir)).toEqual(['meter-1.identity.json']);
  });

  it('keeps devices apart in one state directory', async () => {
    const dir = await tempDir();
    await new FileIdentityStore({ dir, deviceId: 'a' }).nextBoot();
    await new FileIdentityStore({ dir, deviceId: 'a' }).nextBoot();
    expect(await new FileIdentityStore({ dir, deviceId: 'b' }).nextBoot()).toBe(0);
  });

  it('recovers from a corrupt file with a boot above any counted one, and keeps the bad file aside', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'pole-1.identity.json'), '{"v":1,"deviceId":"pole-1","boot":');
    const now = 1_750_000_000_000;
    const store = new FileIdentityStore({ dir, deviceId: 'pole-1', clock: () => now });
    expect(await store.nextBoot()).toBe(now / 1000);
    const files = await readdir(dir);
    expect(files).toContain('pole-1.identity.json');
    expect(files.some((f) => f.startsWith('pole-1.identity.json.corrupt-'))).toBe(true);
    expect(await new FileIdentityStore({ dir, deviceId: 'pole-1' }).nextBoot()).toBe(now / 1000 + 1);
  });

  it('rejects an invalid deviceId before touching the disk', () => {
    expect(() => new FileIdentityStore({ dir: '/nonexistent', deviceId: '../etc' })).toThrow(/deviceId/);
  });
});
