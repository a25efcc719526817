import { describe, expect, it } from 'vitest';
import { importFails, listenerSummary as summary, SOCKETS_PY_MANY_SS as MANY, tableListenerPort } from '../../test/helpers/host-text.js';
import { importBytes } from '../../test/helpers/import.js';
import { fixture as anyFixture } from '../../test/helpers/import-checks.js';
import { importer, parseUsers } from './ss.js';

const fixture = (name: string): Buffer => anyFixture(`ss/${name}`);
/** The pid ss printed for a process name in a fixture (fixtures are regenerated with new pids). */
const pidIn = (name: string, process: string): number => Number(new RegExp(`"${process}",pid=(\\d+)`).exec(fixture(name).toString())?.[1]);

describe('ss importer on real ss output', () => {
  it('zero results: header only, and a 0-byte -H file', async () => {
    for (const f of ['zero.txt', 'zero-noheader.txt']) {
      const r = await importBytes(importer, fixture(f), f);
      expect(r.observations).toEqual([]);
      expect(r.meta.source).toBe('netstat');
    }
  });

  it('one result from ss -tlnp (no Netid column)', async () => {
    const r = await importBytes(importer, fixture('one.txt'));
    expect(r.observations).toHaveLength(1);
    const o = r.observations[0]!;
    expect(o.source).toBe('netstat');
    expect(o.host).toMatchObject({ address: '127.0.0.1', family: 4, hostnames: [], status: 'up', statusReason: 'user-set' });
    expect(o.host.ports).toEqual([
      tableListenerPort('tcp', 6379, 'redis', { bindAddress: '127.0.0.1', scope: 'loopback', pid: pidIn('one.txt', 'python3'), process: 'python3' }),
    ]);
  });

  it('one result from ss -tlnH (no header, no process)', async () => {
    const r = await importBytes(importer, fixture('one-noheader.txt'));
    expect(r.observations[0]?.host.ports.map((p) => p.listener)).toEqual([{ bindAddress: '127.0.0.1', scope: 'loopback' }]);
  });

  it('many results from ss -tulnp: every socket, scope, and the lowest pid of a shared socket', async () => {
    const r = await importBytes(importer, fixture('many.txt'));
    expect(r.observations).toHaveLength(1);
    const o = r.observations[0]!;
    // The specific address 192.0.2.10 names the host; loopback and wildcards cannot.
    expect(o.host.address).toBe('192.0.2.10');
    expect(summary(o)).toEqual(MANY);
    const pid = pidIn('many.txt', 'python3');
    expect(pid).toBeLessThan(pidIn('many.txt', 'web worker'));
    expect(o.host.ports.every((p) => p.listener?.pid === pid)).toBe(true);
    expect(o.host.ports.find((p) => p.port === 22)?.service?.name).toBe('ssh');
  });

  it('reads -H, -a (connected rows skipped), -e extras and -ulnp to the same listeners', async () => {
    const many = summary((await importBytes(importer, fixture('many.txt'))).observations[0]);
    for (const f of ['many-noheader.txt', 'many-all.txt', 'many-extended.txt']) {
      expect(summary((await importBytes(importer, fixture(f), f, 5)).observations[0])).toEqual(many);
    }
    expect(summary((await importBytes(importer, fixture('udp.txt'))).observations[0])).toEqual(MANY.filter((l) => l.startsWith('udp')));
  });

});

