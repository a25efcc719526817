/**
 * nmap vocabulary shared by the XML and grepable importers: port states, reasons, host reasons and
 * the command-line header, mapped onto the model. The model knows fewer states and reasons than
 * nmap writes, so some map to their nearest equivalent (documented at each table).
 */
import type { HostReason, HostStatus, PortResult, Protocol, Source } from '../core/model.js';
import type { PortReason, PortState } from '../core/status.js';

/**
 * nmap's port states. `open|filtered` and `closed|filtered` (no answer to a UDP or idle probe)
 * mean nothing proved the port open or closed, which the model calls filtered. `unfiltered` (ACK
 * scan: reachable, open or closed unknown) has no model state and is skipped (null).
 */
const PORT_STATES: Readonly<Record<string, PortState | null>> = {
  open: 'open',
  closed: 'closed',
  filtered: 'filtered',
  'open|filtered': 'filtered',
  'closed|filtered': 'filtered',
  unfiltered: null,
};

/** The model state for an nmap state; null for a known state to skip, undefined for an unknown word. */
export function portState(word: string): PortState | null | undefined {
  return Object.hasOwn(PORT_STATES, word) ? PORT_STATES[word] : undefined;
}

/** nmap reasons the model has, and near equivalents for those it has not. */
const PORT_REASONS: Readonly<Record<string, PortReason>> = {
  'syn-ack': 'syn-ack',
  'conn-refused': 'conn-refused',
  reset: 'conn-refused',
  'port-unreach': 'port-unreach',
  'no-response': 'no-response',
  'host-unreach': 'host-unreach',
  'net-unreach': 'net-unreach',
  'admin-prohibited': 'admin-prohibited',
  'host-prohibited': 'admin-prohibited',
  'net-prohibited': 'admin-prohibited',
  'proto-unreach': 'proto-unreach',
  error: 'error',
};

/** Reason for a port: nmap's own where the model has it, else the usual reason for that state. */
export function portReason(word: string | undefined, state: PortState): PortReason {
  const known = word !== undefined && Object.hasOwn(PORT_REASONS, word) ? PORT_REASONS[word] : undefined;
  if (known !== undefined) return known;
  return state === 'open' ? 'syn-ack' : state === 'closed' ? 'conn-refused' : 'no-response';
}

const HOST_REASONS: Readonly<Record<string, HostReason>> = {
  'user-set': 'user-set',
  'syn-ack': 'syn-ack',
  'conn-refused': 'conn-refused',
  reset: 'conn-refused',
  'host-unreach': 'host-unreach',
  'no-response': 'no-response',
  'localhost-response': 'localhost-response',
  'admin-prohibited': 'admin-prohibited',
  'net-unreach': 'net-unreach',
};

/**
 * Reason for a host status. Discovery answers the model has no word for (`echo-reply`,
 * `arp-response`, …) become `user-set` for an up host: the file, not our probe, says it is up.
 */
export function hostReason(word: string | undefined, status: HostStatus): HostReason {
  const known = word !== undefined && Object.hasOwn(HOST_REASONS, word) ? HOST_REASONS[word] : undefined;
  return known ?? (status === 'up' ? 'user-set' : 'no-response');
}

/** tcp/udp as the model has them; null for protocols nmap scans that the model has not (sctp, ip). */
export function protocol(word: string): Protocol | null | undefined {
  if (word === 'tcp' || word === 'udp') return word;
  if (word === 'sctp' || word === 'ip') return null;
  return undefined;
}

/** Most arguments kept from a recorded command line, and longest argument. */
const MAX_ARGS = 256;
const MAX_ARG_CHARS = 1024;

/** nmap records its command line space-joined; split it back (quoting is not recoverable). */
export function splitArgs(line: string): string[] {
  return line
    .split(/\s+/)
    .filter((a) => a.length > 0)
    .slice(0, MAX_ARGS)
    .map((a) => a.slice(0, MAX_ARG_CHARS));
}

/** A file written by portolan's own `-oX`/`-oG` (which imitate nmap) is portolan's, not nmap's. */
export function sourceFromArgs(args: readonly string[], scanner?: string): Source {
  return scanner === 'portolan' || /(?:^|\/)portolan(?:\.js)?$/.test(args[0] ?? '') ? 'portolan' : 'nmap';
}

/** Ports in the model's order: ascending port, tcp before udp on the same number. */
export function sortPorts(ports: PortResult[]): PortResult[] {
  return ports.sort((a, b) => a.port - b.port || (a.protocol === b.protocol ? 0 : a.protocol === 'tcp' ? -1 : 1));
}

/** Most ports one host may list: every tcp and udp port once. */
export const MAX_PORTS_PER_HOST = 2 * 65536;
/** Most names kept per host; nmap writes one or two. */
export const MAX_HOSTNAMES = 32;
