import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellcheck } from '../../../test/helpers/shellcheck.js';
import { HOSTILE } from '../../../test/helpers/hostile-strings.js';
import { UsageError } from '../../core/errors.js';
import { FIREWALL_BACKENDS, firewallBackend } from './registry.js';
import { iptablesBackend } from './iptables.js';
import { nftablesBackend } from './nftables.js';
import type { FirewallRuleSpec } from '../types.js';

/** The backends this file covers; the others have test files of their own. */
const LINUX_TABLES = [iptablesBackend, nftablesBackend];

const KEY = '192.0.2.10/tcp/5432/exposed';
const FAMILIES = [4, 6, 'both'] as const;

function specFor(mode: 'block' | 'allowlist', family: 4 | 6 | 'both'): FirewallRuleSpec {
  const allowFrom = family === 4 ? ['10.0.0.0/8', '192.0.2.7'] : family === 6 ? ['2001:db8::/32'] : ['10.0.0.0/8', '2001:db8::/32'];
  return {
    mode,
    protocol: mode === 'block' && family === 6 ? 'udp' : 'tcp',
    port: 5432,
    family,
    findingKey: KEY,
    ...(mode === 'allowlist' ? { allowFrom } : {}),
    ...(family === 'both' ? { iface: 'eth0' } : {}),
  };
}

const CASES = LINUX_TABLES.flatMap((backend) =>
  (['block', 'allowlist'] as const).flatMap((mode) => FAMILIES.map((family) => ({ backend, mode, family, spec: specFor(mode, family) }))),
);

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
    const name = `../../../test/fixtures/remediate/${backend.id}-${mode}-${family}`;
    await expect(out.apply).toMatchFileSnapshot(`${name}.apply.sh`);
    await expect(out.rollback).toMatchFileSnapshot(`${name}.rollback.sh`);
  });

  it.each(CASES)('$backend.id $mode IPv$family: apply and rollback pass shellcheck', ({ backend, spec }) => {
    const out = backend.build(spec);
    for (const script of [out.apply, out.rollback]) {
      const r = shellcheck(script);
      expect(r.out).toBe('');
      expect(r.status).toBe(0);
    }
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
    const good = specFor('allowlist', 'both');
    const fields: ((h: string) => FirewallRuleSpec)[] = [
      (h) => ({ ...good, mode: h as never }),
      (h) => ({ ...good, protocol: h as never }),
      (h) => ({ ...good, port: h as never }),
      (h) => ({ ...good, family: h as never }),
      (h) => ({ ...good, iface: h }),
      (h) => ({ ...good, findingKey: h }),
      (h) => ({ ...good, allowFrom: [h] }),
      (h) => ({ ...good, allowFrom: ['10.0.0.0/8', h] }),
    ];
    for (const field of fields) {
      for (const h of HOSTILE) expect(() => backend.build(field(h))).toThrow(UsageError);
    }
    for (const port of [0, 65536, 22.5, Number.NaN, -22]) expect(() => backend.build({ ...good, port })).toThrow(UsageError);
  });
});

describe('generated scripts run in dry-run mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portolan-remediate-'));
  const bin = join(dir, 'bin');
  const marker = join(dir, 'executed');
  spawnSync('mkdir', [bin]);
  // Every firewall tool, and mkdir, is a fake that leaves a marker: none may run in a dry run.
  for (const tool of ['iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore', 'nft', 'mkdir']) {
    writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> '${marker}'\n`);
    chmodSync(join(bin, tool), 0o755);
  }
  // A fake id makes the root check meaningful even when the tests run as root.
  writeFileSync(join(bin, 'id'), '#!/bin/sh\necho 1000\n');
  chmodSync(join(bin, 'id'), 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function runScript(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
    rmSync(marker, { force: true });
    const r = spawnSync('bash', ['-s', '--', ...args], {
      input: script,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, LC_ALL: 'C' },
      timeout: 10_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it.each(CASES)('$backend.id $mode IPv$family: dry run prints the commands and executes none', ({ backend, spec }) => {
    const out = backend.build(spec);
    const a = runScript(out.apply, []);
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(existsSync(marker)).toBe(false);
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
    expect(existsSync(marker)).toBe(false);
    expect(r.stdout).toMatch(backend.id === 'iptables' ? /^\+ ip6?tables-restore -w < / : /^\+ nft -f .*nftables\.restore$/m);
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
      expect(existsSync(marker)).toBe(false);
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
    expect(existsSync(marker)).toBe(false);
  });
});
