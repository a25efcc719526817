import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitReachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import type { Identification, Target } from '../types.js';
import { codedReplyComplete, parseCodedReply } from '../text.js';
import { detector, identifyFtp, parseFeatures, systOstype, systSaysFtp } from './ftp.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const timing = { replyMs: 3000, settleMs: 200 };
const port21: Target = { address: '127.0.0.1', port: 21 };

describe('identifyFtp', () => {
  it('vsftpd', () => {
    expect(identifyFtp(b('220 (vsFTPd 3.0.3)\r\n'))).toEqual({
      service: 'ftp',
      product: 'vsftpd',
      version: '3.0.3',
      cpe: ['cpe:2.3:a:beasts:vsftpd:3.0.3:*:*:*:*:*:*:*'],
      confidence: 10,
      fields: { 'ftp.banner': '(vsFTPd 3.0.3)' },
    });
  });
  it('a broken vsftpd still names itself', () => {
    expect(identifyFtp(b('500 OOPS: vsftpd: both local and anonymous access disabled!\r\n'))).toMatchObject({ service: 'ftp', product: 'vsftpd', confidence: 8 });
  });
  it('ProFTPD with and without version, distro from ServerName', () => {
    expect(identifyFtp(b('220 ProFTPD 1.3.8b Server (Debian) [::ffff:127.0.0.1]\r\n'))).toMatchObject({ product: 'ProFTPD', version: '1.3.8b', distro: 'Debian', ostype: 'Linux' });
    expect(identifyFtp(b('220 ProFTPD Server (ProFTPD Default Installation) [127.0.0.1]\r\n'))).toMatchObject({ product: 'ProFTPD', confidence: 8 });
    expect(identifyFtp(b('220 ProFTPD 1.3.5e Server (ProFTPD) [10.0.0.1]\r\n'))?.distro).toBeUndefined();
  });
  it('Pure-FTPd multi-line banner', () => {
    const banner = '220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n220-You are user number 1 of 50 allowed.\r\n220-Local time is now 10:00. Server port: 21.\r\n220-This is a private system - No anonymous login\r\n220 You will be disconnected after 15 minutes of inactivity.\r\n';
    const id = identifyFtp(b(banner))!;
    expect(id).toMatchObject({ product: 'Pure-FTPd', confidence: 8 });
    expect(id.fields?.['ftp.banner']?.split('\n')).toHaveLength(5);
  });
  it('FileZilla Server old and new, Microsoft FTP Service, Serv-U', () => {
    expect(identifyFtp(b('220-FileZilla Server 0.9.60 beta\r\n220-written by Tim Kosse (tim.kosse@filezilla-project.org)\r\n220 Please visit https://filezilla-project.org/\r\n'))).toMatchObject({ product: 'FileZilla ftpd', version: '0.9.60', ostype: 'Windows' });
    expect(identifyFtp(b('220-FileZilla Server 1.7.0\r\n220 Please visit https://filezilla-project.org/\r\n'))).toMatchObject({ product: 'FileZilla ftpd', version: '1.7.0' });
    const ms = identifyFtp(b('220 Microsoft FTP Service\r\n'))!;
    expect(ms).toMatchObject({ product: 'Microsoft ftpd', ostype: 'Windows' });
    expect(ms.distro).toBeUndefined();
    expect(identifyFtp(b('220 Serv-U FTP Server v15.1 ready...\r\n'))).toMatchObject({ product: 'Serv-U ftpd', version: '15.1' });
  });
  it('generic banners: FTP word anywhere, or an FTP port', () => {
    expect(identifyFtp(b('220 Welcome to the example FTP service.\r\n'))).toMatchObject({ service: 'ftp', confidence: 7 });
    expect(identifyFtp(b('220 Welcome\r\n'), 21)).toMatchObject({ service: 'ftp', confidence: 5 });
    expect(identifyFtp(b('220 Welcome\r\n'), 8080)).toBeUndefined();
  });
  it('does not claim SMTP or other protocols', () => {
    expect(identifyFtp(b('220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n'), 21)).toBeUndefined();
    expect(identifyFtp(b('220 ftp.example.com ESMTP Exim 4.96\r\n'), 21)).toBeUndefined();
    expect(identifyFtp(b('220 ftp.example.com ready\r\n'), 25)).toBeUndefined();
    expect(identifyFtp(b('SSH-2.0-OpenSSH_9.2p1\r\n'), 21)).toBeUndefined();
    expect(identifyFtp(b('421 Too many connections\r\n'), 21)).toBeUndefined();
    expect(identifyFtp(b('500 OOPS: something\r\n'), 21)).toBeUndefined();
    expect(identifyFtp(b('HTTP/1.1 200 OK\r\n'), 21)).toBeUndefined();
  });
  it('random bytes and huge input', () => {
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 80 }, () => Math.floor(Math.random() * 256)));
      expect(identifyFtp(junk, 8000)).toBeUndefined();
    }
    expect(identifyFtp(b('220 (vsFTPd ' + '9'.repeat(1 << 20)), 21)?.version?.length ?? 0).toBeLessThanOrEqual(200);
  });
});

