/**
 * iptables / ip6tables backend. Each port gets its own chain (`PORTOLAN-TCP-5432`), replaced as a whole
 * by one `iptables-restore --noflush` (declaring a user chain in restore input flushes it, atomically with
 * the new rules), and jumped to from INPUT once, checked with `-C` before `-I`. So a second run adds
 * nothing, and a changed spec (another allowed source) replaces the old rules instead of piling up.
 * Rollback puts back only what the apply touched: our chain and its jump, as the saved
 * `iptables-save` dump had them (its rules restored, or both removed when the dump had no such
 * chain). Everything else stays as it is now, so rules another tool added meanwhile (fail2ban bans,
 * Docker's chains) survive. When the dump had no filter table at all, the apply created it; once our
 * chain is gone and the table holds nothing else, the rollback deletes it again under iptables-nft
 * (legacy kernel tables cannot be removed: an empty one stays). A filter table iptables-save cannot
 * dump (native nftables rules) could not be read back, so the apply refuses it.
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

/** `iptables` or `ip6tables`. */
export function iptablesCommand(family: 4 | 6): 'iptables' | 'ip6tables' {
  return TOOLS[family].cmd;
}

/** The chain that holds one port's rules; at most 18 characters, within iptables' 28. */
export function iptablesChainName(spec: Pick<ValidSpec, 'protocol' | 'port'>): string {
  return `PORTOLAN-${spec.protocol.toUpperCase()}-${spec.port}`;
}

/** The `iptables-restore` input that makes the port's chain hold exactly the desired rules. */
export function chainRules(spec: ValidSpec, family: 4 | 6): string[] {
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

/** Shell functions the rollback uses to read the saved dump and judge the filter table. */
const ROLLBACK_FUNCTIONS = [
  '# Whether a saved dump holds the filter table: saved by iptables, or there but not readable by it.',
  '# (A table iptables-nft cannot parse is native nftables; it was there before and is never deleted.)',
  'saved_filter() {',
  "  grep -Eq '^([*]filter$|# Table .filter. is incompatible)' \"$1\"",
  '}',
  '',
  '# Whether the dump ($1) declared the chain ($2) in its filter table.',
  'saved_chain_exists() {',
  '  awk -v c=":$2" \'/^[*]/ { t = $0 } t == "*filter" && $1 == c { found = 1 } END { exit !found }\' "$1"',
  '}',
  '',
  '# iptables-restore input that gives the chain ($2) exactly the rules the dump ($1) saved for it.',
  'saved_chain() {',
  "  printf '*filter\\n:%s - [0:0]\\n' \"$2\"",
  '  if [ -f "$1" ]; then',
  '    awk -v c="$2" \'/^[*]/ { t = $0 } t == "*filter" && $1 == "-A" && $2 == c { print }\' "$1"',
  '  fi',
  "  printf 'COMMIT\\n'",
  '}',
  '',
  '# Whether this iptables ($1) keeps its tables in nftables (iptables-nft) and nft is there to delete one.',
  'nft_variant() {',
  '  command -v nft >/dev/null 2>&1 || return 1',
  '  case "$("$1" -V 2>/dev/null)" in',
  '    *nf_tables*) return 0 ;;',
  '  esac',
  '  return 1',
  '}',
  '',
  '# Whether the filter table (dumped by $1) is as a fresh kernel makes it: built-in chains accepting,',
  '# no rules, no user chains. Counters do not matter.',
  'pristine_filter() {',
  '  [ "$("$1" -t filter | grep -v \'^#\' | sed \'s/ \\[[0-9]*:[0-9]*\\]$//\')" = "$(printf \'%s\\n\' \'*filter\' \':INPUT ACCEPT\' \':FORWARD ACCEPT\' \':OUTPUT ACCEPT\' \'COMMIT\')" ]',
  '}',
];

/** Rollback lines for one family: our chain and jump back to their saved state, then the table. */
function restoreLines(family: 4 | 6, tools: FamilyTools, chain: string, jump: string): string[] {
  const dump = `"$BACKUP_DIR/${tools.dump}"`;
  const file = `"$BACKUP_DIR/restore-${tools.suffix}.rules"`;
  return [
    `# IPv${family}: our chain as the dump saved it (the apply adds the jump only when it is missing).`,
    `if check saved_chain_exists ${dump} ${chain}; then`,
    `  write ${file} saved_chain ${dump} ${chain}`,
    `  run_from ${file} ${tools.restore} -w --noflush`,
    'else',
    '  # The apply made the chain: remove every jump to it, then the chain itself.',
    `  while check ${tools.cmd} -w -C ${jump}; do`,
    `    run ${tools.cmd} -w -D ${jump}`,
    '  done',
    `  if check ${tools.cmd} -w -n -L ${chain}; then`,
    `    run ${tools.cmd} -w -F ${chain}`,
    `    run ${tools.cmd} -w -X ${chain}`,
    '  fi',
    'fi',
    '# No filter table in the dump: the apply created it. Under iptables-nft it goes again once nothing',
    '# else is in it; a legacy kernel table stays, empty, as a fresh kernel would show it.',
    `if ! check saved_filter ${dump} && check nft_variant ${tools.cmd} && check pristine_filter ${tools.save}; then`,
    `  run nft delete table ${tools.nft} filter`,
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
    requires: families.flatMap(({ tools }) => [tools.cmd, tools.save, tools.restore]),
    files: families.map(({ tools }) => tools.dump),
    // RollbackParts has no functions slot; bash takes definitions anywhere before their first use.
    restore: [...ROLLBACK_FUNCTIONS, '', ...families.flatMap(({ family, tools }) => restoreLines(family, tools, chain, jump))],
  });
  return { backend: 'iptables', apply, rollback };
}

/** iptables (IPv4) and ip6tables (IPv6), chosen per the spec's family. */
export const iptablesBackend: FirewallBackend = {
  id: 'iptables',
  describe: 'iptables and ip6tables: one chain per port, replaced atomically with iptables-restore --noflush; rollback restores only that chain and its jump',
  build,
};
