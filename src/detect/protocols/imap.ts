/**
 * IMAP (RFC 3501/9051). The server greets first with `* OK`, often with a `[CAPABILITY …]` response
 * code that already tells us about STARTTLS and LOGINDISABLED. The follow-up asks for CAPABILITY
 * when the greeting lacked it, asks ID (RFC 2971) when offered — the one place some servers (Cyrus,
 * Dovecot with imap_id_send) state a version — optionally upgrades with STARTTLS, then logs out.
 * No credentials are ever sent.
 */
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField, distroFrom, firstLine, hasLine, latin1 } from '../text.js';
import type { Detector, Evidence, Identification, ProbeContext, Session } from '../types.js';

const BANNER = 'imap4.banner';
/** Capability lists longer than this are garbage or hostile; the rest is ignored. */
const MAX_CAPS = 128;
/** Longest greeting line we accept as IMAP; real ones are a few hundred bytes. */
const MAX_GREETING_LINE = 4096;

/** A parsed IMAP greeting. */
export interface ImapGreeting {
  status: 'OK' | 'PREAUTH' | 'BYE';
  /** Capabilities from a `[CAPABILITY …]` response code, upper-cased; undefined when absent. */
  capabilities?: string[];
  /** Human text after the status and response code (what Recog's imap4.banner patterns expect). */
  text: string;
}

/** Parse the server greeting; undefined when the first line is not an IMAP untagged status. */
export function parseImapGreeting(data: Buffer): ImapGreeting | undefined {
  const nl = data.subarray(0, MAX_GREETING_LINE).indexOf(0x0a);
  if (nl < 0) return undefined;
  const line = firstLine(data, nl + 1);
  const m = /^\* (OK|PREAUTH|BYE)(?: (.*))?$/i.exec(line);
  if (!m) return undefined;
  const status = m[1]!.toUpperCase() as ImapGreeting['status'];
  let rest = m[2] ?? '';
  let capabilities: string[] | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close > 0) {
      const code = rest.slice(1, close);
      if (/^CAPABILITY /i.test(code)) capabilities = splitCaps(code.slice(11));
      rest = rest.slice(close + 1).trimStart();
    }
  }
  const greeting: ImapGreeting = { status, text: cleanField(rest, 300) };
  if (capabilities) greeting.capabilities = capabilities;
  return greeting;
}

function splitCaps(s: string): string[] {
  return s
    .split(' ')
    .filter((c) => c !== '')
    .slice(0, MAX_CAPS)
    .map((c) => cleanField(c, 64).toUpperCase())
    .filter((c) => c !== '');
}

/** Capabilities from a `* CAPABILITY …` untagged response anywhere in `data` (bounded). */
export function parseCapabilityResponse(data: Buffer): string[] | undefined {
  const text = latin1(data, 16384);
  const m = /(?:^|\n)\* CAPABILITY ([^\r\n]*)/i.exec(text);
  return m ? splitCaps(m[1]!) : undefined;
}

/** Name and version from an RFC 2971 `* ID (…)` response; undefined for `* ID NIL` or garbage. */
export function parseIdResponse(data: Buffer): { name?: string; version?: string } | undefined {
  const text = latin1(data, 8192);
  const m = /(?:^|\n)\* ID \(([^\r\n]{0,4000})\)/i.exec(text);
  if (!m) return undefined;
  const tokens: (string | undefined)[] = [];
  const re = /"((?:[^"\\]|\\.){0,256})"|NIL/gi;
  let t: RegExpExecArray | null;
  while (tokens.length < 60 && (t = re.exec(m[1]!)) !== null) tokens.push(t[1] === undefined ? undefined : t[1].replace(/\\(.)/g, '$1'));
  const out: { name?: string; version?: string } = {};
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const key = tokens[i]?.toLowerCase();
    const value = tokens[i + 1];
    if (value === undefined) continue;
    const clean = cleanField(value, 120);
    if (clean === '') continue;
    if (key === 'name') out.name = clean;
    else if (key === 'version') out.version = clean;
  }
  return out.name !== undefined || out.version !== undefined ? out : undefined;
}

