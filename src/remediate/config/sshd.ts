/**
 * OpenSSH server: `ListenAddress` lines in /etc/ssh/sshd_config. Keywords are case-insensitive, take
 * `Keyword value` or `Keyword=value`, and ListenAddress lines add up, so the file ends with exactly
 * the wanted lines, one address each. ListenAddress is not allowed inside a `Match` block, so nothing
 * after the first `Match` counts and the new lines go before it (after the last active or commented
 * `ListenAddress`, as in Debian's file, when that comes first). Debian 12 puts
 * `Include /etc/ssh/sshd_config.d/*.conf` at the top; a ListenAddress there still adds an address.
 *
 * Checkers, both on the patched copy before it replaces anything: `sshd -t -f NEW` (syntax, host keys,
 * Match placement) and `sshd -T -f NEW`, whose effective `listenaddress` list must hold exactly the
 * wanted addresses, which catches a ListenAddress coming in through the Include.
 */
import { shQuote } from '../shell.js';
import { awkString } from './common.js';
import { configBackendOf, type ConfigBackendDef } from './script.js';

const def: ConfigBackendDef = {
  id: 'sshd',
  label: 'OpenSSH server',
  services: ['ssh'],
  defaultPaths: ['/etc/ssh/sshd_config'],
  defaultUnit: 'ssh',
  describe: 'OpenSSH: ListenAddress lines before the first Match in sshd_config, checked with sshd -t and sshd -T',
  directive: 'ListenAddress',
  defaultListen: ['127.0.0.1', '::1'],
  want: (listen) => listen.map((a) => `ListenAddress ${a.text}`),
  dialect: {
    init: ['  live = 1'],
    scope: ['  if (w == "match") {', '    live = 0', '    if (!fb) fb = FNR', '  }'],
    active: 'w == "listenaddress"',
    anchor: 'lt ~ /^#[ \\t]*listenaddress([ \\t=]|$)/',
    stripComment: false,
    fallback: 'before',
  },
  requires: ['sshd'],
  functions: (ctx) => [
    '# 0 when sshd -T lists exactly the wanted listen addresses for FILE (ports aside).',
    'sshd_listen_ok() {',
    '  local out',
    '  out="$(sshd -T -f "$1")" || return 1',
    "  printf '%s\\n' \"$out\" | awk '",
    `    BEGIN { ${ctx.listen.map((a) => `want[${awkString(a.text)}] = 1`).join('; ')} }`,
    '    $1 == "listenaddress" {',
    '      a = $2',
    '      if (a ~ /^\\[/) { sub(/^\\[/, "", a); sub(/\\].*$/, "", a) } else sub(/:[0-9]+$/, "", a)',
    '      if (a in want) seen[a] = 1',
    '      else { print "portolan: sshd -T also lists listenaddress " $2 > "/dev/stderr"; bad = 1 }',
    '    }',
    '    END {',
    '      for (a in want) if (!(a in seen)) { print "portolan: sshd -T does not list " a > "/dev/stderr"; bad = 1 }',
    '      exit bad',
    "    }'",
    '}',
  ],
  preInstall: (ctx) => [
    'verify sshd -t -f "$NEW"',
    'if [ "$APPLY" -eq 1 ]; then',
    '  echo "+ sshd -T -f $NEW (the effective listen addresses)"',
    '  sshd_listen_ok "$NEW" || die "sshd would not listen on exactly the wanted addresses (a ListenAddress in an included file?); $CONF is unchanged"',
    'else',
    "  printf '? sshd -T -f %s must list exactly these listen addresses:\\n' \"$NEW\"",
    `  printf '    %s\\n' ${ctx.listen.map((a) => shQuote(a.text)).join(' ')}`,
    'fi',
  ],
  beforeRestart: (ctx) => [
    `printf 'portolan: warning: sshd now accepts connections only on:%s; keep this session open and try a new login first\\n' "$(printf ' %s' ${ctx.listen.map((a) => shQuote(a.text)).join(' ')})" >&2`,
  ],
  excerpt: (want) => {
    const before = ['#Port 22', '#AddressFamily any', '#ListenAddress 0.0.0.0', '#ListenAddress ::'];
    return { before, after: [...before, ...want] };
  },
};

/** OpenSSH server (`ListenAddress` before the first Match, unit ssh). */
export const sshdConfigBackend = configBackendOf(def);
