/**
 * Parser of the kernel's socket tables `/proc/net/{tcp,tcp6,udp,udp6}`, pure so the local audit and
 * the SSH audit (which reads the same files on another machine) share it.
 *
 * Format (net/ipv4/tcp_ipv4.c, net/ipv4/udp.c, their ipv6 twins): a header line, then one row per
 * socket: `sl: local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …`.
 * Addresses are hex of the raw in-memory address, printed 32-bit word by 32-bit word in host byte
 * order: on a little-endian machine `0100007F` is 127.0.0.1 and each of IPv6's four words is byte-
 * reversed. Ports are plain hex numbers. `st` is the TCP state number; UDP uses TCP_CLOSE (07) for an
 * unconnected socket and TCP_ESTABLISHED (01) for a connected one.
 *
 * The text may come from a machine we do not trust: a malformed row is skipped and counted, never
 * fatal, and nothing outside the documented shapes gets through.
 */
import type { Family, Protocol } from '../core/model.js';
import { formatIPv4, formatIPv6 } from '../core/targets-addr.js';

/** TCP state numbers (include/net/tcp_states.h) that matter here. */
export const TCP_ESTABLISHED = 0x01;
export const TCP_CLOSE = 0x07;
export const TCP_LISTEN = 0x0a;

/** One row of a /proc/net socket table. */
export interface ProcSocket {
  protocol: Protocol;
  family: Family;
  /** Local address in canonical text (`127.0.0.1`, `::`, `::ffff:127.0.0.1`). */
  address: string;
  port: number;
  remoteAddress: string;
  remotePort: number;
  /** Kernel state number (TCP_LISTEN, TCP_CLOSE, …). */
  state: number;
  /** Owner uid of the socket. */
  uid: number;
  /** Socket inode: what /proc/PID/fd links name (`socket:[inode]`). 0 for sockets no fd holds. */
  inode: number;
}

export interface ParseOptions {
  /** Byte order of the machine that wrote the table (default: little-endian, as x86 and arm64). */
  littleEndian?: boolean;
  /** Keep only listening sockets (TCP LISTEN, UDP unconnected): what an audit needs, in less memory. */
  listeningOnly?: boolean;
  /** Most rows kept (default 1 000 000); rows past it are counted as skipped. */
  maxRows?: number;
}

export interface ProcNetTable {
  sockets: ProcSocket[];
  /** Rows that were malformed or past `maxRows`. */
  skipped: number;
}

/** Longest row considered; a real one is ~150 characters. */
const MAX_ROW_CHARS = 512;
const DEFAULT_MAX_ROWS = 1_000_000;
const ROW_RE = /^\s*\d+:\s+([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})\s+([0-9A-Fa-f]{2})\s+\S+\s+\S+\s+\S+\s+(\d{1,10})\s+\d+\s+(\d{1,20})(?:\s|$)/;

/** One 32-bit word of the table as the number it stands for (host order → value). */
function word(hex: string, littleEndian: boolean): number {
  const n = parseInt(hex, 16);
  if (!littleEndian) return n >>> 0;
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
}

/** A table address (8 or 32 hex digits) as canonical text; undefined when its length fits neither family. */
export function decodeProcAddress(hex: string, littleEndian = true): string | undefined {
  if (!/^(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{32})$/.test(hex)) return undefined;
  if (hex.length === 8) return formatIPv4(word(hex, littleEndian));
  let value = 0n;
  for (let i = 0; i < 32; i += 8) value = (value << 32n) | BigInt(word(hex.slice(i, i + 8), littleEndian));
  return formatIPv6(value);
}

/** True for a socket an audit reports: TCP in LISTEN; UDP bound and not connected (TCP_CLOSE). */
export function isListening(s: Pick<ProcSocket, 'protocol' | 'state'>): boolean {
  return s.protocol === 'tcp' ? s.state === TCP_LISTEN : s.state === TCP_CLOSE;
}

/**
 * Parse one table. `protocol` and `family` say which file it is (tcp6 → tcp, 6); a row whose address
 * width does not match the family is malformed. Never throws.
 */
export function parseProcNet(text: string, protocol: Protocol, family: Family, options: ParseOptions = {}): ProcNetTable {
  const littleEndian = options.littleEndian ?? true;
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const width = family === 4 ? 8 : 32;
  const sockets: ProcSocket[] = [];
  let skipped = 0;
  let start = 0;
  let first = true;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, Math.min(end, start + MAX_ROW_CHARS + 1));
    start = end + 1;
    if (first) {
      first = false;
      // The header names the columns; a table without one is still read row by row.
      if (/^\s*sl\s/.test(line)) continue;
    }
    if (line.trim().length === 0) continue;
    const m = line.length <= MAX_ROW_CHARS ? ROW_RE.exec(line) : null;
    if (!m) {
      skipped++;
      continue;
    }
    const [, local, lport, remote, rport, st, uid, inode] = m;
    const state = parseInt(st ?? '', 16);
    if (options.listeningOnly === true && !isListening({ protocol, state })) continue;
    const inodeNumber = Number(inode);
    const uidNumber = Number(uid);
    if ((local ?? '').length !== width || (remote ?? '').length !== width || !Number.isSafeInteger(inodeNumber) || uidNumber > 0xffffffff) {
      skipped++;
      continue;
    }
    if (sockets.length >= maxRows) {
      skipped++;
      continue;
    }
    sockets.push({
      protocol,
      family,
      address: decodeProcAddress(local ?? '', littleEndian) ?? '',
      port: parseInt(lport ?? '', 16),
      remoteAddress: decodeProcAddress(remote ?? '', littleEndian) ?? '',
      remotePort: parseInt(rport ?? '', 16),
      state,
      uid: uidNumber,
      inode: inodeNumber,
    });
  }
  return { sockets, skipped };
}
