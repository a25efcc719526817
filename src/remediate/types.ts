/**
 * Types shared by the remediation backends. A backend is a pure string builder: it turns a validated
 * rule spec into an apply script and a rollback script, and never touches the host itself.
 */

/** What a firewall change should achieve for one port. */
export interface FirewallRuleSpec {
  /** `block`: drop new connections to the port; `allowlist`: let `allowFrom` in, drop the rest. */
  mode: 'block' | 'allowlist';
  protocol: 'tcp' | 'udp';
  /** 1–65535. */
  port: number;
  /** Which address families the rule covers. */
  family: 4 | 6 | 'both';
  /** Allowed sources (addresses or CIDRs) in allowlist mode; must be absent or empty in block mode. */
  allowFrom?: string[];
  /** Limit the rule to one inbound interface (Linux name rules). */
  iface?: string;
  /** The finding the rule fixes; goes into rule comments so an operator can trace it. */
  findingKey: string;
}

/** The two scripts a backend writes for one spec. */
export interface GeneratedScript {
  /** The backend id that wrote them (`iptables`, `nftables`, …). */
  backend: string;
  /** Saves the current state, then changes it; dry run unless given `--apply`. */
  apply: string;
  /** Restores exactly the state the apply script saved; takes that backup directory as its argument. */
  rollback: string;
}

/** One firewall backend; registered once in `registry.ts`. */
export interface FirewallBackend {
  /** Stable id used on the command line (`--backend iptables`). */
  id: string;
  /** One line for help text. */
  describe: string;
  /** Validate the spec (throws UsageError) and write the scripts. Deterministic: same spec, same text. */
  build(spec: FirewallRuleSpec): GeneratedScript;
}
