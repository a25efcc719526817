/**
 * The listener audit of a remote host over SSH: the same /proc/net tables the local audit reads,
 * socket owners from `ss`, and the installed packages (dpkg or rpm) for backport-aware CVE checks,
 * as one Observation with source `ssh`.
 *
 * Only fixed, read-only commands run on the remote (`cat` of /proc and /etc files, `uname -m`,
 * `ss -tulnpe`, `dpkg-query -W`, `rpm -qa`); each one's output is capped and the whole audit has
 * one deadline. The host key is checked before anything is sent (ssh-session.ts).
 */
import { lookup } from 'node:dns/promises';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { UsageError, quoteToken } from '../core/errors.js';
import type { Family, InstalledPackage, Observation } from '../core/model.js';
import { escapeTerminal } from '../core/escape.js';
import { readKnownHosts } from './known-hosts.js';
import { PROC_NET_TABLES, portsFromSockets } from './local.js';
import { DPKG_QUERY_COMMAND, RPM_QUERY_COMMAND, parseDpkgQuery, parseRpmQuery } from './packages.js';
import { isListening, parseProcNet, type ProcSocket } from './proc-net.js';
import { parsePasswd, type SocketOwner } from './processes.js';
import { SS_COMMAND, mainOwner, parseSsOwners } from './ss-owners.js';
import { RemoteSession, type CommandResult } from './ssh-session.js';

/** What auditRemote needs. */
export interface RemoteAuditOptions {
  /** Host name or address; the known_hosts lookup uses it as given. */
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  /** A passphrase-less private key file (passphrase-protected keys go through the agent). */
  privateKeyPath?: string;
  /** ssh-agent socket; default $SSH_AUTH_SOCK when no key file is given. */
  agent?: string;
  /** Default ~/.ssh/known_hosts. */
  knownHostsPath?: string;
  /** Trust and record the key of a host known_hosts does not list (a changed key is still refused). */
  acceptNewHostKey?: boolean;
  /** Whole audit: connect, authenticate, run every command. Default 60 000 ms. */
  timeoutMs?: number;
}

/** Cap on what one remote command may print (kept lines for the filtered /proc tables). */
export const MAX_COMMAND_BYTES = 16 * 1024 * 1024;
/** Cap on everything a /proc/net table may print, listening or not (a busy server has many connections). */
const MAX_TABLE_TOTAL_BYTES = 512 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_TIMEOUT_MS = 60 * 60 * 1000;
const MAX_OS_CHARS = 128;

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$/;
const USER_RE = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/;
/** Machines whose /proc/net tables are written big-endian (`uname -m`). Everything else is little-endian. */
const BIG_ENDIAN_MACHINES = /^(?:s390x?|ppc|ppc64|powerpc|powerpc64|mips|mips64|sparc|sparc64|m68k|hppa|parisc|parisc64|armeb|aarch64_be|sh4eb|or1k)$/;

function checkOptions(o: RemoteAuditOptions): { host: string; port: number; timeoutMs: number } {
  const host = o.host.startsWith('[') && o.host.endsWith(']') ? o.host.slice(1, -1) : o.host;
  if (isIP(host) === 0 && !HOST_RE.test(host)) throw new UsageError('E_USAGE', `SSH host ${quoteToken(o.host)}: not a host name or address`, { token: o.host });
  if (!USER_RE.test(o.username)) throw new UsageError('E_USAGE', `SSH user ${quoteToken(o.username)}: not a user name`, { token: o.username });
  const port = o.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('E_USAGE', `SSH port ${port}: must be 1-65535`);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) throw new UsageError('E_USAGE', `SSH timeout ${timeoutMs} ms: must be 1 ms to 1 hour`);
  return { host, port, timeoutMs };
}

