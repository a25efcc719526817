/**
 * Targets: nmap syntax in, a lazy stream of addresses out. Parsing lives in targets-parse.ts,
 * exclusions in targets-exclude.ts; this file walks the specs (in order or in a seeded shuffle) and
 * expands hostnames through a resolver the caller injects, so core itself does no I/O.
 *
 * Duplicates are not removed: `10.0.0.1 10.0.0.1` or overlapping ranges yield an address twice, as
 * nmap does; deduplicating a /8 against a /16 would need memory proportional to the targets.
 */
import type { Family } from './model.js';
import { BigPermutation, Permutation, type Seed } from './random.js';
import { formatIPv4, formatIPv6, parseIpLiteral, type IpLiteral } from './targets-addr.js';
import { ExclusionSet, type Resolver } from './targets-exclude.js';
import { countTargets, specSize, type NameSpec, type TargetSpec, type V4OctetSpec } from './targets-parse.js';

export { type Seed } from './random.js';
export { formatIPv4, formatIPv6, parseIPv4, parseIPv6, parseIpLiteral, type IpLiteral } from './targets-addr.js';
export { ExclusionSet, buildExclusions, compileExclusions, parseExclusions, type Resolver } from './targets-exclude.js';
export {
  countTargets,
  parseTargetList,
  parseTargetSpec,
  parseTargets,
  specSize,
  splitTargetList,
  type NameSpec,
  type ParseTargetOptions,
  type TargetSpec,
  type V4OctetSpec,
  type V4RangeSpec,
  type V6RangeSpec,
} from './targets-parse.js';

/** One address to scan. `hostname` is the user's name for it, when it came from a name. */
export interface Target {
  kind: 'address';
  address: string;
  family: Family;
  hostname?: string;
}

/** A hostname still to resolve, met while walking the specs. */
export interface NameTarget {
  kind: 'name';
  spec: NameSpec;
}

/** What the synchronous walk yields: an address, or a name the caller must resolve (see {@link expandName}). */
export type TargetItem = Target | NameTarget;

export interface IterateOptions {
  /** Addresses to skip (default: none). */
  exclusions?: ExclusionSet;
  /**
   * Shuffle with this seed (`--randomize-hosts`): one keyed permutation over all specs' addresses
   * together, constant memory; the same seed and specs give the same order. A name takes one slot
   * in the shuffle; the addresses it expands to (a `name/24`) follow in order.
   */
  seed?: Seed;
}

/** Walk the specs synchronously: addresses (exclusions applied) and, in their place, names to resolve. Fastest path for `-sL -n`. */
export function* iterateTargets(specs: readonly TargetSpec[], options: IterateOptions = {}): Generator<TargetItem, void, undefined> {
  const exclusions = options.exclusions ?? ExclusionSet.EMPTY;
  if (options.seed !== undefined) {
    yield* shuffled(specs, options.seed, exclusions);
    return;
  }
  for (const spec of specs) {
    switch (spec.kind) {
      case 'v4-range':
        if (exclusions.isEmpty) {
          // The -sL -n /8 loop: no delegation, no checks, one small object per address.
          for (let a = spec.start, end = spec.start + spec.count; a < end; a++) yield { kind: 'address', address: formatIPv4(a), family: 4 };
        } else yield* walkV4(spec.start, spec.count, exclusions);
        break;
      case 'v4-octets':
        yield* walkOctets(spec, exclusions);
        break;
      case 'v6-range':
        yield* walkV6(spec.start, spec.count, exclusions);
        break;
      case 'name':
        yield { kind: 'name', spec };
        break;
    }
  }
}

function* walkV4(start: number, count: number, exclusions: ExclusionSet, hostname?: string, named?: number): Generator<Target> {
  const end = start + count;
  const check = !exclusions.isEmpty;
  for (let a = start; a < end; a++) {
    if (check) {
      const skipTo = exclusions.v4RangeEnd(a);
      if (skipTo >= 0) {
        a = skipTo; // jump over the whole excluded block
        continue;
      }
      if (exclusions.inMasks(a)) continue;
    }
    yield a === named && hostname !== undefined ? { kind: 'address', address: formatIPv4(a), family: 4, hostname } : { kind: 'address', address: formatIPv4(a), family: 4 };
  }
}

