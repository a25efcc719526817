import { describe, expect, it } from 'vitest';
import { BigPermutation, Permutation, mix32, seedToUint32, splitmix32 } from './random.js';

function isPermutation(values: readonly number[], n: number): boolean {
  const seen = new Uint8Array(n);
  for (const v of values) {
    if (!(v >= 0 && v < n) || seen[v] === 1) return false;
    seen[v] = 1;
  }
  return values.length === n;
}

describe('Permutation', () => {
  it('is a bijection on [0, n) for small and awkward sizes', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 17, 1000, 65_536, 65_537, (1 << 20) + 3]) {
      const p = new Permutation(n, 42);
      expect(isPermutation(Array.from({ length: n }, (_, i) => p.at(i)), n), `n=${n}`).toBe(true);
    }
  });
  it('is deterministic per seed and differs across seeds', () => {
    const order = (seed: number | string): number[] => {
      const p = new Permutation(1000, seed);
      return Array.from({ length: 1000 }, (_, i) => p.at(i));
    };
    expect(order(1)).toEqual(order(1));
    expect(order('lab')).toEqual(order('lab'));
    const distinct = new Set([1, 2, 3, 2 ** 40, 'lab', 'lab2'].map((s) => order(s).join()));
    expect(distinct.size).toBe(6);
    expect(order(1)).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
  it('handles domains beyond 2^32 (the division path) with distinct in-range values', () => {
    const n = 2 ** 40 + 12345;
    const p = new Permutation(n, 'x');
    const sample = Array.from({ length: 2000 }, (_, i) => p.at(i * 499_999_937));
    expect(sample.every((v) => Number.isInteger(v) && v >= 0 && v < n)).toBe(true);
    expect(new Set(sample).size).toBe(sample.length);
  });
  it('rejects bad sizes and indexes', () => {
    expect(() => new Permutation(-1, 1)).toThrow(RangeError);
    expect(() => new Permutation(2 ** 53, 1)).toThrow(RangeError);
    expect(() => new Permutation(10, 1).at(10)).toThrow(RangeError);
  });
});

describe('BigPermutation', () => {
  it('is a bijection on small bigint domains', () => {
    for (const n of [1n, 2n, 7n, 1000n, 4099n]) {
      const p = new BigPermutation(n, 9);
      const values = Array.from({ length: Number(n) }, (_, i) => Number(p.at(BigInt(i))));
      expect(isPermutation(values, Number(n)), `n=${n}`).toBe(true);
    }
  });
  it('samples a 2^128 domain with distinct in-range values, deterministically', () => {
    const n = 1n << 128n;
    const a = new BigPermutation(n, 'v6');
    const b = new BigPermutation(n, 'v6');
    const sample = Array.from({ length: 500 }, (_, i) => a.at(BigInt(i)));
    expect(sample.every((v) => v >= 0n && v < n)).toBe(true);
    expect(new Set(sample).size).toBe(500);
    expect(Array.from({ length: 500 }, (_, i) => b.at(BigInt(i)))).toEqual(sample);
  });
});

describe('seeds and mixing', () => {
  it('folds seeds to uint32 stably', () => {
    expect(seedToUint32(42)).toBe(seedToUint32(42));
    expect(seedToUint32(42)).not.toBe(seedToUint32(43));
    expect(seedToUint32(2 ** 40)).not.toBe(seedToUint32(0));
    expect(seedToUint32('42')).not.toBe(seedToUint32('43'));
    expect(seedToUint32(1.5)).toBe(seedToUint32('1.5'));
    for (const seed of [0, -1, 2 ** 53 - 1, 'x']) expect(seedToUint32(seed)).toBeGreaterThanOrEqual(0);
  });
  it('splitmix32 gives reproducible uint32 streams', () => {
    const a = splitmix32(5);
    const b = splitmix32(5);
    const xs = Array.from({ length: 8 }, a);
    expect(Array.from({ length: 8 }, b)).toEqual(xs);
    expect(new Set(xs).size).toBe(8);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    expect(mix32(0)).toBe(0);
    expect(mix32(1)).not.toBe(1);
  });
});
