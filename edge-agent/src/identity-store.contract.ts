import { describe, expect, it } from 'vitest';
import type { IdentityStore } from './identity-store.js';

/**
 * Behaviour every IdentityStore must have, run against each implementation (see identity-store.test.ts).
 * `create` returns a fresh store; `reopen` returns a store over the same state, as after a restart.
 */
export function identityStoreContract(name: string, create: () => Promise<{ store: IdentityStore; reopen: () => IdentityStore }>): void {
  describe(`IdentityStore contract: ${name}`, () => {
    it('refuses seq before the first boot', async () => {
      const { store } = await create();
      expect(() => store.takeSeq()).toThrow(/nextBoot/);
      expect(() => store.current()).toThrow(/nextBoot/);
    });

    it('counts seq from 0 within a boot, one by one', async () => {
      const { store } = await create();
      const boot = await store.nextBoot();
      expect([store.takeSeq(), store.takeSeq(), store.takeSeq()]).toEqual([0, 1, 2]);
      expect(store.current()).toEqual({ boot, nextSeq: 3 });
    });

    it('increments boot on every start and resets seq', async () => {
      const { store } = await create();
      const first = await store.nextBoot();
      store.takeSeq();
      const second = await store.nextBoot();
      expect(second).toBe(first + 1);
      expect(store.takeSeq()).toBe(0);
    });

    it('flush resolves when nothing is pending', async () => {
      const { store } = await create();
      await store.flush();
      await store.nextBoot();
      store.takeSeq();
      await store.flush();
      await store.flush();
    });

    it('never repeats a boot for the same state', async () => {
      const { store, reopen } = await create();
      const seen = new Set<number>([await store.nextBoot()]);
      await store.flush();
      const again = reopen();
      for (let i = 0; i < 3; i++) {
        const boot = await again.nextBoot();
        expect(seen.has(boot)).toBe(false);
        seen.add(boot);
      }
    });
  });
}
