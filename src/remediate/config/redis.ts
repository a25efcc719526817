/**
 * Redis: one `bind` line in /etc/redis/redis.conf. Directive names are case-insensitive and a later
 * `bind` replaces an earlier one; `bind-source-addr` is a different directive and is left alone.
 *
 * Next to other addresses `::1` is written `-::1` (the `-` makes it optional), exactly as Debian's
 * default does, so a host without IPv6 still starts; every other address (and a lone ::1) is
 * mandatory, so a wrong address fails the restart loudly instead of leaving Redis on no socket.
 *
 * Redis 7.0 has no offline config check (`--test-config` does not exist; `--test-memory` tests RAM),
 * so the honest checks are the engine's own (exactly one active `bind`, the wanted one) and the
 * restart: under systemd (Type=notify) `systemctl restart` fails when redis-server cannot bind.
 */
import { plainDialect } from './engine.js';
import { configBackendOf, type ConfigBackendDef } from './script.js';

const def: ConfigBackendDef = {
  id: 'redis',
  label: 'Redis',
  services: ['redis'],
  defaultPaths: ['/etc/redis/redis.conf'],
  defaultUnit: 'redis-server',
  describe: 'Redis: one bind line in redis.conf (::1 optional as -::1, like Debian)',
  directive: 'bind',
  defaultListen: ['127.0.0.1', '::1'],
  want: (listen) => [`bind ${listen.map((a) => (a.text === '::1' && listen.length > 1 ? '-::1' : a.text)).join(' ')}`],
  dialect: plainDialect('w == "bind"', 'lt ~ /^#[ \\t]*bind[ \\t]/', false),
  functions: () => [
    '# An include can bring its own bind; the last bind Redis reads wins.',
    'warn_includes() {',
    "  if grep -qiE '^[[:space:]]*include[[:space:]]' -- \"$1\"; then",
    '    echo "portolan: warning: $CONF includes other files; a bind in one read after this line still wins" >&2',
    '  fi',
    '}',
  ],
  preInstall: () => [
    'if [ "$APPLY" -eq 1 ]; then warn_includes "$NEW"; fi',
    'echo "portolan: Redis has no offline config check; the restart is the test (it fails if redis-server cannot bind)"',
  ],
  excerpt: (want) => ({
    before: ['bind * -::*'],
    after: ['# portolan: bind * -::*', ...want],
  }),
};

/** Redis (`bind` in /etc/redis/redis.conf, unit redis-server). */
export const redisConfigBackend = configBackendOf(def);
