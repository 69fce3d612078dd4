import { describe, expect, it } from 'vitest';
import { deriveSeed, mulberry32, Rng } from './rng.js';

describe('rng', () => {
  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('derives distinct, stable seeds per device name', () => {
    expect(deriveSeed(1, 'pole-01')).toBe(deriveSeed(1, 'pole-01'));
    expect(deriveSeed(1, 'pole-01')).not.toBe(deriveSeed(1, 'pole-02'));
    expect(deriveSeed(1, 'pole-01')).not.toBe(deriveSeed(2, 'pole-01'));
  });

  it('normal and poisson have roughly the right mean and spread', () => {
    const rng = new Rng(9);
    const n = 20_000;
    const normals = Array.from({ length: n }, () => rng.normal(5, 2));
    const m = normals.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(normals.reduce((a, b) => a + (b - m) ** 2, 0) / n);
    expect(m).toBeCloseTo(5, 1);
    expect(sd).toBeCloseTo(2, 1);
    const poissons = Array.from({ length: n }, () => rng.poisson(3));
    expect(poissons.reduce((a, b) => a + b, 0) / n).toBeCloseTo(3, 1);
    expect(rng.poisson(0)).toBe(0);
  });

  it('int covers both ends', () => {
    const rng = new Rng(1);
    const seen = new Set(Array.from({ length: 500 }, () => rng.int(1, 4)));
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
  });
});
