/**
 * MySQL and MariaDB: `bind-address` in the server's option file. Debian's MariaDB keeps it in
 * /etc/mysql/mariadb.conf.d/50-server.cnf; Debian/Ubuntu MySQL in /etc/mysql/mysql.conf.d/mysqld.cnf,
 * tried second when no path is given.
 *
 * Only the server groups count ([mysqld], [server], [mariadb], [mariadbd] and their versioned forms):
 * the client programs take a `--bind-address` of their own, so a line in [client] is left alone. Names
 * match with `-` or `_` and an optional `loose-` prefix; `mysqlx-bind-address` (MySQL's X protocol)
 * is a different option and untouched. The new line goes after the last active one, else after a
 * commented `#bind-address`, else right under `[mysqld]`, else into a new `[mysqld]` section at the end.
 *
 * The default is 127.0.0.1 only, like Debian's: a comma list needs MariaDB 10.11+ or MySQL 8.0.13+ and
 * makes older servers fail to start, so several addresses are written only when asked for.
 *
 * Checker: `my_print_defaults --defaults-file=NEW` prints the options the server groups of the patched
 * file resolve to (following its !include lines); the last bind-address must be the wanted one. For a
 * file under /etc/mysql the server's whole option-file chain is checked again after the install, and
 * an override in another file restores the original before anything restarts.
 */
import { shQuote } from '../shell.js';
import { configBackendOf, type ConfigBackendDef } from './script.js';

const GROUPS = 'mysqld server mariadb mariadbd';

const def: ConfigBackendDef = {
  id: 'mysql',
  label: 'MySQL/MariaDB',
  services: ['mysql', 'mariadb'],
  defaultPaths: ['/etc/mysql/mariadb.conf.d/50-server.cnf', '/etc/mysql/mysql.conf.d/mysqld.cnf'],
  defaultUnit: 'mariadb',
  describe: 'MySQL/MariaDB: bind-address in the server groups of 50-server.cnf (or mysqld.cnf), checked with my_print_defaults',
  directive: 'bind-address',
  defaultListen: ['127.0.0.1'],
  want: (listen) => [`bind-address = ${listen.map((a) => a.text).join(',')}`],
  dialect: {
    init: ['  live = 0'],
    scope: [
      '  if (lt ~ /^\\[/) {',
      '    sec = lt',
      '    sub(/^\\[[ \\t]*/, "", sec)',
      '    sub(/[ \\t]*\\].*$/, "", sec)',
      '    live = sec ~ /^(mysqld|server|mariadb|mariadbd)(-[0-9.]+)?$/',
      '    if (sec == "mysqld" && !fb) fb = FNR',
      '  }',
    ],
    active: 'w ~ /^(loose[-_])?bind[-_]address$/',
    anchor: 'lt ~ /^[#;][ \\t]*(loose[-_])?bind[-_]address([ \\t=]|$)/',
    stripComment: true,
    fallback: 'after',
    eofHeader: '[mysqld]',
  },
  functions: () => [
    '# The last bind-address the server groups resolve to (empty: none); arguments go to my_print_defaults.',
    'mysql_bind() {',
    `  my_print_defaults "$@" ${GROUPS} | awk '`,
    '    {',
    '      o = $0',
    '      sub(/^--/, "", o)',
    '      k = o',
    '      sub(/=.*$/, "", k)',
    '      k = tolower(k)',
    '      gsub(/_/, "-", k)',
    '      sub(/^loose-/, "", k)',
    '      if (k == "bind-address") { v = o; sub(/^[^=]*=/, "", v); last = v }',
    '    }',
    "    END { print last }'",
    '}',
  ],
  preInstall: (ctx) => {
    const expected = shQuote(ctx.listen.map((a) => a.text).join(','));
    return [
      'if [ "$APPLY" -eq 1 ]; then',
      '  if command -v my_print_defaults >/dev/null 2>&1; then',
      `    echo "+ my_print_defaults --defaults-file=$NEW ${GROUPS}"`,
      '    GOT="$(mysql_bind --defaults-file="$NEW")" || die "my_print_defaults cannot read $NEW; $CONF is unchanged"',
      `    [ "$GOT" = ${expected} ] || die "the server groups of the patched file end with bind-address '$GOT' (an !include?); $CONF is unchanged"`,
      '  else',
      '    echo "portolan: my_print_defaults is not installed; the patched file is checked by its own lines only" >&2',
      '  fi',
      'else',
      `  printf '? my_print_defaults --defaults-file=%s ${GROUPS} must end with bind-address %s\\n' "$NEW" ${expected}`,
      'fi',
    ];
  },
  postInstall: (ctx) => {
    const expected = shQuote(ctx.listen.map((a) => a.text).join(','));
    return [
      '# A file under /etc/mysql is read through my.cnf; another file there may still override it.',
      'case "$CONF" in',
      '  /etc/mysql/*)',
      '    if [ "$APPLY" -eq 1 ] && command -v my_print_defaults >/dev/null 2>&1; then',
      `      echo "+ my_print_defaults ${GROUPS}"`,
      "      GOT=\"$(mysql_bind)\" || GOT='(unreadable)'",
      `      if [ "$GOT" != ${expected} ]; then`,
      '        restore_conf',
      `        die "the server's option files end with bind-address '$GOT' (another file overrides $CONF); the original is back in place"`,
      '      fi',
      '    elif [ "$APPLY" -eq 0 ]; then',
      `      printf '? my_print_defaults ${GROUPS} must end with bind-address %s\\n' ${expected}`,
      '    fi',
      '    ;;',
      'esac',
    ];
  },
  excerpt: (want) => ({
    before: ['[mysqld]', 'bind-address            = 0.0.0.0'],
    after: ['[mysqld]', '# portolan: bind-address            = 0.0.0.0', ...want],
  }),
};

/** MySQL/MariaDB (`bind-address` in the server groups, unit mariadb). */
export const mysqlConfigBackend = configBackendOf(def);
