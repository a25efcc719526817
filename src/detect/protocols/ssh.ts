/**
 * SSH: the server sends its identification string first (RFC 4253 §4.2,
 * `SSH-protoversion-softwareversion SP comments CRLF`), which names the implementation and often
 * the distribution package. The follow-up runs a real SSH handshake (ssh2) on a fresh connection
 * and asks for the `none` method only, which makes the server list the methods it accepts; it
 * never sends a credential.
 */
import type { Duplex } from 'node:stream';
import type { Algorithms } from 'ssh2';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField, distroFrom, latin1 } from '../text.js';
import type { Detector, Evidence, Identification, ProbeContext, Target } from '../types.js';

/** RFC 4253 caps the identification line at 255 bytes including CRLF. */
const MAX_IDENT = 255;
/** Lines a server may send before its identification (RFC 4253 allows them); more is not SSH. */
const MAX_PRE_LINES = 8;
/** The user name the auth-method check announces; no password or key is ever offered. */
export const PROBE_USER = 'portolan-probe';

/** The parts of an SSH identification string. */
export interface SshIdent {
  /** `2.0`, `1.99`, `1.5`. */
  protocol: string;
  /** Everything after `SSH-x.y-`: software version plus comments (`OpenSSH_9.2p1 Debian-2+deb12u3`). */
  banner: string;
  /** The softwareversion token (`OpenSSH_9.2p1`). */
  software: string;
  /** The comments after the first space, if any (`Debian-2+deb12u3`). */
  comments?: string;
}

/** Another protocol's first line; a later `SSH-` line after one of these is not an SSH server. */
const OTHER_PROTOCOL = /^(?:HTTP\/|\d{3}[ -]|\+OK|\* OK|-ERR|RFB \d|AMQP|@RSYNCD)/;

/**
 * Find and split the identification string. Strict: `SSH-<digits>.<digits>-<printable>` at the
 * start of the reply, or after a few short text lines (RFC 4253 permits those), nothing else.
 */
export function parseSshIdent(data: Buffer): SshIdent | undefined {
  const text = latin1(data, (MAX_IDENT + 2) * (MAX_PRE_LINES + 1));
  let start = 0;
  for (let i = 0; i <= MAX_PRE_LINES; i++) {
    const nl = text.indexOf('\n', start);
    const raw = nl >= 0 ? text.slice(start, nl) : text.slice(start);
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('SSH-')) return splitIdent(line.slice(0, MAX_IDENT));
    // A pre-identification line must be short printable text and not another protocol's reply.
    // eslint-disable-next-line no-control-regex -- rejecting control bytes is the point
    if (nl < 0 || line.length > MAX_IDENT || /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]/.test(line)) return undefined;
    if (i === 0 && OTHER_PROTOCOL.test(line)) return undefined;
    start = nl + 1;
  }
  return undefined;
}

function splitIdent(line: string): SshIdent | undefined {
  const m = /^SSH-(\d{1,2}\.\d{1,2})-([\x21-\x7e][\x20-\x7e]*)$/.exec(line);
  if (!m) return undefined;
  const banner = cleanField(m[2]!, MAX_IDENT);
  if (banner === '') return undefined;
  const sp = banner.indexOf(' ');
  const software = sp >= 0 ? banner.slice(0, sp) : banner;
  const comments = sp >= 0 ? banner.slice(sp + 1).trim() : '';
  return comments !== '' ? { protocol: m[1]!, banner, software, comments } : { protocol: m[1]!, banner, software };
}

/** A CPE template with the version taken from capture group 1 (groups here are `[\w.]` only). */
function cpeV(part: 'a' | 'o', vendor: string, product: string): string {
  return `cpe:2.3:${part}:${vendor}:${product}:$1:*:*:*:*:*:*:*`;
}

const B = { service: 'ssh', field: 'ssh.banner', origin: 'builtin' } as const;

/**
 * Built-in table over `ssh.banner` (the identification after `SSH-x.y-`). Order is priority:
 * specific first. Version groups only admit `[\w.]`, so templates cannot inject CPE fields.
 */
