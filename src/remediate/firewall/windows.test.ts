import { describe, expect, it } from 'vitest';
import { FIREWALL_KEY as KEY, expectGoldens, expectHostileSpecsRefused, firewallCases, firewallSpec } from '../../../test/helpers/remediate.js';
import { UsageError } from '../../core/errors.js';
import { firewallBackend } from './registry.js';
import type { FirewallRuleSpec } from '../types.js';
import { validateCidr } from '../validate.js';
import { PS_IS_ADMIN, psQuote } from '../powershell.js';
import { complementRanges, windowsBackend, windowsRuleName } from './windows.js';

// Windows Firewall does not scope rules by interface, so no spec here has one.
const specFor = (mode: 'block' | 'allowlist', family: 4 | 6 | 'both'): FirewallRuleSpec => firewallSpec(mode, family, false);
const CASES = firewallCases([windowsBackend], () => false);
const cidrs = (...t: string[]) => t.map(validateCidr);

describe('complementRanges', () => {
  it('computes the IPv4 complement of overlapping, unsorted, adjacent networks', () => {
    expect(complementRanges(cidrs('192.0.2.7', '10.0.0.0/8'), 4)).toEqual([
      '0.0.0.0-9.255.255.255',
      '11.0.0.0-192.0.2.6',
      '192.0.2.8-255.255.255.255',
    ]);
    expect(complementRanges(cidrs('10.0.0.0/9', '10.0.0.0/8', '10.128.0.0/9'), 4)).toEqual(['0.0.0.0-9.255.255.255', '11.0.0.0-255.255.255.255']);
    expect(complementRanges(cidrs('0.0.0.0/1'), 4)).toEqual(['128.0.0.0-255.255.255.255']);
    expect(complementRanges(cidrs('0.0.0.1', '255.255.255.254'), 4)).toEqual(['0.0.0.0', '0.0.0.2-255.255.255.253', '255.255.255.255']);
    expect(complementRanges(cidrs('0.0.0.0/0'), 4)).toEqual([]);
    expect(complementRanges([], 4)).toEqual(['0.0.0.0-255.255.255.255']);
  });

  it('computes the IPv6 complement and ignores the other family', () => {
    expect(complementRanges(cidrs('2001:db8::/32', '10.0.0.0/8'), 6)).toEqual([
      '::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff',
      '2001:db9::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    ]);
    expect(complementRanges(cidrs('::/0'), 6)).toEqual([]);
  });

  it('is exact: the ranges plus the networks tile the address space (random IPv4 check)', () => {
    const toNum = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
    for (let round = 0; round < 50; round++) {
      const nets = Array.from({ length: 1 + (rnd() % 6) }, () => {
        const prefix = 4 + (rnd() % 29);
        const base = ((rnd() * 7919) >>> 0) & (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
        return `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${prefix}`;
      });
      const spans = complementRanges(cidrs(...nets), 4).map((r) => r.split('-').map(toNum)).map(([a, b]) => [a!, b ?? a!]);
      const inNets = (x: number) => nets.some((n) => { const [a, p] = n.split('/'); const size = 2 ** (32 - Number(p)); return x >= toNum(a!) && x < toNum(a!) + size; });
      const probes = [0, 2 ** 32 - 1, ...nets.flatMap((n) => { const [a, p] = n.split('/'); const s = toNum(a!); const e = s + 2 ** (32 - Number(p)); return [s - 1, s, e - 1, e]; })].filter((x) => x >= 0 && x < 2 ** 32);
      for (const x of probes) expect(spans.some(([a, b]) => x >= a! && x <= b!)).toBe(!inNets(x));
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]!).toBeGreaterThan(spans[i - 1]![1]! + 1);
    }
  });
});

describe('windows firewall backend', () => {
  it('is registered', () => {
    expect(firewallBackend('windows')).toBe(windowsBackend);
  });

  it.each(CASES)('$mode IPv$family: output matches the golden files', async ({ mode, family, spec }) => {
    const out = windowsBackend.build(spec);
    expect(out.backend).toBe('windows');
    expect(windowsBackend.build(structuredClone(spec))).toEqual(out);
    await expectGoldens(out, `windows-${mode}-${family}`, 'ps1');
  });

  it.each(CASES)('$mode IPv$family: structure: dry run by default, elevation, Stop, backup before the change', ({ spec }) => {
    const { apply, rollback } = windowsBackend.build(spec);
    for (const s of [apply, rollback]) {
      expect(s).toContain("param([switch]$Apply");
      expect(s).toContain("$ErrorActionPreference = 'Stop'");
      expect(s).toContain(`if ($Apply -and -not (${PS_IS_ADMIN})) {`);
      expect(s).toContain("  if ($Apply) { & $Action }");
      expect(s).not.toMatch(/\r/);
    }
    const backup = apply.indexOf('& netsh.exe advfirewall export $Backup');
    const probe = apply.indexOf('Get-NetFirewallRule -Name $RuleName');
    const change = apply.indexOf('New-NetFirewallRule @Rule');
    expect(backup).toBeGreaterThan(apply.indexOf(PS_IS_ADMIN));
    expect(probe).toBeGreaterThan(backup);
    expect(change).toBeGreaterThan(probe);
    expect(apply).toContain("$Backup = Join-Path $BackupRoot ('windows-{0}-{1}.wfw' -f (Get-Date -Format 'yyyyMMddTHHmmss'), $PID)");
    expect(apply).toContain("$BackupRoot = (Join-Path $env:ProgramData 'portolan\\backups')");
    expect(apply).toContain("  Action        = 'Block'\n");
    expect(apply).toContain("  Direction     = 'Inbound'\n");
    expect(apply).toMatch(/^# {3}netsh advfirewall firewall add rule name="portolan-(tcp|udp)-5432-[0-9a-f]{16}" dir=in action=block /m);
    expect(rollback).toContain('& netsh.exe advfirewall import $Backup');
  });

  it('block mode covers Any for both families, one whole family otherwise; allowlist blocks the complement', () => {
    expect(windowsBackend.build(specFor('block', 'both')).apply).toContain("$RemoteAddress = @('Any')");
    expect(windowsBackend.build(specFor('block', 4)).apply).toContain("$RemoteAddress = @('0.0.0.0-255.255.255.255')");
    expect(windowsBackend.build(specFor('allowlist', 'both')).apply).toContain(
      "$RemoteAddress = @('0.0.0.0-9.255.255.255', '11.0.0.0-255.255.255.255', '::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')",
    );
  });

  it('every single-quoted PowerShell string holds only safe characters; double-quoted ones embed no input', () => {
    for (const { spec } of CASES) {
      const { apply, rollback } = windowsBackend.build(spec);
      for (const s of [apply, rollback]) {
        for (const line of s.split('\n').filter((l) => !l.startsWith('#') && !l.startsWith('portolan ') && !l.startsWith('finding: '))) {
          expect(line).not.toMatch(/[\u2018-\u201b`]/);
          expect(line).not.toContain(KEY.replace('/exposed', '') + '"');
        }
      }
      // The finding key reaches code only inside single quotes.
      expect(apply).toContain(`Description   = 'portolan finding ${KEY}'`);
    }
  });

  it('names rules stably from the finding key', () => {
    const a = windowsRuleName({ protocol: 'tcp', port: 5432, findingKey: 'a/b' });
    expect(a).toMatch(/^portolan-tcp-5432-[0-9a-f]{16}$/);
    expect(windowsRuleName({ protocol: 'tcp', port: 5432, findingKey: 'a/b' })).toBe(a);
    expect(windowsRuleName({ protocol: 'tcp', port: 5432, findingKey: 'a_b' })).not.toBe(a);
  });

  it('refuses hostile input in every field, an interface, and an allowlist that covers everything', () => {
    const good = specFor('allowlist', 'both');
    expectHostileSpecsRefused((spec) => windowsBackend.build(spec), good);
    expect(() => windowsBackend.build({ ...good, iface: 'eth0' })).toThrow(/does not scope rules by interface/);
    expect(() => windowsBackend.build({ ...good, family: 4, allowFrom: ['0.0.0.0/0'] })).toThrow(UsageError);
    expect(() => windowsBackend.build({ ...good, allowFrom: ['0.0.0.0/0', '::/0'] })).toThrow(/block nothing/);
    // Only the IPv4 half is open to all: IPv6 outside the list is still blocked.
    expect(windowsBackend.build({ ...good, allowFrom: ['0.0.0.0/0'] }).apply).toContain("$RemoteAddress = @('::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')");
  });

  it('psQuote refuses quotes, typographic quotes, backticks, $ and control characters', () => {
    for (const bad of ["'", '\u2019', '\u2018x', '`', '$x', 'a\nb', '"', ';']) expect(() => psQuote(bad)).toThrow();
    expect(psQuote('portolan: 10.0.0.0/8')).toBe("'portolan: 10.0.0.0/8'");
  });
});
