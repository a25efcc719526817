import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitReachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { Identification, ProbeContext } from '../types.js';
import { decodeTree, encodeTlv } from './ber.js';
import {
  detector, DIALECTS, frameComplete, guidName, identifyChallenge, identifyNegotiate, MAX_FRAME, negotiateRequest, parseNegotiateResponse,
  parseSessionSetupResponse, readFrame, sessionSetupRequest, smbGreeting,
} from './smb.js';
import { filetime, ntlmFromSecurityBlob, ntlmNegotiate, parseNtlmChallenge } from './smb-ntlm.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const timing = { replyMs: 1000, settleMs: 50 };

/** Samba 4.17.12 (Debian 12), standalone, netbios name PORTOLANTEST: NEGOTIATE response as captured. */
const SAMBA_NEGOTIATE = hex(
  '0000010cfe534d424000000000000000000001000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004100010011030200706f72746f6c616e74657374000000000f000000000080000000800000008000cc1748fc8379dd01000000000000000080004a00d0000000604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f72650000000000000100260000000000010020000100dccd216f54b02fba45ddb965986e87ae9decfb8164bcad2772d9091ccf3c8e880000020004000000000001000200',
);
/** The same server's SESSION_SETUP response to an anonymous NTLMSSP NEGOTIATE (CHALLENGE inside SPNEGO). */
const SAMBA_SESSION_SETUP = hex(
  '0000010bfe534d4240000100160000c0010001000100000000000000010000000000000000000000000000004fe90ef60000000000000000000000000000000000000000090000004800c300a181c03081bda0030a0101a10c060a2b06010401823702020aa281a70481a44e544c4d5353500002000000180018003800000015828ae25e689fcec19141dd00000000000000005400540050000000060100000000000f50004f00520054004f004c0041004e0054004500530054000200180050004f00520054004f004c0041004e0054004500530054000100180050004f00520054004f004c0041004e005400450053005400040000000300040076006d0007000800366252fc8379dd0100000000',
);

function frame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0, payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff]), payload]);
}

function header(command: number, status = 0, messageId = 0): Buffer {
  const h = Buffer.alloc(64);
  h.writeUInt32BE(0xfe534d42, 0);
  h.writeUInt16LE(64, 4);
  h.writeUInt32LE(status, 8);
  h.writeUInt16LE(command, 12);
  h.writeUInt16LE(1, 14);
  h.writeUInt32LE(1, 16); // server-to-redirector
  h.writeUInt32LE(messageId, 24);
  return h;
}

interface NegOpts { dialect?: number; mode?: number; guid?: Buffer; blob?: Buffer; contexts?: Buffer; ctxCount?: number; ctxOffset?: number; secOffset?: number; secLen?: number; status?: number }
/** A Windows-like NEGOTIATE response (random GUID, clock set). */
function negotiateResponse(o: NegOpts = {}): Buffer {
  const body = Buffer.alloc(64);
  const blob = o.blob ?? Buffer.alloc(0);
  body.writeUInt16LE(65, 0);
  body.writeUInt16LE(o.mode ?? 0x03, 2);
  body.writeUInt16LE(o.dialect ?? 0x0311, 4);
  body.writeUInt16LE(o.ctxCount ?? (o.contexts ? 1 : 0), 6);
  (o.guid ?? hex('8a2b1c4d5e6f708192a3b4c5d6e7f801')).copy(body, 8);
  body.writeUInt32LE(0x2f, 24);
  body.writeBigUInt64LE(133500000000000000n, 40); // 2024-01-22
  body.writeUInt16LE(o.secOffset ?? 128, 56);
  body.writeUInt16LE(o.secLen ?? blob.length, 58);
  const pad = Buffer.alloc((8 - ((128 + blob.length) % 8)) % 8);
  body.writeUInt32LE(o.ctxOffset ?? 128 + blob.length + pad.length, 60);
  return frame(Buffer.concat([header(0, o.status ?? 0), body, blob, pad, o.contexts ?? Buffer.alloc(0)]));
}

