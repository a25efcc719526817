/**
 * nmap target syntax, parsed strictly into compact specs (never into address lists). Every token of
 * a list is checked before any is used, so a typo in the 90th line of an -iL file stops the scan
 * before the first packet instead of halfway through.
 */
import { UsageError, combineUsageErrors, quoteToken, type UsageErrorCode } from './errors.js';
import type { Family } from './model.js';
import { parseIPv4, parseIPv6, parseOctet, type Parsed } from './targets-addr.js';

/** A contiguous IPv4 block: one address, a CIDR, or an octet range that happens to be contiguous. */
export interface V4RangeSpec {
  kind: 'v4-range';
  /** The token as the user wrote it. */
  text: string;
  /** First address as a uint32. */
  start: number;
  /** Number of addresses, 1..2^32. */
  count: number;
}

/** An nmap octet-range product such as `10.0.*.1` or `10.0.0.1,3,5-7` that is not contiguous. */
export interface V4OctetSpec {
  kind: 'v4-octets';
  text: string;
  /** Allowed values of each octet, ascending and distinct. */
  octets: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  count: number;
}

/** One IPv6 address or CIDR block. */
export interface V6RangeSpec {
  kind: 'v6-range';
  text: string;
  start: bigint;
  count: bigint;
}

/** A hostname, resolved later by the caller's resolver; `prefix` asks for the block around each address (nmap's `host/24`). */
export interface NameSpec {
  kind: 'name';
  text: string;
  name: string;
  prefix?: number;
}

/** One parsed target token: compact (a /8 is two numbers), expanded only by the iterators in targets.ts. */
export type TargetSpec = V4RangeSpec | V4OctetSpec | V6RangeSpec | NameSpec;

export interface ParseTargetOptions {
  /** With -4 or -6, literals of the other family are an error. Undefined allows both. */
  family?: Family;
  /** How messages call an entry: `target` (default), `--exclude entry`, … */
  noun?: string;
  /** Error code for problems (default `E_TARGET`; exclusions use `E_EXCLUDE`). */
  code?: UsageErrorCode;
}

/** Longest DNS name (RFC 1035), not counting a trailing dot. */
const MAX_NAME = 253;
const MAX_LABEL = 63;
const PREFIX_RE = /^(?:0|[1-9][0-9]{0,2})$/;
const V4_SYNTAX_RE = /^[0-9.,*-]+$/;
const LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/** Parse one target token; throws a UsageError naming it. */
export function parseTargetSpec(token: string, options: ParseTargetOptions = {}): TargetSpec {
  const why = checkToken(token);
  const fail = (reason: string): never => {
    throw new UsageError(options.code ?? 'E_TARGET', `bad ${options.noun ?? 'target'} ${quoteToken(token)}: ${reason}`, { token });
  };
  if (why !== undefined) return fail(why);
  const slash = token.indexOf('/');
  if (slash !== token.lastIndexOf('/')) return fail('more than one "/"; write address/prefix, e.g. 10.0.0.0/24');
  const host = slash < 0 ? token : token.slice(0, slash);
  let prefix: number | undefined;
  if (slash >= 0) {
    const text = token.slice(slash + 1);
    if (host === '') return fail('nothing before "/"; write address/prefix, e.g. 10.0.0.0/24');
    if (text === '') return fail('missing prefix length after "/", e.g. /24');
    if (!PREFIX_RE.test(text)) return fail(`prefix length "${text.slice(0, 12)}" is not a plain decimal number`);
    prefix = Number(text);
  }

  if (host.includes(':')) {
    if (options.family === 4) return fail('is an IPv6 address but IPv4 (-4) was asked; drop -4 or the target');
    const v6 = parseIPv6(host);
    if (!v6.ok) return fail(`${v6.why}`);
    if (prefix !== undefined && prefix > 128) return fail(`IPv6 prefix /${prefix} is above /128`);
    const count = 1n << BigInt(128 - (prefix ?? 128));
    return { kind: 'v6-range', text: token, start: v6.value & ~(count - 1n), count };
  }
  if (V4_SYNTAX_RE.test(host)) {
    if (options.family === 6) return fail('is an IPv4 address but IPv6 (-6) was asked; drop -6 or the target');
    const spec = parseV4(host, prefix, token);
    return spec.ok ? spec.value : fail(spec.why);
  }
  const nameWhy = checkHostname(host);
  if (nameWhy !== undefined) return fail(nameWhy);
  if (prefix !== undefined) {
    const max = options.family === 4 ? 32 : 128;
    if (prefix > max) return fail(`prefix /${prefix} is above /${max}`);
    return { kind: 'name', text: token, name: host, prefix };
  }
  return { kind: 'name', text: token, name: host };
}

