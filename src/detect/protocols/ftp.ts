/**
 * FTP: the server greets with a `220` reply (RFC 959), often naming its software. The follow-up
 * asks `FEAT` (AUTH TLS → an upgrade is offered), tries the anonymous login every FTP server
 * defines (RFC 1635) — a read-only check, no guessed password — and then `SYST` (an OS hint).
 *
 * A bare `220` is also how SMTP greets, so the generic rule needs an FTP word in the banner (or
 * an FTP port); the probe settles other ports with `SYST`, which only FTP answers with `215`
 * (or, before login, with a `530` asking for USER and PASS).
 */
import { matchSignatures, type Signature } from '../signature.js';
import { codedCommand, codedReplyComplete, distroFrom, hasToken, parseCodedReply, type CodedReply } from '../text.js';
import type { Detector, Evidence, Identification, ProbeContext, Target, TlsInfo } from '../types.js';

const FTP_PORTS = [21, 2121, 990];

const S = { service: 'ftp', field: 'ftp.banner', origin: 'builtin' } as const;
const cpeV = (vendor: string, product: string): string => `cpe:2.3:a:${vendor}:${product}:$1:*:*:*:*:*:*:*`;
const WINDOWS = 'cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*';

/** Built-in table over `ftp.banner` (the 220 text, lines joined by `\n`); specific first. */
export const FTP_SIGNATURES: readonly Signature[] = [
  { ...S, pattern: /\(vsFTPd ([\d.]+)\)/, product: 'vsftpd', version: '$1', cpe: [cpeV('beasts', 'vsftpd')] },
  { ...S, pattern: /\bProFTPD ([\d.]+[a-z]?(?:rc\d+)?)\b/, product: 'ProFTPD', version: '$1', cpe: [cpeV('proftpd', 'proftpd')] },
  { ...S, pattern: /\bProFTPD\b/, product: 'ProFTPD', cpe: ['cpe:2.3:a:proftpd:proftpd:*:*:*:*:*:*:*:*'] },
  { ...S, pattern: /\bPure-FTPd\b/, product: 'Pure-FTPd', cpe: ['cpe:2.3:a:pureftpd:pure-ftpd:*:*:*:*:*:*:*:*'] },
  { ...S, pattern: /\bFileZilla Server(?: version)? ([\d.]+)/, product: 'FileZilla ftpd', version: '$1', ostype: 'Windows', cpe: [cpeV('filezilla-project', 'filezilla_server'), WINDOWS] },
  { ...S, pattern: /\bFileZilla Server\b/, product: 'FileZilla ftpd', ostype: 'Windows', cpe: ['cpe:2.3:a:filezilla-project:filezilla_server:*:*:*:*:*:*:*:*', WINDOWS] },
  { ...S, pattern: /^Microsoft FTP Service\b/, product: 'Microsoft ftpd', ostype: 'Windows', cpe: ['cpe:2.3:a:microsoft:internet_information_services:*:*:*:*:*:*:*:*', WINDOWS] },
  { ...S, pattern: /\bServ-U FTP Server v?([\d.]+)/, product: 'Serv-U ftpd', version: '$1', ostype: 'Windows', cpe: [cpeV('solarwinds', 'serv-u'), WINDOWS] },
  { ...S, pattern: /\bWing FTP Server\b/, product: 'Wing FTP Server', cpe: ['cpe:2.3:a:wftpserver:wing_ftp_server:*:*:*:*:*:*:*:*'] },
  { ...S, pattern: /\bpyftpdlib ([\d.]+)/, product: 'pyftpdlib', version: '$1', cpe: [cpeV('pyftpdlib_project', 'pyftpdlib')] },
  { ...S, pattern: /\bTwisted ([\d.]+) FTP Server/, product: 'Twisted ftpd', version: '$1', cpe: [cpeV('twistedmatrix', 'twisted')] },
  { ...S, pattern: /\bbftpd ([\d.]+)/, product: 'bftpd', version: '$1', cpe: [cpeV('bftpd_project', 'bftpd')] },
  { ...S, pattern: /\btnftpd (\d{8})/, product: 'tnftpd', version: '$1', cpe: [cpeV('netbsd', 'tnftpd')] },
  { ...S, pattern: /\bwu-([\d.]+)(?:\(\d+\))? FTP server/, product: 'WU-FTPD', version: '$1', cpe: [cpeV('washington_university', 'wu-ftpd')] },
  { ...S, pattern: /Linux-ftpd-([\d.]+)/, product: 'netkit ftpd', version: '$1', ostype: 'Linux' },
  { ...S, pattern: /\bXlight FTP Server ([\d.]+)/, product: 'Xlight ftpd', version: '$1', ostype: 'Windows' },
  { ...S, pattern: /\bCrushFTP\b/, product: 'CrushFTP', cpe: ['cpe:2.3:a:crushftp:crushftp:*:*:*:*:*:*:*:*'] },
];

