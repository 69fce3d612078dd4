/**
 * Deterministic pseudo-random numbers for the simulators: the same seed gives the same fleet, so a test
 * or a demo can be replayed exactly. Not for anything security-related.
 */

/** mulberry32: a tiny 32-bit generator with good enough statistics for synthetic telemetry. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 32-bit seed from a fleet seed and a name (FNV-1a), so each device's stream depends only on its own id:
 * adding a device to the fleet does not change what the others produce.
 */
export function deriveSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class Rng {
  private readonly next: () => number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.next();
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Integer in [min, max], both included. */
  int(min: number, max: number): number {
    return Math.floor(this.between(min, max + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Normal(mean, sd) by Box–Muller; the second value of each pair is kept for the next call. */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** Poisson(lambda) by Knuth's method; fine for the small rates used here (λ < ~30). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** True with the probability that an event with `perHour` rate happens within `dtMs`. */
  happens(perHour: number, dtMs: number): boolean {
    return this.chance(1 - Math.exp(-perHour * (dtMs / 3_600_000)));
  }
}

/** A random walk pulled back to 0 (Ornstein–Uhlenbeck, discretised): slow weather-like drift. */
export class Drift {
  private value = 0;

  /** `sd` is the long-run spread; `tauHours` how long a deviation lasts. */
  constructor(
    private readonly rng: Rng,
    private readonly sd: number,
    private readonly tauHours: number,
  ) {}

  step(dtMs: number): number {
    const a = Math.exp(-dtMs / 3_600_000 / this.tauHours);
    this.value = a * this.value + Math.sqrt(1 - a * a) * this.rng.normal(0, this.sd);
    return this.value;
  }
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Rounds to `digits` decimals, the resolution a real sensor would report. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
