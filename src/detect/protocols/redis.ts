/**
 * Redis (and RESP-compatible forks): the client speaks first. `PING` answers `+PONG` when no
 * authentication is required, `-NOAUTH …` when it is, `-DENIED …` in protected mode. Without
 * authentication the follow-up asks `INFO server`, a bulk string of `key:value` lines with the
 * version and the operating system — that the server answers at all is the `redis-no-auth` fact.
 * Redis's error phrasing for unknown commands and protocol errors also identifies it when some
 * other probe reached it first.
 */
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField, firstLine, hasLine, latin1 } from '../text.js';
import type { Detector, Identification, ProbeContext, Target } from '../types.js';

/** `PING` as a RESP array (works on every Redis since 1.2, unlike inline commands behind proxies). */
export const PING = '*1\r\n$4\r\nPING\r\n';
/** `INFO server`: only the server section, a few hundred bytes. */
export const INFO_SERVER = '*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n';
/** Largest bulk reply we accept; `INFO server` is under 2 KiB, `INFO` everything under 16 KiB. */
const MAX_BULK = 64 * 1024;
const MAX_INFO_LINES = 256;

const PRODUCT = 'Redis key-value store';

/** Whether the server wants a password, as the first reply told. */
export type RedisAuth = 'none' | 'required' | 'protected' | 'unknown';

/** What the first line of a RESP reply says about the server. */
export interface RedisReply {
  auth: RedisAuth;
  /** The line, cleaned, for fields. */
  line: string;
}

/**
 * Classify a reply line. Strict: only replies whose wording is Redis's own (`+PONG`, `-NOAUTH`,
 * `-DENIED Redis is running in protected mode`, the unknown-command and arity messages with their
 * exact shape, protocol errors) — a POP3 `-ERR` must not pass.
 */