/** Problems shared by every kind of token: emptiness, spaces, bytes no address or name can contain. */
function checkToken(token: string): string | undefined {
  if (token === '') return 'empty target; give an address, range, CIDR or hostname';
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c) {
      return 'contains whitespace; give one target per argument (or separate them in a list file)';
    }
    if (c < 0x20 || c === 0x7f) return `contains control character ${quoteToken(token[i] ?? '')}; remove it`;
    if (c > 0x7e) {
      const ch = String.fromCodePoint(token.codePointAt(i) ?? c);
      return `contains non-ASCII character ${quoteToken(ch)}; addresses use ASCII digits and names must be ASCII (xn-- punycode)`;
    }
  }
  return undefined;
}

/** RFC 1123 host names, plus `_` (real zones have it), refusing all-numeric last labels (a mistyped IPv4). */
function checkHostname(host: string): string | undefined {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > MAX_NAME) return `hostname is ${name.length} characters; DNS names are at most ${MAX_NAME}`;
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return 'empty label (".." or a leading dot) in hostname';
    if (label.length > MAX_LABEL) return `hostname label of ${label.length} characters; labels are at most ${MAX_LABEL}`;
    if (!LABEL_RE.test(label)) {
      const bad = /[^A-Za-z0-9_-]/.exec(label);
      return bad !== null
        ? `character ${quoteToken(bad[0])} is not allowed in a hostname (letters, digits, "-", "_" and "." only)`
        : `hostname label "${label}" starts or ends with "-"`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return 'looks like a malformed IPv4 address (a hostname cannot end in a numeric label)';
  return undefined;
}

/** nmap's IPv4 forms: a.b.c.d, a.b.c.d/p, and octet lists/ranges/wildcards (not combinable with /p). */
function parseV4(host: string, prefix: number | undefined, text: string): Parsed<V4RangeSpec | V4OctetSpec> {
  if (prefix !== undefined) {
    if (prefix > 32) return { ok: false, why: `IPv4 prefix /${prefix} is above /32` };
    if (/[,*-]/.test(host)) return { ok: false, why: 'a /prefix cannot be combined with octet ranges ("-", ",", "*"); use one or the other' };
    const ip = parseIPv4(host);
    if (!ip.ok) return ip;
    const size = 2 ** (32 - prefix);
    return { ok: true, value: { kind: 'v4-range', text, start: Math.floor(ip.value / size) * size, count: size } };
  }
  const parts = host.split('.');
  if (parts.length !== 4) {
    return { ok: false, why: `an IPv4 address or range has four dot-separated parts, this has ${parts.length} (e.g. 10.0.0.1-20)` };
  }
  const octets: Uint8Array[] = [];
  for (const part of parts) {
    const values = parseOctetList(part);
    if (!values.ok) return values;
    octets.push(values.value);
  }
  const [a, b, c, d] = octets as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const count = a.length * b.length * c.length * d.length;
  const contiguous = contiguousStart(octets);
  if (contiguous !== undefined) return { ok: true, value: { kind: 'v4-range', text, start: contiguous, count } };
  return { ok: true, value: { kind: 'v4-octets', text, octets: [a, b, c, d], count } };
}

/** One octet's list: `5`, `1-20`, `-20`, `250-`, `-`, `*`, and comma lists of those. Values come back sorted and distinct. */
function parseOctetList(part: string): Parsed<Uint8Array> {
  if (part === '') return { ok: false, why: 'empty octet (".." or a leading/trailing dot)' };
  const seen = new Uint8Array(256);
  for (const item of part.split(',')) {
    if (item === '') return { ok: false, why: `empty item in octet list "${part}"; remove the extra comma` };
    let lo: number;
    let hi: number;
    if (item === '*' || item === '-') {
      lo = 0;
      hi = 255;
    } else if (item.includes('*')) {
      return { ok: false, why: `"${item}": "*" must stand alone for a whole octet` };
    } else if (item.includes('-')) {
      const [from = '', to = '', ...extra] = item.split('-');
      if (extra.length > 0) return { ok: false, why: `"${item}" has more than one "-"` };
      const loParsed = from === '' ? ({ ok: true, value: 0 } as const) : parseOctet(from);
      if (!loParsed.ok) return loParsed;
      const hiParsed = to === '' ? ({ ok: true, value: 255 } as const) : parseOctet(to);
      if (!hiParsed.ok) return hiParsed;
      lo = loParsed.value;
      hi = hiParsed.value;
      if (lo > hi) return { ok: false, why: `range ${item} runs backwards; write ${hi}-${lo}` };
    } else {
      const single = parseOctet(item);
      if (!single.ok) return single;
      lo = hi = single.value;
    }
    seen.fill(1, lo, hi + 1);
  }
  const values: number[] = [];
  for (let v = 0; v < 256; v++) if (seen[v] === 1) values.push(v);
  return { ok: true, value: Uint8Array.from(values) };
}

