import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectGoldens,
  expectHostileSpecsRefused,
  expectShellcheckClean,
  fakeToolbox,
  firewallCases,
  firewallSpec as specFor,
} from '../../../test/helpers/remediate.js';
import { UsageError } from '../../core/errors.js';
import { firewalldBackend } from './firewalld.js';
import { firewallBackend } from './registry.js';
import { ufwBackend } from './ufw.js';

const BACKENDS = [ufwBackend, firewalldBackend];

// The same specs as backends.test.ts; firewalld gets no interface, which it refuses by design.
const CASES = firewallCases(BACKENDS, (b) => b.id === 'ufw');

describe('ufw and firewalld backends', () => {
  it('are registered by id', () => {
    expect(firewallBackend('ufw')).toBe(ufwBackend);
    expect(firewallBackend('firewalld')).toBe(firewalldBackend);
  });

  it.each(CASES)('$backend.id $mode IPv$family: output matches the golden files', async ({ backend, mode, family, spec }) => {
    const out = backend.build(spec);
    expect(out.backend).toBe(backend.id);
    await expectGoldens(out, `${backend.id}-${mode}-${family}`);
  });

  it.each(CASES)('$backend.id $mode IPv$family: apply and rollback pass shellcheck', ({ backend, spec }) => {
    expectShellcheckClean(backend.build(spec));
  });

  it.each(CASES)('$backend.id $mode IPv$family: deterministic, backup saved before the first change', ({ backend, spec }) => {
    const a = backend.build(spec);
    expect(backend.build(structuredClone(spec))).toEqual(a);
    expect(a.apply).toContain(`BACKUP_DIR="$BACKUP_ROOT/${backend.id}-$(date +%Y%m%dT%H%M%S)-$$"`);
    expect(a.apply).toContain('\nset -euo pipefail\numask 077\n');
    expect(a.rollback).toContain('\nset -euo pipefail\n');
    const made = a.apply.indexOf('run mkdir "$BACKUP_DIR"');
    const saved = a.apply.indexOf('run cp ');
    const recorded = a.apply.indexOf('run_to "$BACKUP_DIR/');
    const changed = a.apply.indexOf(backend.id === 'ufw' ? 'run ufw \'prepend\'' : '--add-rich-rule');
    expect(made).toBeGreaterThan(0);
    expect(saved).toBeGreaterThan(made);
    expect(recorded).toBeGreaterThan(saved);
    expect(changed).toBeGreaterThan(recorded);
  });

  it('ufw: deny prepended first, allows prepended after it (so above it), each commented with the key', () => {
    const s = ufwBackend.build(specFor('allowlist', 'both')).apply;
    const comment = "'comment' 'portolan:192.0.2.10/tcp/5432/exposed'";
    const deny = `run ufw 'prepend' 'deny' 'in' 'on' 'eth0' 'proto' 'tcp' 'to' 'any' 'port' '5432' ${comment}`;
    const allow4 = `run ufw 'prepend' 'allow' 'in' 'on' 'eth0' 'proto' 'tcp' 'from' '10.0.0.0/8' 'to' 'any' 'port' '5432' ${comment}`;
    const allow6 = `run ufw 'prepend' 'allow' 'in' 'on' 'eth0' 'proto' 'tcp' 'from' '2001:db8::/32' 'to' 'any' 'port' '5432' ${comment}`;
    expect(s).toContain(`${deny}\n${allow4}\n${allow6}\n`);
    expect(s).toContain('run ufw show added');
    expect(s).toContain('ufw skips a rule it already has');
    // One family only: the destination restricts the rule.
    expect(ufwBackend.build(specFor('block', 4)).apply).toContain("'to' '0.0.0.0/0' 'port' '5432'");
    expect(ufwBackend.build(specFor('block', 6)).apply).toContain("'proto' 'udp' 'to' '::/0' 'port' '5432'");
    const r = ufwBackend.build(specFor('block', 'both')).rollback;
    expect(r).toContain(
      [
        "run cp -p \"$BACKUP_DIR/user.rules\" '/etc/ufw/user.rules'",
        "run cp -p \"$BACKUP_DIR/user6.rules\" '/etc/ufw/user6.rules'",
        "run cp -p \"$BACKUP_DIR/ufw.conf\" '/etc/ufw/ufw.conf'",
        '',
      ].join('\n'),
    );
    expect(r).toContain('run ufw reload\n');
    for (const f of ['user.rules', 'user6.rules', 'ufw.conf']) expect(r).toContain(`[ -f "$BACKUP_DIR/${f}" ] || die`);
  });

  it('firewalld: every rich rule is queried before it is added, accepts at -2 above the reject at -1', () => {
    const s = firewalldBackend.build(specFor('allowlist', 'both', false)).apply;
    const rules = [
      'rule family="ipv4" priority="-2" source address="10.0.0.0/8" port port="5432" protocol="tcp" accept',
      'rule family="ipv6" priority="-2" source address="2001:db8::/32" port port="5432" protocol="tcp" accept',
      'rule family="ipv4" priority="-1" port port="5432" protocol="tcp" reject',
      'rule family="ipv6" priority="-1" port port="5432" protocol="tcp" reject',
    ];
    const blocks = rules.map(
      (r) => `if ! check firewall-cmd --permanent --query-rich-rule='${r}'; then\n  run firewall-cmd --permanent --add-rich-rule='${r}'\nfi\n`,
    );
    expect(s).toContain(blocks.join(''));
    expect(s).toContain(`${blocks.join('')}# Make the permanent configuration the running one.\nrun firewall-cmd --reload\n`);
    expect(s.match(/--add-rich-rule/g)).toHaveLength(4);
    // Block mode reuses the same reject rule, per family.
    const b = firewalldBackend.build(specFor('block', 6)).apply;
    expect(b).toContain(`--add-rich-rule='rule family="ipv6" priority="-1" port port="5432" protocol="udp" reject'`);
    expect(b.match(/--add-rich-rule/g)).toHaveLength(1);
    const r = firewalldBackend.build(specFor('block', 4)).rollback;
    expect(r).toContain(
      "run mv '/etc/firewalld/zones' \"$BACKUP_DIR/zones.replaced\"\nrun cp -a \"$BACKUP_DIR/zones\" '/etc/firewalld/zones'\nrun firewall-cmd --reload\n",
    );
  });

  it('firewalld refuses an interface: zones bind interfaces, a rule cannot', () => {
    expect(() => firewalldBackend.build(specFor('block', 'both', true))).toThrow(UsageError);
    expect(() => firewalldBackend.build(specFor('block', 'both', true))).toThrow(/firewalld matches interfaces by zone/);
  });

  it.each(BACKENDS)('$id refuses hostile input in every field with a UsageError', (backend) => {
    const good = specFor('allowlist', 'both', false);
    expectHostileSpecsRefused((spec) => backend.build(spec), good);
    expect(() => backend.build({ ...good, allowFrom: [] })).toThrow(UsageError);
    expect(() => backend.build({ ...good, family: 4 })).toThrow(UsageError); // an IPv6 source in an IPv4-only rule
  });
});

