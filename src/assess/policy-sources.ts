/**
 * Where a policy lets a service be reached from, as firewall sources: the CIDRs of the `from:` of
 * every rule that allows it. Remediation's allowlist mode uses them when the user names none.
 */
import ipaddr from 'ipaddr.js';
import type { Policy, PolicyService } from './policy.js';
import { allowingRules } from './policy.js';
import type { HostEntry } from './policy-schema.js';

/** RFC 1918, CGNAT-free private ranges and IPv6 ULA: what `from: internal` means without `internal_networks`. */
export const DEFAULT_INTERNAL_NETWORKS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** A host entry as a network in CIDR notation (host bits cleared), or undefined for a name. */
function cidrOf(entry: HostEntry): string | undefined {
  if (entry.kind === 'cidr') {
    const v4 = entry.ip.kind() === 'ipv4';
    // An IPv4-mapped IPv6 network is matched as IPv4 (policy-schema's toIp): its prefix counts the last 32 bits.
    const bits = v4 && entry.bits > 32 ? entry.bits - 96 : entry.bits;
    const net = (v4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(`${entry.ip.toString()}/${bits}`);
    return `${net.toString()}/${bits}`;
  }
  if (entry.kind === 'address') return `${entry.ip.toString()}/${entry.ip.kind() === 'ipv4' ? 32 : 128}`;
  return undefined;
}

/**
 * `allowed: false`: no rule allows the service here. `from: undefined`: some rule allows it from
 * anywhere (nothing to restrict to). Otherwise the union of the rules' networks, in file order.
 * Host-name entries in `from:` cannot become firewall sources and are left out.
 */
export function policySources(policy: Policy, s: PolicyService): { allowed: boolean; from?: string[] } {
  const rules = allowingRules(policy, s);
  if (rules.length === 0) return { allowed: false };
  const out: string[] = [];
  for (const { rule } of rules) {
    if (rule.from.kind === 'anywhere') return { allowed: true };
    const list = rule.from.kind === 'internal' ? (policy.internalNetworks?.map(cidrOf) ?? DEFAULT_INTERNAL_NETWORKS) : rule.from.networks.map(cidrOf);
    for (const c of list) if (c !== undefined && !out.includes(c)) out.push(c);
  }
  return { allowed: true, from: out };
}
