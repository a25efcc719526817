import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitReachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import { hasLine } from '../text.js';
import type { Identification } from '../types.js';
import { authEvidence, detector, identifySsh, parseSshIdent, probeAuthMethods } from './ssh.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const timing = { replyMs: 2000, settleMs: 100 };

describe('parseSshIdent', () => {
  it('splits protocol, software and comments', () => {
    expect(parseSshIdent(b('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'))).toEqual({
      protocol: '2.0',
      banner: 'OpenSSH_9.2p1 Debian-2+deb12u3',
      software: 'OpenSSH_9.2p1',
      comments: 'Debian-2+deb12u3',
    });
  });
  it('accepts a bare LF, no terminator yet, and RFC 4253 lines before the identification', () => {
    expect(parseSshIdent(b('SSH-2.0-dropbear_2022.83\n'))?.software).toBe('dropbear_2022.83');
    expect(parseSshIdent(b('SSH-2.0-OpenSSH_8.0'))?.software).toBe('OpenSSH_8.0');
    expect(parseSshIdent(b('Welcome to host\r\nAuthorized use only\r\nSSH-2.0-OpenSSH_7.4\r\n'))?.software).toBe('OpenSSH_7.4');
  });
  it('rejects other protocols and garbage', () => {
    for (const s of [
      '',
      'SSH-',
      'SSH-2.0-',
      'SSH-2.0- leading space',
      'SSH-x.y-OpenSSH',
      'HTTP/1.1 200 OK\r\n\r\nSSH-2.0-OpenSSH_9.2p1\r\n',
      '220 mail ESMTP\r\nSSH-2.0-OpenSSH_9.2p1\r\n',
      'ssh-2.0-OpenSSH_9.2p1\r\n',
      'SSH-2.0-Open\x00SSH\r\n',
      'SSH-2.0-\x1b[31mred\r\n',
    ]) expect(parseSshIdent(b(s)), JSON.stringify(s)).toBeUndefined();
  });
  it('rejects binary before the identification and too many pre-lines', () => {
    expect(parseSshIdent(Buffer.concat([Buffer.from([0xff, 0xfd, 0x18, 0x0a]), b('SSH-2.0-OpenSSH_9.2p1\r\n')]))).toBeUndefined();
    expect(parseSshIdent(b('x\n'.repeat(20) + 'SSH-2.0-OpenSSH_9.2p1\r\n'))).toBeUndefined();
  });
  it('is bounded on huge and random input', () => {
    expect(parseSshIdent(b('SSH-2.0-' + 'A'.repeat(1 << 20)))?.banner.length).toBeLessThanOrEqual(255);
    expect(parseSshIdent(Buffer.alloc(1 << 20, 0x41))).toBeUndefined();
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 64 }, () => Math.floor(Math.random() * 256)));
      expect(() => identifySsh(junk)).not.toThrow();
      expect(identifySsh(junk)).toBeUndefined();
    }
  });
});

