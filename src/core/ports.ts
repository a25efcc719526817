/**
 * Port selection: nmap's `-p` syntax, `--top-ports`, `-F`, `--exclude-ports`, and the port-number →
 * service-name table. Results are sorted, distinct Uint16Arrays; the engine decides the probe order
 * (see {@link byRank} for nmap-like frequency order).
 */
import { UsageError, combineUsageErrors, quoteToken } from './errors.js';
import { TCP_NAMES_BY_RANK, TCP_PORTS_BY_RANK } from './port-table.js';

/** Ports scanned when nothing is asked (nmap's default). */
export const DEFAULT_TOP_PORTS = 1000;
/** Ports scanned with -F. */
export const FAST_TOP_PORTS = 100;
export const MAX_PORT = 65535;

interface Tables {
  /** Rank of each port 0..65535: table ports by frequency, then unlisted ports ascending, port 0 last. */
  rank: Int32Array;
  /** All ports 1..65535 in rank order. */
  ranked: Uint16Array;
  /** TCP service name per port, where the table has one. */
  names: (string | undefined)[];
  /** Lower-cased name → its ports, ascending. */
  byName: Map<string, number[]>;
}

let tables: Tables | undefined;

/** Built on first use: a few hundred microseconds, and commands that never touch ports never pay it. */
function load(): Tables {
  if (tables !== undefined) return tables;
  const names: (string | undefined)[] = new Array<string | undefined>(MAX_PORT + 1);
  const nameList = TCP_NAMES_BY_RANK.split(' ');
  const rank = new Int32Array(MAX_PORT + 1).fill(-1);
  const ranked = new Uint16Array(MAX_PORT);
  let next = 0;
  TCP_PORTS_BY_RANK.forEach((port, i) => {
    names[port] = nameList[i];
    rank[port] = next;
    ranked[next++] = port;
  });
  for (let port = 1; port <= MAX_PORT; port++) {
    if (rank[port] !== -1) continue;
    rank[port] = next;
    ranked[next++] = port;
  }
  rank[0] = next;
  const byName = new Map<string, number[]>();
  for (let port = 1; port <= MAX_PORT; port++) {
    const name = names[port]?.toLowerCase();
    if (name === undefined) continue;
    const list = byName.get(name);
    if (list === undefined) byName.set(name, [port]);
    else list.push(port);
  }
  tables = { rank, ranked, names, byName };
  return tables;
}

/** nmap's TCP service name for a port (22 → `ssh`), for the table guess; undefined when the table has none. */
export function serviceNameForPort(port: number): string | undefined {
  return Number.isInteger(port) && port >= 0 && port <= MAX_PORT ? load().names[port] : undefined;
}

/** TCP ports carrying this service name (case-insensitive), ascending; empty when unknown. `http` → 80, 8008, … */
export function portsForName(name: string): readonly number[] {
  return load().byName.get(name.toLowerCase()) ?? [];
}

