/**
 * What every masscan output format says, once: one record per port (a status or a banner), the
 * vocabulary of protocols, states and banner types, and how records of one port fold together.
 * masscan's banner grabs are real probes but shallow (one request, first bytes of the answer), so
 * a service named from a banner is `probed` with confidence 5; the grepable format's port-table
 * name is a guess (`table`, 3).
 */
import type { Observation, PortResult, Protocol, Service } from '../core/model.js';
import type { PortState } from '../core/status.js';
import { type HostBudget, HostMerger, type PortKey, openPort, safeText, spend } from './host-merge.js';
import type { ImportContext } from './types.js';

/** One masscan record: a port's status, or a banner masscan grabbed from it. */
export interface MasscanRecord extends PortKey {
  /** From a status record (`open`, `closed`). */
  status?: PortState;
  /** From a banner record: masscan's banner type (`http`, `ssh`, `title`, `X509`, …). */
  app?: string;
  banner?: string;
  /** The service name masscan's grepable output takes from its port table. */
  guess?: string;
}

/** Confidence of a service masscan named from a banner it grabbed. */
export const MASSCAN_BANNER_CONFIDENCE = 5;

/**
 * `tcp`/`udp`; `skip` for what masscan scans but the model has no ports for (SCTP, ICMP echo, ARP,
 * other IP protocols); undefined for anything else (a malformed record).
 */
export function masscanProtocol(s: unknown): Protocol | 'skip' | undefined {
  if (s === 'tcp' || s === 'udp') return s;
  if (s === 'sctp' || s === 'icmp' || s === 'arp' || s === 'oproto') return 'skip';
  return undefined;
}

/** `open`/`closed`; `skip` for ARP's `up` and masscan's `unknown`; undefined otherwise. */
export function masscanStatus(s: unknown): PortState | 'skip' | undefined {
  if (s === 'open' || s === 'closed') return s;
  if (s === 'up' || s === 'unknown') return 'skip';
  return undefined;
}

/** masscan banner types that name a service, as nmap names it. The rest are kept as fields only. */
const APP_SERVICE: Readonly<Record<string, string>> = {
  ssh: 'ssh',
  http: 'http',
  'http.server': 'http',
  title: 'http',
  html: 'http',
  ftp: 'ftp',
  smtp: 'smtp',
  pop: 'pop3',
  imap: 'imap',
  telnet: 'telnet',
  rdp: 'ms-wbt-server',
  vnc: 'vnc',
  'vnc-info': 'vnc',
  ntp: 'ntp',
  snmp: 'snmp',
  memcached: 'memcached',
  'dns-ver': 'domain',
  nbtstat: 'netbios-ns',
  smb: 'microsoft-ds',
  minecraft: 'minecraft',
  coap: 'coap',
  isakmp: 'isakmp',
  zeroaccess: 'zeroaccess',
  ssl: 'ssl',
  x509: 'ssl',
  x509ca: 'ssl',
};

/** Banner types that say the port speaks TLS (the certificate chain, the handshake). */
const TLS_APPS = new Set(['ssl', 'x509', 'x509ca']);

/** Most banner types kept per port, so a record repeated with new types cannot grow a port. */
const MAX_FIELDS = 16;

/** masscan's banner type, lower-cased; `unknown` for anything that is not a plain short token. */
export function masscanApp(s: unknown): string {
  if (typeof s !== 'string') return 'unknown';
  const app = s.toLowerCase();
  return /^[a-z0-9._()-]{1,32}$/.test(app) ? app : 'unknown';
}

/** Fold one masscan record into the port as known so far. */
export function foldMasscan(prev: PortResult | undefined, rec: MasscanRecord, budget: HostBudget): PortResult {
  const port = prev ?? openPort(rec);
  if (rec.status !== undefined) {
    port.state = rec.status;
    port.reason = rec.status === 'open' ? 'syn-ack' : 'conn-refused';
  }
  if (rec.guess !== undefined && rec.guess.length > 0 && port.service === undefined) {
    port.service = { name: rec.guess, method: 'table', confidence: 3, cpe: [] };
  }
  if (rec.app !== undefined) applyBanner(port, masscanApp(rec.app), rec.banner ?? '', budget);
  return port;
}

/** A merger that folds consecutive masscan records of one host into one observation (see host-merge.ts). */
export function masscanMerger(startedAt: number): HostMerger<MasscanRecord> {
  return new HostMerger<MasscanRecord>('masscan', foldMasscan, startedAt);
}

/**
 * The end of every masscan import: the host the merger still holds, then the merger's report and one
 * warning for the `skipped` records (SCTP, ICMP, ARP) the port model has no place for.
 */
export function* finishMasscan(merger: HostMerger<MasscanRecord>, ctx: ImportContext, skipped: number): Generator<Observation> {
  const last = merger.finish();
  if (last !== undefined) yield last;
  merger.report(ctx);
  if (skipped > 0) ctx.warn(`${skipped} record(s) skipped: SCTP, ICMP and ARP results have no place in the port model`);
}

function applyBanner(port: PortResult, app: string, banner: string, budget: HostBudget): void {
  const prev = port.service;
  const fields: Record<string, string> = { ...(prev?.fields ?? {}) };
  const key = `masscan.${app}`;
  const clean = safeText(banner);
  const fresh = fields[key] === undefined && Object.keys(fields).length < MAX_FIELDS;
  const text = fresh && clean.length > 0 && spend(budget, clean) ? clean : undefined;
  if (text !== undefined) fields[key] = text;
  const tlsBefore = Object.keys(prev?.fields ?? {}).some((k) => TLS_APPS.has(k.slice('masscan.'.length)));
  const named = prev !== undefined && prev.method === 'probed' && prev.name !== 'unknown';
  const mapped = APP_SERVICE[app];
  let svc: Service | undefined = prev;
  if (mapped === 'ssl') {
    if (named && prev.name !== 'ssl') prev.tunnel = 'ssl';
    else if (!named) svc = probed('ssl', text);
  } else if (mapped !== undefined) {
    if (!named || prev.name === 'ssl') {
      svc = probed(mapped, text);
      if (tlsBefore || prev?.name === 'ssl') svc.tunnel = 'ssl';
    } else if (prev.name === mapped && text !== undefined && (prev.banner === undefined || app === mapped)) {
      // The protocol's own banner (HTTP headers) says more than a derived one (the page title).
      prev.banner = text;
    }
  } else if (prev === undefined) {
    // Something answered, but masscan could not say what: unknown, with what it said.
    svc = { name: 'unknown', method: 'probed', confidence: 0, cpe: [] };
    if (text !== undefined) svc.banner = text;
  }
  if (svc !== undefined) {
    if (Object.keys(fields).length > 0) svc.fields = fields;
    port.service = svc;
  }
  port.state = 'open';
  port.reason = 'syn-ack';
}

function probed(name: string, banner: string | undefined): Service {
  const s: Service = { name, method: 'probed', confidence: MASSCAN_BANNER_CONFIDENCE, cpe: [] };
  if (banner !== undefined) s.banner = banner;
  return s;
}

/**
 * A banner JSON-decoded (masscan's JSON writes every unsafe byte as `\u00XX`) put back in the form
 * masscan's XML, list and grepable outputs use (`\xNN` for controls, quotes, `<>&\`), so a banner
 * reads the same whichever format it was imported from.
 */
export function masscanEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c < 0x7f && !'<>&\\"\''.includes(ch)) out += ch;
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}