describe('identifySsh', () => {
  it('OpenSSH on Debian with package revision', () => {
    const id = identifySsh(b('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'))!;
    expect(id).toMatchObject({
      service: 'ssh',
      product: 'OpenSSH',
      version: '9.2p1',
      distro: 'Debian',
      packageRevision: '2+deb12u3',
      ostype: 'Linux',
      extrainfo: 'protocol 2.0',
      confidence: 10,
      fields: { 'ssh.banner': 'OpenSSH_9.2p1 Debian-2+deb12u3' },
    });
    expect(id.cpe).toEqual(['cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*']);
  });
  it('OpenSSH on Ubuntu, Raspbian, FreeBSD and plain', () => {
    expect(identifySsh(b('SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n'))).toMatchObject({ version: '8.9p1', distro: 'Ubuntu', packageRevision: '3ubuntu0.10', ostype: 'Linux', extrainfo: 'Ubuntu Linux; protocol 2.0' });
    expect(identifySsh(b('SSH-2.0-OpenSSH_8.4p1 Raspbian-5+deb11u3\r\n'))).toMatchObject({ distro: 'Raspbian', packageRevision: '5+deb11u3' });
    expect(identifySsh(b('SSH-2.0-OpenSSH_9.3 FreeBSD-20230316\r\n'))).toMatchObject({ version: '9.3', distro: 'FreeBSD', ostype: 'FreeBSD', packageRevision: '20230316' });
    const plain = identifySsh(b('SSH-2.0-OpenSSH_7.4\r\n'))!;
    expect(plain).toMatchObject({ product: 'OpenSSH', version: '7.4', extrainfo: 'protocol 2.0' });
    expect(plain.distro).toBeUndefined();
    expect(plain.ostype).toBeUndefined();
  });
  it('SSH-1.99 and Cisco', () => {
    expect(identifySsh(b('SSH-1.99-Cisco-1.25\r\n'))).toMatchObject({ product: 'Cisco SSH', version: '1.25', ostype: 'IOS', devicetype: 'router', extrainfo: 'protocol 1.99' });
    expect(identifySsh(b('SSH-1.99-OpenSSH_3.9p1\r\n'))).toMatchObject({ version: '3.9p1', extrainfo: 'protocol 1.99' });
  });
  it('Windows OpenSSH', () => {
    const id = identifySsh(b('SSH-2.0-OpenSSH_for_Windows_8.1\r\n'))!;
    expect(id).toMatchObject({ product: 'OpenSSH', version: '8.1', ostype: 'Windows' });
    expect(id.cpe).toContain('cpe:2.3:a:openbsd:openssh:8.1:*:*:*:*:*:*:*');
  });
  it('dropbear, libssh, ROSSSH, paramiko and friends', () => {
    expect(identifySsh(b('SSH-2.0-dropbear_2022.83\r\n'))).toMatchObject({ product: 'Dropbear sshd', version: '2022.83', ostype: 'Linux', cpe: ['cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.83:*:*:*:*:*:*:*'] });
    expect(identifySsh(b('SSH-2.0-dropbear\r\n'))).toMatchObject({ product: 'Dropbear sshd', confidence: 8 });
    expect(identifySsh(b('SSH-2.0-libssh_0.9.6\r\n'))).toMatchObject({ product: 'libssh', version: '0.9.6' });
    expect(identifySsh(b('SSH-2.0-libssh-0.6.0\r\n'))).toMatchObject({ product: 'libssh', version: '0.6.0' });
    expect(identifySsh(b('SSH-2.0-ROSSSH\r\n'))).toMatchObject({ product: 'MikroTik RouterOS sshd', devicetype: 'router' });
    expect(identifySsh(b('SSH-2.0-paramiko_3.4.0\r\n'))).toMatchObject({ product: 'Paramiko Python sshd', version: '3.4.0' });
    expect(identifySsh(b('SSH-2.0-Go\r\n'))).toMatchObject({ product: 'Golang x/crypto/ssh server' });
    expect(identifySsh(b('SSH-2.0-mod_sftp/1.3.8\r\n'))).toMatchObject({ product: 'ProFTPD mod_sftp', version: '1.3.8' });
  });
  it('unknown software is still ssh, with the banner kept for other signature sets', () => {
    expect(identifySsh(b('SSH-2.0-SomethingNew_1.0\r\n'))).toEqual({ service: 'ssh', confidence: 7, extrainfo: 'protocol 2.0', fields: { 'ssh.banner': 'SomethingNew_1.0' } });
  });
  it('greeting uses the same parser', () => {
    expect(detector.greeting!(b('SSH-2.0-OpenSSH_9.6\r\n'), { address: '127.0.0.1', port: 22 })?.product).toBe('OpenSSH');
    expect(detector.greeting!(b('220 (vsFTPd 3.0.3)\r\n'), { address: '127.0.0.1', port: 22 })).toBeUndefined();
  });
});

describe('probe', () => {
  it('sends an identification to a silent server and parses the answer', async () => {
    const session = new ScriptedSession({ reply: () => 'SSH-2.0-OpenSSH_9.2p1\r\n' });
    const id = await detector.probe!({ session, timing, intensity: 7 });
    expect(id?.version).toBe('9.2p1');
    expect(session.sent.toString()).toBe('SSH-2.0-portolan\r\n');
  });
  it('does not talk to a server that already said something else', async () => {
    const session = new ScriptedSession({ greeting: '220 hello\r\n' });
    await session.read(10);
    expect(await detector.probe!({ session, timing, intensity: 9 })).toBeUndefined();
    expect(session.sentBytes).toBe(0);
  });
});