/**
 * If the octet product is one contiguous block (fixed leading octets, one contiguous run, then full
 * octets), its first address; such specs become plain ranges, which iterate and exclude faster.
 */
function contiguousStart(octets: readonly Uint8Array[]): number | undefined {
  let i = 0;
  while (i < 4 && octets[i]?.length === 1) i++;
  if (i < 4) {
    const run = octets[i] as Uint8Array;
    if ((run[run.length - 1] ?? 0) - (run[0] ?? 0) + 1 !== run.length) return undefined;
    for (let j = i + 1; j < 4; j++) if (octets[j]?.length !== 256) return undefined;
  }
  return octets.reduce((acc, values) => acc * 256 + (values[0] ?? 0), 0);
}

/** Problems kept in full from one list; beyond this only the count grows (1 MB of garbage stays cheap). */
const MAX_KEPT_ERRORS = 100;

/**
 * Parse every token, collecting all errors, and throw one UsageError listing them if any; otherwise
 * return the specs in input order (duplicates kept, as nmap does).
 */
export function parseTargets(tokens: Iterable<string>, options: ParseTargetOptions = {}): TargetSpec[] {
  const specs: TargetSpec[] = [];
  const errors: UsageError[] = [];
  let failures = 0;
  for (const token of tokens) {
    try {
      specs.push(parseTargetSpec(token, options));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      if (++failures <= MAX_KEPT_ERRORS) errors.push(error);
    }
  }
  if (failures > 0) {
    const noun = options.noun ?? 'target';
    throw combineUsageErrors(errors, noun.endsWith('y') ? `${noun.slice(0, -1)}ies` : `${noun}s`, failures);
  }
  return specs;
}

/**
 * Split a target list (an -iL file, --exclude value or --excludefile) into tokens: whitespace, newlines
 * and commas separate entries, `#` starts a comment. A comma that continues an nmap octet list
 * (`10.0.0.1,3,5-7`) is kept inside its token: pieces are joined while they together still have at
 * most four dotted parts, so `10.0.0.1,10.0.0.2` stays two targets.
 */
export function splitTargetList(text: string): string[] {
  const tokens: string[] = [];
  for (const rawLine of text.split(/\r?\n|\r/)) {
    const hash = rawLine.indexOf('#');
    const line = hash < 0 ? rawLine : rawLine.slice(0, hash);
    for (const word of line.split(/[ \t\f\v]+/)) {
      let current: string | undefined;
      for (const piece of word.split(',')) {
        if (piece === '') continue;
        if (current !== undefined && continuesOctetList(current, piece)) {
          current = `${current},${piece}`;
          continue;
        }
        if (current !== undefined) tokens.push(current);
        current = piece;
      }
      if (current !== undefined) tokens.push(current);
    }
  }
  return tokens;
}

function continuesOctetList(current: string, piece: string): boolean {
  if (!V4_SYNTAX_RE.test(current) || !/^[0-9*-][0-9.*-]*$/.test(piece)) return false;
  return dots(current) + dots(piece) <= 3;
}

function dots(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x2e) n++;
  return n;
}

/** `parseTargets(splitTargetList(text))`: the specs of a target list file's text. */
export function parseTargetList(text: string, options: ParseTargetOptions = {}): TargetSpec[] {
  return parseTargets(splitTargetList(text), options);
}

/** Addresses a spec stands for (1 for a name, whatever it resolves to). */
export function specSize(spec: TargetSpec): bigint {
  return spec.kind === 'v6-range' ? spec.count : spec.kind === 'name' ? 1n : BigInt(spec.count);
}

/**
 * Total addresses in a spec list, without iterating: for ETA and `-sL` summaries. Names count as one
 * each (a `name/24` too), since they are unresolved here; exclusions are not subtracted.
 */
export function countTargets(specs: Iterable<TargetSpec>): bigint {
  let total = 0n;
  let small = 0; // summing in a number first keeps a million-line -iL off BigInt addition
  for (const spec of specs) {
    if (spec.kind === 'v6-range') total += spec.count;
    else small += spec.kind === 'name' ? 1 : spec.count;
    if (small > 2 ** 52) {
      total += BigInt(small);
      small = 0;
    }
  }
  return total + BigInt(small);
}
