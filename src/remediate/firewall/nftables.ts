/**
 * nftables backend. Rules live in our own table `inet portolan`, one base chain per port hooked at
 * input with priority filter. Each run loads one generated file with `nft -f`: it adds the table and
 * chain if missing, flushes the chain and adds the desired rules, all in one transaction. The file is
 * the full desired state of that port, so the rebuild is idempotent by construction and atomic.
 * A base chain of our own can only take access away: its accept ends only this chain, and any other
 * table's drop still applies. Rollback loads `flush ruleset` plus the saved `nft list ruleset`, again
 * as one transaction, after a syntax check with `nft -c`.
 */
import { applyScript, rollbackScript } from '../shell.js';
import type { FirewallBackend, FirewallRuleSpec, GeneratedScript } from '../types.js';
import { validateSpec, type ValidSpec, describeSpec } from '../validate.js';

/** Our table, family inet so one rule covers IPv4 and IPv6. */
export const NFT_TABLE = 'inet portolan';

/** The base chain that holds one port's rules. */
export function nftChainName(spec: Pick<ValidSpec, 'protocol' | 'port'>): string {
  return `in_${spec.protocol}_${spec.port}`;
}

/** The `nft -f` input that makes the port's chain hold exactly the desired rules. */
export function nftRuleset(spec: ValidSpec): string[] {
  const chain = `${NFT_TABLE} ${nftChainName(spec)}`;
  const scope = spec.family === 4 ? 'meta nfproto ipv4 ' : spec.family === 6 ? 'meta nfproto ipv6 ' : '';
  const iface = spec.iface === undefined ? '' : `iifname "${spec.iface}" `;
  const port = `${spec.protocol} dport ${spec.port}`;
  const comment = `comment "portolan:${spec.findingKey}"`;
  const lines = [
    `add table ${NFT_TABLE}`,
    `add chain ${chain} { type filter hook input priority filter; policy accept; }`,
    `flush chain ${chain}`,
  ];
  for (const [family, match] of [
    [4, 'ip saddr'],
    [6, 'ip6 saddr'],
  ] as const) {
    const sources = spec.allowFrom.filter((c) => c.family === family).map((c) => c.text);
    if (sources.length > 0) lines.push(`add rule ${chain} ${iface}${match} { ${sources.join(', ')} } ${port} accept ${comment}`);
  }
  // Only new connections are dropped: sessions already open are left to finish.
  lines.push(`add rule ${chain} ${scope}${iface}${port} ct state new drop ${comment}`);
  return lines;
}

function build(input: FirewallRuleSpec): GeneratedScript {
  const spec = validateSpec(input);
  const summary = describeSpec(spec, `block new ${spec.protocol} connections to port ${spec.port}`);
  const apply = applyScript({
    backend: 'nftables',
    summary,
    findingKey: spec.findingKey,
    requires: ['nft'],
    functions: [
      'desired_ruleset() {',
      "  cat <<'PORTOLAN_NFT'",
      ...nftRuleset(spec),
      'PORTOLAN_NFT',
      '}',
      '',
      '# flush ruleset + the saved dump: loaded as one transaction, it restores exactly that state.',
      'restore_file() {',
      "  printf 'flush ruleset\\n'",
      '  # A dry run has no dump yet; say what would follow.',
      '  if [ -f "$1" ]; then cat "$1"; else printf \'# (the ruleset saved in %s)\\n\' "$1"; fi',
      '}',
    ],
    backup: [
      'run_to "$BACKUP_DIR/nftables.rules" nft list ruleset',
      'write "$BACKUP_DIR/nftables.restore" restore_file "$BACKUP_DIR/nftables.rules"',
    ],
    changes: [
      '# The file is the full desired state of this port: check it, then load it as one transaction.',
      'write "$BACKUP_DIR/portolan.nft" desired_ruleset',
      'run nft -c -f "$BACKUP_DIR/portolan.nft"',
      'run nft -f "$BACKUP_DIR/portolan.nft"',
    ],
  });
  const rollback = rollbackScript({
    backend: 'nftables',
    summary: `undo: ${summary}`,
    findingKey: spec.findingKey,
    requires: ['nft'],
    files: ['nftables.restore'],
    restore: ['run nft -c -f "$BACKUP_DIR/nftables.restore"', 'run nft -f "$BACKUP_DIR/nftables.restore"'],
  });
  return { backend: 'nftables', apply, rollback };
}

/** nftables: table `inet portolan`, one base chain per port, rebuilt atomically with `nft -f`. */
export const nftablesBackend: FirewallBackend = {
  id: 'nftables',
  describe: 'nftables: table inet portolan, one input chain per port, rebuilt atomically with nft -f',
  build,
};
