import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { mutants, prng } from '../../test/helpers/fuzz.js';
import { baselineFrom, checkPolicy, hostGroups, parsePolicy, PolicyError, zoneOf, type Policy, type PolicyService } from './policy.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/policy/${name}`, import.meta.url));
const site = parsePolicy(fixture('site.yaml'), 'site.yaml');

const svc = (address: string, port: number, name?: string, extra: Partial<PolicyService> = {}): PolicyService => ({
  address, protocol: 'tcp', port, state: 'open', ...(name === undefined ? {} : { name }), ...extra,
});

/** The PolicyError `fn` throws; fails the test on any other outcome. */
function policyError(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).code).toBe('E_POLICY');
    expect((e as Error).message).not.toContain('\n');
    return e as PolicyError;
  }
  throw new Error('expected a PolicyError');
}

const bad = (text: string): string => policyError(() => parsePolicy(text, 'p.yaml')).message;

describe('parsePolicy: the fixture', () => {
  it('reads groups, hosts, rules, the default and internal networks', () => {
    expect(site.groups.map((g) => g.name)).toEqual(['web', 'dns', 'mail', 'office servers', 'every host']);
    expect(site.defaults).toMatchObject({ name: 'default', zone: 'internal', owner: 'it-ops@example.org', allow: [] });
    expect(site.internalNetworks?.map((n) => n.text)).toEqual(['10.0.0.0/8', '192.168.0.0/16', 'fd00:1234::/32']);
    const web = site.groups[0]!;
    expect(web).toMatchObject({ owner: 'web-team@example.org', purpose: 'public web site and its API', zone: 'dmz' });
    expect(web.hosts.map((h) => [h.kind, h.text])).toEqual([['address', '203.0.113.10'], ['address', '203.0.113.11'], ['name', 'www.example.org']]);
    expect(web.allow.map((r) => r.text)).toEqual(['443/tcp https', '80/tcp', '22/tcp ssh from internal']);
    expect(web.allow[2]).toMatchObject({ protocol: 'tcp', ports: { from: 22, to: 22 }, service: 'ssh', from: { kind: 'internal' }, note: 'admin access over the VPN only' });
    expect(site.groups[3]!.allow.map((r) => r.text)).toEqual(['445/tcp smb', '8000-8100/tcp http', 'ssh from 10.1.99.0/24']);
    expect(site.groups[3]!.allow[2]!.protocol).toBeUndefined();
  });

  it('accepts the example in the parsePolicy JSDoc (the README copies it)', () => {
    const source = readFileSync(new URL('./policy.ts', import.meta.url), 'utf8');
    const block = /```yaml\n([\s\S]*?)\n \* ```/.exec(source)?.[1];
    expect(block).toBeDefined();
    const p = parsePolicy(block!.split('\n').map((l) => l.replace(/^ \* ?/, '')).join('\n'));
    expect(p.groups.map((g) => g.name)).toEqual(['web', 'dns', 'every host']);
    expect(zoneOf(p, '198.51.100.53')).toBe('internet');
    expect(checkPolicy(p, [svc('203.0.113.10', 443, 'https'), svc('10.9.9.9', 2222, 'ssh')]).unexpected).toEqual([]);
  });

  it('accepts shorthands, bare ports, single strings for lists, null allow lists, and JSON', () => {
    const p = parsePolicy('groups:\n  - name: a\n    hosts: 10.0.0.0/8\n    allow: [22, "53/UDP", "60000-61000/udp mosh", SSH]\n  - name: b\n    hosts: [b.example.]\n    allow:\n');
    expect(p.groups[0]!.allow.map((r) => r.text)).toEqual(['22/tcp', '53/udp', '60000-61000/udp mosh', 'ssh']);
    expect(p.groups[1]).toMatchObject({ hosts: [{ kind: 'name', text: 'b.example' }], allow: [] });
    const j = parsePolicy(JSON.stringify({ groups: [{ name: 'x', hosts: ['::ffff:192.0.2.1', '[2001:DB8::1]', '192.0.2.9/24'], allow: [{ service: 'domain', protocol: 'udp' }] }] }));
    expect(j.groups[0]!.hosts.map((h) => h.text)).toEqual(['192.0.2.1', '2001:db8::1', '192.0.2.0/24']);
    expect(j.groups[0]!.allow[0]!.text).toBe('domain (udp)');
    expect(parsePolicy('default: {zone: dmz}').groups).toEqual([]);
  });
});

