import { describe, expect, it } from 'vitest';
import { followScripted } from '../../../test/helpers/scripted-follow.js';
import type { Script } from '../scripted-session.js';
import type { Identification, Target, TlsInfo } from '../types.js';
import { capaComplete, detector, parseCapa, parsePop3Greeting } from './pop3.js';

const TLS: TlsInfo = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' };
const target: Target = { address: '127.0.0.1', port: 110 };
const DOVECOT_CAPA = '+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n';

function greet(text: string, t: Target = target): Identification | undefined {
  return detector.greeting!(Buffer.from(text, 'latin1'), t);
}

function popServer(over: Record<string, string | undefined> = {}) {
  return (sent: Buffer): string | undefined => {
    const verb = sent.toString('latin1').trim().toUpperCase();
    if (verb in over) return over[verb];
    if (verb === 'CAPA') return DOVECOT_CAPA;
    if (verb === 'STLS') return '+OK Begin TLS negotiation now.\r\n';
    if (verb === 'QUIT') return '+OK Logging out.\r\n';
    return '-ERR Unknown command.\r\n';
  };
}

const follow = (script: Script, t: Target = target) => followScripted(detector, script, t);

describe('pop3 greeting', () => {
  it('identifies Dovecot with distro', () => {
    const id = greet('+OK Dovecot (Debian) ready.\r\n')!;
    expect(id).toMatchObject({ service: 'pop3', product: 'Dovecot pop3d', distro: 'Debian', ostype: 'Linux', confidence: 8 });
    expect(id.fields!['pop3.banner']).toBe('Dovecot (Debian) ready.');
    expect(id.cpe).toEqual(['cpe:2.3:a:dovecot:dovecot:*:*:*:*:*:*:*:*']);
  });

  it('identifies Courier, Cyrus, Exchange, qpopper, UW, Zimbra', () => {
    expect(greet('+OK Hello there.\r\n')).toMatchObject({ product: 'Courier pop3d' });
    expect(greet('+OK Hello there. <1234.5678@mail.example.com>\r\n')).toMatchObject({ product: 'Courier pop3d' });
    expect(greet('+OK mail.example.org Cyrus POP3 3.0.8-Debian-3.0.8-6+deb10u4 server ready <1234@mail.example.org>\r\n')).toMatchObject({
      product: 'Cyrus pop3d',
      version: '3.0.8',
      hostname: 'mail.example.org',
      distro: 'Debian',
      packageRevision: '3.0.8-6+deb10u4',
    });
    expect(greet('+OK foo Cyrus POP3 v2.3.14 server ready <13087751828270990591.1301068892@foo>\r\n')).toMatchObject({ product: 'Cyrus pop3d', version: '2.3.14' });
    expect(greet('+OK The Microsoft Exchange POP3 service is ready.\r\n')).toMatchObject({ product: 'Microsoft Exchange pop3d', ostype: 'Windows' });
    expect(greet('+OK Microsoft Exchange Server 2003 POP3 server version 6.5.7638.1 (mx1.example.com) ready.\r\n')).toMatchObject({
      product: 'Microsoft Exchange pop3d',
      version: '6.5.7638.1',
      hostname: 'mx1.example.com',
    });
    expect(greet('+OK Qpopper (version 4.0.16) at mail.example.com starting.  <1.2@mail.example.com>\r\n')).toMatchObject({
      product: 'Qpopper pop3d',
      version: '4.0.16',
      cpe: ['cpe:2.3:a:qualcomm:qpopper:4.0.16:*:*:*:*:*:*:*'],
    });
    expect(greet('+OK QPOP (version 2.53) at mail starting.  <x@mail>\r\n')).toMatchObject({ product: 'Qpopper pop3d', version: '2.53' });
    expect(greet('+OK POP3 localhost v2003.83 server ready\r\n')).toMatchObject({ product: 'UW ipop3d', version: '2003.83' });
    expect(greet('+OK dogfood.example.com Zimbra POP3 server ready\r\n')).toMatchObject({ product: 'Zimbra pop3d', hostname: 'dogfood.example.com' });
  });

  it('keeps unknown servers generic and is careful with Redis-like replies off port', () => {
    expect(greet('+OK POP3 server ready <abc@host>\r\n')).toMatchObject({ service: 'pop3', confidence: 7 });
    expect(greet('+OK Welcome\r\n', { address: '127.0.0.1', port: 8110 })).toMatchObject({ service: 'pop3', confidence: 6 });
    expect(greet('+OK\r\n', { address: '127.0.0.1', port: 6379 })).toBeUndefined();
    expect(greet('-ERR unknown command \'GET\'\r\n', { address: '127.0.0.1', port: 6379 })).toBeUndefined();
    expect(greet('+OK\r\n')).toMatchObject({ service: 'pop3', confidence: 5 });
    expect(greet('-ERR too many connections\r\n')).toMatchObject({ service: 'pop3', confidence: 5 });
  });

  it('rejects other protocols and hostile input', () => {
    for (const s of ['', '+OK Dovecot', '* OK Dovecot ready.\r\n', 'SSH-2.0-x\r\n', '+OKAY\r\n', '+PONG\r\n', ' +OK x\r\n']) expect(greet(s)).toBeUndefined();
    expect(detector.greeting!(Buffer.alloc(1 << 20, 0x2b), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.concat([Buffer.from('+OK '), Buffer.alloc(1 << 20, 0x41), Buffer.from('\r\n')]), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 37) & 0xff)), target)).toBeUndefined();
    const ansi = greet('+OK \x1b[1;31mDovecot\x1b[0m ready.\r\n')!;
    expect([...ansi.fields!['pop3.banner']!].every((c) => c >= ' ' && c <= '~')).toBe(true);
    expect(parsePop3Greeting(Buffer.from('+OK\tx\r\n'))).toEqual({ ok: true, text: 'x' });
  });
});

