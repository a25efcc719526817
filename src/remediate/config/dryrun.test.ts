/**
 * The generated scripts run for real in dry-run mode: every command that could change something is
 * replaced by a stub that records its call, so a dry run that executed anything fails the test.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_BACKENDS, configBackend } from './registry.js';

const KEY = '192.0.2.10/tcp/6379/exposed';
const dir = mkdtempSync(join(tmpdir(), 'portolan-config-dry-'));
const bin = join(dir, 'bin');
// World-writable (sticky) so the stubs can record a call from the unprivileged dry run too.
const marks = join(dir, 'marks');
const marker = join(marks, 'executed');
const backups = join(dir, 'backups');
mkdirSync(bin);
mkdirSync(marks);
chmodSync(dir, 0o755);
chmodSync(marks, 0o1777);
const MUTATING = ['cp', 'mv', 'rm', 'mkdir', 'rmdir', 'ln', 'chmod', 'chown', 'install', 'tee', 'dd', 'systemctl', 'service', 'update-rc.d', 'sshd', 'runuser', 'my_print_defaults', 'reboot'];
for (const tool of MUTATING) {
  writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> '${marker}'\n`);
  chmodSync(join(bin, tool), 0o755);
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runScript(script: string, args: string[], extra: Record<string, string> = {}) {
  rmSync(marker, { force: true });
  const r = spawnSync('bash', ['--norc', '-s', '--', ...args], {
    input: script,
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, LC_ALL: 'C', PORTOLAN_BACKUP_ROOT: backups, ...extra },
    timeout: 10_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stderr a dry run may print: nothing, or the sshd lock-out warning. */
function quiet(stderr: string): void {
  expect(stderr.replace(/^portolan: warning: sshd now accepts connections only on:.*\n/m, '')).toBe('');
}

const IDS = CONFIG_BACKENDS.map((b) => b.id);

describe.each(IDS)('%s dry run', (id) => {
  const b = configBackend(id)!;
  const file = join(dir, `${id}.conf`);

  it('shows the change as a diff and executes nothing', () => {
    const out = b.build({ findingKey: KEY, path: file });
    writeFileSync(file, out.before);
    const r = runScript(out.apply, []);
    quiet(r.stderr);
    expect(r.status).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(backups)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(out.before);
    const beforeLines = new Set(out.before.split('\n'));
    for (const line of out.after.split('\n').filter((l) => l !== '' && !beforeLines.has(l))) expect(r.stdout).toContain(`|   +${line}\n`);
    expect(r.stdout).toContain(`+ cp -p -- ${file} ${backups}/${id}-`);
    expect(r.stdout).toMatch(new RegExp(`^\\+ cp -- ${backups}/${id}-\\S+/config\\.new ${file.replace(/\./g, '\\.')}$`, 'm'));
    expect(r.stdout).toContain(`+ systemctl restart -- ${b.defaultUnit}.service\n`);
    expect(r.stdout).toMatch(/portolan: dry run, nothing changed; pass --apply to act\n$/);
  });

  it('says there is nothing to change when the file already has the lines', () => {
    const out = b.build({ findingKey: KEY, path: file, restart: { manager: 'sysv' } });
    writeFileSync(file, out.after);
    const r = runScript(out.apply, []);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`portolan: ${file} already has exactly these lines; nothing to change:\n`);
    expect(r.stdout).toMatch(/^\+ rmdir -- /m);
    expect(r.stdout).not.toContain('+ cp');
    expect(r.stdout).not.toContain('service ');
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(out.after);
  });

  it('walks through the plan when the file is not on this host', () => {
    const missing = join(dir, `${id}-missing.conf`);
    const out = b.build({ findingKey: KEY, path: missing, restart: { manager: 'none' } });
    const r = runScript(out.apply, []);
    quiet(r.stderr);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`? ${missing} is not on this host`);
    expect(r.stdout).toContain(`not restarted (restart manager none): restart ${b.defaultUnit} for the change`);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(missing)).toBe(false);
  });

  it('rollback: prints the restore of the saved file and executes nothing', () => {
    const out = b.build({ findingKey: KEY, path: file });
    const none = join(dir, 'no-such-backup');
    const r = runScript(out.rollback, [none]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`+ cp -p -- ${none}/config.orig ${file}\n+ cmp -- ${none}/config.orig ${file}\n`);
    expect(r.stdout).toContain(`+ systemctl restart -- ${b.defaultUnit}.service\n`);
    expect(existsSync(marker)).toBe(false);
  });

  it('--apply without root refuses before anything runs; bad arguments get usage', () => {
    const out = b.build({ findingKey: KEY, path: file });
    writeFileSync(join(bin, 'id'), '#!/bin/sh\necho 1000\n');
    chmodSync(join(bin, 'id'), 0o755);
    try {
      for (const [script, args] of [
        [out.apply, ['--apply']],
        [out.rollback, ['--apply', join(dir, 'none')]],
      ] as const) {
        const r = runScript(script, [...args]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('--apply needs root');
        expect(r.stdout).toBe('');
      }
    } finally {
      rmSync(join(bin, 'id'));
    }
    expect(runScript(out.apply, ['$(touch x)']).status).toBe(2);
    expect(runScript(out.apply, ['--apply', 'x']).status).toBe(2);
    expect(existsSync(marker)).toBe(false);
  });
});

