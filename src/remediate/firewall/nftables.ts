/**
 * nftables backend. Rules live in our own table `inet portolan`, one base chain per port hooked at
 * input with priority filter. Each run loads one generated file with `nft -f`: it adds the table and
 * chain if missing, flushes the chain and adds the desired rules, all in one transaction. The file is
 * the full desired state of that port, so the rebuild is idempotent by construction and atomic.
 * A base chain of our own can only take access away: its accept ends only this chain, and any other
 * table's drop still applies. The apply saves the whole ruleset (for the record) and our table as it
 * was; rollback deletes our table and loads the saved one back (nothing, when there was none) in one
 * checked transaction. Other tables are never reloaded: a full `flush ruleset` + reload would rewrite
 * tables iptables-nft owns (its xtables matches do not survive a listing and reload).
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
      '# Our table as it is now; nothing when it does not exist yet.',
      'saved_table() {',
      `  if nft list tables | grep -qx 'table ${NFT_TABLE}'; then nft list table ${NFT_TABLE}; fi`,
      '}',
      '',
      '# Delete our table (adding it first makes the delete safe when it is absent), then load the saved',
      '# one back: one transaction that restores exactly the table as it was and touches no other.',
      'restore_file() {',
      `  printf 'add table ${NFT_TABLE}\\ndelete table ${NFT_TABLE}\\n'`,
      '  # A dry run has no saved table yet; say what would follow.',
      '  if [ -f "$1" ]; then cat "$1"; else printf \'# (the table saved in %s)\\n\' "$1"; fi',
      '}',
    ],
    backup: [
      '# The whole ruleset, for the record; the rollback restores our table only.',
      'run_to "$BACKUP_DIR/nftables.rules" nft list ruleset',
      'run_to "$BACKUP_DIR/portolan-table.nft" saved_table',
      'write "$BACKUP_DIR/nftables.restore" restore_file "$BACKUP_DIR/portolan-table.nft"',
      '# Prove the rollback file loads before the first change, not when it is needed.',
      'run nft -c -f "$BACKUP_DIR/nftables.restore" || die "nft cannot load the saved table back, so no rollback could restore it; nothing was changed"',
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
