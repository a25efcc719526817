/**
 * VNC / RFB (RFC 6143). The server greets with exactly 12 bytes, `RFB xxx.yyy\n`. The follow-up
 * answers with a version we speak and reads the security types the server offers — a count and a
 * list (3.7+), or a single 32-bit type (3.3) — or the failure reason. Offering type 1 (None) means
 * anyone can view (and usually control) the desktop. We never pick a type, so no session starts.
 */
import { cpe23 } from '../../core/cpe.js';
import { cleanField } from '../text.js';
import type { Detector, Identification, ProbeContext } from '../types.js';

/** Failure reasons longer than this are cut (the length field is the server's word only). */
const MAX_REASON = 1024;

/** Security type names (IANA RFB registry), for fields and evidence text. */
export const SECURITY_TYPES: Readonly<Record<number, string>> = {
  1: 'None',
  2: 'VNC Authentication',
  5: 'RA2',
  6: 'RA2ne',
  16: 'Tight',
  17: 'Ultra',
  18: 'TLS',
  19: 'VeNCrypt',
  20: 'SASL',
  21: 'MD5',
  22: 'xvp',
  30: 'Apple Remote Desktop',
};

/** The protocol version a server announced. */
export interface RfbVersion {
  major: number;
  minor: number;
}

/** Parse the 12-byte greeting; undefined when `data` does not start with one. */
export function parseRfbVersion(data: Buffer): RfbVersion | undefined {
  const m = /^RFB (\d{3})\.(\d{3})\n/.exec(data.subarray(0, 12).toString('latin1'));
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/** Identification from the greeting (pure); product only where the version number is a known tell. */
export function identifyVnc(v: RfbVersion): Identification {
  const id: Identification = { service: 'vnc', extrainfo: `protocol ${v.major}.${v.minor}`, confidence: 8 };
  if (v.major === 3 && v.minor === 889) {
    // macOS Screen Sharing / Apple Remote Desktop announce this private version.
    id.product = 'Apple remote desktop vnc';
    id.ostype = 'Mac OS X';
  } else if (v.major === 4 && (v.minor === 0 || v.minor === 1)) {
    id.product = 'RealVNC';
    id.confidence = 7;
  } else if (v.major === 0 && v.minor === 0) {
    id.product = 'UltraVNC repeater';
    id.confidence = 7;
  }
  return id;
}

/**
 * The version line we answer with, or undefined when we should not go on. RFC 6143: versions
 * other than 3.3/3.7/3.8 are treated as 3.3, except that newer servers accept 3.8; Apple's 3.889
 * is answered in kind.
 */
export function clientVersion(v: RfbVersion): string | undefined {
  if (v.major === 3 && v.minor === 889) return 'RFB 003.889\n';
  if (v.major === 3) return v.minor >= 8 ? 'RFB 003.008\n' : v.minor === 7 ? 'RFB 003.007\n' : 'RFB 003.003\n';
  if (v.major > 3 && v.major < 100) return 'RFB 003.008\n';
  return undefined;
}

/** What the server offered after the version exchange. */
export type SecurityOffer = { types: number[] } | { reason: string };

/** Bytes needed for a failure reason whose length field sits at `at` (bounded by MAX_REASON). */
function reasonNeeds(data: Buffer, at: number): number {
  if (data.length < at + 4) return at + 4;
  return at + 4 + Math.min(data.readUInt32BE(at), MAX_REASON);
}

/** True once the security offer is whole (`legacy` = protocol 3.3: one 32-bit type). */
export function securityComplete(data: Buffer, legacy: boolean): boolean {
  if (legacy) {
    if (data.length < 4) return false;
    return data.readUInt32BE(0) !== 0 || data.length >= reasonNeeds(data, 4);
  }
  if (data.length < 1) return false;
  const n = data[0]!;
  return n > 0 ? data.length >= 1 + n : data.length >= reasonNeeds(data, 1);
}

/** Parse the security offer; undefined when incomplete beyond use. */
export function parseSecurity(data: Buffer, legacy: boolean): SecurityOffer | undefined {
  const reason = (at: number): SecurityOffer | undefined => {
    if (data.length < at + 4) return undefined;
    const len = Math.min(data.readUInt32BE(at), MAX_REASON);
    return { reason: cleanField(data.subarray(at + 4, at + 4 + len).toString('latin1'), 300) };
  };
  if (legacy) {
    if (data.length < 4) return undefined;
    const t = data.readUInt32BE(0);
    return t === 0 ? reason(4) : { types: [t] };
  }
  if (data.length < 1) return undefined;
  const n = data[0]!;
  if (n === 0) return reason(1);
  if (data.length < 1 + n) return undefined;
  return { types: [...data.subarray(1, 1 + n)] };
}

function typeName(t: number): string {
  return SECURITY_TYPES[t] ?? `type ${t}`;
}

/** Fold a security offer into the identification: fields, product hints, `vnc-no-auth`. */
export function applySecurity(previous: Identification, offer: SecurityOffer): Identification {
  const id: Identification = { ...previous, fields: { ...previous.fields } };
  if ('reason' in offer) {
    id.fields!['vnc.reason'] = offer.reason;
    return id;
  }
  id.fields!['vnc.security_types'] = offer.types.slice(0, 32).map(typeName).join(', ');
  if (id.product === undefined && offer.types.includes(16)) {
    id.product = 'TightVNC';
    id.cpe = [cpe23('a', 'tightvnc', 'tightvnc')];
  } else if (id.product === undefined && offer.types.includes(30)) {
    id.product = 'Apple remote desktop vnc';
    id.ostype = 'Mac OS X';
  }
  if (offer.types.includes(1)) {
    const ev = { id: 'vnc-no-auth', detail: `VNC server offers security type None: no password is needed (offered: ${offer.types.map(typeName).join(', ')})` };
    id.evidence = [...(id.evidence ?? []).filter((e) => e.id !== ev.id), ev];
  }
  return id;
}

async function negotiate(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, timing } = ctx;
  const v = parseRfbVersion(session.received);
  if (!v || session.ended) return ctx.previous;
  const reply = clientVersion(v);
  if (reply === undefined) return ctx.previous;
  const legacy = reply === 'RFB 003.003\n';
  // Anything after the 12-byte greeting already belongs to the security phase (3.3 servers can be quick).
  const early = session.received.subarray(12, 12 + 8 + MAX_REASON);
  session.send(reply);
  const r = await session.read(timing.replyMs, (d) => securityComplete(Buffer.concat([early, d]), legacy));
  const offer = parseSecurity(Buffer.concat([early, r.data]).subarray(0, 8 + MAX_REASON), legacy);
  return offer ? applySecurity(ctx.previous, offer) : ctx.previous;
}

/** VNC detector: RFB version greeting, security types, `vnc-no-auth`. */
export const detector: Detector = {
  name: 'vnc',
  ports: [5900, 5901, 5902, 5903, 5904, 5905, 5906, 5907, 5908, 5909, 5910],
  serverFirst: true,
  greeting(data) {
    const v = parseRfbVersion(data);
    return v ? identifyVnc(v) : undefined;
  },
  async followUp(ctx) {
    try {
      return await negotiate(ctx);
    } catch {
      return ctx.previous;
    }
  },
};
