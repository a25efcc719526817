import { describe, expect, it } from 'vitest';
import { mutants } from '../../test/helpers/fuzz.js';
import { assessExposure, classifyAddress, describeAddress, type AddressClass, type ExposureInput } from './exposure.js';

const CLASSES: [string, AddressClass][] = [
  ['93.184.216.34', 'public'],
  ['8.8.8.8', 'public'],
  ['172.32.0.1', 'public'],
  ['192.175.48.1', 'public'], // AS112 anycast is globally routed
  ['10.0.0.1', 'private'],
  ['172.16.5.4', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.10.20', 'link-local'],
  ['100.64.0.1', 'other-special'],
  ['100.127.255.254', 'other-special'],
  ['198.18.0.20', 'other-special'],
  ['198.19.255.1', 'other-special'],
  ['192.0.2.5', 'other-special'],
  ['198.51.100.7', 'other-special'],
  ['203.0.113.9', 'other-special'],
  ['224.0.0.251', 'other-special'],
  ['239.255.255.250', 'other-special'],
  ['0.0.0.0', 'other-special'],
  ['255.255.255.255', 'other-special'],
  ['240.0.0.1', 'other-special'],
  ['::1', 'loopback'],
  ['::', 'other-special'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['[fe80::1%eth0]', 'link-local'],
  ['fd12:3456:789a::1', 'private'],
  ['fc00::1', 'private'],
  ['fec0::1', 'private'],
  ['2001:db8::1', 'other-special'],
  ['3fff::1', 'other-special'],
  ['2001:2::20', 'other-special'],
  ['ff02::1', 'other-special'],
  ['4000::1', 'other-special'],
  ['2606:2800:220:1::1', 'public'],
  ['2001:4860:4860::8888', 'public'],
  ['[2606:2800:220:1::1]', 'public'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:8.8.8.8', 'public'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:169.254.0.1', 'link-local'],
  ['::ffff:100.64.0.1', 'other-special'],
  ['[::ffff:192.168.0.1]', 'private'],
  ['64:ff9b::808:808', 'public'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b:1::1', 'private'],
];

describe('classifyAddress', () => {
  it.each(CLASSES)('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it('names the range and writes the address canonically', () => {
    expect(describeAddress('100.64.3.4')).toEqual({ class: 'other-special', range: 'CGNAT 100.64.0.0/10', canonical: '100.64.3.4' });
    expect(describeAddress('198.18.0.1')?.range).toMatch(/benchmarking/);
    expect(describeAddress('203.0.113.1')?.range).toBe('documentation');
    expect(describeAddress('2001:DB8:0:0::1')?.canonical).toBe('2001:db8::1');
    expect(describeAddress('fe80::1%eth0')?.canonical).toBe('fe80::1');
  });

  it.each(['', 'example.com', '127.1', '0x7f.0.0.1', '010.0.0.1', '1.2.3.4.5', '999.1.1.1', ':::', '1.2.3.4/24', '::ffff:1.2.3.4.5', 'a'.repeat(1_000_000), '\u0000', '10.0.0.1\n', '[]', '[10.0.0.1'])(
    'rejects %j',
    (address) => {
      expect(classifyAddress(address)).toBeUndefined();
    },
  );

  it('survives wrong types and mutated input', () => {
    for (const bad of [undefined, null, 42, {}, [], Symbol.iterator] as unknown[]) expect(classifyAddress(bad as string)).toBeUndefined();
    const allowed = new Set<string | undefined>(['public', 'private', 'loopback', 'link-local', 'other-special', undefined]);
    for (const seed of ['192.168.1.1', 'fe80::1%eth0', '::ffff:8.8.8.8', '2001:db8::1']) {
      for (const m of mutants(Buffer.from(seed), 300, seed.length)) expect(allowed.has(classifyAddress(m.toString('latin1')))).toBe(true);
    }
  });
});

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

describe('assessExposure', () => {
  const cases: [string, ExposureInput, string, string][] = [
    ['public address', { address: '93.184.216.34' }, 'internet', 'address'],
    ['private address', { address: '10.0.0.5' }, 'internal', 'address'],
    ['link-local', { address: 'fe80::1' }, 'internal', 'address'],
    ['lab benchmarking range', { address: '198.18.0.20' }, 'internal', 'address'],
    ['loopback address', { address: '127.0.0.1' }, 'local', 'address'],
    ['loopback bind on a public host', { address: '93.184.216.34', listenerScope: 'loopback' }, 'local', 'bind'],
    ['loopback bind address without a scope', { address: '93.184.216.34', bindAddress: '127.0.0.1' }, 'local', 'bind'],
    ['bracketed v6 loopback bind', { address: '93.184.216.34', bindAddress: '[::1]' }, 'local', 'bind'],
    ['lo-bound wildcard', { address: '93.184.216.34', bindAddress: '0.0.0.0%lo' }, 'local', 'bind'],
    ['wildcard bind', { address: '10.0.0.5', bindAddress: '0.0.0.0', listenerScope: 'all' }, 'internal', 'address'],
    ['zone internet on a private address (port forward)', { address: '10.0.0.5', zone: 'internet' }, 'internet', 'zone'],
    ['zone internal on a public address (perimeter firewall)', { address: '93.184.216.34', zone: 'internal' }, 'internal', 'zone'],
    ['zone dmz', { address: '172.16.0.9', zone: 'dmz' }, 'dmz', 'zone'],
    ['no zone can widen a loopback bind', { address: '10.0.0.5', zone: 'internet', listenerScope: 'loopback' }, 'local', 'bind'],
    ['no zone can widen a loopback address', { address: '::1', zone: 'internet' }, 'local', 'address'],
    ['host name, no zone', { address: 'db.example.com' }, 'unknown', 'none'],
    ['host name with a zone', { address: 'db.example.com', zone: 'dmz' }, 'dmz', 'zone'],
    ['garbage zone and scope are ignored', { address: '10.0.0.5', zone: 'mars' as never, listenerScope: 'everywhere' as never }, 'internal', 'address'],
  ];
  it.each(cases)('%s', (_name, input, reach, basis) => {
    const e = assessExposure(input);
    expect(e.reach).toBe(reach);
    expect(e.basis).toBe(basis);
    expect(e.text.length).toBeGreaterThan(10);
  });

  it('says why in the text', () => {
    expect(assessExposure({ address: '93.184.216.34' }).text).toBe('public address 93.184.216.34: reachable from the internet unless a firewall says otherwise');
    expect(assessExposure({ address: '93.184.216.34', bindAddress: '127.0.0.1' }).text).toBe('bound to 127.0.0.1 only: only processes on this host can connect');
    expect(assessExposure({ address: '100.64.0.7' }).text).toContain('CGNAT');
  });

  it('never echoes control characters from the input', () => {
    const e = assessExposure({ address: 'fe80::1%\u001b[31m', bindAddress: '127.0.0.1%\u001b]0;x\u0007' });
    expect(e.text).not.toMatch(CONTROL);
    const f = assessExposure({ address: '\u001b[2J'.repeat(1000) });
    expect(f.reach).toBe('unknown');
    expect(f.text).not.toMatch(CONTROL);
  });
});
