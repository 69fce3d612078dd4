import type { RegisterMap } from '@tsunagaru/firmware-contracts';
import { describe, expect, it } from 'vitest';
import { loadRegisterMap } from '../register-map-file.js';
import { ModbusBus } from './bus.js';
import { toRaw } from './point-codec.js';
import { RegisterReader } from './register-reader.js';
import { ScriptedDriver, type ScriptedFault, type ScriptedRequest } from './scripted-driver.js';

const fast = { deviceId: 'bs-1', timeoutMs: 20, retryDelayMs: 1 };

/** Puts every reading of `values` into the driver's tables, encoded as the map says. */
function serve(driver: ScriptedDriver, map: RegisterMap, values: Record<string, number | string | boolean>): void {
  for (const p of map.points) {
    const v = values[p.reading];
    if (v === undefined) continue;
    const raw = toRaw(map, p, v);
    driver.set(p.table, p.address, typeof raw === 'boolean' ? [raw] : raw);
  }
}

const BS = { mains: 'on', rectifierV: 53.5, loadA: 41.2, batteryV: 53.45, batteryA: 2.5, batteryTempC: 24.5, batterySocPct: 99.1, batterySohPct: 91.3, fuelPct: 88.8, batteryCapacityAh: 400, runtimeMin: 1234.5, generator: 'off', backhaul: 'fiber' } as const;