describe('reply helpers', () => {
  it('FEAT, SYST', () => {
    expect(parseFeatures(parseCodedReply(b('211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n')))).toEqual(['AUTH TLS', 'PBSZ']);
    expect(parseFeatures(parseCodedReply(b('500 unknown\r\n')))).toEqual([]);
    expect(systOstype(parseCodedReply(b('215 UNIX Type: L8\r\n')))).toBe('Unix');
    expect(systOstype(parseCodedReply(b('215 Windows_NT\r\n')))).toBe('Windows');
    expect(systOstype(parseCodedReply(b('530 Please login\r\n')))).toBeUndefined();
    expect(systSaysFtp(parseCodedReply(b('530 Please login with USER and PASS.\r\n')))).toBe(true);
    expect(systSaysFtp(parseCodedReply(b('530 5.7.0 Must issue a STARTTLS command first\r\n')))).toBe(false);
    expect(systSaysFtp(parseCodedReply(b('502 5.5.2 Error: command not recognized\r\n')))).toBe(false);
  });
});

/** A scripted FTP server: greeting plus a command table. */
function ftpScript(greeting: string, answers: Record<string, string>): ScriptedSession {
  return new ScriptedSession({
    greeting,
    reply: (sent) => {
      const cmd = sent.toString('latin1').trim();
      const verb = cmd.split(' ')[0]!.toUpperCase();
      return answers[cmd] ?? answers[verb] ?? '500 Unknown command.\r\n';
    },
  });
}

