/**
 * What changed between two scans, port by port, as `portolan diff A B` reports it: services that
 * appeared (new), went away (closed), came back after they had been closed (reopened), or changed
 * service, product or version (changed). Pure: the caller reads both scans from the store.
 */
import { portKey } from '../core/finding.js';
import type { Protocol, Service } from '../core/model.js';

/** A port as one scan saw it (the store's ObservedPort fits). */
export interface DiffPort {
  address: string;
  protocol: Protocol;
  port: number;
  state: string;
  service?: Pick<Service, 'name' | 'product' | 'version'> & Partial<Pick<Service, 'extrainfo'>>;
}

export type DiffKind = 'new' | 'reopened' | 'closed' | 'unchecked' | 'changed';

export interface DiffEntry {
  kind: DiffKind;
  address: string;
  protocol: Protocol;
  port: number;
  /** State and service in the first scan, when it had the port. */
  before?: DiffPort;
  after?: DiffPort;
  /** What differs, one line each (`version 9.2p1 → 9.6p1`); for `closed`, how it was seen. */
  changes: string[];
}

export interface DiffInput {
  before: readonly DiffPort[];
  after: readonly DiffPort[];
  /** Ports (`address/protocol/port`) open in some scan older than `before`: an open port new to `before` is then reopened. */
  openEarlier?: ReadonlySet<string>;
}


const FIELDS = ['name', 'product', 'version', 'extrainfo'] as const;
const LABEL: Record<(typeof FIELDS)[number], string> = { name: 'service', product: 'product', version: 'version', extrainfo: 'extra info' };

function serviceChanges(a: DiffPort, b: DiffPort): string[] {
  const out: string[] = [];
  for (const f of FIELDS) {
    const x = a.service?.[f] ?? '';
    const y = b.service?.[f] ?? '';
    // A field the second scan did not learn (a ports-only scan) is not a change.
    if (x !== y && y !== '') out.push(`${LABEL[f]} ${x === '' ? '(none)' : x} → ${y}`);
  }
  return out;
}

const ORDER: Record<DiffKind, number> = { new: 0, reopened: 1, changed: 2, closed: 3, unchecked: 4 };

/**
 * The differences, by host (in the scans' order), protocol and port. A port open in `before` that `after` does
 * not list is `closed` when `after` scanned that host (our scans list every port they tried; an
 * nmap file lists what was not closed), and `unchecked` when `after` never looked at the host.
 */
export function diffScans(input: DiffInput): DiffEntry[] {
  const before = new Map<string, DiffPort>();
  for (const p of input.before) before.set(portKey(p), p);
  const after = new Map<string, DiffPort>();
  const hostsAfter = new Set<string>();
  for (const p of input.after) {
    after.set(portKey(p), p);
    hostsAfter.add(p.address);
  }
  const out: DiffEntry[] = [];
  for (const [key, b] of after) {
    if (b.state !== 'open') continue;
    const a = before.get(key);
    const base = { address: b.address, protocol: b.protocol, port: b.port, after: b };
    if (a === undefined || a.state !== 'open') {
      const kind: DiffKind = input.openEarlier?.has(key) === true ? 'reopened' : 'new';
      out.push({ ...base, kind, ...(a !== undefined && { before: a }), changes: a === undefined ? [] : [`was ${a.state}`] });
      continue;
    }
    const changes = serviceChanges(a, b);
    if (changes.length > 0) out.push({ ...base, kind: 'changed', before: a, changes });
  }
  for (const [key, a] of before) {
    if (a.state !== 'open') continue;
    const b = after.get(key);
    if (b !== undefined && b.state === 'open') continue;
    const base = { address: a.address, protocol: a.protocol, port: a.port, before: a };
    if (b !== undefined) out.push({ ...base, kind: 'closed', after: b, changes: [`now ${b.state}`] });
    else if (hostsAfter.has(a.address)) out.push({ ...base, kind: 'closed', changes: ['not listed by the second scan'] });
    else out.push({ ...base, kind: 'unchecked', changes: ['host not in the second scan'] });
  }
  // Hosts in the order the scans list them (the store's is the order hosts were first seen).
  const rank = new Map<string, number>();
  for (const p of [...input.before, ...input.after]) if (!rank.has(p.address)) rank.set(p.address, rank.size);
  return out.sort((x, y) => rank.get(x.address)! - rank.get(y.address)! || (x.protocol < y.protocol ? -1 : x.protocol > y.protocol ? 1 : 0) || x.port - y.port || ORDER[x.kind] - ORDER[y.kind]);
}