describe('checkPolicy', () => {
  it('allows what a rule of the host group allows, TLS and aliases included', () => {
    const r = checkPolicy(site, [
      svc('203.0.113.10', 443, 'http', { tunnel: 'ssl' }),
      svc('203.0.113.11', 443, 'ssl/http'),
      svc('203.0.113.11', 80, 'http'),
      svc('10.1.0.7', 445, 'microsoft-ds'),
      svc('10.1.0.7', 8080, 'http'),
      svc('10.1.0.7', 2222, 'ssh'),
      svc('198.51.100.53', 53, 'domain', { protocol: 'udp' }),
      svc('203.0.113.25', 993, 'imap', { tunnel: 'ssl' }),
      svc('www.example.org', 80),
    ]);
    expect(r.unexpected).toEqual([]);
    expect(r.allowed.map((a) => `${a.address}:${a.port} ${a.group} ${a.rule}`)).toEqual([
      '203.0.113.10:443 web 443/tcp https',
      '203.0.113.11:443 web 443/tcp https',
      '203.0.113.11:80 web 80/tcp',
      '10.1.0.7:445 office servers 445/tcp smb',
      '10.1.0.7:8080 office servers 8000-8100/tcp http',
      '10.1.0.7:2222 office servers ssh from 10.1.99.0/24',
      '198.51.100.53:53 dns 53/udp domain',
      '203.0.113.25:993 mail 993/tcp imaps',
      'www.example.org:80 web 80/tcp',
    ]);
  });

  it('reports unexpected services with the closest near miss as reason', () => {
    const r = checkPolicy(site, [
      svc('203.0.113.10', 3306, 'mysql'),
      svc('203.0.113.10', 443, 'http'), // https required, TLS not seen
      svc('198.51.100.53', 53, 'http'),
      svc('192.168.7.7', 22, 'ssh'), // no group but "every host": default does not apply
      svc('10.1.0.7', 9999),
    ]);
    expect(r.allowed).toEqual([]);
    expect(r.unexpected.map((u) => [u.port, u.group, u.zone, u.reason])).toEqual([
      [3306, 'web', 'dmz', 'no rule of groups web, every host allows 3306/tcp (mysql)'],
      [443, 'web', 'dmz', 'group web allows 443/tcp for https (rule "443/tcp https"), but the scan found http'],
      [53, 'dns', 'internet', 'group dns allows 53/tcp for domain (rule "53/tcp domain"), but the scan found http'],
      [22, 'every host', 'internal', 'no rule of group every host allows 22/tcp (ssh)'],
      [9999, 'office servers', 'internal', 'no rule of groups office servers, every host allows 9999/tcp'],
    ]);
    expect(r.unexpected[0]).toMatchObject({ address: '203.0.113.10', name: 'mysql', state: 'open', groups: ['web', 'every host'] });
  });

  it('checks from: only when told where the scan ran from, with internal_networks or address classes', () => {
    const services = [svc('203.0.113.10', 22, 'ssh'), svc('10.2.2.2', 9100)];
    expect(checkPolicy(site, services).unexpected).toEqual([]);
    expect(checkPolicy(site, services, { scannedFrom: '10.0.5.9' }).unexpected).toEqual([]);
    const outside = checkPolicy(site, services, { scannedFrom: '8.8.8.8' });
    expect(outside.unexpected.map((u) => u.reason)).toEqual([
      'group web allows it only from internal networks (rule "22/tcp ssh from internal"), but the scan from 8.8.8.8 reached it',
      'group every host allows it only from 10.0.5.0/24 (rule "9100/tcp node-exporter from 10.0.5.0/24"), but the scan from 8.8.8.8 reached it',
    ]);
    // 172.16/12 is private but the policy's internal_networks leave it out.
    expect(checkPolicy(site, services.slice(0, 1), { scannedFrom: '172.16.0.1' }).unexpected).toHaveLength(1);
    const plain = parsePolicy('groups: [{name: a, hosts: [192.0.2.1], allow: [{port: 22, from: internal}]}]');
    expect(checkPolicy(plain, services.slice(0, 1).map((s) => ({ ...s, address: '192.0.2.1' })), { scannedFrom: '172.16.0.1' }).unexpected).toEqual([]);
    expect(checkPolicy(plain, [svc('192.0.2.1', 22)], { scannedFrom: 'not-an-ip' }).unexpected).toEqual([]);
  });

  it('gives hosts no group names the default group, and merges duplicate records', () => {
    const p = parsePolicy('default: {allow: ["22/tcp ssh"], zone: internet}\ngroups: [{name: a, hosts: [192.0.2.0/24], allow: []}]');
    const r = checkPolicy(p, [
      svc('198.51.100.1', 22, 'ssh'),
      svc('198.51.100.1', 80),
      { ...svc('198.51.100.1', 80), state: 'closed' },
      svc('198.51.100.1', 80, 'http'),
      svc('192.0.2.5', 22, 'ssh'),
      { ...svc('192.0.2.5', 23), state: 'open|filtered' },
      { ...svc('192.0.2.5', 70000) },
      { ...svc('192.0.2.5', 1), protocol: 'sctp' as 'tcp' },
    ]);
    expect(r.allowed.map((a) => `${a.address}:${a.port} ${a.group}`)).toEqual(['198.51.100.1:22 default']);
    expect(r.unexpected.map((u) => `${u.address}:${u.port} ${u.name ?? '-'} ${u.group} ${u.zone}`)).toEqual(['198.51.100.1:80 http default internet', '192.0.2.5:22 ssh a internet']);
    expect(r.skipped).toBe(2);
  });

  it('reports expected-but-missing single ports on single addresses where the scan looked', () => {
    const services = [svc('203.0.113.10', 443, 'https'), { ...svc('203.0.113.11', 80), state: 'closed' }, svc('10.1.0.7', 445)];
    const r = checkPolicy(site, services, { scannedFrom: '8.8.8.8' });
    expect(r.missing.map((m) => `${m.address} ${m.rule} ${m.state} ${m.group}`)).toEqual([
      '203.0.113.10 80/tcp not seen web',
      '203.0.113.11 443/tcp https not seen web',
      '203.0.113.11 80/tcp closed web',
    ]);
    expect(r.missing[2]!.reason).toBe('group web expects 80/tcp on 203.0.113.11, but the scan found it closed');
    // From inside, ssh (internal only) is expected too; UDP was never scanned, so 53/udp is not missing.
    const inside = checkPolicy(site, [...services, svc('198.51.100.53', 53, 'domain')], { scannedFrom: '10.0.0.2' });
    expect(inside.missing.map((m) => `${m.address}:${m.port}/${m.protocol}`)).toEqual([
      '203.0.113.10:80/tcp', '203.0.113.10:22/tcp', '203.0.113.11:443/tcp', '203.0.113.11:80/tcp', '203.0.113.11:22/tcp',
    ]);
    const covered = checkPolicy(site, [], { covered: (a, proto, port) => a === '2001:db8::53' && proto === 'udp' && port === 53 });
    expect(covered.missing).toMatchObject([{ address: '2001:db8::53', protocol: 'udp', port: 53, rule: '53/udp domain', state: 'not seen', group: 'dns' }]);
  });
});

