/**
 * systemd backend: `systemctl disable --now`, with a rollback that enables and starts the unit again
 * only if the saved state says it was enabled or active.
 */
import { applyScript, rollbackScript, shQuote } from '../shell.js';
import type { GeneratedScript } from '../types.js';
import { refuse } from '../validate.js';
import type { ServiceBackend } from './types.js';

/** Unit suffixes systemd knows; a name without one is taken as a `.service`. */
export const SYSTEMD_SUFFIXES = ['.service', '.socket', '.target', '.timer', '.path', '.mount', '.automount', '.swap', '.slice', '.scope', '.device'];

const SYSTEMD_RE = /^[A-Za-z0-9:_.@-]+$/;

/**
 * A systemd unit name: characters `[A-Za-z0-9:_.@-]`, at most 255 with its suffix, not starting with
 * `-` (it would read as an option) or `.`; `.service` is appended when no known suffix ends it.
 */
export function validateSystemdUnit(name: unknown): string {
  const why = 'a unit name is up to 255 characters of letters, digits and ":_.@-", not starting with "-", "." or "@"';
  if (typeof name !== 'string' || name.length === 0 || name.length > 255 || !SYSTEMD_RE.test(name) || /^[-.@]/.test(name)) {
    refuse('systemd unit', name, why);
  }
  const unit = SYSTEMD_SUFFIXES.some((s) => name.endsWith(s) && name.length > s.length) ? name : `${name}.service`;
  if (unit.length > 255) refuse('systemd unit', name, why);
  return unit;
}


function systemdScripts(unit: string, findingKey: string): GeneratedScript {
  const summary = `stop and disable ${unit}`;
  const apply = applyScript({
    backend: 'systemd',
    summary,
    findingKey,
    requires: ['systemctl'],
    functions: [
      '# Two lines: the is-enabled state, then the is-active state. Both commands exit non-zero for',
      '# "disabled" and "inactive", which are answers here, not failures.',
      'unit_state() {',
      '  local enabled active',
      '  enabled="$(systemctl is-enabled -- "$1" 2>/dev/null)" || true',
      '  active="$(systemctl is-active -- "$1" 2>/dev/null)" || true',
      "  printf '%s\\n%s\\n' \"${enabled:-unknown}\" \"${active:-unknown}\"",
      '}',
    ],
    backup: [`run_to "$BACKUP_DIR/systemd.state" unit_state ${shQuote(unit)}`],
    // disable --now on a disabled, stopped unit changes nothing: a second run is a no-op.
    changes: [`run systemctl disable --now -- ${shQuote(unit)}`],
  });
  const rollback = rollbackScript({
    backend: 'systemd',
    summary: `undo: ${summary}`,
    findingKey,
    requires: ['systemctl'],
    files: ['systemd.state'],
    restore: [
      '# "missing": no saved file (a dry run); anything unrecognised in the file changes nothing.',
      'ENABLED=missing',
      'ACTIVE=missing',
      'if [ -f "$BACKUP_DIR/systemd.state" ]; then',
      '  { read -r ENABLED || true; read -r ACTIVE || true; } <"$BACKUP_DIR/systemd.state"',
      'else',
      "  printf '? the state saved in %s decides; each step runs only if the unit was so\\n' \"$BACKUP_DIR/systemd.state\"",
      'fi',
      '# Only what disable --now changed comes back; static, masked, indirect units were left alone.',
      'case "$ENABLED" in',
      `  enabled) run systemctl enable -- ${shQuote(unit)} ;;`,
      `  enabled-runtime) run systemctl enable --runtime -- ${shQuote(unit)} ;;`,
      `  missing) printf '? if it was enabled: systemctl enable -- %s\\n' ${shQuote(unit)} ;;`,
      'esac',
      'case "$ACTIVE" in',
      `  active | reloading | activating) run systemctl start -- ${shQuote(unit)} ;;`,
      `  missing) printf '? if it was active: systemctl start -- %s\\n' ${shQuote(unit)} ;;`,
      'esac',
    ],
  });
  return { backend: 'systemd', apply, rollback };
}


/** systemd: `systemctl disable --now`, rollback by the saved is-enabled / is-active state. */
export const systemdBackend: ServiceBackend = {
  id: 'systemd',
  describe: 'systemd: systemctl disable --now; rollback enables and starts only what was so',
  build: (name, findingKey) => systemdScripts(validateSystemdUnit(name), findingKey),
};
