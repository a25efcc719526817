import { describe, expect, it } from 'vitest';
import { followScripted } from '../../../test/helpers/scripted-follow.js';
import type { Script } from '../scripted-session.js';
import type { Identification, Target, TlsInfo } from '../types.js';
import { detector, exchangeHostname, identifyImap, parseCapabilityResponse, parseIdResponse, parseImapGreeting, taggedLine } from './imap.js';

const DOVECOT =
  '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n';
const DOVECOT_SECURE =
  '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot (Ubuntu) ready.\r\n';
const TLS: TlsInfo = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
const target = { address: '127.0.0.1', port: 143 };

function greet(text: string): Identification | undefined {
  return detector.greeting!(Buffer.from(text, 'latin1'), target);
}

const follow = (script: Script, t: Partial<Target> = target) => followScripted(detector, script, t);

/** A server that answers IMAP commands by tag, like Dovecot. */
function imapServer(over: Record<string, string> = {}) {
  return (sent: Buffer): string | undefined => {
    const m = /^(\S+) (\S+)/.exec(sent.toString('latin1'));
    if (!m) return undefined;
    const [, tag, verb] = m as unknown as [string, string, string];
    const custom = over[verb.toUpperCase()];
    if (custom !== undefined) return custom.replaceAll('TAG', tag);
    switch (verb.toUpperCase()) {
      case 'CAPABILITY':
        return `* CAPABILITY IMAP4rev1 SASL-IR ID STARTTLS AUTH=PLAIN\r\n${tag} OK Pre-login capabilities listed, post-login capabilities have more.\r\n`;
      case 'ID':
        return `* ID ("name" "Dovecot")\r\n${tag} OK ID completed.\r\n`;
      case 'STARTTLS':
        return `${tag} OK Begin TLS negotiation now.\r\n`;
      case 'LOGOUT':
        return `* BYE Logging out\r\n${tag} OK Logout completed.\r\n`;
      default:
        return `${tag} BAD Error in IMAP command\r\n`;
    }
  };
}

