/**
 * Strict IPv4/IPv6 literal parsing and fast formatting. IPv4 addresses are uint32 numbers and IPv6
 * addresses bigints, so a /8 can be walked by adding one instead of allocating an object per address.
 *
 * Strict means: decimal IPv4 only (no octal `010`, no `1.2.3` shorthand, no hex), IPv6 per RFC 4291
 * text form without zone ids. Whatever inet_aton would "helpfully" guess is an error here.
 */

/** A parse that failed says why, in words fit for the user. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

const DECIMAL_OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Dotted-quad text of a uint32 address; a table lookup per octet, no intermediate objects. */
export function formatIPv4(address: number): string {
  const t = DECIMAL_OCTETS;
  return `${t[address >>> 24]}.${t[(address >>> 16) & 255]}.${t[(address >>> 8) & 255]}.${t[address & 255]}`;
}

const OCTET_RE = /^(?:0|[1-9][0-9]{0,2})$/;

/** Parse one decimal octet without leading zeros (`010` is octal to inet_aton, so we refuse to guess). */
export function parseOctet(text: string): Parsed<number> {
  if (!OCTET_RE.test(text)) {
    if (/^[0-9]+$/.test(text)) {
      return text.length > 1 && text.startsWith('0')
        ? { ok: false, why: `octet ${text} has a leading zero; write it in plain decimal` }
        : { ok: false, why: `octet ${text.length > 10 ? `${text.slice(0, 10)}…` : text} is above 255` };
    }
    return { ok: false, why: `octet "${text}" is not a decimal number 0-255` };
  }
  const value = Number(text);
  return value > 255 ? { ok: false, why: `octet ${value} is above 255` } : { ok: true, value };
}

/** Parse a plain dotted-quad IPv4 address into a uint32. */
export function parseIPv4(text: string): Parsed<number> {
  const parts = text.split('.');
  if (parts.length !== 4) return { ok: false, why: `an IPv4 address has four dot-separated parts, this has ${parts.length}` };
  let value = 0;
  for (const part of parts) {
    const octet = parseOctet(part);
    if (!octet.ok) return octet;
    value = value * 256 + octet.value;
  }
  return { ok: true, value };
}

const MAX_IPV6_TEXT = 45; // ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255
const HEX_GROUP_RE = /^[0-9A-Fa-f]{1,4}$/;

/** Parse IPv6 text (RFC 4291 §2.2 forms, including a trailing dotted quad) into a 128-bit bigint. */
export function parseIPv6(text: string): Parsed<bigint> {
  if (text.includes('%')) return { ok: false, why: 'zone ids (%eth0) are not supported; give the address without %zone' };
  if (text.length > MAX_IPV6_TEXT) return { ok: false, why: 'too long for an IPv6 address' };
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return { ok: false, why: 'an IPv6 address holds only hex digits, ":" and a trailing dotted quad' };
  let hex = text;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    if (lastColon < 0) return { ok: false, why: 'not an IPv6 address (no ":")' };
    const quad = parseIPv4(text.slice(lastColon + 1));
    if (!quad.ok) return { ok: false, why: `embedded IPv4 part: ${quad.why}` };
    hex = `${text.slice(0, lastColon + 1)}${(quad.value >>> 16).toString(16)}:${(quad.value & 0xffff).toString(16)}`;
    if (hex.includes('.')) return { ok: false, why: 'a dotted quad may only end an IPv6 address' };
  }
  const halves = hex.split('::');
  if (halves.length > 2) return { ok: false, why: '"::" may appear only once' };
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? (halves[1] ?? '').split(':') : [];
  const groups = head.length + tail.length;
  if (halves.length === 1 && groups !== 8) return { ok: false, why: `an IPv6 address has 8 groups (or "::"), this has ${groups}` };
  if (halves.length === 2 && groups > 7) return { ok: false, why: 'too many groups around "::"' };
  let value = 0n;
  for (const group of head) {
    if (!HEX_GROUP_RE.test(group)) return { ok: false, why: group === '' ? 'empty group (stray ":")' : `group "${group}" is not 1-4 hex digits` };
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  value <<= 16n * BigInt(8 - groups);
  for (const group of tail) {
    if (!HEX_GROUP_RE.test(group)) return { ok: false, why: group === '' ? 'empty group (stray ":")' : `group "${group}" is not 1-4 hex digits` };
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return { ok: true, value };
}

/** RFC 5952 text of a 128-bit address: lowercase, longest zero run as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIPv6(address: bigint): string {
  if (address >> 32n === 0xffffn) return `::ffff:${formatIPv4(Number(address & 0xffffffffn))}`;
  const hex = address.toString(16).padStart(32, '0');
  const groups: string[] = [];
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero group is not shortened
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const group = hex.slice(i * 4, i * 4 + 4).replace(/^0{1,3}/, '');
    groups.push(group);
    if (group === '0') {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart + 1;
      }
    } else runStart = -1;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

/** A parsed literal address of either family. */
export type IpLiteral = { family: 4; value: number } | { family: 6; value: bigint };

/** Parse an address of either family (resolver output, exclusion checks); undefined when it is not a literal. */
export function parseIpLiteral(text: string): IpLiteral | undefined {
  if (text.includes(':')) {
    const v6 = parseIPv6(text);
    return v6.ok ? { family: 6, value: v6.value } : undefined;
  }
  const v4 = parseIPv4(text);
  return v4.ok ? { family: 4, value: v4.value } : undefined;
}

/** Canonical text of a literal. */
export function formatIpLiteral(ip: IpLiteral): string {
  return ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value);
}