/** Words that make a 220 banner SMTP rather than FTP. */
function looksSmtp(text: string): boolean {
  return hasToken(text, 'E?SMTP') || /\b(?:Postfix|Exim|Sendmail|OpenSMTPD|ESMTP)\b/i.test(text);
}

/** The banner text of a 220 reply (lines joined by `\n`, bounded), or undefined. */
function bannerOf(data: Buffer): string | undefined {
  const reply = parseCodedReply(data);
  if (!reply || reply.code !== 220) return undefined;
  return reply.lines.join('\n').slice(0, 2048);
}

/** vsftpd greets with `500 OOPS: vsftpd: …` when its configuration is broken; still vsftpd. */
const VSFTPD_OOPS = /^OOPS: (?:vsftpd|.*\bvsf_)/;

/**
 * Identify an FTP server from its greeting. `port` lets a plain `220 Welcome` count on an FTP
 * port; elsewhere a banner needs a product or the word FTP.
 */
export function identifyFtp(data: Buffer, port?: number): Identification | undefined {
  const banner = bannerOf(data);
  if (banner === undefined) {
    const reply = parseCodedReply(data);
    if (reply?.code !== 500 || !VSFTPD_OOPS.test(reply.lines[0] ?? '')) return undefined;
    return { service: 'ftp', product: 'vsftpd', cpe: ['cpe:2.3:a:beasts:vsftpd:*:*:*:*:*:*:*:*'], confidence: 8, fields: { 'ftp.banner': reply.lines.join('\n').slice(0, 2048) } };
  }
  const fields = { 'ftp.banner': banner };
  let id = matchSignatures(FTP_SIGNATURES, undefined, fields);
  if (!id) {
    if (looksSmtp(banner)) return undefined;
    if (hasToken(banner, 'FTPS?') || hasToken(banner, 'FTP-?server')) id = { service: 'ftp', confidence: 7 };
    else if (port !== undefined && FTP_PORTS.includes(port)) id = { service: 'ftp', confidence: 5 };
    else return undefined;
  }
  if (id.version !== undefined) id.confidence = 10;
  id.fields = fields;
  // ProFTPD puts its ServerName in parentheses, which packagers set to the distribution.
  for (const m of banner.slice(0, 512).matchAll(/\(([^()]{1,60})\)/g)) {
    const d = distroFrom(m[1]!);
    if (d && d.distro !== 'Windows') {
      id.distro = d.distro;
      id.ostype ??= d.ostype;
      break;
    }
  }
  return id;
}

/** Features from a FEAT reply (RFC 2389): the indented lines between `211-` and `211 End`. */
export function parseFeatures(reply: CodedReply | undefined): string[] {
  if (!reply || reply.code !== 211) return [];
  return reply.lines.slice(1, -1).map((l) => l.trim()).filter((l) => l !== '').slice(0, 48);
}

/** An OS hint from a SYST reply (`215 UNIX Type: L8`, `215 Windows_NT`). */
export function systOstype(reply: CodedReply | undefined): string | undefined {
  if (!reply || reply.code !== 215) return undefined;
  const t = reply.lines[0] ?? '';
  if (/^Windows/i.test(t)) return 'Windows';
  if (/^UNIX\b/i.test(t)) return 'Unix';
  return undefined;
}

/**
 * True when a SYST reply can only come from FTP: `215`, or a `530` asking to log in first
 * (vsftpd). An SMTP server's `530 5.7.0 Must issue a STARTTLS command first` does not count.
 */
