/**
 * firewalld backend. Rules are rich rules in the default zone, written with `--permanent` and made
 * live by `--reload`, so runtime and permanent configuration never disagree. Each rule is added only
 * when `--query-rich-rule` says it is absent, so a second run adds nothing.
 *
 * Order matters: firewalld puts plain rich rules in deny-before-allow chains, so an accept for an
 * allowed source would never beat a reject for everyone. Rules with a negative `priority` (firewalld
 * 0.9+) run first, lowest first: accepts get -2, the reject -1, and a service or port the zone
 * already opens (priority 0) comes after both. Block mode uses the same reject rule, so switching a
 * port from block to allowlist reuses it.
 *
 * Rich rules have no comment field, so the finding key lives in the script header and backup only.
 * Interfaces are bound to zones in firewalld, not matched by rules: a spec with an interface is refused
 * rather than silently widened to the whole zone.
 *
 * Backup: a copy of /etc/firewalld/zones (the permanent zone files) and `firewall-cmd --list-all-zones`
 * for the record. Rollback moves the current zones directory aside (kept in the backup directory),
 * copies the saved one back, and reloads, which makes both runtime and permanent state the saved one.
 */
import { UsageError, quoteToken } from '../../core/errors.js';
import { applyScript, rollbackScript, shQuote } from '../shell.js';
import type { FirewallBackend, FirewallRuleSpec, GeneratedScript } from '../types.js';
import { E_REMEDIATE, familiesOf, validateSpec, type ValidSpec, describeSpec } from '../validate.js';

/** Where firewalld keeps the permanent zone files an administrator (or `--permanent`) changed. */
export const FIREWALLD_ZONES = '/etc/firewalld/zones';

/** Rich rule text is built from validated values only; it holds nothing outside this alphabet. */
const RICH_RE = /^[A-Za-z0-9 "=./:-]+$/;

/** Single-quote a rich rule for bash, after checking it holds only what the builder can produce. */
function quoteRich(rule: string): string {
  if (!RICH_RE.test(rule)) throw new Error(`refusing to embed an unvalidated rich rule: ${JSON.stringify(rule.slice(0, 60))}`);
  return `'${rule}'`;
}

/** The rich rules for a spec, in the order they are added: accepts per source, then a reject per family. */
export function firewalldRichRules(spec: ValidSpec): string[] {
  const port = `port port="${spec.port}" protocol="${spec.protocol}"`;
  const rules = spec.allowFrom.map(
    (c) => `rule family="ipv${c.family}" priority="-2" source address="${c.text}" ${port} accept`,
  );
  for (const family of familiesOf(spec.family)) rules.push(`rule family="ipv${family}" priority="-1" ${port} reject`);
  return rules;
}

function build(input: FirewallRuleSpec): GeneratedScript {
  const spec = validateSpec(input);
  if (spec.iface !== undefined) {
    throw new UsageError(
      E_REMEDIATE,
      `bad interface ${quoteToken(spec.iface)}: firewalld matches interfaces by zone, not by rule; bind the interface to a zone and leave the interface out`,
      { token: spec.iface },
    );
  }
  const summary = describeSpec(spec, `reject ${spec.protocol} connections to port ${spec.port}`, ' in the default zone');
  const zones = shQuote(FIREWALLD_ZONES);
  const changes = ['# Each rule is added only if the permanent configuration lacks it, so a second run adds nothing.'];
  for (const rule of firewalldRichRules(spec).map(quoteRich)) {
    changes.push(
      `if ! check firewall-cmd --permanent --query-rich-rule=${rule}; then`,
      `  run firewall-cmd --permanent --add-rich-rule=${rule}`,
      'fi',
    );
  }
  changes.push('# Make the permanent configuration the running one.', 'run firewall-cmd --reload');
  const apply = applyScript({
    backend: 'firewalld',
    summary,
    findingKey: spec.findingKey,
    requires: ['firewall-cmd', 'cp'],
    functions: [],
    backup: [
      // -a keeps owners, modes and SELinux labels, so the rollback copy is the very same files.
      `run cp -a ${zones} "$BACKUP_DIR/zones"`,
      '# For the record only; the rollback restores the zone files above.',
      'run_to "$BACKUP_DIR/firewalld-zones.txt" firewall-cmd --list-all-zones',
    ],
    changes,
  });
  const rollback = rollbackScript({
    backend: 'firewalld',
    summary: `undo: ${summary}`,
    findingKey: spec.findingKey,
    requires: ['firewall-cmd', 'cp', 'mv'],
    files: ['firewalld-zones.txt'],
    restore: [
      'if [ "$APPLY" -eq 1 ]; then',
      '  [ -d "$BACKUP_DIR/zones" ] || die "$BACKUP_DIR/zones is missing; give the directory the apply script printed"',
      '  [ ! -e "$BACKUP_DIR/zones.replaced" ] || die "$BACKUP_DIR/zones.replaced exists; this backup was already restored once"',
      'fi',
      '# The current zone files are moved aside, not deleted: a rollback loses nothing either.',
      `run mv ${zones} "$BACKUP_DIR/zones.replaced"`,
      `run cp -a "$BACKUP_DIR/zones" ${zones}`,
      'run firewall-cmd --reload',
    ],
  });
  return { backend: 'firewalld', apply, rollback };
}

/** firewalld: prioritised rich rules in the default zone, `--permanent` then `--reload`. */
export const firewalldBackend: FirewallBackend = {
  id: 'firewalld',
  describe: 'firewalld: rich rules in the default zone (accepts at priority -2, reject at -1), permanent then reloaded',
  build,
};
