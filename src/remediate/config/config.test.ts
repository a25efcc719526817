import { describe, expect, it } from 'vitest';
import { shellcheck } from '../../../test/helpers/shellcheck.js';
import { HOSTILE } from '../../../test/helpers/hostile-strings.js';
import { SERVICE_KINDS } from '../../assess/service-classes.js';
import { UsageError } from '../../core/errors.js';
import { awkString, shPath, validateConfigPath, validateListen, validateListenAddress, validateRestart } from './common.js';
import { CONFIG_BACKENDS, configBackend, configBackendForService } from './registry.js';
import type { ConfigPatchSpec } from './types.js';

const KEY = '192.0.2.10/tcp/6379/exposed';

/** One custom spec per backend: another path, listen list and restart manager. */
const CUSTOM: Record<string, Omit<ConfigPatchSpec, 'findingKey'>> = {
  redis: { path: '/srv/redis/6380.conf', listen: ['192.0.2.7', '::1'], restart: { manager: 'sysv' } },
  postgresql: { path: '/etc/postgresql/16/main/postgresql.conf', listen: ['127.0.0.1', '::1'], restart: { manager: 'systemd', name: 'postgresql@16-main' } },
  mysql: { path: '/etc/mysql/mysql.conf.d/mysqld.cnf', listen: ['127.0.0.1', '::1'], restart: { manager: 'systemd', name: 'mysql' } },
  memcached: { listen: ['127.0.0.1', '::1'], restart: { manager: 'none' } },
  sshd: { listen: ['127.0.0.1'], restart: { manager: 'sysv' } },
};
const IDS = CONFIG_BACKENDS.map((b) => b.id);
const VARIANTS: { id: string; name: string; spec: ConfigPatchSpec }[] = IDS.flatMap((id) => [
  { id, name: `config-${id}`, spec: { findingKey: KEY } },
  { id, name: `config-${id}-custom`, spec: { findingKey: KEY, ...CUSTOM[id] } },
]);

describe('config path validation', () => {
  it('takes absolute paths of plain components', () => {
    for (const p of ['/etc/redis/redis.conf', '/etc/postgresql/15/main/postgresql.conf', '/opt/a_b/c-d/e+f@g.conf', '/x']) expect(validateConfigPath(p)).toBe(p);
    expect(validateConfigPath('/etc/postgresql/*/main/postgresql.conf', true)).toBe('/etc/postgresql/*/main/postgresql.conf');
  });

  it('refuses relative, dot-dot, empty components, globs from users, pseudo file systems and hostile strings', () => {
    const bad = [
      'etc/redis.conf', './redis.conf', '/', '/etc/', '/etc//redis.conf', '/etc/../etc/passwd', '/etc/./redis.conf', '/etc/..', '/etc/-rf',
      '/etc/postgresql/*/main/postgresql.conf', '/etc/*', '/etc/[ab].conf', '/etc/redis.conf~ x', '/dev/sda', '/proc/self/environ', '/sys/x',
      `/${'a'.repeat(256)}`, `/${'a/'.repeat(600)}b`, '/etc/redis.conf\n', '/etc/redis.conf;id', '/etc/$(id)', '/etc/ré.conf',
      ...HOSTILE.map((h) => `/etc/${h}`), ...HOSTILE,
    ];
    for (const p of bad) expect(() => validateConfigPath(p), p.slice(0, 40)).toThrow(UsageError);
    for (const p of [undefined, null, 42, ['/etc/x']]) expect(() => validateConfigPath(p)).toThrow(UsageError);
    // A pattern may only glob a whole directory component.
    for (const p of ['/etc/*.conf', '/etc/x/*', '/*/**/x']) expect(() => validateConfigPath(p, true), p).toThrow(UsageError);
  });
});

describe('listen address validation', () => {
  it('canonical literals, deduplicated in order', () => {
    expect(validateListenAddress('2001:DB8:0:0::1')).toEqual({ family: 6, text: '2001:db8::1' });
    expect(validateListen(['127.0.0.1', '::1', '0:0::1', '192.0.2.1'], [])).toEqual([
      { family: 4, text: '127.0.0.1' },
      { family: 6, text: '::1' },
      { family: 4, text: '192.0.2.1' },
    ]);
    expect(validateListen(undefined, ['127.0.0.1']).map((a) => a.text)).toEqual(['127.0.0.1']);
  });

  it('refuses names, prefixes, zones, the unspecified, multicast, broadcast, mapped, odd forms and hostile strings', () => {
    const bad = ['localhost', '0.0.0.0', '::', '0:0::0', '10.0.0.0/8', 'fe80::1%eth0', '224.0.0.1', 'ff02::1', '255.255.255.255', '::ffff:127.0.0.1',
      '01.2.3.4', '1.2.3', '127.1', '0x7f.0.0.1', '[::1]', '-::1', '*', ' 127.0.0.1', ...HOSTILE];
    for (const a of bad) expect(() => validateListenAddress(a), a.slice(0, 30)).toThrow(UsageError);
    expect(() => validateListen([], [])).toThrow(UsageError);
    expect(() => validateListen('127.0.0.1', [])).toThrow(UsageError);
    expect(() => validateListen(Array.from({ length: 17 }, (_, i) => `192.0.2.${i + 1}`), [])).toThrow(/at most 16/);
    expect(() => validateListen([127], [])).toThrow(UsageError);
  });
});

