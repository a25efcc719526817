/**
 * SMB over direct TCP (445; 139 is NetBIOS session service and not spoken here). The client
 * speaks first: an SMB2 NEGOTIATE offering 2.0.2 through 3.1.1 (with the preauth-integrity and
 * encryption contexts 3.1.1 requires) tells dialect, signing policy, server GUID and clock. The
 * follow-up starts an anonymous SESSION_SETUP with an NTLMSSP NEGOTIATE (no credentials): the
 * server's CHALLENGE carries its OS version and NetBIOS/DNS names, which tell Windows (with its
 * build) from Samba (which reports build 0). The session is never authenticated.
 */
import { randomBytes } from 'node:crypto';
import { cpe23 } from '../../core/cpe.js';
import type { Detector, Identification, ProbeContext } from '../types.js';
import { filetime, ntlmFromSecurityBlob, ntlmNegotiate, parseNtlmChallenge, spnegoInit, windowsRelease, type NtlmChallenge } from './smb-ntlm.js';

/** Dialects offered, oldest first. */
export const DIALECTS = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311] as const;
const DIALECT_NAMES: Record<number, string> = { 0x0202: '2.0.2', 0x0210: '2.1', 0x0300: '3.0', 0x0302: '3.0.2', 0x0311: '3.1.1', 0x02ff: '2.x' };

const SMB2_MAGIC = 0xfe534d42;
const SMB1_MAGIC = 0xff534d42;
const HEADER = 64;
/** A NEGOTIATE or SESSION_SETUP reply is a few hundred bytes; a frame claiming more is a lie. */
export const MAX_FRAME = 65536;
const STATUS_MORE_PROCESSING = 0xc0000016;

/** Wrap an SMB message in the 4-byte direct-TCP header (zero, 24-bit big-endian length). */
function frame(payload: Buffer): Buffer {
  const h = Buffer.from([0, (payload.length >> 16) & 0xff, (payload.length >> 8) & 0xff, payload.length & 0xff]);
  return Buffer.concat([h, payload]);
}

function smb2Header(command: number, messageId: number, creditCharge: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt32BE(SMB2_MAGIC, 0);
  h.writeUInt16LE(HEADER, 4);
  h.writeUInt16LE(creditCharge, 6);
  h.writeUInt16LE(command, 12);
  h.writeUInt16LE(31, 14); // credits requested: enough for the session setup that follows
  h.writeUInt32LE(messageId, 24);
  return h;
}

/** The SMB2 NEGOTIATE request, framed. */
export function negotiateRequest(): Buffer {
  const fixed = Buffer.alloc(36);
  const dialects = Buffer.alloc(DIALECTS.length * 2);
  DIALECTS.forEach((d, i) => dialects.writeUInt16LE(d, i * 2));
  const beforeContexts = HEADER + fixed.length + dialects.length;
  const padding = Buffer.alloc((8 - (beforeContexts % 8)) % 8);
  const contexts = Buffer.concat([
    // PREAUTH_INTEGRITY_CAPABILITIES: one algorithm (SHA-512), 32-byte salt; padded to 8.
    Buffer.from('0100260000000000010020000100', 'hex'), randomBytes(32), Buffer.alloc(2),
    // ENCRYPTION_CAPABILITIES: AES-128-GCM, then AES-128-CCM.
    Buffer.from('0200060000000000020002000100', 'hex'),
  ]);
  fixed.writeUInt16LE(36, 0);
  fixed.writeUInt16LE(DIALECTS.length, 2);
  fixed.writeUInt16LE(0x0001, 4); // signing enabled, not required
  fixed.writeUInt32LE(0x0000007f, 8); // DFS, leasing, large MTU, multichannel, persistent handles, dir leasing, encryption
  randomBytes(16).copy(fixed, 12); // client GUID
  fixed.writeUInt32LE(beforeContexts + padding.length, 28);
  fixed.writeUInt16LE(2, 32);
  return frame(Buffer.concat([smb2Header(0, 0, 0), fixed, dialects, padding, contexts]));
}

/** SMB2 SESSION_SETUP carrying the anonymous NTLMSSP NEGOTIATE, framed. */
export function sessionSetupRequest(messageId = 1, dialect = 0x0311): Buffer {
  const blob = spnegoInit(ntlmNegotiate());
  const fixed = Buffer.alloc(24);
  fixed.writeUInt16LE(25, 0);
  fixed[3] = 0x01; // signing enabled
  fixed.writeUInt32LE(0x01, 4); // DFS
  fixed.writeUInt16LE(HEADER + 24, 12);
  fixed.writeUInt16LE(blob.length, 14);
  return frame(Buffer.concat([smb2Header(1, messageId, dialect >= 0x0210 ? 1 : 0), fixed, blob]));
}

