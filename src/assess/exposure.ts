/**
 * Who can reach a service: the class of its address (public, private, loopback, …), the bind scope a
 * listener audit saw, and the zone the user declared in the policy. Pure; the priority rules read
 * the {@link Exposure} this module computes and never look at addresses themselves.
 */
import ipaddr from 'ipaddr.js';
import { bindScope, canonicalBindAddress, type BindScope } from '../core/bind-scope.js';
import { formatIpLiteral, parseIpLiteral } from '../core/targets-addr.js';

/** The class of an IP address, as far as reachability goes. */
export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'other-special';

/** A zone the user declares in the policy; it overrides what the address suggests. */
export type Zone = 'internet' | 'dmz' | 'internal';

/**
 * Who can reach the service, from widest to narrowest: `internet`, `dmz`, `internal`, `local` (only
 * this host: loopback address or loopback-only bind), or `unknown` (the address is not an IP literal
 * and no zone was declared).
 */
export type Reach = 'internet' | 'dmz' | 'internal' | 'local' | 'unknown';

/** An address class with the special-purpose range it fell in, for reason texts. */
export interface AddressInfo {
  class: AddressClass;
  /** A short name of the range: `RFC 1918`, `CGNAT 100.64.0.0/10`, `benchmarking`, `documentation`, … */
  range: string;
  /** The address in canonical text (RFC 5952 for IPv6, zone dropped): safe to print. */
  canonical: string;
}

/** How far a service reaches and why, in one line. */
export interface Exposure {
  reach: Reach;
  /** Undefined when the address is not an IP literal. */
  addressClass?: AddressClass;
  /** What decided the reach: the listener's bind scope, the declared zone, or the address. */
  basis: 'bind' | 'zone' | 'address' | 'none';
  /** One line for the reason: `public address 203.0.113.5`, `bound to 127.0.0.1 only`, … */
  text: string;
}

/** Longest address text looked at: an IPv6 literal with brackets and a zone fits easily. */
const MAX_ADDRESS = 80;

/** IPv4 ranges ipaddr.js files under one name but that read differently in a reason. */
const V4_DOC_RANGES: readonly (readonly [string, number])[] = [
  ['192.0.2.0', 24],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
];

function inV4(ip: ipaddr.IPv4, ranges: readonly (readonly [string, number])[]): boolean {
  return ranges.some(([net, bits]) => ip.match(ipaddr.IPv4.parse(net), bits));
}

function classifyV4(ip: ipaddr.IPv4): Omit<AddressInfo, 'canonical'> {
  switch (ip.range()) {
    case 'private':
      return { class: 'private', range: 'RFC 1918' };
    case 'loopback':
      return { class: 'loopback', range: '127.0.0.0/8' };
    case 'linkLocal':
      return { class: 'link-local', range: '169.254.0.0/16' };
    case 'carrierGradeNat':
      return { class: 'other-special', range: 'CGNAT 100.64.0.0/10' };
    case 'multicast':
      return { class: 'other-special', range: 'multicast' };
    case 'unspecified':
      return { class: 'other-special', range: 'unspecified 0.0.0.0/8' };
    case 'broadcast':
      return { class: 'other-special', range: 'broadcast' };
    case 'reserved':
      if (ip.match(ipaddr.IPv4.parse('198.18.0.0'), 15)) return { class: 'other-special', range: 'benchmarking 198.18.0.0/15' };
      if (inV4(ip, V4_DOC_RANGES)) return { class: 'other-special', range: 'documentation' };
      return { class: 'other-special', range: 'reserved' };
    default:
      // unicast, as112 and amt are globally routed.
      return { class: 'public', range: 'global unicast' };
  }
}

/** The IPv4 address in the low 32 bits (mapped and NAT64 forms). */
function low32(ip: ipaddr.IPv6): ipaddr.IPv4 {
  const hi = ip.parts[6] ?? 0;
  const lo = ip.parts[7] ?? 0;
  return new ipaddr.IPv4([hi >>> 8, hi & 255, lo >>> 8, lo & 255]);
}

function classifyV6(ip: ipaddr.IPv6): Omit<AddressInfo, 'canonical'> {
  // A string switch: ipaddr.js knows more range names than its type declarations list.
  switch (ip.range() as string) {
    case 'ipv4Mapped':
      // ::ffff:a.b.c.d is the IPv4 host seen through a dual-stack socket: same reach as the v4 address.
      return classifyV4(low32(ip));
    case 'rfc6052':
      // 64:ff9b::/96 reaches the embedded IPv4 address through NAT64; 64:ff9b:1::/48 is local use.
      return ip.match(ipaddr.IPv6.parse('64:ff9b::'), 96) ? classifyV4(low32(ip)) : { class: 'private', range: 'local-use NAT64' };
    case 'deprecatedSiteLocal':
      return { class: 'private', range: 'site-local fec0::/10' };
    case 'loopback':
      return { class: 'loopback', range: '::1' };
    case 'linkLocal':
      return { class: 'link-local', range: 'fe80::/10' };
    case 'uniqueLocal':
      // The IPv6 counterpart of RFC 1918.
      return { class: 'private', range: 'ULA fc00::/7' };
    case 'unspecified':
      return { class: 'other-special', range: 'unspecified ::' };
    case 'multicast':
      return { class: 'other-special', range: 'multicast' };
    case 'benchmarking':
      return { class: 'other-special', range: 'benchmarking 2001:2::/48' };
    case 'teredo':
    case '6to4':
    case 'amt':
    case 'as112v6':
      return { class: 'public', range: 'global unicast' };
    case 'reserved':
      if (ip.match(ipaddr.IPv6.parse('2001:db8::'), 32) || ip.match(ipaddr.IPv6.parse('3fff::'), 20)) return { class: 'other-special', range: 'documentation' };
      return { class: 'other-special', range: 'reserved' };
    case 'unicast': {
      // Only 2000::/3 is allocated as global unicast; the rest is unassigned or deprecated (fec0::/10 site-local).
      const top = ip.parts[0] ?? 0;
      if (top >>> 13 === 1) return { class: 'public', range: 'global unicast' };
      return { class: 'other-special', range: 'unassigned' };
    }
    default:
      return { class: 'other-special', range: 'special-purpose' };
  }
}