export const SSH_SIGNATURES: readonly Signature[] = [
  { ...B, pattern: /^OpenSSH_for_Windows_([\w.]+)/, product: 'OpenSSH', version: '$1', ostype: 'Windows', cpe: [cpeV('a', 'openbsd', 'openssh'), 'cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*'] },
  { ...B, pattern: /^OpenSSH_([\d.]+(?:p\d+)?)/, product: 'OpenSSH', version: '$1', cpe: [cpeV('a', 'openbsd', 'openssh')] },
  { ...B, pattern: /^OpenSSH\b/, product: 'OpenSSH', cpe: ['cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*'] },
  { ...B, pattern: /^dropbear(?:_([\d.]+))?/i, product: 'Dropbear sshd', version: '$1', ostype: 'Linux', cpe: [cpeV('a', 'dropbear_ssh_project', 'dropbear_ssh')] },
  { ...B, pattern: /^libssh[_-]([\d.]+)/, product: 'libssh', version: '$1', cpe: [cpeV('a', 'libssh', 'libssh')] },
  { ...B, pattern: /^libssh\b/, product: 'libssh', cpe: ['cpe:2.3:a:libssh:libssh:*:*:*:*:*:*:*:*'] },
  { ...B, pattern: /^Cisco-([\d.]+)/, product: 'Cisco SSH', version: '$1', ostype: 'IOS', devicetype: 'router', cpe: ['cpe:2.3:o:cisco:ios:*:*:*:*:*:*:*:*'] },
  { ...B, pattern: /^ROSSSH\b/, product: 'MikroTik RouterOS sshd', ostype: 'RouterOS', devicetype: 'router', cpe: ['cpe:2.3:o:mikrotik:routeros:*:*:*:*:*:*:*:*'] },
  { ...B, pattern: /^paramiko_([\d.]+)/, product: 'Paramiko Python sshd', version: '$1', cpe: [cpeV('a', 'paramiko', 'paramiko')] },
  { ...B, pattern: /^AsyncSSH_([\d.]+)/, product: 'AsyncSSH sshd', version: '$1', cpe: [cpeV('a', 'asyncssh_project', 'asyncssh')] },
  { ...B, pattern: /^Go$/, product: 'Golang x/crypto/ssh server', cpe: ['cpe:2.3:a:golang:crypto:*:*:*:*:*:*:*:*'] },
  { ...B, pattern: /^mod_sftp(?:\/([\d.]+\w*))?/, product: 'ProFTPD mod_sftp', version: '$1', cpe: [cpeV('a', 'proftpd', 'proftpd')] },
  { ...B, pattern: /^Sun_SSH_([\d.]+)/, product: 'SunSSH', version: '$1', ostype: 'Solaris', cpe: [cpeV('a', 'sun', 'sunssh')] },
  { ...B, pattern: /^HUAWEI-([\d.]+)/, product: 'Huawei VRP sshd', version: '$1', ostype: 'VRP', devicetype: 'router' },
  { ...B, pattern: /^Comware-([\d.]+)/, product: 'HP Comware sshd', version: '$1', ostype: 'Comware', devicetype: 'switch' },
  { ...B, pattern: /Bitvise SSH Server \(WinSSHD\) ([\d.]+)/, product: 'Bitvise WinSSHD', version: '$1', ostype: 'Windows', cpe: [cpeV('a', 'bitvise', 'winsshd')] },
  { ...B, pattern: /^Serv-U_([\d.]+)/, product: 'Serv-U SSH Server', version: '$1', ostype: 'Windows', cpe: [cpeV('a', 'solarwinds', 'serv-u')] },
  { ...B, pattern: /^Twisted(?:_([\d.]+))?/, product: 'Twisted Conch sshd', version: '$1', cpe: [cpeV('a', 'twistedmatrix', 'twisted')] },
  { ...B, pattern: /^RomSShell_([\d.]+)/, product: 'Allegro RomSShell sshd', version: '$1', devicetype: 'embedded' },
  { ...B, pattern: /^WeOnlyDo(?:-wodFTPD)?[ _]?([\d.]+)?/, product: 'WeOnlyDo sshd', version: '$1', ostype: 'Windows' },
  { ...B, pattern: /^lancom\b/i, product: 'LANCOM sshd', devicetype: 'router' },
];

/** nmap writes the distribution into extrainfo for Ubuntu; we keep the protocol version always. */
function extraFor(protocol: string, distro: string | undefined): string {
  return distro === 'Ubuntu' ? `Ubuntu Linux; protocol ${protocol}` : `protocol ${protocol}`;
}

/** Identify an SSH server from its identification string; undefined when it is not SSH. */
export function identifySsh(data: Buffer): Identification | undefined {
  const ident = parseSshIdent(data);
  if (!ident) return undefined;
  const fields = { 'ssh.banner': ident.banner };
  const id: Identification = matchSignatures(SSH_SIGNATURES, undefined, fields) ?? { service: 'ssh', confidence: 7 };
  id.fields = fields;
  if (id.version !== undefined) id.confidence = 10;
  // Distribution and package revision live in the comments (`Debian-2+deb12u3`, `FreeBSD-20230316`).
  if (ident.comments !== undefined && id.ostype === undefined) {
    const d = distroFrom(ident.comments);
    if (d && d.distro !== 'Windows') {
      id.distro = d.distro;
      id.ostype = d.ostype;
      if (d.revision !== undefined) id.packageRevision = cleanField(d.revision, 64);
      else if (d.distro === 'FreeBSD') {
        const stamp = /FreeBSD-(\d{8})\b/.exec(ident.comments);
        if (stamp) id.packageRevision = stamp[1]!;
      }
    }
  }
  id.extrainfo = extraFor(ident.protocol, id.distro);
  return id;
}

/** What the auth-method check saw. */
export interface AuthProbeResult {
  /** Methods the server listed after `none` failed (`publickey`, `password`, …). */
  methods?: string[];
  /** The server let `portolan-probe` in without any credential. */
  noneAccepted?: boolean;
  /** Why it stopped early (timeout, handshake error), for debugging. */
  error?: string;
}

