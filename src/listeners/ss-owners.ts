/**
 * Socket owners from `ss -tulnpe` on a remote host: /proc/net/* says what listens but not who, and
 * reading another host's /proc/PID/fd over SSH would take one command per process. ss prints both
 * the owning processes (`users:(("sshd",pid=123,fd=3))`) and the socket inode (`ino:4567`), which
 * joins exactly with /proc/net. Pure and bounded: the text is from a host we do not trust.
 */

/**
 * What we run: TCP and UDP, listening only, numeric, with processes and extended info (inode). Not
 * `-H`: ss before iproute2 4.13 rejects it, and the parser skips the header line anyway.
 */
export const SS_COMMAND = 'ss -tulnpe';

/** One process holding a socket. */
export interface SsOwner {
  process: string;
  pid: number;
}

/** One socket line of ss. */
export interface SsSocket {
  protocol: 'tcp' | 'udp';
  /** Local address without brackets or `%interface` (`0.0.0.0`, `::`, `*`, `192.0.2.5`). */
  address: string;
  port: number;
  /** Socket inode, when ss printed one. */
  inode?: number;
  /** Owners in the order ss printed them (empty when ss could not see them: another user's process). */
  owners: SsOwner[];
}

/** Most sockets kept (a busy UDP host can have many). */
export const MAX_SS_SOCKETS = 200_000;
const MAX_LINE_CHARS = 16 * 1024;
/** Most owners kept per socket (prefork servers share one socket among hundreds of workers). */
const MAX_OWNERS = 64;

// `("name",pid=123,fd=4)`; a process name (comm) is at most 15 bytes but ss prints it verbatim, so bound it loosely.
const OWNER_RE = /\("((?:[^"\\]|\\.){0,64})",pid=(\d{1,10}),fd=\d{1,10}\)/g;
const INODE_RE = /(?:^|\s)ino:(\d{1,20})(?:\s|$)/;

/** `0.0.0.0:22`, `[::]:22`, `*:22`, `127.0.0.53%lo:53`, `[fe80::1%eth0]:123` → address and port, or null. */
export function splitAddressPort(token: string): { address: string; port: number } | null {
  const colon = token.lastIndexOf(':');
  if (colon <= 0) return null;
  const portText = token.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  let address = token.slice(0, colon);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const pct = address.indexOf('%');
  if (pct !== -1) address = address.slice(0, pct);
  if (address === '' || address.length > 64 || !/^[0-9A-Fa-f:.*]+$/.test(address)) return null;
  return { address: address.toLowerCase(), port };
}

/** Parse ss output (with or without the header line). Malformed lines are skipped. */
export function parseSsOwners(text: string): SsSocket[] {
  const out: SsSocket[] = [];
  let start = 0;
  while (start < text.length && out.length < MAX_SS_SOCKETS) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end - start <= MAX_LINE_CHARS) {
      const s = parseLine(text.slice(start, end));
      if (s !== null) out.push(s);
    }
    start = end + 1;
  }
  return out;
}

function parseLine(line: string): SsSocket | null {
  // Netid State Recv-Q Send-Q Local:Port Peer:Port [Process and extended info]
  const fields = line.trim().split(/\s+/);
  const [netid, , , , local] = fields;
  if (netid !== 'tcp' && netid !== 'udp') return null;
  const where = splitAddressPort(local ?? '');
  if (where === null) return null;
  const rest = fields.slice(6).join(' ');
  const socket: SsSocket = { protocol: netid, address: where.address, port: where.port, owners: [] };
  const ino = INODE_RE.exec(rest);
  if (ino?.[1] !== undefined) {
    const n = Number(ino[1]);
    if (Number.isSafeInteger(n) && n > 0) socket.inode = n;
  }
  for (const m of rest.matchAll(OWNER_RE)) {
    if (socket.owners.length === MAX_OWNERS) break;
    const pid = Number(m[2]);
    if (pid < 1 || pid > 0x7fffffff) continue;
    socket.owners.push({ process: (m[1] ?? '').replace(/\\(.)/g, '$1'), pid });
  }
  return socket;
}

/**
 * The process to report for a socket: the lowest PID among its owners, which for a prefork server
 * (nginx, Apache, Postfix) is the master that opened it rather than whichever worker ss listed first.
 */
export function mainOwner(socket: SsSocket): SsOwner | undefined {
  let best: SsOwner | undefined;
  for (const o of socket.owners) if (best === undefined || o.pid < best.pid) best = o;
  return best;
}
