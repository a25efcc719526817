/**
 * iptables / ip6tables backend. Each port gets its own chain (`PORTOLAN-TCP-5432`), replaced as a whole
 * by one `iptables-restore --noflush` (declaring a user chain in restore input flushes it, atomically with
 * the new rules), and jumped to from INPUT once, checked with `-C` before `-I`. So a second run adds
 * nothing, and a changed spec (another allowed source) replaces the old rules instead of piling up.
 * Rollback is `iptables-restore` of the saved `iptables-save` dump, which replaces every saved table.
 */
import { applyScript, rollbackScript, shQuote } from '../shell.js';
import type { FirewallBackend, FirewallRuleSpec, GeneratedScript } from '../types.js';
import { familiesOf, validateSpec, type ValidSpec, describeSpec } from '../validate.js';

interface FamilyTools {
  suffix: 'v4' | 'v6';
  cmd: 'iptables' | 'ip6tables';
  save: 'iptables-save' | 'ip6tables-save';
  restore: 'iptables-restore' | 'ip6tables-restore';
  dump: string;
}

const TOOLS: Record<4 | 6, FamilyTools> = {
  4: { suffix: 'v4', cmd: 'iptables', save: 'iptables-save', restore: 'iptables-restore', dump: 'iptables.rules' },
  6: { suffix: 'v6', cmd: 'ip6tables', save: 'ip6tables-save', restore: 'ip6tables-restore', dump: 'ip6tables.rules' },
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

function build(input: FirewallRuleSpec): GeneratedScript {
  const spec = validateSpec(input);
  const families = familiesOf(spec.family).map((f) => ({ family: f, tools: TOOLS[f] }));
  const chain = shQuote(iptablesChainName(spec));
  const jump = `INPUT -p ${shQuote(spec.protocol)} --dport ${shQuote(String(spec.port))} -j ${chain}`;
  const summary = describeSpec(spec, `block new ${spec.protocol} connections to port ${spec.port}`);

  const functions: string[] = [];
  const backup: string[] = [];
  const changes: string[] = [];
  for (const { family, tools } of families) {
    functions.push(`chain_${tools.suffix}() {`, "  cat <<'PORTOLAN_RULES'", ...chainRules(spec, family), 'PORTOLAN_RULES', '}');
    backup.push(`run_to "$BACKUP_DIR/${tools.dump}" ${tools.save}`);
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
    requires: families.map(({ tools }) => tools.restore),
    files: families.map(({ tools }) => tools.dump),
    restore: families.map(({ tools }) => `run_from "$BACKUP_DIR/${tools.dump}" ${tools.restore} -w`),
  });
  return { backend: 'iptables', apply, rollback };
}

/** iptables (IPv4) and ip6tables (IPv6), chosen per the spec's family. */
export const iptablesBackend: FirewallBackend = {
  id: 'iptables',
  describe: 'iptables and ip6tables: one chain per port, replaced atomically with iptables-restore --noflush',
  build,
};