describe('followUp (scripted)', () => {
  const previous: Identification = { service: 'ftp', product: 'ProFTPD', confidence: 8, fields: { 'ftp.banner': 'ProFTPD Server' } };
  it('AUTH TLS, anonymous login, SYST', async () => {
    const session = ftpScript('220 ProFTPD Server\r\n', {
      FEAT: '211-Features:\r\n AUTH TLS\r\n MDTM\r\n211 End\r\n',
      USER: '331 Anonymous login ok, send your complete email address as your password\r\n',
      PASS: '230-Welcome\r\n230 Anonymous access granted, restrictions apply\r\n',
      SYST: '215 UNIX Type: L8\r\n',
      QUIT: '221 Goodbye.\r\n',
    });
    await session.read(10);
    const id = await detector.followUp!({ session, timing, intensity: 7, previous });
    expect(id).toMatchObject({ startTls: true, ostype: 'Unix', evidence: [{ id: 'ftp-anonymous' }] });
    expect(id.fields).toMatchObject({ 'ftp.features': 'AUTH TLS,MDTM', 'ftp.syst': 'UNIX Type: L8', 'ftp.banner': 'ProFTPD Server' });
    expect(session.sent.toString()).toBe('FEAT\r\nUSER anonymous\r\nPASS portolan@example.invalid\r\nSYST\r\nQUIT\r\n');
    expect(previous.evidence).toBeUndefined();
  });
  it('refused anonymous login yields no evidence and keeps ostype', async () => {
    const session = ftpScript('220 x\r\n', { USER: '331 ok\r\n', PASS: '530 Login incorrect.\r\n', SYST: '215 Windows_NT\r\n' });
    const id = await detector.followUp!({ session, timing, intensity: 7, previous: { ...previous, ostype: 'Linux' } });
    expect(id.evidence).toBeUndefined();
    expect(id.ostype).toBe('Linux');
    expect(id.startTls).toBeUndefined();
  });
  it('a server that closes or resets mid-way', async () => {
    const closing = new ScriptedSession({ greeting: '220 x\r\n', reply: () => 'close' });
    expect(await detector.followUp!({ session: closing, timing, intensity: 7, previous })).toMatchObject({ service: 'ftp' });
    const reset = new ScriptedSession({ greeting: '220 x\r\n', reply: () => 'reset' });
    expect((await detector.followUp!({ session: reset, timing, intensity: 7, previous })).evidence).toBeUndefined();
  });
  it('a lying server: 230 inside a multi-line reply of another code does not count', async () => {
    const session = ftpScript('220 x\r\n', { USER: '331-x\r\n230 fake\r\n331 real\r\n', PASS: '530-230 no\r\n530 no\r\n' });
    expect((await detector.followUp!({ session, timing, intensity: 7, previous })).evidence).toBeUndefined();
  });
});

describe('probe', () => {
  it('SYST 215 or a 530 login request confirms FTP on an odd port', async () => {
    const s1 = ftpScript('220 Welcome\r\n', { SYST: '215 UNIX Type: L8\r\n' });
    await s1.read(10);
    expect(await detector.probe!({ session: s1, timing, intensity: 7 })).toMatchObject({ service: 'ftp', ostype: 'Unix', confidence: 7 });
    const s2 = ftpScript('220 Welcome\r\n', { SYST: '530 Please login with USER and PASS.\r\n' });
    await s2.read(10);
    expect(await detector.probe!({ session: s2, timing, intensity: 7 })).toMatchObject({ service: 'ftp' });
  });
  it('does nothing without a 220 greeting; SMTP answers are not FTP', async () => {
    const silent = ftpScript('', {});
    expect(await detector.probe!({ session: silent, timing, intensity: 9 })).toBeUndefined();
    expect(silent.sentBytes).toBe(0);
    const smtp = ftpScript('220 Welcome\r\n', { SYST: '502 5.5.2 Error: command not recognized\r\n' });
    await smtp.read(10);
    expect(await detector.probe!({ session: smtp, timing, intensity: 9 })).toBeUndefined();
  });
});

const canRunVsftpd = process.getuid?.() === 0 && existsSync('/usr/sbin/vsftpd');

