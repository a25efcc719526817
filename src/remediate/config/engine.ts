/**
 * The patch engine every config backend shares: one awk program, generated from a small per-format
 * dialect, that finds the active directive lines, comments them out with a `# portolan: ` marker and
 * adds the wanted lines once. POSIX awk only (Debian's default awk is mawk; gawk works the same).
 *
 * Modes (awk variable `mode`):
 * - `check` (file read once): exit 0 when the file's active directive lines are exactly the wanted
 *   lines, in order (blank-, case- and, where the format has them, trailing-comment-insensitive);
 *   exit 1 when the file needs the change. Another status means awk could not read the file.
 * - `write` (file read twice: pass 1 finds the lines, pass 2 prints): the patched file on stdout.
 * - `want`: print the wanted lines and stop (for messages, so their text lives in one place).
 *
 * Where the new lines go: after the last active directive line; with none, after the last commented
 * default (`#listen_addresses = ...`); with neither, the dialect's fallback (before the first `Match`
 * for sshd, after the `[mysqld]` header for MySQL) or the end of the file.
 */
import { awkString } from './common.js';

/** How one config format spells its directive, as awk code over the current line. */
export interface AwkDialect {
  /**
   * Statements run at the first line of each pass to reset the scope state. Per line the program
   * has set `line` ($0 without CR), `t` (`line` without leading blanks), `lt` (`t` lowercased), `w0`
   * (the first word of `t`, cut at a blank or `=`) and `w` (`w0` lowercased).
   */
  init: string[];
  /** Statements run for each line that set `live` (1: directives here count) and may set `fb` once. */
  scope: string[];
  /** awk expression: the current line is an active directive line. */
  active: string;
  /** awk expression: the current line is a commented-out example of the directive. */
  anchor: string;
  /** The format allows `# comment` after a value (PostgreSQL, MySQL, the memcached wrapper). */
  stripComment: boolean;
  /** With no active or commented directive: `before` line `fb`, `after` line `fb`, or at the end. */
  fallback: 'eof' | 'before' | 'after';
  /** A line printed before the wanted lines when they go at the end of the file (`[mysqld]`). */
  eofHeader?: string;
}

/** The plain dialect: the whole file is one scope, new lines go at the end as a last resort. */
export function plainDialect(active: string, anchor: string, stripComment: boolean): AwkDialect {
  return { init: ['  live = 1'], scope: [], active, anchor, stripComment, fallback: 'eof' };
}

function fallbackExpr(d: AwkDialect): string {
  if (d.fallback === 'before') return '(fb ? fb - 1 : -1)';
  if (d.fallback === 'after') return '(fb ? fb : -1)';
  return '-1';
}

/** The awk program for a dialect and the wanted lines (no single quote anywhere: it sits in '...'). */
export function awkProgram(d: AwkDialect, want: readonly string[]): string[] {
  if (want.length === 0) throw new Error('a config patch needs at least one wanted line');
  const program = [
    'function norm(s) {',
    '  sub(/\\r$/, "", s)',
    ...(d.stripComment ? ['  sub(/[ \\t]*#.*$/, "", s)'] : []),
    '  gsub(/[ \\t]+/, " ", s)',
    '  sub(/^ /, "", s)',
    '  sub(/ $/, "", s)',
    '  return tolower(s)',
    '}',
    'function emit(   i) {',
    '  if (emitted) return',
    '  for (i = 1; i <= nwant; i++) printf "%s%s\\n", want[i], eol',
    '  emitted = 1',
    '}',
    'BEGIN {',
    `  nwant = ${want.length}`,
    ...want.map((text, i) => `  want[${i + 1}] = ${awkString(text)}`),
    '  if (mode == "want") {',
    '    for (i = 1; i <= nwant; i++) print want[i]',
    '    exit',
    '  }',
    '}',
    'FNR == 1 {',
    '  pass++',
    ...d.init,
    '  if (pass == 2) {',
    `    ins = last ? last : anchor ? anchor : ${fallbackExpr(d)}`,
    '    if (ins == 0) emit()',
    '  }',
    '}',
    '{',
    '  line = $0',
    '  # Keep CRLF files CRLF: the added lines get the ending the first line has.',
    '  if (NR == 1 && line ~ /\\r$/) eol = "\\r"',
    '  sub(/\\r$/, "", line)',
    '  t = line',
    '  sub(/^[ \\t]+/, "", t)',
    '  lt = tolower(t)',
    '  w0 = t',
    '  sub(/[ \\t=].*$/, "", w0)',
    '  w = tolower(w0)',
    ...d.scope,
    `  act = live && (${d.active})`,
    `  anc = live && !act && (${d.anchor})`,
    '}',
    'pass == 1 {',
    '  if (act) {',
    '    nact++',
    '    got[nact] = norm(line)',
    '    isact[FNR] = 1',
    '    last = FNR',
    '  } else if (anc) {',
    '    anchor = FNR',
    '  }',
    '  next',
    '}',
    '{',
    '  if (FNR in isact) print "# portolan: " $0',
    '  else print',
    '  if (FNR == ins) emit()',
    '}',
    'END {',
    '  if (mode == "want") exit',
    '  if (mode == "check") {',
    '    ok = nact == nwant',
    '    for (i = 1; ok && i <= nwant; i++) if (got[i] != tolower(want[i])) ok = 0',
    '    exit !ok',
    '  }',
    '  if (!emitted) {',
    ...(d.eofHeader === undefined ? [] : [`    printf "%s%s\\n", ${awkString(d.eofHeader)}, eol`]),
    '    emit()',
    '  }',
    '}',
  ];
  if (program.some((l) => l.includes("'"))) throw new Error('an awk program must not contain a single quote');
  return program;
}

/** The bash function `conf_awk MODE FILE` wrapping the program (FILE is read twice in write mode). */
export function confAwkFunction(d: AwkDialect, want: readonly string[]): string[] {
  return [
    '# The patch engine (POSIX awk). check: exit 0 when FILE already has exactly the wanted lines as',
    '# its active directive, 1 when it needs the change; write: print FILE patched; want: print the',
    '# wanted lines. Old active lines are commented out with "# portolan: ", never deleted.',
    'conf_awk() {',
    '  local mode="$1"',
    '  shift',
    '  if [ "$mode" = write ]; then set -- "$1" "$1"; fi',
    "  awk -v mode=\"$mode\" '",
    ...awkProgram(d, want),
    "' \"$@\"",
    '}',
  ];
}
