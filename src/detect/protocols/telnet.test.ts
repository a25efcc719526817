import { describe, expect, it } from 'vitest';
import { ScriptedSession } from '../scripted-session.js';
import type { Identification } from '../types.js';
import { bannerText, detector, identifyTelnet, knownOption, scanTelnet } from './telnet.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const cat = (...parts: Array<Buffer | string>): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const timing = { replyMs: 2000, settleMs: 100 };

/** Deterministic noise (xorshift32), so "random binary" tests can never flake. */
function noise(seed: number, n: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Real opening negotiations. */
const CISCO_IAC = hex('fffb01 fffb03 fffd18 fffd1f');
const BUSYBOX_IAC = hex('fffd01 fffd1f fffb01 fffb03');
const NETKIT_IAC = hex('fffd18 fffd20 fffd23 fffd27');
const WINDOWS_IAC = hex('fffd25 fffb01 fffb03 fffd27 fffd1f fffd00 fffb00');

describe('scanTelnet', () => {
  it('splits negotiation, subnegotiation and text', () => {
    const s = scanTelnet(cat(hex('fffd18 fffa1801fff0 fffb01'), 'login: '));
    expect(s).toMatchObject({ negotiations: [[0xfd, 0x18], [0xfb, 0x01]], subnegotiations: 1, text: 'login: ', badBytes: 0, malformed: false, startsWithIac: true });
  });
  it('IAC IAC is a data byte, two-byte commands are skipped', () => {
    const s = scanTelnet(hex('fffb01 fff1 fff9 41'));
    expect(s.negotiations).toHaveLength(1);
    expect(s.text).toBe('A');
    expect(scanTelnet(hex('fffb01 ffff')).text).toBe('\xff');
  });
  it('flags unknown options and non-commands', () => {
    expect(scanTelnet(hex('fffbc8')).malformed).toBe(true);
    expect(scanTelnet(hex('ff00')).malformed).toBe(true);
    expect(scanTelnet(hex('fff0')).malformed).toBe(true);
    expect(scanTelnet(hex('fffac8 fff0')).malformed).toBe(true);
    expect(knownOption(0x18)).toBe(true);
    expect(knownOption(200)).toBe(false);
  });
  it('bounds a subnegotiation that never ends', () => {
    const s = scanTelnet(cat(hex('fffa18'), Buffer.alloc(1 << 20, 0x41)));
    expect(s.malformed).toBe(true);
    expect(s.subnegotiations).toBe(0);
  });
  it('counts control bytes and broken UTF-8 as bad, accepts UTF-8 text', () => {
    expect(scanTelnet(cat(hex('fffb01'), 'caf\xc3\xa9 login: ')).badBytes).toBe(0);
    expect(scanTelnet(cat(hex('fffb01'), 'a\x01b\x9fc')).badBytes).toBe(2);
  });
});

describe('bannerText', () => {
  it('removes ANSI escapes and controls', () => {
    expect(bannerText('\x1b[2J\x1b[1;31mWelcome\x1b[0m\r\n\x00login: ')).toBe('Welcome\nlogin:');
    expect(bannerText('\x1b]0;title\x07hello')).toBe('hello');
    expect(bannerText('x'.repeat(1 << 20)).length).toBe(2048);
  });
});

describe('identifyTelnet', () => {
  it('Cisco IOS', () => {
    const id = identifyTelnet(cat(CISCO_IAC, '\r\n\r\nUser Access Verification\r\n\r\nUsername: '))!;
    expect(id).toMatchObject({ service: 'telnet', product: 'Cisco router telnetd', ostype: 'IOS', devicetype: 'router', confidence: 8 });
    expect(id.fields?.['telnet.banner']).toBe('User Access Verification\n\nUsername:');
  });
  it('BusyBox with version, and by its negotiation alone', () => {
    expect(identifyTelnet(cat(BUSYBOX_IAC, '\r\n\r\nBusyBox v1.36.1 (2023-05-30 12:00:00 UTC) built-in shell (ash)\r\n\r\nOpenWrt login: '))).toMatchObject({ product: 'BusyBox telnetd', version: '1.36.1', ostype: 'Linux', confidence: 10, cpe: ['cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*'] });
    expect(identifyTelnet(BUSYBOX_IAC)).toMatchObject({ product: 'BusyBox telnetd', confidence: 6 });
    expect(identifyTelnet(cat(BUSYBOX_IAC, '(none) login: '))).toMatchObject({ product: 'Linux telnetd', ostype: 'Linux' });
  });
  it('MikroTik RouterOS', () => {
    expect(identifyTelnet(cat(NETKIT_IAC, 'MikroTik v6.49.7 (stable)\r\nLogin: '))).toMatchObject({ product: 'MikroTik RouterOS telnetd', version: '6.49.7', devicetype: 'router', cpe: ['cpe:2.3:o:mikrotik:routeros:6.49.7:*:*:*:*:*:*:*'] });
  });
  it('Linux telnetd: negotiation, then the issue file', () => {
    expect(identifyTelnet(NETKIT_IAC)).toMatchObject({ product: 'Linux telnetd', ostype: 'Linux', confidence: 6 });
    const id = identifyTelnet(cat(NETKIT_IAC, 'Debian GNU/Linux 12\r\nhost login: '))!;
    expect(id).toMatchObject({ product: 'Linux telnetd', distro: 'Debian', ostype: 'Linux' });
    expect(id.packageRevision).toBeUndefined();
    expect(identifyTelnet(cat(NETKIT_IAC, 'Kernel 5.14.0-362.el9.x86_64 on an x86_64\r\nhost login: '))).toMatchObject({ product: 'Linux telnetd' });
  });
  it('Windows telnet service', () => {
    expect(identifyTelnet(cat(WINDOWS_IAC, 'Welcome to Microsoft Telnet Service \r\n\n\rlogin: '))).toMatchObject({ product: 'Microsoft Windows telnetd', ostype: 'Windows' });
  });
  it('unknown negotiating server is still telnet', () => {
    expect(identifyTelnet(hex('fffb01 fffb03'))).toEqual({ service: 'telnet', confidence: 7 });
  });
  it('plain-text login prompt only on telnet ports', () => {
    expect(identifyTelnet(Buffer.from('\r\nPassword: '), 23)).toMatchObject({ service: 'telnet', confidence: 5 });
    expect(identifyTelnet(Buffer.from('\r\nUser Access Verification\r\n\r\nPassword: '), 23)).toMatchObject({ product: 'Cisco router telnetd' });
    expect(identifyTelnet(Buffer.from('\r\nPassword: '), 8080)).toBeUndefined();
    expect(identifyTelnet(Buffer.from('Welcome\r\n'), 23)).toBeUndefined();
  });
  it('is strict: a lone IAC, truncated or malformed commands are not telnet', () => {
    for (const h of ['', 'ff', 'fffb', 'fffd', 'ff00', 'fff0', 'fffbc8', 'fff1', 'fffa18', 'fffa1801']) expect(identifyTelnet(hex(h), 23), h).toBeUndefined();
    expect(identifyTelnet(cat(hex('fffb01'), '\x01\x02\x03'), 23)).toBeUndefined();
    expect(identifyTelnet(cat('hello', hex('fffb01')), 23)).toBeUndefined();
  });
  it('does not claim other protocols', () => {
    for (const s of ['SSH-2.0-OpenSSH_9.2p1\r\n', '220 (vsFTPd 3.0.3)\r\n', 'HTTP/1.1 400 Bad Request\r\n\r\n', '+OK Dovecot ready.\r\n', 'RFB 003.008\n']) {
      expect(identifyTelnet(Buffer.from(s), 23), s).toBeUndefined();
    }
    // MySQL greeting and a TLS alert.
    expect(identifyTelnet(hex('4a0000000a382e302e3336'), 23)).toBeUndefined();
    expect(identifyTelnet(hex('15030300020228'), 23)).toBeUndefined();
  });
  it('random binary is not telnet, even behind a valid negotiation', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const junk = noise(seed, 64);
      expect(identifyTelnet(junk, 23), junk.toString('hex')).toBeUndefined();
      expect(identifyTelnet(cat(hex('fffb01'), junk), 23), junk.toString('hex')).toBeUndefined();
    }
  });
  it('huge input is bounded', () => {
    const nops = Buffer.alloc(1 << 20, 0);
    for (let i = 0; i < nops.length; i += 2) {
      nops[i] = 0xff;
      nops[i + 1] = 0xf1;
    }
    expect(identifyTelnet(cat(hex('fffb01'), nops))).toEqual({ service: 'telnet', confidence: 7 });
    const big = identifyTelnet(cat(CISCO_IAC, 'A'.repeat(1 << 20)))!;
    expect(big.fields!['telnet.banner']!.length).toBeLessThanOrEqual(2048);
  });
});

