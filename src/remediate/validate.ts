/**
 * Strict validation of everything a backend puts into a script. Nothing is escaped and hoped for:
 * a value either matches a small safe alphabet (and is then still single-quoted by the shell layer)
 * or the whole build is refused with a UsageError that names the bad token.
 */
import { UsageError, quoteToken } from '../core/errors.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../core/targets-addr.js';
import type { FirewallRuleSpec } from './types.js';

/** Error code for a remediation input that cannot go into a script. */
export const E_REMEDIATE = 'E_REMEDIATE';

/**
 * Refuse a bad value with a one-line UsageError (E_REMEDIATE) naming the field: `bad <what> "<token>":
 * <why>`. The message shows the token as quoteToken does (cut, with its real length); the error's
 * token field keeps at most 200 characters of it.
 */
export function refuse(what: string, token: unknown, why: string): never {
  const text = typeof token === 'string' ? token : String(token);
  throw new UsageError(E_REMEDIATE, `bad ${what} ${quoteToken(text)}: ${why}`, { token: text.slice(0, 200) });
}

/** A port as an integer 1–65535; anything else (strings, floats, 0, NaN) is refused. */
export function validatePort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    refuse('port', port, 'give an integer from 1 to 65535');
  }
  return port;
}

/** `tcp` or `udp`, exactly. */
export function validateProtocol(protocol: unknown): 'tcp' | 'udp' {
  if (protocol !== 'tcp' && protocol !== 'udp') refuse('protocol', protocol, 'give tcp or udp');
  return protocol;
}

/** 4, 6 or 'both'. */
export function validateFamily(family: unknown): 4 | 6 | 'both' {
  if (family !== 4 && family !== 6 && family !== 'both') refuse('address family', family, "give 4, 6 or 'both'");
  return family;
}

/** `block` or `allowlist`. */
export function validateMode(mode: unknown): 'block' | 'allowlist' {
  if (mode !== 'block' && mode !== 'allowlist') refuse('mode', mode, 'give block or allowlist');
  return mode;
}

const IFACE_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** A Linux interface name: 1–15 characters of [A-Za-z0-9_.-], not `.` or `..`. */
export function validateIface(iface: unknown): string {
  if (typeof iface !== 'string' || !IFACE_RE.test(iface) || iface === '.' || iface === '..') {
    refuse('interface', iface, 'a Linux interface name is 1-15 characters of letters, digits, "_", "." and "-"');
  }
  return iface;
}

/** A canonical source network: family, RFC 5952 / dotted-quad text with its prefix length. */
export interface Cidr {
  family: 4 | 6;
  /** Always `address/prefix`, lowercase, canonical; only [0-9a-f.:/] characters. */
  text: string;
}

const PREFIX_RE = /^(?:0|[1-9][0-9]{0,2})$/;
/** Longest CIDR text we look at; anything longer is refused before parsing. */
const MAX_CIDR_TEXT = 64;

/**
 * An address or CIDR (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`), returned in canonical form. Host
 * bits set under the prefix are refused rather than masked, so the rule says what the user meant.
 */
export function validateCidr(text: unknown): Cidr {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_CIDR_TEXT) {
    refuse('source address', text, 'give an IPv4 or IPv6 address or CIDR such as 192.0.2.0/24');
  }
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const family: 4 | 6 = addressText.includes(':') ? 6 : 4;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!PREFIX_RE.test(prefixText) || Number(prefixText) > bits) {
      refuse('source address', text, `the prefix length must be a decimal number 0-${bits}`);
    }
    prefix = Number(prefixText);
  }
  if (family === 4) {
    const parsed = parseIPv4(addressText);
    if (!parsed.ok) refuse('source address', text, parsed.why);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const network = (parsed.value & mask) >>> 0;
    if (network !== parsed.value) {
      refuse('source address', text, `host bits are set under /${prefix}; did you mean ${formatIPv4(network)}/${prefix}?`);
    }
    return { family, text: `${formatIPv4(network)}/${prefix}` };
  }
  const parsed = parseIPv6(addressText);
  if (!parsed.ok) refuse('source address', text, parsed.why);
  const all = (1n << 128n) - 1n;
  const mask = prefix === 0 ? 0n : (all << BigInt(128 - prefix)) & all;
  const network = parsed.value & mask;
  if (network !== parsed.value) {
    refuse('source address', text, `host bits are set under /${prefix}; did you mean ${formatIPv6(network)}/${prefix}?`);
  }
  return { family, text: `${formatIPv6(network)}/${prefix}` };
}

