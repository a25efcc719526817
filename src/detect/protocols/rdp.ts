/**
 * RDP (3389). The client speaks first: a TPKT-framed X.224 Connection Request carrying an RDP
 * Negotiation Request for TLS, CredSSP (NLA) and CredSSP with early user authorization. The
 * Connection Confirm's negotiation response (or failure) says which security the server picked;
 * its X.224 source reference and response flags tell Windows from xrdp. The follow-up reads the
 * TLS certificate on the same connection and asks, on a second one, whether TLS without CredSSP
 * is accepted: if it is, Network Level Authentication is not required. Nothing is authenticated.
 */
import { cpe23 } from '../../core/cpe.js';
import type { Detector, Evidence, Identification, ProbeContext, Session } from '../types.js';

/** RDP security protocols ([MS-RDPBCGR] 2.2.1.1.1). */
export const PROTOCOL = { RDP: 0x00, SSL: 0x01, HYBRID: 0x02, RDSTLS: 0x04, HYBRID_EX: 0x08, RDSAAD: 0x10 } as const;

const PROTOCOL_NAMES: [number, string][] = [
  [PROTOCOL.HYBRID_EX, 'CredSSP with early user authorization (NLA)'],
  [PROTOCOL.HYBRID, 'CredSSP (NLA)'],
  [PROTOCOL.RDSAAD, 'RDS AAD'],
  [PROTOCOL.RDSTLS, 'RDSTLS'],
  [PROTOCOL.SSL, 'TLS'],
];

/** RDP_NEG_FAILURE codes. */
const FAILURES: Record<number, string> = {
  1: 'SSL_REQUIRED_BY_SERVER', 2: 'SSL_NOT_ALLOWED_BY_SERVER', 3: 'SSL_CERT_NOT_ON_SERVER', 4: 'INCONSISTENT_FLAGS',
  5: 'HYBRID_REQUIRED_BY_SERVER', 6: 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER',
};

/** The X.224 source reference Windows (and xrdp, which copies it) put in the Connection Confirm. */
const WINDOWS_SRC_REF = 0x1234;
/** RDP_NEG_RSP flags: EXTENDED_CLIENT_DATA_SUPPORTED is the only one xrdp ever sets. */
const EXTENDED_CLIENT_DATA = 0x01;
/** A Connection Confirm is 11–19 bytes; anything claiming more than this is not one. */
const MAX_TPKT = 1024;

/** TPKT + X.224 Connection Request + RDP_NEG_REQ asking for `requested` protocols. */
export function connectionRequest(requested: number = PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX): Buffer {
  const b = Buffer.alloc(19);
  b.set([0x03, 0x00], 0);
  b.writeUInt16BE(19, 2);
  b.set([14, 0xe0, 0, 0, 0, 0, 0], 4); // LI, CR code, DST-REF, SRC-REF, class 0
  b.set([0x01, 0x00], 11); // TYPE_RDP_NEG_REQ, flags
  b.writeUInt16LE(8, 13);
  b.writeUInt32LE(requested, 15);
  return b;
}

/** RDP_NEG_RSP (the server's choice) or RDP_NEG_FAILURE (its refusal). */
export type Negotiation = { type: 'response'; flags: number; selected: number } | { type: 'failure'; code: number };

/** The fields of an X.224 Connection Confirm that tell servers apart. */
export interface ConnectionConfirm {
  dstRef: number;
  srcRef: number;
  /** Absent when the server predates negotiation (standard RDP security only). */
  negotiation?: Negotiation;
}

/** True once a whole TPKT is in, or the bytes cannot start one. */
export function tpktComplete(data: Buffer): boolean {
  if (data.length < 4) return data.length > 0 && data[0] !== 0x03;
  if (data[0] !== 0x03) return true;
  const len = data.readUInt16BE(2);
  return len < 7 || len > MAX_TPKT || data.length >= len;
}

/** Parse TPKT + X.224 Connection Confirm (+ RDP negotiation response/failure); bounded, never throws. */
export function parseConnectionConfirm(data: Buffer): ConnectionConfirm | undefined {
  if (data.length < 11 || data[0] !== 0x03 || data[1] !== 0x00) return undefined;
  const len = data.readUInt16BE(2);
  if (len < 11 || len > MAX_TPKT || data.length < len) return undefined;
  const li = data[4]!;
  // LI counts the X.224 header after itself; it must fit the TPKT and hold the fixed CC part.
  if (li < 6 || 5 + li > len || (data[5]! & 0xf0) !== 0xd0) return undefined;
  const cc: ConnectionConfirm = { dstRef: data.readUInt16BE(6), srcRef: data.readUInt16BE(8) };
  if (li >= 14 && len >= 19) {
    const type = data[11]!;
    const negLen = data.readUInt16LE(13);
    if (negLen !== 8) return undefined;
    if (type === 0x02) cc.negotiation = { type: 'response', flags: data[12]!, selected: data.readUInt32LE(15) };
    else if (type === 0x03) cc.negotiation = { type: 'failure', code: data.readUInt32LE(15) };
    else return undefined;
  }
  return cc;
}

/** Human name of a selected protocol value. */
export function protocolName(selected: number): string {
  if (selected === PROTOCOL.RDP) return 'standard RDP security';
  for (const [bit, name] of PROTOCOL_NAMES) if ((selected & bit) !== 0) return name;
  return `protocol 0x${selected.toString(16)}`;
}

function nlaNotRequired(detail: string): Evidence {
  return { id: 'rdp-nla-not-required', detail };
}

