/**
 * A small reader for plain config objects that collects every problem at once, each naming the field
 * and what to do (style: fastify's initial-config-validation). Kept free of zod: the contracts package
 * is the only one that depends on it.
 */
export class ConfigProblems {
  readonly list: string[] = [];

  add(path: string, problem: string): void {
    this.list.push(`${path}: ${problem}`);
  }
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export class Fields {
  private readonly seen = new Set<string>();

  constructor(
    private readonly obj: Obj,
    private readonly path: string,
    private readonly problems: ConfigProblems,
  ) {}

  /** Reads a nested section; missing → empty (its fields then report themselves). */
  section(name: string, required = false): Fields {
    this.seen.add(name);
    const v = this.obj[name];
    if (v === undefined && required) this.problems.add(this.at(name), 'is required (a section)');
    if (v !== undefined && !isObj(v)) this.problems.add(this.at(name), `must be a section (key: value lines), got ${describe(v)}`);
    return new Fields(isObj(v) ? v : {}, this.at(name), this.problems);
  }

  has(name: string): boolean {
    return this.obj[name] !== undefined;
  }

  string(name: string, o: { default?: string; pattern?: RegExp; hint?: string } = {}): string {
    this.seen.add(name);
    const v = this.obj[name];
    if (v === undefined) {
      if (o.default !== undefined) return o.default;
      this.problems.add(this.at(name), `is required${o.hint ? `; ${o.hint}` : ''}`);
      return '';
    }
    if (typeof v !== 'string' || v === '') {
      this.problems.add(this.at(name), `must be a non-empty string, got ${describe(v)}${o.hint ? `; ${o.hint}` : ''}`);
      return o.default ?? '';
    }
    if (o.pattern && !o.pattern.test(v)) this.problems.add(this.at(name), `must match ${o.pattern.source}, got "${v}"${o.hint ? `; ${o.hint}` : ''}`);
    return v;
  }

  optionalString(name: string): string | undefined {
    this.seen.add(name);
    return this.has(name) ? this.string(name) : undefined;
  }

  number(name: string, o: { default?: number; min: number; max: number; integer?: boolean; hint?: string }): number {
    this.seen.add(name);
    const v = this.obj[name];
    const range = `${o.integer ? 'an integer' : 'a number'} from ${o.min} to ${o.max}`;
    if (v === undefined) {
      if (o.default !== undefined) return o.default;
      this.problems.add(this.at(name), `is required: ${range}${o.hint ? `; ${o.hint}` : ''}`);
      return o.min;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || (o.integer && !Number.isInteger(v)) || v < o.min || v > o.max) {
      this.problems.add(this.at(name), `must be ${range}, got ${describe(v)}${o.hint ? `; ${o.hint}` : ''}`);
      return o.default ?? o.min;
    }
    return v;
  }

  /** Bytes as a number or a string with a unit: `268435456`, `"256 MiB"`, `"64KiB"`, `"1 GiB"`. */
  bytes(name: string, o: { default: number; min: number; max: number }): number {
    this.seen.add(name);
    const v = this.obj[name];
    if (v === undefined) return o.default;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? parseBytes(v) : undefined;
    if (n === undefined || !Number.isInteger(n) || n < o.min || n > o.max) {
      this.problems.add(this.at(name), `must be a size from ${o.min} to ${o.max} bytes, as a number or with a unit ("256 MiB"), got ${describe(v)}`);
      return o.default;
    }
    return n;
  }

  oneOf<T extends string>(name: string, values: readonly T[], o: { default?: T } = {}): T {
    this.seen.add(name);
    const v = this.obj[name];
    if (v === undefined && o.default !== undefined) return o.default;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.problems.add(this.at(name), `must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${describe(v)}`);
      return o.default ?? values[0]!;
    }
    return v as T;
  }

  /** Reports keys nobody asked for: usually a misspelling. */
  done(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) this.problems.add(this.at(key), `unknown field; check the spelling (known: ${[...this.seen].join(', ')})`);
    }
  }

  private at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }
}

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 };

export function parseBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : undefined;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `"${v}"`;
  if (Array.isArray(v)) return 'a list';
  if (isObj(v)) return 'a section';
  return String(v);
}