describe('followUp', () => {
  it('waits for the banner after negotiation, sends nothing', async () => {
    // The server negotiates, then prints its banner (after the runner read the negotiation).
    const session = new ScriptedSession({ greeting: NETKIT_IAC }, { port: 23 });
    await session.read(10);
    const previous = detector.greeting!(session.received, session.target)!;
    const later = new ScriptedSession({ greeting: cat(NETKIT_IAC, 'Ubuntu 22.04.3 LTS\r\nbox login: ') }, { port: 23 });
    const id = await detector.followUp!({ session: later, timing, intensity: 7, previous });
    expect(later.sentBytes).toBe(0);
    expect(id).toMatchObject({ product: 'Linux telnetd', distro: 'Ubuntu', ostype: 'Linux' });
    expect(id.fields?.['telnet.banner']).toContain('box login:');
  });
  it('upgrades a negotiation-only guess with a banner product', async () => {
    const session = new ScriptedSession({ greeting: cat(BUSYBOX_IAC, '\r\nMikroTik v7.12 (stable)\r\nLogin: ') }, { port: 23 });
    const previous: Identification = { service: 'telnet', product: 'BusyBox telnetd', ostype: 'Linux', confidence: 6 };
    expect(await detector.followUp!({ session, timing, intensity: 7, previous })).toMatchObject({ product: 'MikroTik RouterOS telnetd', version: '7.12', ostype: 'RouterOS', confidence: 10 });
  });
  it('keeps previous on silence, close or garbage', async () => {
    const previous: Identification = { service: 'telnet', confidence: 7 };
    expect(await detector.followUp!({ session: new ScriptedSession({}, { port: 23 }), timing, intensity: 7, previous })).toBe(previous);
    expect(await detector.followUp!({ session: new ScriptedSession({ greeting: hex('fffbc8'), closeAfterGreeting: true }), timing, intensity: 7, previous })).toBe(previous);
  });
});
