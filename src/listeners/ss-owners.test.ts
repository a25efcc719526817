import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../test/helpers/fuzz.js';
import { mainOwner, parseSsOwners, splitAddressPort } from './ss-owners.js';

// Shapes as iproute2 6.1 prints them with -tulnpe (header kept, as we run it without -H).
const SS = [
  'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess',
  'udp   UNCONN 0      0      127.0.0.53%lo:53         0.0.0.0:*    users:(("systemd-resolve",pid=512,fd=13)) uid:990 ino:20321 sk:1 cgroup:/system.slice <->',
  'tcp   LISTEN 0      128          0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=812,fd=3)) ino:21990 sk:2 cgroup:/system.slice/ssh.service <->',
  'tcp   LISTEN 0      511        198.18.0.20:80       0.0.0.0:*    users:(("nginx",pid=901,fd=6),("nginx",pid=900,fd=6)) ino:23001 sk:3 <->',
  'tcp   LISTEN 0      128             [::]:22            [::]:*    users:(("sshd",pid=812,fd=4)) ino:21992 sk:4 v6only:1 <->',
  'tcp   LISTEN 0      4096               *:9100             *:*    users:(("node_exporter",pid=77,fd=3)) uid:65534 ino:30000 sk:5 v6only:0 <->',
  'udp   UNCONN 0      0      [fe80::1%eth0]:123          [::]:*    ino:40000 sk:6 v6only:1 <->',
].join('\n');

describe('ss owner parser', () => {
  it('reads protocol, address, port, inode and owners', () => {
    const s = parseSsOwners(SS);
    expect(s).toHaveLength(6);
    expect(s[0]).toEqual({ protocol: 'udp', address: '127.0.0.53', port: 53, inode: 20321, owners: [{ process: 'systemd-resolve', pid: 512 }] });
    expect(s[1]).toMatchObject({ protocol: 'tcp', address: '0.0.0.0', port: 22, inode: 21990 });
    expect(s[2]?.owners).toEqual([{ process: 'nginx', pid: 901 }, { process: 'nginx', pid: 900 }]);
    expect(s[2] && mainOwner(s[2])).toEqual({ process: 'nginx', pid: 900 });
    expect(s[3]).toMatchObject({ address: '::', port: 22 });
    expect(s[4]).toMatchObject({ address: '*', port: 9100, inode: 30000 });
    expect(s[5]).toEqual({ protocol: 'udp', address: 'fe80::1', port: 123, inode: 40000, owners: [] });
    expect(s[5] && mainOwner(s[5])).toBeUndefined();
  });

  it('splits address and port forms', () => {
    expect(splitAddressPort('[::ffff:127.0.0.1]:80')).toEqual({ address: '::ffff:127.0.0.1', port: 80 });
    expect(splitAddressPort('0.0.0.0:*')).toBeNull();
    expect(splitAddressPort(':80')).toBeNull();
    expect(splitAddressPort('host.example:80')).toBeNull();
    expect(splitAddressPort('1.2.3.4:70000')).toBeNull();
  });

  it('parses this machine’s own ss output', () => {
    let out: string;
    try {
      out = execFileSync('ss', ['-tulnpe'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    } catch {
      return; // no ss here
    }
    const sockets = parseSsOwners(out);
    const lines = out.split('\n').filter((l) => /^(tcp|udp)\s/.test(l));
    expect(sockets).toHaveLength(lines.length);
    expect(sockets.every((s) => s.inode !== undefined)).toBe(true);
  });

  it('skips hostile lines and never throws on garbage or 10 000 mutants', () => {
    const hostile = [
      'tcp LISTEN 0 1 0.0.0.0:22 0.0.0.0:* users:(("a\\"b",pid=99999999999,fd=1)) ino:99999999999999999999999',
      `tcp LISTEN 0 1 0.0.0.0:23 0.0.0.0:* ${'users:(("x",pid=1,fd=1)),'.repeat(200)}`,
      `tcp LISTEN 0 1 ${'1'.repeat(100)}:24 0.0.0.0:*`,
      'x'.repeat(10_000_000),
      'sctp LISTEN 0 1 0.0.0.0:25 0.0.0.0:*',
    ].join('\n');
    const s = parseSsOwners(hostile);
    expect(s.map((x) => x.port)).toEqual([22, 23]);
    expect(s[0]?.owners).toEqual([]);
    expect(s[0]?.inode).toBeUndefined();
    expect(s[1]?.owners.length).toBe(64);
    expect(() => parseSsOwners(randomBytes(1 << 20).toString('latin1'))).not.toThrow();
    for (const m of mutants(Buffer.from(SS), 10_000, 3)) {
      for (const x of parseSsOwners(m.toString('latin1'))) {
        expect(x.port).toBeGreaterThan(0);
        expect(x.port).toBeLessThan(65536);
      }
    }
  });
});
