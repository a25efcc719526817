/**
 * Exclusions (`--exclude`, `--excludefile`) as a membership test that never materialises the target
 * set: IPv4 as sorted, merged uint32 ranges searched by bisection, sparse octet products as per-octet
 * lookups, IPv6 as merged bigint ranges.
 */
import { UsageError } from './errors.js';
import { parseIpLiteral, type IpLiteral } from './targets-addr.js';
import { parseTargets, splitTargetList, type NameSpec, type TargetSpec, type V4OctetSpec } from './targets-parse.js';

/** Looks a name up; returns every A and AAAA record as text. Supplied by the caller (core does no I/O). */
export type Resolver = (name: string) => Promise<readonly string[]>;

/** An octet product with more holes than this many ranges is kept as a per-octet predicate instead. */
const MAX_RANGES_PER_SPEC = 65_536;

/** A fast "is this address excluded?" test. Build it with {@link buildExclusions} or {@link compileExclusions}. */
export class ExclusionSet {
  /** Excludes nothing. */
  static readonly EMPTY = new ExclusionSet([], [], []);

  private readonly v4Starts: Float64Array;
  private readonly v4Ends: Float64Array;
  /** Per octet, a 256-entry flag table; an address is in the product when all four flags are set. */
  private readonly v4Masks: readonly (readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array])[];
  private readonly v6Starts: readonly bigint[];
  private readonly v6Ends: readonly bigint[];
  private readonly empty: boolean;

  constructor(v4: readonly (readonly [number, number])[], v4Masks: readonly V4OctetSpec[], v6: readonly (readonly [bigint, bigint])[]) {
    const merged4 = mergeV4([...v4].sort((x, y) => x[0] - y[0]));
    this.v4Starts = Float64Array.from(merged4, (r) => r[0]);
    this.v4Ends = Float64Array.from(merged4, (r) => r[1]);
    this.v4Masks = v4Masks.map((spec) => spec.octets.map(flagTable) as unknown as [Uint8Array, Uint8Array, Uint8Array, Uint8Array]);
    const merged6 = mergeV6([...v6].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)));
    this.v6Starts = merged6.map((r) => r[0]);
    this.v6Ends = merged6.map((r) => r[1]);
    this.empty = merged4.length === 0 && v4Masks.length === 0 && merged6.length === 0;
  }

  /** True when nothing is excluded, so iterators can skip the test entirely. */
  get isEmpty(): boolean {
    return this.empty;
  }

  /** Is this uint32 IPv4 address excluded? */
  hasV4(address: number): boolean {
    return this.v4RangeEnd(address) >= 0 || this.inMasks(address);
  }

  /**
   * End of the merged exclusion range holding `address`, or -1. Sequential walks use it to jump over a
   * whole excluded block at once (so excluding a /8 from a /8 does not test 16 million addresses).
   */
  v4RangeEnd(address: number): number {
    const starts = this.v4Starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] ?? 0) <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    const end = hi >= 0 ? (this.v4Ends[hi] ?? -1) : -1;
    return end >= address ? end : -1;
  }

  /** Whether a sparse octet-product exclusion matches (these cannot be skipped over in bulk). */
  inMasks(address: number): boolean {
    for (const [a, b, c, d] of this.v4Masks) {
      if (a[address >>> 24] === 1 && b[(address >>> 16) & 255] === 1 && c[(address >>> 8) & 255] === 1 && d[address & 255] === 1) return true;
    }
    return false;
  }

  /** Is this IPv6 address excluded? An IPv4-mapped address (::ffff:a.b.c.d) also matches IPv4 exclusions. */
  hasV6(address: bigint): boolean {
    if (this.v6RangeEnd(address) >= 0n) return true;
    return address >> 32n === 0xffffn && this.hasV4(Number(address & 0xffffffffn));
  }

  /** End of the merged IPv6 exclusion range holding `address`, or -1n. */
  v6RangeEnd(address: bigint): bigint {
    const starts = this.v6Starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] ?? 0n) <= address) lo = mid + 1;
      else hi = mid - 1;
    }
    const end = hi >= 0 ? (this.v6Ends[hi] ?? -1n) : -1n;
    return end >= address ? end : -1n;
  }

  /** Is this textual address excluded? Text that is not an address literal is never excluded. */
  has(address: string): boolean {
    const ip = parseIpLiteral(address);
    if (ip === undefined) return false;
    return this.hasLiteral(ip);
  }

  /** Is this parsed address excluded? */
  hasLiteral(ip: IpLiteral): boolean {
    return ip.family === 4 ? this.hasV4(ip.value) : this.hasV6(ip.value);
  }
}

function flagTable(values: Uint8Array): Uint8Array {
  const flags = new Uint8Array(256);
  for (const v of values) flags[v] = 1;
  return flags;
}

