/**
 * NTLMSSP as SMB2 carries it inside SPNEGO ([MS-NLMP]): the anonymous NEGOTIATE the follow-up
 * sends (no credentials, ever), the server's CHALLENGE with its OS version, NetBIOS/DNS names and
 * clock, and the Windows build → release names that turn a reported build into a product line.
 * Split from smb.ts, which frames these messages and decides what they identify.
 */
import { cleanField } from '../text.js';
import { children, encodeTlv, readTlv, valueOf } from './ber.js';

const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
/** NTLMSSP_NEGOTIATE_VERSION: the CHALLENGE carries the server's OS version. */
const NEGOTIATE_VERSION = 0x02000000;
const NEGOTIATE_UNICODE = 0x00000001;

/** NTLMSSP NEGOTIATE (type 1): no domain or workstation, asking for target info and version. */
export function ntlmNegotiate(): Buffer {
  const m = Buffer.alloc(40);
  NTLMSSP_SIGNATURE.copy(m, 0);
  m.writeUInt32LE(1, 8);
  m.writeUInt32LE(0xe2088217, 12); // unicode, OEM, request target, sign, seal, NTLM, always sign, ESS, version, 128, key exch, 56
  m.writeUInt32LE(40, 20); // empty domain field's offset
  m.writeUInt32LE(40, 28); // empty workstation field's offset
  m.set([6, 1], 32);
  m.writeUInt16LE(7601, 34);
  m[39] = 15; // NTLMSSP revision
  return m;
}

/** SPNEGO NegTokenInit offering NTLMSSP with the NEGOTIATE as its mechToken. */
export function spnegoInit(token: Buffer): Buffer {
  const spnegoOid = Buffer.from('06062b0601050502', 'hex');
  const ntlmOid = Buffer.from('060a2b06010401823702020a', 'hex');
  const init = encodeTlv(0x30, encodeTlv(0xa0, encodeTlv(0x30, ntlmOid)), encodeTlv(0xa2, encodeTlv(0x04, token)));
  return encodeTlv(0x60, spnegoOid, encodeTlv(0xa0, init));
}

/** FILETIME (100 ns since 1601) to ISO 8601, undefined for zero or outside 1980–2200. */
export function filetime(buf: Buffer, offset: number): string | undefined {
  if (offset < 0 || offset + 8 > buf.length) return undefined;
  const ticks = buf.readBigUInt64LE(offset);
  if (ticks === 0n) return undefined;
  const ms = Number(ticks / 10000n) - 11644473600000;
  if (ms < 315532800000 || ms > 7258118400000) return undefined;
  return new Date(ms).toISOString();
}

/** What an NTLMSSP CHALLENGE reveals without any credentials. */
export interface NtlmChallenge {
  flags: number;
  targetName?: string;
  /** Server OS version from the VERSION field. */
  version?: { major: number; minor: number; build: number; revision: number };
  nbComputer?: string;
  nbDomain?: string;
  dnsComputer?: string;
  dnsDomain?: string;
  dnsTree?: string;
  timestamp?: string;
}

/** AV_PAIR ids of the names in a CHALLENGE's target info ([MS-NLMP] 2.2.2.1). */
const AV_NAMES: Record<number, 'nbComputer' | 'nbDomain' | 'dnsComputer' | 'dnsDomain' | 'dnsTree'> = { 1: 'nbComputer', 2: 'nbDomain', 3: 'dnsComputer', 4: 'dnsDomain', 5: 'dnsTree' };

/** A UTF-16LE (or OEM) string field, bounded and stripped to printable ASCII. */
function field(buf: Buffer, start: number, len: number, unicode: boolean): string | undefined {
  if (len === 0 || start < 0 || start + len > buf.length) return undefined;
  const s = cleanField(buf.subarray(start, start + Math.min(len, 512)).toString(unicode ? 'utf16le' : 'latin1'), 255);
  return s === '' ? undefined : s;
}