/** Methods ssh2 itself cannot negotiate by default but old servers still require. */
const LEGACY_ALGORITHMS = {
  kex: { append: ['diffie-hellman-group14-sha1', 'diffie-hellman-group-exchange-sha1', 'diffie-hellman-group1-sha1'] },
  serverHostKey: { append: ['ssh-dss'] },
  cipher: { append: [/^aes(?:128|192|256)-cbc$/] },
} as unknown as Algorithms;

/**
 * Run an SSH handshake over `stream` and ask for auth method `none` only; resolves with the
 * methods the server lists. Never rejects, never sends a password or key; destroys the stream.
 */
export async function probeAuthMethods(stream: Duplex, timeoutMs: number): Promise<AuthProbeResult> {
  // Loaded on first use: ssh2 costs ~80 ms at start-up, which a scan without SSH need not pay.
  const { Client } = await import('ssh2');
  return new Promise((resolve) => {
    const client = new Client();
    const result: AuthProbeResult = {};
    let done = false;
    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error !== undefined && result.methods === undefined && !result.noneAccepted) result.error = error.slice(0, 200);
      try {
        client.end();
      } catch {
        // already torn down
      }
      stream.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish('timeout'), Math.max(1, timeoutMs));
    client.on('error', (err: Error) => finish(err.message));
    client.on('close', () => finish('closed'));
    client.on('ready', () => {
      result.noneAccepted = true;
      finish();
    });
    stream.on('error', () => finish('stream error'));
    try {
      client.connect({
        sock: stream,
        username: PROBE_USER,
        readyTimeout: Math.max(1, timeoutMs),
        algorithms: LEGACY_ALGORITHMS,
        authHandler: (methodsLeft, _partial, next) => {
          // First call (methodsLeft null): try `none`. Second call: the server's list; stop there.
          if (methodsLeft === null || methodsLeft === undefined) {
            next({ type: 'none', username: PROBE_USER });
            return;
          }
          result.methods = methodsLeft.slice(0, 16).map((m) => cleanField(String(m), 40)).filter((m) => m !== '');
          finish();
        },
      });
    } catch (err) {
      finish(err instanceof Error ? err.message : 'connect failed');
    }
  });
}

/** Evidence for what the auth-method check found. */
export function authEvidence(r: AuthProbeResult): Evidence[] {
  const out: Evidence[] = [];
  if (r.noneAccepted) out.push({ id: 'ssh-no-auth', detail: `server accepted user ${PROBE_USER} without any credential (auth method none)` });
  const methods = r.methods ?? [];
  const list = methods.join(',');
  if (methods.includes('password')) out.push({ id: 'ssh-password-auth', detail: `password authentication offered (methods: ${list})` });
  if (methods.includes('keyboard-interactive')) out.push({ id: 'ssh-keyboard-interactive-auth', detail: `keyboard-interactive authentication offered (methods: ${list})` });
  return out;
}

/** The handshake costs a few round trips and some CPU; never let it take the whole budget. */
const MAX_AUTH_CHECK_MS = 8000;
const MIN_AUTH_CHECK_MS = 300;

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  try {
    const budget = Math.min(session.remainingMs() - 50, MAX_AUTH_CHECK_MS);
    if (budget < MIN_AUTH_CHECK_MS) return previous;
    const stream = await session.openStream();
    if (!stream) return previous;
    const left = Math.min(budget, session.remainingMs() - 50);
    if (left < MIN_AUTH_CHECK_MS) {
      stream.destroy();
      return previous;
    }
    const r = await probeAuthMethods(stream, left);
    if (r.methods === undefined && !r.noneAccepted) return previous;
    const evidence = [...(previous.evidence ?? []), ...authEvidence(r)];
    const fields = { ...(previous.fields ?? {}) };
    if (r.methods !== undefined) fields['ssh.auth_methods'] = r.methods.join(',');
    return evidence.length > 0 ? { ...previous, fields, evidence } : { ...previous, fields };
  } catch {
    return previous;
  }
}

/** SSH detector: identification string, built-in banner table, auth-method safe check. */
export const detector: Detector = {
  name: 'ssh',
  ports: [22, 2222, 22222, 2022, 830],
  serverFirst: true,
  // The probe (sending our identification to a silent port) is rarely needed: sshd speaks first.
  rarity: 7,
  greeting(data: Buffer, _target: Target): Identification | undefined {
    return identifySsh(data);
  },
  async probe(ctx: ProbeContext): Promise<Identification | undefined> {
    // Some servers wait for the client's identification first; sending ours is harmless.
    const have = identifySsh(ctx.session.received);
    if (have) return have;
    if (ctx.session.received.length > 0 || ctx.session.ended) return undefined;
    ctx.session.send('SSH-2.0-portolan\r\n');
    const r = await ctx.session.read(ctx.timing.replyMs, (d) => d.indexOf(0x0a) >= 0 && parseSshIdent(d) !== undefined);
    return identifySsh(r.data);
  },
  followUp,
};