describe('ufw and firewalld scripts run in dry-run mode', () => {
  // Every tool the scripts act with is a fake that leaves a marker: none may run in a dry run.
  const box = fakeToolbox('portolan-remediate-uf-', ['ufw', 'firewall-cmd', 'cp', 'mv', 'mkdir']);
  const dir = box.dir;
  const runScript = box.run;
  const ran = box.ran;

  it.each(CASES)('$backend.id $mode IPv$family: dry run prints the commands and executes none', ({ backend, spec }) => {
    const out = backend.build(spec);
    const a = runScript(out.apply, []);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(ran()).toBe('');
    expect(a.stdout).toMatch(new RegExp(`^\\+ mkdir /var/backups/portolan/${backend.id}-\\d{8}T\\d{6}-\\d+$`, 'm'));
    expect(a.stdout).toContain('portolan: dry run, nothing changed; pass --apply to act');
    if (backend.id === 'ufw') {
      expect(a.stdout).toMatch(/^\+ cp -p \/etc\/ufw\/user6\.rules \/var\/backups\/portolan\/ufw-.*\/user6\.rules$/m);
      expect(a.stdout).toMatch(/^\+ ufw prepend deny in .*port 5432 comment portolan:192\.0\.2\.10\/tcp\/5432\/exposed$/m);
    } else {
      expect(a.stdout).toMatch(/^\+ cp -a \/etc\/firewalld\/zones \/var\/backups\/portolan\/firewalld-.*\/zones$/m);
      // The dry run's probe reports "absent", so every rule shows up as an add.
      expect(a.stdout).toMatch(/^\? firewall-cmd --permanent --query-rich-rule=rule family="ipv[46]" priority="-1" port port="5432"/m);
      expect(a.stdout).toMatch(/^\+ firewall-cmd --permanent --add-rich-rule=rule\\ family=\\"ipv[46]\\"/m);
      expect(a.stdout).toMatch(/^\+ firewall-cmd --reload$/m);
    }

    const r = runScript(out.rollback, [join(dir, 'backup')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ran()).toBe('');
    expect(r.stdout).toMatch(backend.id === 'ufw' ? /^\+ ufw reload$/m : /^\+ firewall-cmd --reload$/m);
  });

  it.each(BACKENDS)('$id --apply without root refuses before anything runs', (backend) => {
    const out = backend.build(specFor('block', 'both', false));
    for (const [script, args] of [
      [out.apply, ['--apply']],
      [out.rollback, ['--apply', join(dir, 'backup')]],
    ] as const) {
      const r = runScript(script, [...args]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('--apply needs root');
      expect(r.stdout).toBe('');
      expect(ran()).toBe('');
    }
  });

  it.each(BACKENDS)('$id rejects unknown and hostile arguments with usage', (backend) => {
    const out = backend.build(specFor('block', 4));
    for (const args of [['--aply'], ['--apply', 'extra'], ['$(touch x)']]) {
      const r = runScript(out.apply, args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('usage: apply.sh');
    }
    expect(runScript(out.rollback, ['--bogus']).status).toBe(2);
    expect(ran()).toBe('');
  });
});