/** The identification a Connection Confirm supports. */
export function identifyConfirm(cc: ConnectionConfirm): Identification {
  const id: Identification = { service: 'ms-wbt-server', confidence: 8, fields: { 'rdp.src_ref': `0x${cc.srcRef.toString(16).padStart(4, '0')}` } };
  const neg = cc.negotiation;
  const windowsRef = cc.srcRef === WINDOWS_SRC_REF;
  let windows = false;
  let xrdp = false;
  if (!neg) {
    id.extrainfo = 'standard RDP security (no negotiation)';
    id.evidence = [nlaNotRequired('server does not negotiate security: standard RDP security, no Network Level Authentication')];
    // Pre-negotiation Windows (2000/XP/2003) answered with the bare Confirm and SRC-REF 0x1234.
    windows = windowsRef;
  } else if (neg.type === 'response') {
    id.fields!['rdp.selected_protocol'] = String(neg.selected);
    id.fields!['rdp.neg_flags'] = `0x${neg.flags.toString(16).padStart(2, '0')}`;
    id.extrainfo = `security: ${protocolName(neg.selected)}`;
    const credssp = (neg.selected & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX)) !== 0;
    if (!credssp) {
      id.evidence = [nlaNotRequired(`server selected ${protocolName(neg.selected)} although CredSSP (NLA) was offered`)];
    }
    // xrdp never implements CredSSP and hard-codes the flags to EXTENDED_CLIENT_DATA_SUPPORTED;
    // Windows picks CredSSP when offered, and since Windows 8 sets further flags.
    if (windowsRef && credssp) windows = true;
    else if (windowsRef && (neg.flags & ~EXTENDED_CLIENT_DATA) !== 0) windows = true;
    else if (windowsRef && neg.flags === EXTENDED_CLIENT_DATA && !credssp) xrdp = true;
  } else {
    const name = FAILURES[neg.code] ?? `code ${neg.code}`;
    id.extrainfo = `negotiation failure: ${name}`;
    id.fields!['rdp.failure'] = name;
    // Only Windows asks for CredSSP-with-user-auth or insists on HYBRID in a failure.
    if (windowsRef && (neg.code === 5 || neg.code === 6)) windows = true;
  }
  if (windows) {
    id.product = 'Microsoft Terminal Services';
    id.ostype = 'Windows';
    id.cpe = [cpe23('o', 'microsoft', 'windows')];
  } else if (xrdp) {
    id.product = 'xrdp';
    id.cpe = [cpe23('a', 'neutrinolabs', 'xrdp')];
    id.confidence = 7;
  }
  return id;
}

/** A Connection Confirm seen in any server bytes. */
export function rdpGreeting(data: Buffer): Identification | undefined {
  const cc = parseConnectionConfirm(data);
  return cc ? identifyConfirm(cc) : undefined;
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const session = ctx.session;
  if (session.received.length > 0 || session.ended) return undefined; // RDP servers never speak first
  session.send(connectionRequest());
  const reply = await session.read(ctx.timing.replyMs, tpktComplete);
  return rdpGreeting(reply.data);
}

/** On a fresh connection, offer TLS only: a server that accepts it does not require NLA. */
async function tlsOnlyAccepted(session: Session, replyMs: number): Promise<Negotiation | undefined> {
  const fresh = await session.reconnect();
  if (!fresh) return undefined;
  try {
    fresh.send(connectionRequest(PROTOCOL.SSL));
    const reply = await fresh.read(replyMs, tpktComplete);
    return parseConnectionConfirm(reply.data)?.negotiation;
  } finally {
    fresh.close();
  }
}

function hostnameFromSubject(subject: string): string | undefined {
  const cn = /(?:^|[,/\n]\s*)CN=([A-Za-z0-9.-]{1,253})(?:$|[,/\n])/.exec(subject.slice(0, 1024))?.[1];
  return cn;
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  let id = previous;
  try {
    let selected = Number(previous.fields?.['rdp.selected_protocol'] ?? 'NaN');
    if (session.sentBytes === 0 && !session.ended) {
      // A fresh connection (the match came from a greeting): negotiate again to reach the TLS step.
      session.send(connectionRequest());
      const neg = parseConnectionConfirm((await session.read(ctx.timing.replyMs, tpktComplete)).data)?.negotiation;
      selected = neg?.type === 'response' ? neg.selected : NaN;
    }
    if (!Number.isInteger(selected)) return previous;
    // After a Confirm selecting TLS or CredSSP the next step is the TLS handshake on this connection.
    if (selected !== PROTOCOL.RDP && !session.ended && session.remainingMs() > 0 && !previous.tls) {
      const tls = await session.startTls();
      if (tls) {
        id = { ...id, tls };
        const host = tls.certificate ? hostnameFromSubject(tls.certificate.subject) : undefined;
        if (host && !id.hostname) id.hostname = host;
      }
    }
    if ((selected & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX)) !== 0 && session.remainingMs() > 0) {
      const neg = await tlsOnlyAccepted(session, ctx.timing.replyMs);
      if (neg?.type === 'response' && neg.selected === PROTOCOL.SSL) {
        id = { ...id, evidence: [...(id.evidence ?? []), nlaNotRequired('server accepts a TLS-only connection without CredSSP: Network Level Authentication is not required')] };
      } else if (neg?.type === 'failure' && (neg.code === 5 || neg.code === 6)) {
        id = { ...id, fields: { ...id.fields, 'rdp.nla_required': 'true' } };
      }
    }
    return id;
  } catch {
    return id;
  }
}

/** RDP: X.224 negotiation, selected security, Windows vs xrdp, NLA-not-required check. */
export const detector: Detector = {
  name: 'ms-wbt-server',
  ports: [3389],
  rarity: 7,
  greeting: (data) => rdpGreeting(data),
  probe,
  followUp,
};
