/**
 * Commands end to end: REST API → ingest (DuckDB, MQTT QoS 1) → our broker → edge agent → Modbus → ack →
 * ingest → API. The agent runs in-process here (its child-process behaviour is in edge-agent-outage).
 */
import { join } from 'node:path';
import { EdgeAgent, loadRegisterMap, parseAgentConfig, silentLogger } from '@tsunagaru/edge-agent';
import { ModbusDevice } from '@tsunagaru/simulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { makeTempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

describe('commands: API → ingest → broker → edge agent → ack → API', () => {
  let stack: Stack;
  let sim: ModbusDevice;
  const dir = makeTempDir('agent-commands');
  const agents: EdgeAgent[] = [];
  const restarts: number[] = [];

  async function startAgent(id: string, secret: string): Promise<EdgeAgent> {
    const config = parseAgentConfig(
      {
        device: { id, type: 'bs-power', secret, model: 'DCP-48-sim' },
        mqtt: { url: stack.mqttUrl, reconnectPeriodMs: 200 },
        modbus: { transport: 'tcp', host: '127.0.0.1', port: sim.port, timeoutMs: 500 },
        registerMap: 'bs-power-dcp48',
        sampling: { intervalSec: 60, speed: 30, watchIntervalMs: 3000 },
        storage: { dir: `state-${id}`, maxBytes: '4 MiB' },
      },
      join(dir.path, 'agent.yaml'),
    );
    const agent = await EdgeAgent.create(config, { logger: silentLogger, onRestart: (code) => restarts.push(code) });
    agents.push(agent);
    await agent.start();
    return agent;
  }

  async function provision(id: string): Promise<string> {
    const res = await stack.api.post('/api/v1/devices', { id, type: 'bs-power' });
    expect(res.status).toBe(201);
    return res.body.secret as string;
  }

  const send = (id: string, body: object) => stack.api.post(`/api/v1/devices/${id}/commands`, body);
  const status = async (id: string, cmdId: string) => (await stack.api.get(`/api/v1/devices/${id}/commands/${cmdId}`)).body;
  const settled = (id: string, cmdId: string, want = 'acked') => waitFor(`command ${cmdId} ${want}`, async () => {
    const s = await status(id, cmdId);
    return s.status === want ? s : undefined;
  }, 15_000, 100);

  beforeAll(async () => {
    stack = await startStack();
    sim = await ModbusDevice.start({ spec: { type: 'bs-power', id: 'sim-cmd' }, map: await loadRegisterMap('bs-power-dcp48'), speed: 30 });
  });

  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await sim?.close();
    await stack?.close();
    dir.remove();
  });

  describe('a live agent', () => {
    const id = 'bs-cmd-live';
    beforeAll(async () => {
      await startAgent(id, await provision(id));
      await waitFor('the birth', async () => (await stack.api.get(`/api/v1/devices/${id}`)).body.status?.online === true);
    });

    it('ping: sent, acked, with the device result in the API', async () => {
      const res = await send(id, { name: 'ping' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ deviceId: id, name: 'ping', status: expect.stringMatching(/^(sent|acked)$/) as unknown });
      const done = await settled(id, res.body.cmdId);
      expect(done).toMatchObject({ status: 'acked', result: { boot: 0, sampleSec: 60 }, error: null });
      expect(done.ackedAt).toBeGreaterThanOrEqual(done.createdAt);
    });

    it('set_sample_interval: applied, and announced in a new birth', async () => {
      const res = await send(id, { name: 'set_sample_interval', args: { sec: 30 } });
      expect((await settled(id, res.body.cmdId)).result).toEqual({ sampleSec: 30 });
      await waitFor('sampleSec 30 in the device status', async () => (await stack.api.get(`/api/v1/devices/${id}`)).body.status.sampleSec === 30);
    });

    it('generator_test: the agent writes the coil, the controller starts its generator, the event follows', async () => {
      const res = await send(id, { name: 'generator_test', ttlSec: 60 });
      expect((await settled(id, res.body.cmdId)).result).toMatchObject({ started: true, table: 'coil', address: 0 });
      const events = await waitFor('generator_start in the ingest', async () => {
        const e = (await stack.api.get(`/api/v1/devices/${id}/events?from=0`)).body.events as Array<{ type: string }>;
        return e.some((x) => x.type === 'generator_start') ? e : undefined;
      });
      expect(events.map((e) => e.type)).toContain('generator_start');
    });

    it('replay: resends delivered samples of a range under their own (boot, seq)', async () => {
      await waitFor('two samples stored', async () => (await stack.api.get(`/api/v1/devices/${id}/readings?from=0`)).body.count >= 2);
      const res = await send(id, { name: 'replay', args: { fromTs: Date.now() - 3_600_000, toTs: Date.now() } });
      const done = await settled(id, res.body.cmdId);
      expect(done.result.messages).toBeGreaterThanOrEqual(1);
      expect(done.result.truncated).toBe(false);
    });

    it('reboot: acked first, then the agent asks its supervisor for a restart (exit code 75)', async () => {
      const res = await send(id, { name: 'reboot' });
      expect((await settled(id, res.body.cmdId)).result).toEqual({ restarting: true, exitCode: 75 });
      await waitFor('the restart request', () => restarts.includes(75));
    });

    it('refuses a command the contract does not allow, naming the field', async () => {
      const noArgs = await send(id, { name: 'set_sample_interval' });
      expect(noArgs.status).toBe(400);
      expect(noArgs.body.message).toMatch(/args/);
      const pole = await stack.api.post('/api/v1/devices', { id: 'pole-cmd-1', type: 'smart-pole' });
      expect(pole.status).toBe(201);
      const wrongType = await send('pole-cmd-1', { name: 'generator_test' });
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.message).toMatch(/generator_test/);
      expect((await send('nobody-here', { name: 'ping' })).status).toBe(404);
    });
  });

  describe('an offline agent', () => {
    it('gets a queued command when it comes online (its birth), while an expired one is reported expired', async () => {
      const id = 'bs-cmd-offline';
      const secret = await provision(id);
      const expiring = await send(id, { name: 'ping', ttlSec: 1 });
      const waiting = await send(id, { name: 'set_sample_interval', args: { sec: 120 }, ttlSec: 600 });
      expect(expiring.body.status).toBe('queued');
      expect(waiting.body.status).toBe('queued');
      await new Promise((r) => setTimeout(r, 1200));
      expect((await status(id, expiring.body.cmdId)).status).toBe('expired');

      const agent = await startAgent(id, secret);
      const done = await settled(id, waiting.body.cmdId);
      expect(done).toMatchObject({ status: 'acked', result: { sampleSec: 120 } });
      expect(agent.sampleIntervalSec).toBe(120);
      const expired = await status(id, expiring.body.cmdId);
      expect(expired).toMatchObject({ status: 'expired', sentAt: null, error: expect.stringMatching(/^not acknowledged before/) as unknown });
      const list = (await stack.api.get(`/api/v1/devices/${id}/commands`)).body;
      expect(list.commands.map((c: { status: string }) => c.status)).toEqual(['acked', 'expired']);
    });
  });
});
