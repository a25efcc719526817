/**
 * memcached: the `-l` line of Debian's /etc/memcached.conf, which the Debian wrapper
 * (systemd-memcached-wrapper, start-memcached) turns into command-line options. Options are
 * case-sensitive (`-L` is large pages, not listen); `-l ADDR`, `-lADDR` and `--listen=ADDR` all count,
 * and several `-l` lines add up, so every active one is commented out and one line written.
 *
 * Several addresses become one comma list with IPv6 in brackets (`-l 127.0.0.1,[::1]`), the form
 * memcached parses without confusing an address with a `host:port`. The default is 127.0.0.1 only,
 * as Debian ships it: memcached stops when one address cannot be bound, e.g. ::1 on a host without IPv6.
 *
 * memcached has no config check of its own; the engine's check (exactly one active `-l`, the wanted
 * one) and the restart (which fails when memcached cannot bind) are what there is.
 */
import { plainDialect } from './engine.js';
import { configBackendOf, type ConfigBackendDef } from './script.js';

const def: ConfigBackendDef = {
  id: 'memcached',
  label: 'memcached',
  services: ['memcached', 'memcache'],
  defaultPaths: ['/etc/memcached.conf'],
  defaultUnit: 'memcached',
  describe: 'memcached: one -l line in /etc/memcached.conf',
  directive: '-l',
  defaultListen: ['127.0.0.1'],
  want: (listen) => [`-l ${listen.map((a) => (a.family === 6 ? `[${a.text}]` : a.text)).join(',')}`],
  dialect: plainDialect('w0 == "-l" || w0 == "--listen" || w0 ~ /^-l[^-]/', 't ~ /^#[ \\t]*(-l|--listen)([ \\t=]|$)/', true),
  preInstall: () => ['echo "portolan: memcached has no offline config check; the restart is the test (it fails if memcached cannot bind)"'],
  excerpt: (want) => ({
    before: ['# Listen address (without one, every interface)', '-l 0.0.0.0'],
    after: ['# Listen address (without one, every interface)', '# portolan: -l 0.0.0.0', ...want],
  }),
};

/** memcached (`-l` in /etc/memcached.conf, unit memcached). */
export const memcachedConfigBackend = configBackendOf(def);
