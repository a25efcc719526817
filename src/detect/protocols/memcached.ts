/**
 * Memcached (ASCII protocol): the client speaks first. `version` answers `VERSION 1.6.18`; a server
 * with ASCII authentication (`-Y`) answers `CLIENT_ERROR unauthenticated` to everything. The
 * follow-up asks `stats`, read-only; that it answers without authentication is the
 * `memcached-no-auth` fact (anyone who can connect can read and overwrite the cache).
 */
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField, firstLine, hasLine, lines } from '../text.js';
import type { Detector, Identification, ProbeContext, Target } from '../types.js';

/** Asks the version; a server with ASCII authentication answers `CLIENT_ERROR unauthenticated` instead. */
export const VERSION_CMD = 'version\r\n';
/** General statistics: read-only. */
export const STATS_CMD = 'stats\r\n';
/** `stats` is ~100 lines (~3 KiB); bound what we look at. */
const MAX_STATS_BYTES = 32 * 1024;
const MAX_STATS_LINES = 400;

const PRODUCT = 'Memcached';

const M = { service: 'memcached', field: 'memcached.version', origin: 'builtin' } as const;

/** Built-in table over `memcached.version` (the token after `VERSION`). */
export const MEMCACHED_SIGNATURES: readonly Signature[] = [
  { ...M, pattern: /^(\d+\.\d+\.\d+)(?:[-+~.\w]*)$/, product: PRODUCT, version: '$1', cpe: ['cpe:2.3:a:memcached:memcached:$1:*:*:*:*:*:*:*'] },
];

/** What a first reply line says. */
export type MemcachedReply = { kind: 'version'; version: string } | { kind: 'auth-required' } | { kind: 'stats' };

/** Classify the first line of a reply; undefined when it is not memcached's wording. */
export function classifyReply(data: Buffer): MemcachedReply | undefined {
  if (!hasLine(data.subarray(0, 256))) return undefined;
  const line = firstLine(data, 256);
  const v = /^VERSION (\d+\.\d+\.\d+[-+~.\w]{0,40})$/.exec(line);
  if (v) return { kind: 'version', version: v[1]! };
  if (line === 'CLIENT_ERROR unauthenticated') return { kind: 'auth-required' };
  if (/^STAT pid \d{1,10}$/.test(line)) return { kind: 'stats' };
  return undefined;
}

/** Completeness predicate for `stats`: the `END` line, or an error line in its place. */
export function statsComplete(data: Buffer): boolean {
  if (data.length >= MAX_STATS_BYTES) return true;
  const first = hasLine(data.subarray(0, 256)) ? firstLine(data, 256) : undefined;
  if (first !== undefined && /^(?:ERROR|CLIENT_ERROR|SERVER_ERROR)\b/.test(first)) return true;
  // `stats` ends with END on its own line; look only at the tail.
  const tail = data.subarray(Math.max(0, data.length - 7)).toString('latin1');
  return tail.endsWith('\nEND\r\n') || (data.length === 5 && tail === 'END\r\n');
}

/** `STAT name value` lines, bounded; undefined unless the reply is a complete stats listing. */
export function parseStats(data: Buffer): Map<string, string> | undefined {
  const all = lines(data, MAX_STATS_BYTES);
  const out = new Map<string, string>();
  let n = 0;
  for (const line of all) {
    if (line === 'END') return out;
    if (++n > MAX_STATS_LINES) return undefined;
    const m = /^STAT ([a-z0-9_:]{1,64}) ([\x20-\x7e]{0,200})$/.exec(line);
    if (!m) return undefined;
    if (!out.has(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return undefined;
}

/** Identification from a `VERSION` token. */
export function identifyVersion(version: string): Identification {
  const fields = { 'memcached.version': cleanField(version, 64) };
  const id: Identification = matchSignatures(MEMCACHED_SIGNATURES, undefined, fields) ?? { service: 'memcached', product: PRODUCT, confidence: 8 };
  id.fields = fields;
  if (id.version !== undefined) id.confidence = 10;
  return id;
}

/** Identification from any classified reply. */
export function identifyReply(reply: MemcachedReply): Identification {
  if (reply.kind === 'version') return identifyVersion(reply.version);
  const id: Identification = { service: 'memcached', product: PRODUCT, confidence: 7, cpe: [cpe23('a', 'memcached', 'memcached')] };
  if (reply.kind === 'auth-required') id.extrainfo = 'authentication required';
  return id;
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const { session } = ctx;
  if (session.ended || session.received.length > 0) return undefined;
  session.send(VERSION_CMD);
  const r = await session.read(ctx.timing.replyMs, hasLine);
  const reply = classifyReply(r.data);
  return reply && reply.kind !== 'stats' ? identifyReply(reply) : undefined;
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  if (session.ended || previous.extrainfo === 'authentication required') return previous;
  try {
    session.send(STATS_CMD);
    const r = await session.read(ctx.timing.replyMs, statsComplete);
    const stats = parseStats(r.data);
    if (!stats || stats.size === 0) return previous;
    let id = previous;
    const v = stats.get('version');
    if (v !== undefined && previous.version === undefined) {
      const fromStats = identifyVersion(v);
      id = { ...previous, ...fromStats, fields: { ...previous.fields, ...fromStats.fields } };
    }
    const evidence = [...(previous.evidence ?? []), { id: 'memcached-no-auth', detail: 'Memcached answered stats without authentication' }];
    return { ...id, evidence };
  } catch {
    return previous;
  }
}

/** Memcached on 11211 (ASCII protocol). */
export const detector: Detector = {
  name: 'memcached',
  ports: [11211],
  rarity: 6,
  greeting: (data: Buffer, _target: Target) => {
    const reply = classifyReply(data);
    return reply ? identifyReply(reply) : undefined;
  },
  probe,
  followUp,
};
