/**
 * For tests: the REST API over an in-memory embedded store with its history and water readers, and a
 * registry holding the given devices (their attributes name the DMA the store's rollups record).
 */
import { MemoryDeviceRegistry } from '@tsunagaru/broker';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { FastifyInstance } from 'fastify';
import { openEmbeddedStore, type EmbeddedStore } from '../storage/duckdb/index.js';
import { buildApp } from './app.js';

export interface HistoryApp {
  app: FastifyInstance;
  store: EmbeddedStore;
  registry: MemoryDeviceRegistry;
  close(): Promise<void>;
}

export interface FixtureDevice {
  id: string;
  type?: DeviceType;
  attributes: Record<string, string>;
}

export async function historyApp(o: { token: string; clock: () => number; devices: readonly FixtureDevice[] }): Promise<HistoryApp> {
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  for (const d of o.devices) await registry.provision({ id: d.id, type: d.type ?? 'water-meter', attributes: d.attributes });
  const store = await openEmbeddedStore(':memory:', { clock: o.clock, attributes: (id) => registry.getDevice(id)?.attributes });
  const app = await buildApp({
    registry,
    operations: store.api.operations,
    readings: store.api.readings,
    history: store.api.history,
    water: store.api.water,
    adminToken: o.token,
    clock: o.clock,
    health: () => ({ status: 'ok', mqtt: { connected: true, url: 'mqtt://x' }, store: { kind: 'duckdb', path: ':memory:' }, counters: {} }),
  });
  return {
    app,
    store,
    registry,
    close: async () => {
      await app.close();
      await store.close();
      await registry.close();
    },
  };
}
