/**
 * Shared plumbing for the host-text importers (ss, Linux netstat, Windows netstat): endpoint
 * splitting, strict local address and port checks, and one collector that turns listening sockets
 * into the one Observation such a file describes.
 *
 * A host's own socket list does not say which machine it came from. The observation is filed under
 * the first local address in the file that can name a host (not loopback, wildcard, link-local or
 * multicast; IPv4 preferred, from listening and connected rows alike), else 127.0.0.1 — the same rule
 * the live audit uses for "this machine". That needs the whole file, so listeners are held until the
 * end: at most {@link MAX_LISTENERS}, a bound far above any real host and far below a memory problem.
 */
import { quoteToken } from '../core/errors.js';
import type { Family, ListenerInfo, Observation, PortResult, Protocol, Source } from '../core/model.js';
import { bindScope, canonicalBindAddress, compareListenerPorts, isHostAddress, listenerPort } from '../core/bind-scope.js';
import { ImportError } from './errors.js';
import { safeText } from './host-merge.js';
import type { ImportContext } from './types.js';

/** Most distinct listening sockets one file may hold. */
export const MAX_LISTENERS = 100_000;
/** Longest process name kept, in characters after escaping. */
const MAX_PROCESS_CHARS = 256;
const USER_RE = /^[A-Za-z0-9._][A-Za-z0-9._$-]{0,63}$/;

/** `addr:port` split at the last colon (IPv6 with or without brackets, `*:*`, `addr%dev:port`). */
export function splitEndpoint(text: string): { address: string; port: string } | undefined {
  const at = text.lastIndexOf(':');
  if (at <= 0 || at === text.length - 1) return undefined;
  return { address: text.slice(0, at), port: text.slice(at + 1) };
}

/** A pid as decimal text (Linux pids fit 22 bits, Windows pids 32); undefined for `-`, 0 or garbage. */
export function parsePid(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 && n <= 0xffffffff ? n : undefined;
}

/** Who owns a socket, as far as the text says. */
export interface SocketOwner {
  pid?: number;
  process?: string;
  user?: string;
}

/** Collects one file's listening sockets and candidate host addresses; see the module comment. */
export class HostListeners {
  private readonly ports = new Map<string, PortResult>();
  private v4: string | undefined;
  private v6: string | undefined;
  /** Bind addresses kept as written because they did not parse (netstat cuts long IPv6 addresses). */
  uncanonical = 0;

  constructor(
    private readonly ctx: ImportContext,
    private readonly source: Source,
  ) {}

  /** The local port of a row; anything but 1–65535 in decimal is an ImportError (`hint` says how to get numbers). */
  port(text: string, no: number, hint: string): number {
    if (/^\d{1,5}$/.test(text)) {
      const n = Number(text);
      if (n >= 1 && n <= 65535) return n;
    }
    throw new ImportError(this.ctx.file, no, `local port ${quoteToken(text)} is not a number 1-65535${/^\d+$/.test(text) ? '' : ` (${hint})`}`);
  }

  /**
   * The canonical local address of a row. `truncatable`: Linux netstat without -W cuts a long IPv6
   * address to fit its column; such text (hex digits and colons only) is kept as written, with one
   * warning per file, rather than failing a whole real-world file.
   */
  address(text: string, no: number, truncatable = false): string {
    const canonical = canonicalBindAddress(text);
    if (canonical !== undefined) return canonical;
    if (truncatable && text.length <= 45 && /^[0-9A-Fa-f:.]+$/.test(text) && text.includes(':')) {
      if (this.uncanonical++ === 0) this.ctx.warn(`${this.ctx.file} line ${no}: address ${quoteToken(text)} is not a whole IPv6 address (netstat cuts long ones; run it with -W); kept as written`);
      return text.toLowerCase();
    }
    throw new ImportError(this.ctx.file, no, `local address ${quoteToken(text)} is not an IP address`);
  }

  /** Note a local address seen on any row (listening or not) as a candidate name for the host. */
  seen(address: string): void {
    if (this.v4 !== undefined || !isHostAddress(address)) return;
    if (!address.includes(':')) this.v4 = address;
    else this.v6 ??= address;
  }

  /** {@link seen} for raw text from a row that is not a listener: anything unparsable is ignored. */
  seenText(text: string): void {
    const canonical = canonicalBindAddress(text);
    if (canonical !== undefined) this.seen(canonical);
  }

  /**
   * One socket row by its local `addr:port` text. A listener (`protocol` set) is checked strictly
   * ({@link port}, {@link address}) and added; any other row's local address only helps name the host.
   */
  row(no: number, protocol: Protocol | undefined, localEndpoint: string, owner: SocketOwner, portHint: string, truncatable = false): void {
    const local = splitEndpoint(localEndpoint);
    if (protocol === undefined) {
      if (local !== undefined) this.seenText(local.address);
      return;
    }
    if (local === undefined) throw new ImportError(this.ctx.file, no, 'local endpoint is not address:port');
    const port = this.port(local.port, no, portHint);
    this.add(no, protocol, port, this.address(local.address, no, truncatable), owner);
  }

  /**
   * Add a listening socket. One PortResult per (protocol, port, bind address): a port bound on v4 and
   * v6, or on two addresses, is two sockets and stays two. Identical ones (SO_REUSEPORT groups, or one
   * socket shared by forked workers) fold into one, keeping the lowest pid — usually the parent —
   * with that row's process and user.
   */
  add(no: number, protocol: Protocol, port: number, bindAddress: string, owner: SocketOwner): void {
    this.seen(bindAddress);
    const key = `${protocol}/${port}/${bindAddress}`;
    const listener: ListenerInfo = { bindAddress, scope: bindScope(bindAddress) };
    if (owner.pid !== undefined) listener.pid = owner.pid;
    const name = owner.process === undefined ? undefined : safeText(owner.process, MAX_PROCESS_CHARS);
    if (name !== undefined && name.length > 0) listener.process = name;
    if (owner.user !== undefined && USER_RE.test(owner.user)) listener.user = owner.user;
    const prev = this.ports.get(key)?.listener;
    if (prev === undefined) {
      if (this.ports.size >= MAX_LISTENERS) throw new ImportError(this.ctx.file, no, `more than ${MAX_LISTENERS} listening sockets; split the file`);
      this.ports.set(key, listenerPort(protocol, port, listener));
      return;
    }
    // Owner facts travel together, from the row with the lowest pid; pid-less rows only fill gaps.
    if (listener.pid !== undefined && (prev.pid === undefined || listener.pid < prev.pid)) {
      this.ports.set(key, listenerPort(protocol, port, listener));
    } else if (prev.pid === undefined && listener.pid === undefined) {
      if (prev.process === undefined && listener.process !== undefined) prev.process = listener.process;
      if (prev.user === undefined && listener.user !== undefined) prev.user = listener.user;
    }
  }

  /** Listening sockets collected so far. */
  get size(): number {
    return this.ports.size;
  }

  /** The file's one observation, or undefined when it lists no listening socket (no results). */
  observation(now = Date.now()): Observation | undefined {
    if (this.ports.size === 0) return undefined;
    const address = this.v4 ?? this.v6 ?? '127.0.0.1';
    const family: Family = address.includes(':') ? 6 : 4;
    const ports = [...this.ports.values()].sort(compareListenerPorts);
    return {
      source: this.source,
      host: { address, family, hostnames: [], status: 'up', statusReason: 'user-set', ports, startedAt: now, endedAt: now },
    };
  }
}
