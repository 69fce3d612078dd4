/**
 * Hostile and valid device messages for the fuzz suite. Seeds are the contract's golden examples
 * (`firmware-contracts/examples/{valid,invalid}`), re-addressed to fuzz devices and then mutated:
 * invalid JSON, huge numbers, deep nesting, wrong types, unicode, oversized payloads, hostile topics.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import { Rng } from './rng.js';

export interface FuzzDevice {
  id: string;
  type: DeviceType;
}

export interface FuzzMessage {
  family: Family;
  /** The device whose connection would send it (its own prefix, unless the family is `topic`). */
  device: FuzzDevice;
  topic: string;
  payload: Buffer;
  /** What our broker must do with it when that device publishes it: route it, or refuse it. */
  broker: 'accept' | 'deny';
}

export const FAMILY_WEIGHTS = {
  valid: 25,
  duplicate: 5,
  'mutate-structure': 15,
  'mutate-bytes': 10,
  'invalid-json': 6,
  'huge-numbers': 7,
  'deep-nesting': 5,
  'wrong-types': 8,
  unicode: 7,
  oversized: 3,
  topic: 9,
} as const;
export type Family = keyof typeof FAMILY_WEIGHTS;

interface Seed {
  channel: string;
  type: DeviceType | null;
  payload: Record<string, unknown>;
}

const EXAMPLES = fileURLToPath(new URL('../../firmware-contracts/examples/', import.meta.url));

function loadSeeds(): { valid: Seed[]; invalid: Seed[] } {
  const read = (dir: string): Seed[] =>
    readdirSync(`${EXAMPLES}${dir}`)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(`${EXAMPLES}${dir}/${f}`, 'utf8')) as { topic?: string; payload: unknown })
      .filter((e) => typeof e.topic === 'string' && typeof e.payload === 'object' && e.payload !== null && !Array.isArray(e.payload))
      .map((e) => {
        const [, , type, , ...channel] = e.topic!.split('/');
        return { channel: channel.join('/'), type: (type as DeviceType) ?? null, payload: e.payload as Record<string, unknown> };
      })
      .filter((s) => s.channel !== 'cmd'); // devices never publish commands; hostile topics cover cmd
  return { valid: read('valid'), invalid: read('invalid') };
}

const INVALID_JSON = [
  '', ' ', '{', '}', '{"v":1,', '{"v":1,}', "{'v':1}", '{"v":NaN}', '{"v":Infinity}', '{"v":undefined}', 'null', 'true', '0', '-', '"str"',
  '[]', '[{"v":1}]', '{"v":1}{"v":1}', '{"v":1} trailing', '\u0000', '{"a":"\\x00"}', '{"a":"\\u12"}', '{"a":01}', '{"a":.5}', '{"a":+1}',
  '{"a":1e}', '{"a":"unterminated}', '/* c */{"v":1}', '{"v":1 // c\n}', '\ufeff{"v":1}', '{"__proto__":{"polluted":true}}',
];
const HUGE = ['1e308', '-1e308', '1e309', '-1e309', '1e999999', '9007199254740993', '-9007199254740993', '18446744073709551616', '-0', '1e-400', '4.9e-324', '123456789012345678901234567890'];
const UNICODE = ['🚰💧', 'ﾃｽﾄ', '\u202eevil', 'a\u200bb', '\u0000', '\ud800', '\udfff', 'Ω≈ç√∫', '\\', '"', '\n\r\t', '𝕿𝖘𝖚𝖓𝖆𝖌𝖆𝖗𝖚', 'tsunagaru/v1/#', 'x'.repeat(5000)];
const WRONG = [null, true, false, 0, -1, 1.5, '', '1', 'on', [], [1], {}, { a: 1 }, [[[]]], 'NaN'];

export class MessageFactory {
  private readonly seeds = loadSeeds();
  /** Per device, its last valid telemetry/events: a duplicate is re-sent by the device that sent it. */
  private readonly recentValid = new Map<string, FuzzMessage[]>();
  private seq = 0;

  constructor(
    private readonly rng: Rng,
    private readonly devices: readonly FuzzDevice[],
    /** Ids that look right but were never provisioned. */
    private readonly strangers: readonly FuzzDevice[],
    private readonly boot: number,
  ) {}

  next(device: FuzzDevice = this.rng.pick(this.devices)): FuzzMessage {
    const family = this.rng.weighted(FAMILY_WEIGHTS);
    const recent = this.recentValid.get(device.id);
    if (family === 'duplicate' && recent?.length) return { ...this.rng.pick(recent), family: 'duplicate' };
    const make = this.generators[family === 'duplicate' ? 'valid' : family];
    return make(device);
  }

