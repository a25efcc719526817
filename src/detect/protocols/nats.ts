/**
 * NATS: the server speaks first with one line, `INFO {json}\r\n`, naming its version, the Go
 * release it was built with and whether clients must authenticate or use TLS. We read that line
 * and hang up (never CONNECT). When the server offers TLS inside the protocol (the client starts
 * the handshake right after INFO), the follow-up performs that handshake to report the certificate.
 */
import { cpe23 } from '../../core/cpe.js';
import { cleanField, hasLine } from '../text.js';
import type { Detector, Evidence, Identification, ProbeContext, Session, Target } from '../types.js';

/** Longest INFO line we read; real ones are a few hundred bytes (more with many cluster URLs). */
export const MAX_INFO_LINE = 32 * 1024;

/** The INFO fields we use, each validated for type. */
export interface NatsInfo {
  version?: string;
  go?: string;
  serverId?: string;
  serverName?: string;
  authRequired?: boolean;
  tlsRequired?: boolean;
  tlsAvailable?: boolean;
  tlsVerify?: boolean;
  jetstream?: boolean;
  headers?: boolean;
  proto?: number;
  maxPayload?: number;
}

/** True when `data` begins like an INFO line (`INFO` then blank then `{`). */
export function looksLikeInfo(data: Buffer): boolean {
  return /^INFO[ \t]+\{/.test(data.subarray(0, 16).toString('latin1'));
}

/** The INFO line at the start of `data`, when it is whole (or the cap was reached). */
function infoLine(data: Buffer): string | undefined {
  if (!looksLikeInfo(data)) return undefined;
  const nl = data.subarray(0, MAX_INFO_LINE).indexOf(0x0a);
  if (nl < 0 && data.length < MAX_INFO_LINE) return undefined;
  const end = nl < 0 ? MAX_INFO_LINE : nl;
  return data.subarray(0, end).toString('utf8').replace(/\r$/, '');
}

const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const text = (v: unknown, max = 120): string | undefined => {
  if (typeof v !== 'string') return undefined;
  const s = cleanField(v, max);
  return s === '' ? undefined : s;
};

/**
 * Parse the INFO line at the start of `data`. Undefined when it is not an INFO line, incomplete,
 * not a JSON object, or over MAX_INFO_LINE. Never throws.
 */
export function parseNatsInfo(data: Buffer): NatsInfo | undefined {
  const line = infoLine(data);
  if (line === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(line.replace(/^INFO[ \t]+/, ''));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const info: NatsInfo = {};
  const version = text(o['version'], 40);
  if (version !== undefined && /^v?\d+\.\d+[\w.+-]*$/.test(version)) info.version = version.replace(/^v/, '');
  const go = text(o['go'], 40);
  if (go !== undefined) info.go = go;
  const set = <K extends keyof NatsInfo>(k: K, v: NatsInfo[K] | undefined): void => {
    if (v !== undefined) info[k] = v;
  };
  set('serverId', text(o['server_id']));
  set('serverName', text(o['server_name']));
  set('authRequired', bool(o['auth_required']));
  set('tlsRequired', bool(o['tls_required']));
  set('tlsAvailable', bool(o['tls_available']));
  set('tlsVerify', bool(o['tls_verify']));
  set('jetstream', bool(o['jetstream']));
  set('headers', bool(o['headers']));
  set('proto', num(o['proto']));
  set('maxPayload', num(o['max_payload']));
  // A JSON object with none of a NATS server's keys is somebody else's line.
  if (info.version === undefined && info.serverId === undefined) return undefined;
  return info;
}

/** The identification an INFO line gives. */
export function identifyNats(info: NatsInfo): Identification {
  const id: Identification = { service: 'nats', product: 'NATS server', confidence: 8 };
  if (info.version !== undefined) {
    id.version = info.version;
    id.confidence = 10;
  }
  id.cpe = [cpe23('a', 'nats', 'nats_server', info.version)];
  const extra: string[] = [];
  if (info.go !== undefined) extra.push(info.go);
  if (info.authRequired === true) extra.push('auth required');
  if (info.tlsRequired === true) extra.push('TLS required');
  if (extra.length > 0) id.extrainfo = extra.join('; ');
  const fields: Record<string, string> = {};
  if (info.version !== undefined) fields['nats.version'] = info.version;
  if (info.go !== undefined) fields['nats.go'] = info.go;
  if (info.serverId !== undefined) fields['nats.server_id'] = info.serverId;
  if (info.serverName !== undefined) fields['nats.server_name'] = info.serverName;
  if (info.jetstream !== undefined) fields['nats.jetstream'] = String(info.jetstream);
  id.fields = fields;
  if (info.tlsRequired === true || info.tlsAvailable === true) id.startTls = true;
  // With tls_verify the server demands a client certificate, which is authentication too.
  if (info.authRequired !== true && info.tlsVerify !== true) {
    const e: Evidence = { id: 'nats-no-auth', detail: `NATS server does not require authentication (auth_required ${info.authRequired === false ? 'false' : 'absent'})` };
    id.evidence = [e];
  }
  return id;
}

function greeting(data: Buffer, _target: Target): Identification | undefined {
  const info = parseNatsInfo(data);
  return info ? identifyNats(info) : undefined;
}

/** Wait (bounded) until the session holds a whole INFO line, then parse it. */
async function readInfo(session: Session, ms: number): Promise<NatsInfo | undefined> {
  const whole = (): boolean => hasLine(session.received) || session.received.length >= MAX_INFO_LINE;
  if (!whole() && !session.ended) await session.read(ms, () => whole());
  return parseNatsInfo(session.received);
}

/** For when the greeting wait ended before the INFO line was whole. */
async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const info = await readInfo(ctx.session, Math.min(ctx.timing.replyMs, ctx.session.remainingMs()));
  return info ? identifyNats(info) : undefined;
}

/** In-protocol TLS when offered (the handshake only, no CONNECT), then hang up. */
async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  let out = previous;
  if (previous.startTls === true && session.target.tunnel !== 'ssl' && !session.ended) {
    const tls = await session.startTls();
    if (tls) out = { ...previous, tls };
  }
  session.close();
  return out;
}

/** NATS server detector (INFO line: version, Go release, auth and TLS requirements). */
export const detector: Detector = {
  name: 'nats',
  ports: [4222],
  serverFirst: true,
  rarity: 5,
  greeting,
  probe,
  followUp,
};