/** One direct-TCP frame: `incomplete` while more bytes could finish it, `invalid` if none can. */
export type FrameRead = { kind: 'ok'; payload: Buffer; next: number } | { kind: 'incomplete' } | { kind: 'invalid'; reason: string };

/** The first SMB frame in a stream (NetBIOS keepalives skipped); lengths bounded by MAX_FRAME. */
export function readFrame(buf: Buffer): FrameRead {
  let pos = 0;
  for (let i = 0; i < 8; i++) {
    if (buf.length - pos < 4) return { kind: 'incomplete' };
    const type = buf[pos]!;
    const length = buf.readUIntBE(pos + 1, 3);
    if (type === 0x85 && length === 0) {
      pos += 4;
      continue;
    }
    if (type !== 0x00) return { kind: 'invalid', reason: `NetBIOS message type 0x${type.toString(16)}` };
    if (length > MAX_FRAME) return { kind: 'invalid', reason: 'frame too large' };
    if (length < 4) return { kind: 'invalid', reason: 'frame too short' };
    if (buf.length - pos - 4 < length) return { kind: 'incomplete' };
    return { kind: 'ok', payload: buf.subarray(pos + 4, pos + 4 + length), next: pos + 4 + length };
  }
  return { kind: 'invalid', reason: 'keepalive flood' };
}

/** Completeness: one whole frame, or bytes that cannot become one. */
export function frameComplete(data: Buffer): boolean {
  return readFrame(data).kind !== 'incomplete';
}

/** An SMB2 *response* header: SMB2_FLAGS_SERVER_TO_REDIRECTOR set, so an echo of a request is not one. */
function readSmb2Header(payload: Buffer): { command: number; status: number } | undefined {
  if (payload.length < HEADER || payload.readUInt32BE(0) !== SMB2_MAGIC || payload.readUInt16LE(4) !== HEADER) return undefined;
  if ((payload.readUInt32LE(16) & 0x01) === 0) return undefined;
  return { command: payload.readUInt16LE(12), status: payload.readUInt32LE(8) };
}

/** What an SMB2 NEGOTIATE response says. */
export interface SmbNegotiate {
  status: number;
  dialect: number;
  dialectName: string;
  signingEnabled: boolean;
  signingRequired: boolean;
  /** Canonical GUID text. */
  serverGuid: string;
  capabilities: number;
  /** ISO 8601; undefined when zero or absurd. */
  systemTime?: string;
  serverStartTime?: string;
  /** Encryption cipher chosen in a 3.1.1 negotiate context (1 CCM, 2 GCM, …). */
  cipher?: number;
  /**
   * Set when the server GUID's bytes are a lower-case NetBIOS name padded with zeros: Samba
   * (standalone or member server) derives its GUID that way; Windows GUIDs are random.
   */
  guidName?: string;
}

/** The NetBIOS name a Samba-style server GUID spells, if it spells one. */
export function guidName(raw: Buffer): string | undefined {
  const z = raw.indexOf(0);
  const name = raw.subarray(0, z < 0 ? raw.length : z).toString('latin1');
  if (z < 0 || raw.subarray(z).some((b) => b !== 0)) return undefined;
  return /^[a-z0-9][a-z0-9._-]{0,14}$/.test(name) ? name : undefined;
}

