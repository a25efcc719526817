/**
 * Builds the apply and rollback scripts of a config patch from a backend definition. The apply
 * script, on top of the shared scaffolding in shell.ts:
 *
 * 1. finds the config file (a default pattern such as /etc/postgresql/<star>/main/postgresql.conf must
 *    match exactly one file; several default candidates are tried in order);
 * 2. stops early, changing nothing and removing its empty backup directory, when the file already has
 *    exactly the wanted lines (so a second run is a no-op and `<backend>.last` keeps pointing at the
 *    backup of the original);
 * 3. saves the file with `cp -p` plus its path into the backup directory;
 * 4. writes the patched copy into the backup directory, proves with the engine's own check that it has
 *    exactly the wanted active lines, and runs the daemon's checker on it where the daemon has one;
 * 5. copies the copy over the original with plain `cp`, which rewrites the file in place: the inode,
 *    owner, group, mode, ACLs and SELinux label stay (a `mv` would install a root-owned 0600 file from
 *    the umask-077 backup directory that e.g. the redis user cannot read, and break hard links);
 * 6. optionally checks the effective value the daemon would use (restoring the original on a
 *    mismatch), then restarts through the chosen manager.
 *
 * A dry run reads the file when it can (read-only) and shows the change as a diff.
 */
import { applyScript, rollbackScript, shQuote } from '../shell.js';
import { validateFindingKey } from '../validate.js';
import { isPattern, shPath, validateConfigPath, validateListen, validateRestart, type ListenAddress, type ValidRestart } from './common.js';
import { confAwkFunction, type AwkDialect } from './engine.js';
import type { ConfigBackend, ConfigPatchScripts, ConfigPatchSpec } from './types.js';

/** What a backend's hooks see: everything validated. */
export interface PatchContext {
  /** The directive lines the file should end up with. */
  want: string[];
  listen: ListenAddress[];
  /** True when the spec gave no listen list (the backend's default applies). */
  defaultListen: boolean;
  restart: ValidRestart;
}

/** One config backend, described as data plus hooks that return bash lines. */
export interface ConfigBackendDef {
  id: string;
  label: string;
  services: readonly string[];
  /** Candidate paths tried in order when the spec gives none; a component may be `*`. The first is `defaultPath`. */
  defaultPaths: readonly string[];
  defaultUnit: string;
  describe: string;
  /** The directive name, for messages (`bind`, `listen_addresses`). */
  directive: string;
  /** Listen addresses when the spec has none. */
  defaultListen: readonly string[];
  /** The wanted directive lines for the validated addresses. */
  want(listen: ListenAddress[], defaultListen: boolean): string[];
  dialect: AwkDialect;
  /** Commands --apply needs besides awk, cp and cmp. */
  requires?: readonly string[];
  /** Extra bash functions. */
  functions?: (ctx: PatchContext) => string[];
  /** Checks on "$NEW" before it is installed; on failure they die and the original is untouched. */
  preInstall?: (ctx: PatchContext) => string[];
  /** Checks after the install; on failure they call restore_conf before dying. */
  postInstall?: (ctx: PatchContext) => string[];
  /** Lines right before the restart (warnings). */
  beforeRestart?: (ctx: PatchContext) => string[];
  /** A short typical excerpt before the change, and what the script makes of it. */
  excerpt(want: string[]): { before: string[]; after: string[] };
}

/** Bash lines that restart the service (or say that it must be restarted). */
export function restartLines(r: ValidRestart): string[] {
  if (r.manager === 'systemd') return [`run systemctl restart -- ${shQuote(r.name)}`];
  if (r.manager === 'sysv') return [`run service ${shQuote(r.name)} restart`];
  return [`printf 'portolan: not restarted (restart manager none): restart %s for the change to take effect\\n' ${shQuote(r.name)}`];
}

function managerRequires(r: ValidRestart): string[] {
  if (r.manager === 'systemd') return ['systemctl'];
  if (r.manager === 'sysv') return ['service'];
  return [];
}

