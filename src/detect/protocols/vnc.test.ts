import { describe, expect, it } from 'vitest';
import { followScripted } from '../../../test/helpers/scripted-follow.js';
import type { Script } from '../scripted-session.js';
import type { Identification, Target } from '../types.js';
import { applySecurity, clientVersion, detector, parseRfbVersion, parseSecurity, securityComplete } from './vnc.js';

const target: Target = { address: '127.0.0.1', port: 5900 };
const timing = { replyMs: 1000, settleMs: 100 };
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The RFB version line is 12 bytes. */
const follow = (script: Script) => followScripted(detector, script, target, { timing, greetingComplete: (d) => d.length >= 12 });

/** A server that answers any client version line with `offer`. */
const answering = (offer: Buffer) => (sent: Buffer) => (sent.toString('latin1').startsWith('RFB ') ? offer : undefined);

describe('vnc greeting', () => {
  it('reads the protocol version', () => {
    expect(detector.greeting!(Buffer.from('RFB 003.008\n'), target)).toEqual({ service: 'vnc', extrainfo: 'protocol 3.8', confidence: 8 });
    expect(detector.greeting!(Buffer.from('RFB 003.003\n'), target)).toMatchObject({ extrainfo: 'protocol 3.3' });
    expect(detector.greeting!(Buffer.from('RFB 003.889\n'), target)).toMatchObject({ product: 'Apple remote desktop vnc', ostype: 'Mac OS X', extrainfo: 'protocol 3.889' });
    expect(detector.greeting!(Buffer.from('RFB 004.001\n'), target)).toMatchObject({ product: 'RealVNC', extrainfo: 'protocol 4.1' });
    expect(detector.greeting!(Buffer.from('RFB 000.000\n'), target)).toMatchObject({ product: 'UltraVNC repeater' });
  });

  it('rejects near misses and hostile input', () => {
    for (const s of ['', 'RFB 003.008', 'RFB 3.8\n', 'RFB 003.008\r', 'rfb 003.008\n', ' RFB 003.008\n', 'SSH-2.0-x\r\n', 'RFB 00a.008\n']) {
      expect(detector.greeting!(Buffer.from(s), target)).toBeUndefined();
    }
    expect(detector.greeting!(Buffer.alloc(1 << 20, 0x52), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 29) & 0xff)), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from('\x1b[2JRFB 003.008\n'), target)).toBeUndefined();
    // Trailing bytes after a valid greeting do not matter.
    expect(parseRfbVersion(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.alloc(1 << 20)]))).toEqual({ major: 3, minor: 8 });
  });

  it('answers with a version we speak', () => {
    expect(clientVersion({ major: 3, minor: 8 })).toBe('RFB 003.008\n');
    expect(clientVersion({ major: 3, minor: 7 })).toBe('RFB 003.007\n');
    expect(clientVersion({ major: 3, minor: 5 })).toBe('RFB 003.003\n');
    expect(clientVersion({ major: 3, minor: 889 })).toBe('RFB 003.889\n');
    expect(clientVersion({ major: 4, minor: 1 })).toBe('RFB 003.008\n');
    expect(clientVersion({ major: 0, minor: 0 })).toBeUndefined();
  });
});

