import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOSTILE } from '../../../test/helpers/hostile-strings.js';
import { expectGoldens, expectShellcheckClean, fakeToolbox } from '../../../test/helpers/remediate.js';
import { UsageError } from '../../core/errors.js';
import { SERVICE_MANAGERS, buildServiceScripts } from './registry.js';
import { validateSystemdUnit } from './systemd.js';
import { validateSysvName } from './sysv.js';
import type { ServiceSpec } from './types.js';
import { validateWindowsServiceName } from './windows.js';
import { PS_IS_ADMIN } from '../powershell.js';

const KEY = '192.0.2.10/tcp/6379/exposed';
const NAMES = { systemd: 'redis-server', sysv: 'redis-server', windows: 'Redis' } as const;
const CASES = SERVICE_MANAGERS.map((manager) => {
  const spec: ServiceSpec = { manager, name: NAMES[manager as keyof typeof NAMES], findingKey: KEY };
  return { manager, spec };
});
const BASH = CASES.filter((c) => c.manager !== 'windows');

describe('service name validation', () => {
  it('systemd: appends .service unless a known suffix ends the name; refuses the rest', () => {
    expect(validateSystemdUnit('redis-server')).toBe('redis-server.service');
    expect(validateSystemdUnit('sshd.socket')).toBe('sshd.socket');
    expect(validateSystemdUnit('getty@tty1.service')).toBe('getty@tty1.service');
    expect(validateSystemdUnit('dev-sda1.mount')).toBe('dev-sda1.mount');
    expect(validateSystemdUnit('my.app')).toBe('my.app.service');
    expect(validateSystemdUnit('a'.repeat(247))).toHaveLength(255);
    for (const bad of ['a'.repeat(248), 'a'.repeat(256), '-now', '--root=/x', '.service', '@x', 'a\\x2db', 'a/b', ...HOSTILE]) {
      expect(() => validateSystemdUnit(bad), bad.slice(0, 20)).toThrow(UsageError);
    }
    expect(() => validateSystemdUnit(42)).toThrow(UsageError);
  });

  it('SysV and Windows names: strict charset, no leading "-" or "."', () => {
    expect(validateSysvName('postgresql')).toBe('postgresql');
    expect(validateWindowsServiceName('MSSQL_SERVER.1')).toBe('MSSQL_SERVER.1');
    for (const bad of ['-f', '.', '..', 'a/b', 'a:b', 'a@b', 'x'.repeat(65), ...HOSTILE]) expect(() => validateSysvName(bad)).toThrow(UsageError);
    for (const bad of ['-f', '.x', 'a b', 'a$b', "a'b", 'a\u2019b', 'x'.repeat(257), ...HOSTILE]) {
      expect(() => validateWindowsServiceName(bad)).toThrow(UsageError);
    }
  });

  it('buildServiceScripts refuses hostile names, keys and managers', () => {
    for (const { spec } of CASES) {
      for (const h of HOSTILE) {
        expect(() => buildServiceScripts({ ...spec, name: h })).toThrow(UsageError);
        expect(() => buildServiceScripts({ ...spec, findingKey: h })).toThrow(UsageError);
      }
    }
    for (const h of [...HOSTILE, 'upstart']) expect(() => buildServiceScripts({ manager: h, name: 'x', findingKey: KEY })).toThrow(UsageError);
  });
});

describe('service scripts', () => {
  it.each(CASES)('$manager: output matches the golden files and is deterministic', async ({ manager, spec }) => {
    const out = buildServiceScripts(spec);
    expect(buildServiceScripts(structuredClone(spec))).toEqual(out);
    await expectGoldens(out, `service-${manager}`, manager === 'windows' ? 'ps1' : 'sh');
  });

  it.each(BASH)('$manager: apply and rollback pass shellcheck', ({ spec }) => {
    expectShellcheckClean(buildServiceScripts(spec));
  });

  it.each(BASH)('$manager: the state is saved before the first change', ({ spec }) => {
    const { apply } = buildServiceScripts(spec);
    const saved = apply.indexOf('run_to "$BACKUP_DIR/');
    expect(saved).toBeGreaterThan(apply.indexOf('run mkdir "$BACKUP_DIR"'));
    expect(apply.indexOf(spec.manager === 'systemd' ? 'run systemctl disable --now' : 'run service ')).toBeGreaterThan(saved);
  });

  it('windows: structure, elevation, saved StartType restored, no -Force', () => {
    const { apply, rollback } = buildServiceScripts(CASES[2]!.spec);
    for (const s of [apply, rollback]) {
      expect(s).toContain("$ErrorActionPreference = 'Stop'");
      expect(s).toContain(`if ($Apply -and -not (${PS_IS_ADMIN})) {`);
      expect(s).toContain("$Name = 'Redis'");
    }
    expect(apply.indexOf('Set-Content -LiteralPath $Backup')).toBeLessThan(apply.indexOf('Stop-Service -Name $Name'));
    expect(apply).toContain('Set-Service -Name $Name -StartupType Disabled');
    expect(apply).not.toContain('-Force }');
    expect(rollback).toContain('Set-Service -Name $Name -StartupType $StartType');
    expect(rollback).toContain("$Saved[0] -notin @('Automatic', 'Manual', 'Disabled', 'Boot', 'System')");
  });
});

