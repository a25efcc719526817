/**
 * rsync daemon (rsyncd, port 873). The server greets with `@RSYNCD: <major>.<minor>` (3.2+ appends
 * the checksum digests it supports). The follow-up answers with the same version and asks `#list`,
 * which a daemon answers with its listable modules (`name<TAB>comment`) and `@RSYNCD: EXIT` —
 * read-only, no module is opened and no credentials are sent.
 */
import { cleanField, firstLine } from '../text.js';
import type { Detector, Identification, ProbeContext } from '../types.js';

/** At most this many module names go into the evidence. */
const MAX_MODULES = 32;
const MAX_NAME = 64;
const SCAN_BYTES = 65536;

/** A parsed `@RSYNCD:` greeting. */
export interface RsyncGreeting {
  major: number;
  minor?: number;
  /** Checksum digests offered (rsync ≥ 3.2), lower-cased. */
  digests: string[];
}

/** Parse the greeting line; undefined when it is not an rsync daemon greeting. */
export function parseRsyncGreeting(data: Buffer): RsyncGreeting | undefined {
  const nl = data.subarray(0, 1024).indexOf(0x0a);
  if (nl < 0) return undefined;
  const m = /^@RSYNCD: (\d{1,3})(?:\.(\d{1,3}))?((?: [A-Za-z0-9_-]{1,32}){0,32})\s*$/.exec(firstLine(data, nl + 1));
  if (!m) return undefined;
  const g: RsyncGreeting = { major: Number(m[1]), digests: m[3]!.split(' ').filter((d) => d !== '').map((d) => d.toLowerCase()) };
  if (m[2] !== undefined) g.minor = Number(m[2]);
  return g;
}

/** Identification from a greeting (pure). */
export function identifyRsync(g: RsyncGreeting): Identification {
  const id: Identification = { service: 'rsync', extrainfo: `protocol version ${g.major}`, confidence: 8 };
  id.fields = { 'rsync.protocol': g.minor !== undefined ? `${g.major}.${g.minor}` : String(g.major) };
  if (g.digests.length > 0) id.fields['rsync.digests'] = g.digests.join(' ');
  return id;
}

/**
 * The version line we answer with: the server's own version, and its digest list when it sent one
 * — rsync 3.2+ daemons drop a client that omits the list (`@ERROR: your client omitted the digest
 * name list`).
 */
export function versionReply(g: RsyncGreeting): string {
  const version = g.minor !== undefined ? `${g.major}.${g.minor}` : String(g.major);
  return g.digests.length > 0 ? `@RSYNCD: ${version} ${g.digests.join(' ')}\n` : `@RSYNCD: ${version}\n`;
}

/** True once the module listing ended (`@RSYNCD: EXIT`) or the daemon refused (`@ERROR`). */
export function listComplete(data: Buffer): boolean {
  return data.indexOf('@RSYNCD: EXIT') >= 0 || (data.indexOf('@ERROR') >= 0 && data.indexOf(0x0a, data.indexOf('@ERROR')) >= 0);
}

/** Escape a name for a one-line report: printable ASCII kept, everything else as \xNN. */
export function escapeName(name: string): string {
  let out = '';
  for (const ch of name.slice(0, MAX_NAME)) {
    const c = ch.charCodeAt(0);
    out += c >= 0x20 && c < 0x7f && ch !== '\\' ? ch : `\\x${(c & 0xff).toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The listing: module names (escaped, capped), their total count, and any daemon error. */
export interface RsyncListing {
  modules: string[];
  total: number;
  error?: string;
}

/**
 * Module lines from a `#list` reply. rsyncd prints each module as `name` padded, a TAB, then the
 * comment; MOTD lines come first and have no TAB.
 */
export function parseModuleList(data: Buffer): RsyncListing {
  const text = data.subarray(0, SCAN_BYTES).toString('latin1');
  const out: RsyncListing = { modules: [], total: 0 };
  let count = 0;
  for (const raw of text.split('\n')) {
    if (++count > 4096) break;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('@RSYNCD: EXIT')) break;
    if (line.startsWith('@ERROR')) {
      out.error = cleanField(line.slice(6).replace(/^:\s*/, ''), 200);
      break;
    }
    if (line.startsWith('@RSYNCD:')) continue;
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const name = line.slice(0, tab).trimEnd();
    if (name === '') continue;
    out.total++;
    if (out.modules.length < MAX_MODULES) out.modules.push(escapeName(name));
  }
  return out;
}

async function listModules(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, timing } = ctx;
  const g = parseRsyncGreeting(session.received);
  if (!g || session.ended) return ctx.previous;
  session.send(`${versionReply(g)}#list\n`);
  const r = await session.read(timing.replyMs, listComplete);
  const listing = parseModuleList(r.data);
  const id: Identification = { ...ctx.previous, fields: { ...ctx.previous.fields } };
  if (listing.error !== undefined) id.fields!['rsync.error'] = listing.error;
  if (listing.total === 0) return id;
  id.fields!['rsync.modules'] = listing.modules.join(' ');
  const more = listing.total > listing.modules.length ? ` (+${listing.total - listing.modules.length} more)` : '';
  const ev = { id: 'rsync-module-list', detail: `rsync daemon lists ${listing.total} module(s) to anyone: ${listing.modules.join(', ')}${more}` };
  id.evidence = [...(id.evidence ?? []).filter((e) => e.id !== ev.id), ev];
  return id;
}

/** rsync daemon detector: greeting protocol version, `#list` module listing as evidence. */
export const detector: Detector = {
  name: 'rsync',
  ports: [873],
  serverFirst: true,
  greeting(data) {
    const g = parseRsyncGreeting(data);
    return g ? identifyRsync(g) : undefined;
  },
  async followUp(ctx) {
    try {
      return await listModules(ctx);
    } catch {
      return ctx.previous;
    }
  },
};
