import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import { codedReplyComplete, parseCodedReply } from '../text.js';
import type { Identification, TlsInfo } from '../types.js';
import { detector, hostnameFrom, identifySmtp, parseEhlo, withEhlo } from './smtp.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const timing = { replyMs: 3000, settleMs: 200 };
const tls: TlsInfo = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };

/**
 * Greeting and EHLO reply of Debian's Postfix 3.7.11 (captured from smtpd on 127.0.0.1), with the
 * STARTTLS line a TLS-enabled install adds.
 */
const POSTFIX_GREETING = '220 mail.portolan.test ESMTP Postfix (Debian/GNU)\r\n';
const POSTFIX_EHLO = '250-mail.portolan.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n';

describe('identifySmtp', () => {
  it('Postfix with distro and host name', () => {
    expect(identifySmtp(b(POSTFIX_GREETING))).toEqual({
      service: 'smtp',
      product: 'Postfix smtpd',
      cpe: ['cpe:2.3:a:postfix:postfix:*:*:*:*:*:*:*:*'],
      confidence: 8,
      hostname: 'mail.portolan.test',
      distro: 'Debian',
      ostype: 'Linux',
      fields: { 'smtp.banner': 'mail.portolan.test ESMTP Postfix (Debian/GNU)' },
    });
  });
  it('Postfix with $mail_version', () => {
    expect(identifySmtp(b('220 mx.example.org ESMTP Postfix 3.7.11\r\n'))).toMatchObject({ product: 'Postfix smtpd', version: '3.7.11', confidence: 10, cpe: ['cpe:2.3:a:postfix:postfix:3.7.11:*:*:*:*:*:*:*'] });
    expect(identifySmtp(b('220 mx.example.org ESMTP Postfix (3.6.4) (Ubuntu)\r\n'))).toMatchObject({ version: '3.6.4', distro: 'Ubuntu' });
  });
  it('Exim, including a cPanel multi-line greeting', () => {
    expect(identifySmtp(b('220 mail.example.com ESMTP Exim 4.96 Mon, 01 Jan 2024 10:00:00 +0000\r\n'))).toMatchObject({ product: 'Exim smtpd', version: '4.96', hostname: 'mail.example.com', cpe: ['cpe:2.3:a:exim:exim:4.96:*:*:*:*:*:*:*'] });
    const cpanel = '220-server.example.com ESMTP Exim 4.96.2 #2 Tue, 02 Jan 2024 10:00:00 +0000 \r\n220-We do not authorize the use of this system to transport unsolicited, \r\n220 and/or bulk e-mail.\r\n';
    expect(identifySmtp(b(cpanel))).toMatchObject({ product: 'Exim smtpd', version: '4.96.2', hostname: 'server.example.com' });
  });
  it('Sendmail with and without Debian revision', () => {
    expect(identifySmtp(b('220 host.example.com ESMTP Sendmail 8.17.1/8.17.1; Mon, 1 Jan 2024 10:00:00 GMT\r\n'))).toMatchObject({ product: 'Sendmail', version: '8.17.1', hostname: 'host.example.com' });
    expect(identifySmtp(b('220 h.example.com ESMTP Sendmail 8.15.2/8.15.2/Debian-22; Mon, 1 Jan 2024 10:00:00 +0100; (No UCE/UBE) logging access from: x\r\n'))).toMatchObject({ version: '8.15.2', distro: 'Debian', packageRevision: '22' });
  });
  it('Microsoft: IIS SMTP with version, Exchange without', () => {
    expect(identifySmtp(b('220 mail.contoso.com Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at  Mon, 1 Jan 2024 10:00:00 +0000 \r\n'))).toMatchObject({ product: 'Microsoft ESMTP', version: '10.0.17763.1', ostype: 'Windows', hostname: 'mail.contoso.com' });
    const ex = identifySmtp(b('220 EX01.contoso.local Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 10:00:00 +0000\r\n'))!;
    expect(ex).toMatchObject({ product: 'Microsoft Exchange smtpd', ostype: 'Windows', hostname: 'ex01.contoso.local' });
    expect(ex.distro).toBeUndefined();
  });
  it('OpenSMTPD, gsmtp, generic and port-only', () => {
    expect(identifySmtp(b('220 mx.example.net ESMTP OpenSMTPD\r\n'))).toMatchObject({ product: 'OpenSMTPD' });
    expect(identifySmtp(b('220 mx.google.com ESMTP a1-20020a05 - gsmtp\r\n'))).toMatchObject({ product: 'Google gsmtp' });
    expect(identifySmtp(b('220 localhost ESMTP\r\n'))).toEqual({ service: 'smtp', confidence: 7, hostname: 'localhost', fields: { 'smtp.banner': 'localhost ESMTP' } });
    expect(identifySmtp(b('220 ready\r\n'), 25)).toMatchObject({ service: 'smtp', confidence: 5 });
    expect(identifySmtp(b('220 ready\r\n'), 8080)).toBeUndefined();
  });
  it('an MTA that turns us away still counts when it says SMTP', () => {
    expect(identifySmtp(b('554 mx.example.com ESMTP not accepting messages\r\n'))).toMatchObject({ service: 'smtp', confidence: 7, hostname: 'mx.example.com' });
    expect(identifySmtp(b('554 5.7.1 No SMTP service here\r\n'))).toMatchObject({ service: 'smtp' });
  });
  it('host names in the banner are not distributions', () => {
    const id = identifySmtp(b('220 mail.debian.org ESMTP\r\n'))!;
    expect(id.hostname).toBe('mail.debian.org');
    expect(id.distro).toBeUndefined();
  });
  it('does not claim FTP and other protocols', () => {
    expect(identifySmtp(b('220 (vsFTPd 3.0.3)\r\n'), 25)).toBeUndefined();
    expect(identifySmtp(b('220 Microsoft FTP Service\r\n'), 25)).toBeUndefined();
    expect(identifySmtp(b('220 smtp.example.com FTP server ready\r\n'), 25)).toBeUndefined();
    expect(identifySmtp(b('SSH-2.0-OpenSSH_9.2p1\r\n'), 25)).toBeUndefined();
    expect(identifySmtp(b('421 4.3.2 Service not available\r\n'), 25)).toBeUndefined();
    expect(identifySmtp(b('500 x\r\n'), 25)).toBeUndefined();
  });
  it('hostile input', () => {
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 80 }, () => Math.floor(Math.random() * 256)));
      expect(identifySmtp(junk, 4000)).toBeUndefined();
    }
    const huge = identifySmtp(b('220 ' + 'a.'.repeat(1 << 19) + ' ESMTP Exim 4.96\r\n'), 25)!;
    expect(huge.hostname).toBeUndefined();
    expect(huge.fields!['smtp.banner']!.length).toBeLessThanOrEqual(2048);
    const ansi = identifySmtp(b('220 \x1b[2Jevil.example ESMTP\x00 Postfix\r\n'))!;
    expect(ansi.product).toBe('Postfix smtpd');
    expect(JSON.stringify(ansi)).not.toMatch(/\\u001b|\\u0000/);
  });
});