describe('imap greeting', () => {
  it('identifies Dovecot with distro and STARTTLS from the capability code', () => {
    const id = greet(DOVECOT)!;
    expect(id).toMatchObject({ service: 'imap', product: 'Dovecot imapd', distro: 'Debian', ostype: 'Linux', startTls: true, confidence: 8 });
    expect(id.fields!['imap4.banner']).toBe('Dovecot (Debian) ready.');
    expect(id.cpe).toEqual(['cpe:2.3:a:dovecot:dovecot:*:*:*:*:*:*:*:*']);
    expect(greet('* OK Dovecot ready.\r\n')).toMatchObject({ product: 'Dovecot imapd' });
  });

  it('identifies Courier, Cyrus, Exchange, UW, Zimbra', () => {
    expect(
      greet(
        '* OK [CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE ACL ACL2=UNION STARTTLS] Courier-IMAP ready. Copyright 1998-2018 Double Precision, Inc.  See COPYING for distribution information.\r\n',
      ),
    ).toMatchObject({ product: 'Courier Imapd', startTls: true, cpe: ['cpe:2.3:a:double_precision_incorporated:courier-imap:*:*:*:*:*:*:*:*'] });
    expect(greet('* OK [CAPABILITY IMAP4rev1 LITERAL+ ID ENABLE STARTTLS AUTH=PLAIN SASL-IR] mail.example.org Cyrus IMAP 3.2.6-Debian-3.2.6-2+deb11u2 server ready\r\n')).toMatchObject({
      product: 'Cyrus imapd',
      version: '3.2.6',
      distro: 'Debian',
      packageRevision: '3.2.6-2+deb11u2',
      hostname: 'mail.example.org',
      cpe: ['cpe:2.3:a:cyrus:imap:3.2.6:*:*:*:*:*:*:*'],
    });
    expect(greet('* OK example.com Cyrus IMAP4 v2.3.7 server ready\r\n')).toMatchObject({ product: 'Cyrus imapd', version: '2.3.7', hostname: 'example.com' });
    const fqdn = Buffer.from('EXCH01.corp.example.com', 'utf16le').toString('base64');
    expect(greet(`* OK The Microsoft Exchange IMAP4 service is ready. [${fqdn}]\r\n`)).toMatchObject({
      product: 'Microsoft Exchange imapd',
      ostype: 'Windows',
      hostname: 'EXCH01.corp.example.com',
    });
    expect(greet('* OK Microsoft Exchange Server 2003 IMAP4rev1 server version 6.5.7638.1 (mx1.example.com) ready.\r\n')).toMatchObject({
      product: 'Microsoft Exchange imapd',
      version: '6.5.7638.1',
      hostname: 'mx1.example.com',
      confidence: 9,
    });
    expect(greet('* OK [CAPABILITY IMAP4REV1 I18NLEVEL=1 LITERAL+ SASL-IR LOGIN-REFERRALS STARTTLS AUTH=LOGIN] localhost IMAP4rev1 2007f.404 at Mon, 1 Jan 2024 10:00:00 +0000 (UTC)\r\n')).toMatchObject({
      product: 'UW imapd',
      version: '2007f.404',
      hostname: 'localhost',
    });
    expect(greet('* OK example.com Zimbra 7.0.0_GA_3079 IMAP4rev1 server ready\r\n')).toMatchObject({ product: 'Zimbra imapd', version: '7.0.0' });
  });

  it('keeps unknown servers as generic imap, and BYE/PREAUTH greetings', () => {
    expect(greet('* OK IMAP4rev1 Service Ready\r\n')).toMatchObject({ service: 'imap', confidence: 7 });
    expect(greet('* OK IMAP4rev1 Service Ready\r\n')!.product).toBeUndefined();
    expect(greet('* BYE Too many connections from your IP\r\n')).toMatchObject({ service: 'imap', confidence: 6 });
    expect(greet('* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n')).toMatchObject({ service: 'imap' });
  });

  it('rejects other protocols and hostile input', () => {
    for (const s of ['', 'SSH-2.0-OpenSSH_9.2p1\r\n', '+OK Dovecot ready.\r\n', '220 mail ESMTP\r\n', 'HTTP/1.1 400 Bad Request\r\n', '* OK', '*OK\r\n', '* OKAY\r\n']) {
      expect(greet(s)).toBeUndefined();
    }
    expect(detector.greeting!(Buffer.alloc(1 << 20, 0x41), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.concat([Buffer.from('* OK '), Buffer.alloc(1 << 20, 0x41), Buffer.from('\r\n')]), target)).toBeUndefined();
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff));
    expect(detector.greeting!(garbage, target)).toBeUndefined();
  });

  it('strips control characters and ANSI escapes from fields', () => {
    const id = greet('* OK \x1b[31mDovecot\x1b[0m ready.\x07\r\n')!;
    expect(id.fields!['imap4.banner']).toBe('[31mDovecot[0m ready.');
    expect([...id.fields!['imap4.banner']!].every((c) => c >= ' ' && c <= '~')).toBe(true);
  });

  it('caps capability lists and ignores an unterminated response code', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `X${i}`).join(' ');
    const g = parseImapGreeting(Buffer.from(`* OK [CAPABILITY ${many.slice(0, 3900)}] hi\r\n`))!;
    expect(g.capabilities!.length).toBeLessThanOrEqual(128);
    expect(parseImapGreeting(Buffer.from('* OK [CAPABILITY IMAP4rev1 STARTTLS hi\r\n'))!.capabilities).toBeUndefined();
  });
});

describe('imap parsers', () => {
  it('reads CAPABILITY and ID responses', () => {
    expect(parseCapabilityResponse(Buffer.from('* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK done\r\n'))).toEqual(['IMAP4REV1', 'STARTTLS', 'LOGINDISABLED']);
    expect(parseCapabilityResponse(Buffer.from('a1 BAD nope\r\n'))).toBeUndefined();
    expect(parseIdResponse(Buffer.from('* ID ("name" "Cyrus IMAP" "version" "3.0.8-Debian-3.0.8-6+deb10u4" "vendor" "Project Cyrus")\r\na2 OK\r\n'))).toEqual({
      name: 'Cyrus IMAP',
      version: '3.0.8-Debian-3.0.8-6+deb10u4',
    });
    expect(parseIdResponse(Buffer.from('* ID NIL\r\n'))).toBeUndefined();
    expect(parseIdResponse(Buffer.from('* ID ("name" NIL "version" "1\\"2")\r\n'))).toEqual({ version: '1"2' });
  });

  it('survives hostile ID and tagged replies', () => {
    expect(parseIdResponse(Buffer.from(`* ID ("name" "${'x'.repeat(1 << 20)}")\r\n`))).toBeUndefined();
    expect(parseIdResponse(Buffer.from('* ID ("name" "unterminated)\r\n'))).toBeUndefined();
    expect(parseIdResponse(Buffer.alloc(0))).toBeUndefined();
    expect(taggedLine(Buffer.from('a1 OK done\r\n'), 'a1')).toBe('a1 OK done');
    expect(taggedLine(Buffer.from('* x\r\na1 OK done'), 'a1')).toBeUndefined();
    expect(taggedLine(Buffer.from('* x\r\na12 OK done\r\n'), 'a1')).toBeUndefined();
    expect(taggedLine(Buffer.alloc(1 << 20, 0x61), 'a1')).toBeUndefined();
  });

  it('only decodes plausible Exchange host names', () => {
    expect(exchangeHostname(`ready [${Buffer.from('bad name!', 'utf16le').toString('base64')}]`)).toBeUndefined();
    expect(exchangeHostname(`ready [${Buffer.from('a'.repeat(200), 'latin1').toString('base64')}]`)).toBeUndefined();
    expect(exchangeHostname(`ready [${Buffer.from('mx.example.com', 'latin1').toString('base64')}]`)).toBe('mx.example.com');
    expect(exchangeHostname('ready [!!!!]')).toBeUndefined();
    expect(exchangeHostname(`ready [${'A'.repeat(1000)}]`)).toBeUndefined();
  });

  it('identifyImap is pure on a parsed greeting', () => {
    expect(identifyImap({ status: 'OK', text: 'Dovecot ready.' }).product).toBe('Dovecot imapd');
  });
});

