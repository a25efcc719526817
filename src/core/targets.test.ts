import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import {
  buildExclusions,
  compileExclusions,
  countTargets,
  expandName,
  expandTargetBatches,
  expandTargets,
  formatIPv6,
  iterateTargets,
  parseExclusions,
  parseTargetSpec,
  parseTargets,
  type ExpandOptions,
  type NameSpec,
  type Target,
  type TargetItem,
  type TargetSpec,
} from './targets.js';

/** First `n` items of a (possibly endless-looking) iterator. */
function take<T>(iterable: Iterable<T>, n: number): T[] {
  const out: T[] = [];
  if (n <= 0) return out;
  for (const item of iterable) {
    out.push(item);
    if (out.length >= n) break;
  }
  return out;
}

const addresses = (items: Iterable<TargetItem>): string[] => [...items].map((i) => (i.kind === 'address' ? i.address : `name:${i.spec.name}`));
const walk = (tokens: string[], options = {}): string[] => addresses(iterateTargets(parseTargets(tokens), options));
const noResolver = (): Promise<string[]> => Promise.reject(new Error('resolver must not be called'));

async function collect(specs: readonly TargetSpec[], resolve: (name: string) => Promise<readonly string[]>, options: ExpandOptions = {}): Promise<Target[]> {
  const out: Target[] = [];
  for await (const target of expandTargets(specs, resolve, options)) out.push(target);
  return out;
}

describe('iterateTargets', () => {
  it('walks every syntax in order', () => {
    expect(walk(['192.0.2.7', '192.0.2.1-3', '10.0.0.1,3,5-7', '10.0-1.*.1-2'])).toEqual([
      '192.0.2.7',
      '192.0.2.1',
      '192.0.2.2',
      '192.0.2.3',
      '10.0.0.1',
      '10.0.0.3',
      '10.0.0.5',
      '10.0.0.6',
      '10.0.0.7',
      ...Array.from({ length: 2 }, (_, b) => Array.from({ length: 256 }, (_, c) => [`10.${b}.${c}.1`, `10.${b}.${c}.2`]).flat()).flat(),
    ]);
    expect(walk(['2001:db8::/126', 'example.com', '::ffff:192.0.2.1'])).toEqual(['2001:db8::', '2001:db8::1', '2001:db8::2', '2001:db8::3', 'name:example.com', '::ffff:192.0.2.1']);
    expect(walk(['255.255.255.254/31'])).toEqual(['255.255.255.254', '255.255.255.255']);
    expect(walk(['192.0.2.1', '192.0.2.1'])).toEqual(['192.0.2.1', '192.0.2.1']); // duplicates kept, like nmap
  });
  it('is lazy on a /8, a /0 and a /64: first items arrive at once', () => {
    expect(take(walk2(['127.0.0.0/8']), 3)).toEqual(['127.0.0.0', '127.0.0.1', '127.0.0.2']);
    expect(take(walk2(['0.0.0.0/0']), 2)).toEqual(['0.0.0.0', '0.0.0.1']);
    expect(take(walk2(['2001:db8::/64']), 2)).toEqual(['2001:db8::', '2001:db8::1']);
    expect(take(walk2(['::/0']), 1)).toEqual(['::']);
    expect(countTargets(parseTargets(['127.0.0.0/8']))).toBe(16777216n);
  });
  it('reaches the end of a /64 at once when all but its last four addresses are excluded', () => {
    // The CIDR blocks covering 2001:db8::/64 minus its last 4 addresses: /65, /66, … /126.
    const base = 0x20010db8n << 96n;
    const blocks: string[] = [];
    let start = base;
    for (let prefix = 65; prefix <= 126; prefix++) {
      blocks.push(`${formatIPv6(start)}/${prefix}`);
      start += 1n << BigInt(128 - prefix);
    }
    const exclusions = buildExclusions(parseExclusions(blocks.join('\n')));
    expect(walk(['2001:db8::/64'], { exclusions })).toEqual(['2001:db8::ffff:ffff:ffff:fffc', '2001:db8::ffff:ffff:ffff:fffd', '2001:db8::ffff:ffff:ffff:fffe', '2001:db8::ffff:ffff:ffff:ffff']);
  });
  it('enumerates 127.0.0.0/8 completely', () => {
    let n = 0;
    let last = '';
    for (const item of iterateTargets(parseTargets(['127.0.0.0/8']))) {
      n++;
      if (item.kind === 'address') last = item.address;
    }
    expect(n).toBe(16777216);
    expect(last).toBe('127.255.255.255');
  });
});

