import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Observation, PortResult } from '../core/model.js';
import { importBytes } from '../../test/helpers/import.js';
import { importer as ss } from '../import/ss.js';
import { auditLocal, hostAddressOf, portsFromSockets } from './local.js';
import { TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, type ProcSocket } from './proc-net.js';
import { parsePasswd } from './processes.js';

describe('portsFromSockets', () => {
  const sock = (over: Partial<ProcSocket>): ProcSocket => ({
    protocol: 'tcp',
    family: 4,
    address: '0.0.0.0',
    port: 80,
    remoteAddress: '0.0.0.0',
    remotePort: 0,
    state: TCP_LISTEN,
    uid: 0,
    inode: 1,
    ...over,
  });
  const users = new Map([
    [0, 'root'],
    [33, 'www-data'],
  ]);

  it('keeps one port per protocol, port and bind address; folds identical sockets to the lowest pid', () => {
    const ports = portsFromSockets(
      [
        sock({ inode: 1 }),
        sock({ inode: 2 }), // SO_REUSEPORT twin
        sock({ inode: 3, family: 6, address: '::' }),
        sock({ inode: 4, address: '127.0.0.1' }),
        sock({ inode: 5, protocol: 'udp', state: TCP_CLOSE, port: 53, address: '127.0.0.53', uid: 33 }),
        sock({ inode: 6, protocol: 'udp', state: TCP_ESTABLISHED, port: 40000 }),
        sock({ inode: 7, state: TCP_ESTABLISHED, port: 40001 }),
      ],
      new Map([
        [1, { pid: 900, process: 'nginx', uid: 33, user: 'www-data' }],
        [2, { pid: 800, process: 'nginx', uid: 0, user: 'root' }],
        [4, { pid: 10, process: 'bad\u001bname' }],
      ]),
      users,
    );
    expect(ports.map((p) => [p.protocol, p.port, p.listener])).toEqual([
      ['tcp', 80, { bindAddress: '127.0.0.1', scope: 'loopback', pid: 10, process: 'bad\\x1bname', user: 'root' }],
      ['tcp', 80, { bindAddress: '0.0.0.0', scope: 'all', pid: 800, process: 'nginx', user: 'root' }],
      ['tcp', 80, { bindAddress: '::', scope: 'all', user: 'root' }],
      ['udp', 53, { bindAddress: '127.0.0.53', scope: 'loopback', user: 'www-data' }],
    ]);
    expect(ports[1]).toMatchObject({ state: 'open', reason: 'syn-ack', tries: 0, service: { name: 'http', method: 'table', confidence: 3 } });
  });
});

describe('hostAddressOf', () => {
  const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false): os.NetworkInterfaceInfo =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' && { scopeid: 0 }) }) as os.NetworkInterfaceInfo;

  it('prefers the first non-loopback IPv4, then IPv6, then 127.0.0.1', () => {
    expect(hostAddressOf({ lo: [nic('127.0.0.1', 'IPv4', true)], eth0: [nic('fe80::1', 'IPv6'), nic('2001:db8::5', 'IPv6'), nic('192.0.2.5', 'IPv4')] })).toEqual({
      address: '192.0.2.5',
      family: 4,
    });
    expect(hostAddressOf({ eth0: [nic('fe80::1', 'IPv6'), nic('2001:db8::5', 'IPv6')] })).toEqual({ address: '2001:db8::5', family: 6 });
    expect(hostAddressOf({ lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)] })).toEqual({ address: '127.0.0.1', family: 4 });
  });
});

/** `proto address port` for comparing with ss: ss writes a dual-stack wildcard as `*` and adds `%dev`. */
const keyOf = (p: PortResult): string => `${p.protocol} ${(p.listener?.bindAddress ?? '').replace(/%.*$/, '').replace(/^\*$/, '::')} ${p.port}`;

