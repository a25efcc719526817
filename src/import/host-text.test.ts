import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImportError } from './errors.js';
import { HostListeners, MAX_LISTENERS, parsePid, splitEndpoint } from './host-text.js';
import { sniffFormat } from './sniff.js';
import type { ImportContext } from './types.js';

const ctx = (warnings: string[] = []): ImportContext => ({ file: 'f.txt', warn: (m) => warnings.push(m) });

describe('splitEndpoint and parsePid', () => {
  it.each([
    ['127.0.0.1:22', '127.0.0.1', '22'],
    ['[::1]:22', '[::1]', '22'],
    [':::22', '::', '22'],
    ['::1:631', '::1', '631'],
    ['*:*', '*', '*'],
    ['127.0.0.53%lo:53', '127.0.0.53%lo', '53'],
  ])('%s', (text, address, port) => {
    expect(splitEndpoint(text)).toEqual({ address, port });
  });
  it.each(['22', ':22', '1.2.3.4:', ''])('rejects %j', (text) => {
    expect(splitEndpoint(text)).toBeUndefined();
  });
  it('reads pids', () => {
    expect([parsePid('1'), parsePid('4294967295'), parsePid('0'), parsePid('-'), parsePid('4294967296'), parsePid('1e3'), parsePid(undefined)]).toEqual([
      1,
      4294967295,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('HostListeners', () => {
  it('names the host by its first IPv4 address, else IPv6, else 127.0.0.1', () => {
    const a = new HostListeners(ctx(), 'netstat');
    a.seenText('2001:db8::1');
    a.seenText('fe80::1');
    a.add(1, 'tcp', 22, '0.0.0.0', {});
    expect(a.observation(7)?.host).toMatchObject({ address: '2001:db8::1', family: 6, startedAt: 7, endedAt: 7 });
    a.seenText('198.51.100.3');
    a.seenText('198.51.100.4');
    expect(a.observation()?.host.address).toBe('198.51.100.3');
    const b = new HostListeners(ctx(), 'netstat');
    b.seenText('not an address');
    b.add(1, 'udp', 53, '127.0.0.1', {});
    expect(b.observation()?.host.address).toBe('127.0.0.1');
    expect(new HostListeners(ctx(), 'netstat').observation()).toBeUndefined();
  });

  it('folds identical sockets into the owner with the lowest pid', () => {
    const h = new HostListeners(ctx(), 'netstat');
    h.add(1, 'tcp', 80, '0.0.0.0', {});
    h.add(2, 'tcp', 80, '0.0.0.0', { pid: 9, process: 'worker', user: 'www' });
    h.add(3, 'tcp', 80, '0.0.0.0', { pid: 3 });
    h.add(4, 'tcp', 80, '0.0.0.0', { pid: 5, process: 'other' });
    h.add(5, 'tcp', 80, '::', { user: 'bad user name' });
    h.add(6, 'tcp', 81, '::', {});
    h.add(7, 'tcp', 81, '::', { process: 'p', user: 'u' });
    expect(h.size).toBe(3);
    expect(h.observation()?.host.ports.map((p) => p.listener)).toEqual([
      { bindAddress: '0.0.0.0', scope: 'all', pid: 3 },
      { bindAddress: '::', scope: 'all' },
      { bindAddress: '::', scope: 'all', process: 'p', user: 'u' },
    ]);
  });

  it('takes a row: listeners checked strictly, other rows only name the host', () => {
    const warnings: string[] = [];
    const h = new HostListeners(ctx(warnings), 'netstat');
    h.row(1, undefined, 'garbage', {}, 'hint');
    h.row(2, undefined, '198.51.100.7:40000', {}, 'hint');
    h.row(3, 'tcp', '[::]:22', { pid: 4 }, 'hint');
    h.row(4, 'udp', '2001:db8:aaaa:bbbb:c:53', {}, 'hint', true);
    expect(h.observation()?.host.address).toBe('198.51.100.7');
    expect(h.observation()?.host.ports.map((p) => [p.protocol, p.port, p.listener?.bindAddress, p.listener?.pid])).toEqual([
      ['tcp', 22, '::', 4],
      ['udp', 53, '2001:db8:aaaa:bbbb:c', undefined],
    ]);
    expect(warnings).toHaveLength(1);
    expect(() => h.row(5, 'tcp', 'garbage', {}, 'hint')).toThrow(/line 5: local endpoint is not address:port/);
    expect(() => h.row(6, 'tcp', '0.0.0.0:ssh', {}, 'use -n')).toThrow(/line 6: local port "ssh" .*\(use -n\)/);
    expect(() => h.row(7, 'udp', 'evil\u001b:53', {}, 'hint')).toThrow(/line 7: local address "evil\\x1b" is not an IP address/);
    expect(() => h.row(8, 'tcp', '2001:db8:aaaa:bbbb:c:80', {}, 'hint')).toThrow(ImportError);
  });

  it(`refuses more than ${MAX_LISTENERS} listening sockets`, () => {
    const h = new HostListeners(ctx(), 'netstat');
    let n = 0;
    const add = (): void => {
      const i = n++;
      h.add(i + 1, i % 2 ? 'udp' : 'tcp', 1 + (i >> 1) % 65535, `10.0.${(i >> 17) & 255}.1`, {});
    };
    while (n < MAX_LISTENERS) add();
    expect(h.size).toBe(MAX_LISTENERS);
    expect(add).toThrow(ImportError);
    expect(add).toThrow(/line 100002: more than 100000 listening sockets/);
  });
});

describe('sniffing among every importer', () => {
  const dirs = { ss: 'ss', netstat: 'netstat', 'netstat-windows': 'netstat-windows' } as const;
  it.each(Object.entries(dirs))('every non-empty %s fixture is sniffed as %s', (id, dir) => {
    const files = readdirSync(new URL(`../../test/fixtures/${dir}/`, import.meta.url)).filter((f) => f.endsWith('.txt'));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const head = readFileSync(new URL(`../../test/fixtures/${dir}/${f}`, import.meta.url)).subarray(0, 64 * 1024);
      if (head.length === 0) continue; // `ss -H` with nothing listening: only --format ss gives it a meaning
      expect(sniffFormat(head)?.importer.id, f).toBe(id);
    }
  });
});