/** Parse an NTLMSSP CHALLENGE (type 2); every offset and length is checked against the buffer. */
export function parseNtlmChallenge(buf: Buffer): NtlmChallenge | undefined {
  if (buf.length < 48 || !buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE) || buf.readUInt32LE(8) !== 2) return undefined;
  const flags = buf.readUInt32LE(20);
  const unicode = (flags & NEGOTIATE_UNICODE) !== 0;
  const out: NtlmChallenge = { flags };
  const tnLen = buf.readUInt16LE(12);
  const tnOff = buf.readUInt32LE(16);
  const target = field(buf, tnOff, tnLen, unicode);
  if (target) out.targetName = target;
  const tiLen = buf.readUInt16LE(40);
  const tiOff = buf.readUInt32LE(44);
  // The VERSION field sits at 48 only when the payload starts after it.
  const payloadStart = Math.min(tnLen > 0 ? tnOff : Infinity, tiLen > 0 ? tiOff : Infinity);
  if ((flags & NEGOTIATE_VERSION) !== 0 && buf.length >= 56 && payloadStart >= 56) {
    out.version = { major: buf[48]!, minor: buf[49]!, build: buf.readUInt16LE(50), revision: buf[55]! };
  }
  if (tiLen > 0 && tiOff + tiLen <= buf.length) {
    const end = tiOff + tiLen;
    let pos = tiOff;
    for (let i = 0; i < 32 && pos + 4 <= end; i++) {
      const id = buf.readUInt16LE(pos);
      const len = buf.readUInt16LE(pos + 2);
      if (id === 0 || pos + 4 + len > end) break;
      const at = pos + 4;
      const key = AV_NAMES[id];
      const value = key ? field(buf, at, len, true) : id === 7 && len === 8 ? filetime(buf, at) : undefined;
      if (value !== undefined) out[key ?? 'timestamp'] = value;
      pos = at + len;
    }
  }
  return out;
}

/** The NTLMSSP token inside a SESSION_SETUP response's security blob (SPNEGO NegTokenResp or raw). */
export function ntlmFromSecurityBlob(blob: Buffer): Buffer | undefined {
  if (blob.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) return blob;
  const top = readTlv(blob, 0);
  if (top.kind !== 'ok' || top.tlv.cls !== 2 || top.tlv.tag !== 1) return undefined;
  const [seq] = children(blob, top.tlv, 1) ?? [];
  if (!seq || seq.tag !== 16) return undefined;
  const token = (children(blob, seq, 8) ?? []).find((t) => t.cls === 2 && t.tag === 2);
  const [octets] = token ? children(blob, token, 1) ?? [] : [];
  if (!octets || octets.tag !== 4 || octets.constructed) return undefined;
  return valueOf(blob, octets);
}

/** Windows builds → release names (client / server sharing one build). */
const WINDOWS_BUILDS: Record<string, string> = Object.fromEntries(
  ([
    ['5.1.2600', 'Windows XP'], ['5.2.3790', 'Windows Server 2003'], ['6.0.6001', 'Windows Vista SP1 / Server 2008'], ['6.0.6002', 'Windows Vista SP2 / Server 2008 SP2'],
    ['6.0.6003', 'Windows Server 2008 SP2'], ['6.1.7600', 'Windows 7 / Server 2008 R2'], ['6.1.7601', 'Windows 7 SP1 / Server 2008 R2 SP1'], ['6.2.9200', 'Windows 8 / Server 2012'],
    ['6.3.9600', 'Windows 8.1 / Server 2012 R2'], ['10.0.10240', 'Windows 10 1507'], ['10.0.10586', 'Windows 10 1511'], ['10.0.14393', 'Windows 10 1607 / Server 2016'],
    ['10.0.15063', 'Windows 10 1703'], ['10.0.16299', 'Windows 10 1709'], ['10.0.17134', 'Windows 10 1803'], ['10.0.17763', 'Windows 10 1809 / Server 2019'],
    ['10.0.18362', 'Windows 10 1903'], ['10.0.18363', 'Windows 10 1909'], ['10.0.19041', 'Windows 10 2004'], ['10.0.19042', 'Windows 10 20H2'], ['10.0.19043', 'Windows 10 21H1'],
    ['10.0.19044', 'Windows 10 21H2'], ['10.0.19045', 'Windows 10 22H2'], ['10.0.20348', 'Windows Server 2022'], ['10.0.22000', 'Windows 11 21H2'],
    ['10.0.22621', 'Windows 11 22H2'], ['10.0.22631', 'Windows 11 23H2'], ['10.0.25398', 'Windows Server 23H2'], ['10.0.26100', 'Windows 11 24H2 / Server 2025'],
  ] as const),
);

/** The release name of a Windows `major.minor.build`, when the build is a known one. */
export function windowsRelease(version: string): string | undefined {
  return WINDOWS_BUILDS[version];
}
