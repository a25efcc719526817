/**
 * PostgreSQL: `listen_addresses` in the cluster's postgresql.conf. Debian keeps it at
 * /etc/postgresql/<version>/main/postgresql.conf; without a given path the script globs the version
 * directory and refuses unless exactly one cluster config matches (two during an upgrade: the user
 * must say which).
 *
 * Without a listen list the line is `listen_addresses = 'localhost'`, PostgreSQL's own default,
 * which covers 127.0.0.1 and ::1 and still starts on a host without IPv6; a given list is written
 * as literals (`'127.0.0.1,::1'`).
 *
 * The checker is the server itself: after the install, `postgres -C listen_addresses` (run as the
 * postgres user, which the server requires) reads the file with its includes (conf.d) and the data
 * directory's postgresql.auto.conf (ALTER SYSTEM) and prints the value the server would use. A syntax
 * error or an override elsewhere restores the original before anything restarts.
 */
import { shQuote } from '../shell.js';
import { plainDialect } from './engine.js';
import { configBackendOf, type ConfigBackendDef } from './script.js';

function value(listen: { text: string }[], defaultListen: boolean): string {
  return defaultListen ? 'localhost' : listen.map((a) => a.text).join(',');
}

const def: ConfigBackendDef = {
  id: 'postgresql',
  label: 'PostgreSQL',
  services: ['postgresql', 'postgres'],
  defaultPaths: ['/etc/postgresql/*/main/postgresql.conf'],
  defaultUnit: 'postgresql',
  describe: "PostgreSQL: listen_addresses in the cluster's postgresql.conf, checked with postgres -C",
  directive: 'listen_addresses',
  defaultListen: ['127.0.0.1', '::1'],
  want: (listen, defaultListen) => [`listen_addresses = '${value(listen, defaultListen)}'`],
  dialect: plainDialect('w == "listen_addresses"', 'lt ~ /^#[ \\t]*listen_addresses([ \\t=]|$)/', true),
  functions: () => [
    '# The server binary for the cluster of $1: the version from a Debian path, else the only one installed.',
    'pg_server_bin() {',
    '  local ver bins',
    '  case "$1" in',
    '    /etc/postgresql/*/*/postgresql.conf)',
    '      ver="${1#/etc/postgresql/}"',
    '      ver="${ver%%/*}"',
    '      if [ -x "/usr/lib/postgresql/$ver/bin/postgres" ]; then',
    '        echo "/usr/lib/postgresql/$ver/bin/postgres"',
    '        return 0',
    '      fi',
    '      ;;',
    '  esac',
    '  bins="$(compgen -G \'/usr/lib/postgresql/*/bin/postgres\')" || return 1',
    '  [ "$(printf \'%s\\n\' "$bins" | wc -l)" -eq 1 ] || return 1',
    '  echo "$bins"',
    '}',
  ],
  postInstall: (ctx) => {
    const expected = shQuote(value(ctx.listen, ctx.defaultListen));
    return [
      'if [ "$APPLY" -eq 1 ]; then',
      '  if PG_BIN="$(pg_server_bin "$CONF")" && id -u postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then',
      '    echo "+ runuser -u postgres -- $PG_BIN -C listen_addresses --config-file=$CONF"',
      '    GOT="$(cd / && runuser -u postgres -- "$PG_BIN" -C listen_addresses --config-file="$CONF")" || {',
      '      restore_conf',
      '      die "PostgreSQL rejects $CONF after the change (see above); the original is back in place"',
      '    }',
      `    if [ "$GOT" != ${expected} ]; then`,
      '      restore_conf',
      `      die "PostgreSQL would still listen on '$GOT' (an include or ALTER SYSTEM overrides $CONF); the original is back in place"`,
      '    fi',
      '  else',
      '    echo "portolan: no postgres binary or user to check with; after the restart check: SHOW listen_addresses;" >&2',
      '  fi',
      'else',
      `  printf '? runuser -u postgres -- postgres -C listen_addresses --config-file=%s must print %s\\n' "$CONF" ${expected}`,
      'fi',
    ];
  },
  excerpt: (want) => {
    const comment = "#listen_addresses = 'localhost'";
    return { before: [comment, "listen_addresses = '*'"], after: [comment, "# portolan: listen_addresses = '*'", ...want] };
  },
};

/** PostgreSQL (`listen_addresses`, Debian cluster config found by glob, unit postgresql). */
export const postgresqlConfigBackend = configBackendOf(def);
