import type { Endianness, RegisterValueType } from '@tsunagaru/firmware-contracts';

/**
 * Byte and word order of Modbus values, as pure functions (style: EdgeX device-modbus `swap.go`).
 *
 * The protocol carries each 16-bit register big-endian, so a driver hands us registers as numbers 0–65535.
 * Devices disagree about what is inside: `byteOrder: little` means the device stored the two bytes of each
 * register swapped; `wordOrder: little` means a 32-bit value starts with its low register. The four
 * combinations are the usual ABCD (big/big), CDAB (big byte, little word), BADC and DCBA.
 */
export interface ByteWordOrder {
  byteOrder: Endianness;
  wordOrder: Endianness;
}

/** Swaps the two bytes of a 16-bit register. */
export function swapBytes(register: number): number {
  return ((register & 0xff) << 8) | ((register >>> 8) & 0xff);
}

/** The registers in protocol order → the value's bytes, most significant first. */
export function registersToBytes(registers: readonly number[], order: ByteWordOrder): Buffer {
  const words = order.wordOrder === 'little' ? [...registers].reverse() : [...registers];
  const out = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => out.writeUInt16BE(order.byteOrder === 'little' ? swapBytes(w) : w & 0xffff, i * 2));
  return out;
}

/** The value's bytes, most significant first → registers in protocol order. */
export function bytesToRegisters(bytes: Buffer, order: ByteWordOrder): number[] {
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) {
    const w = bytes.readUInt16BE(i);
    words.push(order.byteOrder === 'little' ? swapBytes(w) : w);
  }
  return order.wordOrder === 'little' ? words.reverse() : words;
}

/** Decodes the raw number a register type holds. `bool` is not a register type: use the bit as is. */
export function decodeRegisters(registers: readonly number[], type: Exclude<RegisterValueType, 'bool'>, order: ByteWordOrder): number {
  const need = type === 'uint16' || type === 'int16' ? 1 : 2;
  if (registers.length !== need) throw new RangeError(`${type} needs ${need} register(s), got ${registers.length}`);
  const b = registersToBytes(registers, order);
  switch (type) {
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int16':
      return b.readInt16BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'float32':
      return b.readFloatBE(0);
  }
}

const INTEGER_RANGE: Record<Exclude<RegisterValueType, 'bool' | 'float32'>, [number, number]> = {
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffff_ffff],
  int32: [-0x8000_0000, 0x7fff_ffff],
};

/** Encodes a raw number into registers in protocol order; integers are rounded and clamped to the type. */
export function encodeRegisters(value: number, type: Exclude<RegisterValueType, 'bool'>, order: ByteWordOrder): number[] {
  const b = Buffer.alloc(type === 'uint16' || type === 'int16' ? 2 : 4);
  if (type === 'float32') {
    b.writeFloatBE(value, 0);
  } else {
    const [min, max] = INTEGER_RANGE[type];
    const n = Math.min(max, Math.max(min, Math.round(value)));
    if (type === 'uint16') b.writeUInt16BE(n, 0);
    else if (type === 'int16') b.writeInt16BE(n, 0);
    else if (type === 'uint32') b.writeUInt32BE(n, 0);
    else b.writeInt32BE(n, 0);
  }
  return bytesToRegisters(b, order);
}
