import { z } from 'zod';
import { BOUNDS, type BoundedReading } from './bounds.js';
import { COMMAND_NAMES } from './command.js';
import { formatIssues } from './format-issues.js';
import { bsPowerSample, smartPoleSample, waterMeterSample } from './telemetry.js';
import { DEVICE_TYPES, type DeviceType } from './topics.js';

/**
 * Modbus register maps as data (style: EdgeX device-modbus profiles). One file describes where a
 * controller keeps each contract reading; the edge agent reads with it and the simulators serve with it,
 * so the two can never disagree about an address, a scale or a byte order.
 */

/** The four Modbus data tables (Modbus Application Protocol V1.1b3, §4.3). */
export const REGISTER_TABLES = ['coil', 'discrete-input', 'input-register', 'holding-register'] as const;
export type RegisterTable = (typeof REGISTER_TABLES)[number];

/** How a point's raw value is encoded. `bool` lives in a coil or discrete input; the rest in 16-bit registers. */
export const REGISTER_VALUE_TYPES = ['bool', 'uint16', 'int16', 'uint32', 'int32', 'float32'] as const;
export type RegisterValueType = (typeof REGISTER_VALUE_TYPES)[number];

/** `big`: most significant first (Modbus's own order for bytes in a register; "ABCD" for 32-bit values). */
export const ENDIANNESS = ['big', 'little'] as const;
export type Endianness = (typeof ENDIANNESS)[number];

/** Registers a value of this type occupies (bits for `bool`). */
export function registerCount(type: RegisterValueType): 1 | 2 {
  return type === 'uint32' || type === 'int32' || type === 'float32' ? 2 : 1;
}

const address = z.int().min(0).max(65_535);
const endianness = z.enum(ENDIANNESS);

export const registerPointSchema = z.strictObject({
  /** The contract reading this point fills, e.g. `batterySocPct`. */
  reading: z.string().min(1),
  table: z.enum(REGISTER_TABLES),
  /** Zero-based protocol address (register 40001 in "Modicon" numbering is holding-register 0). */
  address,
  type: z.enum(REGISTER_VALUE_TYPES),
  /** reading = raw × scale + offset. Default 1. */
  scale: z.number().refine((n) => Number.isFinite(n) && n !== 0, { message: 'must be a finite, non-zero number' }).default(1),
  offset: z.number().default(0),
  /** Overrides the map's byte order (bytes within each 16-bit register). */
  byteOrder: endianness.optional(),
  /** Overrides the map's word order (registers within a 32-bit value). */
  wordOrder: endianness.optional(),
  /** Unit of the reading after scaling; must be the contract's unit for numeric readings. */
  unit: z.string().min(1).max(16).optional(),
  /** Raw integer → contract value, for enum readings (`mains`, `generator`, `fiveG`, …). */
  enum: z.record(z.string().regex(/^-?\d+$/, 'keys must be integers'), z.string()).optional(),
  /** Poll this point every watch interval, so its changes raise events at once, not at the next sample. */
  watch: z.boolean().default(false),
  description: z.string().max(200).optional(),
});

/** A write the agent performs for a command (e.g. `generator_test` pulses a coil). */
export const registerActionSchema = z.strictObject({
  table: z.enum(['coil', 'holding-register']),
  address,
  value: z.union([z.boolean(), z.int().min(0).max(65_535)]),
  description: z.string().max(200).optional(),
});

export const registerMapSchema = z
  .strictObject({
    v: z.literal(1),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    deviceType: z.enum(DEVICE_TYPES),
    description: z.string().max(500).optional(),
    /** Default byte order of every point. Default `big`. */
    byteOrder: endianness.default('big'),
    /** Default word order of every 32-bit point. Default `big` (high word first). */
    wordOrder: endianness.default('big'),
    points: z.array(registerPointSchema).min(1).max(256),
    actions: z.partialRecord(z.enum(COMMAND_NAMES), registerActionSchema).optional(),
  })
  .superRefine(checkMap);

export type RegisterPoint = z.output<typeof registerPointSchema>;
export type RegisterAction = z.output<typeof registerActionSchema>;
export type RegisterMap = z.output<typeof registerMapSchema>;
/** What a map file may say (defaults not yet applied). */
export type RegisterMapInput = z.input<typeof registerMapSchema>;

/** How a contract reading is represented, as far as a register can carry it. */
export type ReadingKind = { kind: 'number'; integer: boolean; unit: string } | { kind: 'boolean' } | { kind: 'enum'; values: readonly string[] };