describe('zoneOf and hostGroups', () => {
  it('takes the zone of the most specific group that declares one, else the default', () => {
    expect(zoneOf(site, '203.0.113.10')).toBe('dmz');
    expect(zoneOf(site, '::ffff:198.51.100.53')).toBe('internet');
    expect(zoneOf(site, '2001:DB8:0::53')).toBe('internet');
    expect(zoneOf(site, '10.1.0.4')).toBe('internal');
    expect(zoneOf(site, 'nonsense \u0000')).toBe('internal');
    expect(zoneOf(site, '192.0.2.1', 'WWW.example.org.')).toBe('dmz');
    expect(hostGroups(site, '10.1.0.4').map((g) => g.name)).toEqual(['office servers', 'every host']);
    const p = parsePolicy('groups: [{name: wide, zone: internet, hosts: [10.0.0.0/8]}, {name: narrow, zone: dmz, hosts: [10.1.0.0/16]}, {name: same, zone: internal, hosts: [10.1.0.0/16]}, {name: nozone, hosts: [10.1.2.3]}]');
    expect(zoneOf(p, '10.1.2.3')).toBe('dmz');
    expect(zoneOf(p, '10.2.0.1')).toBe('internet');
    expect(zoneOf(p, '192.0.2.1')).toBeUndefined();
  });
});