/** An NTLMSSP CHALLENGE with a VERSION field and AV pairs. */
function challenge(version: [number, number, number] | undefined, av: [number, string][], flags = 0xe28a8215): Buffer {
  const pairs = Buffer.concat([
    ...av.map(([id, v]) => {
      const s = Buffer.from(v, 'utf16le');
      const h = Buffer.alloc(4);
      h.writeUInt16LE(id, 0);
      h.writeUInt16LE(s.length, 2);
      return Buffer.concat([h, s]);
    }),
    Buffer.alloc(4),
  ]);
  const name = Buffer.from('CORP', 'utf16le');
  const m = Buffer.alloc(56);
  m.write('NTLMSSP\0', 0, 'latin1');
  m.writeUInt32LE(2, 8);
  m.writeUInt16LE(name.length, 12);
  m.writeUInt16LE(name.length, 14);
  m.writeUInt32LE(56, 16);
  m.writeUInt32LE(version ? flags : (flags & ~0x02000000) >>> 0, 20);
  m.writeUInt16LE(pairs.length, 40);
  m.writeUInt16LE(pairs.length, 42);
  m.writeUInt32LE(56 + name.length, 44);
  if (version) {
    m[48] = version[0];
    m[49] = version[1];
    m.writeUInt16LE(version[2], 50);
    m[55] = 15;
  }
  return Buffer.concat([m, name, pairs]);
}

function sessionSetupResponse(ntlm: Buffer, status = 0xc0000016, spnego = true): Buffer {
  const blob = spnego
    ? encodeTlv(0xa1, encodeTlv(0x30, encodeTlv(0xa0, hex('0a0101')), encodeTlv(0xa1, hex('060a2b06010401823702020a')), encodeTlv(0xa2, encodeTlv(0x04, ntlm))))
    : ntlm;
  const body = Buffer.alloc(8);
  body.writeUInt16LE(9, 0);
  body.writeUInt16LE(72, 4);
  body.writeUInt16LE(blob.length, 6);
  return frame(Buffer.concat([header(1, status, 1), body, blob]));
}

const WINDOWS_AV: [number, string][] = [[2, 'CORP'], [1, 'DC01'], [4, 'corp.example.com'], [3, 'dc01.corp.example.com'], [5, 'corp.example.com']];

/** Reply by SMB2 command: NEGOTIATE → `neg`, SESSION_SETUP → `setup`. */
function server(neg: Buffer | 'close' | undefined, setup?: Buffer): Script {
  return {
    reply: (sent) => {
      const f = readFrame(sent);
      if (f.kind !== 'ok' || f.payload.length < 64) return 'close';
      return f.payload.readUInt16LE(12) === 0 ? neg : setup;
    },
  };
}

async function probeAndFollow(script: Script): Promise<{ first: Identification | undefined; final: Identification | undefined; session: ScriptedSession }> {
  const session = new ScriptedSession(script, { port: 445 });
  const ctx: ProbeContext = { session, timing, intensity: 7 };
  const first = await detector.probe!(ctx);
  const final = first ? await detector.followUp!({ ...ctx, previous: first }) : undefined;
  return { first, final, session };
}

describe('requests', () => {
  it('NEGOTIATE offers 2.0.2–3.1.1 with preauth SHA-512 and AES-128-GCM/CCM contexts', () => {
    const req = negotiateRequest();
    const f = readFrame(req);
    expect(f.kind).toBe('ok');
    if (f.kind !== 'ok') return;
    const p = f.payload;
    expect(req.readUIntBE(1, 3)).toBe(p.length);
    expect(p.subarray(0, 4)).toEqual(hex('fe534d42'));
    expect(p.readUInt16LE(12)).toBe(0);
    expect(p.readUInt16LE(64)).toBe(36);
    expect(p.readUInt16LE(66)).toBe(5);
    expect(p.readUInt16LE(68)).toBe(0x0001);
    expect([0, 1, 2, 3, 4].map((i) => p.readUInt16LE(100 + i * 2))).toEqual([...DIALECTS]);
    const ctxOffset = p.readUInt32LE(92);
    expect(ctxOffset % 8).toBe(0);
    expect(p.readUInt16LE(96)).toBe(2);
    expect(p.readUInt16LE(ctxOffset)).toBe(1);
    expect(p.readUInt16LE(ctxOffset + 2)).toBe(38);
    expect(p.subarray(ctxOffset + 8, ctxOffset + 14)).toEqual(hex('0100 2000 0100'));
    const enc = ctxOffset + 48;
    expect(p.subarray(enc, enc + 14)).toEqual(hex('0200 0600 00000000 0200 0200 0100'));
    expect(p.length).toBe(enc + 14);
  });

  it('SESSION_SETUP carries SPNEGO(NTLMSSP NEGOTIATE) and no credentials', () => {
    const f = readFrame(sessionSetupRequest(1, 0x0311));
    if (f.kind !== 'ok') throw new Error('frame');
    const p = f.payload;
    expect(p.readUInt16LE(12)).toBe(1);
    expect(p.readUInt32LE(24)).toBe(1);
    expect(p.readUInt16LE(6)).toBe(1); // credit charge for 2.1+
    const off = p.readUInt16LE(64 + 12);
    const blob = p.subarray(off, off + p.readUInt16LE(64 + 14));
    expect(decodeTree(blob).kind).toBe('ok');
    expect(blob.indexOf(ntlmNegotiate())).toBeGreaterThan(0);
    expect(ntlmNegotiate().subarray(0, 12)).toEqual(Buffer.concat([Buffer.from('NTLMSSP\0'), hex('01000000')]));
    const f2 = readFrame(sessionSetupRequest(1, 0x0202));
    if (f2.kind === 'ok') expect(f2.payload.readUInt16LE(6)).toBe(0);
  });
});

