import { describe, expect, it } from 'vitest';
import { importFails, listenerSummary, tableListenerPort } from '../../test/helpers/host-text.js';
import { importBytes } from '../../test/helpers/import.js';
import { fixture as anyFixture } from '../../test/helpers/import-checks.js';
import type { Observation } from '../core/model.js';
import { importer } from './netstat-windows.js';

const fixture = (name: string): Buffer => anyFixture(`netstat-windows/${name}`);
const summary = (o: Observation | undefined): string[] => listenerSummary(o, 'pid');

const MANY = [
  'tcp 0.0.0.0 135 all 1012',
  'tcp :: 135 all 1012',
  'tcp 192.0.2.23 139 specific 4',
  'tcp 0.0.0.0 445 all 4',
  'tcp :: 445 all 4',
  'tcp 0.0.0.0 3389 all 1284',
  'tcp :: 3389 all 1284',
  'tcp 0.0.0.0 5040 all 6444',
  'tcp 127.0.0.1 9229 loopback 8812',
  'tcp 0.0.0.0 49664 all 836',
  'tcp ::1 49669 loopback 3560',
  'udp 192.0.2.23 137 specific 4',
  'udp 0.0.0.0 500 all 4256',
  'udp :: 500 all 4256',
  'udp 127.0.0.1 1900 loopback 7720',
  'udp fe80::1c2d:3e4f:5a6b:7c8d%12 1900 specific 7720',
  'udp 0.0.0.0 3389 all 1284',
  'udp 0.0.0.0 5353 all 2140',
];
const HEAD = '\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n';

describe('Windows netstat importer on fixtures', () => {
  it('zero results', async () => {
    expect((await importBytes(importer, fixture('zero.txt'))).observations).toEqual([]);
  });

  it('one result', async () => {
    const r = await importBytes(importer, fixture('one.txt'));
    expect(r.meta.source).toBe('netstat');
    expect(r.observations).toHaveLength(1);
    expect(r.observations[0]).toMatchObject({ source: 'netstat', host: { address: '127.0.0.1', family: 4, statusReason: 'user-set' } });
    expect(r.observations[0]?.host.ports).toEqual([tableListenerPort('tcp', 135, 'msrpc', { bindAddress: '0.0.0.0', scope: 'all', pid: 1012 })]);
  });

  it('many results from -ano: listeners only, the host named by its own address', async () => {
    const o = (await importBytes(importer, fixture('many.txt'))).observations[0];
    expect(o?.host.address).toBe('192.0.2.23');
    expect(summary(o)).toEqual(MANY);
  });

  it('-an (no PID column) and PowerShell UTF-16LE give the same listeners', async () => {
    expect(summary((await importBytes(importer, fixture('many-an.txt'))).observations[0])).toEqual(MANY.map((l) => l.replace(/ \d+$/, ' -')));
    for (const chunk of [4096, 7, 1]) {
      expect(summary((await importBytes(importer, fixture('many-utf16.txt'), 'u16', chunk)).observations[0])).toEqual(MANY);
    }
  });

  it('-anob: process names from the [name.exe] lines', async () => {
    const o = (await importBytes(importer, fixture('many-anob.txt'))).observations[0];
    expect(o?.host.ports.map((p) => `${p.protocol} ${p.port} ${p.listener?.pid} ${p.listener?.process ?? '-'}`)).toEqual([
      'tcp 135 1012 svchost.exe',
      'tcp 445 4 -',
      'tcp 9229 8812 node.exe',
      'udp 500 4256 svchost.exe',
      'udp 5353 2140 svchost.exe',
    ]);
  });

  it('German Windows (translated states, CP850 text)', async () => {
    const o = (await importBytes(importer, fixture('localized-de.txt'))).observations[0];
    expect(summary(o)).toEqual(['tcp 0.0.0.0 135 all 1012', 'tcp 0.0.0.0 445 all 4', 'tcp :: 445 all 4', 'udp 0.0.0.0 500 all 4256']);
    expect(importer.sniff(fixture('localized-de.txt'))).toBe(8);
  });

  it('sniffs its fixtures and not Linux output', () => {
    for (const f of ['zero.txt', 'one.txt', 'many.txt', 'many-an.txt', 'many-anob.txt', 'many-utf16.txt']) expect(importer.sniff(fixture(f)), f).toBe(10);
    expect(importer.sniff(Buffer.from('  TCP    0.0.0.0:135   0.0.0.0:0   LISTENING   1234\r\n'))).toBe(8);
    expect(importer.sniff(fixture('../netstat/many.txt'))).toBe(0);
    expect(importer.sniff(fixture('../ss/many.txt'))).toBe(0);
    expect(importer.sniff(Buffer.alloc(0))).toBe(0);
  });
});

