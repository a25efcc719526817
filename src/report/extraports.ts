/**
 * nmap's "extraports" grouping, shared by the table, XML and grepable formats so that they always
 * agree on which ports are listed and which are only counted.
 */
import type { PortResult } from '../core/model.js';
import type { PortReason, PortState } from '../core/status.js';

/**
 * A non-open state is collapsed into a count once more than this many ports share it; below it,
 * listing the ports is more useful than a summary line. Same threshold as nmap's default.
 */
export const COLLAPSE_THRESHOLD = 25;

/** Ports of one reason inside a collapsed state. */
export interface ReasonGroup {
  reason: PortReason;
  /** Ascending port numbers. */
  ports: number[];
}

/** One collapsed state: how many ports, split by reason (most frequent reason first). */
export interface StateGroup {
  state: PortState;
  count: number;
  reasons: ReasonGroup[];
}

/** The result of {@link partitionPorts}. */
export interface PortPartition {
  /** Ports to list one by one, ascending. */
  shown: PortResult[];
  /** Collapsed states, most frequent first. */
  collapsed: StateGroup[];
  /** Counts per state over all ports of the host. */
  counts: Record<PortState, number>;
}

/** Returns the ports in ascending order, copying only when they are not already sorted. */
export function sortedPorts(ports: readonly PortResult[]): readonly PortResult[] {
  for (let i = 1; i < ports.length; i++) {
    if ((ports[i - 1]?.port ?? 0) > (ports[i]?.port ?? 0)) return [...ports].sort((a, b) => a.port - b.port);
  }
  return ports;
}

function emptyCounts(): Record<PortState, number> {
  return { open: 0, closed: 0, filtered: 0 };
}

/** Counts ports per state. */
export function countStates(ports: readonly PortResult[]): Record<PortState, number> {
  const counts = emptyCounts();
  for (const p of ports) counts[p.state]++;
  return counts;
}

/**
 * Splits a host's ports into those to list and those to summarise. Open ports are always listed.
 * A non-open state is collapsed when it has more than `threshold` ports, or always with `openOnly`
 * (`--open`), so a 65,535-port scan prints the handful of ports that differ from the crowd.
 */
export function partitionPorts(ports: readonly PortResult[], openOnly: boolean, threshold = COLLAPSE_THRESHOLD): PortPartition {
  const sorted = sortedPorts(ports);
  const counts = countStates(sorted);
  const collapse = new Set<PortState>();
  for (const state of ['closed', 'filtered'] as const) {
    if (openOnly ? counts[state] > 0 : counts[state] > threshold) collapse.add(state);
  }
  const shown: PortResult[] = [];
  const byState = new Map<PortState, Map<PortReason, number[]>>();
  for (const p of sorted) {
    if (!collapse.has(p.state)) {
      shown.push(p);
      continue;
    }
    let reasons = byState.get(p.state);
    if (reasons === undefined) byState.set(p.state, (reasons = new Map<PortReason, number[]>()));
    let list = reasons.get(p.reason);
    if (list === undefined) reasons.set(p.reason, (list = []));
    list.push(p.port);
  }
  const collapsed: StateGroup[] = [];
  for (const [state, reasons] of byState) {
    const groups = [...reasons].map(([reason, list]) => ({ reason, ports: list }));
    groups.sort((a, b) => b.ports.length - a.ports.length || a.reason.localeCompare(b.reason));
    collapsed.push({ state, count: counts[state], reasons: groups });
  }
  collapsed.sort((a, b) => b.count - a.count || a.state.localeCompare(b.state));
  return { shown, collapsed, counts };
}

/** Number of distinct ports in a plan's port list (which may repeat a port). */
export function distinctCount(ports: Iterable<number>): number {
  return new Set(ports).size;
}