describe('imap follow-up', () => {
  it('uses greeting capabilities, asks ID, upgrades with STARTTLS and logs out', async () => {
    const { id, sent } = await follow({ greeting: DOVECOT, reply: imapServer(), tls: TLS });
    expect(sent).not.toContain('CAPABILITY');
    expect(sent).toContain('a1 ID NIL\r\n');
    expect(sent).toContain('a2 STARTTLS\r\n');
    expect(sent).toContain('a3 LOGOUT\r\n');
    expect(id.tls).toEqual(TLS);
    expect(id.startTls).toBe(true);
    expect(id.evidence).toEqual([expect.objectContaining({ id: 'imap-plaintext-auth' })]);
    expect(id.evidence![0]!.detail).toContain('AUTH=PLAIN');
    expect(id.fields!['imap4.id.name']).toBe('Dovecot');
  });

  it('reports no cleartext-login evidence when LOGINDISABLED is advertised', async () => {
    const { id } = await follow({ greeting: DOVECOT_SECURE, reply: imapServer(), tls: TLS });
    expect(id.evidence).toBeUndefined();
    expect(id.distro).toBe('Ubuntu');
  });

  it('asks CAPABILITY when the greeting had none', async () => {
    const { id, sent } = await follow({ greeting: '* OK IMAP4rev1 Service Ready\r\n', reply: imapServer(), tls: TLS });
    expect(sent.startsWith('a1 CAPABILITY\r\n')).toBe(true);
    expect(id.startTls).toBe(true);
    // ID names Dovecot even though the greeting was customised.
    expect(id.product).toBe('Dovecot imapd');
    expect(id.confidence).toBe(8);
  });

  it('takes a version from ID (Cyrus)', async () => {
    const { id } = await follow({
      greeting: '* OK [CAPABILITY IMAP4rev1 ID STARTTLS] mail Cyrus IMAP server ready\r\n',
      reply: imapServer({ ID: '* ID ("name" "Cyrus IMAP" "version" "3.0.8-Debian-3.0.8-6+deb10u4")\r\nTAG OK Completed\r\n', STARTTLS: 'TAG NO not now\r\n' }),
    });
    expect(id).toMatchObject({ product: 'Cyrus imapd', version: '3.0.8', distro: 'Debian', packageRevision: '3.0.8-6+deb10u4', confidence: 10 });
    expect(id.cpe).toEqual(['cpe:2.3:a:cyrus:imap:3.0.8:*:*:*:*:*:*:*']);
    expect(id.tls).toBeUndefined();
  });

  it('does not STARTTLS or report cleartext logins inside TLS', async () => {
    const { id, sent } = await follow({ greeting: DOVECOT, reply: imapServer(), tls: TLS }, { address: '127.0.0.1', port: 993, tunnel: 'ssl' });
    expect(sent).not.toContain('STARTTLS');
    expect(id.evidence).toBeUndefined();
    expect(id.tls).toBeUndefined();
  });

  it('stops when the TLS upgrade fails', async () => {
    const { id, sent } = await follow({ greeting: DOVECOT, reply: imapServer() });
    expect(sent).toContain('STARTTLS');
    expect(sent).not.toContain('LOGOUT');
    expect(id.tls).toBeUndefined();
  });

  it('says nothing to a server that greeted with BYE', async () => {
    const { sent } = await follow({ greeting: '* BYE Too many connections\r\n', reply: imapServer() });
    expect(sent).toBe('');
  });

  it('survives a server that closes, stays silent or sends garbage', async () => {
    for (const reply of [() => 'close' as const, () => undefined, () => '\x00\xff\x1b[2J'.repeat(1000), () => 'a1 '.repeat(100000)]) {
      const { id } = await follow({ greeting: '* OK ready\r\n', reply, tls: TLS });
      expect(id.service).toBe('imap');
    }
  });
});