/** Merge sorted inclusive IPv4 ranges that overlap or touch. */
function mergeV4(sorted: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

/** Merge sorted inclusive IPv6 ranges that overlap or touch. */
function mergeV6(sorted: readonly (readonly [bigint, bigint])[]): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (const [start, end] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && start <= last[1] + 1n) {
      if (end > last[1]) last[1] = end;
    } else out.push([start, end]);
  }
  return out;
}

/**
 * Ranges of an octet product, or undefined when there would be too many (then it stays a predicate).
 * The product is ranges over the octets up to the last non-full one; octets after it are wildcards.
 */
function octetRanges(spec: V4OctetSpec): [number, number][] | undefined {
  let last = 3;
  while (last > 0 && spec.octets[last]?.length === 256) last--;
  const runs = runsOf(spec.octets[last] as Uint8Array);
  let combos = runs.length;
  for (let i = 0; i < last; i++) combos *= spec.octets[i]?.length ?? 1;
  if (combos > MAX_RANGES_PER_SPEC) return undefined;
  const span = 256 ** (3 - last);
  let prefixes = [0];
  for (let i = 0; i < last; i++) {
    const values = spec.octets[i] as Uint8Array;
    prefixes = prefixes.flatMap((p) => Array.from(values, (v) => p * 256 + v));
  }
  const out: [number, number][] = [];
  for (const p of prefixes) {
    for (const [lo, hi] of runs) out.push([(p * 256 + lo) * span, (p * 256 + hi) * span + span - 1]);
  }
  return out;
}

function runsOf(values: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  for (const v of values) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] + 1 === v) last[1] = v;
    else runs.push([v, v]);
  }
  return runs;
}

/** Add the block of `prefix` bits around an address (or the address itself) to the range lists. */
function addBlock(ip: IpLiteral, prefix: number | undefined, v4: [number, number][], v6: [bigint, bigint][]): void {
  if (ip.family === 4) {
    const size = 2 ** (32 - Math.min(prefix ?? 32, 32));
    const start = Math.floor(ip.value / size) * size;
    v4.push([start, start + size - 1]);
  } else {
    const size = 1n << BigInt(128 - (prefix ?? 128));
    const start = ip.value & ~(size - 1n);
    v6.push([start, start + size - 1n]);
  }
}

/**
 * Build an exclusion set from parsed specs. Names must be in `resolved` (name → its addresses); a name
 * that is missing or resolved to nothing is an error, because silently not excluding is the unsafe way
 * to fail. With a prefix, the block around every resolved address is excluded.
 */
export function buildExclusions(specs: Iterable<TargetSpec>, resolved: ReadonlyMap<string, readonly string[]> = new Map()): ExclusionSet {
  const v4: [number, number][] = [];
  const masks: V4OctetSpec[] = [];
  const v6: [bigint, bigint][] = [];
  for (const spec of specs) {
    switch (spec.kind) {
      case 'v4-range':
        v4.push([spec.start, spec.start + spec.count - 1]);
        break;
      case 'v4-octets': {
        const ranges = octetRanges(spec);
        if (ranges === undefined) masks.push(spec);
        else v4.push(...ranges);
        break;
      }
      case 'v6-range':
        v6.push([spec.start, spec.start + spec.count - 1n]);
        break;
      case 'name': {
        const addresses = (resolved.get(spec.name) ?? []).map(parseIpLiteral).filter((ip) => ip !== undefined);
        if (addresses.length === 0) throw unresolvedExclusion(spec);
        for (const ip of addresses) if (spec.prefix === undefined || ip.family === 6 || spec.prefix <= 32) addBlock(ip, spec.prefix, v4, v6);
        break;
      }
    }
  }
  return new ExclusionSet(v4, masks, v6);
}

function unresolvedExclusion(spec: NameSpec): UsageError {
  return new UsageError('E_EXCLUDE', `--exclude name "${spec.name}" did not resolve; fix it or exclude by address`, { token: spec.text });
}

/** Resolve every name among the specs with the injected resolver, then build the set. Resolver failures are fatal here. */
export async function compileExclusions(specs: readonly TargetSpec[], resolve?: Resolver): Promise<ExclusionSet> {
  const resolved = new Map<string, readonly string[]>();
  for (const spec of specs) {
    if (spec.kind !== 'name' || resolved.has(spec.name)) continue;
    if (resolve === undefined) throw unresolvedExclusion(spec);
    try {
      resolved.set(spec.name, await resolve(spec.name));
    } catch {
      throw unresolvedExclusion(spec);
    }
  }
  return buildExclusions(specs, resolved);
}

/** Parse `--exclude` / `--excludefile` text (same syntax as targets, comma/whitespace separated, `#` comments). */
export function parseExclusions(text: string): TargetSpec[] {
  // No family filter: excluding IPv4 while scanning IPv6 is harmless, refusing it would not be.
  return parseTargets(splitTargetList(text), { noun: '--exclude entry', code: 'E_EXCLUDE' });
}
