/**
 * amap machine-readable output (`-o FILE -m`):
 *   # amap v5.4 (www.thc.org/thc-amap) started at 2011-05-31 10:33:53 - MAPPING mode
 *   # IP_ADDRESS:PORT:PROTOCOL:PORT_STATUS:SSL:IDENTIFICATION:PRINTABLE_BANNER:FULL_BANNER
 *   192.0.2.1:22:tcp:open::ssh:SSH-2.0-OpenSSH_9.2\r\n:"SSH-2.0-OpenSSH_9.2\r\n"
 *   [2001:db8::1]:443:tcp:open:SSL:http-apache-2:HTTP/1.1 200 OK…:0x485454…
 * The first six fields never contain a colon (IPv6 addresses come in brackets). The printable
 * banner has its colons removed by amap, but the full banner does not: it is either `0x` and hex,
 * or the raw text in double quotes with only \r \n \t \v \f \\ escaped, so colons and quotes
 * appear in it unescaped. The fields are therefore split from the left, and what remains is split
 * into the two banners by looking for the full banner's shape rather than by counting colons.
 * amap writes one line per identification, so a port may appear several times; consecutive lines
 * of one host merge (see host-merge.ts).
 */
import type { Readable } from 'node:stream';
import type { Observation, PortResult } from '../core/model.js';
import type { PortReason, PortState } from '../core/status.js';
import { ImportError } from './errors.js';
import { type Address, type HostBudget, HostMerger, type PortKey, headLines, parseAddress, parseLines, portNumber, safeText, spend } from './host-merge.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';

/** Confidence of a service amap identified by matching its response against a signature. */
const AMAP_CONFIDENCE = 5;
/** amap's name for a port it could not identify. */
const UNIDENTIFIED = 'unidentified';
/** Longest hex full banner decoded, in bytes (amap reads at most 1 KiB per response). */
const MAX_FULL_BYTES = 4096;

interface AmapRecord extends PortKey {
  state: PortState;
  reason: PortReason;
  ssl: boolean;
  /** amap's identification; undefined for `unidentified`. */
  id?: string;
  banner?: string;
}

/** amap ids whose nmap name differs from the id's first word. */
const EXACT: Readonly<Record<string, string>> = {
  'ms-ds': 'microsoft-ds',
  'netbios-session': 'netbios-ssn',
  'netbios-name': 'netbios-ns',
  'ms-remote-desktop-protocol': 'ms-wbt-server',
  'ms-sql': 'ms-sql-s',
  postgres: 'postgresql',
  'oracle-tns-listener': 'oracle-tns',
  'x-windows': 'X11',
  'http-proxy': 'http-proxy',
  'pop3-passwd': 'poppassd',
  'pop3-pw': 'poppassd',
  rpc: 'rpcbind',
};

/** First words of amap ids (`http-apache-2`, `smtp-qmail`) that name the protocol. */
const BASE: Readonly<Record<string, string>> = {
  http: 'http',
  ftp: 'ftp',
  ssh: 'ssh',
  smtp: 'smtp',
  telnet: 'telnet',
  nntp: 'nntp',
  ntp: 'ntp',
  mysql: 'mysql',
  daytime: 'daytime',
  dns: 'domain',
  snmp: 'snmp',
  ircd: 'irc',
  pop3: 'pop3',
  imap: 'imap',
  vnc: 'vnc',
  ssl: 'ssl',
  ldap: 'ldap',
  finger: 'finger',
};

