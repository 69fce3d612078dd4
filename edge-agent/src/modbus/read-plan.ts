import { registerReadings, type RegisterMap, type RegisterPoint, type RegisterTable } from '@tsunagaru/firmware-contracts';
import { pointWidth, toReading, type ReadingValue } from './point-codec.js';

/** One Modbus read covering several points of a table. */
export interface ReadBlock {
  table: RegisterTable;
  address: number;
  count: number;
  points: readonly RegisterPoint[];
}

export interface PlanOptions {
  /** Largest register read. Default 120 (the protocol allows 125). */
  maxRegisters?: number;
  /** Largest coil / discrete input read. Default 2000. */
  maxBits?: number;
  /**
   * Unused addresses a block may span to join two points. Default 0: many devices answer "illegal data
   * address" for a read that touches an unmapped register; raise it for devices that do not.
   */
  maxGap?: number;
}

/** Groups points into as few reads as the limits allow, in table and address order. */
export function planReads(points: readonly RegisterPoint[], options: PlanOptions = {}): ReadBlock[] {
  const maxGap = options.maxGap ?? 0;
  const blocks: ReadBlock[] = [];
  const sorted = [...points].sort((a, b) => a.table.localeCompare(b.table) || a.address - b.address);
  let current: { table: RegisterTable; address: number; end: number; points: RegisterPoint[] } | undefined;
  for (const p of sorted) {
    const end = p.address + pointWidth(p);
    const limit = p.table === 'coil' || p.table === 'discrete-input' ? (options.maxBits ?? 2000) : (options.maxRegisters ?? 120);
    if (current && current.table === p.table && p.address - current.end <= maxGap && end - current.address <= limit) {
      current.end = Math.max(current.end, end);
      current.points.push(p);
      continue;
    }
    if (current) blocks.push({ table: current.table, address: current.address, count: current.end - current.address, points: current.points });
    current = { table: p.table, address: p.address, end, points: [p] };
  }
  if (current) blocks.push({ table: current.table, address: current.address, count: current.end - current.address, points: current.points });
  return blocks;
}

export interface DecodedBlock {
  readings: Record<string, ReadingValue>;
  errors: { reading: string; message: string }[];
}

/** Turns a block's raw data into contract readings; a point that cannot be decoded is reported, not thrown. */
export function decodeBlock(map: RegisterMap, block: ReadBlock, raw: readonly number[] | readonly boolean[]): DecodedBlock {
  const kinds = registerReadings(map.deviceType);
  const out: DecodedBlock = { readings: {}, errors: [] };
  for (const p of block.points) {
    const at = p.address - block.address;
    const kind = kinds.get(p.reading);
    try {
      const value = p.type === 'bool' ? Boolean(raw[at]) : (raw as readonly number[]).slice(at, at + pointWidth(p));
      const k = kind?.kind === 'number' ? (kind.integer ? 'integer' : 'number') : (kind?.kind ?? 'number');
      out.readings[p.reading] = toReading(map, p, value, k);
    } catch (err) {
      out.errors.push({ reading: p.reading, message: (err as Error).message });
    }
  }
  return out;
}

/** Short label naming the readings of a block, for error messages: ` (rectifierV, loadA, +4 more)`. */
export function blockLabel(block: ReadBlock): string {
  const names = block.points.map((p) => p.reading);
  return ` (${names.slice(0, 3).join(', ')}${names.length > 3 ? `, +${names.length - 3} more` : ''})`;
}
