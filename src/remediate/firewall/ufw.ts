/**
 * ufw backend. ufw keeps its rules in /etc/ufw/user.rules and user6.rules; the apply script copies
 * those and ufw.conf into the backup directory (plus `ufw status numbered`, for the record only), then
 * adds the rules with ufw itself. ufw skips a rule it already has ("Skipping adding existing rule"), so
 * a second run adds nothing; each rule is commented `portolan:<key>` so an operator can trace it.
 *
 * Order matters: ufw takes the first matching rule, and a port that is exposed usually already has an
 * `ufw allow PORT` rule, which an appended deny would never beat. So the deny is *prepended* (ufw
 * 0.36+), and in allowlist mode each allow is prepended after it, which puts the allows above the deny.
 * If someone later deletes only the deny, a rerun puts it above the allows: that fails closed.
 *
 * Families: a rule `to any` covers IPv4 and IPv6 (when ufw.conf has IPV6=yes); `to 0.0.0.0/0` or
 * `to ::/0` restricts it to one; a `from CIDR` already implies its family. Rollback copies the three
 * saved files back and runs `ufw reload`, which reloads exactly those rules.
 */
import { applyScript, rollbackScript, shQuote } from '../shell.js';
import type { FirewallBackend, FirewallRuleSpec, GeneratedScript } from '../types.js';
import { validateSpec, type ValidSpec, describeSpec } from '../validate.js';

/** The files ufw keeps its configuration and user rules in; each is saved under its base name. */
export const UFW_FILES: readonly string[] = ['/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/ufw/ufw.conf'];

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The destination that gives a rule the spec's family. */
function destination(family: 4 | 6 | 'both'): string {
  return family === 4 ? '0.0.0.0/0' : family === 6 ? '::/0' : 'any';
}

/**
 * The ufw argument lists, in the order they are prepended: the deny first, then one allow per
 * source. Every element is validated text, quoted by the caller.
 */
export function ufwRules(spec: ValidSpec): string[][] {
  const on = spec.iface === undefined ? [] : ['on', spec.iface];
  const comment = ['comment', `portolan:${spec.findingKey}`];
  const port = ['port', String(spec.port)];
  const rules = [['prepend', 'deny', 'in', ...on, 'proto', spec.protocol, 'to', destination(spec.family), ...port, ...comment]];
  for (const cidr of spec.allowFrom) {
    rules.push(['prepend', 'allow', 'in', ...on, 'proto', spec.protocol, 'from', cidr.text, 'to', 'any', ...port, ...comment]);
  }
  return rules;
}

function build(input: FirewallRuleSpec): GeneratedScript {
  const spec = validateSpec(input);
  const summary = describeSpec(spec, `deny ${spec.protocol} connections to port ${spec.port}`);
  const rules = ufwRules(spec).map((args) => args.map(shQuote).join(' '));
  const files = UFW_FILES.map(baseName);
  const apply = applyScript({
    backend: 'ufw',
    summary,
    findingKey: spec.findingKey,
    requires: ['ufw', 'cp'],
    functions: [],
    backup: [
      // -p keeps owner and mode, so the rollback copy puts back the very same files.
      ...UFW_FILES.map((f) => `run cp -p ${shQuote(f)} "$BACKUP_DIR/${baseName(f)}"`),
      '# For the record only; the rollback restores the files above.',
      'run_to "$BACKUP_DIR/ufw-status.txt" ufw status numbered',
    ],
    changes: [
      '# ufw skips a rule it already has, so a second run adds nothing. The deny goes first and each',
      '# allow is prepended after it, so the allows end up above the deny and above older allow rules.',
      ...rules.map((r) => `run ufw ${r}`),
      '# What ufw now holds from us, as it reads the rules back.',
      'run ufw show added',
      // Only with --apply: a dry run must not run ufw. No pipe into grep -q: under pipefail an early
      // exit of grep could fail the pipeline and warn about an active firewall.
      'if [ "$APPLY" -eq 1 ]; then',
      '  case "$(ufw status)" in',
      "    'Status: active'*) ;;",
      '    *) echo "portolan: warning: ufw is inactive; the rules are saved but enforce nothing until \'ufw enable\'" >&2 ;;',
      '  esac',
      'fi',
    ],
  });
  const rollback = rollbackScript({
    backend: 'ufw',
    summary: `undo: ${summary}`,
    findingKey: spec.findingKey,
    requires: ['ufw', 'cp'],
    files,
    restore: [
      ...UFW_FILES.map((f) => `run cp -p "$BACKUP_DIR/${baseName(f)}" ${shQuote(f)}`),
      '# ufw reload applies exactly the restored files (and does nothing while ufw is disabled).',
      'run ufw reload',
    ],
  });
  return { backend: 'ufw', apply, rollback };
}

/** ufw: prepended deny (and allow) rules commented `portolan:<key>`, restored from the saved rule files. */
export const ufwBackend: FirewallBackend = {
  id: 'ufw',
  describe: 'ufw: a prepended deny rule per port (allows above it), commented portolan:<key>; idempotent by ufw itself',
  build,
};