describe('authEvidence', () => {
  it('maps methods to evidence ids', () => {
    expect(authEvidence({ methods: ['publickey'] })).toEqual([]);
    expect(authEvidence({ methods: ['publickey', 'password'] })).toEqual([{ id: 'ssh-password-auth', detail: 'password authentication offered (methods: publickey,password)' }]);
    expect(authEvidence({ methods: ['keyboard-interactive'] }).map((e) => e.id)).toEqual(['ssh-keyboard-interactive-auth']);
    expect(authEvidence({ noneAccepted: true }).map((e) => e.id)).toEqual(['ssh-no-auth']);
  });
});

describe('followUp without a stream', () => {
  it('returns previous unchanged when openStream fails', async () => {
    const previous: Identification = { service: 'ssh', confidence: 10 };
    const session = new ScriptedSession({});
    expect(await detector.followUp!({ session, timing, intensity: 7, previous })).toBe(previous);
  });
  it('gives up on a stream that never speaks SSH', async () => {
    // resume() so the server side sees our FIN and closes; otherwise server.close() waits forever.
    const server = net.createServer((s) => s.on('error', () => undefined).resume().write('HTTP/1.1 400 Bad\r\n\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const sock = await connect(port);
    const r = await probeAuthMethods(sock, 800);
    expect(r.error).toBeDefined();
    expect(r.methods).toBeUndefined();
    expect(sock.destroyed).toBe(true);
    await new Promise((r2) => server.close(r2));
  });
});

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

const canRunSshd = process.getuid?.() === 0 && existsSync('/usr/sbin/sshd') && existsSync('/usr/bin/ssh-keygen');

describe.skipIf(!canRunSshd)('against a real OpenSSH server on 127.0.0.1', () => {
  let dir = '';
  const servers: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'portolan-sshd-'));
    mkdirSync('/run/sshd', { recursive: true });
    const keygen = spawnSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
    expect(keygen.status).toBe(0);
  });

  afterAll(async () => {
    const exits = servers.filter((p) => p.pid !== undefined && p.exitCode === null).map((p) => new Promise((r) => p.once('exit', r)));
    for (const p of servers) if (p.pid !== undefined && p.exitCode === null) process.kill(p.pid, 'SIGTERM');
    await Promise.all(exits);
    rmSync(dir, { recursive: true, force: true });
  });

  async function startSshd(passwordAuth: boolean, kbdInteractive: boolean): Promise<number> {
    const port = await freePort();
    const cfg = join(dir, `sshd_config_${port}`);
    writeFileSync(
      cfg,
      [
        `PasswordAuthentication ${passwordAuth ? 'yes' : 'no'}`,
        `KbdInteractiveAuthentication ${kbdInteractive ? 'yes' : 'no'}`,
        'PubkeyAuthentication yes',
        'UsePAM no',
        'StrictModes no',
        `PidFile ${join(dir, `sshd_${port}.pid`)}`,
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg, '-p', String(port), '-o', 'ListenAddress=127.0.0.1', '-h', join(dir, 'host_ed25519')], { stdio: 'ignore' });
    servers.push(proc);
    expect(await waitReachable(port, 10_000)).toBe(true);
    return port;
  }

  it('identifies the banner and reports password auth', async () => {
    const port = await startSshd(true, false);
    const id = await withLive(port, async (session) => {
      await session.read(5000, hasLine);
      const previous = detector.greeting!(session.received, session.target)!;
      expect(previous).toMatchObject({ service: 'ssh', product: 'OpenSSH' });
      expect(previous.version).toMatch(/^\d+\.\d+/);
      return detector.followUp!({ session, timing, intensity: 7, previous });
    });
    expect(id.fields?.['ssh.auth_methods']?.split(',')).toContain('password');
    expect(id.evidence?.map((e) => e.id)).toEqual(['ssh-password-auth']);
    expect(id.evidence?.[0]?.detail).toContain('publickey');
  });

  it('reports no password evidence when only keys are allowed', async () => {
    const port = await startSshd(false, false);
    const previous: Identification = { service: 'ssh', confidence: 10 };
    const id = await withLive(port, (session) => detector.followUp!({ session, timing, intensity: 7, previous }));
    expect(id.fields?.['ssh.auth_methods']).toBe('publickey');
    expect(id.evidence).toBeUndefined();
  });

  it('reports keyboard-interactive', async () => {
    const port = await startSshd(false, true);
    const id = await withLive(port, (session) => detector.followUp!({ session, timing, intensity: 7, previous: { service: 'ssh', confidence: 10 } }));
    expect(id.evidence?.map((e) => e.id)).toEqual(['ssh-keyboard-interactive-auth']);
  });
});
