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
import { FIREWALL_BACKENDS, firewallBackend } from './registry.js';
import { iptablesBackend } from './iptables.js';
import { nftablesBackend } from './nftables.js';

/** The backends this file covers; the others have test files of their own. */
const LINUX_TABLES = [iptablesBackend, nftablesBackend];

const CASES = firewallCases(LINUX_TABLES);

describe('firewall backends', () => {
  it('registers iptables and nftables by id', () => {
    expect(FIREWALL_BACKENDS.map((b) => b.id)).toEqual(expect.arrayContaining(['iptables', 'nftables']));
    expect(new Set(FIREWALL_BACKENDS.map((b) => b.id)).size).toBe(FIREWALL_BACKENDS.length);
    expect(firewallBackend('nftables')?.id).toBe('nftables');
    expect(firewallBackend('pf')).toBeUndefined();
  });

  it.each(CASES)('$backend.id $mode IPv$family: output matches the golden files', async ({ backend, mode, family, spec }) => {
    const out = backend.build(spec);
    expect(out.backend).toBe(backend.id);
    await expectGoldens(out, `${backend.id}-${mode}-${family}`);
  });

  it.each(CASES)('$backend.id $mode IPv$family: apply and rollback pass shellcheck', ({ backend, spec }) => {
    expectShellcheckClean(backend.build(spec));
  });

  it.each(CASES)('$backend.id $mode IPv$family: deterministic, timestamp taken at run time', ({ backend, spec }) => {
    const a = backend.build(spec);
    expect(backend.build(structuredClone(spec))).toEqual(a);
    expect(a.apply).toContain(`BACKUP_DIR="$BACKUP_ROOT/${backend.id}-$(date +%Y%m%dT%H%M%S)-$$"`);
    expect(a.apply).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(a.apply).toContain('\nset -euo pipefail\numask 077\n');
    expect(a.rollback).toContain('\nset -euo pipefail\n');
    // The backup directory exists, then the state is saved, and only then comes the first change.
    const made = a.apply.indexOf('run mkdir "$BACKUP_DIR"');
    const saved = a.apply.indexOf('run_to "$BACKUP_DIR/');
    const changed = a.apply.indexOf('write "$BACKUP_DIR/portolan');
    expect(made).toBeGreaterThan(0);
    expect(saved).toBeGreaterThan(made);
    expect(changed).toBeGreaterThan(saved);
  });

  it('iptables is idempotent on the text level: one chain per port replaced whole, jump added only when -C fails', () => {
    const s = firewallBackend('iptables')!.build(specFor('allowlist', 'both')).apply;
    // The restore input declares the chain (which flushes it) and lists the full desired rules.
    expect(s).toContain(':PORTOLAN-TCP-5432 - [0:0]\n-A PORTOLAN-TCP-5432 -i eth0 -s 10.0.0.0/8');
    expect(s).toContain("if ! check iptables -w -C INPUT -p 'tcp' --dport '5432' -j 'PORTOLAN-TCP-5432'; then\n  run iptables -w -I INPUT 1 -p 'tcp'");
    expect(s).toContain("if ! check ip6tables -w -C INPUT -p 'tcp' --dport '5432' -j 'PORTOLAN-TCP-5432'; then");
    expect(s.match(/ -I INPUT 1 /g)).toHaveLength(2);
    expect(s).toContain('--noflush');
  });

  it('nftables is idempotent on the text level: the loaded file is the full desired state of the port', () => {
    const s = firewallBackend('nftables')!.build(specFor('allowlist', 'both')).apply;
    expect(s).toContain(
      [
        'add table inet portolan',
        'add chain inet portolan in_tcp_5432 { type filter hook input priority filter; policy accept; }',
        'flush chain inet portolan in_tcp_5432',
      ].join('\n'),
    );
    const r = firewallBackend('nftables')!.build(specFor('block', 'both')).rollback;
    expect(r).toContain('run nft -c -f "$BACKUP_DIR/nftables.restore"\nrun nft -f "$BACKUP_DIR/nftables.restore"');
  });

  it.each(LINUX_TABLES)('$id refuses hostile input in every field with a UsageError', (backend) => {
    expectHostileSpecsRefused((spec) => backend.build(spec), specFor('allowlist', 'both'));
  });
});

describe('generated scripts run in dry-run mode', () => {
  // Every firewall tool, and mkdir, is a fake that leaves a marker: none may run in a dry run.
  const box = fakeToolbox('portolan-remediate-', ['iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore', 'nft', 'mkdir']);
  const dir = box.dir;
  const runScript = box.run;

  it.each(CASES)('$backend.id $mode IPv$family: dry run prints the commands and executes none', ({ backend, spec }) => {
    const out = backend.build(spec);
    const a = runScript(out.apply, []);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(box.ran()).toBe('');
    expect(a.stdout).toMatch(/^\+ mkdir -p \/var\/backups\/portolan$/m);
    expect(a.stdout).toMatch(new RegExp(`^\\+ mkdir /var/backups/portolan/${backend.id}-\\d{8}T\\d{6}-\\d+$`, 'm'));
    expect(a.stdout).toContain('portolan: dry run, nothing changed; pass --apply to act');
    if (backend.id === 'iptables') {
      expect(a.stdout).toMatch(/^\+ ip6?tables -w -I INPUT 1 -p (tcp|udp) --dport 5432 -j PORTOLAN-(TCP|UDP)-5432$/m);
      expect(a.stdout).toMatch(/^\| {3}-A PORTOLAN-(TCP|UDP)-5432 .*-j DROP$/m);
    } else {
      expect(a.stdout).toMatch(/^\+ nft -f \/var\/backups\/portolan\/nftables-.*\/portolan\.nft$/m);
      expect(a.stdout).toMatch(/^\| {3}add rule inet portolan in_(tcp|udp)_5432 .*ct state new drop comment "portolan:/m);
    }

    const r = runScript(out.rollback, [join(dir, 'backup')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(box.ran()).toBe('');
    // A dry run probes nothing: the rollback shows the test that decides, then the removal path.
    expect(r.stdout).toMatch(backend.id === 'iptables' ? /^\? saved_chain_exists .*ip6?tables\.rules PORTOLAN-(TCP|UDP)-5432$/m : /^\+ nft -f .*nftables\.restore$/m);
  });

  it.each(LINUX_TABLES)('$id --apply without root refuses before anything runs', (backend) => {
    const out = backend.build(specFor('block', 'both'));
    for (const [script, args] of [
      [out.apply, ['--apply']],
      [out.rollback, ['--apply', join(dir, 'backup')]],
    ] as const) {
      const r = runScript(script, [...args]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('--apply needs root');
      expect(r.stdout).toBe('');
      expect(box.ran()).toBe('');
    }
  });

  it.each(LINUX_TABLES)('$id rejects unknown arguments with usage', (backend) => {
    const out = backend.build(specFor('block', 4));
    for (const args of [['--aply'], ['--apply', 'extra'], ['$(touch x)']]) {
      const r = runScript(out.apply, args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('usage: apply.sh');
    }
    expect(runScript(out.rollback, ['--bogus']).status).toBe(2);
    expect(runScript(out.apply, ['--help']).stdout).toContain('usage: apply.sh [--apply]');
    expect(box.ran()).toBe('');
  });
});