describe('hostnameFrom', () => {
  it('accepts dotted names and single labels before (E)SMTP only', () => {
    expect(hostnameFrom('mail.example.com ESMTP')).toBe('mail.example.com');
    expect(hostnameFrom('localhost ESMTP Postfix')).toBe('localhost');
    expect(hostnameFrom('Welcome to mail')).toBeUndefined();
    expect(hostnameFrom('10.0.0.1 ESMTP')).toBeUndefined();
    expect(hostnameFrom('[10.0.0.1] ESMTP')).toBeUndefined();
    expect(hostnameFrom('-bad-.example ESMTP')).toBeUndefined();
    expect(hostnameFrom('')).toBeUndefined();
  });
});

describe('parseEhlo / withEhlo', () => {
  it('reads extensions, STARTTLS and AUTH', () => {
    const info = parseEhlo(parseCodedReply(b('250-mx.example.com Hello [10.0.0.1]\r\n250-SIZE 52428800\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250-STARTTLS\r\n250 HELP\r\n')))!;
    expect(info).toEqual({ hostname: 'mx.example.com', extensions: ['SIZE 52428800', 'AUTH PLAIN LOGIN', 'AUTH=LOGIN', 'STARTTLS', 'HELP'], startTls: true, auth: ['PLAIN', 'LOGIN'] });
    const id = withEhlo({ service: 'smtp', confidence: 5 }, info, undefined);
    expect(id).toMatchObject({ startTls: true, hostname: 'mx.example.com', evidence: [{ id: 'smtp-cleartext-auth' }] });
    const inTls = withEhlo({ service: 'smtp', confidence: 5 }, info, 'ssl');
    expect(inTls.startTls).toBeUndefined();
    expect(inTls.evidence).toBeUndefined();
  });
  it('rejects errors and bounds lying replies', () => {
    expect(parseEhlo(parseCodedReply(b('502 5.5.2 Error: command not recognized\r\n')))).toBeUndefined();
    const many = parseEhlo(parseCodedReply(b('250-x\r\n' + '250-AUTH ' + 'A '.repeat(5000) + '\r\n'.repeat(1) + '250-X\r\n'.repeat(500) + '250 end\r\n')))!;
    expect(many.extensions.length).toBeLessThanOrEqual(48);
    expect(many.auth.length).toBeLessThanOrEqual(16);
  });
});