/** Characters a finding key may carry into a rule comment. */
const KEY_RE = /^[A-Za-z0-9_.:/-]{1,100}$/;

/**
 * A finding key for rule comments: 1–100 characters of [A-Za-z0-9_.:/-] (what `findingKey()` makes for
 * ordinary findings). Anything else is refused; callers with free-form refs run `sanitizeCommentKey` first.
 */
export function validateFindingKey(key: unknown): string {
  if (typeof key !== 'string' || !KEY_RE.test(key)) {
    refuse('finding key', key, 'a key for a rule comment is 1-100 characters of letters, digits and "_.:/-"');
  }
  return key;
}

/** Map any text to a valid finding key: unsafe characters become `_`, the result is cut to 100 characters. */
export function sanitizeCommentKey(text: string): string {
  // Iterate over at most 100 code points so a 100 MB string costs nothing.
  let out = '';
  for (const ch of text) {
    if (out.length === 100) break;
    out += /^[A-Za-z0-9_.:/-]$/.test(ch) ? ch : '_';
  }
  return out === '' ? '_' : out;
}

/** Most sources one allowlist takes; a longer list belongs in a set managed outside these scripts. */
export const MAX_ALLOW_FROM = 256;

/** A spec that passed validation: every string in it is from a safe alphabet. */
export interface ValidSpec {
  mode: 'block' | 'allowlist';
  protocol: 'tcp' | 'udp';
  port: number;
  family: 4 | 6 | 'both';
  /** Canonical, deduplicated, in input order; empty in block mode. */
  allowFrom: Cidr[];
  iface: string | undefined;
  findingKey: string;
}

/** Validate a whole spec (it may come from JSON, so every field is checked at run time). */
export function validateSpec(spec: FirewallRuleSpec): ValidSpec {
  if (typeof spec !== 'object' || spec === null) refuse('rule spec', spec, 'expected an object');
  const mode = validateMode(spec.mode);
  const protocol = validateProtocol(spec.protocol);
  const port = validatePort(spec.port);
  const family = validateFamily(spec.family);
  const iface = spec.iface === undefined ? undefined : validateIface(spec.iface);
  const findingKey = validateFindingKey(spec.findingKey);
  const raw: unknown = spec.allowFrom ?? [];
  if (!Array.isArray(raw)) refuse('allowed sources', raw, 'expected a list of CIDRs');
  if (raw.length > MAX_ALLOW_FROM) refuse('allowed sources', `${raw.length} entries`, `at most ${MAX_ALLOW_FROM} are supported`);
  if (mode === 'block' && raw.length > 0) refuse('allowed sources', String(raw[0]), 'block mode takes no allowed sources; use allowlist mode');
  if (mode === 'allowlist' && raw.length === 0) refuse('allowed sources', '', 'allowlist mode needs at least one allowed source');
  const seen = new Set<string>();
  const allowFrom: Cidr[] = [];
  for (const entry of raw as unknown[]) {
    const cidr = validateCidr(entry);
    if (family !== 'both' && cidr.family !== family) {
      refuse('source address', String(entry), `it is IPv${cidr.family} but the rule covers IPv${family} only`);
    }
    if (!seen.has(cidr.text)) {
      seen.add(cidr.text);
      allowFrom.push(cidr);
    }
  }
  return { mode, protocol, port, family, allowFrom, iface, findingKey };
}

/** The families a spec covers, IPv4 first. */
export function familiesOf(family: 4 | 6 | 'both'): (4 | 6)[] {
  return family === 'both' ? [4, 6] : [family];
}

/**
 * One line saying what a backend's script does, for its header: `block` (the backend's own words
 * for block mode) or the allowlist, then where (an interface, a zone) and the families.
 */
export function describeSpec(spec: ValidSpec, block: string, where = spec.iface === undefined ? '' : ` on ${spec.iface}`): string {
  const fam = spec.family === 'both' ? 'IPv4 and IPv6' : `IPv${spec.family}`;
  const what = spec.mode === 'block' ? block : `allow only ${spec.allowFrom.map((c) => c.text).join(', ')} to ${spec.protocol} port ${spec.port}`;
  return `${what}${where} (${fam})`;
}