function* walkOctets(spec: V4OctetSpec, exclusions: ExclusionSet): Generator<Target> {
  const [as, bs, cs, ds] = spec.octets;
  const check = !exclusions.isEmpty;
  for (const a of as) {
    for (const b of bs) {
      for (const c of cs) {
        const high = ((a << 24) | (b << 16) | (c << 8)) >>> 0;
        for (const d of ds) {
          const address = high + d;
          if (check && exclusions.hasV4(address)) continue;
          yield { kind: 'address', address: formatIPv4(address), family: 4 };
        }
      }
    }
  }
}

function* walkV6(start: bigint, count: bigint, exclusions: ExclusionSet, hostname?: string, named?: bigint): Generator<Target> {
  const end = start + count;
  const check = !exclusions.isEmpty;
  for (let a = start; a < end; a++) {
    if (check) {
      const skipTo = exclusions.v6RangeEnd(a);
      if (skipTo >= 0n) {
        a = skipTo;
        continue;
      }
      if (exclusions.hasV6(a)) continue; // IPv4-mapped addresses against IPv4 exclusions
    }
    yield a === named && hostname !== undefined ? { kind: 'address', address: formatIPv6(a), family: 6, hostname } : { kind: 'address', address: formatIPv6(a), family: 6 };
  }
}

/** The address at `offset` of an octet product: mixed-radix digits, last octet fastest (the sequential order). */
function octetAt(spec: V4OctetSpec, offset: number): number {
  let rest = offset;
  let address = 0;
  let scale = 1;
  for (let i = 3; i >= 0; i--) {
    const values = spec.octets[i] as Uint8Array;
    address += (values[rest % values.length] ?? 0) * scale;
    rest = Math.floor(rest / values.length);
    scale *= 256;
  }
  return address;
}

/** The item at `offset` within one spec, or undefined when excluded. */
function itemAt(spec: TargetSpec, offset: bigint | number, exclusions: ExclusionSet): TargetItem | undefined {
  switch (spec.kind) {
    case 'v4-range':
    case 'v4-octets': {
      const address = spec.kind === 'v4-range' ? spec.start + Number(offset) : octetAt(spec, Number(offset));
      return !exclusions.isEmpty && exclusions.hasV4(address) ? undefined : { kind: 'address', address: formatIPv4(address), family: 4 };
    }
    case 'v6-range': {
      const address = spec.start + BigInt(offset);
      return !exclusions.isEmpty && exclusions.hasV6(address) ? undefined : { kind: 'address', address: formatIPv6(address), family: 6 };
    }
    case 'name':
      return { kind: 'name', spec };
  }
}