describe('baselineFrom', () => {
  const roundTrip = (services: PolicyService[], opts?: Parameters<typeof baselineFrom>[1]): { policy: Policy; text: string } => {
    const text = baselineFrom(services, opts);
    const policy = parsePolicy(text, 'baseline.yaml');
    const r = checkPolicy(policy, services);
    expect(r.unexpected).toEqual([]);
    expect(r.missing).toEqual([]);
    return { policy, text };
  };

  it('writes a policy that allows exactly what is open', () => {
    const services = [
      svc('192.0.2.10', 22, 'ssh'), svc('192.0.2.10', 443, 'https'), svc('192.0.2.10', 53, 'domain', { protocol: 'udp' }),
      svc('192.0.2.9', 8080), { ...svc('192.0.2.9', 25), state: 'closed' }, svc('2001:db8::1', 22, 'ssh?'),
      svc('db.example.org', 5432, 'postgresql'), svc('bad host!', 1), svc('192.0.2.9', 9, 'evil\u001b[2J'),
    ];
    const { policy, text } = roundTrip(services.filter((s) => s.address !== 'bad host!'), { zone: 'dmz', comment: 'scan 7\n\u001b[31mred' });
    expect(baselineFrom(services)).toContain('# 1 record left out');
    expect(text).not.toContain('\u001b');
    expect(text).toContain('# scan 7\n# \\x1b[31mred\n');
    expect(policy.defaults.zone).toBe('dmz');
    expect(policy.groups.map((g) => [g.name, g.hosts[0]!.text, g.allow.map((r) => r.text).join(',')])).toEqual([
      ['host 192.0.2.9', '192.0.2.9', '9/tcp,8080/tcp'],
      ['host 192.0.2.10', '192.0.2.10', '22/tcp ssh,443/tcp http,53/udp domain'],
      ['host 2001:db8::1', '2001:db8::1', '22/tcp ssh'],
      ['host db.example.org', 'db.example.org', '5432/tcp postgresql'],
    ]);
    const closed = checkPolicy(policy, [...services.slice(0, 7), svc('192.0.2.9', 25, 'smtp')]);
    expect(closed.unexpected.map((u) => `${u.address}:${u.port}`)).toEqual(['192.0.2.9:25']);
  });

  it('groups per subnet, and round-trips random scans in both modes', () => {
    const { policy } = roundTrip([svc('192.0.2.10', 22, 'ssh'), svc('192.0.2.77', 80, 'http'), svc('2001:db8::1:5', 22, 'ssh')], { groupBy: 'subnet' });
    expect(policy.groups.map((g) => `${g.name}: ${g.allow.map((r) => r.text).join(',')}`)).toEqual(['net 192.0.2.0/24: 22/tcp ssh,80/tcp http', 'net 2001:db8::/64: 22/tcp ssh']);
    const rand = prng(7);
    const names = ['ssh', 'http', 'https', 'ssl/imap', 'domain', 'unknown', 'tcpwrapped', 'x y', '', 'mysql?', 'ms-wbt-server'];
    for (let round = 0; round < 50; round++) {
      const services: PolicyService[] = [];
      for (let i = 0; i < 40; i++) {
        const v6 = rand() < 0.3;
        const address = v6 ? `2001:db8:${Math.floor(rand() * 3)}::${Math.floor(rand() * 9)}` : `10.${Math.floor(rand() * 2)}.${Math.floor(rand() * 3)}.${Math.floor(rand() * 5)}`;
        services.push({ address, protocol: rand() < 0.8 ? 'tcp' : 'udp', port: Math.floor(rand() * 65536), state: rand() < 0.8 ? 'open' : 'closed', name: names[Math.floor(rand() * names.length)]! });
      }
      roundTrip(services);
      roundTrip(services, { groupBy: 'subnet' });
    }
  });
});