/** The address we connect to: the literal itself, or the first address the resolver gives. */
async function resolveTarget(host: string): Promise<{ address: string; family: Family }> {
  const literal = isIP(host);
  if (literal !== 0) return { address: host, family: literal === 4 ? 4 : 6 };
  try {
    const r = await lookup(host);
    return { address: r.address, family: r.family === 6 ? 6 : 4 };
  } catch (err) {
    throw new UsageError('E_SSH_CONNECT', `cannot resolve ${host} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { token: host });
  }
}

/** Keep a /proc/net table's header and its listening rows only, so a host with a million connections costs little. */
function listeningRows(protocol: 'tcp' | 'udp'): (line: string, index: number) => boolean {
  const want = protocol === 'tcp' ? '0A' : '07';
  return (line, index) => index === 0 || line.trimStart().split(/\s+/, 4)[3]?.toUpperCase() === want;
}

/** PRETTY_NAME (or NAME VERSION_ID) from /etc/os-release text, escaped and capped. */
export function osReleaseName(text: string): string | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n', 200)) {
    const m = /^([A-Z_]{1,32})=("?)([^"\n]{0,200})\2\s*$/.exec(line);
    if (m?.[1] !== undefined && m[3] !== undefined) fields.set(m[1], m[3]);
  }
  const name = fields.get('PRETTY_NAME') ?? [fields.get('NAME'), fields.get('VERSION_ID')].filter(Boolean).join(' ');
  return name === '' ? undefined : escapeTerminal(name).slice(0, MAX_OS_CHARS);
}

/** Owners by socket inode from ss output: the lowest-pid process holding each socket. */
export function ownersFromSs(text: string): Map<number, SocketOwner> {
  const owners = new Map<number, SocketOwner>();
  for (const s of parseSsOwners(text)) {
    const o = s.inode === undefined ? undefined : mainOwner(s);
    if (o === undefined || s.inode === undefined) continue;
    const prev = owners.get(s.inode);
    if (prev === undefined || o.pid < prev.pid) owners.set(s.inode, { pid: o.pid, process: o.process });
  }
  return owners;
}

/** Installed packages: dpkg when it answers, else rpm; undefined when neither does. */
async function readPackages(session: RemoteSession): Promise<InstalledPackage[] | undefined> {
  const dpkg = await session.run(DPKG_QUERY_COMMAND, { maxBytes: MAX_COMMAND_BYTES });
  if (dpkg.code === 0) {
    const list = parseDpkgQuery(dpkg.stdout);
    if (list.packages.length > 0) return list.packages;
  }
  const rpm = await session.run(RPM_QUERY_COMMAND, { maxBytes: MAX_COMMAND_BYTES });
  if (rpm.code === 0) return parseRpmQuery(rpm.stdout).packages;
  return dpkg.code === 0 ? [] : undefined;
}

/** Everything the audit reads from the remote host. */
interface RemoteFacts {
  sockets: ProcSocket[];
  owners: Map<number, SocketOwner>;
  users: Map<number, string>;
  packages: InstalledPackage[] | undefined;
  osHint: string | undefined;
}

async function collect(session: RemoteSession, shownHost: string): Promise<RemoteFacts> {
  // Independent commands, started together; the session runs a few at a time.
  const machine = session.run('uname -m', { maxBytes: 4096 });
  // One command per file, so we know which table is which (a missing tcp6 just fails alone).
  const tables = PROC_NET_TABLES.map((t) => session.run(`cat /proc/net/${t.file}`, {
    maxBytes: MAX_COMMAND_BYTES,
    maxTotalBytes: MAX_TABLE_TOTAL_BYTES,
    maxLineBytes: 4096,
    keep: listeningRows(t.protocol),
  }));
  // Without ss (or without the rights to see other users' processes) pid and process stay unknown.
  const ss = session.run(SS_COMMAND, { maxBytes: MAX_COMMAND_BYTES });
  const passwd = session.run('cat /etc/passwd', { maxBytes: MAX_COMMAND_BYTES });
  const packages = readPackages(session);
  const osRelease = session.run('cat /etc/os-release', { maxBytes: 64 * 1024 });
  const [m, t, s, p, pk, os] = await Promise.all([machine, Promise.all(tables), ss, passwd, packages, osRelease]);

  const littleEndian = !BIG_ENDIAN_MACHINES.test(m.stdout.trim());
  const sockets: ProcSocket[] = [];
  let tablesRead = 0;
  PROC_NET_TABLES.forEach((table, i) => {
    const r: CommandResult | undefined = t[i];
    if (r?.code !== 0) return;
    tablesRead++;
    for (const sock of parseProcNet(r.stdout, table.protocol, table.family, { littleEndian, listeningOnly: true }).sockets) sockets.push(sock);
  });
  if (tablesRead === 0) throw new UsageError('E_SSH_REMOTE', `${shownHost}: cannot read /proc/net/tcp (not a Linux host?)`);
  return {
    sockets,
    owners: s.code === 0 ? ownersFromSs(s.stdout) : new Map<number, SocketOwner>(),
    users: p.code === 0 ? parsePasswd(p.stdout) : new Map<number, string>(),
    packages: pk,
    osHint: os.code === 0 ? osReleaseName(os.stdout) : undefined,
  };
}

/**
 * Audit a remote host's listening sockets and installed packages over SSH. Rejects with a
 * UsageError: E_SSH_HOSTKEY (unknown key), E_SSH_HOSTKEY_MISMATCH / _REVOKED (refused key),
 * E_SSH_AUTH, E_SSH_KEY, E_SSH_CONNECT, E_SSH_TIMEOUT, E_SSH_OUTPUT (a command printed too much),
 * E_SSH_REMOTE (not a Linux host), E_USAGE (bad options).
 */
export async function auditRemote(opts: RemoteAuditOptions): Promise<Observation> {
  const { host, port, timeoutMs } = checkOptions(opts);
  const startedAt = Date.now();
  const deadline = startedAt + timeoutMs;
  const knownHostsPath = opts.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts');
  let knownHosts;
  try {
    knownHosts = readKnownHosts(knownHostsPath);
  } catch (err) {
    throw new UsageError('E_SSH_HOSTKEY', `cannot read known_hosts ${quoteToken(knownHostsPath)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const agent = opts.agent ?? (opts.privateKeyPath === undefined ? process.env.SSH_AUTH_SOCK : undefined);
  const target = await resolveTarget(host);
  const session = await RemoteSession.open({
    host,
    address: target.address,
    port,
    username: opts.username,
    ...(opts.privateKeyPath !== undefined && { privateKeyPath: opts.privateKeyPath }),
    ...(agent !== undefined && agent !== '' && { agent }),
    knownHostsPath,
    knownHosts,
    acceptNewHostKey: opts.acceptNewHostKey === true,
    deadline,
  });
  let facts: RemoteFacts;
  try {
    facts = await collect(session, port === 22 ? host : `[${host}]:${port}`);
  } finally {
    session.close();
  }
  const ports = portsFromSockets(facts.sockets.filter(isListening), facts.owners, facts.users);
  const obs: Observation = {
    source: 'ssh',
    host: {
      address: target.address,
      family: target.family,
      hostnames: isIP(host) === 0 ? [{ name: host, type: 'user' }] : [],
      status: 'up',
      // We reached it over TCP: its SSH port answered our SYN.
      statusReason: 'syn-ack',
      ports,
      startedAt,
      endedAt: Date.now(),
    },
  };
  if (facts.packages !== undefined) obs.packages = facts.packages;
  if (facts.osHint !== undefined) obs.osHint = facts.osHint;
  return obs;
}