describe('service scripts run in dry-run mode', () => {
  const box = fakeToolbox('portolan-services-', ['systemctl', 'service', 'update-rc.d', 'mkdir', 'touch', 'reboot']);
  const dir = box.dir;
  const runScript = box.run;

  it.each(BASH)('$manager: dry run prints the commands and executes none', ({ manager, spec }) => {
    const out = buildServiceScripts(spec);
    const a = runScript(out.apply, []);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(box.ran()).toBe('');
    if (manager === 'systemd') expect(a.stdout).toMatch(/^\+ systemctl disable --now -- redis-server\.service$/m);
    else expect(a.stdout).toMatch(/^\+ service redis-server stop\n\+ update-rc\.d redis-server disable$/m);
    expect(a.stdout).toContain('portolan: dry run, nothing changed; pass --apply to act');

    const r = runScript(out.rollback, [join(dir, 'none')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(box.ran()).toBe('');
    expect(r.stdout).toMatch(/^\? if it was enabled: /m);
  });

  it.each(BASH)('$manager: rollback restores exactly the saved state (dry run over a saved state file)', ({ manager, spec }) => {
    const out = buildServiceScripts(spec);
    const file = manager === 'systemd' ? 'systemd.state' : 'sysv.state';
    const was = join(dir, `${manager}-was-on`);
    const off = join(dir, `${manager}-was-off`);
    const evil = join(dir, `${manager}-evil`);
    for (const d of [was, off, evil]) mkdirSync(d, { recursive: true });
    writeFileSync(join(was, file), manager === 'systemd' ? 'enabled\nactive\n' : 'enabled\nrunning\n');
    writeFileSync(join(off, file), manager === 'systemd' ? 'disabled\ninactive\n' : 'disabled\nstopped\n');
    writeFileSync(join(evil, file), '$(touch x)\n`reboot`;touch y\n');
    const short = join(dir, `${manager}-short`);
    mkdirSync(short, { recursive: true });
    writeFileSync(join(short, file), 'enabled');

    const on = runScript(out.rollback, [was]);
    expect(on.status).toBe(0);
    if (manager === 'systemd') {
      expect(on.stdout).toContain('+ systemctl enable -- redis-server.service\n+ systemctl start -- redis-server.service\n');
    } else {
      expect(on.stdout).toContain('+ update-rc.d redis-server enable\n+ service redis-server start\n');
    }
    // A truncated file (no newline, one line) still restores what it says and fails nothing.
    const cut = runScript(out.rollback, [short]);
    expect(cut.status).toBe(0);
    expect(cut.stdout).toMatch(/^\+ (systemctl enable|update-rc\.d redis-server enable)/m);
    expect(cut.stdout).not.toMatch(/start/);
    for (const d of [off, evil]) {
      const r = runScript(out.rollback, [d]);
      expect(r.status).toBe(0);
      expect(r.stdout).not.toMatch(/^\+ (systemctl|service|update-rc)/m);
      expect(box.ran()).toBe('');
    }
  });

  it.each(BASH)('$manager: --apply without root refuses before anything runs; bad arguments get usage', ({ spec }) => {
    const out = buildServiceScripts(spec);
    for (const [script, args] of [
      [out.apply, ['--apply']],
      [out.rollback, ['--apply', join(dir, 'none')]],
    ] as const) {
      const r = runScript(script, [...args]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('--apply needs root');
      expect(r.stdout).toBe('');
    }
    expect(runScript(out.apply, ['$(touch x)']).status).toBe(2);
    expect(box.ran()).toBe('');
  });
});