describe.skipIf(!canRunVsftpd)('against a real vsftpd on 127.0.0.1', () => {
  let dir = '';
  const servers: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'portolan-vsftpd-'));
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'anon'));
    writeFileSync(join(dir, 'anon', 'readme.txt'), 'hello\n');
    // vsftpd refuses an anonymous root the anonymous user could write to.
    chmodSync(join(dir, 'anon'), 0o555);
  });

  afterAll(async () => {
    const running = servers.filter((p) => p.pid !== undefined && p.exitCode === null);
    const exits = running.map((p) => new Promise((r) => p.once('exit', r)));
    for (const p of running) process.kill(p.pid!, 'SIGTERM');
    await Promise.all(exits);
    rmSync(dir, { recursive: true, force: true });
  });

  async function startVsftpd(anonymous: boolean): Promise<number> {
    const port = await freePort();
    const cfg = join(dir, `vsftpd_${port}.conf`);
    writeFileSync(
      cfg,
      [
        'listen=YES',
        'listen_ipv6=NO',
        'listen_address=127.0.0.1',
        `listen_port=${port}`,
        `anonymous_enable=${anonymous ? 'YES' : 'NO'}`,
        // vsftpd refuses to start with both kinds of login off; local users are never tried here.
        `local_enable=${anonymous ? 'NO' : 'YES'}`,
        'write_enable=NO',
        'background=NO',
        `secure_chroot_dir=${join(dir, 'empty')}`,
        `anon_root=${join(dir, 'anon')}`,
        'seccomp_sandbox=NO',
        // Refused logins answer at once (the default delays 1 s).
        'delay_failed_login=0',
        '',
      ].join('\n'),
    );
    servers.push(spawn('/usr/sbin/vsftpd', [cfg], { stdio: 'ignore' }));
    if (!(await waitReachable(port, 10_000))) throw new Error('vsftpd did not start');
    return port;
  }

  it('identifies vsftpd and finds anonymous login', async () => {
    const port = await startVsftpd(true);
    const id = await withLive(port, async (session) => {
      await session.read(3000, codedReplyComplete);
      const previous = detector.greeting!(session.received, session.target)!;
      expect(previous).toMatchObject({ service: 'ftp', product: 'vsftpd', confidence: 10 });
      expect(previous.version).toMatch(/^\d+\.\d+\.\d+$/);
      return detector.followUp!({ session, timing, intensity: 7, previous });
    });
    expect(id.evidence?.map((e) => e.id)).toEqual(['ftp-anonymous']);
    expect(id.ostype).toBe('Unix');
    expect(id.fields?.['ftp.features']).toContain('EPSV');
    expect(id.startTls).toBeUndefined();
  });

  it('no evidence when anonymous login is off', async () => {
    const port = await startVsftpd(false);
    const id = await withLive(port, async (session) => {
      await session.read(3000, codedReplyComplete);
      return detector.followUp!({ session, timing, intensity: 7, previous: detector.greeting!(session.received, session.target)! });
    });
    expect(id.evidence).toBeUndefined();
    expect(id.product).toBe('vsftpd');
  });
});

it('greeting is wired to identifyFtp with the port', () => {
  expect(detector.greeting!(b('220 hi\r\n'), port21)).toMatchObject({ service: 'ftp', confidence: 5 });
});

describe('AUTH TLS', () => {
  const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
  const server = (authReply: string) =>
    new ScriptedSession({
      greeting: '220 (vsFTPd 3.0.3)\r\n',
      tls,
      reply: (sent) => {
        const cmd = sent.toString('latin1').trim();
        if (cmd === 'FEAT') return '211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n';
        if (cmd === 'USER anonymous') return '530 Permission denied.\r\n';
        if (cmd === 'SYST') return '530 Please login with USER and PASS.\r\n';
        if (cmd === 'QUIT') return '221 Goodbye.\r\n';
        if (cmd === 'AUTH TLS') return authReply;
        return '500 Unknown command.\r\n';
      },
    }, { port: 21 });

  it('upgrades a fresh connection and records the TLS facts', async () => {
    const session = server('234 Proceed with negotiation.\r\n');
    const previous = detector.greeting!(await session.read(100).then((r) => r.data), session.target)!;
    const id = await detector.followUp!({ session, timing: { replyMs: 100, settleMs: 10 }, intensity: 7, previous });
    expect(id.startTls).toBe(true);
    expect(id.tls).toEqual(tls);
  });

  it('leaves TLS out when the server refuses AUTH TLS', async () => {
    const session = server('530 Not allowed.\r\n');
    const previous = detector.greeting!(await session.read(100).then((r) => r.data), session.target)!;
    const id = await detector.followUp!({ session, timing: { replyMs: 100, settleMs: 10 }, intensity: 7, previous });
    expect(id.startTls).toBe(true);
    expect(id.tls).toBeUndefined();
  });
});
