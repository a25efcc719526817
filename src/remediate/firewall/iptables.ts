/**
 * iptables / ip6tables backend. Each port gets its own chain (`PORTOLAN-TCP-5432`), replaced as a whole
 * by one `iptables-restore --noflush` (declaring a user chain in restore input flushes it, atomically with
 * the new rules), and jumped to from INPUT once, checked with `-C` before `-I`. So a second run adds
 * nothing, and a changed spec (another allowed source) replaces the old rules instead of piling up.
 * Rollback is `iptables-restore` of the saved `iptables-save` dump, which replaces every saved table.
 * A dump without the filter table means the apply created that table, and restoring the dump would
 * leave it (with our chain and jump) in place; the rollback then removes it again: under iptables-nft
 * it deletes the nftables table, under legacy iptables (whose kernel tables cannot be removed) it
 * restores the table a fresh kernel has, built-in chains accepting and nothing else. A filter table
 * iptables-save cannot dump (native nftables rules) could never be restored, so the apply refuses it.
 */
import { applyScript, rollbackScript, shQuote } from '../shell.js';
import type { FirewallBackend, FirewallRuleSpec, GeneratedScript } from '../types.js';
import { familiesOf, validateSpec, type ValidSpec, describeSpec } from '../validate.js';

interface FamilyTools {
  suffix: 'v4' | 'v6';
  /** The nftables family iptables-nft keeps this command's tables in. */
  nft: 'ip' | 'ip6';
  cmd: 'iptables' | 'ip6tables';
  save: 'iptables-save' | 'ip6tables-save';
  restore: 'iptables-restore' | 'ip6tables-restore';
  dump: string;
}

const TOOLS: Record<4 | 6, FamilyTools> = {
  4: { suffix: 'v4', nft: 'ip', cmd: 'iptables', save: 'iptables-save', restore: 'iptables-restore', dump: 'iptables.rules' },
  6: { suffix: 'v6', nft: 'ip6', cmd: 'ip6tables', save: 'ip6tables-save', restore: 'ip6tables-restore', dump: 'ip6tables.rules' },
};

/** The chain that holds one port's rules; at most 18 characters, within iptables' 28. */
export function iptablesChainName(spec: Pick<ValidSpec, 'protocol' | 'port'>): string {
  return `PORTOLAN-${spec.protocol.toUpperCase()}-${spec.port}`;
}

/** The `iptables-restore` input that makes the port's chain hold exactly the desired rules. */
function chainRules(spec: ValidSpec, family: 4 | 6): string[] {
  const chain = iptablesChainName(spec);
  const iface = spec.iface === undefined ? '' : ` -i ${spec.iface}`;
  const comment = `-m comment --comment "portolan:${spec.findingKey}"`;
  const lines = ['*filter', `:${chain} - [0:0]`];
  // Allowed sources RETURN to INPUT rather than ACCEPT: this chain only ever takes access away, so
  // whatever else INPUT decides for them still applies.
  for (const cidr of spec.allowFrom) {
    if (cidr.family === family) lines.push(`-A ${chain}${iface} -s ${cidr.text} ${comment} -j RETURN`);
  }
  // Only new connections are dropped: sessions already open are left to finish.
  lines.push(`-A ${chain}${iface} -m conntrack --ctstate NEW ${comment} -j DROP`, 'COMMIT');
  return lines;
}

/** Shell functions the rollback uses to tell whether, and how, to undo a filter table the apply created. */
const ROLLBACK_FUNCTIONS = [
  '# Whether a saved dump holds the filter table: saved by iptables, or there but not readable by it.',
  '# (A table iptables-nft cannot parse is native nftables; it was there before and is never deleted.)',
  'saved_filter() {',
  "  grep -Eq '^([*]filter$|# Table .filter. is incompatible)' \"$1\"",
  '}',
  '',
  '# Whether this iptables keeps its tables in nftables (iptables-nft) and nft is there to delete one.',
  'nft_variant() {',
  '  command -v nft >/dev/null 2>&1 || return 1',
  '  case "$("$1" -V 2>/dev/null)" in',
  '    *nf_tables*) return 0 ;;',
  '  esac',
  '  return 1',
  '}',
  '',
  '# The filter table as a fresh kernel makes it: built-in chains accepting, no rules, no user chains.',
  'empty_filter() {',
  "  printf '%s\\n' '*filter' ':INPUT ACCEPT [0:0]' ':FORWARD ACCEPT [0:0]' ':OUTPUT ACCEPT [0:0]' 'COMMIT'",
  '}',
];

