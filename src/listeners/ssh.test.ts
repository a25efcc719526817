/**
 * auditRemote against an in-process SSH server on 127.0.0.1 (test/helpers/fake-ssh.ts): host key
 * policy, authentication errors, output caps, deadlines and the Observation built from canned
 * /proc/net, ss, passwd and package output. The real OpenSSH server is in test/listeners-ssh.test.ts.
 */
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { keyPair, publicBlob, startFakeSsh, type CannedAnswer, type FakeSsh } from '../../test/helpers/fake-ssh.js';
import { fingerprint, formatKnownHostsLine } from './known-hosts.js';
import { DPKG_QUERY_COMMAND, RPM_QUERY_COMMAND } from './packages.js';
import { SS_COMMAND } from './ss-owners.js';
import { auditRemote, osReleaseName, type RemoteAuditOptions } from './ssh.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (i: number, local: string, remote: string, st: string, uid: number, inode: number): string =>
  `  ${i}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;
const Z4 = '00000000:0000';
const Z6 = '00000000000000000000000000000000:0000';

const TCP = HEADER + row(0, '00000000:0016', Z4, '0A', 0, 1001) + row(1, '0100007F:0277', Z4, '0A', 0, 1002) + row(2, '0200A8C0:0016', '0100A8C0:D431', '01', 0, 1003);
const TCP6 = HEADER + row(0, '00000000000000000000000000000000:0016', Z6, '0A', 0, 1004);
const UDP = HEADER + row(0, '1400A8C0:0035', Z4, '07', 1001, 1005);
const SS = [
  'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
  'tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=500,fd=3)) ino:1001 sk:1 <->',
  'tcp   LISTEN 0      128             [::]:22           [::]:*    users:(("sshd",pid=500,fd=4)) ino:1004 sk:2 v6only:1 <->',
  'udp   UNCONN 0      0       192.168.0.20:53        0.0.0.0:*    users:(("named",pid=700,fd=9),("named",pid=650,fd=9)) uid:1001 ino:1005 sk:3 <->',
].join('\n');
const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nbind:x:1001:1001::/var/cache/bind:/usr/sbin/nologin\n';
const DPKG = 'openssh-server\t1:9.2p1-2+deb12u10\tamd64\tii \nrc-only\t1.0\tamd64\trc \n';

const ANSWERS: Record<string, CannedAnswer> = {
  'uname -m': { stdout: 'x86_64\n' },
  'cat /proc/net/tcp': { stdout: TCP },
  'cat /proc/net/tcp6': { stdout: TCP6 },
  'cat /proc/net/udp': { stdout: UDP },
  'cat /proc/net/udp6': { stdout: '', code: 1 },
  [SS_COMMAND]: { stdout: SS },
  'cat /etc/passwd': { stdout: PASSWD },
  [DPKG_QUERY_COMMAND]: { stdout: DPKG },
  'cat /etc/os-release': { stdout: 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' },
};

const dir = mkdtempSync(join(tmpdir(), 'portolan-ssh-'));
const hostKey = keyPair();
const otherHostKey = keyPair();
const clientKey = keyPair();
const wrongKey = keyPair();
const lockedKey = keyPair('secret');
const keyFile = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};
const ID = keyFile('id', clientKey.private);
const WRONG = keyFile('wrong', wrongKey.private);
const LOCKED = keyFile('locked', lockedKey.private);
const HOST_BLOB = publicBlob(hostKey.public);

let server: FakeSsh | undefined;
let khCount = 0;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(answers: Record<string, CannedAnswer | ((c: string) => CannedAnswer)> = ANSWERS, maxSessions?: number): Promise<FakeSsh> {
  server = await startFakeSsh({ hostKey: hostKey.private, clientPublicKey: clientKey.public, answers, ...(maxSessions !== undefined && { maxSessions }) });
  return server;
}

/** A fresh known_hosts path, optionally holding `lines`. */
function knownHosts(lines = ''): string {
  const p = join(dir, `kh${khCount++}`);
  if (lines !== '') writeFileSync(p, lines);
  return p;
}

function opts(s: FakeSsh, more: Partial<RemoteAuditOptions>): RemoteAuditOptions {
  return { host: '127.0.0.1', port: s.port, username: 'root', privateKeyPath: ID, timeoutMs: 10_000, ...more };
}

async function failure(p: Promise<unknown>): Promise<UsageError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UsageError);
  return err as UsageError;
}

describe('auditRemote host key policy', () => {
  it('refuses an unknown host key, naming its fingerprint, before sending anything', async () => {
    const s = await serve();
    const kh = knownHosts();
    const err = await failure(auditRemote(opts(s, { knownHostsPath: kh })));
    expect(err.code).toBe('E_SSH_HOSTKEY');
    expect(err.message).toContain(`unknown host key for [127.0.0.1]:${s.port} (fingerprint ${fingerprint(HOST_BLOB)}`);
    expect(err.message).toContain('--accept-new-host-key');
    expect(s.authAttempts).toEqual([]);
    expect(s.commands).toEqual([]);
    expect(() => statSync(kh)).toThrow();
  });

  it('with acceptNewHostKey records the key (mode 0600), and the next run trusts it', async () => {
    const s = await serve();
    const kh = knownHosts();
    await auditRemote(opts(s, { knownHostsPath: kh, acceptNewHostKey: true }));
    expect(readFileSync(kh, 'utf8')).toBe(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    expect(statSync(kh).mode & 0o777).toBe(0o600);
    const again = await auditRemote(opts(s, { knownHostsPath: kh }));
    expect(again.source).toBe('ssh');
    expect(readFileSync(kh, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('refuses a changed host key loudly, even with acceptNewHostKey, and leaves known_hosts alone', async () => {
    const s = await serve();
    const before = formatKnownHostsLine('127.0.0.1', s.port, publicBlob(otherHostKey.public));
    const kh = knownHosts(before);
    const err = await failure(auditRemote(opts(s, { knownHostsPath: kh, acceptNewHostKey: true })));
    expect(err.code).toBe('E_SSH_HOSTKEY_MISMATCH');
    expect(err.message).toMatch(/^HOST KEY MISMATCH for \[127\.0\.0\.1\]:\d+: it presented ssh-ed25519 SHA256:/);
    expect(err.message).toContain('nothing was sent');
    expect(s.authAttempts).toEqual([]);
    expect(s.commands).toEqual([]);
    expect(readFileSync(kh, 'utf8')).toBe(before);
  });

  it('refuses a @revoked host key', async () => {
    const s = await serve();
    const kh = knownHosts(`@revoked * ssh-ed25519 ${HOST_BLOB.toString('base64')}\n${formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB)}`);
    expect((await failure(auditRemote(opts(s, { knownHostsPath: kh })))).code).toBe('E_SSH_HOSTKEY_REVOKED');
    expect(s.authAttempts).toEqual([]);
  });

  it('looks a host name up as given ([localhost]:port) and records it as the hostname', async () => {
    const s = await serve();
    const kh = knownHosts(formatKnownHostsLine('localhost', s.port, HOST_BLOB));
    const obs = await auditRemote(opts(s, { host: 'localhost', knownHostsPath: kh }));
    expect(obs.host.hostnames).toEqual([{ name: 'localhost', type: 'user' }]);
    expect(['127.0.0.1', '::1']).toContain(obs.host.address);
  });
});

describe('auditRemote authentication and connection errors', () => {
  it('a key the server does not accept is E_SSH_AUTH', async () => {
    const s = await serve();
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const err = await failure(auditRemote(opts(s, { knownHostsPath: kh, privateKeyPath: WRONG })));
    expect(err.code).toBe('E_SSH_AUTH');
    expect(err.message).toContain('authentication as "root"');
    expect(s.commands).toEqual([]);
  });

  it('a passphrase-protected key, a public key or a missing file is E_SSH_KEY; no credentials at all is E_SSH_AUTH', async () => {
    const s = await serve();
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    expect((await failure(auditRemote(opts(s, { knownHostsPath: kh, privateKeyPath: LOCKED })))).message).toMatch(/passphrase-protected.*ssh-agent/);
    const pub = keyFile('id.pub', clientKey.public);
    expect((await failure(auditRemote(opts(s, { knownHostsPath: kh, privateKeyPath: pub })))).code).toBe('E_SSH_KEY');
    expect((await failure(auditRemote(opts(s, { knownHostsPath: kh, privateKeyPath: join(dir, 'nope') })))).code).toBe('E_SSH_KEY');
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const { privateKeyPath: _, ...noKey } = opts(s, { knownHostsPath: kh });
      expect((await failure(auditRemote(noKey))).code).toBe('E_SSH_AUTH');
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });

  it('a closed port is E_SSH_CONNECT; a silent server is E_SSH_TIMEOUT within the limit; bad options are E_USAGE', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const kh = knownHosts();
    const base = { host: '127.0.0.1', username: 'root', privateKeyPath: ID, knownHostsPath: kh };
    expect((await failure(auditRemote({ ...base, port: closedPort }))).code).toBe('E_SSH_CONNECT');

    const sockets = new Set<import('node:net').Socket>();
    const silent: Server = createServer((c) => sockets.add(c));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const t0 = Date.now();
      const err = await failure(auditRemote({ ...base, port: (silent.address() as { port: number }).port, timeoutMs: 800 }));
      expect(err.code).toBe('E_SSH_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
    expect((await failure(auditRemote({ ...base, host: 'bad host;rm' }))).code).toBe('E_USAGE');
    expect((await failure(auditRemote({ ...base, username: '-oProxyCommand=x' }))).code).toBe('E_USAGE');
    expect((await failure(auditRemote({ ...base, port: 70000 }))).code).toBe('E_USAGE');
  });
});

describe('auditRemote observation', () => {
  it('builds ports with scope, owners and users, packages and OS from the remote output', async () => {
    const s = await serve();
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const obs = await auditRemote(opts(s, { knownHostsPath: kh }));
    expect(obs.source).toBe('ssh');
    expect(obs.host).toMatchObject({ address: '127.0.0.1', family: 4, hostnames: [], status: 'up' });
    const ports = obs.host.ports.map((p) => ({ proto: p.protocol, port: p.port, ...p.listener }));
    expect(ports).toEqual([
      { proto: 'tcp', port: 22, bindAddress: '0.0.0.0', scope: 'all', pid: 500, process: 'sshd', user: 'root' },
      { proto: 'tcp', port: 22, bindAddress: '::', scope: 'all', pid: 500, process: 'sshd', user: 'root' },
      // No ss line for it: the socket's uid still names the user.
      { proto: 'tcp', port: 631, bindAddress: '127.0.0.1', scope: 'loopback', user: 'root' },
      { proto: 'udp', port: 53, bindAddress: '192.168.0.20', scope: 'specific', pid: 650, process: 'named', user: 'bind' },
    ]);
    expect(obs.host.ports.every((p) => p.state === 'open' && p.tries === 0)).toBe(true);
    expect(obs.packages).toEqual([{ name: 'openssh-server', version: '1:9.2p1-2+deb12u10', arch: 'amd64', manager: 'dpkg' }]);
    expect(obs.osHint).toBe('Debian GNU/Linux 12 (bookworm)');
    // Only the fixed read-only commands ran, and rpm was not needed.
    expect([...s.commands].sort()).toEqual(Object.keys(ANSWERS).sort());
  });

  it('falls back to rpm, and leaves pid/process unknown without ss', async () => {
    const answers: Record<string, CannedAnswer> = { ...ANSWERS, [DPKG_QUERY_COMMAND]: { code: 127 }, [SS_COMMAND]: { code: 127 }, [RPM_QUERY_COMMAND]: { stdout: 'openssh-server\t0:8.7p1-38.el9\tx86_64\n' } };
    const s = await serve(answers);
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const obs = await auditRemote(opts(s, { knownHostsPath: kh }));
    expect(obs.packages).toEqual([{ name: 'openssh-server', version: '0:8.7p1-38.el9', arch: 'x86_64', manager: 'rpm' }]);
    expect(obs.host.ports.every((p) => p.listener?.pid === undefined && p.listener?.process === undefined)).toBe(true);
    expect(obs.host.ports[0]?.listener?.user).toBe('root');
  });

  it('reads big-endian tables on a big-endian machine', async () => {
    const s = await serve({ ...ANSWERS, 'uname -m': { stdout: 's390x\n' }, 'cat /proc/net/tcp': { stdout: HEADER + row(0, '7F000001:0277', Z4, '0A', 0, 1) } });
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const obs = await auditRemote(opts(s, { knownHostsPath: kh }));
    expect(obs.host.ports.find((p) => p.port === 631)?.listener?.bindAddress).toBe('127.0.0.1');
  });

  it('works with a server that allows one session at a time', async () => {
    const s = await serve(ANSWERS, 1);
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const obs = await auditRemote(opts(s, { knownHostsPath: kh }));
    expect(obs.host.ports).toHaveLength(4);
    expect(s.peakSessions).toBe(1);
  });

  it('a host without /proc/net is E_SSH_REMOTE', async () => {
    const s = await serve({ 'uname -m': { stdout: 'amd64\n' } });
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    expect((await failure(auditRemote(opts(s, { knownHostsPath: kh })))).code).toBe('E_SSH_REMOTE');
  });
});

describe('auditRemote bounds', () => {
  it('aborts a command that prints more than 16 MiB', async () => {
    const s = await serve({ ...ANSWERS, 'cat /etc/passwd': { stdout: Buffer.alloc(17 * 1024 * 1024, 0x61) } });
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const err = await failure(auditRemote(opts(s, { knownHostsPath: kh, timeoutMs: 30_000 })));
    expect(err.code).toBe('E_SSH_OUTPUT');
    expect(err.message).toContain('"cat /etc/passwd" printed more than 16777216 bytes');
  });

  it('reads a /proc/net table of 20 MiB of connections, keeping only its listening rows', async () => {
    const established = row(9, '0200A8C0:0016', '0100A8C0:D431', '01', 0, 9);
    const big = HEADER + established.repeat(Math.ceil((20 * 1024 * 1024) / established.length)) + row(1, '00000000:0050', Z4, '0A', 0, 77);
    const s = await serve({ ...ANSWERS, 'cat /proc/net/tcp': { stdout: big } });
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const obs = await auditRemote(opts(s, { knownHostsPath: kh, timeoutMs: 30_000 }));
    expect(obs.host.ports.map((p) => `${p.protocol}/${p.port}`)).toEqual(['tcp/22', 'tcp/80', 'udp/53']);
  });

  it('aborts an over-long /proc/net line', async () => {
    const s = await serve({ ...ANSWERS, 'cat /proc/net/tcp6': { stdout: HEADER + 'x'.repeat(100_000) } });
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    expect((await failure(auditRemote(opts(s, { knownHostsPath: kh })))).message).toContain('over-long line');
  });

  it('a command that never finishes ends the audit at the deadline', async () => {
    const s = await serve({ ...ANSWERS, [SS_COMMAND]: { hang: true } });
    const kh = knownHosts(formatKnownHostsLine('127.0.0.1', s.port, HOST_BLOB));
    const t0 = Date.now();
    const err = await failure(auditRemote(opts(s, { knownHostsPath: kh, timeoutMs: 1500 })));
    expect(err.code).toBe('E_SSH_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('escapes hostile os-release text', () => {
    expect(osReleaseName('PRETTY_NAME="Evil \u001b[2J OS"\n')).toBe('Evil \\x1b[2J OS');
    expect(osReleaseName('NAME=Alpine\nVERSION_ID=3.19\n')).toBe('Alpine 3.19');
    expect(osReleaseName('garbage')).toBeUndefined();
  });
});
