import { describe, expect, it } from 'vitest';
import { parseRegisterMap, registerReadings } from './register-map.js';

const base = { v: 1, name: 'test-map', deviceType: 'bs-power' };
const point = (fields: Record<string, unknown>) => ({ reading: 'batterySocPct', table: 'input-register', address: 0, type: 'uint16', scale: 0.1, unit: '%', ...fields });
const errors = (value: unknown) => {
  const r = parseRegisterMap(value);
  return r.ok ? [] : r.errors;
};

describe('register map schema', () => {
  it('accepts a minimal map and applies defaults', () => {
    const r = parseRegisterMap({ ...base, points: [point({})] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.map).toMatchObject({ byteOrder: 'big', wordOrder: 'big' });
    expect(r.map.points[0]).toMatchObject({ offset: 0, watch: false });
  });

  it('derives readable readings and their kinds from the contract', () => {
    const kinds = registerReadings('bs-power');
    expect(kinds.get('mains')).toEqual({ kind: 'enum', values: ['on', 'off'] });
    expect(kinds.get('batteryCapacityAh')).toEqual({ kind: 'number', integer: false, unit: 'Ah' });
    expect(registerReadings('smart-pole').get('doorOpen')).toEqual({ kind: 'boolean' });
    expect(registerReadings('smart-pole').get('peopleCount')).toMatchObject({ integer: true });
    expect(registerReadings('ring-node').size).toBe(0);
  });

  it('names the field for each mistake', () => {
    expect(errors({ ...base, points: [point({ reading: 'batterySoc' })] })).toEqual([expect.stringMatching(/^points\[0\]\.reading: "batterySoc" is not a bs-power reading/)]);
    expect(errors({ ...base, points: [point({ scale: 0 })] })).toEqual(['points[0].scale: must be a finite, non-zero number']);
    expect(errors({ ...base, points: [point({ unit: 'V' })] })).toEqual([expect.stringMatching(/^points\[0\]\.unit: the contract reports "batterySocPct" in %/)]);
    expect(errors({ ...base, points: [point({ address: 70_000 })] })).toEqual(['points[0].address: must be ≤ 65535']);
    expect(errors({ ...base, points: [point({ typo: 1 })] })).toEqual(['points[0].typo: unknown field']);
  });

  it('requires an enum mapping into the contract values for enum readings', () => {
    expect(errors({ ...base, points: [point({ reading: 'mains', scale: 1, unit: undefined })] })).toEqual([expect.stringMatching(/^points\[0\]\.enum: is required/)]);
    expect(errors({ ...base, points: [point({ reading: 'mains', scale: 1, unit: undefined, enum: { 0: 'off', 1: 'maybe' } })] })).toEqual(['points[0].enum.1: must be one of "on", "off"']);
  });

  it('keeps bits in bit tables and registers in register tables', () => {
    expect(errors({ ...base, points: [point({ table: 'coil' })] })).toContain('points[0].type: must be "bool" in a coil');
    expect(errors({ ...base, points: [point({ reading: 'mains', type: 'bool', enum: { 0: 'off', 1: 'on' }, unit: undefined })] })).toContain('points[0].type: "bool" needs a coil or discrete-input table');
  });

  it('refuses a reading read twice and two points on one register', () => {
    const errs = errors({
      ...base,
      points: [point({ type: 'float32' }), point({ address: 1 }), point({ reading: 'loadA', unit: 'A', address: 1 })],
    });
    expect(errs).toContain('points[1].reading: "batterySocPct" is already read by points[0]');
    expect(errs).toContain('points[1].address: input-register 1 is already used by points[0]');
  });

  it('validates command actions', () => {
    const ok = parseRegisterMap({ ...base, points: [point({})], actions: { generator_test: { table: 'coil', address: 3, value: true } } });
    expect(ok.ok).toBe(true);
    expect(errors({ ...base, points: [point({})], actions: { launch: { table: 'coil', address: 3, value: true } } })).toHaveLength(1);
  });
});
