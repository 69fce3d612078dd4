import { BOUNDS, type BoundedReading, type CommandName, type RegisterMap } from '@tsunagaru/firmware-contracts';
import { EdgeAgentError, type EdgeAgentErrorCode } from '../errors.js';
import type { ModbusBus } from './bus.js';
import type { ReadingValue } from './point-codec.js';
import { blockLabel, decodeBlock, planReads, type PlanOptions, type ReadBlock } from './read-plan.js';

export interface ReadFailure {
  readings: string[];
  code: EdgeAgentErrorCode | 'EDGE_ERR_OUT_OF_RANGE' | 'EDGE_ERR_DECODE';
  message: string;
}

export interface ReadResult {
  readings: Record<string, ReadingValue>;
  failures: ReadFailure[];
}

/** A reading outside the contract's physical range would make the whole message invalid: drop just it. */
function outOfRange(name: string, value: ReadingValue): string | undefined {
  if (typeof value !== 'number' || !(name in BOUNDS)) return undefined;
  const b = BOUNDS[name as BoundedReading];
  return value < b.min || value > b.max ? `${name} = ${value} is outside ${b.min}..${b.max} ${b.unit}; check the map's scale and the sensor` : undefined;
}

/**
 * Reads a device's register map over a bus: all points for a sample, or only the `watch` points for fast
 * edge detection. A failed block (timeout, exception) leaves its readings out and is reported; the other
 * blocks are still read, and nothing throws, so one bad poll never stops polling.
 */
export class RegisterReader {
  private readonly allBlocks: ReadBlock[];
  private readonly watchBlocks: ReadBlock[];

  constructor(
    readonly map: RegisterMap,
    private readonly bus: ModbusBus,
    private readonly unitId: number,
    plan: PlanOptions = {},
  ) {
    this.allBlocks = planReads(map.points, plan);
    this.watchBlocks = planReads(
      map.points.filter((p) => p.watch),
      plan,
    );
  }

  /** Requests one sample costs. */
  get blocks(): number {
    return this.allBlocks.length;
  }

  readAll(): Promise<ReadResult> {
    return this.read(this.allBlocks);
  }

  readWatched(): Promise<ReadResult> {
    return this.read(this.watchBlocks);
  }

  /** Performs the map's action for a command (e.g. `generator_test`); rejects when the map has none. */
  async runAction(name: CommandName): Promise<{ table: string; address: number }> {
    const action = this.map.actions?.[name];
    if (!action) throw new EdgeAgentError('EDGE_ERR_REGISTER_MAP', `register map "${this.map.name}" has no action for ${name}`);
    const label = ` (${name})`;
    if (action.table === 'coil') await this.bus.writeCoil(this.unitId, action.address, action.value === true || action.value === 1, label);
    else await this.bus.writeRegister(this.unitId, action.address, Number(action.value), label);
    return { table: action.table, address: action.address };
  }

  private async read(blocks: readonly ReadBlock[]): Promise<ReadResult> {
    const result: ReadResult = { readings: {}, failures: [] };
    for (const block of blocks) {
      const names = block.points.map((p) => p.reading);
      let raw: number[] | boolean[];
      try {
        raw =
          block.table === 'coil' || block.table === 'discrete-input'
            ? await this.bus.readBits(block.table, this.unitId, block.address, block.count, blockLabel(block))
            : await this.bus.readRegisters(block.table, this.unitId, block.address, block.count, blockLabel(block));
      } catch (err) {
        const e = err as EdgeAgentError;
        result.failures.push({ readings: names, code: e.code ?? 'EDGE_ERR_MODBUS_IO', message: e.message });
        continue;
      }
      const decoded = decodeBlock(this.map, block, raw);
      for (const f of decoded.errors) result.failures.push({ readings: [f.reading], code: 'EDGE_ERR_DECODE', message: f.message });
      for (const [name, value] of Object.entries(decoded.readings)) {
        const bad = outOfRange(name, value);
        if (bad) result.failures.push({ readings: [name], code: 'EDGE_ERR_OUT_OF_RANGE', message: bad });
        else result.readings[name] = value;
      }
    }
    return result;
  }
}
