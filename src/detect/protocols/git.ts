/**
 * git daemon (git://, port 9418). The client speaks first with one pkt-line
 * (`git-upload-pack /\0host=<host>\0`); the daemon answers with pkt-lines: either an `ERR` line
 * ("access denied or repository not exported" for a path it does not serve) or a ref advertisement
 * whose first line carries capabilities such as `agent=git/2.39.5`. Nothing is fetched: we never
 * send a `want`, and the connection is closed after the advertisement.
 */
import { isIPv6 } from 'node:net';
import { cpe23 } from '../../core/cpe.js';
import { cleanField } from '../text.js';
import type { Detector, Identification, Target } from '../types.js';

/** A pkt-line's length field counts itself; git never sends more than this. */
const MAX_PKT = 65520;
/** pkt-lines walked at most when looking for the end of an advertisement. */
const MAX_PKTS = 1000;

/** What a git daemon said. */
export type GitReply =
  | { kind: 'error'; message: string }
  | { kind: 'refs'; refs: number; capabilities: string[]; agent?: string };

/** The `host=` value: a DNS name as given, or the address (IPv6 in brackets, as git writes it). */
export function hostParam(target: Target): string {
  if (target.hostname !== undefined && /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(target.hostname)) return target.hostname;
  return isIPv6(target.address) ? `[${target.address}]` : target.address;
}

/** Our request: one pkt-line asking upload-pack for `/`. */
export function uploadPackRequest(target: Target): Buffer {
  const payload = Buffer.from(`git-upload-pack /\0host=${hostParam(target)}\0`, 'latin1');
  const len = (payload.length + 4).toString(16).padStart(4, '0');
  return Buffer.concat([Buffer.from(len, 'latin1'), payload]);
}

/** Length field at `off`: the pkt-line length, or undefined when the 4 bytes are not hex. */
function pktLength(data: Buffer, off: number): number | undefined {
  const field = data.subarray(off, off + 4).toString('latin1');
  if (!/^[0-9a-fA-F]{4}$/.test(field)) return undefined;
  return parseInt(field, 16);
}

/** True once a reply is whole (ERR line, or an advertisement ended by a flush), or clearly not git. */
export function gitReplyComplete(data: Buffer): boolean {
  let off = 0;
  for (let i = 0; i < MAX_PKTS; i++) {
    if (data.length - off < 4) return false;
    const len = pktLength(data, off);
    if (len === undefined || (len > 0 && len < 4) || len > MAX_PKT) return true;
    if (len === 0) return true;
    if (data.length - off < len) return false;
    if (i === 0 && data.subarray(4, 8).toString('latin1') === 'ERR ') return true;
    off += len;
  }
  return true;
}

/** Parse a daemon's reply (bounded); undefined when it is not git's pkt-line protocol. */
export function parseGitReply(data: Buffer): GitReply | undefined {
  const first = pktLength(data, 0);
  if (first === undefined || first < 8 || first > MAX_PKT) return undefined;
  // An ERR line is recognisable even when its length field claims more than arrived.
  const payload = data.subarray(4, Math.min(first, data.length, 4 + 1024));
  if (payload.subarray(0, 4).toString('latin1') === 'ERR ') {
    return { kind: 'error', message: cleanField(payload.subarray(4).toString('latin1'), 200) };
  }
  let off = 0;
  let refs = 0;
  let capabilities: string[] = [];
  for (let i = 0; i < MAX_PKTS; i++) {
    const len = pktLength(data, off);
    if (len === undefined || (len > 0 && len < 4) || len > MAX_PKT) return undefined;
    if (len === 0) break;
    if (data.length - off < len) {
      if (refs === 0) return undefined;
      break;
    }
    const line = data.subarray(off + 4, off + len);
    off += len;
    if (i === 0 && line.toString('latin1').startsWith('version 1')) continue;
    // `<40 or 64 hex> <refname>[\0capabilities]\n`
    const head = line.subarray(0, 65).toString('latin1');
    if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64}) /.test(head)) return undefined;
    if (refs === 0) {
      const nul = line.indexOf(0);
      if (nul >= 0) capabilities = parseCapabilities(line.subarray(nul + 1, Math.min(line.length, nul + 1 + 4096)).toString('latin1'));
    }
    refs++;
  }
  if (refs === 0) return undefined;
  const reply: GitReply = { kind: 'refs', refs, capabilities };
  const agent = capabilities.find((c) => c.startsWith('agent='));
  if (agent !== undefined) reply.agent = agent.slice(6);
  return reply;
}

function parseCapabilities(s: string): string[] {
  return s
    .split(/\s+/)
    .slice(0, 64)
    .map((c) => cleanField(c, 120))
    .filter((c) => c !== '');
}

/** Identification from a parsed reply (pure). */
export function identifyGit(r: GitReply): Identification {
  if (r.kind === 'error') return { service: 'git', confidence: 8, fields: { 'git.error': r.message } };
  const id: Identification = { service: 'git', confidence: 8, fields: { 'git.capabilities': r.capabilities.join(' ').slice(0, 2048) } };
  if (r.agent !== undefined) {
    id.fields!['git.agent'] = r.agent;
    const m = /^git\/(\d+\.\d+(?:\.\d+)*)/.exec(r.agent);
    if (m) {
      id.product = 'Git';
      id.version = m[1]!;
      id.confidence = 10;
      id.cpe = [cpe23('a', 'git-scm', 'git', id.version)];
    }
  }
  return id;
}

/** git daemon detector: upload-pack request, ERR line or ref advertisement (agent version). */
export const detector: Detector = {
  name: 'git',
  ports: [9418],
  rarity: 8,
  greeting(data) {
    const r = parseGitReply(data);
    return r ? identifyGit(r) : undefined;
  },
  async probe(ctx) {
    const { session, timing } = ctx;
    if (session.ended) return undefined;
    session.send(uploadPackRequest(session.target));
    const res = await session.read(timing.replyMs, gitReplyComplete);
    const r = parseGitReply(res.data);
    if (!r) return undefined;
    // A ref advertisement waits for our wants; we want nothing, so say so and leave.
    if (r.kind === 'refs' && !session.ended) session.send('0000');
    return identifyGit(r);
  },
};
