/**
 * DNS over TCP (RFC 1035 §4.2.2: each message behind a two-byte length). The probe asks the
 * CHAOS-class TXT record `version.bind`, which BIND, Unbound, NSD, Knot, PowerDNS, dnsmasq and
 * Microsoft DNS answer with their version unless told not to. Any well-formed reply carrying our
 * random id is DNS, even REFUSED or an empty answer. The reply parser is bounded: counts, name
 * lengths and compression pointers (which must point backwards) are all capped.
 */
import { randomBytes } from 'node:crypto';
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField } from '../text.js';
import type { Detector, Identification, ProbeContext } from '../types.js';

const TYPE_TXT = 16;
const CLASS_CH = 3;
/** Records of each section we look at; a version.bind reply has one or two. */
const MAX_RECORDS = 16;
/** RFC 1035: a name is at most 255 bytes on the wire. */
const MAX_NAME = 255;
/** Compression pointers followed while reading one name. */
const MAX_JUMPS = 16;

/** RCODE names (RFC 1035 §4.1.1, RFC 6895). */
const RCODES: readonly string[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** The `version.bind` CH TXT query, framed for TCP, with id `id` and recursion not desired. */
export function buildVersionQuery(id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(1, 4); // QDCOUNT
  const qname = Buffer.from([7, ...Buffer.from('version'), 4, ...Buffer.from('bind'), 0]);
  const tail = Buffer.from([0, TYPE_TXT, 0, CLASS_CH]);
  const msg = Buffer.concat([header, qname, tail]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** True once `data` holds a whole TCP-framed message (or a length we will never wait for). */
export function tcpMessageComplete(data: Buffer, cap = 65535): boolean {
  if (data.length < 2) return false;
  const len = data.readUInt16BE(0);
  return len > cap || data.length >= 2 + len;
}

/**
 * Completeness predicate for the reply to query `id`: the whole message, or as soon as the first
 * bytes show it cannot be our reply (other id, QR clear), so a foreign banner ends the wait at once.
 */
export function replyComplete(id: number): (data: Buffer) => boolean {
  return (data) => tcpMessageComplete(data) || (data.length >= 4 && data.readUInt16BE(2) !== id) || (data.length >= 5 && (data[4]! & 0x80) === 0);
}

/** What a reply told us. */
export interface DnsReply {
  id: number;
  rcode: number;
  /** Authoritative answer flag. */
  aa: boolean;
  answers: { name: string; type: number; cls: number; rdata: Buffer }[];
}

/**
 * Read a (possibly compressed) name at `pos`. Each pointer must land before the start of the
 * segment it was read in, so targets strictly decrease and cannot loop; jumps and total length
 * are capped too.
 * Returns the name and the offset after it in the original stream, or undefined if malformed.
 */
export function readName(msg: Buffer, pos: number): { name: string; next: number } | undefined {
  const labels: string[] = [];
  let total = 0;
  let jumps = 0;
  let next: number | undefined;
  let p = pos;
  let floor = pos;
  for (;;) {
    if (p >= msg.length) return undefined;
    const len = msg[p]!;
    if (len === 0) {
      return { name: labels.join('.'), next: next ?? p + 1 };
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= msg.length || ++jumps > MAX_JUMPS) return undefined;
      const target = ((len & 0x3f) << 8) | msg[p + 1]!;
      // A compressor points at a name written earlier, so targets only ever decrease; anything
      // else (forward, self, into the segment being read) is how pointer loops are built.
      if (target >= floor) return undefined;
      next ??= p + 2;
      p = target;
      floor = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return undefined; // 0x40/0x80 label types are obsolete
    total += len + 1;
    if (total > MAX_NAME || p + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
}

/**
 * Parse a DNS message (without the TCP length). Strict on the header (QR set, opcode 0), bounded
 * everywhere; answers that do not parse are dropped with the rest of the message.
 */
export function parseDnsMessage(msg: Buffer): DnsReply | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0 || ((flags >> 11) & 0xf) !== 0) return undefined;
  const reply: DnsReply = { id: msg.readUInt16BE(0), rcode: flags & 0xf, aa: (flags & 0x0400) !== 0, answers: [] };
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < Math.min(qd, MAX_RECORDS); i++) {
    const n = readName(msg, pos);
    if (!n || n.next + 4 > msg.length) return reply;
    pos = n.next + 4;
  }
  if (qd > MAX_RECORDS) return reply;
  for (let i = 0; i < Math.min(an, MAX_RECORDS); i++) {
    const n = readName(msg, pos);
    if (!n || n.next + 10 > msg.length) return reply;
    const type = msg.readUInt16BE(n.next);
    const cls = msg.readUInt16BE(n.next + 2);
    const rdlen = msg.readUInt16BE(n.next + 8);
    const start = n.next + 10;
    if (start + rdlen > msg.length) return reply;
    reply.answers.push({ name: n.name, type, cls, rdata: msg.subarray(start, start + rdlen) });
    pos = start + rdlen;
  }
  return reply;
}

/** The character-strings of a TXT record's RDATA, joined (each is length-prefixed, ≤ 255 bytes). */
export function txtStrings(rdata: Buffer): string {
  const parts: string[] = [];
  let p = 0;
  while (p < rdata.length && parts.length < 16) {
    const len = rdata[p]!;
    if (p + 1 + len > rdata.length) break;
    parts.push(rdata.subarray(p + 1, p + 1 + len).toString('latin1'));
    p += 1 + len;
  }
  return parts.join('');
}

/** The TCP-framed reply to our query `id`: the version text, if any, and the header facts. */
export function parseVersionReply(data: Buffer, id: number): { reply: DnsReply; version?: string } | undefined {
  if (data.length < 2) return undefined;
  const len = data.readUInt16BE(0);
  const reply = parseDnsMessage(data.subarray(2, 2 + len));
  if (!reply || reply.id !== id) return undefined;
  const txt = reply.answers.find((a) => a.type === TYPE_TXT && a.name.toLowerCase() === 'version.bind');
  if (!txt) return { reply };
  const version = cleanField(txtStrings(txt.rdata), 200);
  return version === '' ? { reply } : { reply, version };
}

const F = { service: 'domain', field: 'dns.version_bind', origin: 'builtin' } as const;
const cpeV = (vendor: string, product: string): string => `cpe:2.3:a:${vendor}:${product}:$1:*:*:*:*:*:*:*`;

/**
 * Built-in table over `dns.version_bind` (the TXT text). Version groups admit `[\w.]` only, so
 * templates cannot inject CPE fields. BIND's distribution suffix is split off in `identifyVersion`.
 */
export const DNS_SIGNATURES: readonly Signature[] = [
  { ...F, pattern: /^dnsmasq-(\d[\w.]*)/i, product: 'dnsmasq', version: '$1', cpe: [cpeV('thekelleys', 'dnsmasq')] },
  { ...F, pattern: /^unbound (\d[\w.]*)/i, product: 'Unbound', version: '$1', cpe: [cpeV('nlnetlabs', 'unbound')] },
  { ...F, pattern: /^NSD (\d[\w.]*)/, product: 'NLnet Labs NSD', version: '$1', cpe: [cpeV('nlnetlabs', 'nsd')] },
  { ...F, pattern: /^Knot DNS (\d[\w.]*)/i, product: 'Knot DNS', version: '$1', cpe: [cpeV('nic', 'knot_dns')] },
  { ...F, pattern: /^Knot Resolver (\d[\w.]*)/i, product: 'Knot Resolver', version: '$1', cpe: [cpeV('nic', 'knot_resolver')] },
  { ...F, pattern: /^PowerDNS Authoritative Server (\d[\w.]*)/, product: 'PowerDNS Authoritative Server', version: '$1', cpe: [cpeV('powerdns', 'authoritative')] },
  { ...F, pattern: /^PowerDNS Recursor (\d[\w.]*)/, product: 'PowerDNS Recursor', version: '$1', cpe: [cpeV('powerdns', 'recursor')] },
  { ...F, pattern: /^PowerDNS\b/, product: 'PowerDNS' },
  { ...F, pattern: /^dnsdist (\d[\w.]*)/, product: 'dnsdist', version: '$1', cpe: [cpeV('powerdns', 'dnsdist')] },
  { ...F, pattern: /^Microsoft DNS (\d+\.\d+\.\d+)/, product: 'Microsoft DNS', version: '$1', ostype: 'Windows', cpe: ['cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*'] },
  { ...F, pattern: /^(9\.\d{1,3}\.\d{1,3})(?![\w.])/, product: 'ISC BIND', version: '$1', cpe: [cpeV('isc', 'bind')] },
];

/** Windows builds Microsoft DNS reports, to name the server release (the DNS role ships with it). */
const WINDOWS_BUILDS: Readonly<Record<string, string>> = {
  '6.0.6001': 'Windows Server 2008',
  '6.0.6002': 'Windows Server 2008 SP2',
  '6.1.7600': 'Windows Server 2008 R2',
  '6.1.7601': 'Windows Server 2008 R2 SP1',
  '6.2.9200': 'Windows Server 2012',
  '6.3.9600': 'Windows Server 2012 R2',
  '10.0.14393': 'Windows Server 2016',
  '10.0.17763': 'Windows Server 2019',
  '10.0.20348': 'Windows Server 2022',
};

/**
 * BIND's version text: `9.18.49-1~deb12u3-Debian`, `9.11.5-P4-5.1+deb10u11-Debian`,
 * `9.18.28-0ubuntu0.22.04.1-Ubuntu`, `9.16.23-RH`, `9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16`,
 * `9.19.21-S1` (subscription edition). Upstream version (with patch level) and distro parts.
 */
export function splitBindVersion(text: string): { version: string; patch?: string; distro?: string; revision?: string } | undefined {
  const m = /^(9\.\d{1,3}\.\d{1,3})(?:-((?:P|S|W|rc|b|a)\d{1,3}))?(?:-(.{1,100}))?$/.exec(text.slice(0, 200));
  if (!m) return undefined;
  const out: { version: string; patch?: string; distro?: string; revision?: string } = { version: m[1]! };
  if (m[2] !== undefined) out.patch = m[2];
  const rest = m[3];
  if (rest === undefined) return out;
  const deb = /^(?:(.+)-)?(Debian|Ubuntu|Raspbian)$/.exec(rest);
  if (deb) {
    out.distro = deb[2]!;
    if (deb[1] !== undefined) out.revision = deb[1];
  } else if (/^(?:RH|RedHat)\b/.test(rest)) {
    out.distro = 'Red Hat';
    const rh = /^RedHat-(.+)$/.exec(rest);
    if (rh) out.revision = rh[1]!;
  }
  return out;
}

/** The identification for a version.bind text. */
export function identifyVersion(version: string): Identification {
  const fields = { 'dns.version_bind': version };
  const hit = matchSignatures(DNS_SIGNATURES, undefined, fields);
  if (!hit) return { service: 'domain', confidence: 8, fields };
  const id: Identification = { ...hit, fields, confidence: hit.version !== undefined ? 10 : 8 };
  if (hit.product === 'ISC BIND') {
    const b = splitBindVersion(version);
    if (b) {
      id.version = b.patch !== undefined ? `${b.version}-${b.patch}` : b.version;
      id.cpe = [cpe23('a', 'isc', 'bind', b.version, b.patch?.toLowerCase())];
      if (b.distro !== undefined) {
        id.distro = b.distro;
        id.ostype = 'Linux';
      }
      if (b.revision !== undefined) id.packageRevision = b.revision;
    }
  }
  if (hit.product === 'Microsoft DNS' && hit.version !== undefined) {
    const release = WINDOWS_BUILDS[hit.version];
    if (release !== undefined) id.extrainfo = release;
  }
  return id;
}

/** The identification for a reply: from the version text, or just `domain` with the RCODE. */
export function identifyReply(r: { reply: DnsReply; version?: string }): Identification {
  if (r.version !== undefined) return identifyVersion(r.version);
  const rcode = RCODES[r.reply.rcode] ?? `RCODE ${r.reply.rcode}`;
  return { service: 'domain', confidence: 8, fields: { 'dns.rcode': rcode } };
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const { session } = ctx;
  const id = randomBytes(2).readUInt16BE(0);
  session.send(buildVersionQuery(id));
  const r = await session.read(ctx.timing.replyMs, replyComplete(id));
  const parsed = parseVersionReply(r.data, id);
  return parsed ? identifyReply(parsed) : undefined;
}

/** DNS server detector (version.bind CH TXT over TCP: BIND, Unbound, NSD, Knot, PowerDNS, dnsmasq, Microsoft). */
export const detector: Detector = {
  name: 'domain',
  ports: [53],
  rarity: 5,
  probe,
};