describe('vnc security offer', () => {
  it('parses 3.7+ lists, 3.3 types and failure reasons', () => {
    expect(parseSecurity(hex('02 13 02'), false)).toEqual({ types: [19, 2] });
    expect(parseSecurity(hex('00000002 0102030405060708090a0b0c0d0e0f10'), true)).toEqual({ types: [2] });
    const reason = Buffer.concat([hex('00 0000001a'), Buffer.from('Too many security failures')]);
    expect(parseSecurity(reason, false)).toEqual({ reason: 'Too many security failures' });
    const legacyReason = Buffer.concat([hex('00000000 0000000b'), Buffer.from('Not allowed')]);
    expect(parseSecurity(legacyReason, true)).toEqual({ reason: 'Not allowed' });
  });

  it('survives lying lengths, truncation and escapes', () => {
    expect(parseSecurity(hex('ff 01 02'), false)).toBeUndefined();
    expect(securityComplete(hex('ff 01 02'), false)).toBe(false);
    const lying = Buffer.concat([hex('00 ffffffff'), Buffer.from('\x1b[31mshort\x07')]);
    expect(parseSecurity(lying, false)).toEqual({ reason: '[31mshort' });
    expect(securityComplete(lying, false)).toBe(false);
    const huge = Buffer.concat([hex('00 ffffffff'), Buffer.alloc(1 << 20, 0x41)]);
    expect(securityComplete(huge, false)).toBe(true);
    expect((parseSecurity(huge, false) as { reason: string }).reason.length).toBeLessThanOrEqual(300);
    expect(parseSecurity(Buffer.alloc(0), false)).toBeUndefined();
    expect(parseSecurity(hex('00'), false)).toBeUndefined();
    expect(parseSecurity(hex('0000'), true)).toBeUndefined();
    expect(securityComplete(Buffer.alloc(0), true)).toBe(false);
    expect(securityComplete(hex('00000001'), true)).toBe(true);
  });

  it('reports None as vnc-no-auth and hints products from types', () => {
    const base: Identification = { service: 'vnc', extrainfo: 'protocol 3.8', confidence: 8 };
    const open = applySecurity(base, { types: [1] });
    expect(open.evidence).toEqual([{ id: 'vnc-no-auth', detail: 'VNC server offers security type None: no password is needed (offered: None)' }]);
    expect(applySecurity(base, { types: [16, 2] })).toMatchObject({ product: 'TightVNC', fields: { 'vnc.security_types': 'Tight, VNC Authentication' } });
    expect(applySecurity(base, { types: [30, 2] })).toMatchObject({ product: 'Apple remote desktop vnc' });
    expect(applySecurity(base, { types: [2, 200] }).fields!['vnc.security_types']).toBe('VNC Authentication, type 200');
    expect(applySecurity(base, { types: [2] }).evidence).toBeUndefined();
  });
});

describe('vnc follow-up', () => {
  it('finds a server without a password (x11vnc -nopw style)', async () => {
    const { id, sent } = await follow({ greeting: 'RFB 003.008\n', reply: answering(hex('01 01')) });
    expect(sent).toBe('RFB 003.008\n');
    expect(id.evidence?.[0]?.id).toBe('vnc-no-auth');
  });

  it('reads a TigerVNC-style offer and a 3.3 server', async () => {
    const tiger = await follow({ greeting: 'RFB 003.008\n', reply: answering(hex('02 13 02')) });
    expect(tiger.id.fields!['vnc.security_types']).toBe('VeNCrypt, VNC Authentication');
    expect(tiger.id.evidence).toBeUndefined();
    const old = await follow({ greeting: 'RFB 003.003\n', reply: answering(hex('00000002 00112233445566778899aabbccddeeff')) });
    expect(old.sent).toBe('RFB 003.003\n');
    expect(old.id.fields!['vnc.security_types']).toBe('VNC Authentication');
    const legacyOpen = await follow({ greeting: 'RFB 003.003\n', reply: answering(hex('00000001')) });
    expect(legacyOpen.id.evidence?.[0]?.id).toBe('vnc-no-auth');
  });

  it('answers Apple in kind and records failure reasons', async () => {
    const apple = await follow({ greeting: 'RFB 003.889\n', reply: answering(hex('02 1e 02')) });
    expect(apple.sent).toBe('RFB 003.889\n');
    expect(apple.id.product).toBe('Apple remote desktop vnc');
    const refused = await follow({ greeting: 'RFB 003.008\n', reply: answering(Buffer.concat([hex('00 0000001a'), Buffer.from('Too many security failures')])) });
    expect(refused.id.fields!['vnc.reason']).toBe('Too many security failures');
  });

  it('does not negotiate with a repeater and survives silence, closes and garbage', async () => {
    expect((await follow({ greeting: 'RFB 000.000\n', reply: answering(hex('01 01')) })).sent).toBe('');
    for (const reply of [() => undefined, () => 'close' as const, () => 'reset' as const, () => Buffer.alloc(70000, 0xff)]) {
      const { id } = await follow({ greeting: 'RFB 003.008\n', reply });
      expect(id.service).toBe('vnc');
      expect(id.evidence).toBeUndefined();
    }
  });
});