  /** A fresh copy each time: shared objects inside a payload could be mutated into a cycle. */
  private wrong(): unknown {
    return structuredClone(this.rng.pick(WRONG));
  }

  private seedFor(device: FuzzDevice, pool: Seed[]): { channel: string; payload: Record<string, unknown> } {
    const own = pool.filter((s) => s.type === device.type || s.channel === 'state' || s.channel === 'cmd/ack');
    const seed = this.rng.pick(own.length ? own : pool);
    const payload = structuredClone(seed.payload);
    if ('id' in payload || seed.channel !== 'cmd/ack') payload.id = device.id;
    if (typeof payload.boot === 'number') payload.boot = this.boot;
    if (typeof payload.seq === 'number') payload.seq = ++this.seq;
    return { channel: seed.channel, payload };
  }

  private msg(family: Family, device: FuzzDevice, channel: string, payload: Buffer | string, broker: 'accept' | 'deny' = 'accept'): FuzzMessage {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    return { family, device, topic: `tsunagaru/v1/${device.type}/${device.id}/${channel}`, payload: bytes, broker: bytes.length > 65536 ? 'deny' : broker };
  }

  /** A random path to a leaf of a JSON value, and a setter for it. */
  private mutateLeaf(root: Record<string, unknown>, value: () => unknown): void {
    let node: unknown = root;
    for (let depth = 0; depth < 6; depth++) {
      const keys = node && typeof node === 'object' ? Object.keys(node) : [];
      if (keys.length === 0) break;
      const key = this.rng.pick(keys);
      const child = (node as Record<string, unknown>)[key];
      if (child === null || typeof child !== 'object' || this.rng.chance(0.3)) {
        (node as Record<string, unknown>)[key] = value();
        return;
      }
      node = child;
    }
    root[`x${this.rng.int(100)}`] = value();
  }