/** Addresses of the specs, as a lazy iterator (so `take` can stop early). */
function* walk2(tokens: string[]): Generator<string> {
  for (const item of iterateTargets(parseTargets(tokens))) yield item.kind === 'address' ? item.address : item.spec.name;
}

describe('exclusions', () => {
  it('skips single addresses, ranges, CIDRs, octet products and IPv6 blocks', () => {
    const exclusions = buildExclusions(parseExclusions('192.0.2.5,192.0.2.10-12 192.0.2.64/26\n10.*.*.1 # comment\n2001:db8::2'));
    expect(walk(['192.0.2.0-13'], { exclusions })).toEqual(['0', '1', '2', '3', '4', '6', '7', '8', '9', '13'].map((d) => `192.0.2.${d}`));
    expect(walk(['192.0.2.60-70'], { exclusions })).toEqual(['192.0.2.60', '192.0.2.61', '192.0.2.62', '192.0.2.63']);
    expect(walk(['10.1.2.0-2', '10.1-2.3.1'], { exclusions })).toEqual(['10.1.2.0', '10.1.2.2']);
    expect(walk(['2001:db8::/126'], { exclusions })).toEqual(['2001:db8::', '2001:db8::1', '2001:db8::3']);
    expect(exclusions.has('10.200.7.1')).toBe(true);
    expect(exclusions.has('10.200.7.2')).toBe(false);
    expect(exclusions.has('::ffff:192.0.2.5')).toBe(true);
    expect(exclusions.has('not-an-address')).toBe(false);
  });
  it('keeps octet products too sparse for ranges as per-octet tests', () => {
    const exclusions = buildExclusions(parseExclusions('*.*.*.1,255'));
    expect(exclusions.has('192.0.2.1') && exclusions.has('10.9.8.255')).toBe(true);
    expect(exclusions.has('192.0.2.2')).toBe(false);
    expect(walk(['192.0.2.0/29'], { exclusions })).toEqual(['0', '2', '3', '4', '5', '6', '7'].map((d) => `192.0.2.${d}`));
    expect(walk(['192.0.2.0-1', '192.0.3.1'], { exclusions, seed: 3 })).toEqual(['192.0.2.0']);
  });
  it('merges overlapping ranges and skips excluded blocks of a /8 in bulk', () => {
    const exclusions = buildExclusions(parseExclusions('127.0.0.0/9,127.64.0.0/10,127.128.0.0/9'));
    expect(walk(['127.0.0.0/8', '127.0.0.1'], { exclusions })).toEqual([]);
    const partial = buildExclusions(parseExclusions('127.0.0.0/9 127.128.0.0/10 127.192.0.0/11 127.224.0.0/12 127.240.0.0/13 127.248.0.0/14 127.252.0.0/15 127.254.0.0/16 127.255.0.0/17'));
    const left = walk(['127.0.0.0/8'], { exclusions: partial });
    expect(left.length).toBe(32768);
    expect(left[0]).toBe('127.255.128.0');
  });
  it('reports exclusion syntax errors with E_EXCLUDE', () => {
    expect(() => parseExclusions('10.0.0.1 10.0.0.300')).toThrow(/bad --exclude entry "10\.0\.0\.300"/);
    expect(() => parseExclusions('10.0.0.300 ::::')).toThrow(/^2 bad --exclude entries: /);
    try {
      parseExclusions('1.2.3.4/33');
    } catch (error) {
      expect((error as UsageError).code).toBe('E_EXCLUDE');
    }
  });
  it('resolves excluded names through the injected resolver, and refuses names that do not resolve', async () => {
    const resolve = (name: string): Promise<string[]> => Promise.resolve(name === 'db.example' ? ['192.0.2.9', '2001:db8::9'] : []);
    const exclusions = await compileExclusions(parseExclusions('db.example'), resolve);
    expect(exclusions.has('192.0.2.9') && exclusions.has('2001:db8::9')).toBe(true);
    await expect(compileExclusions(parseExclusions('nowhere.example'), resolve)).rejects.toThrow(/did not resolve/);
    await expect(compileExclusions(parseExclusions('nowhere.example'))).rejects.toBeInstanceOf(UsageError);
    const block = await compileExclusions(parseExclusions('db.example/24'), resolve);
    expect(block.has('192.0.2.200')).toBe(true);
  });
});