describe('restart validation', () => {
  it('reuses the service validators and defaults to systemd with the backend unit', () => {
    expect(validateRestart(undefined, 'redis-server')).toEqual({ manager: 'systemd', name: 'redis-server.service' });
    expect(validateRestart({ manager: 'systemd', name: 'postgresql@16-main' }, 'x')).toEqual({ manager: 'systemd', name: 'postgresql@16-main.service' });
    expect(validateRestart({ manager: 'sysv' }, 'ssh')).toEqual({ manager: 'sysv', name: 'ssh' });
    expect(validateRestart({ manager: 'none' }, 'memcached')).toEqual({ manager: 'none', name: 'memcached' });
  });

  it('refuses unknown managers, bad names and non-objects', () => {
    for (const manager of ['upstart', 'windows', 'SYSTEMD', ...HOSTILE]) expect(() => validateRestart({ manager, name: 'x' }, 'x')).toThrow(UsageError);
    for (const manager of ['systemd', 'sysv', 'none']) {
      for (const name of ['-now', '../x', 'a/b', ...HOSTILE]) expect(() => validateRestart({ manager, name }, 'x'), `${manager} ${name.slice(0, 20)}`).toThrow(UsageError);
    }
    for (const r of ['systemd', 42, [], null]) expect(() => validateRestart(r === null ? { manager: null } : r, 'x')).toThrow(UsageError);
  });
});

describe('script text helpers', () => {
  it('awkString and shPath accept only their alphabets', () => {
    expect(awkString("listen_addresses = 'localhost'")).toBe('"listen_addresses = \\047localhost\\047"');
    expect(() => awkString('a"b')).toThrow();
    expect(() => awkString('a\\b')).toThrow();
    expect(() => awkString('$x')).toThrow();
    expect(shPath('/etc/postgresql/*/main/postgresql.conf', 'glob')).toBe("'/etc/postgresql/'*'/main/postgresql.conf'");
    expect(shPath('/etc/postgresql/*/main/postgresql.conf', 'literal')).toBe('\'/etc/postgresql/\'"*"\'/main/postgresql.conf\'');
    expect(() => shPath('/etc/a b', 'literal')).toThrow();
  });
});

describe('registry', () => {
  it('has the five backends with Debian defaults', () => {
    expect(IDS).toEqual(['redis', 'postgresql', 'mysql', 'memcached', 'sshd']);
    expect(CONFIG_BACKENDS.map((b) => [b.defaultPath, b.defaultUnit])).toEqual([
      ['/etc/redis/redis.conf', 'redis-server'],
      ['/etc/postgresql/*/main/postgresql.conf', 'postgresql'],
      ['/etc/mysql/mariadb.conf.d/50-server.cnf', 'mariadb'],
      ['/etc/memcached.conf', 'memcached'],
      ['/etc/ssh/sshd_config', 'ssh'],
    ]);
    expect(configBackend('nope')).toBeUndefined();
  });

  it('finds a backend by nmap name and by service-kind id', () => {
    const names: Record<string, string> = { redis: 'redis', postgresql: 'postgresql', Postgres: 'postgresql', mysql: 'mysql', MariaDB: 'mysql', memcached: 'memcached', memcache: 'memcached', ssh: 'sshd' };
    for (const [name, id] of Object.entries(names)) expect(configBackendForService(name)?.id, name).toBe(id);
    for (const id of ['redis', 'postgresql', 'mysql', 'memcached', 'ssh']) {
      expect(SERVICE_KINDS.some((k) => k.id === id), id).toBe(true);
      expect(configBackendForService(id)).toBeDefined();
    }
    // bind-address does not govern the X protocol port; mysqlx stays unscripted.
    expect(configBackendForService('mysqlx')).toBeUndefined();
    expect(configBackendForService(undefined)).toBeUndefined();
    expect(configBackendForService('telnet')).toBeUndefined();
  });
});