/** `find_conf`: sets CONF to the first candidate that exists; a pattern must match exactly one file. */
function findConfFunction(candidates: readonly string[]): string[] {
  const body = candidates.flatMap((c) =>
    isPattern(c)
      ? [
          '  shopt -s nullglob',
          `  found=(${shPath(c, 'glob')})`,
          '  shopt -u nullglob',
          '  if [ "${#found[@]}" -gt 1 ]; then die "several files match the default pattern: ${found[*]}; give the path of the one to patch"; fi',
          '  if [ "${#found[@]}" -eq 1 ] && [ -f "${found[0]}" ]; then',
          '    CONF="${found[0]}"',
          '    return 0',
          '  fi',
        ]
      : [`  if [ -f ${shQuote(c)} ]; then`, `    CONF=${shQuote(c)}`, '    return 0', '  fi'],
  );
  return [
    '# Sets CONF to the config file: the first candidate that exists (a regular file, so never a device).',
    'find_conf() {',
    ...(candidates.some(isPattern) ? ['  local -a found'] : []),
    ...body,
    '  return 1',
    '}',
  ];
}

const SHARED_FUNCTIONS = [
  '# 0: FILE already has exactly the wanted lines; 1: it needs the change; anything else stops.',
  'in_place() {',
  '  local rc=0',
  '  conf_awk check "$1" || rc=$?',
  '  case "$rc" in',
  '    0 | 1) return "$rc" ;;',
  '    *) die "could not read $1" ;;',
  '  esac',
  '}',
  '',
  '# A read-only check that must pass before the file is replaced; a dry run only prints it.',
  'verify() {',
  "  printf '+'",
  "  printf ' %q' \"$@\"",
  "  printf '\\n'",
  '  if [ "$APPLY" -eq 1 ]; then "$@" || die "check failed: $*; $CONF is unchanged"; fi',
  '}',
  '',
  '# Copy the saved original back in place (same inode, owner, mode and times) and prove it.',
  'restore_conf() {',
  '  run cp -p -- "$BACKUP_DIR/config.orig" "$CONF"',
  '  run cmp -- "$BACKUP_DIR/config.orig" "$CONF"',
  '}',
];