const FLAT_SAMPLES: Partial<Record<DeviceType, z.ZodObject>> = {
  'smart-pole': smartPoleSample as unknown as z.ZodObject,
  'bs-power': bsPowerSample as unknown as z.ZodObject,
  'water-meter': waterMeterSample as unknown as z.ZodObject,
};

/** Readings of a device type that a register can carry, with their kind; derived from the contract schemas. */
export function registerReadings(type: DeviceType): ReadonlyMap<string, ReadingKind> {
  const out = new Map<string, ReadingKind>();
  const shape = FLAT_SAMPLES[type]?.shape ?? {};
  for (const [name, field] of Object.entries(shape)) {
    if (name === 'ts') continue;
    const inner = field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field;
    if (inner instanceof z.ZodEnum) out.set(name, { kind: 'enum', values: inner.options as string[] });
    else if (inner instanceof z.ZodBoolean) out.set(name, { kind: 'boolean' });
    else if (name in BOUNDS) {
      const b = BOUNDS[name as BoundedReading];
      out.set(name, { kind: 'number', integer: 'integer' in b && b.integer === true, unit: b.unit });
    }
  }
  return out;
}

type Ctx = z.core.$RefinementCtx<{ deviceType: DeviceType; points: RegisterPoint[] }>;

function issue(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

function checkPoint(ctx: Ctx, p: RegisterPoint, i: number, kinds: ReadonlyMap<string, ReadingKind>, type: DeviceType): void {
  const kind = kinds.get(p.reading);
  if (!kind) {
    issue(ctx, ['points', i, 'reading'], `"${p.reading}" is not a ${type} reading a register can carry; expected one of ${[...kinds.keys()].join(', ')}`);
    return;
  }
  const bitTable = p.table === 'coil' || p.table === 'discrete-input';
  if (bitTable !== (p.type === 'bool')) {
    issue(ctx, ['points', i, 'type'], bitTable ? `must be "bool" in a ${p.table}` : `"bool" needs a coil or discrete-input table`);
  }
  if (kind.kind === 'enum') {
    if (!p.enum) return issue(ctx, ['points', i, 'enum'], `is required for "${p.reading}": map raw values to ${kind.values.map((v) => `"${v}"`).join(', ')}`);
    for (const [raw, value] of Object.entries(p.enum)) {
      if (!kind.values.includes(value)) issue(ctx, ['points', i, 'enum', raw], `must be one of ${kind.values.map((v) => `"${v}"`).join(', ')}`);
    }
  } else if (p.enum) {
    issue(ctx, ['points', i, 'enum'], `only enum readings take a mapping; "${p.reading}" is a ${kind.kind}`);
  }
  if (kind.kind === 'number') {
    if (p.type === 'bool') issue(ctx, ['points', i, 'type'], `"${p.reading}" is a number; use a register type`);
    if (p.unit !== undefined && p.unit !== kind.unit) issue(ctx, ['points', i, 'unit'], `the contract reports "${p.reading}" in ${kind.unit}; scale the raw value to it`);
  }
}

/** Cross-field rules: readings exist for the type, kinds fit, no reading twice, no two points on one register. */
function checkMap(map: { deviceType: DeviceType; points: RegisterPoint[] }, ctx: Ctx): void {
  const kinds = registerReadings(map.deviceType);
  const seen = new Map<string, number>();
  const used = new Map<string, number>();
  map.points.forEach((p, i) => {
    checkPoint(ctx, p, i, kinds, map.deviceType);
    const first = seen.get(p.reading);
    if (first !== undefined) issue(ctx, ['points', i, 'reading'], `"${p.reading}" is already read by points[${first}]`);
    else seen.set(p.reading, i);
    const count = p.type === 'bool' ? 1 : registerCount(p.type);
    for (let a = p.address; a < p.address + count; a++) {
      const key = `${p.table}:${a}`;
      const other = used.get(key);
      if (other !== undefined) issue(ctx, ['points', i, 'address'], `${p.table} ${a} is already used by points[${other}]`);
      else used.set(key, i);
    }
    if (p.address <= 65_535 && p.address + count - 1 > 65_535) issue(ctx, ['points', i, 'address'], 'the value runs past address 65535');
  });
}

export type RegisterMapResult = { ok: true; map: RegisterMap } | { ok: false; errors: string[] };

/** Validates a parsed map file; errors name the field (`points[3].scale: must be a finite, non-zero number`). */
export function parseRegisterMap(value: unknown): RegisterMapResult {
  const r = registerMapSchema.safeParse(value);
  return r.success ? { ok: true, map: r.data } : { ok: false, errors: formatIssues(r.error, value) };
}
