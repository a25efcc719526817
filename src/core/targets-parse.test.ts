import { describe, expect, it } from 'vitest';
import { UsageError, quoteToken } from './errors.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './targets-addr.js';
import { countTargets, parseTargetList, parseTargetSpec, parseTargets, splitTargetList, type TargetSpec } from './targets-parse.js';

/** Parse one token and return the UsageError it throws. */
function errorOf(token: string, options = {}): UsageError {
  try {
    parseTargetSpec(token, options);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(token.slice(0, 40))} to be rejected`);
}

describe('address literals', () => {
  it('parses and formats IPv4 as uint32', () => {
    expect(parseIPv4('192.0.2.7')).toEqual({ ok: true, value: 0xc0000207 });
    expect(formatIPv4(0xc0000207)).toBe('192.0.2.7');
    expect(formatIPv4(0xffffffff)).toBe('255.255.255.255');
    expect(parseIPv4('010.0.0.1').ok).toBe(false);
    expect(parseIPv4('1.2.3').ok).toBe(false);
  });
  it('parses IPv6 forms and formats them per RFC 5952', () => {
    const cases: [string, string][] = [
      ['2001:db8::1', '2001:db8::1'],
      ['::1', '::1'],
      ['::', '::'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ];
    for (const [text, canonical] of cases) {
      const parsed = parseIPv6(text);
      expect(parsed.ok, text).toBe(true);
      if (parsed.ok) expect(formatIPv6(parsed.value)).toBe(canonical);
    }
  });
  it('rejects malformed IPv6', () => {
    for (const bad of ['::::', ':::', '1::2::3', ':1::2', '1::2:', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '1.2.3.4::', '::1.2.3', 'fe80::1%eth0', '1::2:3:4:5:6:7:8']) {
      expect(parseIPv6(bad).ok, bad).toBe(false);
    }
  });
});

describe('parseTargetSpec', () => {
  it('reads single addresses and CIDR blocks, masking the address to its network', () => {
    expect(parseTargetSpec('192.0.2.7')).toMatchObject({ kind: 'v4-range', start: 0xc0000207, count: 1 });
    expect(parseTargetSpec('198.18.0.0/15')).toMatchObject({ kind: 'v4-range', start: 0xc6120000, count: 131072 });
    expect(parseTargetSpec('192.0.2.7/24')).toMatchObject({ start: 0xc0000200, count: 256 });
    expect(parseTargetSpec('1.2.3.4/0')).toMatchObject({ start: 0, count: 2 ** 32 });
    expect(parseTargetSpec('1.2.3.4/32')).toMatchObject({ start: 0x01020304, count: 1 });
    expect(parseTargetSpec('2001:db8::1')).toMatchObject({ kind: 'v6-range', start: 0x20010db8n << 96n | 1n, count: 1n });
    expect(parseTargetSpec('2001:db8::ff/64')).toMatchObject({ start: 0x20010db8n << 96n, count: 1n << 64n });
    expect(parseTargetSpec('::/0')).toMatchObject({ start: 0n, count: 1n << 128n });
  });
  it('reads nmap octet ranges, folding contiguous ones into plain ranges', () => {
    expect(parseTargetSpec('192.0.2.1-20')).toMatchObject({ kind: 'v4-range', start: 0xc0000201, count: 20 });
    expect(parseTargetSpec('10.0.0-3.*')).toMatchObject({ kind: 'v4-range', start: 0x0a000000, count: 1024 });
    expect(parseTargetSpec('10.0.0.-')).toMatchObject({ kind: 'v4-range', count: 256 });
    expect(parseTargetSpec('10.0.0.250-')).toMatchObject({ kind: 'v4-range', start: 0x0a0000fa, count: 6 });
    expect(parseTargetSpec('10.0.0.-5')).toMatchObject({ kind: 'v4-range', start: 0x0a000000, count: 6 });
    const sparse = parseTargetSpec('10.0.0-3.1-254');
    expect(sparse).toMatchObject({ kind: 'v4-octets', count: 4 * 254 });
    expect(parseTargetSpec('10.0.*.1')).toMatchObject({ kind: 'v4-octets', count: 256 });
    const list = parseTargetSpec('10.0.0.1,3,5-7,3');
    expect(list.kind).toBe('v4-octets');
    if (list.kind === 'v4-octets') expect([...list.octets[3]]).toEqual([1, 3, 5, 6, 7]);
  });
  it('keeps hostnames for the resolver, with an optional prefix', () => {
    expect(parseTargetSpec('example.com')).toEqual({ kind: 'name', text: 'example.com', name: 'example.com' });
    expect(parseTargetSpec('localhost')).toMatchObject({ kind: 'name', name: 'localhost' });
    expect(parseTargetSpec('host.example/24')).toEqual({ kind: 'name', text: 'host.example/24', name: 'host.example', prefix: 24 });
    expect(parseTargetSpec('example.com.')).toMatchObject({ kind: 'name', name: 'example.com.' });
    expect(parseTargetSpec('_srv.ad.example')).toMatchObject({ kind: 'name' });
    expect(parseTargetSpec(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`)).toMatchObject({ kind: 'name' });
  });
  it('rejects bad input with E_TARGET and names the token', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.300', /octet 300 is above 255/],
      ['999.1.1.1', /octet 999 is above 255/],
      ['1.2.3.4/33', /prefix \/33 is above \/32/],
      ['2001:db8::/129', /prefix \/129 is above \/128/],
      ['1.2.3.4-2', /range 4-2 runs backwards; write 2-4/],
      ['1.2.3', /four dot-separated parts/],
      ['1.2.3.4.5', /four dot-separated parts/],
      ['010.0.0.1', /leading zero/],
      ['10.0.0.1-5/24', /cannot be combined/],
      ['10.0.0.1,,3', /empty item/],
      ['10..0.1', /empty octet/],
      ['1.2.3.4/', /missing prefix length/],
      ['/24', /nothing before/],
      ['/', /nothing before/],
      ['1.2.3.4/2/4', /more than one/],
      ['1.2.3.4/abc', /not a plain decimal/],
      ['-', /four dot-separated parts/],
      ['::::', /"::" may appear only once/],
      ['fe80::1%eth0', /zone ids/],
      ['exa mple.com', /whitespace/],
      ['bad!host', /character "!" is not allowed/],
      ['-host.example', /starts or ends with "-"/],
      ['a..b', /empty label/],
      ['example.123', /malformed IPv4/],
      [`${'a'.repeat(64)}.com`, /labels are at most 63/],
      [Array.from({ length: 64 }, () => 'abc').join('.'), /at most 253/],
      ['host/129', /above \/128/],
    ];
    for (const [token, why] of cases) {
      const error = errorOf(token);
      expect(error.code, token).toBe('E_TARGET');
      expect(error.token).toBe(token);
      expect(error.message, token).toMatch(why);
      expect(error.message, token).toContain(quoteToken(token));
    }
  });
  it('honours -4 / -6 for literals', () => {
    expect(errorOf('2001:db8::1', { family: 4 }).message).toMatch(/IPv6 address but IPv4/);
    expect(errorOf('192.0.2.1', { family: 6 }).message).toMatch(/IPv4 address but IPv6/);
    expect(errorOf('host/33', { family: 4 }).message).toMatch(/above \/32/);
    expect(parseTargetSpec('host/64', { family: 6 })).toMatchObject({ prefix: 64 });
  });
});

