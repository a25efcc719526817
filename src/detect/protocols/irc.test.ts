import { describe, expect, it } from 'vitest';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { Identification, Target } from '../types.js';
import { detector, identifyIrc, isIrcMessage, parseIrc, parseIrcLine, randomNick, registration } from './irc.js';

const target: Target = { address: '127.0.0.1', port: 6667 };
const timing = { replyMs: 1000, settleMs: 100 };

const UNREAL_NOTICES =
  ':irc.example.net NOTICE * :*** Looking up your hostname...\r\n' + ":irc.example.net NOTICE * :*** Couldn't resolve your hostname; using your IP address instead\r\n";

function welcome(nick: string, host: string, version: string): string {
  return (
    `:${host} 001 ${nick} :Welcome to the ExampleNet IRC Network ${nick}!${nick}@127.0.0.1\r\n` +
    `:${host} 002 ${nick} :Your host is ${host}, running version ${version}\r\n` +
    `:${host} 003 ${nick} :This server was created Mon Jan 1 2024 at 10:00:00 UTC\r\n` +
    `:${host} 004 ${nick} ${host} ${version} iowrsxzdHtIDRqpWGTSB lvhopsmntikraqbeQKVzMRCNSctOZLPGfZd\r\n` +
    `:${host} 005 ${nick} AWAYLEN=307 CASEMAPPING=ascii NETWORK=ExampleNet :are supported by this server\r\n`
  );
}

/** UnrealIRCd-like: notices, then a PING cookie that must be answered before the welcome burst. */
function unreal(sent: Buffer): string | undefined {
  const s = sent.toString('latin1');
  const nick = /NICK (\S+)/.exec(s)?.[1];
  if (nick !== undefined) return `${UNREAL_NOTICES}PING :6F2A1B3C\r\n`;
  if (s === 'PONG :6F2A1B3C\r\n') return welcome('pnick', 'irc.example.net', 'UnrealIRCd-6.1.2');
  if (s.startsWith('QUIT')) return 'ERROR :Closing Link: pnick[127.0.0.1] (Quit: pnick)\r\n';
  return undefined;
}

async function probeAndFollow(script: Script, t: Target = target): Promise<{ id: Identification | undefined; sent: string }> {
  const session = new ScriptedSession(script, t);
  const found = await detector.probe!({ session, timing, intensity: 7 });
  if (!found) return { id: undefined, sent: session.sent.toString('latin1') };
  const id = await detector.followUp!({ session, timing, intensity: 7, previous: found });
  return { id, sent: session.sent.toString('latin1') };
}

describe('irc parsing', () => {
  it('parses prefixed numerics, notices, PING and ERROR', () => {
    expect(parseIrcLine(':irc.example.net 004 nick irc.example.net InspIRCd-3 iosw biklmnopstv :bklov')).toEqual({
      prefix: 'irc.example.net',
      command: '004',
      params: ['nick', 'irc.example.net', 'InspIRCd-3', 'iosw', 'biklmnopstv', 'bklov'],
    });
    expect(parseIrcLine('NOTICE AUTH :*** Looking up your hostname...')).toEqual({ command: 'NOTICE', params: ['AUTH', '*** Looking up your hostname...'] });
    expect(parseIrcLine('PING :12345')).toEqual({ command: 'PING', params: ['12345'] });
    expect(parseIrcLine('')).toBeUndefined();
    expect(parseIrcLine('SSH-2.0-OpenSSH_9.2')).toBeUndefined();
  });

  it('is strict about unprompted bytes', () => {
    const strict = (l: string) => isIrcMessage(parseIrcLine(l)!, true);
    expect(strict(':irc.example.net NOTICE * :*** Looking up your hostname...')).toBe(true);
    expect(strict('NOTICE AUTH :*** Checking Ident')).toBe(true);
    expect(strict('ERROR :Closing Link: 127.0.0.1 (Throttled)')).toBe(true);
    expect(strict('PING :123')).toBe(false);
    expect(strict('ERROR :something else')).toBe(false);
    expect(strict('220 mail.example.com ESMTP')).toBe(false);
    expect(strict('HELLO world')).toBe(false);
  });

  it('reads 004 and 002 versions and the server name', () => {
    const st = parseIrc(Buffer.from(welcome('n', 'irc.example.net', 'InspIRCd-3')));
    expect(st).toMatchObject({ irc: true, myInfo: true, server: 'irc.example.net', version: 'InspIRCd-3', refused: false });
    const only002 = parseIrc(Buffer.from(':irc.example.org 002 n :Your host is irc.example.org[127.0.0.1/6667], running version ircd-hybrid-8.2.43\r\n'));
    expect(only002.version).toBe('ircd-hybrid-8.2.43');
  });

  it('maps daemon versions to products', () => {
    const cases: [string, string, string][] = [
      ['UnrealIRCd-6.1.2', 'UnrealIRCd', '6.1.2'],
      ['Unreal3.2.10.4', 'UnrealIRCd', '3.2.10.4'],
      ['InspIRCd-3', 'InspIRCd', '3'],
      ['ngircd-26.1', 'ngIRCd', '26.1'],
      ['ircd-hybrid-8.2.43', 'Hybrid ircd', '8.2.43'],
      ['solanum-1.0-dev', 'Solanum', '1.0-dev'],
      ['charybdis-4.1.2', 'Charybdis', '4.1.2'],
      ['ergo-v2.11.1', 'Ergo', '2.11.1'],
      ['u2.10.12.19', 'ircu', '2.10.12.19'],
    ];
    for (const [v, product, version] of cases) {
      const id = identifyIrc({ irc: true, myInfo: true, refused: false, pings: [], version: v, server: 'irc.example.net' })!;
      expect(id).toMatchObject({ service: 'irc', product, version, hostname: 'irc.example.net' });
    }
    expect(identifyIrc({ irc: true, myInfo: true, refused: false, pings: [], version: 'UnrealIRCd-6.1.2' })!.cpe).toEqual(['cpe:2.3:a:unrealircd:unrealircd:6.1.2:*:*:*:*:*:*:*']);
    const unknown = identifyIrc({ irc: true, myInfo: true, refused: false, pings: [], version: 'mysteryd-1' })!;
    expect(unknown).toMatchObject({ service: 'irc', extrainfo: 'version mysteryd-1' });
    expect(unknown.product).toBeUndefined();
  });

  it('makes nicks that are valid and different', () => {
    const a = randomNick();
    expect(a).toMatch(/^[a-z][a-z0-9]{7}$/);
    expect(randomNick()).not.toBe(a);
    expect(registration('pabc')).toBe('NICK pabc\r\nUSER pabc 0 * :pabc\r\n');
  });
});

