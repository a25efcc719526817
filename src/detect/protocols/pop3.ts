/**
 * POP3 (RFC 1939, CAPA from RFC 2449, STLS from RFC 2595). The server greets with `+OK text`; the
 * follow-up sends CAPA (STLS, SASL mechanisms, USER, IMPLEMENTATION), optionally upgrades with
 * STLS, then QUIT. No credentials are ever sent.
 *
 * `+OK`/`-ERR` are also Redis's reply prefixes, so a bare status (no text) or an `-ERR` greeting is
 * only taken as POP3 on POP3's own ports.
 */
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField, distroFrom, firstLine, lines } from '../text.js';
import type { Detector, Evidence, Identification, ProbeContext, Target } from '../types.js';

const BANNER = 'pop3.banner';
const POP3_PORTS = [110, 995] as const;
const MAX_GREETING_LINE = 4096;

/** A parsed POP3 greeting. */
export interface Pop3Greeting {
  ok: boolean;
  /** Text after `+OK `/`-ERR ` (what Recog's pop3.banner patterns expect), cleaned. */
  text: string;
}

/** Parse the greeting's first (terminated) line; undefined when it is not a POP3 status line. */
export function parsePop3Greeting(data: Buffer): Pop3Greeting | undefined {
  const nl = data.subarray(0, MAX_GREETING_LINE).indexOf(0x0a);
  if (nl < 0) return undefined;
  const m = /^(\+OK|-ERR)(?:[ \t](.*))?$/.exec(firstLine(data, nl + 1));
  if (!m) return undefined;
  return { ok: m[1] === '+OK', text: cleanField(m[2] ?? '', 300) };
}

/** Built-in greeting signatures, matched against `pop3.banner`. */
export const POP3_SIGNATURES: readonly Signature[] = [
  { service: 'pop3', field: BANNER, pattern: /^Dovecot(?: \([^)]{0,40}\))?(?: DA)? ready/i, product: 'Dovecot pop3d', origin: 'builtin' },
  { service: 'pop3', field: BANNER, pattern: /^Hello there\./, product: 'Courier pop3d', origin: 'builtin' },
  {
    service: 'pop3',
    field: BANNER,
    pattern: /^(\S+) +Cyrus POP3 v?(\d+\.\d+[\w.]*)\S* server ready/,
    product: 'Cyrus pop3d',
    version: '$2',
    hostname: '$1',
    origin: 'builtin',
  },
  { service: 'pop3', field: BANNER, pattern: /^(?:(\S+) +)?Cyrus POP3/, product: 'Cyrus pop3d', hostname: '$1', origin: 'builtin' },
  { service: 'pop3', field: BANNER, pattern: /^The Microsoft Exchange POP3 service is ready/, product: 'Microsoft Exchange pop3d', ostype: 'Windows', origin: 'builtin' },
  {
    service: 'pop3',
    field: BANNER,
    pattern: /^Microsoft Exchange (?:Server )?(?:\d{4} )?POP3 server version (\d+\.\d+\.\d+\.\d+)(?: \(([^)\s]{1,255})\))? ready/,
    product: 'Microsoft Exchange pop3d',
    version: '$1',
    hostname: '$2',
    ostype: 'Windows',
    origin: 'builtin',
  },
  { service: 'pop3', field: BANNER, pattern: /^Microsoft Exchange Server \d{4} POP3 service ready/, product: 'Microsoft Exchange pop3d', ostype: 'Windows', origin: 'builtin' },
  { service: 'pop3', field: BANNER, pattern: /^Qpop(?:per)? \(version (\d+\.\d+[\w.]*)[^)]*\) at (\S+)/i, product: 'Qpopper pop3d', version: '$1', hostname: '$2', origin: 'builtin' },
  { service: 'pop3', field: BANNER, pattern: /^POP3 (\S+) v?(\d{4}[a-z]?\.\d+[\w.-]*) server ready/, product: 'UW ipop3d', version: '$2', hostname: '$1', origin: 'builtin' },
  {
    service: 'pop3',
    field: BANNER,
    pattern: /^(\S+) Zimbra (?:(\d+\.\d+\.\d+)\S* )?POP3 server ready/,
    product: 'Zimbra pop3d',
    version: '$2',
    hostname: '$1',
    origin: 'builtin',
  },
];

const CPES: Record<string, [string, string]> = {
  'Dovecot pop3d': ['dovecot', 'dovecot'],
  'Cyrus pop3d': ['cyrus', 'imap'],
  'Microsoft Exchange pop3d': ['microsoft', 'exchange_server'],
  'Qpopper pop3d': ['qualcomm', 'qpopper'],
  'UW ipop3d': ['university_of_washington', 'imap_toolkit'],
  'Zimbra pop3d': ['zimbra', 'collaboration_server'],
};

function withCpe(id: Identification): Identification {
  const pair = id.product !== undefined ? CPES[id.product] : undefined;
  if (pair) id.cpe = [cpe23('a', pair[0], pair[1], id.version)];
  return id;
}

/**
 * Identification from a greeting, or undefined when the text is too thin to tell POP3 from a
 * Redis-style `+OK` on a port that is not POP3's.
 */