function guidText(b: Buffer): string {
  const hex = (s: Buffer): string => s.toString('hex');
  const le = (o: number, n: number): string => hex(Buffer.from(b.subarray(o, o + n)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

/** Parse an SMB2 NEGOTIATE response (the frame's payload). */
export function parseNegotiateResponse(payload: Buffer): SmbNegotiate | undefined {
  const h = readSmb2Header(payload);
  if (!h || h.command !== 0) return undefined;
  const b = HEADER;
  if (h.status !== 0) return { status: h.status, dialect: 0, dialectName: 'unknown', signingEnabled: false, signingRequired: false, serverGuid: '', capabilities: 0 };
  // A "success" too short to hold the fixed response says nothing about signing.
  if (payload.length < b + 64 || payload.readUInt16LE(b) !== 65) return undefined;
  const mode = payload.readUInt16LE(b + 2);
  const dialect = payload.readUInt16LE(b + 4);
  const dialectName = DIALECT_NAMES[dialect] ?? `0x${dialect.toString(16).padStart(4, '0')}`;
  const serverGuid = guidText(payload.subarray(b + 8, b + 24));
  const neg: SmbNegotiate = { status: 0, dialect, dialectName, signingEnabled: (mode & 0x01) !== 0, signingRequired: (mode & 0x02) !== 0, serverGuid, capabilities: payload.readUInt32LE(b + 24) };
  const name = guidName(payload.subarray(b + 8, b + 24));
  if (name) neg.guidName = name;
  const st = filetime(payload, b + 40);
  if (st) neg.systemTime = st;
  const start = filetime(payload, b + 48);
  if (start) neg.serverStartTime = start;
  if (dialect === 0x0311) {
    const cipher = encryptionCipher(payload, payload.readUInt16LE(b + 6), payload.readUInt32LE(b + 60));
    if (cipher !== undefined) neg.cipher = cipher;
  }
  return neg;
}

/** Walk 3.1.1 negotiate contexts (bounded) for the encryption capability's chosen cipher. */
function encryptionCipher(payload: Buffer, count: number, offset: number): number | undefined {
  let pos = offset;
  for (let i = 0; i < Math.min(count, 16); i++) {
    pos = Math.ceil(pos / 8) * 8; // contexts are 8-byte aligned
    if (pos < HEADER || pos + 8 > payload.length) return undefined;
    const type = payload.readUInt16LE(pos);
    const len = payload.readUInt16LE(pos + 2);
    if (pos + 8 + len > payload.length) return undefined;
    if (type === 2 && len >= 4 && payload.readUInt16LE(pos + 8) >= 1) return payload.readUInt16LE(pos + 10);
    pos += 8 + len;
  }
  return undefined;
}

/** Parse a SESSION_SETUP response frame payload into the server's NTLM challenge. */
export function parseSessionSetupResponse(payload: Buffer): NtlmChallenge | undefined {
  const h = readSmb2Header(payload);
  if (!h || h.command !== 1 || h.status !== STATUS_MORE_PROCESSING || payload.length < HEADER + 8) return undefined;
  const off = payload.readUInt16LE(HEADER + 4);
  const len = payload.readUInt16LE(HEADER + 6);
  if (off < HEADER + 8 || off + len > payload.length) return undefined;
  const token = ntlmFromSecurityBlob(payload.subarray(off, off + len));
  return token ? parseNtlmChallenge(token) : undefined;
}

/** The identification a NEGOTIATE response alone supports (service, dialect, signing). */
export function identifyNegotiate(neg: SmbNegotiate): Identification {
  if (neg.status !== 0) return { service: 'microsoft-ds', confidence: 8, extrainfo: `SMB2 negotiate status 0x${neg.status.toString(16).padStart(8, '0')}` };
  const signing = neg.signingRequired ? 'signing required' : neg.signingEnabled ? 'signing enabled, not required' : 'signing disabled';
  const fields: Record<string, string> = { 'smb.dialect': neg.dialectName, 'smb.server_guid': neg.serverGuid, 'smb.signing': signing };
  const id: Identification = { service: 'microsoft-ds', confidence: 8, extrainfo: `SMB ${neg.dialectName}; ${signing}`, fields };
  if (neg.systemTime) fields['smb.system_time'] = neg.systemTime;
  if (neg.serverStartTime) fields['smb.server_start_time'] = neg.serverStartTime;
  if (neg.guidName) {
    id.product = 'Samba smbd';
    id.cpe = [cpe23('a', 'samba', 'samba')];
    id.confidence = 7;
    fields['smb.guid_name'] = neg.guidName;
  }
  if (!neg.signingRequired) {
    id.evidence = [{ id: 'smb-signing-not-required', detail: `SMB ${neg.dialectName} server does not require message signing (${signing})` }];
  }
  return id;
}

/** Enrich with what the NTLM challenge told: Windows build and names, or Samba. */
export function identifyChallenge(previous: Identification, ch: NtlmChallenge): Identification {
  const id: Identification = { ...previous, fields: { ...previous.fields } };
  const fields = id.fields!;
  const extra: string[] = previous.extrainfo ? [previous.extrainfo] : [];
  const domain = ch.dnsDomain ?? ch.nbDomain;
  const names = { netbios_computer: ch.nbComputer, netbios_domain: ch.nbDomain, dns_computer: ch.dnsComputer, dns_domain: ch.dnsDomain };
  for (const [k, value] of Object.entries(names)) if (value) fields[`ntlm.${k}`] = value;
  const host = ch.dnsComputer ?? ch.nbComputer;
  if (host && /^[A-Za-z0-9._-]{1,253}$/.test(host)) id.hostname = host;
  const v = ch.version;
  if (v) fields['ntlm.os_version'] = `${v.major}.${v.minor}.${v.build}`;
  // Windows always reports its real build; Samba fills the VERSION field with a fixed 6.1, build 0.
  const sambaVersion = v !== undefined && v.major === 6 && v.minor === 1 && v.build === 0;
  if (sambaVersion || (v === undefined && previous.product === 'Samba smbd')) {
    id.product = 'Samba smbd';
    id.cpe = [cpe23('a', 'samba', 'samba')];
    id.confidence = sambaVersion && previous.product === 'Samba smbd' ? 8 : 7;
    // A standalone server names itself as its NTLM domain; only a real domain/workgroup is news.
    if (domain && domain !== ch.nbComputer) extra.push(`domain: ${domain}`);
  } else if (v && v.major >= 5 && v.major <= 10 && v.build > 0) {
    const ver = `${v.major}.${v.minor}.${v.build}`;
    id.product = 'Microsoft Windows SMB';
    id.version = ver;
    id.ostype = 'Windows';
    id.cpe = [cpe23('o', 'microsoft', 'windows')];
    id.confidence = 9;
    const release = windowsRelease(ver);
    extra.push(`Windows build ${ver}${release ? ` (${release})` : ''}`);
    if (domain) extra.push(`domain: ${domain}`);
  } else if (domain) extra.push(`domain: ${domain}`);
  if (extra.length > 0) id.extrainfo = extra.join('; ');
  return id;
}

/** Something a server sent that is an SMB frame (SMB2 or SMB1). */
export function smbGreeting(data: Buffer): Identification | undefined {
  const f = readFrame(data);
  if (f.kind !== 'ok' || f.payload.length < 32) return undefined;
  const magic = f.payload.readUInt32BE(0);
  if (magic === SMB2_MAGIC && readSmb2Header(f.payload)) {
    const neg = parseNegotiateResponse(f.payload);
    return neg ? identifyNegotiate(neg) : { service: 'microsoft-ds', confidence: 7 };
  }
  // SMB1 replies carry SMB_FLAGS_REPLY (0x80) in the flags byte.
  if (magic === SMB1_MAGIC && (f.payload[9]! & 0x80) !== 0) return { service: 'microsoft-ds', confidence: 7, extrainfo: 'SMB1 reply' };
  return undefined;
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const session = ctx.session;
  if (session.received.length > 0 || session.ended) return undefined; // SMB servers never speak first
  session.send(negotiateRequest());
  const reply = await session.read(ctx.timing.replyMs, frameComplete);
  return smbGreeting(reply.data);
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  try {
    if (session.ended || session.remainingMs() <= 0) return previous;
    let dialect = Number(Object.entries(DIALECT_NAMES).find(([, name]) => name === previous.fields?.['smb.dialect'])?.[0]);
    if (session.sentBytes === 0) {
      // A fresh connection (the match came from a greeting): SESSION_SETUP needs a NEGOTIATE first.
      session.send(negotiateRequest());
      const f = readFrame((await session.read(ctx.timing.replyMs, frameComplete)).data);
      const neg = f.kind === 'ok' ? parseNegotiateResponse(f.payload) : undefined;
      dialect = neg?.status === 0 ? neg.dialect : NaN;
    }
    if (!DIALECT_NAMES[dialect] || session.ended) return previous;
    session.send(sessionSetupRequest(1, dialect));
    const reply = await session.read(ctx.timing.replyMs, frameComplete);
    const f = readFrame(reply.data);
    const challenge = f.kind === 'ok' ? parseSessionSetupResponse(f.payload) : undefined;
    return challenge ? identifyChallenge(previous, challenge) : previous;
  } catch {
    return previous;
  }
}

/** SMB2/3 over TCP 445: dialect, signing policy, and Windows build or Samba via NTLMSSP. */
export const detector: Detector = {
  name: 'microsoft-ds',
  ports: [445],
  rarity: 7,
  greeting: (data) => smbGreeting(data),
  probe,
  followUp,
};