describe('hostile input', () => {
  it('rejects empty, whitespace, control characters, NUL and lookalike digits, escaping them', () => {
    expect(errorOf('').message).toMatch(/empty target/);
    expect(errorOf(' ').message).toMatch(/whitespace/);
    expect(errorOf('\t10.0.0.1').message).toMatch(/whitespace/);
    expect(errorOf('10.0.0.1\0').message).toContain('control character "\\x00"');
    expect(errorOf('10.0.0.1\x1b[2J').message).toContain('"\\x1b"');
    expect(errorOf('10.0.0.1\x1b[2J').message).not.toContain('\x1b');
    expect(errorOf('１0.0.0.1').message).toContain('non-ASCII character "\\u{ff11}"');
    expect(errorOf('10.0.0.٣').message).toContain('\\u{663}');
    expect(errorOf('exаmple.com').message).toContain('\\u{430}'); // Cyrillic a
    expect(errorOf('10.0.0.1\u202e').message).not.toContain('\u202e');
  });
  it('caps the token shown for 1 MB of garbage and stays fast', () => {
    const garbage = Array.from({ length: 1 << 20 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 94))).join('');
    const started = Date.now();
    const error = errorOf(garbage);
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toMatch(/\(1048576 characters\)/);
    expect(() => parseTargetList(garbage)).toThrow(UsageError);
    expect(Date.now() - started).toBeLessThan(5000);
  });
  it('reports every bad token of a list at once, capping the message', () => {
    let error: unknown;
    try {
      parseTargets(['10.0.0.1', '10.0.0.300', 'ok.example', '1.2.3.4/33', '', ...Array.from({ length: 500 }, (_, i) => `bad_${i}!`)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    const usage = error as UsageError;
    expect(usage.message).toMatch(/^503 bad targets: bad target "10\.0\.0\.300"/);
    expect(usage.message).toContain('"1.2.3.4/33"');
    expect(usage.message).toMatch(/and 498 more$/);
    expect(usage.problems.length).toBe(100);
    expect(usage.message).not.toContain('\n');
  });
  it('parses a very long list quickly', () => {
    const tokens = Array.from({ length: 200_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const started = Date.now();
    const specs = parseTargets(tokens);
    expect(specs.length).toBe(200_000);
    expect(countTargets(specs)).toBe(200_000n);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('target lists (-iL, --exclude)', () => {
  it('splits on whitespace, newlines and commas, drops comments, keeps octet comma lists', () => {
    const text = '# office\n10.0.0.1,3,5-7  host.example\r\n10.0.1,3.5\t2001:db8::1,192.0.2.1 # trailing\n\n10.0.0.1,10.0.0.2,,a.example';
    expect(splitTargetList(text)).toEqual(['10.0.0.1,3,5-7', 'host.example', '10.0.1,3.5', '2001:db8::1', '192.0.2.1', '10.0.0.1', '10.0.0.2', 'a.example']);
    expect(splitTargetList('')).toEqual([]);
    expect(splitTargetList('# only a comment')).toEqual([]);
  });
  it('parses a list file into specs', () => {
    const specs: TargetSpec[] = parseTargetList('192.0.2.0/30\nexample.com\n# x\n2001:db8::/126');
    expect(specs.map((s) => s.kind)).toEqual(['v4-range', 'name', 'v6-range']);
    expect(countTargets(specs)).toBe(4n + 1n + 4n);
  });
});

describe('countTargets', () => {
  it('counts without iterating, in bigint', () => {
    expect(countTargets(parseTargets(['127.0.0.0/8']))).toBe(16777216n);
    expect(countTargets(parseTargets(['0.0.0.0/0', '0.0.0.0/0']))).toBe(2n ** 33n);
    expect(countTargets(parseTargets(['::/0', '10.0.0-3.1-254', 'a.example']))).toBe(2n ** 128n + 1016n + 1n);
    expect(countTargets([])).toBe(0n);
  });
});