export function systSaysFtp(reply: CodedReply | undefined): boolean {
  if (!reply) return false;
  if (reply.code === 215) return true;
  const t = reply.lines[0] ?? '';
  return reply.code === 530 && /\b(?:USER|log ?in)\b/i.test(t) && !/\b5\.\d{1,3}\.\d{1,3}\b|STARTTLS|\bAUTH\b/i.test(t);
}

/** The anonymous password: a mailbox in a reserved domain, as RFC 1635 asks for an address. */
export const ANON_PASSWORD = 'portolan@example.invalid';

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, timing } = ctx;
  const id: Identification = { ...ctx.previous, fields: { ...(ctx.previous.fields ?? {}) } };
  const fields = id.fields!;
  try {
    const feat = parseFeatures(await codedCommand(session, 'FEAT', timing.replyMs));
    if (feat.length > 0) fields['ftp.features'] = feat.join(',').slice(0, 512);
    if (feat.some((f) => /^AUTH\b.*\b(?:TLS|SSL)\b/i.test(f))) id.startTls = true;

    // Anonymous login: 331 asks for the password, 230 means logged in (some servers skip 331).
    const user = await codedCommand(session, 'USER anonymous', timing.replyMs);
    let loggedIn = user?.code === 230;
    if (user?.code === 331) {
      const pass = await codedCommand(session, `PASS ${ANON_PASSWORD}`, timing.replyMs);
      loggedIn = pass?.code === 230;
    }
    if (loggedIn) {
      const ev: Evidence = { id: 'ftp-anonymous', detail: 'anonymous FTP login accepted (USER anonymous)' };
      id.evidence = [...(id.evidence ?? []), ev];
    }

    // After the login attempt: vsftpd answers SYST only to a logged-in user.
    const syst = await codedCommand(session, 'SYST', timing.replyMs);
    if (syst?.code === 215) fields['ftp.syst'] = (syst.lines[0] ?? '').slice(0, 120);
    const os = systOstype(syst);
    if (os !== undefined && id.ostype === undefined) id.ostype = os;
    await codedCommand(session, 'QUIT', timing.settleMs);
    if (id.startTls === true && session.target.tunnel !== 'ssl') {
      const tls = await authTls(ctx);
      if (tls) id.tls = tls;
    }
  } catch {
    // A follow-up never throws; whatever was learned so far stands.
  }
  return id;
}

/**
 * RFC 4217 AUTH TLS on a fresh connection (before any USER, as the RFC wants): the certificate
 * and TLS version of the control channel. Nothing is sent inside the tunnel.
 */
async function authTls(ctx: ProbeContext): Promise<TlsInfo | undefined> {
  const fresh = await ctx.session.reconnect();
  if (!fresh) return undefined;
  try {
    const greeting = await fresh.read(ctx.timing.replyMs, codedReplyComplete);
    if (parseCodedReply(greeting.data)?.code !== 220) return undefined;
    const auth = await codedCommand(fresh, 'AUTH TLS', ctx.timing.replyMs);
    if (auth?.code !== 234) return undefined;
    return await fresh.startTls();
  } finally {
    fresh.close();
  }
}

/** FTP detector: 220 banner table, FEAT/SYST, anonymous-login safe check. */
export const detector: Detector = {
  name: 'ftp',
  ports: FTP_PORTS,
  tlsPorts: [990],
  serverFirst: true,
  rarity: 3,
  greeting(data: Buffer, target: Target): Identification | undefined {
    return identifyFtp(data, target.port);
  },
  async probe(ctx: ProbeContext): Promise<Identification | undefined> {
    // Only a server that greeted with 220 is worth asking; SYST → 215 is FTP's alone.
    const banner = bannerOf(ctx.session.received);
    if (banner === undefined || looksSmtp(banner) || ctx.session.ended) return undefined;
    const syst = await codedCommand(ctx.session, 'SYST', ctx.timing.replyMs);
    if (!systSaysFtp(syst)) return undefined;
    const id = identifyFtp(ctx.session.received, FTP_PORTS[0]) ?? { service: 'ftp', confidence: 7 };
    id.confidence = Math.max(id.confidence, 7);
    const os = systOstype(syst);
    if (os !== undefined && id.ostype === undefined) id.ostype = os;
    return id;
  },
  followUp,
};
