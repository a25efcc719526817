import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { Identification, ProbeContext, TlsInfo } from '../types.js';
import { connectionRequest, detector, identifyConfirm, parseConnectionConfirm, PROTOCOL, protocolName, rdpGreeting, tpktComplete } from './rdp.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const timing = { replyMs: 1000, settleMs: 50 };

/** Windows 10/Server 2016+: SRC-REF 0x1234, flags 0x1f, CredSSP selected. */
const WINDOWS_HYBRID = hex('0300 0013 0e d0 0000 1234 00 02 1f 0800 02000000');
/** Windows with the security layer forced to TLS (flags beyond EXTENDED_CLIENT_DATA). */
const WINDOWS_TLS = hex('0300 0013 0e d0 0000 1234 00 02 0f 0800 01000000');
/** Windows 7 / 2008 R2 era: only EXTENDED_CLIENT_DATA, but CredSSP selected. */
const WINDOWS7_HYBRID = hex('0300 0013 0e d0 0000 1234 00 02 01 0800 02000000');
/** xrdp's Confirm (xrdp_iso.c): SRC-REF 0x1234, flags hard-coded to 0x01, TLS (never CredSSP). */
const XRDP_TLS = hex('0300 0013 0e d0 0000 1234 00 02 01 0800 01000000');
const XRDP_RDP = hex('0300 0013 0e d0 0000 1234 00 02 01 0800 00000000');
/** Windows 2000/XP/2003: a bare Confirm, no negotiation. */
const LEGACY_WINDOWS = hex('0300 000b 06 d0 0000 1234 00');
const HYBRID_REQUIRED = hex('0300 0013 0e d0 0000 1234 00 03 00 0800 05000000');
const OTHER_SERVER = hex('0300 0013 0e d0 0000 0000 00 02 1f 0800 02000000');

function server(reply: (requested: number) => Buffer | 'close' | undefined, tls?: TlsInfo): Script {
  return {
    reply: (sent) => (sent.length >= 19 && sent[5] === 0xe0 ? reply(sent.readUInt32LE(15)) : 'close'),
    ...(tls ? { tls } : {}),
  };
}

async function probe(script: Script): Promise<{ id: Identification | undefined; session: ScriptedSession }> {
  const session = new ScriptedSession(script, { port: 3389 });
  const ctx: ProbeContext = { session, timing, intensity: 7 };
  return { id: await detector.probe!(ctx), session };
}

const cert: TlsInfo = {
  protocol: 'TLSv1.2',
  cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
  certificate: {
    subject: 'CN=WIN-DC01.corp.example.com', issuer: 'CN=WIN-DC01.corp.example.com', altNames: [], validFrom: '2024-01-01T00:00:00Z', validTo: '2024-07-01T00:00:00Z',
    selfSigned: true, expired: false, fingerprint256: 'AA:BB', serialNumber: '01',
  },
};

describe('request', () => {
  it('is TPKT + X.224 CR + RDP_NEG_REQ for TLS|CredSSP|CredSSP-EX', () => {
    expect(connectionRequest()).toEqual(hex('0300 0013 0e e0 0000 0000 00 01 00 0800 0b000000'));
    expect(connectionRequest(PROTOCOL.SSL)).toEqual(hex('0300 0013 0e e0 0000 0000 00 01 00 0800 01000000'));
  });
});