/** Index of the spec holding global index `i`: last k with sums[k] ≤ i. */
function locate<T extends number | bigint>(sums: readonly T[] | Float64Array, i: T): number {
  let lo = 0;
  let hi = sums.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((sums[mid] as T) <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function* shuffled(specs: readonly TargetSpec[], seed: Seed, exclusions: ExclusionSet): Generator<TargetItem> {
  const total = countTargets(specs);
  if (total <= BigInt(Permutation.MAX_SIZE)) {
    // Number path: everything IPv4-sized, no BigInt per address.
    const sums = new Float64Array(specs.length + 1);
    specs.forEach((spec, k) => (sums[k + 1] = (sums[k] ?? 0) + Number(specSize(spec))));
    const permutation = new Permutation(Number(total), seed);
    const single = specs.length === 1;
    for (let i = 0; i < permutation.size; i++) {
      const j = permutation.at(i);
      const k = single ? 0 : locate(sums, j);
      const item = itemAt(specs[k] as TargetSpec, j - (sums[k] ?? 0), exclusions);
      if (item !== undefined) yield item;
    }
    return;
  }
  const sums: bigint[] = [0n];
  for (const spec of specs) sums.push((sums[sums.length - 1] ?? 0n) + specSize(spec));
  const permutation = new BigPermutation(total, seed);
  for (let i = 0n; i < total; i++) {
    const j = permutation.at(i);
    const k = locate(sums, j);
    const item = itemAt(specs[k] as TargetSpec, j - (sums[k] ?? 0n), exclusions);
    if (item !== undefined) yield item;
  }
}

export interface ExpandOptions extends IterateOptions {
  /**
   * Address family to take from a name's records (-4 / -6). Unset: IPv4 first, like nmap, falling back
   * to IPv6 when a name has no A record.
   */
  family?: Family;
  /** Use every address a name resolves to (nmap's --resolve-all), not only the first. */
  resolveAll?: boolean;
  /** Told about a name that gave no usable address, or whose resolver threw; the walk goes on (nmap warns and continues). */
  onUnresolved?: (name: string, reason: string) => void;
}

/**
 * The addresses a name stands for, given what its resolver returned (all A and AAAA records): picks
 * by family and `resolveAll`, drops malformed records, applies the name's prefix and the exclusions.
 * Pure and lazy (a `name/8` is walked, not listed); returns the reason instead when nothing usable is left.
 */
export function expandName(spec: NameSpec, records: readonly string[], options: ExpandOptions = {}): Iterable<Target> | string {
  const seen = new Set<string>();
  let usable: IpLiteral[] = [];
  for (const record of records) {
    const ip = parseIpLiteral(record);
    if (ip === undefined || (options.family !== undefined && ip.family !== options.family)) continue;
    if (ip.family === 4 && spec.prefix !== undefined && spec.prefix > 32) continue; // a /48 only fits IPv6
    const key = `${ip.family}/${ip.value}`;
    if (!seen.has(key)) usable.push(ip);
    seen.add(key);
  }
  if (usable.length === 0) {
    const family = options.family === undefined ? '' : `IPv${options.family} `;
    return records.length === 0 ? 'no address records' : `no usable ${family}address among ${records.length} record(s)`;
  }
  if (options.resolveAll !== true) usable = [usable.find((ip) => ip.family === 4) ?? (usable[0] as IpLiteral)];
  return walkName(spec, usable, options.exclusions ?? ExclusionSet.EMPTY);
}

function* walkName(spec: NameSpec, addresses: readonly IpLiteral[], exclusions: ExclusionSet): Generator<Target> {
  for (const ip of addresses) {
    if (ip.family === 4) {
      const size = 2 ** (32 - (spec.prefix ?? 32));
      yield* walkV4(Math.floor(ip.value / size) * size, size, exclusions, spec.name, ip.value);
    } else {
      const size = 1n << BigInt(128 - (spec.prefix ?? 128));
      yield* walkV6(ip.value & ~(size - 1n), size, exclusions, spec.name, ip.value);
    }
  }
}

/**
 * Walk the specs and resolve names with the injected resolver, in batches of addresses: the async
 * cost is paid per batch, not per address, so a /8 streams at iterator speed. Keep batches small
 * (default 4096): tens of thousands of live target objects per batch outlive the young GC generation
 * and made a /8 four times slower in measurements. The resolver is only
 * called for names; literals never touch it (so -n costs nothing for them).
 */
export async function* expandTargetBatches(
  specs: readonly TargetSpec[],
  resolve: Resolver,
  options: ExpandOptions & { batchSize?: number } = {},
): AsyncGenerator<Target[], void, undefined> {
  const batchSize = Math.max(1, options.batchSize ?? 4096);
  let batch: Target[] = [];
  for (const item of iterateTargets(specs, options)) {
    if (item.kind === 'address') {
      batch.push(item);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
      continue;
    }
    let expanded: Iterable<Target> | string;
    try {
      expanded = expandName(item.spec, await resolve(item.spec.name), options);
    } catch (error) {
      expanded = `resolver failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (typeof expanded === 'string') {
      options.onUnresolved?.(item.spec.name, expanded);
      continue;
    }
    for (const target of expanded) {
      batch.push(target);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/** Like {@link expandTargetBatches}, one target at a time. Convenient; for millions of addresses prefer the batches. */
export async function* expandTargets(specs: readonly TargetSpec[], resolve: Resolver, options: ExpandOptions = {}): AsyncGenerator<Target, void, undefined> {
  for await (const batch of expandTargetBatches(specs, resolve, { ...options, batchSize: 256 })) yield* batch;
}