describe('ModbusBus', () => {
  it('runs one request at a time, in order', async () => {
    let active = 0;
    let maxActive = 0;
    const driver = new ScriptedDriver();
    driver.set('input-register', 0, [1, 2, 3]);
    const original = driver.readRegisters.bind(driver);
    driver.readRegisters = async (...args) => {
      maxActive = Math.max(maxActive, ++active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      return original(...args);
    };
    const bus = new ModbusBus(driver, fast);
    const got = await Promise.all([0, 1, 2].map((a) => bus.readRegisters('input-register', 1, a, 1)));
    expect(got).toEqual([[1], [2], [3]]);
    expect(maxActive).toBe(1);
  });

  it('refuses requests beyond the queue limit with a stable code', async () => {
    const driver = new ScriptedDriver({ script: () => 'timeout' });
    const bus = new ModbusBus(driver, { ...fast, retries: 0, queueLimit: 2 });
    const reqs = [0, 1, 2, 3].map((a) => bus.readRegisters('input-register', 1, a, 1).catch((e: unknown) => e));
    const errs = (await Promise.all(reqs)) as { code: string }[];
    expect(errs.map((e) => e.code)).toEqual(['EDGE_ERR_MODBUS_TIMEOUT', 'EDGE_ERR_MODBUS_TIMEOUT', 'EDGE_ERR_MODBUS_TIMEOUT', 'EDGE_ERR_MODBUS_QUEUE_FULL']);
    expect(bus.stats()).toMatchObject({ refused: 1, timeouts: 3 });
  });

  it('retries a timeout and names device, registers, unit, endpoint and cause when it gives up', async () => {
    const driver = new ScriptedDriver({ script: () => 'timeout' });
    const bus = new ModbusBus(driver, { ...fast, retries: 2 });
    const err = await bus.readRegisters('input-register', 7, 10, 2, ' (batteryCapacityAh)').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EDGE_ERR_MODBUS_TIMEOUT', deviceId: 'bs-1' });
    expect((err as Error).message).toBe('device "bs-1": read input-register 10–11 (batteryCapacityAh) at unit 7 via scripted failed after 3 attempts: no answer within 20 ms');
    expect(driver.requests).toHaveLength(3);
  });

  it('does not retry an illegal address, but retries a gateway that failed to answer', async () => {
    let calls = 0;
    const script = (r: ScriptedRequest): ScriptedFault => (r.address === 99 ? { exception: 2 } : calls++ < 1 ? { exception: 11 } : undefined);
    const driver = new ScriptedDriver({ script });
    driver.set('holding-register', 0, [42]);
    const bus = new ModbusBus(driver, fast);
    await expect(bus.readRegisters('holding-register', 1, 99, 1)).rejects.toMatchObject({ code: 'EDGE_ERR_MODBUS_EXCEPTION', message: expect.stringContaining('Modbus exception 2 (illegal data address)') as unknown });
    expect(driver.requests).toHaveLength(1);
    expect(await bus.readRegisters('holding-register', 1, 0, 1)).toEqual([42]);
    expect(bus.stats()).toMatchObject({ exceptions: 2, retries: 1, failures: 1 });
  });

  it('reopens a broken link on the next attempt', async () => {
    let n = 0;
    const driver = new ScriptedDriver({ script: () => (n++ === 0 ? 'io' : undefined) });
    driver.set('coil', 0, [true]);
    const bus = new ModbusBus(driver, fast);
    expect(await bus.readBits('coil', 1, 0, 1)).toEqual([true]);
    expect(bus.stats().ioErrors).toBe(1);
  });
});

describe('RegisterReader', () => {
  it('reads every point of the bs-power map in few requests, decoded as the contract says', async () => {
    const map = await loadRegisterMap('bs-power-dcp48');
    const driver = new ScriptedDriver();
    serve(driver, map, BS);
    const reader = new RegisterReader(map, new ModbusBus(driver, fast), 1);
    const r = await reader.readAll();
    expect(r.failures).toEqual([]);
    expect(r.readings).toEqual(BS);
    expect(driver.requests.length).toBe(reader.blocks);
    expect(reader.blocks).toBe(4);
  });

  it('keeps polling after a gateway timeout or exception: the other blocks still read', async () => {
    const map = await loadRegisterMap('bs-power-dcp48');
    let failing = true;
    const driver = new ScriptedDriver({ script: (r) => (failing && r.table === 'input-register' && r.address === 0 ? { exception: 11 } : undefined) });
    serve(driver, map, BS);
    const reader = new RegisterReader(map, new ModbusBus(driver, { ...fast, retries: 1 }), 1);
    const first = await reader.readAll();
    expect(first.readings).toMatchObject({ mains: 'on' });
    expect(first.readings.batterySocPct).toBeUndefined();
    expect(first.failures[0]).toMatchObject({ code: 'EDGE_ERR_MODBUS_EXCEPTION', readings: expect.arrayContaining(['batterySocPct']) as unknown });
    expect(first.failures[0]!.message).toMatch(/gateway target device failed to respond/);
    failing = false;
    expect((await reader.readAll()).readings).toEqual(BS);
  });

  it('drops a reading outside the contract bounds instead of the whole sample', async () => {
    const map = await loadRegisterMap('bs-power-dcp48');
    const driver = new ScriptedDriver();
    serve(driver, map, { ...BS, batterySocPct: 104 });
    const r = await new RegisterReader(map, new ModbusBus(driver, fast), 1).readAll();
    expect(r.readings.batterySocPct).toBeUndefined();
    expect(r.failures).toEqual([{ readings: ['batterySocPct'], code: 'EDGE_ERR_OUT_OF_RANGE', message: expect.stringMatching(/batterySocPct = 104 is outside 0..100 %/) as unknown }]);
  });

  it('reads only the watched points for edge detection, and runs the map actions', async () => {
    const map = await loadRegisterMap('bs-power-dcp48');
    const driver = new ScriptedDriver();
    serve(driver, map, BS);
    driver.set('coil', 0, [false]);
    const reader = new RegisterReader(map, new ModbusBus(driver, fast), 1);
    expect(Object.keys((await reader.readWatched()).readings).sort()).toEqual(['backhaul', 'generator', 'mains']);
    await reader.runAction('generator_test');
    expect(driver.bits.coil.get(0)).toBe(true);
    await expect(reader.runAction('reboot')).rejects.toThrow(/no action for reboot/);
  });
});