describe('Windows netstat importer details', () => {
  const run = async (rows: string) => (await importBytes(importer, HEAD + rows)).observations[0]?.host.ports ?? [];

  it('BOUND and other English non-listening states are not listeners even with an unset far end', async () => {
    const ports = await run('  TCP    0.0.0.0:50001   0.0.0.0:0   BOUND   77\r\n  TCP    0.0.0.0:80   0.0.0.0:0   LISTENING   4\r\n');
    expect(ports.map((p) => p.port)).toEqual([80]);
  });

  it('an unknown (translated) state counts as listening only with an unset far end', async () => {
    const ports = await run('  TCP    0.0.0.0:80   0.0.0.0:0   ÉCOUTE   4\r\n  TCP    192.0.2.1:5000   198.51.100.1:443   ÉTABLIE   5\r\n');
    expect(ports.map((p) => p.port)).toEqual([80]);
  });

  it('pid 0 is no pid', async () => {
    const ports = await run('  UDP    0.0.0.0:123   *:*      0\r\n');
    expect(ports[0]?.listener).toEqual({ bindAddress: '0.0.0.0', scope: 'all' });
  });
});

describe('Windows netstat importer on bad input', () => {
  const fails = importFails(importer);

  it('0-byte file', async () => {
    await fails('', /bad\.txt": not Windows netstat output/);
  });

  it('names instead of numbers (netstat -a without -n): says to use -n', async () => {
    await fails(`${HEAD}  TCP    DESKTOP-1:epmap   DESKTOP-1:0   LISTENING   1012\r\n`, /line 5: local port "epmap" .*-n/);
  });

  it('a TCP row of the wrong shape', async () => {
    await fails(`${HEAD}  TCP    0.0.0.0:135   0.0.0.0:0   1012\r\n`, /line 5: not a netstat -ano row/);
    await fails(`${HEAD}  UDP    0.0.0.0:135   *:*   a b c\r\n`, /line 5: not a netstat -ano row/);
    await fails(`${HEAD}  TCP    0.0.0.0:135   0.0.0.0:0   LISTENING   12x\r\n`, /line 5: not a netstat -ano row/);
  });

  it('a file of another format, binary garbage, a 10 MB line', async () => {
    await fails(fixture('../netstat/many.txt'), /line 4: not Windows netstat output/);
    await fails(Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x42, 0x00, 0x0a, 0x00, 0x43, 0x00, 0x0a, 0x00]), /not Windows netstat output/);
    await fails(`${HEAD}  TCP    0.0.0.0:135   0.0.0.0:0   LISTENING   ${'1'.repeat(10 * 1024 * 1024)}\r\n`, /line 5: line longer than 1 MiB/);
  });

  it('too many annotation lines after a row', async () => {
    await fails(`${HEAD}  TCP    0.0.0.0:135   0.0.0.0:0   LISTENING   1\r\n a\r\n b\r\n c\r\n d\r\n`, /line 9: not Windows netstat output/);
  });

  it('a truncated file fails at the cut row or reads whole rows', async () => {
    const text = fixture('many.txt').toString();
    const cut = text.indexOf('LISTENING       6444');
    await fails(text.slice(0, cut), new RegExp(`line ${text.slice(0, cut).split('\n').length}: not a netstat -ano row`));
    expect((await importBytes(importer, text.slice(0, cut + 14))).observations[0]?.host.ports.length).toBe(4);
  });
});
