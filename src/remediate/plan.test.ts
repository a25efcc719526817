import { describe, expect, it } from 'vitest';
import { shellcheck } from '../../test/helpers/shellcheck.js';
import { parsePolicy } from '../assess/policy.js';
import type { Finding, FindingReason } from '../core/finding.js';
import { configBackend } from './config/registry.js';
import { firewallBackend } from './firewall/registry.js';
import { buildPlan } from './plan.js';
import { PLAN_FORMATS } from '../report/plan-registry.js';
import { PLAN_SECTION_IDS, type PlanBlock, type PlanChoices, type PlanInput, type RemediationPlan } from './plan-types.js';

const NOW = 1_750_000_000_000;
const NFT: PlanChoices = { firewall: 'nftables', serviceManager: 'systemd' };

/** A finding as the store holds it; reasons as [rule, text, weight]. */
function finding(address: string, port: number, service: Finding['service'], reasons: [string, string, number][], extra: Partial<Finding> = {}): Finding {
  const kind = extra.kind ?? 'exposure';
  return {
    key: `${address}/tcp/${port}/${kind}${extra.ref === undefined ? '' : `/${extra.ref}`}`,
    address,
    protocol: 'tcp',
    port,
    kind,
    title: `${service?.name ?? 'unknown'} on ${address}:${port}`,
    tier: 'high',
    score: reasons.reduce((s, r) => s + r[2], 0),
    reasons: reasons.map(([rule, text, weight]): FindingReason => ({ rule, text, weight })),
    ...(service === undefined ? {} : { service }),
    status: 'open',
    firstSeen: NOW - 86_400_000,
    lastSeen: NOW,
    ...extra,
  };
}

const input = (f: Finding, more: Partial<PlanInput> = {}): PlanInput => ({ finding: f, hostServices: [], now: NOW, ...more });

const CASES = {
  redis: input(
    finding('203.0.113.5', 6379, { name: 'redis', product: 'Redis key-value store', version: '7.0.15' }, [
      ['exposure-internet', 'public address 203.0.113.5', 20],
      ['database', 'Redis is a database or cache: it holds application data and is meant for the application servers only', 25],
      ['unauthenticated-access', 'unauthenticated access confirmed by a safe check: redis-no-auth (PING answered PONG)', 40],
    ], { tier: 'critical' }),
    { hostServices: [{ protocol: 'tcp', port: 22, name: 'ssh', allowed: true }, { protocol: 'tcp', port: 443, name: 'https', allowed: true }] },
  ),
  postgres: input(
    finding('10.20.0.7', 5432, { name: 'postgresql', product: 'PostgreSQL DB', version: '15.6' }, [
      ['exposure-internal', 'private address 10.20.0.7 (RFC 1918)', 0],
      ['database', 'PostgreSQL is a database or cache: it holds application data', 25],
      ['expected-service', 'allowed by the policy: an owner and a business need are on record', -10],
    ], { tier: 'medium' }),
    { policyAllowFrom: ['10.20.1.0/24', '2001:db8:20::/48'], hostServices: [{ protocol: 'tcp', port: 22, name: 'ssh', allowed: true }] },
  ),
  ssh: input(
    finding('198.51.100.20', 22, { name: 'ssh', product: 'OpenSSH', version: '9.2p1 Debian 2+deb12u2' }, [
      ['exposure-internet', 'public address 198.51.100.20', 20],
      ['remote-admin', 'SSH is remote administration: a login here is a shell on the host', 25],
      ['cve-high', 'high-severity CVE: CVE-2024-6387 (CVSS 8.1)', 20],
      ['cve-banner-only', 'the CVE match comes from the version banner: a distribution may have backported the fixes', -10],
    ], { kind: 'vulnerability', ref: 'CVE-2024-6387', cve: { id: 'CVE-2024-6387', cvss: 8.1, kev: false, epss: 0.42, confidence: 'banner-based', summary: 'regreSSHion: a signal-handler race in sshd' } }),
    {
      fixes: [{ source: 'debian', package: 'openssh', version: '1:9.2p1-2+deb12u3', release: 'bookworm' }],
      installedPackage: { name: 'openssh-server', version: '1:9.2p1-2+deb12u2' },
      hostServices: [{ protocol: 'tcp', port: 80, name: 'http', allowed: true }],
    },
  ),
  telnet: input(
    finding('192.0.2.23', 23, { name: 'telnet', product: 'Linux telnetd' }, [
      ['exposure-internet', 'public address 192.0.2.23 (documentation range)', 20],
      ['cleartext-remote-shell', 'Telnet sends the whole session, passwords included, in cleartext', 20],
      ['unexpected-service', "not in the policy's allowed services for this host: nobody has claimed it", 15],
    ]),
    { hostServices: [{ protocol: 'tcp', port: 22, name: 'ssh', allowed: true }] },
  ),
  unknown: input(
    finding('10.9.8.7', 31337, { name: 'unknown' }, [
      ['exposure-internal', 'private address 10.9.8.7 (RFC 1918)', 0],
      ['unknown-service', 'the service answered no probe in a recognisable way: what runs here is unknown', 20],
      ['unusual-port', 'an unidentified service on port 31337, which no common service uses', 10],
    ], { tier: 'medium' }),
  ),
  ipv6: input(
    finding('2001:db8::5', 3306, { name: 'mysql', product: 'MariaDB', version: '10.11.6' }, [
      ['exposure-internet', 'public address 2001:db8::5', 20],
      ['database', 'MySQL/MariaDB is a database or cache: it holds application data', 25],
      ['sensitive-on-internet', 'a database or cache reachable from the internet is rarely intended', 15],
    ]),
  ),
  loopback: input(
    finding('127.0.0.1', 11211, { name: 'memcached', product: 'Memcached', version: '1.6.18' }, [
      ['loopback-only', 'bound to 127.0.0.1 only', -20],
      ['database', 'Memcached is a database or cache', 25],
      ['no-auth-by-default', 'Memcached has no authentication unless SASL is compiled in and enabled', 15],
    ], { tier: 'low' }),
  ),
} satisfies Record<string, PlanInput>;