/** The nmap-style service name for an amap identification. */
export function amapService(id: string): string {
  const lower = id.toLowerCase();
  const exact = EXACT[lower];
  if (exact !== undefined) return exact;
  const base = BASE[lower.split('-')[0]!];
  if (base !== undefined) return base;
  return lower.replace(/[^a-z0-9._+-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown';
}

/** Most identifications remembered per port. */
const MAX_IDS = 16;

function fold(prev: PortResult | undefined, rec: AmapRecord, budget: HostBudget): PortResult {
  const port = prev ?? { protocol: rec.protocol, port: rec.port, state: rec.state, reason: rec.reason, tries: 1 };
  // amap scans a port in several modes (plain, SSL, RPC); one that found it open settles it.
  if (prev === undefined || rec.state === 'open') {
    port.state = rec.state;
    port.reason = rec.reason;
  }
  const text = rec.banner !== undefined && rec.banner.length > 0 ? rec.banner : undefined;
  let svc = port.service;
  if (rec.id !== undefined) {
    const name = amapService(rec.id);
    const ids = (svc?.fields?.['amap.ids'] ?? '').split(',').filter((s) => s.length > 0);
    const current = svc?.fields?.['amap.id'];
    const replace = svc === undefined || svc.name === 'unknown' || (svc.name === 'ssl' && name !== 'ssl') || (name === svc.name && current !== undefined && rec.id.length > current.length);
    if (replace) {
      const wasTls = svc?.name === 'ssl' || svc?.tunnel === 'ssl';
      const next: PortResult['service'] = { name, method: 'probed', confidence: AMAP_CONFIDENCE, cpe: [], fields: { ...(svc?.fields ?? {}), 'amap.id': rec.id } };
      const keep = text ?? svc?.banner;
      if (keep !== undefined && (keep === svc?.banner || spend(budget, keep))) next.banner = keep;
      if (wasTls && name !== 'ssl') next.tunnel = 'ssl';
      svc = next;
    }
    if (!ids.includes(rec.id) && ids.length < MAX_IDS) ids.push(rec.id);
    svc!.fields = { ...(svc!.fields ?? {}), 'amap.ids': ids.join(',') };
  } else if (svc === undefined && text !== undefined) {
    // Something answered that amap could not name: unknown, with what it said.
    svc = { name: 'unknown', method: 'probed', confidence: 0, cpe: [] };
    if (spend(budget, text)) svc.banner = text;
  }
  if (svc !== undefined) {
    if (rec.ssl && svc.name !== 'ssl') svc.tunnel = 'ssl';
    port.service = svc;
  }
  return port;
}

const STATES: Readonly<Record<string, { state: PortState; reason: PortReason }>> = {
  open: { state: 'open', reason: 'syn-ack' },
  closed: { state: 'closed', reason: 'conn-refused' },
  timeout: { state: 'filtered', reason: 'no-response' },
  // A UDP port that never answered: nmap's open|filtered; the model's nearest is filtered.
  'open or filtered': { state: 'filtered', reason: 'no-response' },
};

/** Does `s` look like amap's full banner: empty, `0x` and hex, or a quoted string? */
function isFull(s: string): boolean {
  return s.length === 0 || /^0x[0-9a-fA-F]*$/.test(s) || (s.length >= 2 && s.startsWith('"') && s.endsWith('"'));
}

/** The printable and full banners in what follows the identification field. */
export function splitBanners(tail: string): { printable: string; full: string } {
  const colon = tail.indexOf(':');
  if (colon < 0) return { printable: tail, full: '' };
  const full = tail.slice(colon + 1);
  if (isFull(full)) return { printable: tail.slice(0, colon), full };
  // The printable part held a colon (an amap that kept them): find the full banner from its shape.
  const hex = /:(0x[0-9a-fA-F]*)$/.exec(tail);
  if (hex !== null) return { printable: tail.slice(0, hex.index), full: hex[1]! };
  if (tail.endsWith('"')) {
    const q = tail.indexOf(':"');
    if (q >= 0 && q + 2 < tail.length) return { printable: tail.slice(0, q), full: tail.slice(q + 1) };
  }
  return { printable: tail, full: '' };
}

/** Bytes rendered as one line of text: printable ASCII kept, \r \n \t and \\ escaped, the rest \xNN. */
function renderBytes(b: Buffer): string {
  let out = '';
  for (const c of b) {
    if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The banner to keep: the full one when present (it has the colons), else the printable one. */
function bannerOf(printable: string, full: string): string | undefined {
  let text: string;
  if (full.startsWith('0x')) {
    const hex = full.slice(2, 2 + MAX_FULL_BYTES * 2);
    text = renderBytes(Buffer.from(hex.length % 2 === 0 ? hex : hex.slice(0, -1), 'hex'));
  } else if (full.length >= 2) text = full.slice(1, -1);
  else text = printable;
  return text.length > 0 ? safeText(text) : undefined;
}

interface Parsed {
  host: Address;
  rec: AmapRecord;
}

const HEADER = /^# amap v(\S{1,20}) \(/;

function parse(line: string, no: number, ctx: ImportContext, meta: ImportMeta): Parsed[] {
  if (line.length === 0) return [];
  if (line.startsWith('#')) {
    const m = HEADER.exec(line);
    if (m !== null) meta.toolVersion = m[1];
    return [];
  }
  const bad = (why: string): ImportError => new ImportError(ctx.file, no, `not an amap -m record: ${why}`);
  let addrText: string;
  let rest: string;
  if (line.startsWith('[')) {
    // `[addr]`, or `[[addr]]` when amap read an IPv6 target from an nmap file.
    const end = line.indexOf(']:');
    if (end < 0) throw bad('unterminated [IPv6 address]');
    addrText = line.slice(0, end + 1).replace(/^\[+/, '[').replace(/\]+$/, ']');
    rest = line.slice(end + 2);
  } else {
    const colon = line.indexOf(':');
    if (colon < 0) throw bad('expected IP:PORT:PROTOCOL:STATUS:SSL:IDENTIFICATION:BANNER:FULL_BANNER');
    addrText = line.slice(0, colon);
    rest = line.slice(colon + 1);
  }
  const host = parseAddress(addrText);
  if (host === undefined) throw bad(`not an IP address: ${JSON.stringify(addrText.slice(0, 64))}`);
  const f: string[] = [];
  let from = 0;
  for (let k = 0; k < 5; k++) {
    const i = rest.indexOf(':', from);
    if (i < 0) throw bad(`too few fields (${k + 2} of 8)`);
    f.push(rest.slice(from, i));
    from = i + 1;
  }
  const [portText, protoText, statusText, sslText, idText] = f as [string, string, string, string, string];
  const port = /^\d{1,5}$/.test(portText) ? portNumber(portText) : undefined;
  if (port === undefined) throw bad(`bad port ${JSON.stringify(portText.slice(0, 20))}`);
  if (protoText !== 'tcp' && protoText !== 'udp') throw bad(`unknown protocol ${JSON.stringify(protoText.slice(0, 20))}`);
  const st = STATES[statusText];
  if (st === undefined) throw bad(`unknown port status ${JSON.stringify(statusText.slice(0, 20))}`);
  if (sslText !== '' && sslText !== 'SSL') throw bad(`bad SSL field ${JSON.stringify(sslText.slice(0, 20))}`);
  // Ids come from amap's response file: up to 32 characters, never a colon or a control.
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (!/^[^\x00-\x1f\x7f]{1,32}$/.test(idText)) throw bad(`bad identification ${JSON.stringify(idText.slice(0, 40))}`);
  const { printable, full } = splitBanners(rest.slice(from));
  const rec: AmapRecord = { protocol: protoText, port, state: st.state, reason: st.reason, ssl: sslText === 'SSL' };
  if (idText !== UNIDENTIFIED) rec.id = idText;
  const banner = bannerOf(printable, full);
  if (banner !== undefined) rec.banner = banner;
  return [{ host, rec }];
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation> {
  meta.source = 'amap';
  const merger = new HostMerger<AmapRecord>('amap', fold, Date.now());
  for await (const p of parseLines(input, ctx, (line, no) => parse(line, no, ctx, meta))) {
    const done = merger.add(p.host, p.rec);
    if (done !== undefined) yield done;
  }
  const last = merger.finish();
  if (last !== undefined) yield last;
  merger.report(ctx);
}

const SNIFF_RECORD = /^(?:\[{1,2}[0-9A-Fa-f:.]+\]{1,2}|[0-9.]{7,15}):\d{1,5}:(?:tcp|udp):(?:open|closed|timeout|open or filtered):(?:SSL)?:[^:]{1,32}:/;

function sniff(head: Buffer): number {
  const lines = headLines(head);
  if (lines.length === 0) return 0;
  if (HEADER.test(lines[0]!) || lines.some((l) => l === '# IP_ADDRESS:PORT:PROTOCOL:PORT_STATUS:SSL:IDENTIFICATION:PRINTABLE_BANNER:FULL_BANNER')) return 10;
  const data = lines.filter((l) => !l.startsWith('#'));
  if (data.length > 0 && data.every((l) => SNIFF_RECORD.test(l))) return 9;
  return 0;
}

/** amap `-m` machine-readable output. */
export const importer: Importer = {
  id: 'amap',
  description: 'amap machine-readable output (-o FILE -m)',
  source: 'amap',
  sniff,
  read,
};
