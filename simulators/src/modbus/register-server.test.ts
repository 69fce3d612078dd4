import { loadRegisterMap, ModbusBus, ModbusSerialDriver, RegisterReader } from '@tsunagaru/edge-agent';
import { afterEach, describe, expect, it } from 'vitest';
import { RegisterServer, type ServerFault } from './register-server.js';

const servers: RegisterServer[] = [];
const buses: ModbusBus[] = [];
afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(name: 'bs-power-dcp48' | 'smart-pole-cabinet', fault?: (r: { address: number }) => ServerFault) {
  const map = await loadRegisterMap(name);
  const server = await RegisterServer.start({ map, ...(fault ? { fault } : {}) });
  servers.push(server);
  const bus = new ModbusBus(ModbusSerialDriver.tcp({ host: server.host, port: server.port }), { deviceId: 'dev-1', timeoutMs: 200, retries: 1, retryDelayMs: 10 });
  buses.push(bus);
  return { map, server, reader: new RegisterReader(map, bus, 1) };
}

describe('RegisterServer (Modbus TCP) read by the edge agent driver', () => {
  it('serves smart-pole readings that read back equal over real Modbus TCP frames', async () => {
    const { server, reader } = await setup('smart-pole-cabinet');
    const readings = { airTempC: -3.4, humidityPct: 61.2, noiseDb: 58.3, pm25: 12.1, peopleCount: 70_123, wifiClients: 12, powerW: 287.5, cabinetTempC: 31.9, fiveG: 'down', doorOpen: true };
    server.setReadings(readings);
    const r = await reader.readAll();
    expect(r.failures).toEqual([]);
    expect(r.readings).toEqual(readings);
  });

  it('answers illegal data address outside the map, and injected gateway faults, without stopping', async () => {
    let fail = true;
    const { server, reader } = await setup('bs-power-dcp48', (r) => (fail && r.address === 20 ? { exception: 11 } : undefined));
    server.setReadings({ mains: 'off', rectifierV: 0, loadA: 38.1, batteryV: 50.2, batteryA: -38.1, batteryTempC: 27.5, batterySocPct: 71.5, batterySohPct: 90, fuelPct: 85, batteryCapacityAh: 400, runtimeMin: 512, generator: 'running', backhaul: 'satellite' });
    const first = await reader.readAll();
    expect(first.readings.generator).toBeUndefined();
    expect(first.readings.batterySocPct).toBe(71.5);
    expect(first.failures).toMatchObject([{ code: 'EDGE_ERR_MODBUS_EXCEPTION', readings: ['generator', 'backhaul'] }]);
    expect(first.failures[0]?.message).toMatch(/dev-1.*input-register 20–21 \(generator, backhaul\).*via tcp 127\.0\.0\.1:\d+ failed after 2 attempts: Modbus exception 11/);
    fail = false;
    expect((await reader.readAll()).readings).toMatchObject({ generator: 'running', backhaul: 'satellite', mains: 'off' });
  });

  it('times out on a silent device and recovers on the next poll', async () => {
    let silent = true;
    const { server, reader } = await setup('smart-pole-cabinet', () => (silent ? 'silent' : undefined));
    server.setReadings({ airTempC: 20, fiveG: 'up', doorOpen: false });
    const r = await reader.readWatched();
    expect(r.failures.map((f) => f.code)).toEqual(['EDGE_ERR_MODBUS_TIMEOUT']);
    silent = false;
    expect((await reader.readWatched()).readings).toEqual({ fiveG: 'up', doorOpen: false });
  });
});