/** `[v6]`, `v6%zone` and `[v6%zone]` down to the bare literal. */
function bareLiteral(text: string): string {
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const pct = t.indexOf('%');
  return pct < 0 ? t : t.slice(0, pct);
}

/**
 * The class of an address and the range that decided it; undefined when the text is not an IPv4 or
 * IPv6 literal (a host name, garbage). Parsing is the project's strict parser (no `127.1`, no octal),
 * classification is ipaddr.js's special-range table with documentation and benchmarking told apart.
 */
export function describeAddress(address: string): AddressInfo | undefined {
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS) return undefined;
  const lit = parseIpLiteral(bareLiteral(address));
  if (lit === undefined) return undefined;
  const canonical = formatIpLiteral(lit);
  if (lit.family === 4) {
    const v = lit.value >>> 0;
    return { ...classifyV4(new ipaddr.IPv4([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255])), canonical };
  }
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((lit.value >> BigInt(i * 16)) & 0xffffn));
  return { ...classifyV6(new ipaddr.IPv6(parts)), canonical };
}

/** {@link describeAddress} without the range name. */
export function classifyAddress(address: string): AddressClass | undefined {
  return describeAddress(address)?.class;
}

/** What {@link assessExposure} looks at. */
export interface ExposureInput {
  /** The host address the service was found on (scan target, import, or the audited host). */
  address: string;
  /** Policy zone for this host, when the user declared one; wins over the address class. */
  zone?: Zone;
  /** Bind scope from a listener audit. */
  listenerScope?: BindScope;
  /** Bind address from a listener audit; its scope is derived when `listenerScope` is absent. */
  bindAddress?: string;
}

const ZONES: ReadonlySet<string> = new Set<Zone>(['internet', 'dmz', 'internal']);
const SCOPES: ReadonlySet<string> = new Set<BindScope>(['loopback', 'all', 'specific']);

function scopeOf(input: ExposureInput): BindScope | undefined {
  if (typeof input.listenerScope === 'string' && SCOPES.has(input.listenerScope)) return input.listenerScope;
  if (typeof input.bindAddress !== 'string') return undefined;
  const canonical = canonicalBindAddress(input.bindAddress);
  return canonical === undefined ? undefined : bindScope(canonical);
}

const ZONE_TEXT: Readonly<Record<Zone, string>> = {
  internet: 'in a zone the policy declares internet-facing',
  dmz: 'in a zone the policy declares DMZ',
  internal: 'in a zone the policy declares internal',
};

/**
 * How far a service reaches. Precedence, narrowest fact first: a loopback-only bind or a loopback
 * address means only this host (no zone can widen a socket bound to 127.0.0.1); then the declared
 * zone (a port-forward makes a private address internet-facing, a perimeter firewall makes a public
 * one internal); then the address class. Link-local and other special-purpose addresses count as
 * internal: they are not routed on the internet.
 */
export function assessExposure(input: ExposureInput): Exposure {
  const info = describeAddress(input.address);
  const shown = info === undefined ? 'address' : `address ${info.canonical}`;
  const scope = scopeOf(input);
  const zone = typeof input.zone === 'string' && ZONES.has(input.zone) ? input.zone : undefined;
  const base = info === undefined ? {} : { addressClass: info.class };
  if (scope === 'loopback') {
    const bind = typeof input.bindAddress === 'string' ? canonicalBindAddress(input.bindAddress) : undefined;
    return { reach: 'local', ...base, basis: 'bind', text: `bound to ${bind ?? 'a loopback address'} only: only processes on this host can connect` };
  }
  if (info?.class === 'loopback') {
    return { reach: 'local', ...base, basis: 'address', text: `loopback ${shown}: only processes on this host can connect` };
  }
  if (zone !== undefined) return { reach: zone, ...base, basis: 'zone', text: ZONE_TEXT[zone] };
  if (info === undefined) return { reach: 'unknown', basis: 'none', text: 'the address is not an IP literal and no zone is declared: reach unknown' };
  switch (info.class) {
    case 'public':
      return { reach: 'internet', ...base, basis: 'address', text: `public ${shown}: reachable from the internet unless a firewall says otherwise` };
    case 'private':
      return { reach: 'internal', ...base, basis: 'address', text: `private ${shown} (${info.range}): reachable from the internal network` };
    case 'link-local':
      return { reach: 'internal', ...base, basis: 'address', text: `link-local ${shown}: reachable from the local network segment` };
    default:
      return { reach: 'internal', ...base, basis: 'address', text: `special-purpose ${shown} (${info.range}): not routed on the internet` };
  }
}