describe('Samba (captured)', () => {
  it('parses the NEGOTIATE response', () => {
    const f = readFrame(SAMBA_NEGOTIATE);
    if (f.kind !== 'ok') throw new Error('frame');
    const neg = parseNegotiateResponse(f.payload)!;
    expect(neg).toMatchObject({ status: 0, dialect: 0x0311, dialectName: '3.1.1', signingEnabled: true, signingRequired: false, capabilities: 0x0f, cipher: 2, guidName: 'portolantest' });
    expect(neg.systemTime).toBe('2026-11-21T06:46:07.124Z');
    expect(neg.serverStartTime).toBeUndefined();
    const id = identifyNegotiate(neg);
    expect(id).toMatchObject({ service: 'microsoft-ds', product: 'Samba smbd', extrainfo: 'SMB 3.1.1; signing enabled, not required', confidence: 7 });
    expect(id.evidence).toEqual([{ id: 'smb-signing-not-required', detail: 'SMB 3.1.1 server does not require message signing (signing enabled, not required)' }]);
  });

  it('reads version 6.1 build 0 and the names from the CHALLENGE', async () => {
    const f = readFrame(SAMBA_SESSION_SETUP);
    if (f.kind !== 'ok') throw new Error('frame');
    const ch = parseSessionSetupResponse(f.payload)!;
    expect(ch).toMatchObject({ targetName: 'PORTOLANTEST', version: { major: 6, minor: 1, build: 0, revision: 15 }, nbComputer: 'PORTOLANTEST', nbDomain: 'PORTOLANTEST', dnsComputer: 'vm' });
    const { final, session } = await probeAndFollow(server(SAMBA_NEGOTIATE, SAMBA_SESSION_SETUP));
    expect(final).toMatchObject({ service: 'microsoft-ds', product: 'Samba smbd', hostname: 'vm', confidence: 8, cpe: ['cpe:2.3:a:samba:samba:*:*:*:*:*:*:*:*'] });
    expect(final!.extrainfo).toBe('SMB 3.1.1; signing enabled, not required');
    expect(final!.fields!['ntlm.os_version']).toBe('6.1.0');
    expect(session.sent.length).toBeGreaterThan(300);
  });
});