describe('config scripts', () => {
  it.each(VARIANTS)('$name: matches the golden files and is deterministic', async ({ id, name, spec }) => {
    const out = configBackend(id)!.build(spec);
    expect(configBackend(id)!.build(structuredClone(spec))).toEqual(out);
    expect(out.backend).toBe(id);
    await expect(out.apply).toMatchFileSnapshot(`../../../test/fixtures/remediate/${name}.apply.sh`);
    await expect(out.rollback).toMatchFileSnapshot(`../../../test/fixtures/remediate/${name}.rollback.sh`);
  });

  it.each(VARIANTS)('$name: apply and rollback pass shellcheck', ({ id, spec }) => {
    const out = configBackend(id)!.build(spec);
    for (const script of [out.apply, out.rollback]) {
      const r = shellcheck(script);
      expect(r.out).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it.each(VARIANTS)('$name: the file is saved before it is replaced, checked before the restart', ({ id, spec }) => {
    const { apply } = configBackend(id)!.build(spec);
    const saved = apply.indexOf('run cp -p -- "$CONF" "$BACKUP_DIR/config.orig"');
    const replaced = apply.indexOf('run cp -- "$NEW" "$CONF"');
    const restart = Math.max(apply.indexOf('run systemctl restart'), apply.indexOf('run service '), apply.indexOf('not restarted (restart manager none)'));
    expect(saved).toBeGreaterThan(apply.indexOf('run mkdir "$BACKUP_DIR"'));
    expect(replaced).toBeGreaterThan(apply.indexOf('in_place "$NEW" || die'));
    expect(replaced).toBeGreaterThan(saved);
    expect(restart).toBeGreaterThan(replaced);
    expect(apply).not.toMatch(/^\s*(run )?mv /m);
  });

  it('path, before and after come from the spec', () => {
    const pg = configBackend('postgresql')!.build({ findingKey: KEY });
    expect(pg.path).toBe('/etc/postgresql/*/main/postgresql.conf');
    expect(pg.after).toContain("# portolan: listen_addresses = '*'\nlisten_addresses = 'localhost'\n");
    expect(configBackend('postgresql')!.build({ findingKey: KEY, listen: ['127.0.0.1', '::1'] }).after).toContain("listen_addresses = '127.0.0.1,::1'\n");
    const redis = configBackend('redis')!.build({ findingKey: KEY, path: '/srv/r.conf', listen: ['192.0.2.7'] });
    expect(redis.path).toBe('/srv/r.conf');
    expect(redis.before).toBe('bind * -::*\n');
    expect(redis.after).toBe('# portolan: bind * -::*\nbind 192.0.2.7\n');
    expect(configBackend('sshd')!.build({ findingKey: KEY }).after).toMatch(/#ListenAddress ::\nListenAddress 127\.0\.0\.1\nListenAddress ::1\n$/);
    expect(configBackend('memcached')!.build({ findingKey: KEY, listen: ['::1'] }).after).toMatch(/\n-l \[::1\]\n$/);
    expect(configBackend('mysql')!.build({ findingKey: KEY }).after).toBe('[mysqld]\n# portolan: bind-address            = 0.0.0.0\nbind-address = 127.0.0.1\n');
  });
});

describe('hostile input', () => {
  it.each(IDS)('%s: every field refuses every hostile string', (id) => {
    const b = configBackend(id)!;
    for (const h of HOSTILE) {
      const label = JSON.stringify(h.slice(0, 20));
      expect(() => b.build({ findingKey: h }), `key ${label}`).toThrow(UsageError);
      expect(() => b.build({ findingKey: KEY, path: h }), `path ${label}`).toThrow(UsageError);
      expect(() => b.build({ findingKey: KEY, path: `/etc/${h}` }), `path /etc/${label}`).toThrow(UsageError);
      expect(() => b.build({ findingKey: KEY, listen: [h] }), `listen ${label}`).toThrow(UsageError);
      expect(() => b.build({ findingKey: KEY, listen: ['127.0.0.1', h] }), `listen 2 ${label}`).toThrow(UsageError);
      expect(() => b.build({ findingKey: KEY, restart: { manager: h as never } }), `manager ${label}`).toThrow(UsageError);
      for (const manager of ['systemd', 'sysv', 'none'] as const) {
        expect(() => b.build({ findingKey: KEY, restart: { manager, name: h } }), `${manager} ${label}`).toThrow(UsageError);
      }
    }
    expect(() => b.build({ findingKey: KEY, listen: '127.0.0.1' as never })).toThrow(UsageError);
    expect(() => b.build({ findingKey: KEY, listen: ['0.0.0.0'] })).toThrow(UsageError);
    expect(() => b.build({ findingKey: KEY, path: '/etc/../etc/shadow' })).toThrow(UsageError);
    expect(() => b.build({ findingKey: KEY, restart: 'systemd' as never })).toThrow(UsageError);
    expect(() => b.build(null as never)).toThrow();
  });
});
