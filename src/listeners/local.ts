/**
 * The listener audit of this machine: listening TCP and bound UDP sockets from /proc/net/{tcp,tcp6,
 * udp,udp6}, each with its owning process (pid, comm, user) and bind scope, as one Observation with
 * source `local` that the store keeps like any scan.
 *
 * One PortResult per (protocol, port, bind address): a port bound on 0.0.0.0 and on ::, or on two
 * addresses, is two sockets with two scopes, and both stay — the scope of each is the point of the
 * audit. Sockets identical in all three (an SO_REUSEPORT group) fold into one, credited to the lowest
 * pid. State `open`, reason `syn-ack` (see LISTENER_REASON in scope.ts), `tries` 0: nothing was sent.
 * Ports are in ascending order; one port's sockets run from the narrowest scope to the widest.
 */
import os from 'node:os';
import type { Family, ListenerInfo, Observation, PortResult, Protocol } from '../core/model.js';
import { escapeTerminal } from '../core/escape.js';
import { isListening, parseProcNet, type ProcSocket } from './proc-net.js';
import { findSocketOwners, readBounded, readUsers, type OwnerOptions, type SocketOwner } from './processes.js';
import { bindScope, compareListenerPorts, isHostAddress, listenerPort } from '../core/bind-scope.js';

/** The four tables, which protocol and family each holds. */
export const PROC_NET_TABLES: readonly { file: string; protocol: Protocol; family: Family }[] = [
  { file: 'tcp', protocol: 'tcp', family: 4 },
  { file: 'tcp6', protocol: 'tcp', family: 6 },
  { file: 'udp', protocol: 'udp', family: 4 },
  { file: 'udp6', protocol: 'udp', family: 6 },
];

/** Most of a table read: ~400 000 sockets (a busy server's tcp table is a few MB). */
const MAX_TABLE_BYTES = 64 * 1024 * 1024;
const MAX_PROCESS_CHARS = 64;

export interface LocalAuditOptions extends OwnerOptions {
  /** Byte order of this machine's tables (default: os.endianness()). */
  littleEndian?: boolean;
  /** Default os.hostname(). */
  hostname?: string;
  /** Default os.networkInterfaces(), for the host's address. */
  interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  now?: () => number;
}

/**
 * PortResults for the listening sockets in `sockets` (others are ignored), with owners from
 * `owners` (inode → process) and, for sockets no visible process holds, the socket's own uid
 * named through `users` (also when the owner's status could not be read). Pure: the SSH audit builds its result the same way.
 */
export function portsFromSockets(sockets: readonly ProcSocket[], owners: ReadonlyMap<number, SocketOwner>, users: ReadonlyMap<number, string>): PortResult[] {
  const byKey = new Map<string, PortResult>();
  for (const s of sockets) {
    if (!isListening(s)) continue;
    const owner = owners.get(s.inode);
    const listener: ListenerInfo = { bindAddress: s.address, scope: bindScope(s.address) };
    if (owner !== undefined) listener.pid = owner.pid;
    if (owner?.process !== undefined) listener.process = escapeTerminal(owner.process).slice(0, MAX_PROCESS_CHARS);
    // The socket's own uid stands in when its process is hidden or its status unreadable.
    const user = owner?.user ?? users.get(s.uid);
    if (user !== undefined) listener.user = user;
    const key = `${s.protocol}/${s.port}/${s.address}`;
    const prev = byKey.get(key)?.listener;
    const better = prev === undefined || (listener.pid !== undefined && (prev.pid === undefined || listener.pid < prev.pid));
    if (better) byKey.set(key, listenerPort(s.protocol, s.port, listener));
  }
  return [...byKey.values()].sort(compareListenerPorts);
}

/** This machine's address for the observation: first non-loopback IPv4, else IPv6, else 127.0.0.1. */
export function hostAddressOf(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): { address: string; family: Family } {
  let v6: string | undefined;
  for (const list of Object.values(interfaces)) {
    for (const i of list ?? []) {
      if (i.internal || !isHostAddress(i.address)) continue;
      if (i.family === 'IPv4') return { address: i.address, family: 4 };
      v6 ??= i.address;
    }
  }
  return v6 !== undefined ? { address: v6, family: 6 } : { address: '127.0.0.1', family: 4 };
}

/** A table's text (capped); empty when the file is absent (IPv6 disabled) or unreadable. */
async function readTable(path: string): Promise<string> {
  return (await readBounded(path, MAX_TABLE_BYTES)) ?? '';
}

/** Audit this machine's listening sockets (see the module comment). Never throws for races or EACCES. */
export async function auditLocal(options: LocalAuditOptions = {}): Promise<Observation> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const proc = options.procRoot ?? '/proc';
  const littleEndian = options.littleEndian ?? os.endianness() === 'LE';
  const sockets: ProcSocket[] = [];
  for (const t of PROC_NET_TABLES) {
    const text = await readTable(`${proc}/net/${t.file}`);
    for (const s of parseProcNet(text, t.protocol, t.family, { littleEndian, listeningOnly: true }).sockets) sockets.push(s);
  }
  const users = options.users ?? (await readUsers(options.passwdPath));
  const inodes = new Set(sockets.map((s) => s.inode).filter((i) => i > 0));
  const owners = await findSocketOwners(inodes, { ...options, users });
  const ports = portsFromSockets(sockets, owners, users);
  const { address, family } = hostAddressOf(options.interfaces ?? os.networkInterfaces());
  const hostname = options.hostname ?? os.hostname();
  return {
    source: 'local',
    host: {
      address,
      family,
      hostnames: hostname.length > 0 ? [{ name: escapeTerminal(hostname).slice(0, 253), type: 'user' }] : [],
      status: 'up',
      statusReason: 'localhost-response',
      ports,
      startedAt,
      endedAt: now(),
    },
  };
}