describe('randomized order', () => {
  const tokens = ['10.0.0.0/22', '10.1.0.1,3,5', '2001:db8::/120', 'a.example'];
  const sequential = walk(tokens);

  it('is a permutation of the sequential order, deterministic per seed', () => {
    const first = walk(tokens, { seed: 7 });
    expect(first.length).toBe(sequential.length);
    expect([...first].sort()).toEqual([...sequential].sort());
    expect(walk(tokens, { seed: 7 })).toEqual(first);
    expect(first).not.toEqual(sequential);
  });
  it('differs across seeds (numbers and strings)', () => {
    const orders = [1, 2, 3, 'lab', 'lab2'].map((seed) => walk(tokens, { seed }).join(' '));
    expect(new Set(orders).size).toBe(orders.length);
  });
  it('covers a whole /16 exactly once, and applies exclusions', () => {
    const exclusions = buildExclusions(parseExclusions('10.9.0.0/17'));
    const seen = new Set(walk(['10.9.0.0/16'], { seed: 99, exclusions }));
    expect(seen.size).toBe(32768);
    expect(seen.has('10.9.128.0') && seen.has('10.9.255.255') && !seen.has('10.9.0.1')).toBe(true);
  });
  it('shuffles IPv6-sized spaces lazily with the bigint permutation', () => {
    const firsts = take(walk2Seeded(['2001:db8::/64', '192.0.2.0/24'], 5), 5);
    expect(firsts.length).toBe(5);
    expect(take(walk2Seeded(['2001:db8::/64'], 5), 5)).toEqual(take(walk2Seeded(['2001:db8::/64'], 5), 5));
    const tiny = walk(['2001:db8::/126', '2001:db8::10/126'], { seed: 5 });
    expect(tiny.sort()).toEqual(['2001:db8::', '2001:db8::1', '2001:db8::10', '2001:db8::11', '2001:db8::12', '2001:db8::13', '2001:db8::2', '2001:db8::3']);
  });
});

function* walk2Seeded(tokens: string[], seed: number): Generator<string> {
  for (const item of iterateTargets(parseTargets(tokens), { seed })) yield item.kind === 'address' ? item.address : item.spec.name;
}