const CHOICES: Record<keyof typeof CASES, PlanChoices> = { redis: NFT, postgres: NFT, ssh: NFT, telnet: NFT, unknown: NFT, ipv6: { firewall: 'iptables', serviceManager: 'systemd' }, loopback: NFT };

const PLANS = Object.fromEntries(Object.entries(CASES).map(([name, inp]) => [name, buildPlan(inp, CHOICES[name as keyof typeof CASES])])) as Record<keyof typeof CASES, RemediationPlan>;

/** Every block of a plan with the section it is in. */
function blocks(plan: RemediationPlan): { section: string; block: PlanBlock }[] {
  return plan.sections.flatMap((s) => s.parts.flatMap((p) => p.blocks.map((block) => ({ section: s.id, block }))));
}
const codeOf = (plan: RemediationPlan, section: string, lang = 'sh'): string =>
  blocks(plan)
    .filter((b) => b.section === section && b.block.kind === 'code' && b.block.lang === lang)
    .map((b) => (b.block.kind === 'code' ? b.block.text : ''))
    .join('\n');
const option = (plan: RemediationPlan, id: string) => plan.options.find((o) => o.id === id)!;

describe('buildPlan: structure', () => {
  it.each(Object.keys(PLANS))('%s: the eight sections in order, each with content, and five options', (name) => {
    const plan = PLANS[name as keyof typeof PLANS];
    expect(plan.sections.map((s) => s.id)).toEqual([...PLAN_SECTION_IDS]);
    for (const s of plan.sections) expect(s.parts.flatMap((p) => p.blocks).length).toBeGreaterThan(0);
    expect(plan.options.map((o) => o.id).sort()).toEqual(['allowlist', 'bind-loopback', 'block', 'disable', 'upgrade']);
    expect(plan.options[0]!.recommended).toBe(true);
    expect(plan.options.filter((o) => o.recommended)).toHaveLength(1);
    expect(plan.recommended).toBe(plan.options[0]!.id);
    expect(plan.generatedAt).toBe(NOW);
    expect(plan.version).toBe(1);
    expect(JSON.stringify(plan)).not.toMatch(/undefined|NaN|\[object /);
  });

  it('is deterministic: the same input gives the same plan', () => {
    expect(buildPlan(CASES.redis, NFT)).toEqual(PLANS.redis);
    expect(JSON.stringify(buildPlan(CASES.ssh, NFT))).toBe(JSON.stringify(PLANS.ssh));
  });
});

describe('buildPlan: recommendations from the reasons', () => {
  it('redis on a public address without auth: bind to loopback with the redis config patch; block is the scripted alternative', () => {
    const p = PLANS.redis;
    expect(p.recommended).toBe('bind-loopback');
    const rec = option(p, 'bind-loopback');
    expect(rec.rationale).toContain('“unauthenticated access confirmed by a safe check: redis-no-auth (PING answered PONG)”');
    expect(rec.scripts.map((s) => [s.backend, s.applyName, s.rollbackName])).toEqual([['redis', 'apply-bind-loopback-redis.sh', 'rollback-bind-loopback-redis.sh']]);
    expect(rec.scripts[0]!.apply).toBe(configBackend('redis')!.build({ findingKey: '203.0.113.5/tcp/6379/exposure', restart: { manager: 'systemd' } }).apply);
    const block = option(p, 'block');
    expect(block.available).toBe(true);
    expect(block.scripts[0]!.apply).toBe(firewallBackend('nftables')!.build({ mode: 'block', protocol: 'tcp', port: 6379, family: 4, findingKey: '203.0.113.5/tcp/6379/exposure' }).apply);
    expect(option(p, 'allowlist').available).toBe(false);
    expect(option(p, 'allowlist').rationale).toMatch(/--allow-from/);
    expect(option(p, 'upgrade').available).toBe(false);
    expect(p.title).toContain('answers without authentication');
  });

  it('postgres with policy sources: allowlist of the IPv4 sources only, from nftables', () => {
    const p = PLANS.postgres;
    expect(p.recommended).toBe('allowlist');
    const rec = option(p, 'allowlist');
    expect(rec.title).toBe('Allow only 10.20.1.0/24 to reach tcp/5432');
    expect(rec.rationale).toContain("the policy's from:");
    expect(rec.scripts[0]!.backend).toBe('nftables');
    expect(rec.scripts[0]!.apply).toContain('ip saddr { 10.20.1.0/24 } tcp dport 5432 accept');
    expect(rec.scripts[0]!.apply).not.toContain('2001:db8:20::/48');
    expect(codeOf(p, 'solution', 'conf')).toContain('add rule inet portolan in_tcp_5432 meta nfproto ipv4 tcp dport 5432 ct state new drop');
  });

  it('ssh with CVE-2024-6387 and a known fix: upgrade via apt, block as the interim step, lockout warning', () => {
    const p = PLANS.ssh;
    expect(p.recommended).toBe('upgrade');
    const rec = option(p, 'upgrade');
    expect(rec.title).toBe('Upgrade openssh-server to 1:9.2p1-2+deb12u3 or later');
    expect(rec.rationale).toContain('high-severity CVE: CVE-2024-6387 (CVSS 8.1)');
    expect(rec.scripts[0]!.applyName).toBe('apply-upgrade-apt.sh');
    expect(rec.scripts[0]!.apply).toContain("apt-get install --only-upgrade -y 'openssh-server'");
    expect(rec.scripts[0]!.apply).toContain("ge '1:9.2p1-2+deb12u3'");
    const steps = p.sections.find((s) => s.id === 'solution')!.parts.find((x) => x.title === 'Implementation steps')!.blocks[0]!;
    expect(steps.kind === 'list' && steps.items[0]).toMatch(/^Interim, until the upgrade is done: sudo bash apply-block-nftables.sh --apply/);
    const risks = JSON.stringify(p.sections.find((s) => s.id === 'risks'));
    expect(risks).toContain('rollback-upgrade-apt.sh');
    expect(risks).toContain('rollback-block-nftables.sh');
    expect(JSON.stringify(p.sections.find((s) => s.id === 'solution'))).toContain('keep a console');
    expect(codeOf(p, 'verification')).toContain("dpkg --compare-versions \"$(dpkg-query -W -f='${Version}' openssh-server)\" ge '1:9.2p1-2+deb12u3'");
  });

  it('telnet nobody claims: disable the inetd unit with systemd, and say inetd carries other services', () => {
    const p = PLANS.telnet;
    expect(p.recommended).toBe('disable');
    const rec = option(p, 'disable');
    expect(rec.scripts[0]!.backend).toBe('systemd');
    expect(rec.scripts[0]!.apply).toContain("systemctl disable --now -- 'inetutils-inetd.service'");
    expect(rec.rationale).toContain('/etc/inetd.conf');
    expect(rec.rationale).toContain("“not in the policy's allowed services for this host: nobody has claimed it”");
  });

  it('unknown service on an odd port: block; disable is unavailable with a reason; detection finds the owner', () => {
    const p = PLANS.unknown;
    expect(p.recommended).toBe('block');
    expect(option(p, 'disable').available).toBe(false);
    expect(option(p, 'disable').rationale).toContain('No systemd unit is known');
    expect(codeOf(p, 'detection')).toContain("ss -H -tlnp 'sport = :31337'");
    expect(p.title).toBe('An unidentified service on 10.9.8.7:31337/tcp is reachable from internal networks');
  });

  it('IPv6 MariaDB: bind to loopback, IPv6-only iptables rules, commands with the v6 literal', () => {
    const p = PLANS.ipv6;
    expect(p.recommended).toBe('bind-loopback');
    expect(option(p, 'bind-loopback').scripts[0]!.backend).toBe('mysql');
    const block = option(p, 'block').scripts[0]!;
    expect(block.backend).toBe('iptables');
    expect(block.apply).toContain('ip6tables-restore');
    expect(block.apply).not.toMatch(/\biptables-restore\b/);
    expect(codeOf(p, 'detection')).toContain('nc -vz -w 5 2001:db8::5 3306');
    expect(codeOf(p, 'detection')).toContain('mysqladmin -h 2001:db8::5 -P 3306');
    expect(codeOf(p, 'verification')).toContain("ip6tables -I INPUT 1 -p tcp --dport 3306 -m conntrack --ctstate NEW");
  });

  it('loopback-only memcached: keep it on loopback; block is listed but warns about local clients', () => {
    const p = PLANS.loopback;
    expect(p.recommended).toBe('bind-loopback');
    expect(option(p, 'bind-loopback').rationale).toContain('already listens on loopback only');
    expect(option(p, 'block').rationale).toContain('would also cut off the local clients');
    expect(JSON.stringify(p.sections[0])).toContain('Only processes on 127.0.0.1 itself can reach tcp/11211');
  });
});

describe('buildPlan: commands carry this finding', () => {
  it('detection, verification and prevention name the address and port', () => {
    const p = PLANS.redis;
    const det = codeOf(p, 'detection');
    for (const c of ["ss -tlnp 'sport = :6379'", 'nc -vz -w 5 203.0.113.5 6379', 'redis-cli -h 203.0.113.5 -p 6379 PING', 'portolan scan 203.0.113.5 -p 6379', "journalctl -u 'redis-server'"]) expect(det).toContain(c);
    const ver = codeOf(p, 'verification');
    expect(ver).toContain("portolan verify '203.0.113.5/tcp/6379/exposure'");
    expect(ver).toContain('nc -vz -w 5 203.0.113.5 22  # SSH on tcp/22');
    expect(ver).toContain('log prefix "portolan-tcp-6379 "');
    expect(codeOf(p, 'prevention')).toContain('portolan scan 203.0.113.5 -p 6379,22,443 && portolan findings --host 203.0.113.5 --fail-on critical');
    expect(codeOf(p, 'risks')).toContain('sudo bash rollback-bind-loopback-redis.sh --apply "$(cat /var/backups/portolan/redis.last)"');
  });

  it('the solution names the recommended scripts once; the scripts themselves stay in the option', () => {
    const sol = PLANS.telnet.sections.find((s) => s.id === 'solution')!;
    const automation = sol.parts.find((x) => x.title === 'Automation')!;
    const script = option(PLANS.telnet, 'disable').scripts[0]!;
    expect(automation.blocks[0]).toMatchObject({ kind: 'list' });
    expect((automation.blocks[0] as { items: string[] }).items[0]).toContain(`${script.applyName} for `);
    expect((automation.blocks[0] as { items: string[] }).items[0]).toContain(script.rollbackName);
    // No second copy of a script inside the sections: renderers print option scripts once.
    expect(blocks(PLANS.telnet).some((b) => b.block.kind === 'code' && b.block.text.includes('set -euo pipefail'))).toBe(false);
    expect(script.apply).toContain('set -euo pipefail');
    expect(sol.parts.some((x) => x.title === 'Before and after (inetutils-inetd)')).toBe(true);
  });

  it('the policy snippet parses and leaves the closed port out (or allows it with its sources)', () => {
    const yaml = (p: RemediationPlan) => blocks(p).find((b) => b.block.kind === 'code' && b.block.lang === 'yaml')!.block as { text: string };
    const closed = parsePolicy(yaml(PLANS.redis).text);
    expect(closed.groups[0]!.allow.map((r) => r.text)).toEqual(['22/tcp ssh', '443/tcp https']);
    const open = parsePolicy(yaml(PLANS.postgres).text);
    expect(open.groups[0]!.allow.map((r) => r.text)).toEqual(['22/tcp ssh', '5432/tcp postgresql from 10.20.1.0/24']);
    expect(parsePolicy(yaml(PLANS.ipv6).text).groups[0]!.hosts[0]!.text).toBe('2001:db8::5');
  });

  it('references: NVD for the CVE, vendor docs, the chosen firewall backend', () => {
    const links = (p: RemediationPlan) => blocks(p).flatMap((b) => (b.block.kind === 'links' ? b.block.items.map((l) => l.url) : []));
    expect(links(PLANS.ssh)).toContain('https://nvd.nist.gov/vuln/detail/CVE-2024-6387');
    expect(links(PLANS.ssh)).not.toContain('https://www.cisa.gov/known-exploited-vulnerabilities-catalog');
    expect(links(PLANS.ssh)).toContain('https://man.openbsd.org/sshd_config');
    expect(links(PLANS.redis)).toContain('https://redis.io/docs/latest/operate/oss_and_stack/management/security/');
    expect(links(PLANS.redis).some((u) => u.startsWith('https://wiki.nftables.org/'))).toBe(true);
    expect(links(PLANS.ipv6).some((u) => u.includes('/iptables/iptables.8'))).toBe(true);
    const kev = buildPlan({ ...CASES.ssh, finding: { ...CASES.ssh.finding, cve: { ...CASES.ssh.finding.cve!, kev: true } } }, NFT);
    expect(links(kev)).toContain('https://www.cisa.gov/known-exploited-vulnerabilities-catalog');
  });
});

describe('buildPlan: generated shell', () => {
  it('every script and every sh block passes shellcheck', () => {
    for (const plan of Object.values(PLANS)) {
      for (const o of plan.options) for (const s of o.scripts) if (s.applyName.endsWith('.sh')) for (const text of [s.apply, s.rollback]) expect(shellcheck(text), `${o.id} ${s.applyName}`).toMatchObject({ status: 0 });
      for (const { block } of blocks(plan)) {
        if (block.kind !== 'code' || block.lang !== 'sh') continue;
        const r = shellcheck(`#!/usr/bin/env bash\n${block.text}\n`);
        expect(r.status, `${plan.finding.key}: ${block.text}\n${r.out}`).toBe(0);
      }
    }
  });
});

/**
 * The text units a reader sees: sentences of text blocks and list items, table rows, whole code
 * blocks. Headings (section and part titles) and reference links are left out: those may repeat.
 */
function units(plan: RemediationPlan): Set<string> {
  const out = new Set<string>();
  const sentences = (s: string) => s.split(/(?<=[.!?])\s+(?=[A-Z“"(])/).map((x) => x.trim()).filter((x) => x.length > 0);
  for (const { block } of blocks(plan)) {
    if (block.kind === 'text') sentences(block.text).forEach((x) => out.add(x));
    else if (block.kind === 'list') block.items.flatMap(sentences).forEach((x) => out.add(x));
    else if (block.kind === 'table') block.rows.forEach((r) => out.add(r.join(' | ')));
    else if (block.kind === 'code') out.add(block.text);
  }
  return out;
}

describe('buildPlan: no boilerplate', () => {
  it('no sentence, list item, table row or code block appears verbatim in the plans of two different findings', () => {
    const names = Object.keys(PLANS) as (keyof typeof PLANS)[];
    const seen = new Map<string, string>();
    const shared: string[] = [];
    for (const name of names) {
      for (const u of units(PLANS[name])) {
        const first = seen.get(u);
        if (first !== undefined && first !== name) shared.push(`${first} & ${name}: ${u.slice(0, 160)}`);
        else seen.set(u, name);
      }
    }
    expect(shared).toEqual([]);
    // The property is not vacuous: each plan has plenty of units.
    for (const name of names) expect(units(PLANS[name]).size).toBeGreaterThan(40);
  });

  it('the same service on another host gets prose that differs in every sentence', () => {
    const moved = (f: Finding, to: string): Finding => ({ ...f, address: to, key: f.key.replace(f.address, to), reasons: f.reasons.map((r) => ({ ...r, text: r.text.replace(f.address, to) })) });
    const other = buildPlan({ ...CASES.redis, finding: moved(CASES.redis.finding, '203.0.113.77') }, NFT);
    // Code may repeat (the same local commands run on either host) and so may the finding's own reason
    // lines, which are data quoted from the store; every sentence the plan writes must not.
    const quotedReason = (p: RemediationPlan, u: string) => p.finding.reasons.some((r) => u.startsWith(r.text));
    const prose = (p: RemediationPlan) => new Set([...units(p)].filter((u) => !quotedReason(p, u) && !blocks(p).some((b) => b.block.kind === 'code' && b.block.text === u)));
    const a = prose(PLANS.redis);
    expect([...prose(other)].filter((u) => a.has(u))).toEqual([]);
  });
});

describe('buildPlan: goldens of whole plans as users read them', () => {
  // Pins the plan text end to end (builder + renderer): a change in either shows up as a diff here.
  it.each(['redis', 'ssh'] as const)('%s plan in every format', async (name) => {
    const plan = buildPlan(CASES[name], NFT);
    for (const format of PLAN_FORMATS) {
      await expect(format.render(plan)).toMatchFileSnapshot(`../../test/fixtures/plans/built-${name}${format.extension}`);
    }
  });
});