describe('Windows (scripted)', () => {
  it('signing required, build 17763, domain names', async () => {
    const { first, final } = await probeAndFollow(server(negotiateResponse(), sessionSetupResponse(challenge([10, 0, 17763], WINDOWS_AV))));
    expect(first).toMatchObject({ service: 'microsoft-ds', extrainfo: 'SMB 3.1.1; signing required' });
    expect(first!.product).toBeUndefined();
    expect(first!.evidence).toBeUndefined();
    expect(final).toMatchObject({
      product: 'Microsoft Windows SMB', version: '10.0.17763', ostype: 'Windows', hostname: 'dc01.corp.example.com', confidence: 9,
      extrainfo: 'SMB 3.1.1; signing required; Windows build 10.0.17763 (Windows 10 1809 / Server 2019); domain: corp.example.com',
    });
  });

  it('raw NTLMSSP blobs, older dialects, no VERSION field', async () => {
    const { final } = await probeAndFollow(server(negotiateResponse({ dialect: 0x0210, mode: 0x01 }), sessionSetupResponse(challenge(undefined, [[2, 'WORKGROUP'], [1, 'NAS']]), 0xc0000016, false)));
    expect(final).toMatchObject({ service: 'microsoft-ds', extrainfo: 'SMB 2.1; signing enabled, not required; domain: WORKGROUP', hostname: 'NAS' });
    expect(final!.product).toBeUndefined();
    expect(final!.evidence?.[0]?.id).toBe('smb-signing-not-required');
  });

  it('follows up on a fresh connection (greeting match) by negotiating first', async () => {
    const session = new ScriptedSession(server(negotiateResponse(), sessionSetupResponse(challenge([10, 0, 20348], WINDOWS_AV))), { port: 445 });
    const previous: Identification = { service: 'microsoft-ds', confidence: 8, extrainfo: 'SMB 3.1.1; signing required' };
    const final = await detector.followUp!({ session, timing, intensity: 7, previous });
    expect(final).toMatchObject({ product: 'Microsoft Windows SMB', version: '10.0.20348' });
    expect(final.extrainfo).toContain('Windows Server 2022');
    const refused = new ScriptedSession(server(negotiateResponse({ status: 0xc0000001 })), { port: 445 });
    expect(await detector.followUp!({ session: refused, timing, intensity: 7, previous })).toBe(previous);
  });

  it('a refused SESSION_SETUP leaves the negotiate result', async () => {
    const { first, final } = await probeAndFollow(server(negotiateResponse(), sessionSetupResponse(challenge([10, 0, 20348], []), 0xc0000022)));
    expect(final).toEqual(first);
  });

  it('a non-success NEGOTIATE status and an SMB1 reply are still microsoft-ds', () => {
    expect(smbGreeting(negotiateResponse({ status: 0xc00000bb }))).toMatchObject({ service: 'microsoft-ds', extrainfo: 'SMB2 negotiate status 0xc00000bb' });
    const short = frame(Buffer.concat([header(0), hex('4100 0100 1103')]));
    expect(smbGreeting(short)).toEqual({ service: 'microsoft-ds', confidence: 7 });
    const smb1 = frame(Buffer.concat([hex('ff534d4272 00000000 98'), Buffer.alloc(40)]));
    expect(smbGreeting(smb1)).toEqual({ service: 'microsoft-ds', confidence: 7, extrainfo: 'SMB1 reply' });
    expect(smbGreeting(frame(Buffer.concat([hex('ff534d4272 00000000 18'), Buffer.alloc(40)])))).toBeUndefined(); // an SMB1 request
  });
});