describe('ss importer details', () => {
  const run = async (text: string) => (await importBytes(importer, text)).observations[0]?.host.ports ?? [];

  it('reads process names with spaces, quotes and commas, and old-style users', () => {
    expect(parseUsers('users:(("web worker",pid=7,fd=3))')).toEqual({ pid: 7, process: 'web worker' });
    expect(parseUsers('users:(("a,b\\"c",pid=9,fd=3),("x",pid=8,fd=1))')).toEqual({ pid: 8, process: 'x' });
    expect(parseUsers('users:(("sshd",1234,3))')).toEqual({ pid: 1234, process: 'sshd' });
    expect(parseUsers('users:(("p",pid=0,fd=1))')).toEqual({});
    expect(parseUsers('ino:5 sk:1')).toEqual({});
  });

  it('escapes control characters in process names', async () => {
    const ports = await run('tcp LISTEN 0 5 0.0.0.0:80 0.0.0.0:* users:(("\u001b[2Jx",pid=5,fd=3))\n');
    expect(ports[0]?.listener?.process).toBe('\\x1b[2Jx');
  });

  it('keeps a port bound on several addresses as several listeners and folds exact twins', async () => {
    const ports = await run(
      [
        'tcp LISTEN 0 5 0.0.0.0:80 0.0.0.0:* users:(("b",pid=9,fd=3))',
        'tcp LISTEN 0 5 0.0.0.0:80 0.0.0.0:* users:(("a",pid=3,fd=3))',
        'tcp LISTEN 0 5 0.0.0.0:80 0.0.0.0:*',
        'tcp LISTEN 0 5 [::]:80 [::]:*',
        'tcp LISTEN 0 5 10.1.2.3:80 0.0.0.0:*',
      ].join('\n'),
    );
    expect(ports.map((p) => [p.listener?.bindAddress, p.listener?.pid, p.listener?.process])).toEqual([
      ['10.1.2.3', undefined, undefined],
      ['0.0.0.0', 3, 'a'],
      ['::', undefined, undefined],
    ]);
  });

  it('reads old ss without brackets (:::22) and with v6 device suffixes', async () => {
    const ports = await run('tcp LISTEN 0 128 :::22 :::*\nudp UNCONN 0 0 [fe80::1]%eth0:546 [::]:*\n');
    expect(ports.map((p) => `${p.listener?.bindAddress} ${p.listener?.scope}`)).toEqual([':: all', 'fe80::1%eth0 specific']);
  });

  it('skips other socket kinds and continuation lines', async () => {
    const ports = await run(
      [
        'Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process',
        'u_str LISTEN 0 4096 /run/systemd/private 12345 * 0 users:(("systemd",pid=1,fd=20))',
        'tcp LISTEN 0 5 0.0.0.0:22 0.0.0.0:*',
        '\t cubic wscale:7,7 rto:204',
        'raw UNCONN 0 0 *:58 *:*',
      ].join('\n'),
    );
    expect(ports.map((p) => p.port)).toEqual([22]);
  });

  it('names the host from a connected row when no listener does', async () => {
    const r = await importBytes(importer, 'tcp ESTAB 0 0 198.51.100.4:22 203.0.113.9:50000\ntcp LISTEN 0 5 0.0.0.0:22 0.0.0.0:*\n');
    expect(r.observations[0]?.host.address).toBe('198.51.100.4');
  });
});

describe('ss importer on bad input', () => {
  const fails = importFails(importer);

  it('service names instead of numbers: says to use -n', async () => {
    await fails('Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\ntcp LISTEN 0 128 0.0.0.0:ssh 0.0.0.0:*\n', /bad\.txt" line 2: local port "ssh" .*-n/);
  });

  it('a host name as the local address', async () => {
    await fails('tcp LISTEN 0 128 localhost:22 0.0.0.0:*\n', /line 1: local address "localhost" is not an IP address/);
  });

  it('port 0 and ports past 65535', async () => {
    await fails('tcp LISTEN 0 1 0.0.0.0:0 0.0.0.0:*\n', /local port "0"/);
    await fails('tcp LISTEN 0 1 0.0.0.0:65536 0.0.0.0:*\n', /local port "65536"/);
  });

  it('a file of another format', async () => {
    await fails('# Nmap 7.93 scan initiated\nHost: 127.0.0.1 ()\tStatus: Up\n', /line 1: not ss output/);
    await fails('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<nmaprun/>\n', /line 1: not ss output/);
  });

  it('binary garbage', async () => {
    await fails(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x80, 0x81]), /line 1: not ss output/);
  });

  it('a truncated file fails at the cut row, or reads whole rows', async () => {
    const text = fixture('many.txt').toString();
    const cut = text.indexOf('0.0.0.0:9000');
    const line = text.slice(0, cut).split('\n').length;
    await fails(text.slice(0, cut + 4), new RegExp(`line ${line}: not ss output`));
    const whole = await importBytes(importer, text.slice(0, text.indexOf('\n', cut) + 1));
    expect(whole.observations[0]?.host.ports.length).toBeGreaterThan(0);
  });

  it('a 10 MB line', async () => {
    await fails(`tcp LISTEN 0 5 0.0.0.0:22 0.0.0.0:* ${'x'.repeat(10 * 1024 * 1024)}\n`, /line 1: line longer than 1 MiB/);
  });

  it('an endless process column costs bounded time', async () => {
    const started = Date.now();
    const ports = (await importBytes(importer, `tcp LISTEN 0 5 0.0.0.0:22 0.0.0.0:* users:(${'("'.repeat(400_000)}\n`)).observations[0]?.host.ports;
    expect(ports?.[0]?.listener?.pid).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('is not sniffed from other text', () => {
    expect(importer.sniff(Buffer.from(''))).toBe(0);
    expect(importer.sniff(Buffer.from('tcp        0      0 127.0.0.1:3306          0.0.0.0:*               LISTEN\n'))).toBe(0);
    expect(importer.sniff(Buffer.from('  TCP    0.0.0.0:135   0.0.0.0:0   LISTENING   1234\n'))).toBe(0);
    expect(importer.sniff(Buffer.from('Host: 127.0.0.1 ()\tPorts: 22/open/tcp//ssh///\n'))).toBe(0);
  });
});
