/**
 * Modbus RTU: the edge agent on one end of a (virtual) serial null-modem cable, the simulator's register
 * server on the other, real RTU frames with CRC between them. Needs python3 for the pseudo-terminals.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateMessage } from '@tsunagaru/firmware-contracts';
import { EdgeAgent, loadRegisterMap, parseAgentConfig, silentLogger } from '@tsunagaru/edge-agent';
import { collectMessages, startTestBroker } from '@tsunagaru/edge-agent/testing';
import { RegisterServer } from '@tsunagaru/simulators';
import { describe, expect, it } from 'vitest';
import { python3Available, startNullModem } from './support/null-modem.js';

const READINGS = { airTempC: 28.7, humidityPct: 66.1, noiseDb: 61.4, pm25: 9.8, peopleCount: 412, wifiClients: 33, powerW: 301.25, cabinetTempC: 38.2, fiveG: 'up', doorOpen: false };

describe.skipIf(!python3Available())('edge agent over Modbus RTU (serial)', () => {
  it('reads a smart-pole cabinet over RTU at 19200 8N1 (unit 3) and publishes the readings', async () => {
    const cable = await startNullModem();
    const broker = await startTestBroker();
    const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-rtu-'));
    const server = await RegisterServer.start({ map: await loadRegisterMap('smart-pole-cabinet'), serial: { path: cable.b, baudRate: 19200 }, unitId: 3 });
    server.setReadings(READINGS);
    const sink = await collectMessages(broker.url, 'tsunagaru/v1/smart-pole/pole-rtu-01/telemetry');
    const config = parseAgentConfig(
      {
        device: { id: 'pole-rtu-01', type: 'smart-pole', secret: 'unused', model: 'NSP-2021' },
        mqtt: { url: broker.url },
        modbus: { transport: 'rtu', path: cable.a, baudRate: 19200, parity: 'none', unitId: 3, timeoutMs: 500 },
        registerMap: 'smart-pole-cabinet',
        sampling: { intervalSec: 60, speed: 120, watchIntervalMs: 0 },
        storage: { dir, maxBytes: '1 MiB', segmentBytes: '64 KiB' },
      },
      join(dir, 'agent.yaml'),
    );
    const agent = await EdgeAgent.create(config, { logger: silentLogger });
    try {
      await agent.start();
      const [m] = await sink.waitForCount(() => true, 1, 10_000);
      expect(validateMessage(m!.topic, m!.text)).toMatchObject({ ok: true });
      const { ts: _ts, ...readings } = (m!.json as { samples: Array<Record<string, unknown>> }).samples[0]!;
      expect(readings).toEqual(READINGS);
      expect(agent.bus.driver.endpoint).toBe(`rtu ${cable.a} 19200 8N1`);
    } finally {
      await agent.stop();
      await sink.close();
      await server.close();
      await broker.close();
      cable.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