/** Built-in greeting signatures, matched against `imap4.banner` like user and Recog files. */
export const IMAP_SIGNATURES: readonly Signature[] = [
  { service: 'imap', field: BANNER, pattern: /^Dovecot(?: \([^)]{0,40}\))?(?: DA)? ready/i, product: 'Dovecot imapd', origin: 'builtin' },
  { service: 'imap', field: BANNER, pattern: /^Courier-IMAP ready/, product: 'Courier Imapd', origin: 'builtin' },
  {
    service: 'imap',
    field: BANNER,
    pattern: /^(\S+) Cyrus IMAP4?(?: Murder)? v?(\d+\.\d+[\w.]*)\S* server ready/,
    product: 'Cyrus imapd',
    version: '$2',
    hostname: '$1',
    origin: 'builtin',
  },
  { service: 'imap', field: BANNER, pattern: /^(?:(\S+) )?Cyrus IMAP/, product: 'Cyrus imapd', hostname: '$1', origin: 'builtin' },
  { service: 'imap', field: BANNER, pattern: /^The Microsoft Exchange IMAP4 service is ready/, product: 'Microsoft Exchange imapd', ostype: 'Windows', origin: 'builtin' },
  {
    service: 'imap',
    field: BANNER,
    pattern: /^Microsoft Exchange (?:Server )?(?:\d{4} )?IMAP4(?:rev1)? server version (\d+\.\d+\.\d+\.\d+) \(([^)\s]{1,255})\) ready/,
    product: 'Microsoft Exchange imapd',
    version: '$1',
    hostname: '$2',
    ostype: 'Windows',
    origin: 'builtin',
  },
  { service: 'imap', field: BANNER, pattern: /^Microsoft Exchange Server \d{4} IMAP4 service ready/, product: 'Microsoft Exchange imapd', ostype: 'Windows', origin: 'builtin' },
  {
    service: 'imap',
    field: BANNER,
    pattern: /^(\S+) IMAP4rev1 v?(\d{4}[a-z]?\.\d+[\w.-]*) (?:server ready )?at /,
    product: 'UW imapd',
    version: '$2',
    hostname: '$1',
    origin: 'builtin',
  },
  {
    service: 'imap',
    field: BANNER,
    pattern: /^(\S+) Zimbra (?:(\d+\.\d+\.\d+)\S* )?IMAP4rev1 server ready/,
    product: 'Zimbra imapd',
    version: '$2',
    hostname: '$1',
    origin: 'builtin',
  },
  { service: 'imap', field: BANNER, pattern: /^Domino IMAP4 Server (?:Release |V\.?)?(\d+\.\d+[\w.]*)/, product: 'IBM Domino imapd', version: '$1', origin: 'builtin' },
  { service: 'imap', field: BANNER, pattern: /^Gimap ready/, product: 'Google Gmail imapd', origin: 'builtin' },
];

/** NVD vendor/product per product name we emit. */
const CPES: Record<string, [string, string]> = {
  'Dovecot imapd': ['dovecot', 'dovecot'],
  'Courier Imapd': ['double_precision_incorporated', 'courier-imap'],
  'Cyrus imapd': ['cyrus', 'imap'],
  'Microsoft Exchange imapd': ['microsoft', 'exchange_server'],
  'UW imapd': ['university_of_washington', 'imap_toolkit'],
  'Zimbra imapd': ['zimbra', 'collaboration_server'],
};

/** Product names for ID `name` values. */
const ID_NAMES: [RegExp, string][] = [
  [/dovecot/i, 'Dovecot imapd'],
  [/cyrus/i, 'Cyrus imapd'],
  [/courier/i, 'Courier Imapd'],
  [/zimbra/i, 'Zimbra imapd'],
];

