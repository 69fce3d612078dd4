import { describe, expect, it } from 'vitest';
import { bytesToRegisters, decodeRegisters, encodeRegisters, registersToBytes, swapBytes } from './swap.js';

const ABCD = { byteOrder: 'big', wordOrder: 'big' } as const;
const CDAB = { byteOrder: 'big', wordOrder: 'little' } as const;
const BADC = { byteOrder: 'little', wordOrder: 'big' } as const;
const DCBA = { byteOrder: 'little', wordOrder: 'little' } as const;

// 123.456 as IEEE 754 single precision is 0x42F6E979: bytes A=42 B=F6 C=E9 D=79.
const FLOAT_REGISTERS = {
  ABCD: [0x42f6, 0xe979],
  CDAB: [0xe979, 0x42f6],
  BADC: [0xf642, 0x79e9],
  DCBA: [0x79e9, 0xf642],
};

describe('byte and word order', () => {
  it('swaps the bytes of a register', () => {
    expect(swapBytes(0x1234)).toBe(0x3412);
    expect(swapBytes(0x00ff)).toBe(0xff00);
    expect(swapBytes(swapBytes(0xbeef))).toBe(0xbeef);
  });

  it.each([
    ['ABCD', ABCD],
    ['CDAB', CDAB],
    ['BADC', BADC],
    ['DCBA', DCBA],
  ] as const)('decodes and encodes float32 123.456 in %s', (name, order) => {
    expect(decodeRegisters(FLOAT_REGISTERS[name], 'float32', order)).toBeCloseTo(123.456, 4);
    expect(encodeRegisters(123.456, 'float32', order)).toEqual(FLOAT_REGISTERS[name]);
  });

  it('decodes signed and unsigned 16-bit registers', () => {
    expect(decodeRegisters([0xffff], 'uint16', ABCD)).toBe(65535);
    expect(decodeRegisters([0xffff], 'int16', ABCD)).toBe(-1);
    expect(decodeRegisters([0x0080], 'int16', BADC)).toBe(-32768);
    expect(decodeRegisters([0x3412], 'uint16', BADC)).toBe(0x1234);
  });

  it('decodes 32-bit integers with the high word first or last', () => {
    expect(decodeRegisters([0x0001, 0x0002], 'uint32', ABCD)).toBe(0x0001_0002);
    expect(decodeRegisters([0x0002, 0x0001], 'uint32', CDAB)).toBe(0x0001_0002);
    expect(decodeRegisters([0xffff, 0xfffe], 'int32', ABCD)).toBe(-2);
    expect(decodeRegisters([0xfeff, 0xffff], 'int32', DCBA)).toBe(-2);
  });

  it('round-trips every type and order', () => {
    const cases = [
      ['uint16', 51234],
      ['int16', -1234],
      ['uint32', 4_000_000_001],
      ['int32', -2_000_000_001],
      ['float32', -48.25],
    ] as const;
    for (const order of [ABCD, CDAB, BADC, DCBA]) {
      for (const [type, value] of cases) expect(decodeRegisters(encodeRegisters(value, type, order), type, order)).toBe(value);
    }
  });

  it('rounds and clamps integers to their type when encoding', () => {
    expect(encodeRegisters(70_000, 'uint16', ABCD)).toEqual([0xffff]);
    expect(encodeRegisters(-5, 'uint16', ABCD)).toEqual([0]);
    expect(encodeRegisters(12.6, 'int16', ABCD)).toEqual([13]);
  });

  it('refuses the wrong number of registers', () => {
    expect(() => decodeRegisters([1], 'float32', ABCD)).toThrow(/2 register/);
    expect(() => decodeRegisters([1, 2], 'uint16', ABCD)).toThrow(/1 register/);
  });

  it('converts between registers and bytes both ways', () => {
    const bytes = Buffer.from([0x42, 0xf6, 0xe9, 0x79]);
    expect(registersToBytes(FLOAT_REGISTERS.DCBA, DCBA)).toEqual(bytes);
    expect(bytesToRegisters(bytes, CDAB)).toEqual(FLOAT_REGISTERS.CDAB);
  });
});
