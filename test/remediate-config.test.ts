/**
 * Config patches applied for real, as root, to copies of realistic config files in a temp directory
 * (the host's own Debian files when present, read only; fixtures otherwise), with restart manager
 * `none`. Each backend: apply --apply, check the file has exactly the wanted active lines and that the
 * daemon accepts it (Redis, sshd and memcached run in a network namespace this test creates and must
 * listen on loopback only), apply again (no change), rollback --apply (byte-identical, same mode and
 * owner). Nothing under /etc is written; daemons are stopped by PID; every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configBackend } from '../src/remediate/config/registry.js';
import type { ConfigPatchSpec } from '../src/remediate/config/types.js';

const ROOT = process.getuid?.() === 0;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).status === 0;
const FIXTURES = new URL('./fixtures/remediate/config-inputs/', import.meta.url);
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const dir = ROOT ? mkdtempSync(join(tmpdir(), 'portolan-config-live-')) : '';
if (ROOT) chmodSync(dir, 0o755); // the postgres user must reach the PostgreSQL copy
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface Input {
  text: string;
  mode: number;
  uid: number;
  gid: number;
}

/** The host's file when it exists (read only), else the fixture; mode and owner come along. */
function input(etc: string, fixture: string): Input {
  const from = existsSync(etc) ? etc : new URL(fixture, FIXTURES);
  const st = statSync(from);
  return { text: readFileSync(from, 'utf8'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

function place(sub: string, name: string, inp: Input): string {
  const d = join(dir, sub);
  mkdirSync(d, { recursive: true, mode: 0o755 });
  chmodSync(d, 0o755);
  const file = join(d, name);
  writeFileSync(file, inp.text);
  chownSync(file, inp.uid, inp.gid);
  chmodSync(file, inp.mode);
  return file;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a generated script with bash; `wrap` runs it inside another command (a private mount namespace). */
function runScript(script: string, args: string[], backups: string, wrap: string[] = []): Run {
  const file = join(dir, `script-${randomBytes(4).toString('hex')}.sh`);
  writeFileSync(file, script);
  const argv = [...wrap, 'bash', '--norc', file, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { input: '', encoding: 'utf8', env: { PATH, LC_ALL: 'C', PORTOLAN_BACKUP_ROOT: backups }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** sshd -t/-T need /run/sshd: give them one in a private mount namespace instead of touching the host's /run. */
const PRIVATE_RUN = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec "$@"', 'sh'];

function activeLines(text: string, re: RegExp): string[] {
  return text.split('\n').filter((l) => re.test(l));
}

interface RoundTrip {
  file: string;
  original: Buffer;
  patched: Buffer;
}

/**
 * Apply (checking the active lines), apply again (no change, no new backup), then hand the patched
 * state to `check`, then roll back and compare bytes, mode and owner.
 */
async function roundTrip(id: string, file: string, active: RegExp, want: string[], spec: Partial<ConfigPatchSpec> = {}, wrap: string[] = [], check?: (patched: string) => Promise<void>): Promise<RoundTrip> {
  const backups = join(dir, `backups-${id}`);
  const out = configBackend(id)!.build({ findingKey: `198.18.0.5/tcp/1/${id}`, path: file, restart: { manager: 'none' }, ...spec });
  const original = readFileSync(file);
  const st = statSync(file);
  const oldActive = activeLines(original.toString('utf8'), active);

  const a = runScript(out.apply, ['--apply'], backups, wrap);
  expect(a.stderr.replace(/^portolan: (warning: sshd now accepts|no postgres binary).*\n/m, '')).toBe('');
  expect(a.status).toBe(0);
  expect(a.stdout).toContain('portolan: done; saved state in ');
  const patched = readFileSync(file);
  const text = patched.toString('utf8');
  expect(activeLines(text, active)).toEqual(want);
  for (const old of oldActive) expect(text).toContain(`# portolan: ${old}\n`);
  expect(statSync(file).mode & 0o7777).toBe(st.mode & 0o7777);
  expect([statSync(file).uid, statSync(file).gid]).toEqual([st.uid, st.gid]);
  const backup = readFileSync(join(backups, `${id}.last`), 'utf8').trim();
  expect(readFileSync(join(backup, 'config.orig')).equals(original)).toBe(true);
  expect(readFileSync(join(backup, 'config.path'), 'utf8')).toBe(`${file}\n`);

  if (check) await check(text);

  const again = runScript(out.apply, ['--apply'], backups, wrap);
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('already has exactly these lines; nothing to change');
  expect(readFileSync(file).equals(patched)).toBe(true);
  expect(readdirSync(backups).sort()).toEqual([backup.slice(backups.length + 1), `${id}.last`].sort());

  const r = runScript(out.rollback, ['--apply', backup], backups);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(readFileSync(file).equals(original)).toBe(true);
  const after = statSync(file);
  expect([after.mode & 0o7777, after.uid, after.gid]).toEqual([st.mode & 0o7777, st.uid, st.gid]);
  return { file, original, patched };
}

/** A network namespace of our own with lo up; deleted afterwards. */
async function inNetns(fn: (ns: string, v6: boolean) => Promise<void>): Promise<void> {
  const ns = `portolan-cfg-${process.pid}-${randomBytes(3).toString('hex')}`;
  expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
  try {
    expect(spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']).status).toBe(0);
    const v6 = spawnSync('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).stdout.includes('::1/128');
    await fn(ns, v6);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a daemon in the namespace, wait (bounded) for listeners on the port, stop it by PID, return them. */
async function listenersOf(ns: string, argv: string[], port: number): Promise<string[]> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH } });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let seen: string[] = [];
  try {
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      await sleep(100);
      const ss = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-ltnH'], { encoding: 'utf8', timeout: 5_000 }).stdout;
      seen = ss.split('\n').map((l) => l.trim().split(/\s+/)[3] ?? '').filter((a) => a.endsWith(`:${port}`));
      if (seen.length > 0) {
        await sleep(300); // a daemon binds its addresses one after another
        seen = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-ltnH'], { encoding: 'utf8', timeout: 5_000 }).stdout.split('\n').map((l) => l.trim().split(/\s+/)[3] ?? '').filter((a) => a.endsWith(`:${port}`));
        break;
      }
    }
  } finally {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
  if (seen.length === 0) throw new Error(`${argv[0]} did not listen on ${port}: ${log.slice(0, 2000)}`);
  return seen.sort();
}

const port = () => 20_000 + Math.floor(Math.random() * 20_000);

describe.skipIf(!ROOT || !has('ip') || !has('unshare'))('config patches applied for real', () => {
  it.skipIf(!has('redis-server'))('redis: bind * -::* becomes loopback; a real redis-server in a fresh netns listens on loopback only', async () => {
    const inp = input('/etc/redis/redis.conf', 'redis.conf');
    inp.text = inp.text.replace(/^bind .*$/m, 'bind * -::*');
    const file = place('redis', 'redis.conf', inp);
    const work = join(dir, 'redis-run');
    mkdirSync(work, { recursive: true });
    const redis = (p: number) => ['redis-server', file, '--port', String(p), '--daemonize', 'no', '--supervised', 'no', '--pidfile', join(work, 'pid'), '--logfile', '', '--dir', work, '--save', '', '--appendonly', 'no'];
    await roundTrip('redis', file, /^\s*bind\s/i, ['bind 127.0.0.1 -::1'], {}, [], async () => {
      await inNetns(async (ns, v6) => {
        const p = port();
        expect(await listenersOf(ns, redis(p), p)).toEqual(v6 ? [`127.0.0.1:${p}`, `[::1]:${p}`] : [`127.0.0.1:${p}`]);
      });
    });
    // Control: the restored original really listens everywhere, so the check above can tell the two apart.
    await inNetns(async (ns) => {
      const p = port();
      expect(await listenersOf(ns, redis(p), p)).toContain(`0.0.0.0:${p}`);
    });
  }, 90_000);

  it.skipIf(!has('sshd') || !has('ssh-keygen'))('sshd: ListenAddress lines go before Match, sshd -t accepts them, a real sshd listens on loopback only', async () => {
    const key = join(dir, 'ssh_host_ed25519_key');
    expect(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status).toBe(0);
    const included = join(dir, 'sshd_config.d');
    mkdirSync(included, { recursive: true });
    const inp = input('/etc/ssh/sshd_config', 'sshd_config');
    // Realistic, hermetic: our host key, our Include directory, and a Match block at the end.
    inp.text = `HostKey ${key}\n${inp.text.replace(/^Include .*$/m, `Include ${included}/*.conf`)}Match User backup\n\tX11Forwarding no\n`;
    const file = place('sshd', 'sshd_config', inp);
    const want = ['ListenAddress 127.0.0.1', 'ListenAddress ::1'];
    await roundTrip('sshd', file, /^\s*listenaddress\b/i, want, {}, PRIVATE_RUN, async (text) => {
      expect(text.indexOf('ListenAddress ::1\n')).toBeLessThan(text.indexOf('Match User backup'));
      const t = spawnSync(PRIVATE_RUN[0]!, [...PRIVATE_RUN.slice(1), 'sshd', '-t', '-f', file], { encoding: 'utf8', env: { PATH }, timeout: 20_000 });
      expect(t.stderr).toBe('');
      expect(t.status).toBe(0);
      await inNetns(async (ns, v6) => {
        const p = port();
        const cmd = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e -f "$1" -p "$2" -o PidFile="$3"', 'sh', file, String(p), join(dir, 'sshd.pid')];
        expect(await listenersOf(ns, cmd, p)).toEqual(v6 ? [`127.0.0.1:${p}`, `[::1]:${p}`] : [`127.0.0.1:${p}`]);
      });
    });

    // A ListenAddress arriving through the Include is caught by sshd -T before the file is touched.
    writeFileSync(join(included, 'open.conf'), 'ListenAddress 0.0.0.0\n');
    const before = readFileSync(file);
    const { apply } = configBackend('sshd')!.build({ findingKey: 'k', path: file, restart: { manager: 'none' } });
    const r = runScript(apply, ['--apply'], join(dir, 'backups-sshd-include'), PRIVATE_RUN);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('sshd -T also lists listenaddress 0.0.0.0:22');
    expect(r.stderr).toContain('is unchanged');
    expect(readFileSync(file).equals(before)).toBe(true);
  }, 90_000);

  it.skipIf(!has('memcached'))('memcached: -l 0.0.0.0 becomes -l 127.0.0.1; memcached started with that line listens on loopback only', async () => {
    const inp = input('/etc/memcached.conf', 'memcached.conf');
    inp.text = inp.text.replace(/^-l .*$/m, '-l 0.0.0.0');
    const file = place('memcached', 'memcached.conf', inp);
    await roundTrip('memcached', file, /^\s*(-l|--listen)/, ['-l 127.0.0.1'], {}, [], async (text) => {
      const line = activeLines(text, /^\s*-l\s/)[0]!.trim().split(/\s+/);
      await inNetns(async (ns) => {
        const p = port();
        expect(await listenersOf(ns, ['memcached', '-u', 'nobody', '-U', '0', '-p', String(p), ...line], p)).toEqual([`127.0.0.1:${p}`]);
      });
    });
  }, 90_000);

  const pgBins = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`)) : [];
  const pgUser = spawnSync('id', ['-u', 'postgres']).status === 0;
  it.skipIf(pgBins.length !== 1 || !pgUser || !has('runuser'))("postgresql: listen_addresses = '*' becomes 'localhost', postgres -C agrees; an override in conf.d restores the original", async () => {
    const etc = `/etc/postgresql/${pgBins[0]}/main/postgresql.conf`;
    const inp = input(etc, 'postgresql.conf');
    const data = join(dir, 'pg-data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    const pgUid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(data, pgUid, 0);
    // A cluster always has one (ALTER SYSTEM writes it); without it postgres -C logs that it skipped it.
    writeFileSync(join(data, 'postgresql.auto.conf'), '# Do not edit this file manually!\n', { mode: 0o600 });
    chownSync(join(data, 'postgresql.auto.conf'), pgUid, 0);
    inp.text = inp.text.replace(/^#?listen_addresses\s*=.*$/m, "listen_addresses = '*'").replace(/^data_directory\s*=.*$/m, `data_directory = '${data}'`);
    const file = place('postgresql', 'postgresql.conf', inp);
    mkdirSync(join(dir, 'postgresql', 'conf.d'), { recursive: true, mode: 0o755 });
    const pgC = () => spawnSync('runuser', ['-u', 'postgres', '--', `/usr/lib/postgresql/${pgBins[0]}/bin/postgres`, '-C', 'listen_addresses', `--config-file=${file}`], { encoding: 'utf8', cwd: '/', timeout: 20_000 }).stdout.trim();
    await roundTrip('postgresql', file, /^\s*listen_addresses\b/i, ["listen_addresses = 'localhost'"], {}, [], () => {
      expect(pgC()).toBe('localhost');
      return Promise.resolve();
    });
    expect(pgC()).toBe('*');

    writeFileSync(join(dir, 'postgresql', 'conf.d', '99-open.conf'), "listen_addresses = '*'\n");
    const before = readFileSync(file);
    const mode = statSync(file).mode;
    const { apply } = configBackend('postgresql')!.build({ findingKey: 'k', path: file, restart: { manager: 'none' } });
    const r = runScript(apply, ['--apply'], join(dir, 'backups-pg-override'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("PostgreSQL would still listen on '*'");
    expect(r.stdout).toMatch(/^\+ cp -p -- \S+config\.orig /m);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(statSync(file).mode).toBe(mode);
  }, 90_000);

  it.skipIf(!has('my_print_defaults'))('mysql/mariadb: bind-address = 0.0.0.0 becomes 127.0.0.1 in [mysqld]; my_print_defaults agrees', async () => {
    const inp = input('/etc/mysql/mariadb.conf.d/50-server.cnf', '50-server.cnf');
    inp.text = inp.text.replace(/^bind-address\s*=.*$/m, 'bind-address            = 0.0.0.0');
    const file = place('mysql', '50-server.cnf', inp);
    const lastBind = () => {
      const lines = spawnSync('my_print_defaults', [`--defaults-file=${file}`, 'mysqld'], { encoding: 'utf8', timeout: 10_000 }).stdout.split('\n');
      return lines.filter((l) => /^--bind[-_]address=/.test(l)).pop();
    };
    expect(lastBind()).toBe('--bind-address=0.0.0.0');
    await roundTrip('mysql', file, /^\s*(loose[-_])?bind[-_]address\s*(=|$)/i, ['bind-address = 127.0.0.1'], {}, [], () => {
      expect(lastBind()).toBe('--bind-address=127.0.0.1');
      return Promise.resolve();
    });
  }, 90_000);

  it('the PostgreSQL default pattern refuses two matching clusters (several versions)', () => {
    const fake = join(dir, 'pg-two');
    for (const v of ['15', '16']) {
      mkdirSync(join(fake, v, 'main'), { recursive: true });
      writeFileSync(join(fake, v, 'main', 'postgresql.conf'), "listen_addresses = '*'\n");
    }
    // The real default pattern lives under /etc; the same find_conf logic is exercised through a custom root.
    const { apply } = configBackend('postgresql')!.build({ findingKey: 'k' });
    const script = apply.replaceAll("'/etc/postgresql/'*'/main/postgresql.conf'", `'${fake}/'*'/main/postgresql.conf'`);
    expect(script).not.toBe(apply);
    const r = runScript(script, [], join(dir, 'backups-pg-two'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('several files match the default pattern');
    expect(existsSync(join(dir, 'backups-pg-two'))).toBe(false);

    // One cluster left: the pattern finds it (dry run, read only).
    rmSync(join(fake, '16'), { recursive: true });
    const one = runScript(script, [], join(dir, 'backups-pg-one'));
    expect(one.status).toBe(0);
    expect(one.stdout).toContain(`|   +++ ${fake}/15/main/postgresql.conf (patched)\n`);
    expect(one.stdout).toContain("|   +listen_addresses = 'localhost'\n");
    expect(existsSync(join(dir, 'backups-pg-one'))).toBe(false);
  });
});