describe('names', () => {
  const spec = (token: string): NameSpec => parseTargetSpec(token) as NameSpec;
  const list = (result: Iterable<Target> | string): Target[] | string => (typeof result === 'string' ? result : [...result]);

  it('takes the first IPv4 address by default, like nmap, else the first IPv6', () => {
    expect(list(expandName(spec('h.example'), ['2001:db8::1', '192.0.2.1', '192.0.2.2']))).toEqual([{ kind: 'address', address: '192.0.2.1', family: 4, hostname: 'h.example' }]);
    expect(list(expandName(spec('h.example'), ['2001:db8::1']))).toEqual([{ kind: 'address', address: '2001:db8::1', family: 6, hostname: 'h.example' }]);
    expect(list(expandName(spec('h.example'), ['2001:db8::1', '192.0.2.1'], { family: 6 }))).toEqual([{ kind: 'address', address: '2001:db8::1', family: 6, hostname: 'h.example' }]);
  });
  it('uses every record with resolveAll, deduplicated and canonical', () => {
    const all = list(expandName(spec('h.example'), ['192.0.2.1', '2001:DB8:0::1', '192.0.2.1', 'garbage'], { resolveAll: true }));
    expect(all).toEqual([
      { kind: 'address', address: '192.0.2.1', family: 4, hostname: 'h.example' },
      { kind: 'address', address: '2001:db8::1', family: 6, hostname: 'h.example' },
    ]);
  });
  it('applies the prefix around the resolved address, naming only that address', () => {
    const block = list(expandName(spec('h.example/30'), ['192.0.2.6']));
    expect(block).toEqual([
      { kind: 'address', address: '192.0.2.4', family: 4 },
      { kind: 'address', address: '192.0.2.5', family: 4 },
      { kind: 'address', address: '192.0.2.6', family: 4, hostname: 'h.example' },
      { kind: 'address', address: '192.0.2.7', family: 4 },
    ]);
    expect(list(expandName(spec('h.example/126'), ['192.0.2.6', '2001:db8::5']))).toHaveLength(4);
    const huge = expandName(spec('h.example/0'), ['192.0.2.6']);
    expect(typeof huge).not.toBe('string');
    if (typeof huge !== 'string') expect(take(huge, 2).map((t) => t.address)).toEqual(['0.0.0.0', '0.0.0.1']);
  });
  it('explains names that give nothing usable', () => {
    expect(expandName(spec('h.example'), [])).toBe('no address records');
    expect(expandName(spec('h.example'), ['192.0.2.1'], { family: 6 })).toBe('no usable IPv6 address among 1 record(s)');
  });
});

describe('expandTargets', () => {
  it('never calls the resolver for literals', async () => {
    const out = await collect(parseTargets(['192.0.2.0/30', '2001:db8::1']), noResolver);
    expect(out.map((t) => t.address)).toEqual(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3', '2001:db8::1']);
  });
  it('resolves names in place, applies exclusions, and reports failures without stopping', async () => {
    const asked: string[] = [];
    const resolve = (name: string): Promise<string[]> => {
      asked.push(name);
      if (name === 'broken.example') return Promise.reject(new Error('SERVFAIL'));
      return Promise.resolve(name === 'web.example' ? ['192.0.2.80'] : name === 'gone.example' ? [] : ['192.0.2.5']);
    };
    const unresolved: [string, string][] = [];
    const exclusions = buildExclusions(parseExclusions('192.0.2.5'));
    const out = await collect(parseTargets(['192.0.2.1', 'web.example', 'broken.example', 'gone.example', 'db.example', '192.0.2.2']), resolve, {
      exclusions,
      onUnresolved: (name, reason) => unresolved.push([name, reason]),
    });
    expect(out.map((t) => `${t.address}${t.hostname ? ` ${t.hostname}` : ''}`)).toEqual(['192.0.2.1', '192.0.2.80 web.example', '192.0.2.2']);
    expect(asked).toEqual(['web.example', 'broken.example', 'gone.example', 'db.example']);
    expect(unresolved).toEqual([
      ['broken.example', 'resolver failed: SERVFAIL'],
      ['gone.example', 'no address records'],
    ]);
  });
  it('streams a /8 in batches', async () => {
    let n = 0;
    let batches = 0;
    for await (const batch of expandTargetBatches(parseTargets(['127.0.0.0/8']), noResolver)) {
      n += batch.length;
      batches++;
    }
    expect(n).toBe(16777216);
    expect(batches).toBe(4096); // default batch size 4096
  });
  it('stops early without walking the rest', async () => {
    const firsts: string[] = [];
    for await (const target of expandTargets(parseTargets(['::/0']), noResolver)) {
      firsts.push(target.address);
      if (firsts.length === 3) break;
    }
    expect(firsts).toEqual(['::', '::1', '::2']);
  });
});