/** Split `3.0.8-Debian-3.0.8-6+deb10u4` into upstream version and distro revision. */
function splitPackagedVersion(id: Identification, raw: string): void {
  const m = /^(\d+\.\d+[\w.]*?)(?:-(Debian|Ubuntu)-(\S{1,60}))?(?:[-+~\s]|$)/.exec(raw);
  if (!m) return;
  id.version = m[1]!;
  if (m[2] !== undefined) {
    id.distro = m[2];
    id.packageRevision = cleanField(m[3]!, 60);
    id.ostype = 'Linux';
  }
}

function withCpe(id: Identification): Identification {
  const pair = id.product !== undefined ? CPES[id.product] : undefined;
  if (pair) id.cpe = [cpe23('a', pair[0], pair[1], id.version)];
  else delete id.cpe;
  return id;
}

/** Identification from a greeting (pure). */
export function identifyImap(g: ImapGreeting): Identification {
  const fields: Record<string, string> = { [BANNER]: g.text };
  const matched = matchSignatures(IMAP_SIGNATURES, undefined, fields);
  const id: Identification = matched ?? { service: 'imap', confidence: g.status === 'OK' ? 7 : 6 };
  id.fields = fields;
  if (g.capabilities) {
    fields['imap4.capabilities'] = g.capabilities.join(' ').slice(0, 1024);
    if (g.capabilities.includes('STARTTLS')) id.startTls = true;
  }
  if (id.product === 'Dovecot imapd' || id.product === 'Cyrus imapd') {
    const d = distroFrom(g.text);
    if (d && d.ostype === 'Linux') {
      id.distro = d.distro;
      id.ostype = d.ostype;
    }
  }
  if (id.product === 'Cyrus imapd') {
    const v = /Cyrus IMAP4?(?: Murder)? v?(\d+\.\d+\S*)/.exec(g.text);
    if (v) splitPackagedVersion(id, v[1]!);
  }
  if (id.product === 'Microsoft Exchange imapd' && id.hostname === undefined) {
    const h = exchangeHostname(g.text);
    if (h) id.hostname = h;
  }
  return withCpe(id);
}

/**
 * Exchange 2013 and later end the greeting with `[base64]`, the server's FQDN in UTF-16LE. Only
 * accepted when it decodes to a plausible host name.
 */
export function exchangeHostname(text: string): string | undefined {
  const m = /\[([A-Za-z0-9+/]{4,340}={0,2})\]\s*$/.exec(text);
  if (!m) return undefined;
  const raw = Buffer.from(m[1]!, 'base64');
  for (const enc of ['utf16le', 'latin1'] as const) {
    const s = raw.toString(enc);
    if (isHostName(s)) return s;
  }
  return undefined;
}

/** A DNS name of 1–10 labels (letters, digits, hyphens); checked label by label, no backtracking. */
function isHostName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.replace(/\.$/, '').split('.');
  return labels.length <= 10 && labels.every((l) => /^[A-Za-z0-9-]{1,63}$/.test(l));
}

function plaintextEvidence(caps: readonly string[]): Evidence | undefined {
  if (caps.includes('LOGINDISABLED')) return undefined;
  const mechs = caps.filter((c) => c === 'AUTH=PLAIN' || c === 'AUTH=LOGIN');
  return { id: 'imap-plaintext-auth', detail: `IMAP accepts cleartext logins before TLS (LOGIN${mechs.length ? `, ${mechs.join(', ')}` : ''}; no LOGINDISABLED)` };
}

/** The tagged completion line for `tag` in `data`, when present (whole-buffer search, no regex). */
export function taggedLine(data: Buffer, tag: string): string | undefined {
  const needle = `${tag} `;
  let at = data.subarray(0, needle.length).toString('latin1') === needle ? 0 : -1;
  if (at < 0) {
    const i = data.indexOf(`\n${needle}`);
    if (i < 0) return undefined;
    at = i + 1;
  }
  const end = data.indexOf(0x0a, at);
  if (end < 0) return undefined;
  return cleanField(data.subarray(at, Math.min(end, at + 1024)).toString('latin1'), 1024);
}

