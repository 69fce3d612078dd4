import { registerCount, type RegisterMap, type RegisterPoint } from '@tsunagaru/firmware-contracts';
import { decodeRegisters, encodeRegisters, type ByteWordOrder } from './swap.js';

/** A reading value as the contract carries it. */
export type ReadingValue = number | string | boolean;

/** Raw data of one point: registers in protocol order, or the bit of a coil / discrete input. */
export type RawPoint = readonly number[] | boolean;

export function pointOrder(map: Pick<RegisterMap, 'byteOrder' | 'wordOrder'>, p: RegisterPoint): ByteWordOrder {
  return { byteOrder: p.byteOrder ?? map.byteOrder, wordOrder: p.wordOrder ?? map.wordOrder };
}

/** Registers (or bits) the point occupies. */
export function pointWidth(p: RegisterPoint): number {
  return p.type === 'bool' ? 1 : registerCount(p.type);
}

/** Float arithmetic on a scale such as 0.1 leaves 53.500000000000001; keep what the register can say. */
function tidy(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** The raw number the point holds (a bit is 0 or 1). */
function rawNumber(map: RegisterMap, p: RegisterPoint, raw: RawPoint): number {
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (p.type === 'bool') throw new RangeError(`${p.reading}: a bool point needs a bit, got registers`);
  return decodeRegisters(raw, p.type, pointOrder(map, p));
}

/**
 * Raw point data → the contract value: `raw × scale + offset` for numbers, the map's enum for enums,
 * non-zero for booleans. Throws a RangeError naming the reading when the raw value has no meaning
 * (an enum code the map does not list, a NaN float).
 */
export function toReading(map: RegisterMap, p: RegisterPoint, raw: RawPoint, kind: 'number' | 'integer' | 'boolean' | 'enum'): ReadingValue {
  const n = rawNumber(map, p, raw);
  if (kind === 'boolean') return n !== 0;
  if (kind === 'enum') {
    const value = p.enum?.[String(n)];
    if (value === undefined) throw new RangeError(`${p.reading}: raw value ${n} is not in the map's enum (${Object.keys(p.enum ?? {}).join(', ')})`);
    return value;
  }
  if (!Number.isFinite(n)) throw new RangeError(`${p.reading}: raw value ${n} is not a finite number`);
  const value = tidy(n * p.scale + p.offset);
  return kind === 'integer' ? Math.round(value) : value;
}

/** The inverse, for simulators serving a map: contract value → raw point data. */
export function toRaw(map: RegisterMap, p: RegisterPoint, value: ReadingValue): RawPoint {
  let n: number;
  if (typeof value === 'boolean') n = value ? 1 : 0;
  else if (typeof value === 'string') {
    const entry = Object.entries(p.enum ?? {}).find(([, v]) => v === value);
    if (!entry) throw new RangeError(`${p.reading}: "${value}" is not in the map's enum`);
    n = Number(entry[0]);
  } else n = (value - p.offset) / p.scale;
  if (p.type === 'bool') return n !== 0;
  return encodeRegisters(n, p.type, pointOrder(map, p));
}