  private readonly generators: Record<Exclude<Family, 'duplicate'>, (d: FuzzDevice) => FuzzMessage> = {
    valid: (d) => {
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      const m = this.msg('valid', d, channel, JSON.stringify(payload));
      if (channel === 'telemetry' || channel === 'event') {
        const recent = this.recentValid.get(d.id) ?? [];
        recent.push(m);
        if (recent.length > 16) recent.shift();
        this.recentValid.set(d.id, recent);
      }
      return m;
    },
    'mutate-structure': (d) => {
      const { channel, payload } = this.seedFor(d, this.rng.chance(0.7) ? this.seeds.valid : this.seeds.invalid);
      const ops = 1 + this.rng.int(3);
      for (let i = 0; i < ops; i++) {
        const op = this.rng.int(5);
        const keys = Object.keys(payload);
        if (op === 0 && keys.length) delete payload[this.rng.pick(keys)];
        else if (op === 1) this.mutateLeaf(payload, () => this.wrong());
        else if (op === 2 && Array.isArray(payload.samples)) payload.samples = Array.from({ length: this.rng.pick([0, 1, 2, 999, 1000, 1001]) }, () => (payload.samples as unknown[])[0]);
        else if (op === 3) payload[this.rng.pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'])] = { polluted: true };
        else this.mutateLeaf(payload, () => (this.rng.chance(0.5) ? this.wrong() : this.rng.pick(UNICODE)));
      }
      return this.msg('mutate-structure', d, channel, JSON.stringify(payload));
    },
    'mutate-bytes': (d) => {
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      const b = Buffer.from(JSON.stringify(payload), 'utf8');
      const op = this.rng.int(4);
      let out: Buffer;
      if (op === 0) {
        out = Buffer.from(b);
        for (let i = 0, n = 1 + this.rng.int(8); i < n; i++) out[this.rng.int(out.length)]! ^= 1 << this.rng.int(8);
      } else if (op === 1) out = b.subarray(0, this.rng.int(b.length));
      else if (op === 2) {
        const at = this.rng.int(b.length);
        out = Buffer.concat([b.subarray(0, at), this.rng.bytes(1 + this.rng.int(16)), b.subarray(at)]);
      } else out = this.rng.bytes(this.rng.int(512));
      return this.msg('mutate-bytes', d, channel, out);
    },
    'invalid-json': (d) => this.msg('invalid-json', d, this.rng.pick(['telemetry', 'event', 'state', 'cmd/ack']), this.rng.pick(INVALID_JSON)),
    'huge-numbers': (d) => {
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      // Replace a few numbers in the text, so values beyond float64 reach JSON.parse as written.
      let text = JSON.stringify(payload);
      const numbers = [...text.matchAll(/(?<=[:\[,])-?\d+(\.\d+)?(e[+-]?\d+)?/gi)];
      for (let i = 0, n = 1 + this.rng.int(3); i < n && numbers.length; i++) {
        const m = this.rng.pick(numbers);
        text = text.slice(0, m.index) + this.rng.pick(HUGE) + text.slice(m.index! + m[0].length);
        break; // indexes shift after one edit; one per message keeps them valid
      }
      return this.msg('huge-numbers', d, channel, text);
    },
    'deep-nesting': (d) => {
      const depth = this.rng.pick([64, 1000, 10_000, 30_000, 60_000]);
      const [open, close] = this.rng.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
      const deep = `${open.repeat(depth)}${open === '[' ? '' : '1'}${close.repeat(depth)}`;
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      const text = JSON.stringify({ ...payload, detail: '@@' }).replace('"@@"', deep);
      return this.msg('deep-nesting', d, this.rng.chance(0.5) ? 'event' : channel, text);
    },
    'wrong-types': (d) => {
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      const field = this.rng.pick(['v', 'id', 'boot', 'seq', 'ts', 'samples', 'type', 'state', 'ok', 'cmdId', 'replay']);
      payload[field] = this.wrong();
      const sample = Array.isArray(payload.samples) ? (payload.samples[0] as unknown) : undefined;
      if (sample && typeof sample === 'object' && !Array.isArray(sample) && this.rng.chance(0.5)) {
        const keys = Object.keys(sample);
        if (keys.length) (sample as Record<string, unknown>)[this.rng.pick(keys)] = this.wrong();
      }
      return this.msg('wrong-types', d, channel, JSON.stringify(payload));
    },
    unicode: (d) => {
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      const u = this.rng.pick(UNICODE);
      const op = this.rng.int(4);
      if (op === 0) payload[u] = u;
      else if (op === 1) this.mutateLeaf(payload, () => u);
      else if (op === 2) payload.id = `${d.id}${u}`;
      if (op === 3) {
        // Raw invalid UTF-8: lone continuation, overlong "/", a surrogate encoded in UTF-8, 0xFF.
        const bad = this.rng.pick([[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf4, 0x90, 0x80, 0x80]]);
        const text = Buffer.from(JSON.stringify(payload), 'utf8');
        const at = 1 + this.rng.int(text.length - 1);
        return this.msg('unicode', d, channel, Buffer.concat([text.subarray(0, at), Buffer.from(bad), text.subarray(at)]));
      }
      return this.msg('unicode', d, channel, JSON.stringify(payload));
    },
    oversized: (d) => {
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      const target = this.rng.pick([65_535, 65_536, 65_537, 70_000, 200_000, 1_000_000]);
      const base = JSON.stringify({ ...payload, pad: '' });
      const text = base.replace('"pad":""', `"pad":"${'p'.repeat(Math.max(0, target - base.length))}"`);
      return this.msg('oversized', d, channel, text);
    },
    topic: (d) => {
      const { channel, payload } = this.seedFor(d, this.seeds.valid);
      const other = this.rng.pick(this.devices.filter((o) => o.id !== d.id));
      const stranger = this.rng.pick(this.strangers);
      const topic = this.rng.pick([
        `tsunagaru/v1/${other.type}/${other.id}/${channel}`,
        `tsunagaru/v1/${stranger.type}/${stranger.id}/telemetry`,
        `tsunagaru/v1/${d.type === 'smart-pole' ? 'water-meter' : 'smart-pole'}/${d.id}/telemetry`,
        `tsunagaru/v1/${d.type}/${d.id}/cmd`,
        `tsunagaru/v1/${d.type}/${d.id}/telemetry/extra`,
        `tsunagaru/v1/${d.type}/${d.id}`,
        `tsunagaru/v1/${d.type}/${d.id}/${this.rng.pick(UNICODE).slice(0, 64)}`,
        `tsunagaru/v2/${d.type}/${d.id}/telemetry`,
        `tsunagaru/v1/toaster/${d.id}/telemetry`,
        `$SYS/broker/${d.id}`,
        `${'a/'.repeat(this.rng.int(99) + 1)}b`,
        'x'.repeat(this.rng.pick([1, 1000, 65_000])),
        `/tsunagaru/v1/${d.type}/${d.id}/telemetry`,
        `tsunagaru/v1/${d.type}/${d.id}\u0000/telemetry`,
      ]);
      return { family: 'topic', device: d, topic, payload: Buffer.from(JSON.stringify(payload)), broker: 'deny' };
    },
  };
}
