/**
 * Store-and-forward end to end, with the agent as a real child process (`npm run agent`): our broker and
 * ingest (test/support/stack.ts), a simulated bs-power controller over Modbus TCP, and a TCP proxy that
 * cuts the device's uplink. Time runs 60× (one sample per 2 simulated seconds = every 33 ms).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBroker, MemoryDeviceRegistry, type TsunagaruBroker } from '@tsunagaru/broker';
import { loadRegisterMap } from '@tsunagaru/edge-agent';
import { ModbusDevice } from '@tsunagaru/simulators';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentProcess, type AgentProcess } from './support/agent-process.js';
import { captureLogger } from './support/log-capture.js';
import { freePort } from './support/ports.js';
import { startStack, type Stack } from './support/stack.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  boot: number;
  seq: number;
  ts: number;
  replay: boolean;
}

describe('edge agent store-and-forward against our broker and ingest', () => {
  const { logger } = captureLogger('warn');
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const ingestPassword = 'ingest-password-for-outage-tests';
  const dir = makeTempDir('agent-outage');
  const agents: AgentProcess[] = [];
  let port: number;
  let broker: TsunagaruBroker;
  let stack: Stack;
  let sim: ModbusDevice;

  const startBroker = async () => {
    broker = await createBroker({ registry, logger: logger as unknown as Logger });
    await broker.listen({ port, host: '127.0.0.1' });
  };

  beforeAll(async () => {
    await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);
    port = await freePort();
    await startBroker();
    stack = await startStack({ externalMqttUrl: `mqtt://127.0.0.1:${port}`, ingestPassword, registry });
    sim = await ModbusDevice.start({ spec: { type: 'bs-power', id: 'sim-bs' }, map: await loadRegisterMap('bs-power-dcp48'), speed: 60 });
  });

  afterAll(async () => {
    for (const a of agents) a.child.kill('SIGKILL');
    await sim?.close();
    await stack?.close();
    await broker?.close();
    await registry.close();
    dir.remove();
  });

  async function provision(id: string, proxy: TcpProxy, storage: Record<string, unknown>, intervalSec: number, speed: number): Promise<string> {
    const res = await stack.api.post('/api/v1/devices', { id, type: 'bs-power' });
    expect(res.status).toBe(201);
    writeFileSync(join(dir.path, `${id}.secret`), `${res.body.secret}\n`);
    const file = join(dir.path, `${id}.json`);
    const config = {
      device: { id, type: 'bs-power', secretFile: `${id}.secret`, model: 'DCP-48-sim' },
      mqtt: { url: proxy.url, reconnectPeriodMs: 200 },
      modbus: { transport: 'tcp', host: '127.0.0.1', port: sim.port, timeoutMs: 500 },
      registerMap: 'bs-power-dcp48',
      sampling: { intervalSec, speed, watchIntervalMs: 0 },
      storage: { dir: `state-${id}`, ...storage },
      health: { logIntervalSec: 1 },
    };
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  }

  function run(config: string): AgentProcess {
    const a = startAgentProcess(config);
    agents.push(a);
    return a;
  }

  async function stored(id: string): Promise<{ readings: Row[]; events: Array<Row & { type: string }> }> {
    const readings = (await stack.api.get(`/api/v1/devices/${id}/readings?from=0&limit=10000`)).body.readings as Row[];
    const events = (await stack.api.get(`/api/v1/devices/${id}/events?from=0&limit=10000`)).body.events as Array<Row & { type: string }>;
    return { readings, events };
  }

  /** Waits until the ingest's count for the device stops changing (everything in the broker is stored). */
  async function settled(id: string): Promise<void> {
    let last = -1;
    await waitFor('the ingest to settle', async () => {
      const { readings, events } = await stored(id);
      const n = readings.length + events.length;
      const same = n === last;
      last = n;
      return same;
    }, 20_000, 400);
  }

  function seqsByBoot(rows: Array<{ boot: number; seq: number }>): Map<number, number[]> {
    const out = new Map<number, Set<number>>();
    for (const r of rows) out.set(r.boot, (out.get(r.boot) ?? new Set()).add(r.seq));
    return new Map([...out].map(([boot, s]) => [boot, [...s].sort((a, b) => a - b)]));
  }

  it('broker down for 10 simulated minutes, agent SIGKILLed in between: every (boot, seq) stored, no gap, no duplicate', async () => {
    const id = 'bs-outage-01';
    const proxy = await startTcpProxy(port);
    const config = await provision(id, proxy, { maxBytes: '8 MiB', batchSamples: 100 }, 2, 60);
    const a = run(config);
    await waitFor('live telemetry in the ingest', async () => (await stored(id)).readings.length >= 20, 20_000, 200);

    // The uplink goes down; once the ingest has everything the broker took, the broker itself restarts.
    proxy.cut();
    const outageStart = Date.now();
    await settled(id);
    await broker.close();
    await startBroker();

    // Mains fails during the outage: the agent raises mains_lost offline (numbered, buffered on disk).
    sim.hold({ mains: 'off', rectifierV: 0 });
    await a.waitForLine('mains_lost raised offline', (l) => l.event === 'edge_event' && l.type === 'mains_lost');
    // Six simulated minutes in (≥ 1 sealed batch of 100 samples on disk, more in the open batch): SIGKILL.
    await sleep(outageStart + 6000 - Date.now());
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');

    const b = run(config);
    const started = await b.waitForLine('restart', (l) => l.event === 'agent_started');
    expect(started).toMatchObject({ boot: 1 });
    const recovered = (started.buffer as { pending: Record<string, number>; openBatch: number }).pending;
    expect(recovered.event).toBeGreaterThanOrEqual(1);
    expect(recovered.replay).toBeGreaterThanOrEqual(1);
    // Mains returns once the new boot has seen it off (its first poll is the baseline for edges).
    await b.waitForLine('a first sample', (l) => l.event === 'agent_health' && (l.sampling as { samples: number }).samples > 0);
    sim.release('mains', 'rectifierV');

    // Ten simulated minutes after it went down, the uplink returns.
    await sleep(outageStart + 10_000 - Date.now());
    proxy.restore();
    await b.waitForLine('backlog replayed', (l) => {
      const q = l.queue as { pendingSamples: number } | undefined;
      return l.event === 'agent_health' && l.connected === true && q?.pendingSamples === 0;
    }, 30_000);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    await settled(id);

    const { readings, events } = await stored(id);
    const byBoot = seqsByBoot([...readings, ...events]);
    expect([...byBoot.keys()].sort()).toEqual([0, 1]);
    for (const [, seqs] of byBoot) expect(seqs).toEqual(seqs.map((_, i) => i));
    // No sample stored twice: every sample has its own timestamp.
    expect(new Set(readings.map((r) => r.ts)).size).toBe(readings.length);
    // The outage is covered: buffered samples came back marked replay, from both boots.
    const replayed = readings.filter((r) => r.replay);
    expect(new Set(replayed.map((r) => r.boot))).toEqual(new Set([0, 1]));
    expect(replayed.length).toBeGreaterThan(100);
    // The only hole in time is the restart after SIGKILL (a few seconds of not sampling), not lost data.
    const ts = readings.map((r) => r.ts).sort((x, y) => x - y);
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!).filter((g) => g > 1500);
    expect(gaps.length).toBeLessThanOrEqual(1);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['mains_lost', 'mains_restored']));
    expect(events.find((e) => e.type === 'mains_lost')).toMatchObject({ boot: 0 });
    await proxy.close();
  }, 90_000);

  it('disk bound reached: the oldest data is dropped, counted and logged, the agent keeps running, the ingest sees the gap', async () => {
    const id = 'bs-bound-01';
    const proxy = await startTcpProxy(port);
    proxy.cut();
    // 256 KiB in 64 KiB segments, batches of 50 samples; a sample every 8 real ms: the bound is reached in seconds.
    const config = await provision(id, proxy, { maxBytes: '256 KiB', segmentBytes: '64 KiB', batchSamples: 50 }, 1, 120);
    const a = run(config);
    const drop = await a.waitForLine('a drop', (l) => l.event === 'buffer_drop', 40_000);
    expect(drop).toMatchObject({ policy: 'drop-oldest', firstDropped: { boot: 0, seq: 0 } });
    expect(drop.samples as number).toBeGreaterThan(0);
    const health = await a.waitForLine('health after the drop', (l) => l.event === 'agent_health' && (l.queue as { droppedSamples: number }).droppedSamples > 0);
    const q = health.queue as { bytes: number; maxBytes: number; droppedMessages: number };
    expect(q.bytes).toBeLessThanOrEqual(q.maxBytes);
    // Still sampling after the drop.
    const before = (health.sampling as { samples: number }).samples;
    await a.waitForLine('more samples', (l) => l.event === 'agent_health' && (l.sampling as { samples: number }).samples > before + 50);
    expect(a.child.exitCode).toBeNull();

    proxy.restore();
    // Sampling (120/s here) outpaces the agent's publish pacing (40 messages/s): live samples go out in batches.
    await a.waitForLine('backlog sent', (l) => l.event === 'agent_health' && l.connected === true && (l.queue as { pending: { replay: number } }).pending.replay === 0, 30_000);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    await settled(id);
    const { readings } = await stored(id);
    const seqs = seqsByBoot(readings).get(0) ?? [];
    const last = a.lines.filter((l) => l.event === 'buffer_drop').at(-1) as { lastDropped: { seq: number }; droppedMessagesTotal: number };
    // The dropped messages are exactly the missing seqs at the start: the loss is visible to the ingest, never silent.
    expect(seqs[0]).toBe(last.lastDropped.seq + 1);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(last.droppedMessagesTotal).toBe(seqs[0]);
    await proxy.close();
  }, 90_000);
});