describe('auditLocal on this machine', () => {
  const tcpLoopback = net.createServer();
  const tcpAll = net.createServer();
  const tcp6Only = net.createServer();
  const udpAll = dgram.createSocket('udp4');
  const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;
  let me: { comm: string; user: string | undefined };

  beforeAll(async () => {
    await new Promise<void>((resolve) => tcpLoopback.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => tcpAll.listen(0, '0.0.0.0', resolve));
    await new Promise<void>((resolve) => tcp6Only.listen({ port: 0, host: '::1', ipv6Only: true }, resolve));
    await new Promise<void>((resolve) => udpAll.bind(0, '0.0.0.0', resolve));
    // vitest renames its workers (`node (vitest 1)`); the kernel's comm is what a listener shows.
    me = { comm: readFileSync('/proc/self/comm', 'utf8').trim(), user: parsePasswd(readFileSync('/etc/passwd', 'utf8')).get(process.getuid?.() ?? -1) };
  });

  afterAll(async () => {
    await new Promise((resolve) => tcpLoopback.close(resolve));
    await new Promise((resolve) => tcpAll.close(resolve));
    await new Promise((resolve) => tcp6Only.close(resolve));
    await new Promise<void>((resolve) => udpAll.close(() => resolve()));
  });

  const find = (obs: Observation, protocol: string, port: number): PortResult[] => obs.host.ports.filter((p) => p.protocol === protocol && p.port === port);

  it('reports our own sockets with scope, pid, process and user', async () => {
    const obs = await auditLocal();
    expect(obs.source).toBe('local');
    expect(obs.host).toMatchObject({ status: 'up', statusReason: 'localhost-response', hostnames: [{ name: os.hostname(), type: 'user' }] });
    expect(obs.host.address).toBe(hostAddressOf(os.networkInterfaces()).address);
    const owner = { pid: process.pid, process: me.comm, ...(me.user !== undefined && { user: me.user }) };
    expect(me.comm.startsWith('node')).toBe(true);
    expect(find(obs, 'tcp', portOf(tcpLoopback))).toEqual([
      expect.objectContaining({ state: 'open', reason: 'syn-ack', tries: 0, listener: { bindAddress: '127.0.0.1', scope: 'loopback', ...owner } }),
    ]);
    expect(find(obs, 'tcp', portOf(tcpAll)).map((p) => p.listener)).toEqual([{ bindAddress: '0.0.0.0', scope: 'all', ...owner }]);
    expect(find(obs, 'tcp', portOf(tcp6Only)).map((p) => p.listener)).toEqual([{ bindAddress: '::1', scope: 'loopback', ...owner }]);
    expect(find(obs, 'udp', udpAll.address().port).map((p) => p.listener)).toEqual([{ bindAddress: '0.0.0.0', scope: 'all', ...owner }]);
    if (process.getuid?.() === 0) expect(me.user).toBe('root');
    // Ports ascending (tcp before udp), as the model wants.
    const order = obs.host.ports.map((p) => (p.protocol === 'tcp' ? 0 : 100_000) + p.port);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('lists exactly what ss lists, with the same owning pids', async () => {
    const ssPath = spawnSync('sh', ['-c', 'command -v ss']).stdout.toString().trim();
    if (ssPath === '') return; // no iproute2 here: nothing to compare with
    // Other processes may open or close sockets between the two reads; a few attempts settle it.
    let last = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const obs = await auditLocal();
      const out = spawnSync(ssPath, ['-tulnpH'], { encoding: 'buffer' });
      const fromSs = (await importBytes(ss, out.stdout)).observations[0]?.host.ports ?? [];
      const ours = new Map(obs.host.ports.map((p) => [keyOf(p), p.listener?.pid]));
      const theirs = new Map(fromSs.map((p) => [keyOf(p), p.listener?.pid]));
      const a = JSON.stringify([...ours].sort());
      const b = JSON.stringify([...theirs].sort());
      if (a === b) {
        expect(ours.size).toBeGreaterThanOrEqual(4);
        return;
      }
      last = `ours ${a}\nss   ${b}`;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect.fail(`audit and ss disagree:\n${last}`);
  });

  it('reads a fake /proc without failing and ignores what is not there', async () => {
    const obs = await auditLocal({ procRoot: '/nonexistent', hostname: 'h', interfaces: {}, now: () => 5 });
    expect(obs.host).toEqual({ address: '127.0.0.1', family: 4, hostnames: [{ name: 'h', type: 'user' }], status: 'up', statusReason: 'localhost-response', ports: [], startedAt: 5, endedAt: 5 });
  });
});