/** Rollback lines for one family: restore the dump, then undo a filter table the dump shows was absent. */
function restoreLines(family: 4 | 6, tools: FamilyTools): string[] {
  const dump = `"$BACKUP_DIR/${tools.dump}"`;
  const empty = `"$BACKUP_DIR/empty-${tools.suffix}.rules"`;
  return [
    `# IPv${family}: restore every table the dump saved.`,
    `run_from ${dump} ${tools.restore} -w`,
    '# The apply wrote to the filter table. If the dump lacks it, the apply created it and the restore',
    '# above left it alone, our chain and jump included: take it back to how it was.',
    `if ! check saved_filter ${dump}; then`,
    `  if check nft_variant ${tools.cmd}; then`,
    '    # Gone entirely, as before; adding it first makes the delete a no-op when it is already gone.',
    `    run nft add table ${tools.nft} filter \\; delete table ${tools.nft} filter`,
    '  else',
    '    # Legacy kernel tables stay once made (as does an iptables-nft table without nft): empty them.',
    `    write ${empty} empty_filter`,
    `    run_from ${empty} ${tools.restore} -w`,
    '  fi',
    'fi',
  ];
}

function build(input: FirewallRuleSpec): GeneratedScript {
  const spec = validateSpec(input);
  const families = familiesOf(spec.family).map((f) => ({ family: f, tools: TOOLS[f] }));
  const chain = shQuote(iptablesChainName(spec));
  const jump = `INPUT -p ${shQuote(spec.protocol)} --dport ${shQuote(String(spec.port))} -j ${chain}`;
  const summary = describeSpec(spec, `block new ${spec.protocol} connections to port ${spec.port}`);

  const functions: string[] = [];
  const backup: string[] = families.map(({ tools }) => `run_to "$BACKUP_DIR/${tools.dump}" ${tools.save}`);
  // iptables-nft writes into a filter table that native nft rules made, but cannot dump it (it saves
  // a comment instead), so no rollback could put that table back: refuse before the first change,
  // and before the backup is recorded as the last one.
  for (const { tools } of families) {
    backup.push(
      `if check grep -q '^# Table .filter. is incompatible' "$BACKUP_DIR/${tools.dump}"; then`,
      `  die '${tools.save} cannot save the filter table (it holds native nftables rules); use the nftables backend'`,
      'fi',
    );
  }
  const changes: string[] = [];
  for (const { family, tools } of families) {
    functions.push(`chain_${tools.suffix}() {`, "  cat <<'PORTOLAN_RULES'", ...chainRules(spec, family), 'PORTOLAN_RULES', '}');
    const file = `"$BACKUP_DIR/portolan-${tools.suffix}.rules"`;
    changes.push(
      `# IPv${family}: replace the port's chain in one atomic restore, then jump to it once from the top of INPUT.`,
      `write ${file} chain_${tools.suffix}`,
      `run_from ${file} ${tools.restore} -w --noflush`,
      `if ! check ${tools.cmd} -w -C ${jump}; then`,
      `  run ${tools.cmd} -w -I ${jump.replace('INPUT', 'INPUT 1')}`,
      'fi',
    );
  }
  const apply = applyScript({
    backend: 'iptables',
    summary,
    findingKey: spec.findingKey,
    requires: families.flatMap(({ tools }) => [tools.cmd, tools.save, tools.restore]),
    functions,
    backup,
    changes,
  });
  const rollback = rollbackScript({
    backend: 'iptables',
    summary: `undo: ${summary}`,
    findingKey: spec.findingKey,
    requires: families.flatMap(({ tools }) => [tools.cmd, tools.restore]),
    files: families.map(({ tools }) => tools.dump),
    // RollbackParts has no functions slot; bash takes definitions anywhere before their first use.
    restore: [...ROLLBACK_FUNCTIONS, '', ...families.flatMap(({ family, tools }) => restoreLines(family, tools))],
  });
  return { backend: 'iptables', apply, rollback };
}

/** iptables (IPv4) and ip6tables (IPv6), chosen per the spec's family. */
export const iptablesBackend: FirewallBackend = {
  id: 'iptables',
  describe: 'iptables and ip6tables: one chain per port, replaced atomically with iptables-restore --noflush',
  build,
};
