import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOSTILE } from '../../test/helpers/hostile-strings.js';
import { shellcheck } from '../../test/helpers/shellcheck.js';
import { aptScripts, debianReleaseOf, fixesFor, judgeFixes, safeDebianVersion } from './upgrade.js';

const dir = mkdtempSync(join(tmpdir(), 'portolan-apt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run a generated script without --apply (a dry run: it only prints) with backups under the temp dir. */
function dryRun(script: string, args: string[] = []): { status: number | null; out: string } {
  const file = join(dir, `s${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(file, script);
  const r = spawnSync('/bin/bash', [file, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORTOLAN_BACKUP_ROOT: join(dir, 'backups') }, timeout: 10_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('Debian versions', () => {
  it('tells the release from a +debNNuM revision', () => {
    expect(debianReleaseOf('1:9.2p1-2+deb12u3')).toBe('bookworm');
    expect(debianReleaseOf('2.4.51-1~deb11u1')).toBe('bullseye');
    expect(debianReleaseOf('1.6.18-1')).toBeUndefined();
  });

  it('accepts clean versions only', () => {
    for (const v of ['1:9.2p1-2+deb12u3', '2.4.51-1~deb11u1', '5:6.0.16-1+deb11u2', '15+248']) expect(safeDebianVersion(v)).toBe(v);
    for (const v of [...HOSTILE, "1.0'", '1.0 2', 'a1.0', '1:', ':1.0', 42]) expect(safeDebianVersion(v)).toBeUndefined();
  });
});

describe('fixes', () => {
  it('prefers the fixes given, drops malformed ones, else reads the built-in data', () => {
    const given = [{ source: 'debian' as const, package: 'openssh', version: '1:9.2p1-2+deb12u3', release: 'bookworm' }, { source: 'x', package: 1, version: '' } as never];
    expect(fixesFor('CVE-2024-6387', given)).toEqual([given[0]]);
    expect(fixesFor('cve-2022-0543', undefined).map((f) => f.version)).toContain('5:6.0.16-1+deb11u2');
    expect(fixesFor('CVE-2099-0001', undefined)).toEqual([]);
    expect(fixesFor(undefined, [])).toEqual([]);
  });

  it('matches the installed release and compares', () => {
    const fixes = [
      { source: 'debian' as const, package: 'openssh', version: '1:9.2p1-2+deb12u3', release: 'bookworm' },
      { source: 'debian' as const, package: 'openssh', version: '1:8.4p1-5+deb11u3', release: 'bullseye' },
    ];
    expect(judgeFixes(fixes, { name: 'openssh-server', version: '1:9.2p1-2+deb12u2' })).toEqual({ target: fixes[0], alreadyFixed: false });
    expect(judgeFixes(fixes, { name: 'openssh-server', version: '1:8.4p1-5+deb11u4' })).toEqual({ target: fixes[1], alreadyFixed: true });
    expect(judgeFixes(fixes, { name: 'openssh-server', version: '1:9.9p1-1' })).toEqual({});
    expect(judgeFixes(fixes, undefined)).toEqual({});
  });
});

describe('apt scripts', () => {
  const withMin = aptScripts({ package: 'openssh-server', findingKey: '198.51.100.20/tcp/22/vulnerability/CVE-2024-6387', minVersion: '1:9.2p1-2+deb12u3' });
  const plain = aptScripts({ package: 'redis-server', findingKey: 'k' });

  it('pass shellcheck', () => {
    for (const s of [withMin.apply, withMin.rollback, plain.apply, plain.rollback]) expect(shellcheck(s)).toEqual({ status: 0, out: '' });
  });

  it('upgrade only the one package and check the fixed version when one is known', () => {
    expect(withMin.backend).toBe('apt');
    expect(withMin.apply).toContain("run apt-get install --only-upgrade -y 'openssh-server'");
    expect(withMin.apply).toContain("dpkg --compare-versions \"$NOW\" ge '1:9.2p1-2+deb12u3'");
    expect(plain.apply).not.toContain('dpkg --compare-versions');
    expect(aptScripts({ package: 'xz-utils', findingKey: 'k', minVersion: "1.0';reboot;'" }).apply).not.toContain('reboot');
  });

  it('refuse a package name that is not a Debian package name', () => {
    for (const bad of ['Openssh', 'a', 'pkg;reboot', '-y', 'x'.repeat(101)]) expect(() => aptScripts({ package: bad, findingKey: 'k' })).toThrow(/bad Debian package name/);
  });

  it('a dry run prints the plan of action and changes nothing; the rollback reinstalls the saved version', () => {
    const apply = dryRun(withMin.apply);
    expect(apply.status).toBe(0);
    expect(apply.out).toContain('+ apt-get install --only-upgrade -y openssh-server');
    expect(apply.out).toContain('dry run, nothing changed');
    const saved = join(dir, 'backups', 'apt-saved');
    spawnSync('/bin/mkdir', ['-p', saved]);
    writeFileSync(join(saved, 'apt.version'), '1:9.2p1-2+deb12u2\n');
    const rollback = dryRun(withMin.rollback, [saved]);
    expect(rollback.status).toBe(0);
    expect(rollback.out).toContain('+ apt-get install -y --allow-downgrades openssh-server=1:9.2p1-2+deb12u2');
  });
});