describe.skipIf(process.getuid?.() !== 0)('dry run by a user who cannot read the file', () => {
  it('says what --apply would check and executes nothing', () => {
    const file = join(dir, 'secret.conf');
    writeFileSync(file, 'bind *\n', { mode: 0o600 });
    const { apply } = configBackend('redis')!.build({ findingKey: KEY, path: file });
    rmSync(marker, { force: true });
    const r = spawnSync('/usr/sbin/runuser', ['-u', 'nobody', '--', 'bash', '--norc', '-s'], {
      input: apply,
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, LC_ALL: 'C', PORTOLAN_BACKUP_ROOT: backups },
      timeout: 10_000,
    });
    expect(r.stderr).toBe('');
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`? ${file} is not readable here; --apply changes nothing if it already has only:\n    bind 127.0.0.1 -::1\n`);
    expect(r.stdout).toContain('? active bind lines get commented out ("# portolan: ") and the lines above are added once\n');
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('bind *\n');
  });
});

describe('rollback only restores over a path the script patches', () => {
  function backupWith(name: string, path: string): string {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'config.orig'), 'x\n');
    writeFileSync(join(d, 'config.path'), `${path}\n`);
    return d;
  }

  it('a literal path: exactly that file', () => {
    const path = join(dir, 'redis.conf');
    const { rollback } = configBackend('redis')!.build({ findingKey: KEY, path });
    expect(runScript(rollback, [backupWith('ok', path)]).stdout).toContain(`+ cp -p -- ${dir}/ok/config.orig ${path}\n`);
    for (const [i, evil] of ['/etc/passwd', `${path}.d`, `${dir}/../${path}`, `${path} x`, `${path}$(id)`].entries()) {
      const r = runScript(rollback, [backupWith(`evil-${i}`, evil)]);
      expect(r.status, evil).toBe(1);
      expect(r.stderr).toContain('refusing to restore over');
      expect(r.stdout).not.toContain('+ cp');
    }
  });

  it('the PostgreSQL default pattern: one version directory, no "..", no odd characters', () => {
    const { rollback } = configBackend('postgresql')!.build({ findingKey: KEY });
    const good = runScript(rollback, [backupWith('pg-ok', '/etc/postgresql/16/main/postgresql.conf')]);
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('/config.orig /etc/postgresql/16/main/postgresql.conf\n');
    for (const [i, evil] of ['/etc/postgresql/../../etc/passwd/main/postgresql.conf', '/etc/postgresql/1 6/main/postgresql.conf', '/etc/postgresql/*/main/postgresql.conf', '/etc/postgresql/16/other/postgresql.conf', '/etc/shadow'].entries()) {
      const r = runScript(rollback, [backupWith(`pg-evil-${i}`, evil)]);
      expect(r.status, evil).toBe(1);
      expect(r.stderr).toContain('refusing to restore over');
    }
    expect(existsSync(marker)).toBe(false);
  });
});