describe('bad policies: each a PolicyError naming the field', () => {
  const g = (body: string): string => `groups:\n  - name: a\n    hosts: [192.0.2.1]\n${body}`;
  const cases: [string, string][] = [
    [g('    allow:\n      - {port: 70000}\n'), 'groups[0].allow[0].port (line 5): expected a port 0-65535'],
    [`groups:\n${'  - {name: x%, hosts: [192.0.2.1]}\n'.repeat(2).replace('x%', 'a').replace('x%', 'b')}  - name: c\n    hosts: [192.0.2.1]\n    allow: ["22/tcp ssh", {port: -1}]\n`, 'groups[2].allow[1].port (line 6): expected a port 0-65535'],
    [g('    allow: ["22/sctp"]\n'), 'groups[0].allow[0] (line 4): "22/sctp": the protocol must be tcp or udp'],
    [g('    allow: ["22/tcp ssh extra"]\n'), 'groups[0].allow[0] (line 4): expected "PORT/PROTOCOL SERVICE"'],
    [g('    allow: ["100-20/tcp"]\n'), 'the range 100-20 runs backwards'],
    [g('    allow: ["22/tcp ss;h"]\n'), '"ss;h": expected nmap\'s service name'],
    [g('    allow: [{protocol: udp}]\n'), 'groups[0].allow[0] (line 4): give a port, a service, or both'],
    [g('    allow: [{port: 22, protocol: icmp}]\n'), 'groups[0].allow[0].protocol (line 4): expected tcp or udp'],
    [g('    allow: [{port: 22, from: everywhere}]\n'), 'groups[0].allow[0].from (line 4): "everywhere": expected anywhere, internal, or CIDRs (not host names)'],
    [g('    allow: [{port: 22, from: [10.0.0.0/33]}]\n'), 'groups[0].allow[0].from[0] (line 4): "10.0.0.0/33": the prefix length must be 0-32'],
    [g('    allow: [{port: 22, from: [gw.example.org]}]\n'), 'not host names'],
    [g('    allow: [{port: 22, prot: tcp}]\n'), 'groups[0].allow[0] (line 4): unknown key "prot"; check the spelling'],
    [g('    allow: [[22]]\n'), 'groups[0].allow[0] (line 4): expected "PORT/PROTOCOL SERVICE"'],
    [g('    allow: {port: 22}\n'), 'groups[0].allow (line 4): expected a list of allowed services'],
    [g('    alow: []\n'), 'groups[0] (line 2): unknown key "alow"'],
    [g('    zone: public\n'), 'groups[0].zone (line 4): expected a zone: internet, dmz or internal'],
    [g('    owner: [a]\n'), 'groups[0].owner (line 4): expected text'],
    [g(`    purpose: ${'x'.repeat(1001)}\n`), 'groups[0].purpose (line 4): longer than 1000 characters'],
    ['groups:\n  - hosts: [192.0.2.1]\n', 'groups[0].name (line 2): missing; it is required'],
    ['groups:\n  - name: a\n', 'groups[0].hosts (line 2): missing; it is required'],
    ['groups:\n  - {name: a, hosts: []}\n', 'groups[0].hosts (line 2): the list is empty'],
    ['groups:\n  - {name: "-a", hosts: [192.0.2.1]}\n', 'groups[0].name (line 2): use 1-300 letters'],
    ['groups:\n  - {name: a, hosts: [192.0.2.1]}\n  - {name: A, hosts: [192.0.2.2]}\n', 'groups[1].name (line 3): "A" is already the name of groups[0]'],
    ['groups:\n  - {name: Default, hosts: [192.0.2.1]}\n', 'groups[0].name (line 2): "default" is reserved'],
    ['groups:\n  - {name: a, hosts: [192.0.2.1, 10.0]}\n', 'groups[0].hosts[1] (line 2): expected text; quote addresses like "10.0"'],
    ['groups:\n  - {name: a, hosts: [010.0.0.1]}\n', 'groups[0].hosts[0] (line 2): "010.0.0.1" is not an IPv4 address (octet 010 has a leading zero'],
    ['groups:\n  - {name: a, hosts: [192.0.2.300]}\n', 'octet 300 is above 255'],
    ['groups:\n  - {name: a, hosts: ["fe80::1%eth0"]}\n', 'is not an IPv6 address (zone ids'],
    ['groups:\n  - {name: a, hosts: ["2001:db8::/129"]}\n', 'the prefix length must be 0-128'],
    ['groups:\n  - {name: a, hosts: ["::ffff:10.0.0.0/90"]}\n', 'needs a prefix of at least /96'],
    ['groups:\n  - {name: a, hosts: ["bad host"]}\n', '"bad host" is not an address, a CIDR or a host name'],
    ['groups:\n  - {name: a, hosts: [{x: 1}]}\n', 'groups[0].hosts[0] (line 2): expected an address, a CIDR or a host name as text'],
    ['groups:\n  - {name: a, hosts: 5}\n', 'groups[0].hosts (line 2): expected an address, a CIDR or a host name, or a list of them'],
    ['groups: {name: a}\n', 'groups (line 1): expected a list of groups'],
    ['version: 2\ngroups: []\n', 'version (line 1): this portolan reads policy version 1'],
    ['default: {zone: mars}\n', 'default.zone (line 1): expected a zone'],
    ['default: {hosts: [192.0.2.1]}\n', 'default (line 1): unknown key "hosts"'],
    ['internal_networks: [corp.example.org]\n', 'internal_networks[0] (line 1): "corp.example.org": expected a CIDR or an address, not a host name'],
    ['grups: []\n', 'the policy (line 1): unknown key "grups"'],
    ['- 1\n- 2\n', 'the policy (line 1): expected a mapping with groups:'],
    ['just text\n', 'the policy (line 1): expected a mapping with groups:'],
    ['# only a comment\n', 'the policy: expected a mapping with groups:'],
  ];
  for (const [text, expected] of cases) {
    it(expected, () => {
      const message = bad(text);
      expect(message).toContain('policy "p.yaml": ');
      expect(message).toContain(expected);
    });
  }

  it('lists several problems at once, every one in problems', () => {
    const e = policyError(() => parsePolicy('groups:\n  - {name: a, hosts: [x!], allow: [99999]}\n  - {name: b, hosts: [y!], zone: z}\n  - {name: c}\n', 'p.yaml'));
    expect(e.problems).toHaveLength(5);
    expect(e.message).toMatch(/^policy "p.yaml": 5 problems: groups\[0\]\.hosts\[0\].*; and 2 more$/);
    const many = policyError(() => parsePolicy(`groups:\n${'  - {name: a}\n'.repeat(500)}`));
    expect(many.problems).toHaveLength(20);
    expect(many.message).toContain('500 problems');
  });
});

