/**
 * SMTP: the server greets with `220 <domain> <text>` (RFC 5321 §4.2), where MTAs name themselves.
 * The follow-up sends `EHLO`, reads the whole multi-line `250` reply (STARTTLS, AUTH, SIZE, …),
 * performs STARTTLS when offered so the runner learns the certificate, then says `QUIT`.
 * Nothing is ever relayed or authenticated.
 */
import { matchSignatures, type Signature } from '../signature.js';
import { codedCommand, distroFrom, hasToken, parseCodedReply, type CodedReply } from '../text.js';
import type { Detector, Identification, ProbeContext, Target } from '../types.js';

/** The name we give in EHLO: a reserved TLD, so it can never be someone's real host. */
export const EHLO_NAME = 'portolan.invalid';

const SMTP_PORTS = [25, 587, 465, 2525];

const S = { service: 'smtp', field: 'smtp.banner', origin: 'builtin' } as const;
const cpeV = (vendor: string, product: string): string => `cpe:2.3:a:${vendor}:${product}:$1:*:*:*:*:*:*:*`;
const cpeAny = (vendor: string, product: string): string => `cpe:2.3:a:${vendor}:${product}:*:*:*:*:*:*:*:*`;
const WINDOWS = 'cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*';

/** Built-in table over `smtp.banner` (the 220 text, lines joined by `\n`); specific first. */
export const SMTP_SIGNATURES: readonly Signature[] = [
  { ...S, pattern: /\bE?SMTP Postfix \(?(\d+\.\d+(?:\.\d+)?)\b/, product: 'Postfix smtpd', version: '$1', cpe: [cpeV('postfix', 'postfix')] },
  { ...S, pattern: /\bPostfix\b/, product: 'Postfix smtpd', cpe: [cpeAny('postfix', 'postfix')] },
  { ...S, pattern: /\bExim (\d+\.\d+(?:\.\d+)?)/, product: 'Exim smtpd', version: '$1', cpe: [cpeV('exim', 'exim')] },
  { ...S, pattern: /\bExim\b/, product: 'Exim smtpd', cpe: [cpeAny('exim', 'exim')] },
  { ...S, pattern: /\bSendmail (\d+\.\d+\.\d+)(?:\/([\d.]+))?/, product: 'Sendmail', version: '$1', cpe: [cpeV('sendmail', 'sendmail')] },
  { ...S, pattern: /\bSendmail\b/, product: 'Sendmail', cpe: [cpeAny('sendmail', 'sendmail')] },
  { ...S, pattern: /\bMicrosoft ESMTP MAIL Service, Version: (\d+(?:\.\d+){1,3})/, product: 'Microsoft ESMTP', version: '$1', ostype: 'Windows', cpe: [cpeAny('microsoft', 'internet_information_services'), WINDOWS] },
  { ...S, pattern: /\bMicrosoft (?:ESMTP MAIL Service|Exchange)\b/, product: 'Microsoft Exchange smtpd', ostype: 'Windows', cpe: [cpeAny('microsoft', 'exchange_server'), WINDOWS] },
  { ...S, pattern: /\bOpenSMTPD\b/, product: 'OpenSMTPD', cpe: [cpeAny('openbsd', 'opensmtpd')] },
  { ...S, pattern: /\bHaraka\/(\d+\.\d+(?:\.\d+)?)/, product: 'Haraka smtpd', version: '$1', cpe: [cpeV('haraka_project', 'haraka')] },
  { ...S, pattern: /\bgsmtp\b/, product: 'Google gsmtp' },
  { ...S, pattern: /\bMailEnable Service, Version: (\d+(?:\.\d+)*)/, product: 'MailEnable smtpd', version: '$1', ostype: 'Windows', cpe: [cpeV('mailenable', 'mailenable'), WINDOWS] },
  { ...S, pattern: /\bMDaemon (\d+(?:\.\d+)+)/, product: 'MDaemon mail server', version: '$1', ostype: 'Windows', cpe: [cpeV('altn', 'mdaemon'), WINDOWS] },
  { ...S, pattern: /\bKerio Connect (\d+(?:\.\d+)+)/, product: 'Kerio Connect smtpd', version: '$1', cpe: [cpeV('gfi', 'kerio_connect')] },
  { ...S, pattern: /\bhMailServer\b/, product: 'hMailServer smtpd', ostype: 'Windows', cpe: [cpeAny('hmailserver', 'hmailserver'), WINDOWS] },
  { ...S, pattern: /\bIceWarp (\d+(?:\.\d+)+)/, product: 'IceWarp smtpd', version: '$1', cpe: [cpeV('icewarp', 'mail_server')] },
  { ...S, pattern: /\bCommuniGate Pro (\d+(?:\.\d+)+)/, product: 'CommuniGate Pro smtpd', version: '$1', cpe: [cpeV('communigate', 'communigate_pro')] },
  { ...S, pattern: /\bZimbra\b/, product: 'Zimbra smtpd', cpe: [cpeAny('synacor', 'zimbra_collaboration_suite')] },
  { ...S, pattern: /\bAxigen\b/, product: 'Axigen smtpd', cpe: [cpeAny('axigen', 'axigen_mail_server')] },
  { ...S, pattern: /\bMailHog\b/, product: 'MailHog smtpd' },
  { ...S, pattern: /\bMailpit\b/, product: 'Mailpit smtpd' },
];

/** FTP says 220 too; these words make a banner FTP's, and SMTP's generic rules leave it alone. */
function looksFtp(text: string): boolean {
  return hasToken(text, 'FTPS?') || /\b(?:vsFTPd|ProFTPD|Pure-FTPd|FileZilla)\b/i.test(text);
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * The host name an SMTP reply's first line starts with (RFC 5321 puts the server's domain
 * first), when it is a real name: dotted, or followed by the word (E)SMTP; not an IP address.
 */
export function hostnameFrom(firstLine: string): string | undefined {
  const [name, next] = firstLine.slice(0, 300).split(/\s+/, 2);
  if (name === undefined || !HOSTNAME.test(name) || /^[\d.]+$/.test(name)) return undefined;
  if (!name.includes('.') && !/^E?SMTP$/i.test(next ?? '')) return undefined;
  if (/^(?:E?SMTP|Microsoft|Welcome|Service|Mail)$/i.test(name)) return undefined;
  return name.replace(/\.$/, '').toLowerCase();
}

/**
 * Identify an SMTP server from its greeting. `port` lets a plain `220 ready` count on an SMTP
 * port; elsewhere a banner needs a product or the word (E)SMTP.
 */
export function identifySmtp(data: Buffer, port?: number): Identification | undefined {
  const reply = parseCodedReply(data);
  // 554 / 421: an MTA turning us away (blocklist, overload) still names itself sometimes.
  if (!reply || (reply.code !== 220 && reply.code !== 554 && reply.code !== 421)) return undefined;
  const banner = reply.lines.join('\n').slice(0, 2048);
  const fields = { 'smtp.banner': banner };
  let id = matchSignatures(SMTP_SIGNATURES, undefined, fields);
  if (!id) {
    if (looksFtp(banner)) return undefined;
    if (hasToken(banner, 'E?SMTP') || hasToken(banner, 'MTA')) id = { service: 'smtp', confidence: 7 };
    else if (reply.code === 220 && port !== undefined && SMTP_PORTS.includes(port)) id = { service: 'smtp', confidence: 5 };
    else return undefined;
  }
  if (id.version !== undefined) id.confidence = 10;
  id.fields = fields;
  const host = hostnameFrom(reply.lines[0] ?? '');
  if (host !== undefined) id.hostname = host;
  // `(Debian/GNU)`, `(Ubuntu)`, `8.15.2/8.15.2/Debian-22`: the packager's mark. The leading
  // domain is left out: `mail.debian.org` says nothing about the server's OS.
  const d = distroFrom(banner.slice(0, 512).replace(/^\S+/, ''));
  if (d && d.distro !== 'Windows') {
    id.distro = d.distro;
    if (d.revision !== undefined && /^\d/.test(d.revision)) id.packageRevision = d.revision;
    id.ostype ??= d.ostype;
  }
  return id;
}

/** What an EHLO reply says. */
export interface EhloInfo {
  /** The domain on the first 250 line. */
  hostname?: string;
  /** Extension lines as sent (`PIPELINING`, `SIZE 10240000`, `STARTTLS`, `AUTH PLAIN LOGIN`). */
  extensions: string[];
  startTls: boolean;
  /** SASL mechanisms from `AUTH …` or the old `AUTH=…` form. */
  auth: string[];
}

/** Parse a 250 EHLO reply (RFC 5321 §4.1.1.1); undefined for anything else. */
export function parseEhlo(reply: CodedReply | undefined): EhloInfo | undefined {
  if (!reply || reply.code !== 250) return undefined;
  const extensions = reply.lines.slice(1).map((l) => l.trim()).filter((l) => l !== '').slice(0, 48);
  const auth = new Set<string>();
  for (const e of extensions) {
    const m = /^AUTH[ =](.*)$/i.exec(e);
    if (m) for (const mech of m[1]!.split(/\s+/).slice(0, 16)) if (/^[A-Z0-9_-]{1,40}$/i.test(mech)) auth.add(mech.toUpperCase());
  }
  const info: EhloInfo = { extensions, startTls: extensions.some((e) => /^STARTTLS$/i.test(e)), auth: [...auth] };
  const host = hostnameFrom(reply.lines[0] ?? '');
  if (host !== undefined) info.hostname = host;
  return info;
}

/** Fold what EHLO said into an identification (a copy). */
export function withEhlo(previous: Identification, info: EhloInfo, tunnel: Target['tunnel']): Identification {
  const id: Identification = { ...previous, fields: { ...(previous.fields ?? {}), 'smtp.extensions': info.extensions.join(',').slice(0, 1024) } };
  if (id.hostname === undefined && info.hostname !== undefined) id.hostname = info.hostname;
  if (info.startTls && tunnel !== 'ssl') id.startTls = true;
  // AUTH offered before any TLS sends passwords readably (or at best, hashed) across the network.
  if (info.auth.length > 0 && tunnel !== 'ssl') {
    id.evidence = [...(id.evidence ?? []), { id: 'smtp-cleartext-auth', detail: `AUTH offered without TLS (mechanisms: ${info.auth.join(' ')})` }];
  }
  return id;
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, timing } = ctx;
  let id = ctx.previous;
  try {
    // After our own probe the EHLO is already done (and folded into `previous`).
    if (session.sentBytes === 0) {
      const info = parseEhlo(await codedCommand(session, `EHLO ${EHLO_NAME}`, timing.replyMs));
      if (info) id = withEhlo(id, info, session.target.tunnel);
    }
    if (id.startTls === true && session.target.tunnel !== 'ssl' && session.remainingMs() > timing.replyMs) {
      const go = await codedCommand(session, 'STARTTLS', timing.replyMs);
      if (go?.code === 220) {
        const tls = await session.startTls();
        if (tls) id = { ...id, tls };
      }
    }
    await codedCommand(session, 'QUIT', timing.settleMs);
  } catch {
    // A follow-up never throws; what was learned stands.
  }
  return id;
}

/** SMTP detector: 220 banner table, EHLO extensions, STARTTLS upgrade. */
export const detector: Detector = {
  name: 'smtp',
  ports: SMTP_PORTS,
  tlsPorts: [465],
  serverFirst: true,
  rarity: 3,
  greeting(data: Buffer, target: Target): Identification | undefined {
    return identifySmtp(data, target.port);
  },
  async probe(ctx: ProbeContext): Promise<Identification | undefined> {
    // Only a server that greeted with 220 is worth asking; EHLO → 250 is SMTP's.
    const { session } = ctx;
    const greeting = parseCodedReply(session.received);
    if (greeting?.code !== 220 || session.ended || looksFtp(greeting.lines.join('\n'))) return undefined;
    const info = parseEhlo(await codedCommand(session, `EHLO ${EHLO_NAME}`, ctx.timing.replyMs));
    if (!info) return undefined;
    const base = identifySmtp(session.received, SMTP_PORTS[0]) ?? { service: 'smtp', confidence: 7 };
    base.confidence = Math.max(base.confidence, 7);
    return withEhlo(base, info, session.target.tunnel);
  },
  followUp,
};