describe('pop3 CAPA', () => {
  it('parses capabilities, SASL and IMPLEMENTATION', () => {
    expect(parseCapa(Buffer.from(DOVECOT_CAPA))).toEqual({ names: ['CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'STLS', 'USER', 'SASL'], sasl: ['PLAIN'] });
    expect(parseCapa(Buffer.from('+OK List of capabilities follows\r\nSTLS\r\nIMPLEMENTATION Cyrus POP3 v2.4.17 server\r\n.\r\n'))!.implementation).toBe('Cyrus POP3 v2.4.17 server');
    expect(parseCapa(Buffer.from('-ERR unknown command\r\n'))).toBeUndefined();
  });

  it('knows when a reply is whole', () => {
    expect(capaComplete(Buffer.from('+OK\r\nTOP\r\n'))).toBe(false);
    expect(capaComplete(Buffer.from(DOVECOT_CAPA))).toBe(true);
    expect(capaComplete(Buffer.from('-ERR no\r\n'))).toBe(true);
    expect(capaComplete(Buffer.from('-E'))).toBe(false);
    expect(capaComplete(Buffer.alloc(0))).toBe(false);
  });

  it('bounds hostile CAPA replies', () => {
    const many = `+OK\r\n${'X\r\n'.repeat(100000)}.\r\n`;
    expect(parseCapa(Buffer.from(many))!.names.length).toBeLessThanOrEqual(100);
    const sasl = `+OK\r\nSASL ${'M '.repeat(5000)}\r\n.\r\n`;
    expect(parseCapa(Buffer.from(sasl))!.sasl.length).toBeLessThanOrEqual(32);
    expect(parseCapa(Buffer.alloc(1 << 20, 0x00))).toBeUndefined();
    expect(parseCapa(Buffer.from('+OK\r\n\x1b[2J\x00\xff\r\n.\r\n'))!.names.every((n) => /^[\x20-\x7e]+$/.test(n))).toBe(true);
  });
});

describe('pop3 follow-up', () => {
  it('sends CAPA, upgrades with STLS, QUITs and reports cleartext logins', async () => {
    const { id, sent } = await follow({ greeting: '+OK Dovecot (Debian) ready.\r\n', reply: popServer(), tls: TLS });
    expect(sent).toBe('CAPA\r\nSTLS\r\nQUIT\r\n');
    expect(id).toMatchObject({ startTls: true, tls: TLS });
    expect(id.evidence).toEqual([{ id: 'pop3-plaintext-auth', detail: 'POP3 accepts cleartext logins before TLS (USER/PASS, SASL PLAIN)' }]);
  });

  it('reports nothing when only STLS is offered before TLS', async () => {
    const { id } = await follow({ greeting: '+OK Dovecot ready.\r\n', reply: popServer({ CAPA: '+OK\r\nCAPA\r\nSTLS\r\nSASL\r\n.\r\n' }), tls: TLS });
    expect(id.evidence).toBeUndefined();
    expect(id.tls).toEqual(TLS);
  });

  it('takes the product from IMPLEMENTATION when the greeting was generic', async () => {
    const { id } = await follow({
      greeting: '+OK mail server ready <1.2@mail>\r\n',
      reply: popServer({ CAPA: '+OK\r\nSTLS\r\nIMPLEMENTATION Cyrus POP3 v2.4.17-caldav-beta9 server\r\n.\r\n', STLS: '-ERR not now\r\n' }),
    });
    expect(id).toMatchObject({ product: 'Cyrus pop3d', version: '2.4.17', confidence: 9 });
    expect(id.tls).toBeUndefined();
  });

  it('does not STLS inside TLS and makes no cleartext claim', async () => {
    const { id, sent } = await follow({ greeting: '+OK Dovecot ready.\r\n', reply: popServer(), tls: TLS }, { address: '127.0.0.1', port: 995, tunnel: 'ssl' });
    expect(sent).toBe('CAPA\r\nQUIT\r\n');
    expect(id.evidence).toBeUndefined();
  });

  it('stops after a failed TLS upgrade and survives closes and garbage', async () => {
    const failed = await follow({ greeting: '+OK Dovecot ready.\r\n', reply: popServer() });
    expect(failed.sent).toBe('CAPA\r\nSTLS\r\n');
    for (const reply of [() => 'close' as const, () => undefined, () => '\xff\x00'.repeat(40000), () => '+OK\r\n'.repeat(20000)]) {
      const { id } = await follow({ greeting: '+OK ready\r\n', reply, tls: TLS });
      expect(id.service).toBe('pop3');
    }
  });

  it('does not talk to a server that refused with -ERR', async () => {
    const { sent } = await follow({ greeting: '-ERR go away\r\n', reply: popServer() });
    expect(sent).toBe('');
  });
});