describe('hostile input: every one ends in a PolicyError', () => {
  it.each([
    ['empty', ''],
    ['whitespace', ' \n\t\n'],
    ['a BOM only', '\uFEFF'],
    ['billion laughs', `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`).join('\n')}\ngroups: []\n`],
    ['aliases of wrong types', `x: &x [1,2,3,4,5,6,7,8,9,10]\ngroups:\n${'  - {name: a, hosts: *x}\n'.repeat(10)}`],
    ['nested aliases past the cap', `a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\ngroups: []\n`],
    ['duplicate keys', 'groups: []\ngroups: []\n'],
    ['duplicate keys inside a group', 'groups:\n  - {name: a, name: b, hosts: [192.0.2.1]}\n'],
    ['two documents', 'groups: []\n---\ngroups: []\n'],
    ['a tag', 'groups: !!js/function "function(){}"\n'],
    ['a local tag', 'groups: !evil []\n'],
    ['a binary tag', 'groups: !!binary aGVsbG8=\n'],
    ['a merge key', 'base: &b {hosts: [192.0.2.1]}\ngroups:\n  - {<<: *b, name: a}\n'],
    ['__proto__', 'groups:\n  - {name: a, hosts: [192.0.2.1], __proto__: {polluted: true}}\n'],
    ['constructor', '{constructor: {prototype: {polluted: 1}}, groups: []}\n'],
    ['deep flow nesting', `groups: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`],
    ['deep block nesting', `groups:\n${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i * 2)}- `).join('\n')}x\n`],
    ['unterminated', 'groups:\n  - {name: "a, hosts: [192.0.2.1\n'],
    ['tabs for indentation', 'groups:\n\t- name: a\n'],
    ['control characters', 'groups:\n  - {name: "a\u0007", hosts: [192.0.2.1]}\n\u0000'],
    ['huge numbers', 'groups:\n  - {name: a, hosts: [192.0.2.1], allow: [1e309, 99999999999999999999]}\n'],
    ['wrong types everywhere', 'version: "1"\ndefault: 3\ninternal_networks: {}\ngroups: [1, "a", null, true]\n'],
  ])('%s', (_, text) => {
    policyError(() => parsePolicy(text, 'p.yaml'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('says what was wrong, terminal-safe, and lets a few honest aliases through', () => {
    expect(bad(`a: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\ngroups: []\n`)).toContain('too many alias (*name) expansions');
    expect(bad(`groups: ${'['.repeat(100_000)}`)).toMatch(/not valid YAML at line 1: (too deeply nested|.*flow)/);
    expect(bad('groups: !<x\u001b[2J> []\n')).toBe('policy "p.yaml": not valid YAML at line 1: Unresolved tag: x\\x1b[2J');
    expect(bad('gr\u001bups: []\n')).toContain('unknown key "gr\\x1bups"');
    expect(bad('default: 3\ngroups: [1]\n')).toBe('policy "p.yaml": 2 problems: default (line 1): expected a mapping with zone, owner, purpose or allow; groups[0] (line 2): expected a group: a mapping with name, hosts and allow');
    expect(bad('groups: [{name: a, hosts: [192.0.2.1], zone: [dmz]}]')).toContain('groups[0].zone (line 1): expected a zone');
    const p = parsePolicy('groups:\n  - {name: a, hosts: &web [192.0.2.1, 192.0.2.2], allow: &std [ssh]}\n  - {name: b, hosts: *web, allow: *std, zone: dmz}\n');
    expect(p.groups[1]!.hosts.map((h) => h.text)).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('refuses oversized input before parsing, binary garbage and invalid UTF-8', () => {
    expect(bad(`groups: []\n#${'x'.repeat(16 * 1024 * 1024)}`)).toContain('is larger than 16 MiB');
    expect(policyError(() => parsePolicy(new Uint8Array(17 * 1024 * 1024))).message).toContain('is larger than 16 MiB');
    expect(policyError(() => parsePolicy(Buffer.from([0x67, 0x72, 0xff, 0xfe, 0x00, 0x80]))).message).toContain('is not UTF-8 text');
    const rand = prng(3);
    for (let i = 0; i < 200; i++) {
      const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 400) }, () => Math.floor(rand() * 256)));
      policyError(() => parsePolicy(garbage));
    }
  });

  it('a big but legitimate policy parses', () => {
    const hosts = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    const p = parsePolicy(JSON.stringify({ groups: [{ name: 'big', hosts, allow: ['22/tcp ssh'] }] }));
    expect(p.groups[0]!.hosts).toHaveLength(20_000);
    expect(checkPolicy(p, [svc('10.0.78.9', 22, 'ssh')]).allowed).toHaveLength(1);
  });

  it('survives 10 000 mutants of the fixture: each parses or throws PolicyError, and checks without throwing', () => {
    const services = [svc('203.0.113.10', 443, 'https'), svc('10.1.0.7', 22, 'ssh'), svc('2001:db8::53', 53, 'domain', { protocol: 'udp' }), svc('192.0.2.1', 1)];
    let parsed = 0;
    let rejected = 0;
    for (const m of mutants(fixture('site.yaml'), 10_000)) {
      let policy: Policy;
      try {
        policy = parsePolicy(m, 'mutant.yaml');
      } catch (e) {
        if (!(e instanceof PolicyError)) throw new Error(`not a PolicyError for ${JSON.stringify(m.toString('latin1'))}: ${String(e)}`);
        rejected++;
        continue;
      }
      parsed++;
      const r = checkPolicy(policy, services, { scannedFrom: '8.8.8.8' });
      expect(r.allowed.length + r.unexpected.length).toBe(4);
      zoneOf(policy, '10.1.0.7');
    }
    expect(parsed).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(500);
  }, 120_000);
});
