/**
 * Seeded, constant-memory shuffling. A keyed Feistel network is a bijection on [0, 2^b); walking the
 * cycle until the value falls below n turns it into a bijection on [0, n). So `--randomize-hosts`
 * over a /8 or a /64 needs no array, and the same seed always gives the same order.
 *
 * This is for spreading load and avoiding IDS-friendly sequential sweeps, not for cryptography.
 */

/** murmur3's 32-bit finaliser: a bijection on uint32 with good avalanche, a few multiplies. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seed as the user may give it (`--seed 42`, `--seed lab-run-3`) folded to 32 bits. */
export type Seed = number | string;

/** Fold a seed to a uint32. Integers are used bit for bit (both halves of a 53-bit one); anything else is hashed as text. */
export function seedToUint32(seed: Seed): number {
  if (typeof seed === 'number' && Number.isSafeInteger(seed)) {
    const lo = Number(BigInt.asUintN(32, BigInt(seed)));
    const hi = Number(BigInt.asUintN(32, BigInt(seed) >> 32n));
    return mix32(lo ^ mix32(hi + 0x9e3779b9));
  }
  // FNV-1a over UTF-16 units: deterministic across platforms, and text seeds are short.
  const text = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** A small counter-based generator (splitmix32): returns a function yielding uint32s. */
export function splitmix32(seed: Seed): () => number {
  let state = seedToUint32(seed);
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return mix32(state ^ (state >>> 15));
  };
}

/** Luby–Rackoff needs 4 rounds with random round functions; 6 leaves margin for our cheap ones. */
const ROUNDS = 6;

/** Bits of the smallest even-width power of two ≥ n, so the Feistel halves are equal and the domain is < 4n. */
function domainBits(n: bigint): number {
  let bits = Math.max(2, (n - 1n).toString(2).length);
  if (bits % 2 === 1) bits++;
  return bits;
}

/** Keyed bijection on [0, n) for n ≤ 2^52, in plain numbers (the fast path for anything IPv4-sized). */
export class Permutation {
  /** Largest domain the number path handles: 26-bit halves fit one 32-bit mixing round. */
  static readonly MAX_SIZE = 2 ** 52;
  readonly size: number;
  private readonly half: number;
  private readonly halfBits: number;
  /** Six Feistel round keys. */
  private readonly keys: Uint32Array;

  constructor(size: number, seed: Seed) {
    if (!Number.isSafeInteger(size) || size < 0 || size > Permutation.MAX_SIZE) {
      throw new RangeError(`Permutation size must be an integer in [0, 2^52], got ${size}`);
    }
    this.size = size;
    this.halfBits = domainBits(BigInt(Math.max(size, 1))) / 2;
    this.half = 2 ** this.halfBits;
    const next = splitmix32(seed);
    this.keys = Uint32Array.from({ length: 6 }, () => next());
  }

  /** The element at position `index` of the shuffled order; every value in [0, size) appears exactly once. */
  at(index: number): number {
    if (!(index >= 0 && index < this.size)) throw new RangeError(`index ${index} outside [0, ${this.size})`);
    let x = index;
    if (this.halfBits <= 16) {
      do x = this.encrypt32(x);
      while (x >= this.size);
    } else {
      do x = this.encrypt(x);
      while (x >= this.size);
    }
    return x;
  }

  /** Domains up to 2^32: halves of ≤ 16 bits, all in int32 bit operations. */
  private encrypt32(x: number): number {
    const bits = this.halfBits;
    const mask = this.half - 1;
    let left = x >>> bits;
    let right = x & mask;
    for (const key of this.keys) {
      const next = left ^ (mix32(right ^ key) & mask);
      left = right;
      right = next;
    }
    return ((left << bits) | right) >>> 0;
  }

  /** Larger domains: halves up to 26 bits, split with division since they overflow int32 when joined. */
  private encrypt(x: number): number {
    const half = this.half;
    let left = Math.floor(x / half);
    let right = x % half;
    for (const key of this.keys) {
      // half is a power of two ≤ 2^26, so `% half` keeps the low bits and both XOR operands stay positive.
      const next = left ^ (mix32(right ^ key) % half);
      left = right;
      right = next;
    }
    return left * half + right;
  }
}

/** Keyed bijection on [0, n) for any bigint n (IPv6 index spaces). Slower; used only past 2^52. */
export class BigPermutation {
  readonly size: bigint;
  private readonly halfBits: bigint;
  private readonly mask: bigint;
  private readonly keys: Uint32Array;
  private readonly words: number;

  constructor(size: bigint, seed: Seed) {
    if (size < 0n) throw new RangeError('BigPermutation size must be ≥ 0');
    this.size = size;
    const bits = domainBits(size > 0n ? size : 1n) / 2;
    this.halfBits = BigInt(bits);
    this.mask = (1n << this.halfBits) - 1n;
    this.words = Math.ceil(bits / 32);
    const next = splitmix32(seed);
    this.keys = Uint32Array.from({ length: ROUNDS }, next);
  }

  /** The element at position `index` of the shuffled order. */
  at(index: bigint): bigint {
    if (!(index >= 0n && index < this.size)) throw new RangeError(`index ${index} outside [0, ${this.size})`);
    let x = index;
    do x = this.encrypt(x);
    while (x >= this.size);
    return x;
  }

  private encrypt(x: bigint): bigint {
    let left = x >> this.halfBits;
    let right = x & this.mask;
    for (const key of this.keys) {
      const next = left ^ this.round(right, key);
      left = right;
      right = next;
    }
    return (left << this.halfBits) | right;
  }

  /** Round function: absorb the half 32 bits at a time, squeeze as many 32-bit words as the half needs. */
  private round(half: bigint, key: number): bigint {
    let acc = key;
    for (let v = half, i = 0; i < this.words; i++, v >>= 32n) acc = mix32(acc ^ Number(v & 0xffffffffn)) + i;
    let out = 0n;
    for (let i = 0; i < this.words; i++) {
      acc = mix32(acc + 0x9e3779b9);
      out = (out << 32n) | BigInt(acc);
    }
    return out & this.mask;
  }
}
