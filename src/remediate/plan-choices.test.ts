import { describe, expect, it } from 'vitest';
import { shellcheck } from '../../test/helpers/shellcheck.js';
import { UsageError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import { buildPlan } from './plan.js';
import type { PlanChoices, PlanInput, RemediationPlan } from './plan-types.js';

const NOW = 1_750_000_000_000;
const NFT: PlanChoices = { firewall: 'nftables', serviceManager: 'systemd' };

/** A finding of `name` on address:port with the given reason rules (texts made up from the rule). */
function finding(address: string, port: number, name: string, rules: string[], extra: Partial<Finding> = {}): Finding {
  return {
    key: `${address}/tcp/${port}/exposure`,
    address,
    protocol: 'tcp',
    port,
    kind: 'exposure',
    title: name,
    tier: 'high',
    score: 50,
    reasons: rules.map((rule) => ({ rule, text: `${rule} for ${name} on ${address}`, weight: 10 })),
    service: { name },
    status: 'open',
    firstSeen: 0,
    lastSeen: NOW,
    ...extra,
  };
}
const plan = (f: Finding, choices: PlanChoices = NFT, more: Partial<PlanInput> = {}): RemediationPlan => buildPlan({ finding: f, hostServices: [], now: NOW, ...more }, choices);
const opt = (p: RemediationPlan, id: string) => p.options.find((o) => o.id === id)!;
const code = (p: RemediationPlan, lang: string) => p.sections.flatMap((s) => s.parts.flatMap((x) => x.blocks)).flatMap((b) => (b.kind === 'code' && b.lang === lang ? [b.text] : []));

describe('option choice', () => {
  it('SSH on the internet without known sources: block, with a lockout warning; with --allow-from: allowlist', () => {
    const f = finding('198.51.100.9', 22, 'ssh', ['exposure-internet', 'remote-admin']);
    const blocked = plan(f);
    expect(blocked.recommended).toBe('block');
    expect(opt(blocked, 'block').rationale).toMatch(/keep a console open before applying it, or you lock yourself out/);
    expect(JSON.stringify(blocked.sections.find((s) => s.id === 'risks'))).toContain('can lock you out of 198.51.100.9');
    const allowed = plan(f, { ...NFT, allowFrom: ['192.0.2.0/24'] });
    expect(allowed.recommended).toBe('allowlist');
    expect(opt(allowed, 'allowlist').scripts[0]!.apply).toContain('ip saddr { 192.0.2.0/24 } tcp dport 22 accept');
    expect(opt(allowed, 'allowlist').rationale).toContain('--allow-from');
  });

  it('a database without remote clients on record is bound to loopback; one the policy allows is not', () => {
    expect(plan(finding('10.0.0.5', 5432, 'postgresql', ['exposure-internal', 'database'])).recommended).toBe('bind-loopback');
    const expected = plan(finding('10.0.0.5', 5432, 'postgresql', ['exposure-internal', 'database', 'expected-service']));
    expect(expected.recommended).toBe('block');
    expect(opt(expected, 'block').rationale).toContain('add from: to the policy');
  });

  it('an explicit --mode wins over the reasons', () => {
    expect(plan(finding('10.0.0.5', 6379, 'redis', ['exposure-internal', 'database']), { ...NFT, mode: 'block' }).recommended).toBe('block');
  });

  it('a cleartext shell the policy allows is restricted, not disabled', () => {
    const p = plan(finding('10.0.0.8', 23, 'telnet', ['exposure-internal', 'cleartext-remote-shell', 'expected-service']));
    expect(p.recommended).toBe('block');
    expect(opt(p, 'disable').available).toBe(true);
  });

  it('the built-in vulnerability data supplies the fix when the input has none, matched to the installed release', () => {
    const f = finding('203.0.113.9', 6379, 'redis', ['exposure-internet', 'cve-critical', 'cve-kev'], {
      kind: 'vulnerability',
      ref: 'CVE-2022-0543',
      key: '203.0.113.9/tcp/6379/vulnerability/CVE-2022-0543',
      cve: { id: 'CVE-2022-0543', cvss: 10, kev: true, confidence: 'banner-based' },
    });
    const p = plan(f, NFT, { installedPackage: { name: 'redis-server', version: '5:6.0.16-1+deb11u1' } });
    expect(p.recommended).toBe('upgrade');
    const apt = opt(p, 'upgrade').scripts[0]!;
    expect(apt.apply).toContain("ge '5:6.0.16-1+deb11u2'");
    expect(shellcheck(apt.apply).status).toBe(0);
    expect(shellcheck(apt.rollback).status).toBe(0);
    expect(p.title).toContain('exploited in the wild');
  });

  it('a vulnerability without a known fix: upgrade is unavailable and the exposure decides', () => {
    const f = finding('203.0.113.9', 8080, 'http', ['exposure-internet', 'cve-high'], { kind: 'vulnerability', ref: 'CVE-2099-0001', cve: { id: 'CVE-2099-0001', confidence: 'banner-based' } });
    const p = plan(f);
    expect(opt(p, 'upgrade').available).toBe(false);
    expect(opt(p, 'upgrade').rationale).toContain('No fixed version of CVE-2099-0001 is known');
    expect(p.recommended).toBe('block');
  });
});

describe('before and after, in each backend\'s own syntax', () => {
  const f = finding('198.18.0.9', 6379, 'redis', ['exposure-internal', 'database']);
  it.each<[string, string[]]>([
    ['iptables', ['-A PORTOLAN-TCP-6379 -m conntrack --ctstate NEW -m comment --comment "portolan:198.18.0.9/tcp/6379/exposure" -j DROP', 'iptables -I INPUT 1 -p tcp --dport 6379 -j PORTOLAN-TCP-6379']],
    ['ufw', ['ufw prepend deny in proto tcp to 0.0.0.0/0 port 6379 comment portolan:198.18.0.9/tcp/6379/exposure']],
    ['firewalld', ['rule family="ipv4" priority="-1" port port="6379" protocol="tcp" reject']],
    ['nftables', ['add rule inet portolan in_tcp_6379 meta nfproto ipv4 tcp dport 6379 ct state new drop comment "portolan:198.18.0.9/tcp/6379/exposure"']],
  ])('%s', (firewall, expected) => {
    const p = plan(f, { firewall, serviceManager: 'systemd', mode: 'block' });
    const after = code(p, 'conf').join('\n');
    for (const line of expected) expect(after).toContain(line);
    // The fragment is what the script loads, not a paraphrase of it.
    if (firewall !== 'ufw') for (const line of expected.slice(0, 1)) expect(opt(p, 'block').scripts[0]!.apply).toContain(line);
  });
});

describe('options that cannot be scripted are listed with the reason', () => {
  it('MongoDB on loopback: bind-loopback is the state to keep but no config backend exists', () => {
    const p = plan(finding('127.0.0.1', 27017, 'mongodb', ['loopback-only', 'database']));
    expect(p.recommended).toBe('bind-loopback');
    expect(opt(p, 'bind-loopback').available).toBe(false);
    expect(opt(p, 'bind-loopback').rationale).toContain('set net.bindIp in /etc/mongod.conf to 127.0.0.1 by hand');
    expect(JSON.stringify(p.sections.find((s) => s.id === 'solution'))).toContain('On 127.0.0.1, set net.bindIp in /etc/mongod.conf to 127.0.0.1');
  });

  it('IPMI: a host firewall never sees BMC traffic, so block and allowlist are unavailable', () => {
    const f: Finding = { ...finding('10.0.0.20', 623, 'asf-rmcp', ['exposure-internal', 'remote-admin']), protocol: 'udp', key: '10.0.0.20/udp/623/exposure' };
    const p = plan(f);
    expect(opt(p, 'block').available).toBe(false);
    expect(opt(p, 'block').rationale).toContain('management VLAN');
    expect(code(p, 'sh').join('\n')).toContain("ss -ulnp 'sport = :623'");
    expect(JSON.stringify(p.sections.find((s) => s.id === 'detection'))).toContain('connect scan probes TCP only');
  });

  it('sysv: a socket unit has no init script, so disable is unavailable; a plain unit works', () => {
    const sysv: PlanChoices = { firewall: 'nftables', serviceManager: 'sysv' };
    expect(opt(plan(finding('10.0.0.5', 9090, 'cockpit', ['exposure-internal', 'admin-panel']), sysv), 'disable').available).toBe(false);
    const redis = opt(plan(finding('10.0.0.5', 6379, 'redis', ['exposure-internal', 'database']), sysv), 'disable');
    expect(redis.scripts[0]!.backend).toBe('sysv');
  });
});

describe('Windows', () => {
  it('RDP with the windows backends: PowerShell scripts and checks, TermService, netstat | findstr', () => {
    const p = plan(finding('203.0.113.40', 3389, 'ms-wbt-server', ['exposure-internet', 'remote-admin'], { service: { name: 'ms-wbt-server', product: 'Microsoft Terminal Services`$(x)' } }), { firewall: 'windows', serviceManager: 'windows' });
    expect(p.recommended).toBe('block');
    const block = opt(p, 'block').scripts[0]!;
    expect([block.applyName, block.rollbackName]).toEqual(['apply-block-windows.ps1', 'rollback-block-windows.ps1']);
    expect(opt(p, 'disable').scripts[0]!.applyName).toBe('apply-disable-windows-service.ps1');
    expect(opt(p, 'disable').title).toBe('Stop and disable TermService (windows)');
    expect(opt(p, 'bind-loopback').available).toBe(false);
    const pwsh = code(p, 'powershell').join('\n');
    expect(pwsh).toContain('netstat -ano | findstr :3389');
    expect(pwsh).toContain('Get-NetTCPConnection -LocalPort 3389 -State Listen');
    expect(pwsh).toContain("Id=4625");
    expect(pwsh).toContain('.\\rollback-block-windows.ps1 -Apply');
    expect(pwsh).not.toContain('$(x)');
    expect(code(p, 'conf').join('\n')).toContain('Action        Block');
  });
});

describe('user-supplied values: UsageError propagates', () => {
  const redis = finding('203.0.113.5', 6379, 'redis', ['exposure-internet', 'database']);
  const v6 = finding('2001:db8::5', 6379, 'redis', ['exposure-internet', 'database']);
  it.each<[string, () => unknown, RegExp]>([
    ['a bad --allow-from', () => plan(redis, { ...NFT, allowFrom: ['10.0.0.0/8;id'] }), /bad source address/],
    ['a --allow-from of the other address family', () => plan(v6, { ...NFT, allowFrom: ['10.0.0.0/8'] }), /none of 10\.0\.0\.0\/8 is IPv6/],
    ['a bad --iface', () => plan(redis, { ...NFT, iface: 'eth0;reboot' }), /bad interface/],
    ['an interface with firewalld', () => plan(redis, { firewall: 'firewalld', serviceManager: 'systemd', iface: 'eth0' }), /firewalld matches interfaces by zone/],
    ['an unknown firewall backend', () => plan(redis, { firewall: 'pf', serviceManager: 'systemd' }), /bad firewall backend/],
    ['an unknown service manager', () => plan(redis, { firewall: 'nftables', serviceManager: 'launchd' }), /bad service manager/],
    ['allowlist mode without sources', () => plan(redis, { ...NFT, mode: 'allowlist' }), /allowlist mode needs at least one source/],
    ['a malformed policy source', () => plan(redis, NFT, { policyAllowFrom: ['10.0.0.1/8'] }), /host bits are set/],
  ])('%s', (_what, run, message) => {
    expect(run).toThrow(UsageError);
    expect(run).toThrow(message);
  });

  it('policy sources of the other family, and "anywhere", are not an allowlist for this address', () => {
    const p = plan(v6, NFT, { policyAllowFrom: ['10.0.0.0/8', '::/0'] });
    expect(opt(p, 'allowlist').available).toBe(false);
    const q = plan(v6, NFT, { policyAllowFrom: ['10.0.0.0/8', '2001:db8:1::/48'] });
    expect(q.recommended).toBe('allowlist');
    expect(opt(q, 'allowlist').scripts[0]!.apply).toContain('ip6 saddr { 2001:db8:1::/48 }');
  });

  it('one --allow-from with both families serves findings of either: each rule takes its own family', () => {
    const both = { ...NFT, allowFrom: ['10.1.0.0/16', '2001:db8:1::/48'] };
    const four = opt(plan(redis, both), 'allowlist').scripts[0]!.apply;
    expect(four).toContain('ip saddr { 10.1.0.0/16 }');
    expect(four).not.toContain('2001:db8:1::/48');
    const six = opt(plan(v6, both), 'allowlist').scripts[0]!.apply;
    expect(six).toContain('ip6 saddr { 2001:db8:1::/48 }');
    expect(six).not.toContain('10.1.0.0/16');
  });
});
