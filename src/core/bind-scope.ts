/**
 * Bind scope of a listening socket, and the PortResult a listening socket becomes. Pure: shared by
 * the /proc audit (local and SSH) and by the ss/netstat importers, so a listener looks the same
 * whichever way it was found.
 */
import type { ListenerInfo, PortResult, Protocol } from './model.js';
import { serviceNameForPort } from './ports.js';
import type { PortReason } from './status.js';
import { formatIpLiteral, parseIpLiteral } from './targets-addr.js';

export type BindScope = ListenerInfo['scope'];

/**
 * The reason recorded for a socket the kernel lists as listening. nmap's vocabulary has no "the host
 * said so"; `syn-ack` is the closest — a LISTEN socket is exactly what answers a SYN with SYN-ACK —
 * and it is what the other importers record for an open port. For UDP it stands for "bound and
 * unconnected", i.e. a datagram would be delivered. `tries` is 0: nothing was sent.
 */
export const LISTENER_REASON: PortReason = 'syn-ack';

/** Longest bind address text accepted (an IPv6 address with a zone or an interface name). */
const MAX_BIND_TEXT = 64;
/** Interface names (Linux: ≤ 15 bytes, no `/`, `:` or white space) and Windows zone indexes. */
const ZONE_RE = /^[A-Za-z0-9_.@+-]{1,32}$/;

/** Split `addr%zone` (a scope id or an interface the socket is bound to) into its parts. */
function splitZone(text: string): { base: string; zone?: string } {
  const at = text.indexOf('%');
  return at < 0 ? { base: text } : { base: text.slice(0, at), zone: text.slice(at + 1) };
}

/**
 * A bind address in canonical text: brackets dropped, IP literals in RFC 5952 form, `*` kept (ss
 * writes it for a dual-stack wildcard), a `%zone` / `%interface` suffix kept as written. Undefined
 * when the text is not an address (a host name, garbage).
 */
export function canonicalBindAddress(text: string): string | undefined {
  if (text.length === 0 || text.length > MAX_BIND_TEXT) return undefined;
  let t = text;
  // ss writes `[v6]%dev`, Windows `[v6%zone]`; both end up as `v6%zone`.
  const m = /^\[([^\]]*)\](%[^%]*)?$/.exec(t);
  if (m) t = `${m[1] ?? ''}${m[2] ?? ''}`;
  const { base, zone } = splitZone(t);
  if (zone !== undefined && !ZONE_RE.test(zone)) return undefined;
  const suffix = zone === undefined ? '' : `%${zone}`;
  if (base === '*') return `*${suffix}`;
  const ip = parseIpLiteral(base);
  return ip === undefined ? undefined : `${formatIpLiteral(ip)}${suffix}`;
}

/** Loopback: 127.0.0.0/8, ::1, and 127/8 mapped into IPv6. */
function isLoopbackLiteral(base: string): boolean {
  const ip = parseIpLiteral(base);
  if (ip === undefined) return false;
  if (ip.family === 4) return ip.value >>> 24 === 127;
  if (ip.value === 1n) return true;
  return ip.value >> 32n === 0xffffn && Number(ip.value & 0xffffffffn) >>> 24 === 127;
}

/** The unspecified address of either family (and its v4-mapped form). */
function isWildcard(base: string): boolean {
  if (base === '*') return true;
  const ip = parseIpLiteral(base);
  return ip !== undefined && (ip.family === 4 ? ip.value === 0 : ip.value === 0n || ip.value === 0xffff00000000n);
}

/**
 * Who can reach a socket bound to `address` (as {@link canonicalBindAddress} writes it):
 * `loopback` for 127.0.0.0/8, ::1, ::ffff:127.x.x.x or anything bound to the `lo` device;
 * `all` for 0.0.0.0, :: and `*`; `specific` for one address — and for a wildcard bound to one
 * interface (`0.0.0.0%eth0`), which only that interface's addresses reach.
 */
export function bindScope(address: string): BindScope {
  const { base, zone } = splitZone(address);
  if (zone === 'lo' || isLoopbackLiteral(base)) return 'loopback';
  if (isWildcard(base)) return zone === undefined ? 'all' : 'specific';
  return 'specific';
}

/**
 * True for an address that can name the host an audit came from: a literal that is neither
 * loopback, wildcard, link-local nor multicast (those say nothing about which machine this is).
 */
export function isHostAddress(address: string): boolean {
  if (address.includes('%')) return false;
  const ip = parseIpLiteral(address);
  if (ip === undefined || isLoopbackLiteral(address) || isWildcard(address)) return false;
  if (ip.family === 4) {
    const a = ip.value >>> 24;
    const b = (ip.value >>> 16) & 255;
    return !(a === 169 && b === 254) && a < 224;
  }
  const top = Number(ip.value >> 112n);
  // fe80::/10 link-local, ff00::/8 multicast; v4-mapped addresses follow the IPv4 rules.
  if (ip.value >> 32n === 0xffffn) return isHostAddress(formatIpLiteral({ family: 4, value: Number(ip.value & 0xffffffffn) }));
  return (top & 0xffc0) !== 0xfe80 && top >>> 8 !== 0xff;
}

/**
 * The PortResult for one listening socket: state `open`, reason {@link LISTENER_REASON}, no probes
 * sent, the service name guessed from the port table, and the listener facts. The table is nmap's
 * TCP table; for UDP it is a guess of the same kind (well-known services mostly share one number).
 */
export function listenerPort(protocol: Protocol, port: number, listener: ListenerInfo): PortResult {
  const result: PortResult = { protocol, port, state: 'open', reason: LISTENER_REASON, tries: 0, listener };
  const name = serviceNameForPort(port);
  if (name !== undefined) result.service = { name, method: 'table', confidence: 3, cpe: [] };
  return result;
}

const SCOPE_RANK: Readonly<Record<BindScope, number>> = { loopback: 0, specific: 1, all: 2 };

/**
 * Order of listener ports: protocol (tcp first), port, then scope from narrowest to widest, bind
 * address and pid — so one port bound on several addresses lists its sockets together, the order is
 * stable between runs, and a consumer that keeps one listener per port by "last one wins" (the
 * store's services table) keeps the widest exposure.
 */
export function compareListenerPorts(a: PortResult, b: PortResult): number {
  if (a.protocol !== b.protocol) return a.protocol === 'tcp' ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  const sa = SCOPE_RANK[a.listener?.scope ?? 'loopback'];
  const sb = SCOPE_RANK[b.listener?.scope ?? 'loopback'];
  if (sa !== sb) return sa - sb;
  const aa = a.listener?.bindAddress ?? '';
  const ba = b.listener?.bindAddress ?? '';
  if (aa !== ba) return aa < ba ? -1 : 1;
  return (a.listener?.pid ?? 0) - (b.listener?.pid ?? 0);
}