describe('hostile input', () => {
  it('an echo of our own requests is not SMB', async () => {
    expect((await probeAndFollow({ reply: (sent) => sent })).first).toBeUndefined();
    expect(smbGreeting(sessionSetupRequest())).toBeUndefined();
  });

  it('empty, silence, close, garbage', async () => {
    for (const reply of [undefined, 'close' as const, Buffer.alloc(0), Buffer.from('HTTP/1.1 400 Bad\r\n\r\n'), randomBytes(2048)]) {
      expect((await probeAndFollow(server(reply))).first).toBeUndefined();
    }
    expect(smbGreeting(Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n'))).toBeUndefined();
  });

  it('NetBIOS length larger than the data, or absurd', () => {
    const truncated = SAMBA_NEGOTIATE.subarray(0, 100);
    expect(readFrame(truncated)).toEqual({ kind: 'incomplete' });
    expect(frameComplete(truncated)).toBe(false);
    expect(smbGreeting(truncated)).toBeUndefined();
    expect(readFrame(hex('00ffffff fe534d42'))).toMatchObject({ kind: 'invalid', reason: 'frame too large' });
    expect(readFrame(hex(`00${(MAX_FRAME + 1).toString(16).padStart(6, '0')}`))).toMatchObject({ kind: 'invalid' });
    expect(readFrame(hex('00000002 0000'))).toMatchObject({ kind: 'invalid', reason: 'frame too short' });
    expect(readFrame(hex('83000001 8f'))).toMatchObject({ kind: 'invalid' }); // NetBIOS negative session response
    expect(readFrame(Buffer.concat(Array.from({ length: 20 }, () => hex('85000000'))))).toMatchObject({ kind: 'invalid', reason: 'keepalive flood' });
    expect(readFrame(Buffer.concat([hex('85000000'), SAMBA_NEGOTIATE])).kind).toBe('ok');
    expect(readFrame(Buffer.alloc(0))).toEqual({ kind: 'incomplete' });
  });

  it('truncated at every length, never throws', () => {
    for (let n = 0; n < SAMBA_NEGOTIATE.length; n++) {
      const part = SAMBA_NEGOTIATE.subarray(0, n);
      expect(() => smbGreeting(part)).not.toThrow();
      // Re-frame the truncated payload so the parsers see short SMB bodies too.
      const f = readFrame(frame(SAMBA_NEGOTIATE.subarray(4, Math.max(8, n))));
      if (f.kind === 'ok') expect(() => parseNegotiateResponse(f.payload)).not.toThrow();
    }
    for (let n = 0; n < SAMBA_SESSION_SETUP.length; n++) {
      const f = readFrame(frame(SAMBA_SESSION_SETUP.subarray(4, Math.max(8, n))));
      if (f.kind === 'ok') expect(() => parseSessionSetupResponse(f.payload)).not.toThrow();
    }
  });

  it('1 MiB frame claim and 1 MiB of bytes', () => {
    const big = Buffer.concat([hex('00100000'), Buffer.alloc(1024 * 1024, 0x41)]);
    expect(readFrame(big)).toMatchObject({ kind: 'invalid', reason: 'frame too large' });
    expect(frameComplete(big)).toBe(true);
    expect(smbGreeting(big)).toBeUndefined();
    expect(() => parseNtlmChallenge(Buffer.concat([Buffer.from('NTLMSSP\0'), hex('02000000'), Buffer.alloc(1024 * 1024, 0xff)]))).not.toThrow();
  });

  it('lying security-buffer offsets and negotiate contexts', () => {
    const parse = (b: Buffer) => {
      const f = readFrame(b);
      return f.kind === 'ok' ? parseNegotiateResponse(f.payload) : undefined;
    };
    expect(parse(negotiateResponse({ ctxCount: 50, ctxOffset: 0xfffffff0, contexts: hex('0200 ffff 00000000') }))?.cipher).toBeUndefined();
    expect(parse(negotiateResponse({ ctxCount: 3, contexts: hex('0200 ff00 00000000 0100 0200') }))?.cipher).toBeUndefined();
    expect(parse(negotiateResponse({ secOffset: 0xffff, secLen: 0xffff }))?.dialectName).toBe('3.1.1');
    const setup = sessionSetupResponse(challenge([10, 0, 1], []));
    const f = readFrame(setup);
    if (f.kind !== 'ok') throw new Error('frame');
    const lying = Buffer.from(f.payload);
    lying.writeUInt16LE(0xffff, 64 + 6);
    expect(parseSessionSetupResponse(lying)).toBeUndefined();
    lying.writeUInt16LE(10, 64 + 4);
    expect(parseSessionSetupResponse(lying)).toBeUndefined();
  });

  it('lying NTLM fields, AV pairs and hostile strings', () => {
    const ch = challenge([10, 0, 19045], [[1, 'HOST\x1b[31m\r\nX'], [3, 'evil host;rm -rf'], [2, 'DOM']]);
    const parsed = parseNtlmChallenge(ch)!;
    expect(parsed.nbComputer).toBe('HOST[31mX');
    const id = identifyChallenge({ service: 'microsoft-ds', confidence: 8 }, parsed);
    expect(id.hostname).toBeUndefined(); // neither name is a safe host name
    expect(JSON.stringify(id)).not.toMatch(/\\u001b|\\r|\\n/);
    const lying = Buffer.from(ch);
    lying.writeUInt32LE(0xfffffff0, 44); // target info offset beyond the message
    lying.writeUInt32LE(0x7ffffff0, 16); // target name too
    const p2 = parseNtlmChallenge(lying)!;
    expect(p2.nbComputer).toBeUndefined();
    expect(p2.targetName).toBeUndefined();
    expect(p2.version?.build).toBe(19045);
    // An AV pair whose length runs past the target info ends the walk.
    const av = challenge([10, 0, 1], [[1, 'A']]);
    av.writeUInt16LE(0x7fff, 56 + 8 + 2);
    expect(parseNtlmChallenge(av)!.nbComputer).toBeUndefined();
    expect(parseNtlmChallenge(Buffer.from('NTLMSSP\0'))).toBeUndefined();
    expect(parseNtlmChallenge(Buffer.concat([Buffer.from('NTLMSSP\0'), hex('01000000'), Buffer.alloc(60)]))).toBeUndefined();
  });

  it('SPNEGO with indefinite lengths or deep nesting yields nothing', () => {
    expect(ntlmFromSecurityBlob(hex('a180 3080 a2 80 0400 0000'))).toBeUndefined();
    let nested = encodeTlv(0x04, Buffer.from('NTLMSSP\0'));
    for (let i = 0; i < 1000; i++) nested = encodeTlv(0xa2, nested);
    expect(() => ntlmFromSecurityBlob(encodeTlv(0xa1, encodeTlv(0x30, nested)))).not.toThrow();
    expect(ntlmFromSecurityBlob(Buffer.alloc(0))).toBeUndefined();
    expect(ntlmFromSecurityBlob(randomBytes(512))).toBeUndefined();
  });

  it('GUID names and FILETIMEs are bounded', () => {
    expect(guidName(hex('706f72746f6c616e7465737400000000'))).toBe('portolantest');
    expect(guidName(hex('8a2b1c4d5e6f708192a3b4c5d6e7f801'))).toBeUndefined();
    expect(guidName(hex('41424300000000000000000000000001'))).toBeUndefined();
    expect(guidName(Buffer.alloc(16))).toBeUndefined();
    expect(filetime(hex('ffffffffffffffff'), 0)).toBeUndefined();
    expect(filetime(hex('0000000000000000'), 0)).toBeUndefined();
    expect(filetime(hex('00'), 0)).toBeUndefined();
  });
});

/** A real smbd on 127.0.0.1 when Samba is installed (apt-get install samba); skipped otherwise. */
const SMBD = '/usr/sbin/smbd';
describe.skipIf(!existsSync(SMBD))('live smbd on 127.0.0.1', () => {
  let child: ChildProcess | undefined;
  let dir = '';
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'portolan-smbd-'));
    for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc']) mkdirSync(join(dir, d));
    const conf = join(dir, 'smb.conf');
    writeFileSync(conf, [
      '[global]', `smb ports = ${port}`, 'interfaces = 127.0.0.1', 'bind interfaces only = yes', 'disable netbios = yes',
      'server role = standalone server', 'netbios name = PORTOLANLIVE', 'workgroup = LABGROUP', 'server signing = mandatory',
      `private dir = ${dir}/private`, `lock directory = ${dir}/lock`, `state directory = ${dir}/state`, `cache directory = ${dir}/cache`,
      `pid directory = ${dir}/pid`, `ncalrpc dir = ${dir}/ncalrpc`, `log file = ${dir}/log.smbd`, '',
    ].join('\n'));
    // Its own process group: smbd signals its whole group when it exits, which must not reach vitest.
    child = spawn(SMBD, ['--foreground', '--no-process-group', '-s', conf], { stdio: 'ignore', detached: true });
    if (!(await waitReachable(port, 10_000))) throw new Error('smbd did not start');
  });

  afterAll(() => {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('identifies Samba smbd with signing required', async () => {
    await withLive(port, async (session) => {
      const ctx: ProbeContext = { session, timing: { replyMs: 3000, settleMs: 50 }, intensity: 7 };
      const first = await detector.probe!(ctx);
      expect(first).toMatchObject({ service: 'microsoft-ds', product: 'Samba smbd', fields: { 'smb.guid_name': 'portolanlive' } });
      expect(first!.extrainfo).toMatch(/^SMB 3\.1\.1; signing required$/);
      expect(first!.evidence).toBeUndefined();
      const final = await detector.followUp!({ ...ctx, previous: first! });
      expect(final).toMatchObject({ product: 'Samba smbd', confidence: 8 });
      expect(final.fields!['ntlm.netbios_computer']).toBe('PORTOLANLIVE');
    });
  });
});
