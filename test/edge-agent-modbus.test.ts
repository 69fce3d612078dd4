/**
 * The edge agent reading real Modbus TCP frames from a simulator's register server and publishing
 * contract-valid telemetry and edge events to a real broker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopic, validateMessage, type RegisterMap } from '@tsunagaru/firmware-contracts';
import { EdgeAgent, loadRegisterMap, parseAgentConfig, silentLogger } from '@tsunagaru/edge-agent';
import { collectMessages, startTestBroker, type CollectedMessage, type MessageCollector, type TestBroker } from '@tsunagaru/edge-agent/testing';
import { RegisterServer } from '@tsunagaru/simulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy } from './support/tcp-proxy.js';
import { waitFor } from './support/wait-for.js';

const ID = 'bs-modbus-01';
const ON_MAINS = { mains: 'on', rectifierV: 53.52, loadA: 41.3, batteryV: 53.47, batteryA: 2.4, batteryTempC: 24.6, batterySocPct: 99.2, batterySohPct: 91.5, fuelPct: 87.9, batteryCapacityAh: 400, runtimeMin: 1311.25, generator: 'off', backhaul: 'fiber' } as const;

describe('edge agent ← Modbus TCP (simulator register server) → broker', () => {
  let broker: TestBroker;
  let server: RegisterServer;
  let map: RegisterMap;
  let sink: MessageCollector;
  let agent: EdgeAgent;
  let faulty = false;
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-agent-'));

  beforeAll(async () => {
    broker = await startTestBroker();
    map = await loadRegisterMap('bs-power-dcp48');
    // A flaky RTU gateway in front of the controller: exception 11 on the main register block while `faulty`.
    server = await RegisterServer.start({ map, fault: (r) => (faulty && r.table === 'input-register' && r.address === 0 ? { exception: 11 } : undefined) });
    server.setReadings(ON_MAINS);
    sink = await collectMessages(broker.url, `tsunagaru/v1/bs-power/${ID}/#`);
    const config = parseAgentConfig(
      {
        device: { id: ID, type: 'bs-power', secret: 'not-checked-here', model: 'DCP-48' },
        mqtt: { url: broker.url, reconnectPeriodMs: 200 },
        modbus: { transport: 'tcp', host: server.host, port: server.port, timeoutMs: 300 },
        registerMap: 'bs-power-dcp48',
        // One sample per simulated minute, 60× faster: a sample every second, watch points every 50 ms.
        sampling: { intervalSec: 60, speed: 60, watchIntervalMs: 3000 },
        storage: { dir, maxBytes: '4 MiB' },
      },
      join(dir, 'agent.yaml'),
    );
    agent = await EdgeAgent.create(config, { logger: silentLogger });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await sink?.close();
    await server?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const telemetry = (m: CollectedMessage) => m.topic.endsWith('/telemetry');

  it('publishes telemetry whose readings equal the registers set on the server, contract-valid', async () => {
    const [first] = await sink.waitForCount(telemetry, 1, 5000);
    expect(validateMessage(first!.topic, first!.text)).toMatchObject({ ok: true });
    const payload = first!.json as { id: string; boot: number; seq: number; replay?: boolean; samples: Array<Record<string, unknown>> };
    expect(payload).toMatchObject({ v: 1, id: ID, boot: 0 });
    expect(payload.replay).toBeUndefined();
    const { ts, ...readings } = payload.samples[0]!;
    expect(readings).toEqual(ON_MAINS);
    expect(Math.abs((ts as number) - Date.now())).toBeLessThan(10_000);
    const birth = sink.messages.find((m) => m.topic === buildTopic('bs-power', ID, 'state'));
    expect(birth?.json).toMatchObject({ state: 'online', boot: 0, sampleSec: 60, model: 'DCP-48' });
  });

  it('raises mains_lost at once, before the next sample, and the samples follow the registers', async () => {
    await sink.waitForCount(telemetry, 2, 5000);
    const before = sink.messages.filter(telemetry).length;
    server.setReadings({ mains: 'off', rectifierV: 0, batteryA: -41.3, batteryV: 50.12 });
    const event = await sink.waitFor((m) => m.topic.endsWith('/event'), 3000);
    expect(validateMessage(event.topic, event.text)).toMatchObject({ ok: true });
    expect(event.json).toMatchObject({ type: 'mains_lost', detail: { mains: 'off', from: 'on' } });
    // Polled at the watch interval (50 ms), so the event beats the next sample (1 s).
    expect(sink.messages.filter(telemetry).length - before).toBeLessThanOrEqual(1);
    const after = await sink.waitFor((m) => telemetry(m) && (m.json as { samples: Array<{ mains: string }> }).samples[0]!.mains === 'off', 5000);
    expect((after.json as { samples: object[] }).samples[0]).toMatchObject({ mains: 'off', rectifierV: 0, batteryA: -41.3, batteryV: 50.12 });
    const seqs = sink.messages.filter((m) => !m.topic.endsWith('/state')).map((m) => (m.json as { seq: number }).seq);
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('keeps sampling through gateway faults, publishing what it could read, and reports them in its health', async () => {
    faulty = true;
    const partial = await sink.waitFor((m) => telemetry(m) && (m.json as { samples: Array<Record<string, unknown>> }).samples[0]!.batterySocPct === undefined, 5000);
    expect((partial.json as { samples: object[] }).samples[0]).toMatchObject({ mains: 'off', generator: 'off', batteryCapacityAh: 400 });
    expect(agent.health().sampling.readFailures).toBeGreaterThan(0);
    expect(agent.health().modbus).toMatchObject({ exceptions: expect.any(Number) as unknown, lastError: expect.stringMatching(/input-register 0–7.*Modbus exception 11/) as unknown });
    faulty = false;
    await sink.waitFor((m) => telemetry(m) && m !== partial && sink.messages.indexOf(m) > sink.messages.indexOf(partial) && (m.json as { samples: Array<Record<string, unknown>> }).samples[0]!.batterySocPct === 99.2, 5000);
    const h = agent.health();
    expect(h).toMatchObject({ deviceId: ID, connected: true, boot: 0, sampleSec: 60 });
    expect(h.queue.pendingSamples).toBeLessThan(3);
    expect(h.publish.lastPublishAt).not.toBeNull();
  });
});

describe('edge agent offline, then online: events first, then the backlog in order', () => {
  it('sends the event raised offline before the buffered samples, which follow in order marked replay', async () => {
    const broker = await startTestBroker();
    const proxy = await startTcpProxy(broker.port);
    proxy.cut();
    const map = await loadRegisterMap('bs-power-dcp48');
    const server = await RegisterServer.start({ map });
    server.setReadings(ON_MAINS);
    const sink = await collectMessages(broker.url, 'tsunagaru/v1/bs-power/bs-offline-01/#');
    const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-agent-'));
    const config = parseAgentConfig(
      {
        device: { id: 'bs-offline-01', type: 'bs-power', secret: 'unused', model: 'DCP-48' },
        mqtt: { url: proxy.url, reconnectPeriodMs: 100 },
        modbus: { transport: 'tcp', host: server.host, port: server.port, timeoutMs: 300 },
        registerMap: 'bs-power-dcp48',
        sampling: { intervalSec: 10, speed: 100, watchIntervalMs: 1000 },
        storage: { dir, maxBytes: '4 MiB' },
      },
      join(dir, 'agent.yaml'),
    );
    const agent = await EdgeAgent.create(config, { logger: silentLogger });
    try {
      await agent.start();
      await waitFor('samples buffered offline', () => agent.buffer.stats().openBatch >= 10, 10_000, 20);
      server.setReadings({ mains: 'off' });
      await waitFor('the event buffered', () => agent.buffer.stats().pending.event === 1, 5000, 20);
      await waitFor('more samples', () => agent.buffer.stats().openBatch >= 15, 5000, 20);
      proxy.restore();
      await sink.waitForCount((m) => m.topic.endsWith('/telemetry') && (m.json as { replay?: boolean }).replay !== true, 2, 10_000);
      const sent = sink.messages.filter((m) => !m.topic.endsWith('/state')).map((m) => m.json as { seq: number; type?: string; replay?: boolean; samples?: Array<{ ts: number; mains: string }> });
      expect(sent[0]).toMatchObject({ type: 'mains_lost', replay: true });
      const backlog = sent.filter((m) => m.samples && m.replay === true);
      expect(backlog.length).toBeGreaterThanOrEqual(1);
      const ts = backlog.flatMap((m) => m.samples!.map((s) => s.ts));
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
      expect(ts.length).toBeGreaterThanOrEqual(15);
      expect(backlog.flatMap((m) => m.samples!.map((s) => s.mains))).toContain('off');
      for (const m of sink.messages) expect(validateMessage(m.topic, m.text).ok).toBe(true);
    } finally {
      await agent.stop();
      await sink.close();
      await proxy.close();
      await server.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
