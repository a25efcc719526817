/**
 * Shared bash scaffolding for generated scripts: strict mode, dry run by default (`--apply` to act),
 * root check before acting, a timestamped backup directory made with umask 077 before any change, and
 * a rollback script that restores exactly that backup. Pure string building; the timestamp is a shell
 * expression evaluated when the script runs, so the same spec always yields the same text.
 */

/** Characters a value may contain to be embedded in a script (validated values are far narrower). */
const SAFE_RE = /^[A-Za-z0-9_.:/,=+@%-]*$/;

/**
 * Single-quote a value for bash. The value must already be validated: anything outside a small safe
 * alphabet is a program error, because quoting is the second line of defence here, never the first.
 */
export function shQuote(value: string): string {
  if (!SAFE_RE.test(value)) throw new Error(`refusing to embed an unvalidated value in a script: ${JSON.stringify(value.slice(0, 40))}`);
  return `'${value}'`;
}

/** Where every backend keeps its backups; one subdirectory per run. */
export const BACKUP_ROOT = '/var/backups/portolan';

/** The environment variable that moves the backup root (tests, hosts with another backup volume). */
export const BACKUP_ROOT_ENV = 'PORTOLAN_BACKUP_ROOT';

const BACKUP_ROOT_LINE = `BACKUP_ROOT="\${${BACKUP_ROOT_ENV}:-${BACKUP_ROOT}}"`;

const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
const PRINTABLE_RE = /^[\x20-\x7e]*$/;

function assertName(what: string, value: string): void {
  if (!NAME_RE.test(value)) throw new Error(`bad ${what} for a script: ${JSON.stringify(value)}`);
}

function assertPrintable(what: string, value: string): void {
  if (!PRINTABLE_RE.test(value)) throw new Error(`bad ${what} for a script comment: ${JSON.stringify(value.slice(0, 40))}`);
}

/** What a backend contributes to an apply script. */
export interface ApplyParts {
  /** Backend id; names the backup directory (`<root>/<backend>-<timestamp>-<pid>`). */
  backend: string;
  /** One line for the header comment (printable ASCII, built from validated values). */
  summary: string;
  /** Validated finding key, for the header. */
  findingKey: string;
  /** Commands that must exist before `--apply` runs anything. */
  requires: string[];
  /** Extra shell functions (complete lines), defined before anything runs. */
  functions: string[];
  /** Lines that save the current state into "$BACKUP_DIR" (through `run_to`). */
  backup: string[];
  /** Lines that make the change (through `run`, `run_to`, `check`). */
  changes: string[];
}

/** What a backend contributes to a rollback script. */
export interface RollbackParts {
  backend: string;
  summary: string;
  findingKey: string;
  requires: string[];
  /** Files the apply script saved; all must be present in the backup directory before restoring. */
  files: string[];
  /** Lines that restore the saved state from "$BACKUP_DIR". */
  restore: string[];
}

/** Printing and acting helpers shared by apply and rollback scripts. */
const HELPERS = [
  '# Print each command as the shell reads it; run it only with --apply.',
  'run() {',
  "  printf '+'",
  "  printf ' %q' \"$@\"",
  "  printf '\\n'",
  '  if [ "$APPLY" -eq 1 ]; then "$@"; fi',
  '}',
  '',
  '# Like run, with standard output sent to the file given first.',
  'run_to() {',
  '  local out="$1"',
  '  shift',
  "  printf '+'",
  "  printf ' %q' \"$@\"",
  "  printf ' > %q\\n' \"$out\"",
  '  if [ "$APPLY" -eq 1 ]; then "$@" >"$out"; fi',
  '}',
  '',
  '# Like run, with standard input read from the file given first.',
  'run_from() {',
  '  local in="$1"',
  '  shift',
  "  printf '+'",
  "  printf ' %q' \"$@\"",
  "  printf ' < %q\\n' \"$in\"",
  '  if [ "$APPLY" -eq 1 ]; then "$@" <"$in"; fi',
  '}',
  '',
  '# Write what a generator function prints to the file given first; a dry run shows the text instead.',
  'write() {',
  '  local out="$1"',
  '  shift',
  "  printf '+ %s > %q\\n' \"$*\" \"$out\"",
  '  if [ "$APPLY" -eq 1 ]; then "$@" >"$out"; else "$@" | sed \'s/^/|   /\'; fi',
  '}',
  '',
  '# A read-only probe. A dry run probes nothing and reports "absent", so it shows every change a',
  '# fresh host would get; with --apply the probe runs and its exit status decides.',
  'check() {',
  '  if [ "$APPLY" -eq 1 ]; then',
  '    "$@" >/dev/null 2>&1',
  '  else',
  "    printf '? %s\\n' \"$*\"",
  '    return 1',
  '  fi',
  '}',
  '',
  'die() {',
  "  printf 'portolan: %s\\n' \"$*\" >&2",
  '  exit 1',
  '}',
];

const COMMAND_RE = /^[a-z0-9][a-z0-9.-]*$/;

function preflight(requires: string[]): string[] {
  for (const cmd of requires) {
    if (!COMMAND_RE.test(cmd)) throw new Error(`bad command for a script: ${JSON.stringify(cmd)}`);
  }
  return [
    'if [ "$APPLY" -eq 1 ]; then',
    '  [ "$(id -u)" -eq 0 ] || die "--apply needs root; run it with sudo"',
    ...requires.map((cmd) => `  command -v ${cmd} >/dev/null 2>&1 || die '${cmd} is not installed'`),
    'fi',
  ];
}