/** True once `tag`'s completion (or an untagged BYE) has arrived. */
function taggedComplete(tag: string): (d: Buffer) => boolean {
  return (d) => taggedLine(d, tag) !== undefined || (hasLine(d) && /(?:^|\n)\* BYE/i.test(latin1(d, 16384)));
}

async function command(session: Session, ctx: ProbeContext, tag: string, cmd: string, timeoutMs = ctx.timing.replyMs) {
  session.send(`${tag} ${cmd}\r\n`);
  return session.read(timeoutMs, taggedComplete(tag));
}

async function enrich(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session } = ctx;
  const id: Identification = { ...ctx.previous, fields: { ...ctx.previous.fields } };
  const greeting = parseImapGreeting(session.received);
  // A BYE greeting is the server refusing this connection; there is nobody to talk to.
  if (greeting?.status === 'BYE') return id;
  let caps = greeting?.capabilities;
  let n = 0;
  const tag = () => `a${++n}`;
  if (!caps && !session.ended) {
    const r = await command(session, ctx, tag(), 'CAPABILITY');
    caps = parseCapabilityResponse(r.data);
  }
  const tls = session.target.tunnel === 'ssl';
  if (caps) {
    id.fields!['imap4.capabilities'] = caps.join(' ').slice(0, 1024);
    if (caps.includes('STARTTLS')) id.startTls = true;
    const ev = greeting?.status === 'OK' && !tls ? plaintextEvidence(caps) : undefined;
    if (ev) id.evidence = [...(id.evidence ?? []).filter((e) => e.id !== ev.id), ev];
  }
  if (caps?.includes('ID') && !session.ended) {
    const r = await command(session, ctx, tag(), 'ID NIL');
    const info = parseIdResponse(r.data);
    if (info) applyId(id, info);
  }
  if (id.startTls && !tls && !session.ended && session.remainingMs() > ctx.timing.replyMs) {
    const t = tag();
    const r = await command(session, ctx, t, 'STARTTLS');
    const done = taggedLine(r.data, t);
    if (done !== undefined && /^\S+ OK\b/i.test(done)) {
      const info = await session.startTls();
      if (!info) return id;
      id.tls = info;
    }
  }
  if (!session.ended) await command(session, ctx, tag(), 'LOGOUT', ctx.timing.settleMs);
  return id;
}

function applyId(id: Identification, info: { name?: string; version?: string }): void {
  if (info.name !== undefined) id.fields!['imap4.id.name'] = info.name;
  if (info.version !== undefined) id.fields!['imap4.id.version'] = info.version;
  const known = info.name !== undefined ? ID_NAMES.find(([re]) => re.test(info.name!))?.[1] : undefined;
  if (known === undefined) return;
  // The greeting may be customised; ID names the software even then.
  if (id.product !== undefined && id.product !== known) return;
  id.product = known;
  if (info.version !== undefined) {
    splitPackagedVersion(id, info.version);
    if (id.version !== undefined) id.confidence = 10;
  }
  if (id.confidence < 8) id.confidence = 8;
  withCpe(id);
}

/** IMAP detector: greeting signatures, CAPABILITY/ID follow-up, STARTTLS, cleartext-login check. */
export const detector: Detector = {
  name: 'imap',
  ports: [143, 993],
  tlsPorts: [993],
  serverFirst: true,
  greeting(data) {
    const g = parseImapGreeting(data);
    return g ? identifyImap(g) : undefined;
  },
  async followUp(ctx) {
    try {
      return await enrich(ctx);
    } catch {
      return ctx.previous;
    }
  },
};