/** A scripted MTA: greeting, then answers by verb. */
function mta(greeting: string, answers: Record<string, string>, tlsInfo?: TlsInfo): ScriptedSession {
  return new ScriptedSession(
    { greeting, tls: tlsInfo, reply: (sent) => answers[sent.toString('latin1').trim().split(' ')[0]!.toUpperCase()] ?? '502 5.5.2 Error: command not recognized\r\n' },
    { address: '127.0.0.1', port: 25 },
  );
}

describe('followUp (scripted)', () => {
  it('EHLO, STARTTLS, QUIT', async () => {
    const session = mta(POSTFIX_GREETING, { EHLO: POSTFIX_EHLO, STARTTLS: '220 2.0.0 Ready to start TLS\r\n', QUIT: '221 2.0.0 Bye\r\n' }, tls);
    await session.read(10);
    const previous = identifySmtp(session.received, 25)!;
    const id = await detector.followUp!({ session, timing, intensity: 7, previous });
    expect(session.sent.toString()).toBe('EHLO portolan.invalid\r\nSTARTTLS\r\nQUIT\r\n');
    expect(id).toMatchObject({ product: 'Postfix smtpd', startTls: true, tls });
    expect(id.fields?.['smtp.extensions']).toContain('PIPELINING');
    expect(id.evidence).toBeUndefined();
  });
  it('STARTTLS refused or failing leaves tls unset', async () => {
    const refused = mta(POSTFIX_GREETING, { EHLO: POSTFIX_EHLO, STARTTLS: '454 4.7.0 TLS not available\r\n' }, tls);
    await refused.read(10);
    const r = await detector.followUp!({ session: refused, timing, intensity: 7, previous: { service: 'smtp', confidence: 8 } });
    expect(refused.sent.toString()).toContain('STARTTLS');
    expect(r.tls).toBeUndefined();
    const broken = mta(POSTFIX_GREETING, { EHLO: POSTFIX_EHLO, STARTTLS: '220 go\r\n' });
    await broken.read(10);
    const id = await detector.followUp!({ session: broken, timing, intensity: 7, previous: { service: 'smtp', confidence: 8 } });
    expect(id.startTls).toBe(true);
    expect(id.tls).toBeUndefined();
  });
  it('inside TLS (port 465) no STARTTLS is attempted', async () => {
    const session = new ScriptedSession({ greeting: POSTFIX_GREETING, reply: (s) => (s.toString().startsWith('EHLO') ? POSTFIX_EHLO : '221 bye\r\n') }, { port: 465, tunnel: 'ssl' });
    await session.read(10);
    const id = await detector.followUp!({ session, timing, intensity: 7, previous: { service: 'smtp', confidence: 8 } });
    expect(session.sent.toString()).toBe('EHLO portolan.invalid\r\nQUIT\r\n');
    expect(id.startTls).toBeUndefined();
  });
  it('closing or silent servers end the follow-up quietly', async () => {
    const previous: Identification = { service: 'smtp', confidence: 8 };
    expect(await detector.followUp!({ session: new ScriptedSession({ greeting: '220 x\r\n', reply: () => 'close' }), timing, intensity: 7, previous })).toEqual(previous);
    expect(await detector.followUp!({ session: new ScriptedSession({ greeting: '220 x\r\n' }), timing, intensity: 7, previous })).toEqual(previous);
  });
});

