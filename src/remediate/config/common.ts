/**
 * Validation and text helpers shared by the config-patch backends: config paths, listen addresses,
 * the restart choice, and the two narrow quoting helpers for text that goes into the generated awk
 * program and bash. Everything here refuses rather than escapes: a value either fits a small alphabet
 * or the build stops with a UsageError (E_REMEDIATE) that names the field.
 */
import { formatIpLiteral, parseIpLiteral } from '../../core/targets-addr.js';
import { shQuote } from '../shell.js';
import { validateSystemdUnit } from '../service/systemd.js';
import { validateSysvName } from '../service/sysv.js';
import { refuse } from '../validate.js';
import type { RestartSpec } from './types.js';

/** Longest config path accepted (PATH_MAX is 4096; real config paths are far shorter). */
const MAX_PATH = 1024;
const COMPONENT_RE = /^[A-Za-z0-9_.+@-]{1,255}$/;
/** Pseudo file systems a config file never lives on; `cp` over a device node would be destructive. */
const FORBIDDEN_ROOTS = ['dev', 'proc', 'sys'];

/**
 * A config file path: absolute, components of `[A-Za-z0-9_.+@-]` (no spaces, quotes or globs), no
 * empty, `.` or `..` component, no component starting with `-`, not under /dev, /proc or /sys.
 * With `pattern` (the backends' own default paths only, never user input) a component may be exactly
 * `*`, which the script expands and requires to match one file.
 */
export function validateConfigPath(path: unknown, pattern = false): string {
  const why = 'give an absolute path of letters, digits and "_.+@-" components, without "..", "//" or a trailing "/"';
  if (typeof path !== 'string' || path.length < 2 || path.length > MAX_PATH || !path.startsWith('/')) refuse('config path', path, why);
  const parts = path.slice(1).split('/');
  for (const part of parts) {
    const ok = (pattern && part === '*') || (COMPONENT_RE.test(part) && part !== '.' && part !== '..' && !part.startsWith('-'));
    if (!ok) refuse('config path', path, why);
  }
  if (FORBIDDEN_ROOTS.includes(parts[0]!)) refuse('config path', path, 'a config file is not under /dev, /proc or /sys');
  if (parts[parts.length - 1] === '*') refuse('config path', path, 'a pattern must end with a file name');
  return path;
}

/** Most listen addresses a spec takes (Redis itself stops at 16 `bind` addresses). */
export const MAX_LISTEN = 16;
/** Longest address text looked at (a full IPv6 address with an embedded IPv4 tail is 45). */
const MAX_ADDRESS_TEXT = 45;

/** A validated listen address: canonical text and family. */
export interface ListenAddress {
  family: 4 | 6;
  /** Canonical dotted quad or RFC 5952 text: only [0-9a-f.:]. */
  text: string;
}

function refuseAddress(text: string, why: string): never {
  return refuse('listen address', text, why);
}

/**
 * One listen address: an IPv4 or IPv6 literal (no names, prefixes or zone ids), returned canonical.
 * The unspecified addresses (0.0.0.0, ::) are refused because listening everywhere is what these
 * patches undo; multicast, broadcast and IPv4-mapped IPv6 cannot be sensibly bound by these daemons.
 */
export function validateListenAddress(text: unknown): ListenAddress {
  const why = 'give an IPv4 or IPv6 address literal such as 127.0.0.1 or ::1';
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_ADDRESS_TEXT) refuseAddress(String(text), why);
  const ip = parseIpLiteral(text);
  if (ip === undefined) refuseAddress(text, why);
  if (ip.family === 4) {
    if (ip.value === 0) refuseAddress(text, 'that is every IPv4 address; give the address the service should keep listening on');
    if (ip.value >>> 28 === 0xe) refuseAddress(text, 'a multicast address cannot be listened on');
    if (ip.value === 0xffffffff) refuseAddress(text, 'the broadcast address cannot be listened on');
    return { family: 4, text: formatIpLiteral(ip) };
  }
  if (ip.value === 0n) refuseAddress(text, 'that is every IPv6 address; give the address the service should keep listening on');
  if (ip.value >> 120n === 0xffn) refuseAddress(text, 'a multicast address cannot be listened on');
  if (ip.value >> 32n === 0xffffn) refuseAddress(text, 'give IPv4-mapped addresses in IPv4 form');
  return { family: 6, text: formatIpLiteral(ip) };
}

/**
 * The listen list of a spec: absent means the backend's default; otherwise 1–MAX_LISTEN literals,
 * canonical and deduplicated in input order.
 */
export function validateListen(raw: unknown, fallback: readonly string[]): ListenAddress[] {
  const list: unknown = raw ?? fallback;
  if (!Array.isArray(list)) refuse('listen addresses', list, 'expected a list of IP addresses');
  if (list.length === 0) refuse('listen addresses', '', 'give at least one address (default: loopback)');
  if (list.length > MAX_LISTEN) refuse('listen addresses', `${list.length} entries`, `at most ${MAX_LISTEN} are supported`);
  const out: ListenAddress[] = [];
  for (const entry of list as unknown[]) {
    const address = validateListenAddress(entry);
    if (!out.some((a) => a.text === address.text)) out.push(address);
  }
  return out;
}

/** A validated restart choice. */
export interface ValidRestart {
  manager: 'systemd' | 'sysv' | 'none';
  /** systemd: the unit with its suffix; sysv and none: the init script / service name. */
  name: string;
}

/**
 * The restart spec with the backend's Debian unit as the default name. The name is checked by the
 * same validators the service backends use (systemd.ts, sysv.ts); `none` keeps a name only to tell
 * the operator what to restart, checked like a SysV name.
 */
export function validateRestart(raw: unknown, defaultUnit: string): ValidRestart {
  const restart: unknown = raw ?? { manager: 'systemd' };
  if (typeof restart !== 'object' || restart === null || Array.isArray(restart)) refuse('restart spec', restart, 'expected { manager, name? }');
  const { manager, name } = restart as Partial<RestartSpec>;
  const given: unknown = name ?? defaultUnit;
  switch (manager) {
    case 'systemd':
      return { manager, name: validateSystemdUnit(given) };
    case 'sysv':
    case 'none':
      return { manager, name: validateSysvName(given) };
    default:
      return refuse('restart manager', manager, 'give systemd, sysv or none');
  }
}

/** Text an awk string literal may hold: the directive lines portolan writes (names, addresses, `'`). */
const AWK_TEXT_RE = /^[A-Za-z0-9 ._:,=[\]'*#-]*$/;

/**
 * An awk string literal for text built from validated parts. The program sits inside a single-quoted
 * bash word, so `'` is written as the octal escape `\047`; `"` and `\` can never occur.
 */
export function awkString(text: string): string {
  if (!AWK_TEXT_RE.test(text)) throw new Error(`refusing to embed unvalidated text in an awk program: ${JSON.stringify(text.slice(0, 40))}`);
  return `"${text.replace(/'/g, '\\047')}"`;
}

/**
 * A path or default pattern as a bash word. Literal pieces go through shQuote; a `*` component stays
 * a glob (`glob`: for arrays and `case` patterns) or is quoted (`literal`: for assignments and text).
 */
export function shPath(path: string, as: 'glob' | 'literal'): string {
  const star = as === 'glob' ? '*' : '"*"';
  return path
    .split('*')
    .map((piece) => (piece === '' ? '' : shQuote(piece)))
    .join(star);
}

/** Whether a validated path contains a `*` component. */
export function isPattern(path: string): boolean {
  return path.includes('*');
}
