import { describe, expect, it } from 'vitest';
import { ScriptedSession } from './scripted-session.js';
import { codedCommand, codedReplyComplete, hasToken, parseCodedReply } from './text.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('parseCodedReply', () => {
  it('single and multi-line replies', () => {
    expect(parseCodedReply(b('220 (vsFTPd 3.0.3)\r\n'))).toEqual({ code: 220, lines: ['(vsFTPd 3.0.3)'], complete: true });
    expect(parseCodedReply(b('211-Features:\r\n EPRT\r\n AUTH TLS\r\n211 End\r\n'))).toEqual({ code: 211, lines: ['Features:', 'EPRT', 'AUTH TLS', 'End'], complete: true });
    expect(parseCodedReply(b('220-a\r\n220-b\r\n220 c\r\n'))).toEqual({ code: 220, lines: ['a', 'b', 'c'], complete: true });
  });
  it('is incomplete until the closing line is terminated', () => {
    expect(parseCodedReply(b('220 (vsFTPd 3.0'))?.complete).toBe(false);
    expect(parseCodedReply(b('220-a\r\n220-b\r\n'))?.complete).toBe(false);
    expect(parseCodedReply(b('220-a\r\n220 c'))?.complete).toBe(false);
    expect(codedReplyComplete(b('220-a\r\n220 c\r\n'))).toBe(true);
    expect(codedReplyComplete(b('230-x\r\n220 c\r\n'))).toBe(false);
  });
  it('rejects non-replies and survives hostile input', () => {
    for (const s of ['', '22', '2200 x', '020 x', '999 x', 'SSH-2.0-x\r\n', ' 220 x', '\xff\xfb\x01']) expect(parseCodedReply(b(s)), s).toBeUndefined();
    const huge = parseCodedReply(b('220-' + 'x\r\n220-'.repeat(200_000)));
    expect(huge?.complete).toBe(false);
    expect(huge!.lines.length).toBeLessThanOrEqual(64);
    expect(parseCodedReply(b('220 ' + 'A'.repeat(1 << 20)))!.lines[0]!.length).toBeLessThanOrEqual(512);
    expect(parseCodedReply(b('220 \x1b[31mred\x00\x07\r\n'))!.lines[0]).toBe('[31mred');
  });
});

describe('hasToken', () => {
  it('finds a word standing on its own, case-insensitively', () => {
    expect(hasToken('mx.example.com ESMTP ready', 'E?SMTP')).toBe(true);
    expect(hasToken('ftp server ready', 'FTPS?')).toBe(true);
    expect(hasToken('(FTPS) ready', 'FTPS?')).toBe(true);
  });
  it('ignores the word inside host names and longer words', () => {
    expect(hasToken('ftp.example.com ready', 'FTPS?')).toBe(false);
    expect(hasToken('mail.ftp-gw.example ready', 'FTPS?')).toBe(false);
    expect(hasToken('SMTPS-proxy', 'E?SMTP')).toBe(false);
    expect(hasToken('', 'E?SMTP')).toBe(false);
  });
  it('looks only at a bounded prefix of huge text', () => {
    expect(hasToken(`${'A'.repeat(1 << 20)} SMTP`, 'E?SMTP')).toBe(false);
    expect(hasToken(`SMTP ${'A'.repeat(1 << 20)}`, 'E?SMTP')).toBe(true);
  });
});

describe('codedCommand', () => {
  it('sends one CRLF line and returns the whole reply', async () => {
    const s = new ScriptedSession({ reply: (sent) => (sent.toString() === 'FEAT\r\n' ? '211-Features:\r\n EPSV\r\n211 End\r\n' : '500 ?\r\n') });
    expect(await codedCommand(s, 'FEAT', 1000)).toEqual({ code: 211, lines: ['Features:', 'EPSV', 'End'], complete: true });
    expect(s.sent.toString()).toBe('FEAT\r\n');
  });
  it('is undefined on silence, garbage or a closed connection, and sends nothing once closed', async () => {
    expect(await codedCommand(new ScriptedSession({}), 'SYST', 10)).toBeUndefined();
    expect(await codedCommand(new ScriptedSession({ reply: () => 'SSH-2.0-x\r\n' }), 'SYST', 10)).toBeUndefined();
    const closed = new ScriptedSession({ greeting: '421 bye\r\n', closeAfterGreeting: true });
    await closed.read(10);
    expect(await codedCommand(closed, 'QUIT', 10)).toBeUndefined();
    expect(closed.sentBytes).toBe(0);
  });
});