/** Validate the spec and write both scripts. */
export function buildConfigScripts(def: ConfigBackendDef, spec: ConfigPatchSpec): ConfigPatchScripts {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('a config patch spec must be an object');
  const findingKey = validateFindingKey(spec.findingKey);
  const candidates = spec.path === undefined ? def.defaultPaths.map((p) => validateConfigPath(p, true)) : [validateConfigPath(spec.path)];
  const listen = validateListen(spec.listen, def.defaultListen);
  const restart = validateRestart(spec.restart, def.defaultUnit);
  const ctx: PatchContext = { want: def.want(listen, spec.listen === undefined), listen, defaultListen: spec.listen === undefined, restart };
  const shown = candidates[0]!;
  const where = candidates.join(' or ');
  const summary = `${def.label}: ${ctx.want.join('; ')} in ${where}`;
  const requires = ['awk', 'cp', 'cmp', ...managerRequires(restart), ...(def.requires ?? [])];

  const apply = applyScript({
    backend: def.id,
    summary,
    findingKey,
    requires,
    functions: [...confAwkFunction(def.dialect, ctx.want), '', ...findConfFunction(candidates), '', ...SHARED_FUNCTIONS, ...(def.functions ? ['', ...def.functions(ctx)] : [])],
    backup: [
      "CONF=''",
      `CANDIDATES=(${candidates.map((c) => shPath(c, 'literal')).join(' ')})`,
      'if ! find_conf; then',
      '  [ "$APPLY" -eq 0 ] || die "no config file at ${CANDIDATES[*]}; give its path"',
      '  CONF="${CANDIDATES[0]}"',
      "  printf '? %s is not on this host (or not visible to this user); the commands show what --apply does where it is\\n' \"$CONF\"",
      'fi',
      'NEW="$BACKUP_DIR/config.new"',
      'READABLE=0',
      'if [ -r "$CONF" ]; then READABLE=1; fi',
      'if [ "$READABLE" -eq 1 ] && in_place "$CONF"; then',
      '  echo "portolan: $CONF already has exactly these lines; nothing to change:"',
      "  conf_awk want | sed 's/^/    /'",
      '  run rmdir -- "$BACKUP_DIR"',
      '  exit 0',
      'fi',
      'if [ "$READABLE" -eq 0 ]; then',
      "  printf '? %s is not readable here; --apply changes nothing if it already has only:\\n' \"$CONF\"",
      "  conf_awk want | sed 's/^/    /'",
      'fi',
      'run cp -p -- "$CONF" "$BACKUP_DIR/config.orig"',
      `run_to "$BACKUP_DIR/config.path" printf '%s\\n' "$CONF"`,
    ],
    changes: [
      `printf '+ conf_awk write %q > %q\\n' "$CONF" "$NEW"`,
      'if [ "$APPLY" -eq 1 ]; then',
      '  conf_awk write "$CONF" >"$NEW"',
      '  in_place "$NEW" || die "the patched copy $NEW does not end up with exactly the wanted lines; $CONF is unchanged"',
      'elif [ "$READABLE" -eq 1 ]; then',
      `  { diff -u --label "$CONF" --label "$CONF (patched)" -- "$CONF" <(conf_awk write "$CONF") || true; } | sed 's/^/|   /'`,
      'else',
      `  printf '? active ${def.directive} lines get commented out ("# portolan: ") and the lines above are added once\\n'`,
      'fi',
      ...(def.preInstall ? def.preInstall(ctx) : []),
      '# cp, not mv: rewriting in place keeps the inode, owner, mode, ACLs and SELinux label.',
      'run cp -- "$NEW" "$CONF"',
      'run cmp -- "$NEW" "$CONF"',
      ...(def.postInstall ? def.postInstall(ctx) : []),
      ...(def.beforeRestart ? def.beforeRestart(ctx) : []),
      ...restartLines(restart),
    ],
  });

  const allowed = candidates.map((c) => shPath(c, 'glob')).join(' | ');
  const rollback = rollbackScript({
    backend: def.id,
    summary: `undo: ${summary}`,
    findingKey,
    requires: ['cp', 'cmp', ...managerRequires(restart)],
    files: ['config.orig', 'config.path'],
    restore: [
      "CONF=''",
      'if [ -f "$BACKUP_DIR/config.path" ]; then IFS= read -r CONF <"$BACKUP_DIR/config.path" || true; fi',
      '# The saved path must be one this script patches: the same safe alphabet, no "..", a known location.',
      'if [ -n "$CONF" ]; then',
      '  case "$CONF" in',
      '    *[!A-Za-z0-9_./+@-]* | */../* | */./* | *//*) die "refusing to restore over $CONF: not a path this script patches" ;;',
      `    ${allowed}) ;;`,
      '    *) die "refusing to restore over $CONF: not a path this script patches" ;;',
      '  esac',
      'else',
      '  [ "$APPLY" -eq 0 ] || die "$BACKUP_DIR/config.path names no file"',
      `  CONF=${shPath(shown, 'literal')}`,
      "  printf '? the path saved in %s decides; by default %s\\n' \"$BACKUP_DIR/config.path\" \"$CONF\"",
      'fi',
      '# Edits made after the apply (the file is neither the original nor what apply wrote) are kept.',
      'if [ "$APPLY" -eq 1 ] && [ -f "$CONF" ] && ! cmp -s -- "$BACKUP_DIR/config.orig" "$CONF" && ! cmp -s -- "$BACKUP_DIR/config.new" "$CONF"; then',
      '  run cp -p -- "$CONF" "$BACKUP_DIR/config.replaced-$(date +%Y%m%dT%H%M%S)"',
      'fi',
      'run cp -p -- "$BACKUP_DIR/config.orig" "$CONF"',
      'run cmp -- "$BACKUP_DIR/config.orig" "$CONF"',
      ...restartLines(restart),
    ],
  });

  const excerpt = def.excerpt(ctx.want);
  return { backend: def.id, apply, rollback, path: shown, before: `${excerpt.before.join('\n')}\n`, after: `${excerpt.after.join('\n')}\n` };
}

/** The public backend object for a definition. */
export function configBackendOf(def: ConfigBackendDef): ConfigBackend {
  return {
    id: def.id,
    label: def.label,
    services: def.services,
    defaultPath: def.defaultPaths[0]!,
    defaultUnit: def.defaultUnit,
    describe: def.describe,
    build: (spec) => buildConfigScripts(def, spec),
  };
}
