/**
 * Where a policy lets a service be reached from, as firewall sources: the CIDRs of the `from:` of
 * every rule that allows it. Remediation's allowlist mode uses them when the user names none.
 */
import type { Policy, PolicyService } from './policy.js';
import { allowingRules } from './policy.js';
import type { HostEntry } from './policy-schema.js';

/** RFC 1918, CGNAT-free private ranges and IPv6 ULA: what `from: internal` means without `internal_networks`. */
export const DEFAULT_INTERNAL_NETWORKS: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** A host entry as a network in CIDR notation, or undefined for a name. parseHostEntry already keeps a
 * network as its canonical `network/bits` (host bits cleared, IPv4-mapped prefixes converted). */
function cidrOf(entry: HostEntry): string | undefined {
  if (entry.kind === 'cidr') return entry.text;
  if (entry.kind === 'address') return `${entry.text}/${entry.ip.kind() === 'ipv4' ? 32 : 128}`;
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