/** Ports whose name matches a glob with `*` and `?` (nmap's `-p 'http*'`), ascending. */
export function portsMatchingName(pattern: string): number[] {
  if (!/[*?]/.test(pattern)) return [...portsForName(pattern)];
  const source = pattern.toLowerCase().replace(/[.+^${}()|[\]\\:-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`);
  const out: number[] = [];
  for (const [name, ports] of load().byName) if (re.test(name)) out.push(...ports);
  return out.sort((a, b) => a - b);
}

/** Frequency rank of a port, 0 = most often open. Ports absent from the table rank after all table ports, ascending; port 0 is last. */
export function portRank(port: number): number {
  return load().rank[port] ?? MAX_PORT;
}

/** The `n` most frequently open TCP ports, ascending (n ≥ the table size continues with the unlisted ports, so 65535 means all). */
export function topPorts(n: number): Uint16Array {
  const count = Math.max(0, Math.min(Math.floor(n), MAX_PORT));
  return load().ranked.slice(0, count).sort();
}

/** The given ports in frequency order (most often open first), nmap-like; for engines that want early hits. */
export function byRank(ports: ArrayLike<number>): Uint16Array {
  const { rank } = load();
  return Uint16Array.from(ports).sort((a, b) => (rank[a] ?? 0) - (rank[b] ?? 0));
}

const NUMBER_RE = /^[0-9]+$/;
const RANGE_RE = /^([0-9]*)-([0-9]*)$/;
const NAME_RE = /^[A-Za-z0-9_.:+*?-]+$/;

/**
 * Parse an nmap port spec (`22,80,8000-8100`, `-` for 1-65535, open ends `-100` / `60000-`, service
 * names and globs `ssh,http*`, `[1-1024]` for table ports in a range, a `T:` section prefix) into
 * distinct ascending ports. Port 0 only when written explicitly (`0`, `0-10`). `U:`, `S:` and `P:`
 * sections are errors: this is a TCP connect scanner. `option` names the flag in messages.
 */
export function parsePortSpec(spec: string, option = '-p'): Uint16Array {
  const fail = (why: string, token = spec): UsageError => new UsageError('E_PORT', `${option} ${quoteToken(token)}: ${why}`, { token });
  if (spec === '') throw fail('empty port list; give ports like 22,80,443 or 1-1024, or - for all');
  const bad = /[^\x21-\x7e]/.exec(spec);
  if (bad !== null) {
    const why = /\s/.test(bad[0]) ? 'contains whitespace; separate ports with commas only' : `contains the character ${quoteToken(bad[0])}; use digits, names, "-" and ","`;
    throw fail(why);
  }
  const selected = new Uint8Array(MAX_PORT + 1);
  const errors: UsageError[] = [];
  let failures = 0;
  for (let item of spec.split(',')) {
    const section = /^([A-Za-z]):/.exec(item);
    if (section !== null) {
      const proto = (section[1] ?? '').toUpperCase();
      if (proto !== 'T') {
        const what = proto === 'U' ? 'UDP' : proto === 'S' ? 'SCTP' : proto === 'P' ? 'IP protocol' : `"${proto}:"`;
        if (++failures <= 100) errors.push(fail(`${what} ports are not supported, only TCP (connect scan); drop the ${proto}: section`, item));
        break; // everything after belongs to that section
      }
      item = item.slice(2);
    }
    const why = addItem(item, selected);
    if (why !== undefined && ++failures <= 100) errors.push(fail(why, item));
  }
  if (failures > 0) throw combineUsageErrors(errors, `items in ${option}`, failures);
  const ports: number[] = [];
  for (let port = 0; port <= MAX_PORT; port++) if (selected[port] === 1) ports.push(port);
  if (ports.length === 0) throw fail('selects no ports');
  return Uint16Array.from(ports);
}

function tooBig(digits: string): string {
  return `port ${digits.length > 12 ? `${digits.slice(0, 12)}…` : digits} is above ${MAX_PORT}; ports go from 0 to ${MAX_PORT}`;
}

/** Mark one comma item's ports; returns what is wrong with it, if anything. */
function addItem(item: string, selected: Uint8Array): string | undefined {
  if (item === '') return 'empty item (a doubled, leading or trailing comma); remove the extra comma';
  const tableOnly = item.startsWith('[') && item.endsWith(']');
  const body = tableOnly ? item.slice(1, -1) : item;
  let lo: number;
  let hi: number;
  const range = RANGE_RE.exec(body);
  if (range !== null) {
    lo = range[1] === '' ? 1 : Number(range[1]);
    hi = range[2] === '' ? MAX_PORT : Number(range[2]);
    if (lo > MAX_PORT) return tooBig(range[1] ?? '');
    if (hi > MAX_PORT) return tooBig(range[2] ?? '');
    if (lo > hi) return `range runs backwards; write ${hi}-${lo}`;
  } else if (NUMBER_RE.test(body)) {
    lo = hi = Number(body);
    if (lo > MAX_PORT) return tooBig(body);
  } else if (!tableOnly && NAME_RE.test(body) && /[A-Za-z*?]/.test(body)) {
    const ports = portsMatchingName(body);
    if (ports.length === 0) {
      return /[*?]/.test(body)
        ? 'no service name matches this pattern; use port numbers or names such as ssh, http, https'
        : 'unknown service name; use a port number or a name from the service table, such as ssh, http, https';
    }
    for (const port of ports) selected[port] = 1;
    return undefined;
  } else {
    return tableOnly ? 'inside [ ] give a port or range, e.g. [1-1024]' : 'not a port, range or service name; write e.g. 22, 1-1024, - or ssh';
  }
  for (let port = lo; port <= hi; port++) {
    if (!tableOnly || load().names[port] !== undefined) selected[port] = 1;
  }
  return undefined;
}

/** What the user asked for on the command line; all optional. */
export interface PortOptions {
  /** `-p` spec. */
  ports?: string;
  /** `--top-ports N` (number or the raw option text). With `-p`, the N most frequent of those ports, as nmap does. */
  topPorts?: number | string;
  /** `-F`: the top 100. */
  fast?: boolean;
  /** `--exclude-ports` spec; removed before the top-N pick, so `--top-ports 10` still yields 10 ports. */
  excludePorts?: string;
}

/** Turn the port options into the sorted, distinct ports to scan (default: top 1000). Throws UsageError `E_PORT`. */
export function selectPorts(options: PortOptions = {}): Uint16Array {
  if (options.fast === true && options.ports !== undefined) throw new UsageError('E_PORT', '-F and -p cannot be combined; -F means the top 100 ports, -p lists them explicitly');
  if (options.fast === true && options.topPorts !== undefined) throw new UsageError('E_PORT', '-F and --top-ports cannot be combined; -F means --top-ports 100');
  const top = options.topPorts === undefined ? undefined : parseTopPorts(options.topPorts);
  const excluded = options.excludePorts === undefined ? undefined : parsePortSpec(options.excludePorts, '--exclude-ports');
  const skip = new Uint8Array(MAX_PORT + 1);
  for (const port of excluded ?? []) skip[port] = 1;

  let ports: Uint16Array;
  if (options.ports !== undefined) {
    ports = parsePortSpec(options.ports).filter((p) => skip[p] !== 1);
    if (top !== undefined) ports = byRank(ports).slice(0, top).sort();
  } else {
    const want = top ?? (options.fast === true ? FAST_TOP_PORTS : DEFAULT_TOP_PORTS);
    ports = load()
      .ranked.filter((p) => skip[p] !== 1)
      .slice(0, want)
      .sort();
  }
  if (ports.length === 0) throw new UsageError('E_PORT', 'no ports left to scan after --exclude-ports; exclude fewer ports');
  return ports;
}

function parseTopPorts(value: number | string): number {
  const n = typeof value === 'number' ? value : /^[0-9]{1,6}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PORT) {
    throw new UsageError('E_PORT', `--top-ports ${quoteToken(String(value))}: give a whole number from 1 to ${MAX_PORT}`, { token: String(value) });
  }
  return n;
}