describe('identification', () => {
  it.each([
    ['Windows CredSSP', WINDOWS_HYBRID, 'Microsoft Terminal Services', 'security: CredSSP (NLA)', false],
    ['Windows TLS', WINDOWS_TLS, 'Microsoft Terminal Services', 'security: TLS', true],
    ['Windows 7 CredSSP', WINDOWS7_HYBRID, 'Microsoft Terminal Services', 'security: CredSSP (NLA)', false],
    ['xrdp TLS', XRDP_TLS, 'xrdp', 'security: TLS', true],
    ['xrdp RDP', XRDP_RDP, 'xrdp', 'security: standard RDP security', true],
    ['legacy Windows', LEGACY_WINDOWS, 'Microsoft Terminal Services', 'standard RDP security (no negotiation)', true],
    ['HYBRID required', HYBRID_REQUIRED, 'Microsoft Terminal Services', 'negotiation failure: HYBRID_REQUIRED_BY_SERVER', false],
    ['other server', OTHER_SERVER, undefined, 'security: CredSSP (NLA)', false],
  ] as [string, Buffer, string | undefined, string, boolean][])('%s', async (_name, reply, product, extrainfo, nlaNotRequired) => {
    const { id, session } = await probe(server(() => reply));
    expect(session.sent).toEqual(connectionRequest());
    expect(id).toMatchObject({ service: 'ms-wbt-server', extrainfo });
    expect(id!.product).toBe(product);
    if (product === 'Microsoft Terminal Services') expect(id).toMatchObject({ ostype: 'Windows', cpe: ['cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*'] });
    if (product === 'xrdp') expect(id!.cpe).toEqual(['cpe:2.3:a:neutrinolabs:xrdp:*:*:*:*:*:*:*:*']);
    expect(id!.evidence?.some((e) => e.id === 'rdp-nla-not-required') ?? false).toBe(nlaNotRequired);
  });

  it('names protocols', () => {
    expect(protocolName(PROTOCOL.HYBRID_EX)).toBe('CredSSP with early user authorization (NLA)');
    expect(protocolName(PROTOCOL.RDSTLS)).toBe('RDSTLS');
    expect(protocolName(0x100)).toBe('protocol 0x100');
  });

  it('greeting recognises only a Connection Confirm', () => {
    expect(rdpGreeting(WINDOWS_HYBRID)?.service).toBe('ms-wbt-server');
    expect(rdpGreeting(connectionRequest())).toBeUndefined();
    expect(rdpGreeting(Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n'))).toBeUndefined();
    expect(rdpGreeting(hex('0300 000b 06 80 0000 0000 00'))).toBeUndefined(); // X.224 Disconnect Request
  });
});

describe('follow-up', () => {
  it('reads the certificate in-band and finds TLS-only accepted (NLA not required)', async () => {
    const script = server((req) => (req === PROTOCOL.SSL ? WINDOWS_TLS : WINDOWS_HYBRID), cert);
    const { id, session } = await probe(script);
    const final = await detector.followUp!({ session, timing, intensity: 7, previous: id! });
    expect(final.tls).toEqual(cert);
    expect(final.hostname).toBe('WIN-DC01.corp.example.com');
    expect(final.evidence).toEqual([{ id: 'rdp-nla-not-required', detail: 'server accepts a TLS-only connection without CredSSP: Network Level Authentication is not required' }]);
    expect(session.reconnects).toBe(1);
  });

  it('follows up on a fresh connection (greeting match) by negotiating first', async () => {
    const session = new ScriptedSession(server((req) => (req === PROTOCOL.SSL ? WINDOWS_TLS : WINDOWS_HYBRID), cert), { port: 3389 });
    const previous = identifyConfirm(parseConnectionConfirm(WINDOWS_HYBRID)!);
    const final = await detector.followUp!({ session, timing, intensity: 7, previous });
    expect(session.sent.subarray(0, 19)).toEqual(connectionRequest());
    expect(final.tls).toEqual(cert);
    expect(final.evidence?.[0]?.id).toBe('rdp-nla-not-required');
    const silent = new ScriptedSession(server(() => undefined), { port: 3389 });
    expect(await detector.followUp!({ session: silent, timing, intensity: 7, previous })).toBe(previous);
  });

  it('records NLA required when TLS-only is refused', async () => {
    const script = server((req) => (req === PROTOCOL.SSL ? HYBRID_REQUIRED : WINDOWS_HYBRID));
    const { id, session } = await probe(script);
    const final = await detector.followUp!({ session, timing, intensity: 7, previous: id! });
    expect(final.evidence).toBeUndefined();
    expect(final.fields!['rdp.nla_required']).toBe('true');
    expect(final.tls).toBeUndefined();
  });

  it('does nothing more for standard RDP security or failures, and survives a failed reconnect', async () => {
    for (const reply of [XRDP_RDP, HYBRID_REQUIRED, LEGACY_WINDOWS]) {
      const { id, session } = await probe(server(() => reply));
      expect(await detector.followUp!({ session, timing, intensity: 7, previous: id! })).toBe(id);
      expect(session.reconnects).toBe(0);
    }
    const { id, session } = await probe({ ...server(() => WINDOWS_HYBRID), reconnect: 'fail' });
    const final = await detector.followUp!({ session, timing, intensity: 7, previous: id! });
    expect(final.evidence).toBeUndefined();
  });
});

describe('hostile replies', () => {
  it('an echo of the request is not RDP', async () => {
    expect((await probe({ reply: (sent) => sent })).id).toBeUndefined();
  });

  it('empty, silence, close, garbage', async () => {
    for (const reply of [undefined, 'close' as const, Buffer.alloc(0), Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), randomBytes(512)]) {
      expect((await probe(server(() => reply))).id).toBeUndefined();
    }
  });

  it('truncated at every length', () => {
    for (let n = 0; n < WINDOWS_HYBRID.length; n++) {
      const part = WINDOWS_HYBRID.subarray(0, n);
      expect(tpktComplete(part)).toBe(false);
      // A cut inside the negotiation data leaves no Confirm; a cut before it is not a TPKT.
      expect(parseConnectionConfirm(part)).toBeUndefined();
    }
    expect(tpktComplete(WINDOWS_HYBRID)).toBe(true);
  });

  it('lying TPKT and X.224 lengths', () => {
    const bad = (h: string) => parseConnectionConfirm(hex(h));
    expect(bad('0300 ffff 0e d0 0000 1234 00 02 1f 0800 02000000')).toBeUndefined(); // TPKT longer than data
    expect(bad('0300 0005 0e d0 0000 1234 00 02 1f 0800 02000000')).toBeUndefined(); // TPKT too short
    expect(bad('0300 0013 ff d0 0000 1234 00 02 1f 0800 02000000')).toBeUndefined(); // LI beyond TPKT
    expect(bad('0300 0013 03 d0 0000 1234 00 02 1f 0800 02000000')).toBeUndefined(); // LI too small
    expect(bad('0300 0013 0e d0 0000 1234 00 02 1f ff00 02000000')).toBeUndefined(); // negotiation length not 8
    expect(bad('0300 0013 0e d0 0000 1234 00 07 1f 0800 02000000')).toBeUndefined(); // unknown negotiation type
    expect(bad('0400 0013 0e d0 0000 1234 00 02 1f 0800 02000000')).toBeUndefined(); // not TPKT version 3
    expect(tpktComplete(hex('0300 ffff'))).toBe(true); // absurd length: stop waiting
    expect(tpktComplete(hex('0300 0004'))).toBe(true);
    expect(tpktComplete(hex('16'))).toBe(true);
  });

  it('1 MiB reply and random bytes never throw', async () => {
    const big = Buffer.concat([WINDOWS_HYBRID.subarray(0, 4), Buffer.alloc(1024 * 1024, 0x41)]);
    expect(parseConnectionConfirm(big)).toBeUndefined();
    expect((await probe({ ...server(() => big), maxBytes: 2 * 1024 * 1024 })).id).toBeUndefined();
    for (let i = 0; i < 500; i++) {
      const g = randomBytes(1 + (i % 40));
      g[0] = 0x03;
      expect(() => rdpGreeting(g)).not.toThrow();
      expect(() => tpktComplete(g)).not.toThrow();
    }
  });

  it('a trailing TPKT after the Confirm does not change the answer', () => {
    const id = identifyConfirm(parseConnectionConfirm(Buffer.concat([XRDP_TLS, randomBytes(50)]))!);
    expect(id.product).toBe('xrdp');
  });
});
