/**
 * SysV init backend: `service NAME stop` and `update-rc.d NAME disable`, with a rollback that enables
 * and starts the service again only if the saved state says it was enabled or running.
 */
import { applyScript, rollbackScript, shQuote } from '../shell.js';
import type { GeneratedScript } from '../types.js';
import { refuse } from '../validate.js';
import type { ServiceBackend } from './types.js';

const SYSV_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** An /etc/init.d script name: 1–64 characters of `[A-Za-z0-9_.-]`, starting with a letter, digit or `_`. */
export function validateSysvName(name: unknown): string {
  if (typeof name !== 'string' || !SYSV_RE.test(name)) {
    refuse('SysV service', name, 'an init script name is 1-64 characters of letters, digits and "_.-", starting with a letter, digit or "_"');
  }
  return name;
}


function sysvScripts(name: string, findingKey: string): GeneratedScript {
  const summary = `stop and disable the SysV service ${name}`;
  const apply = applyScript({
    backend: 'sysv',
    summary,
    findingKey,
    requires: ['service', 'update-rc.d'],
    functions: [
      '# Two lines: "enabled" if a start link exists in runlevels 2-5, then "running" if status says so',
      '# (LSB status exits 0 only for a running service).',
      'sysv_state() {',
      '  if compgen -G "/etc/rc[2345].d/S[0-9][0-9]$1" >/dev/null; then echo enabled; else echo disabled; fi',
      '  if service "$1" status >/dev/null 2>&1; then echo running; else echo stopped; fi',
      '}',
    ],
    backup: [`run_to "$BACKUP_DIR/sysv.state" sysv_state ${shQuote(name)}`],
    // LSB: stop on a stopped service succeeds; disable on a disabled one keeps its K links.
    changes: [`run service ${shQuote(name)} stop`, `run update-rc.d ${shQuote(name)} disable`],
  });
  const rollback = rollbackScript({
    backend: 'sysv',
    summary: `undo: ${summary}`,
    findingKey,
    requires: ['service', 'update-rc.d'],
    files: ['sysv.state'],
    restore: [
      '# "missing": no saved file (a dry run); anything unrecognised in the file changes nothing.',
      'ENABLED=missing',
      'RUNNING=missing',
      'if [ -f "$BACKUP_DIR/sysv.state" ]; then',
      '  { read -r ENABLED || true; read -r RUNNING || true; } <"$BACKUP_DIR/sysv.state"',
      'else',
      "  printf '? the state saved in %s decides; each step runs only if the service was so\\n' \"$BACKUP_DIR/sysv.state\"",
      'fi',
      'case "$ENABLED" in',
      `  enabled) run update-rc.d ${shQuote(name)} enable ;;`,
      `  missing) printf '? if it was enabled: update-rc.d %s enable\\n' ${shQuote(name)} ;;`,
      'esac',
      'case "$RUNNING" in',
      `  running) run service ${shQuote(name)} start ;;`,
      `  missing) printf '? if it was running: service %s start\\n' ${shQuote(name)} ;;`,
      'esac',
    ],
  });
  return { backend: 'sysv', apply, rollback };
}


/** SysV init: service stop + update-rc.d disable, rollback by the saved state. */
export const sysvBackend: ServiceBackend = {
  id: 'sysv',
  describe: 'SysV init: service stop and update-rc.d disable; rollback enables and starts only what was so',
  build: (name, findingKey) => sysvScripts(validateSysvName(name), findingKey),
};