describe('probe', () => {
  it('EHLO 250 confirms SMTP behind a bare banner', async () => {
    const session = mta('220 ready\r\n', { EHLO: POSTFIX_EHLO });
    await session.read(10);
    const id = await detector.probe!({ session, timing, intensity: 7 });
    expect(id).toMatchObject({ service: 'smtp', confidence: 7, startTls: true, hostname: 'mail.portolan.test' });
  });
  it('stays silent without a 220 greeting and rejects FTP', async () => {
    const silent = mta('', {});
    expect(await detector.probe!({ session: silent, timing, intensity: 9 })).toBeUndefined();
    expect(silent.sentBytes).toBe(0);
    const ftp = mta('220 Welcome\r\n', { EHLO: '500 Unknown command.\r\n' });
    await ftp.read(10);
    expect(await detector.probe!({ session: ftp, timing, intensity: 9 })).toBeUndefined();
  });
});

const SMTPD = '/usr/lib/postfix/sbin/smtpd';
/** smtpd on a socket insists on running as $mail_owner (`postfix`). */
const idOf = (flag: '-u' | '-g'): number => Number(spawnSync('id', [flag, 'postfix'], { encoding: 'utf8' }).stdout.trim() || NaN);
const postfixUid = idOf('-u');
const postfixGid = idOf('-g');
const canRunPostfix = process.getuid?.() === 0 && existsSync(SMTPD) && Number.isInteger(postfixUid) && Number.isInteger(postfixGid);

/**
 * Postfix smtpd in stand-alone mode (`-S`: the client is stdin/stdout), started per connection by
 * a listener on 127.0.0.1, as inetd would. Needs no master, queue manager or tlsmgr.
 */
describe.skipIf(!canRunPostfix)('against a real Postfix smtpd on 127.0.0.1', () => {
  let dir = '';
  let server: net.Server | undefined;
  let port = 0;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portolan-postfix-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'queue'));
    mkdirSync(join(dir, 'data'));
    const mainCf = [
      'compatibility_level = 3.6',
      `queue_directory = ${join(dir, 'queue')}`,
      `data_directory = ${join(dir, 'data')}`,
      'myhostname = mail.portolan.test',
      'smtpd_banner = $myhostname ESMTP $mail_name $mail_version',
      // Lookups that would need the proxymap service are switched off.
      'local_recipient_maps =',
      'alias_maps =',
      'mydestination =',
      'inet_protocols = ipv4',
      '',
    ];
    writeFileSync(join(dir, 'main.cf'), mainCf.join('\n'));
    writeFileSync(join(dir, 'master.cf'), '');
    server = net.createServer((sock) => {
      sock.pause();
      const child = spawn(SMTPD, ['-S'], { stdio: [sock, sock, 'ignore'], uid: postfixUid, gid: postfixGid, env: { MAIL_CONFIG: dir, PATH: '/usr/sbin:/usr/bin:/bin' } });
      children.push(child);
      child.on('exit', () => sock.destroy());
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    const running = children.filter((c) => c.pid !== undefined && c.exitCode === null && c.signalCode === null);
    const exits = running.map((c) => new Promise((r) => c.once('exit', r)));
    for (const c of running) process.kill(c.pid!, 'SIGTERM');
    await Promise.all(exits);
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('identifies Postfix with its version and reads EHLO', async () => {
    const id = await withLive(port, async (session) => {
      await session.read(5000, codedReplyComplete);
      const previous = detector.greeting!(session.received, session.target)!;
      expect(previous).toMatchObject({ service: 'smtp', product: 'Postfix smtpd', hostname: 'mail.portolan.test', confidence: 10 });
      expect(previous.version).toMatch(/^\d+\.\d+\.\d+$/);
      return detector.followUp!({ session, timing, intensity: 7, previous });
    });
    expect(id.fields?.['smtp.extensions']).toContain('PIPELINING');
    expect(id.evidence).toBeUndefined();
  });
});