function header(kind: 'apply' | 'rollback', backend: string, summary: string, findingKey: string): string[] {
  assertName('backend', backend);
  assertPrintable('summary', summary);
  assertPrintable('finding key', findingKey);
  return [
    '#!/usr/bin/env bash',
    `# portolan ${kind} (${backend}): ${summary}`,
    `# finding: ${findingKey}`,
    '# Generated by portolan. Dry run by default: prints every command and changes nothing.',
    'set -euo pipefail',
    'umask 077',
    '',
  ];
}

/** Sets ME to the script's file name, for messages; `fallback` when it runs from a pipe (`bash -s`). */
function selfName(fallback: string): string[] {
  return ['ME="${0##*/}"', 'case "$ME" in', '  *.sh) ;;', `  *) ME='${fallback}' ;;`, 'esac', ''];
}

/** The full apply script for a backend's parts. */
export function applyScript(p: ApplyParts): string {
  const lines = [
    ...header('apply', p.backend, p.summary, p.findingKey),
    ...selfName('apply.sh'),
    'usage() {',
    '  cat <<USAGE',
    'usage: $ME [--apply]',
    '  (no option)  dry run: print every command, change nothing',
    '  --apply      save the current state to a backup directory, then change it (needs root)',
    'USAGE',
    '}',
    '',
    'APPLY=0',
    'if [ "$#" -gt 1 ]; then usage >&2; exit 2; fi',
    'case "${1-}" in',
    "  '') ;;",
    '  --apply) APPLY=1 ;;',
    '  -h | --help) usage; exit 0 ;;',
    '  *) usage >&2; exit 2 ;;',
    'esac',
    '',
    ...HELPERS,
    ...(p.functions.length > 0 ? ['', ...p.functions] : []),
    '',
    ...preflight(p.requires),
    '',
    BACKUP_ROOT_LINE,
    `BACKUP_DIR="$BACKUP_ROOT/${p.backend}-$(date +%Y%m%dT%H%M%S)-$$"`,
    'run mkdir -p "$BACKUP_ROOT"',
    '# Without -p: a clash with an existing backup stops the script instead of mixing two states.',
    'run mkdir "$BACKUP_DIR"',
    ...p.backup,
    `run_to "$BACKUP_ROOT/${p.backend}.last" printf '%s\\n' "$BACKUP_DIR"`,
    // Single quotes on purpose: the trap expands BACKUP_DIR when it fires.
    '# The rollback script beside this one: apply-X.sh pairs with rollback-X.sh.',
    'case "$ME" in',
    '  apply-*) ROLLBACK="${0%"$ME"}rollback-${ME#apply-}" ;;',
    "  *) ROLLBACK='rollback.sh' ;;",
    'esac',
    'trap \'echo "portolan: failed; restore with: bash $ROLLBACK --apply $BACKUP_DIR" >&2\' ERR',
    '',
    ...p.changes,
    '',
    'trap - ERR',
    'if [ "$APPLY" -eq 1 ]; then',
    '  echo "portolan: done; saved state in $BACKUP_DIR"',
    '  echo "portolan: undo with: bash $ROLLBACK --apply $BACKUP_DIR"',
    'else',
    "  echo 'portolan: dry run, nothing changed; pass --apply to act'",
    'fi',
  ];
  return `${lines.join('\n')}\n`;
}

/** The full rollback script: restores the backup directory given as its argument (or the last one). */
export function rollbackScript(p: RollbackParts): string {
  for (const f of p.files) assertName('backup file', f.replace(/\./g, '-'));
  const lines = [
    ...header('rollback', p.backend, p.summary, p.findingKey),
    ...selfName('rollback.sh'),
    'usage() {',
    '  cat <<USAGE',
    'usage: $ME [--apply] [BACKUP_DIR]',
    '  BACKUP_DIR   the directory the apply script printed (default: the last one it recorded)',
    '  --apply      restore exactly that saved state (needs root); without it, only print',
    'USAGE',
    '}',
    '',
    'APPLY=0',
    "BACKUP_DIR=''",
    'for arg in "$@"; do',
    '  case "$arg" in',
    '    --apply) APPLY=1 ;;',
    '    -h | --help) usage; exit 0 ;;',
    '    -*) usage >&2; exit 2 ;;',
    '    *)',
    '      if [ -n "$BACKUP_DIR" ]; then usage >&2; exit 2; fi',
    '      BACKUP_DIR="$arg"',
    '      ;;',
    '  esac',
    'done',
    '',
    ...HELPERS,
    '',
    ...preflight(p.requires),
    '',
    BACKUP_ROOT_LINE,
    `LAST="$BACKUP_ROOT/${p.backend}.last"`,
    'if [ -z "$BACKUP_DIR" ] && [ -r "$LAST" ]; then BACKUP_DIR="$(cat "$LAST")"; fi',
    '[ -n "$BACKUP_DIR" ] || { usage >&2; exit 2; }',
    'if [ "$APPLY" -eq 1 ]; then',
    ...p.files.map((f) => `  [ -f "$BACKUP_DIR/${f}" ] || die "$BACKUP_DIR/${f} is missing; give the directory the apply script printed"`),
    'fi',
    '',
    ...p.restore,
    '',
    'if [ "$APPLY" -eq 1 ]; then',
    '  echo "portolan: restored the state saved in $BACKUP_DIR"',
    'else',
    "  echo 'portolan: dry run, nothing changed; pass --apply to act'",
    'fi',
  ];
  return `${lines.join('\n')}\n`;
}