export function classifyReply(data: Buffer): RedisReply | undefined {
  if (data.length === 0 || !hasLine(data.subarray(0, 1024))) return undefined;
  const line = firstLine(data, 1024);
  const clean = cleanField(line, 200);
  if (/^\+PONG$/.test(line)) return { auth: 'none', line: clean };
  if (/^-NOAUTH Authentication required\.?$/.test(line)) return { auth: 'required', line: clean };
  if (/^-ERR operation not permitted$/.test(line)) return { auth: 'required', line: clean };
  if (/^-DENIED Redis is running in protected mode\b/.test(line)) return { auth: 'protected', line: clean };
  if (/^-(?:LOADING Redis is loading the dataset in memory|NOPERM this user has no permissions to run the ['`]\w+['`] command)/.test(line)) return { auth: 'unknown', line: clean };
  if (
    /^-ERR unknown command ['`][^'`]{0,128}['`](?:, with args beginning with: |$)/.test(line) ||
    /^-ERR wrong number of arguments for ['`][\w|.-]{1,64}['`] command$/.test(line) ||
    /^-ERR Protocol error: (?:invalid multibulk length|invalid bulk length|expected '\$', got '.'|unbalanced quotes in request|too big (?:inline request|mbulk count string|bulk count string))$/.test(line)
  ) {
    return { auth: 'unknown', line: clean };
  }
  return undefined;
}

/** Completeness predicate for a RESP bulk string (or an error/simple line in its place). */
export function bulkComplete(data: Buffer): boolean {
  const nl = data.subarray(0, 32).indexOf(0x0a);
  if (nl < 0) return data.length >= 32; // no header line in 32 bytes: not RESP, stop waiting
  if (data[0] !== 0x24) return true; // `-ERR …` or anything else: the line is the whole reply
  const len = Number(data.toString('latin1', 1, nl).trim());
  if (!Number.isInteger(len) || len < 0 || len > MAX_BULK) return true;
  return data.length >= nl + 1 + len + 2;
}

/**
 * Parse a RESP bulk string: `$<len>\r\n<len bytes>\r\n`. Lying lengths (negative, over the bound,
 * longer than the bytes, no trailing CRLF) yield undefined.
 */
export function parseBulk(data: Buffer): Buffer | undefined {
  if (data.length < 4 || data[0] !== 0x24) return undefined;
  const nl = data.subarray(0, 32).indexOf(0x0a);
  if (nl < 2 || data[nl - 1] !== 0x0d) return undefined;
  const digits = data.toString('latin1', 1, nl - 1);
  if (!/^\d{1,9}$/.test(digits)) return undefined;
  const len = Number(digits);
  if (len > MAX_BULK || data.length < nl + 1 + len + 2) return undefined;
  if (data[nl + 1 + len] !== 0x0d || data[nl + 2 + len] !== 0x0a) return undefined;
  return data.subarray(nl + 1, nl + 1 + len);
}

/** `key:value` lines of an INFO reply, bounded; keys are restricted to `[a-z0-9_]`. */
export function parseInfo(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const text = latin1(body, MAX_BULK);
  let n = 0;
  for (const raw of text.split('\n')) {
    if (++n > MAX_INFO_LINES) break;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = /^([a-z0-9_]{1,64}):(.{0,512})$/.exec(line);
    if (m && !out.has(m[1]!)) out.set(m[1]!, cleanField(m[2]!, 200));
  }
  return out;
}

const S = { service: 'redis', origin: 'builtin' } as const;

/** Built-in table over INFO fields (`redis.*`); forks first, since they also report redis_version. */
export const REDIS_SIGNATURES: readonly Signature[] = [
  { ...S, field: 'redis.valkey_version', pattern: /^(\d+\.\d+\.\d+)$/, product: 'Valkey', version: '$1', cpe: ['cpe:2.3:a:lfprojects:valkey:$1:*:*:*:*:*:*:*'] },
  { ...S, field: 'redis.dragonfly_version', pattern: /^df-v?(\d+\.\d+\.\d+)/, product: 'Dragonfly', version: '$1' },
  { ...S, field: 'redis.version', pattern: /^(\d+\.\d+\.\d+)$/, product: PRODUCT, version: '$1', cpe: ['cpe:2.3:a:redis:redis:$1:*:*:*:*:*:*:*'] },
];

/** nmap's ostype from INFO's `os` line (`Linux 6.1.0-18-amd64 x86_64`). */
function ostypeOf(os: string): string | undefined {
  const first = /^(\w+)/.exec(os)?.[1];
  switch (first) {
    case 'Linux':
    case 'FreeBSD':
    case 'OpenBSD':
    case 'NetBSD':
    case 'Windows':
      return first;
    case 'Darwin':
      return 'Mac OS X';
    case 'SunOS':
      return 'Solaris';
    default:
      return undefined;
  }
}

/** Identification from the INFO section's fields, merged onto what PING established. */
export function identifyInfo(info: Map<string, string>, base: Identification): Identification {
  const fields: Record<string, string> = { ...base.fields };
  for (const key of ['redis_version', 'valkey_version', 'dragonfly_version', 'redis_mode', 'os', 'server_name']) {
    const v = info.get(key);
    if (v !== undefined && v !== '') fields[`redis.${key === 'redis_version' ? 'version' : key}`] = v;
  }
  const sig = matchSignatures(REDIS_SIGNATURES, undefined, fields);
  const id: Identification = { ...base, fields };
  if (sig) {
    id.product = sig.product;
    if (sig.version !== undefined) id.version = sig.version;
    // A fork's own CPE replaces redis:redis; a fork without one gets none rather than a wrong one.
    if (sig.cpe !== undefined) id.cpe = sig.cpe;
    else delete id.cpe;
    id.confidence = sig.version !== undefined ? 10 : 8;
  }
  const ostype = ostypeOf(info.get('os') ?? '');
  if (ostype !== undefined) id.ostype = ostype;
  const mode = info.get('redis_mode');
  if (mode === 'cluster' || mode === 'sentinel') id.extrainfo = `${mode} mode`;
  return id;
}

/** Identification from a reply line (PING answer, or an error another probe provoked). */
export function identifyReply(reply: RedisReply): Identification {
  const id: Identification = { service: 'redis', product: PRODUCT, confidence: 8, cpe: [cpe23('a', 'redis', 'redis')] };
  id.fields = { 'redis.reply': reply.line, 'redis.auth': reply.auth };
  if (reply.auth === 'required') id.extrainfo = 'authentication required';
  else if (reply.auth === 'protected') id.extrainfo = 'protected mode';
  else if (reply.auth === 'unknown') id.confidence = 7;
  return id;
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const { session } = ctx;
  if (session.ended || session.received.length > 0) return undefined;
  session.send(PING);
  const r = await session.read(ctx.timing.replyMs, hasLine);
  const reply = classifyReply(r.data);
  return reply ? identifyReply(reply) : undefined;
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session } = ctx;
  let previous = ctx.previous;
  try {
    if (session.ended) return previous;
    // Matched from another probe's error: ask PING now to learn whether auth is required.
    if (previous.fields?.['redis.auth'] === 'unknown') {
      session.send(PING);
      const r = await session.read(ctx.timing.replyMs, hasLine);
      const reply = classifyReply(r.data);
      if (!reply) return previous;
      previous = { ...identifyReply(reply), confidence: Math.max(previous.confidence, 8) };
    }
    if (previous.fields?.['redis.auth'] !== 'none' || session.ended) return previous;
    const evidence = [...(previous.evidence ?? [])];
    session.send(INFO_SERVER);
    const r = await session.read(ctx.timing.replyMs, bulkComplete);
    const body = parseBulk(r.data);
    const id = body ? identifyInfo(parseInfo(body), previous) : previous;
    evidence.push({
      id: 'redis-no-auth',
      detail: body ? 'Redis answered PING and INFO without authentication' : 'Redis answered PING without authentication',
    });
    return { ...id, evidence };
  } catch {
    return previous;
  }
}

/** Redis, Valkey, Dragonfly and other RESP servers on 6379. */
export const detector: Detector = {
  name: 'redis',
  ports: [6379, 6380, 26379],
  rarity: 5,
  greeting: (data: Buffer, _target: Target) => {
    const reply = classifyReply(data);
    // An unsolicited +PONG is nobody's answer; only errors Redis words its own way count here.
    return reply && reply.auth !== 'none' ? identifyReply(reply) : undefined;
  },
  probe,
  followUp,
};