describe('irc greeting', () => {
  it('recognises unprompted auth notices', () => {
    const id = detector.greeting!(Buffer.from(':irc.example.net NOTICE AUTH :*** Looking up your hostname...\r\n'), target)!;
    expect(id).toMatchObject({ service: 'irc', hostname: 'irc.example.net', confidence: 8 });
    expect(detector.greeting!(Buffer.from('NOTICE AUTH :*** Processing connection to irc.example.net\r\n'), target)).toMatchObject({ service: 'irc' });
  });

  it('rejects other protocols and hostile input', () => {
    for (const s of ['', '220 mail ESMTP Postfix\r\n', 'SSH-2.0-OpenSSH_9.2p1\r\n', '* OK ready\r\n', 'PING :x\r\n', ':irc.example.net NOTICE * :*** unterminated']) {
      expect(detector.greeting!(Buffer.from(s), target)).toBeUndefined();
    }
    expect(detector.greeting!(Buffer.alloc(1 << 20, 0x3a), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from(`:${'a'.repeat(1 << 20)} NOTICE * :*** x\r\n`), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) & 0xff)), target)).toBeUndefined();
  });

  it('cleans ANSI escapes out of versions and drops non-host server names', () => {
    const st = parseIrc(Buffer.from(':\x1b[31mevil 004 n \x1b[2Jhost UnrealIRCd-6.1.2\x1b[0m x y\r\n'));
    const id = identifyIrc(st)!;
    expect(id.hostname).toBeUndefined();
    expect(id.version).toBe('6.1.2');
    expect(JSON.stringify(id)).not.toContain('\x1b');
  });
});

describe('irc probe and follow-up', () => {
  it('answers the PING cookie, reads 004, then QUITs', async () => {
    const { id, sent } = await probeAndFollow({ reply: unreal });
    expect(id).toMatchObject({ service: 'irc', product: 'UnrealIRCd', version: '6.1.2', hostname: 'irc.example.net', confidence: 9 });
    expect(sent).toMatch(/^NICK p[a-z0-9]{7}\r\nUSER p[a-z0-9]{7} 0 \* :p[a-z0-9]{7}\r\nPONG :6F2A1B3C\r\nQUIT\r\n$/);
    expect(sent.match(/NICK/g)).toHaveLength(1);
  });

  it('registers after an unprompted notice greeting', async () => {
    const session = new ScriptedSession({
      greeting: 'NOTICE AUTH :*** Looking up your hostname...\r\n',
      reply: (s) => (s.toString().startsWith('NICK') ? welcome('n', 'irc.example.org', 'ngircd-26.1') : undefined),
    }, target);
    await session.read(1000, (d) => d.includes(0x0a));
    const previous = detector.greeting!(session.received, target)!;
    const id = await detector.followUp!({ session, timing, intensity: 7, previous });
    expect(id).toMatchObject({ product: 'ngIRCd', version: '26.1', hostname: 'irc.example.org' });
    expect(session.sent.toString()).toMatch(/^NICK \S+\r\nUSER .*\r\nQUIT\r\n$/);
  });

  it('stops on refusals and still says irc', async () => {
    const { id, sent } = await probeAndFollow({ reply: (s) => (s.toString().startsWith('NICK') ? ':irc.example.net 465 * :You are banned from this server\r\nERROR :Closing Link: 127.0.0.1 (K-Lined)\r\n' : undefined) });
    expect(id).toMatchObject({ service: 'irc', hostname: 'irc.example.net' });
    expect(id!.product).toBeUndefined();
    expect(sent).not.toContain('PONG');
  });

  it('returns undefined for non-IRC replies and survives garbage, floods and silence', async () => {
    expect((await probeAndFollow({ reply: () => 'HTTP/1.1 400 Bad Request\r\n\r\n' })).id).toBeUndefined();
    expect((await probeAndFollow({ reply: () => undefined })).id).toBeUndefined();
    expect((await probeAndFollow({ reply: () => 'close' })).id).toBeUndefined();
    expect((await probeAndFollow({ reply: () => Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7) & 0xff)) })).id).toBeUndefined();
    // A server that PINGs forever: bounded rounds, at most a few PONGs.
    let n = 0;
    const { id, sent } = await probeAndFollow({ reply: () => `PING :${n++}\r\n` });
    expect(id).toMatchObject({ service: 'irc' });
    expect((sent.match(/PONG/g) ?? []).length).toBeLessThanOrEqual(10);
    // A megabyte of notices: the byte cap ends it.
    const flood = await probeAndFollow({ reply: () => ':s NOTICE * :*** x\r\n'.repeat(60000) });
    expect(flood.id).toMatchObject({ service: 'irc' });
  });
});