export function identifyPop3(g: Pop3Greeting, target?: Target): Identification | undefined {
  const onPort = target !== undefined && (POP3_PORTS as readonly number[]).includes(target.port);
  if (!onPort && (!g.ok || g.text === '')) return undefined;
  const fields: Record<string, string> = { [BANNER]: g.text };
  const matched = g.ok ? matchSignatures(POP3_SIGNATURES, undefined, fields) : undefined;
  const id: Identification = matched ?? { service: 'pop3', confidence: !g.ok || g.text === '' ? 5 : /\bPOP3?\b/i.test(g.text) ? 7 : 6 };
  id.fields = fields;
  if (id.product === 'Dovecot pop3d' || id.product === 'Cyrus pop3d') {
    const d = distroFrom(g.text);
    if (d && d.ostype === 'Linux') {
      id.distro = d.distro;
      id.ostype = d.ostype;
    }
    const pkg = /\d+\.\d+[\w.]*-(Debian|Ubuntu)-(\S{1,60})/.exec(g.text);
    if (pkg) id.packageRevision = cleanField(pkg[2]!, 60);
  }
  return withCpe(id);
}

/** What a CAPA reply lists. */
export interface Pop3Capabilities {
  /** Capability names, upper-cased. */
  names: string[];
  /** SASL mechanisms, upper-cased. */
  sasl: string[];
  implementation?: string;
}

/** True once a CAPA reply is whole: a `-ERR` line, or `+OK` … `.` terminator. */
export function capaComplete(data: Buffer): boolean {
  if (data.length < 3) return false;
  if (data[0] === 0x2d) return data.indexOf(0x0a) >= 0;
  return data.indexOf('\n.\r\n') >= 0 || data.indexOf('\n.\n') >= 0;
}

/** Parse a CAPA reply (bounded); undefined for `-ERR` or anything that is not a POP3 reply. */
export function parseCapa(data: Buffer): Pop3Capabilities | undefined {
  const all = lines(data, 16384);
  if (all.length === 0 || !/^\+OK\b/.test(all[0]!)) return undefined;
  const caps: Pop3Capabilities = { names: [], sasl: [] };
  for (const raw of all.slice(1, 101)) {
    if (raw === '.') break;
    const line = cleanField(raw, 200);
    const [name = '', ...args] = line.split(/\s+/);
    if (name === '') continue;
    const upper = name.toUpperCase();
    caps.names.push(upper);
    if (upper === 'SASL') caps.sasl.push(...args.slice(0, 32).map((a) => a.toUpperCase()));
    if (upper === 'IMPLEMENTATION' && args.length > 0) caps.implementation = cleanField(args.join(' '), 120);
  }
  return caps;
}

function plaintextEvidence(caps: Pop3Capabilities): Evidence | undefined {
  const offered = [...(caps.names.includes('USER') ? ['USER/PASS'] : []), ...caps.sasl.filter((m) => m === 'PLAIN' || m === 'LOGIN').map((m) => `SASL ${m}`)];
  if (offered.length === 0) return undefined;
  return { id: 'pop3-plaintext-auth', detail: `POP3 accepts cleartext logins before TLS (${offered.join(', ')})` };
}

/** The IMPLEMENTATION capability names the software on some servers (Cyrus, Courier). */
function applyImplementation(id: Identification, impl: string): void {
  id.fields!['pop3.implementation'] = impl;
  if (id.product !== undefined) return;
  const cyrus = /^Cyrus POP3 v?(\d+\.\d+[\w.]*)/.exec(impl);
  if (cyrus) {
    id.product = 'Cyrus pop3d';
    id.version = cyrus[1]!;
    id.confidence = 9;
  } else if (/^Courier Mail Server/i.test(impl)) {
    id.product = 'Courier pop3d';
    id.confidence = 8;
  }
  withCpe(id);
}

async function enrich(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, timing } = ctx;
  const id: Identification = { ...ctx.previous, fields: { ...ctx.previous.fields } };
  if (session.ended) return id;
  const greeting = parsePop3Greeting(session.received);
  if (greeting && !greeting.ok) return id;
  session.send('CAPA\r\n');
  const r = await session.read(timing.replyMs, capaComplete);
  const caps = parseCapa(r.data);
  const tls = session.target.tunnel === 'ssl';
  if (caps) {
    id.fields!['pop3.capabilities'] = caps.names.join(' ').slice(0, 1024);
    if (caps.names.includes('STLS')) id.startTls = true;
    if (caps.implementation !== undefined) applyImplementation(id, caps.implementation);
    const ev = tls ? undefined : plaintextEvidence(caps);
    if (ev) id.evidence = [...(id.evidence ?? []).filter((e) => e.id !== ev.id), ev];
  }
  if (id.startTls && !tls && !session.ended && session.remainingMs() > timing.replyMs) {
    session.send('STLS\r\n');
    const s = await session.read(timing.replyMs, (d) => d.indexOf(0x0a) >= 0);
    if (/^\+OK\b/.test(firstLine(s.data))) {
      const info = await session.startTls();
      if (!info) return id;
      id.tls = info;
    }
  }
  if (!session.ended) {
    session.send('QUIT\r\n');
    await session.read(timing.settleMs, (d) => d.indexOf(0x0a) >= 0);
  }
  return id;
}

/** POP3 detector: greeting signatures, CAPA follow-up, STLS, cleartext-login check. */
export const detector: Detector = {
  name: 'pop3',
  ports: POP3_PORTS,
  tlsPorts: [995],
  serverFirst: true,
  greeting(data, target) {
    const g = parsePop3Greeting(data);
    return g ? identifyPop3(g, target) : undefined;
  },
  async followUp(ctx) {
    try {
      return await enrich(ctx);
    } catch {
      return ctx.previous;
    }
  },
};
